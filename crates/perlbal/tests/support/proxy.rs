//! Reverse-proxy rigs: a `perlbal` (ours or the reference) in front of its own test backends
//! ([`Backend`]), with a work dir for spool directories and node files; and pairs of rigs for
//! differential tests that compare what the clients got **and** what the backends received.
//!
//! Config placeholders: `{proxy_port}`, `{mgmt_port}`, `{<name>_port}` for every backend named
//! `<name>` (the default one is `backend`), `{work}` (the rig's own temp dir) and `{spool}`
//! (`{work}/spool`, an existing empty directory).
use std::path::{Path, PathBuf};
use std::thread;
use std::time::{Duration, Instant};

use super::backend::{Backend, BackendOpts, Recorded};
use super::configs::MGMT;
use super::diff::{
    assert_mgmt_between, exchange, Compare, Outcome, FIRST_RESPONSE_WAIT, NEXT_RESPONSE_WAIT,
};
use super::http::{Client, End, Response};
use super::mgmt::Mgmt;
use super::process::{Kind, Perlbal};
use super::tempdir::TempDir;

/// The spec's OBS setup (section 18): management plus a reverse_proxy `proxy` with
/// `persist_client`, `persist_backend` and `enable_reproxy` on, over pool `backends` holding
/// `{backend_port}`. `extra` holds more `SET` lines (context `proxy`), placed before `ENABLE`.
pub fn obs_proxy(extra: &str) -> String {
    proxy_with(
        "  SET persist_client = on\n  SET persist_backend = on\n  SET enable_reproxy = on\n",
        extra,
    )
}

/// Management plus a reverse_proxy `proxy` over pool `backends` (`{backend_port}`) with only
/// the lines given (and every other setting at its default).
pub fn plain_proxy(extra: &str) -> String {
    proxy_with("", extra)
}

fn proxy_with(base: &str, extra: &str) -> String {
    format!(
        "{MGMT}CREATE POOL backends
  POOL backends ADD 127.0.0.1:{{backend_port}}
CREATE SERVICE proxy
  SET role = reverse_proxy
  SET listen = 127.0.0.1:{{proxy_port}}
  SET pool = backends
{base}{extra}ENABLE proxy
"
    )
}

/// Builder for a [`Rig`].
#[derive(Debug)]
pub struct RigLaunch {
    kind: Kind,
    template: String,
    backends: Vec<(String, BackendOpts)>,
    files: Vec<(String, String)>,
    vars: Vec<(String, String)>,
}

impl RigLaunch {
    /// Adds a backend named `name` (placeholder `{name_port}`).
    pub fn backend(mut self, name: &str, opts: BackendOpts) -> RigLaunch {
        self.backends.retain(|(n, _)| n != name);
        self.backends.push((name.to_string(), opts));
        self
    }

    /// Removes every backend (for rigs whose pool points elsewhere).
    pub fn no_backends(mut self) -> RigLaunch {
        self.backends.clear();
        self
    }

    /// Writes `contents` to `{work}/<name>` before the server starts.
    pub fn file(mut self, name: &str, contents: &str) -> RigLaunch {
        self.files.push((name.to_string(), contents.to_string()));
        self
    }

    /// Sets a placeholder; `{work}` inside the value is expanded.
    pub fn var(mut self, name: &str, value: &str) -> RigLaunch {
        self.vars.push((name.to_string(), value.to_string()));
        self
    }

    pub fn start(self) -> Rig {
        let work = TempDir::new("rig");
        std::fs::create_dir_all(work.path().join("spool")).expect("creating spool dir");
        let backends: Vec<(String, Backend)> = self
            .backends
            .iter()
            .map(|(name, opts)| (name.clone(), Backend::start(opts.clone())))
            .collect();
        let expand = |text: &str| text.replace("{work}", work.path_str());
        // Backend ports may appear in files (node files): `{name_port}`.
        let expand_ports = |text: &str| {
            let mut out = expand(text);
            for (name, b) in &backends {
                out = out.replace(&format!("{{{name}_port}}"), &b.port().to_string());
            }
            out
        };
        for (name, contents) in &self.files {
            let path = work.path().join(name);
            std::fs::write(&path, expand_ports(contents))
                .unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
        }
        let spool = work.path().join("spool");
        let mut launch = Perlbal::launch(self.kind, &self.template)
            .var("work", work.path_str())
            .var("spool", spool.to_str().expect("UTF-8 temp path"));
        for (name, b) in &backends {
            launch = launch.port(name, b.port());
        }
        for (name, value) in &self.vars {
            launch = launch.var(name, &expand_ports(value));
        }
        let server = launch.start();
        Rig {
            server,
            backends,
            work,
        }
    }
}

/// A perlbal with its backends and work dir. Field order matters: the server goes first.
#[derive(Debug)]
pub struct Rig {
    pub server: Perlbal,
    pub backends: Vec<(String, Backend)>,
    pub work: TempDir,
}

impl Rig {
    /// A builder with one default backend named `backend`.
    pub fn launch(kind: Kind, template: &str) -> RigLaunch {
        RigLaunch {
            kind,
            template: template.to_string(),
            backends: vec![("backend".to_string(), BackendOpts::default())],
            files: Vec::new(),
            vars: Vec::new(),
        }
    }

    /// Starts `kind` on `template` with one default backend named `backend`.
    pub fn start(kind: Kind, template: &str) -> Rig {
        Rig::launch(kind, template).start()
    }

    /// The binary under test on `template` with one default backend.
    pub fn under_test(template: &str) -> Rig {
        Rig::start(Kind::UnderTest, template)
    }

    /// The backend named `backend`.
    pub fn backend(&self) -> &Backend {
        self.named("backend")
    }

    pub fn named(&self, name: &str) -> &Backend {
        self.backends
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, b)| b)
            .unwrap_or_else(|| panic!("no backend named {name}"))
    }

    pub fn backend_mut(&mut self, name: &str) -> &mut Backend {
        self.backends
            .iter_mut()
            .find(|(n, _)| n == name)
            .map(|(_, b)| b)
            .unwrap_or_else(|| panic!("no backend named {name}"))
    }

    /// The port of `{proxy_port}`.
    pub fn port(&self) -> u16 {
        self.server.port("proxy")
    }

    /// A raw client connection to the `proxy` service.
    pub fn client(&self) -> Client {
        self.server.client("proxy")
    }

    pub fn mgmt(&self) -> Mgmt {
        self.server.mgmt()
    }

    /// `GET <path> HTTP/1.0` on a new connection to `proxy`, one response.
    #[track_caller]
    pub fn get(&self, path: &str) -> Response {
        let mut c = self.client();
        c.send(format!("GET {path} HTTP/1.0\r\n\r\n"));
        c.response()
    }

    pub fn work(&self) -> &Path {
        self.work.path()
    }

    pub fn spool(&self) -> PathBuf {
        self.work.path().join("spool")
    }

    /// Names of the files in the spool dir, sorted.
    pub fn spool_files(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(self.spool())
            .map(|rd| {
                rd.filter_map(Result::ok)
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        names
    }

    /// Every backend's requests after the given per-backend counts (see [`Rig::marks`]).
    pub fn requests_since(&self, marks: &[usize]) -> Vec<(String, Recorded)> {
        let mut out = Vec::new();
        for ((name, b), &skip) in self.backends.iter().zip(marks) {
            out.extend(
                b.requests_since(skip)
                    .into_iter()
                    .map(|r| (name.clone(), r)),
            );
        }
        out
    }

    /// Current request counts of every backend.
    pub fn marks(&self) -> Vec<usize> {
        self.backends
            .iter()
            .map(|(_, b)| b.request_count())
            .collect()
    }

    /// A comparable text of what the backends received: per request its backend, connection
    /// and request number, head (ports as placeholders) and body summary.
    pub fn describe_received(&self, received: &[(String, Recorded)]) -> String {
        let mut out = String::new();
        for (name, r) in received {
            out.push_str(&format!(
                "[{name} conn {} req {}]\n{}[body {} bytes, crc32 {:08x}, {}]\n",
                r.conn,
                r.seq,
                self.server.normalize(&r.head),
                r.body_len,
                r.body_crc32,
                if r.body_complete {
                    "complete"
                } else {
                    "incomplete"
                }
            ));
        }
        out
    }
}

/// What one side saw for one exchange: the client's outcome and the backends' new requests.
#[derive(Debug)]
pub struct Seen {
    pub outcome: Outcome,
    pub received: Vec<(String, Recorded)>,
}

/// How long to let backends record the last requests after the client side finished.
const SETTLE: Duration = Duration::from_millis(60);

/// Sends the requests one after another on one connection, reading one response (interim 1xx
/// responses collected too) after each; stops when the connection ends or no response comes.
pub fn converse(port: u16, requests: &[&[u8]], first_wait: Duration) -> Outcome {
    let mut c = Client::connect(port);
    let mut responses: Vec<Response> = Vec::new();
    'requests: for req in requests {
        if c.end() != End::Open || c.try_send(req).is_err() {
            break;
        }
        let head_only = req.starts_with(b"HEAD ");
        loop {
            match c.try_response(head_only, first_wait) {
                Ok(r) => {
                    let interim = (100..200).contains(&r.status());
                    responses.push(r);
                    if !interim {
                        break;
                    }
                }
                Err(_) => break 'requests,
            }
        }
    }
    let last_closes = responses.last().is_some_and(|r| !r.keeps_alive());
    let trailing = if last_closes {
        c.read_for(Duration::from_secs(2))
    } else {
        c.read_for(NEXT_RESPONSE_WAIT)
    };
    let end = match c.end() {
        End::Reset => End::Closed,
        e => e,
    };
    Outcome {
        responses,
        trailing,
        end,
    }
}

/// A reference rig and a rig under test on the same template and backend setup.
#[derive(Debug)]
pub struct RigPair {
    pub reference: Rig,
    pub ours: Rig,
}

impl RigPair {
    /// Both sides with one default backend named `backend`.
    pub fn start(template: &str) -> RigPair {
        RigPair::start_with(template, |l| l)
    }

    /// Both sides, each launch adjusted by `configure` (backends, files, vars).
    pub fn start_with(template: &str, configure: impl Fn(RigLaunch) -> RigLaunch) -> RigPair {
        let reference = configure(Rig::launch(Kind::Reference, template)).start();
        let ours = configure(Rig::launch(Kind::UnderTest, template)).start();
        RigPair { reference, ours }
    }

    pub fn sides(&self) -> [&Rig; 2] {
        [&self.reference, &self.ours]
    }

    /// Runs `f` on each side (reference first) and returns both results.
    pub fn each<T>(&self, f: impl Fn(&Rig) -> T) -> [T; 2] {
        [f(&self.reference), f(&self.ours)]
    }

    fn seen(rig: &Rig, run: impl FnOnce() -> Outcome) -> Seen {
        let marks = rig.marks();
        let outcome = run();
        thread::sleep(SETTLE);
        Seen {
            outcome,
            received: rig.requests_since(&marks),
        }
    }

    /// Sends `request` on a new connection to `{service_port}` of both sides.
    pub fn exchange(&self, service: &str, request: &[u8]) -> [Seen; 2] {
        self.exchange_within(service, request, FIRST_RESPONSE_WAIT)
    }

    /// [`RigPair::exchange`], waiting up to `first_wait` for the first response: for answers
    /// the config delays on purpose (a retry schedule), whose delay must not eat into the wait.
    pub fn exchange_within(
        &self,
        service: &str,
        request: &[u8],
        first_wait: Duration,
    ) -> [Seen; 2] {
        self.each(|rig| {
            let port = rig.server.port(service);
            RigPair::seen(rig, || exchange(port, request, first_wait))
        })
    }

    /// Sends `requests` one after another on one connection to both sides.
    pub fn converse(&self, service: &str, requests: &[&str]) -> [Seen; 2] {
        let reqs: Vec<&[u8]> = requests.iter().map(|r| r.as_bytes()).collect();
        self.each(|rig| {
            let port = rig.server.port(service);
            RigPair::seen(rig, || converse(port, &reqs, FIRST_RESPONSE_WAIT))
        })
    }

    /// `None` if both sides' clients and backends saw the same, else a report.
    pub fn diff(&self, label: &str, seen: &[Seen; 2]) -> Option<String> {
        let text = |rig: &Rig, s: &Seen| {
            format!(
                "{}\n--- backends received ---\n{}",
                s.outcome.normalized(&rig.server),
                rig.describe_received(&s.received)
            )
        };
        let r = text(&self.reference, &seen[0]);
        let o = text(&self.ours, &seen[1]);
        (r != o).then(|| format!("{label}\n--- reference ---\n{r}\n--- under test ---\n{o}\n"))
    }

    /// Each request on a new connection to `service`; panics with every difference in what
    /// the clients got or the backends received.
    #[track_caller]
    pub fn assert_same(&self, service: &str, requests: &[&str]) {
        self.assert_same_within(service, requests, FIRST_RESPONSE_WAIT);
    }

    /// [`RigPair::assert_same`], waiting up to `first_wait` for each first response (see
    /// [`RigPair::exchange_within`]).
    #[track_caller]
    pub fn assert_same_within(&self, service: &str, requests: &[&str], first_wait: Duration) {
        let mismatches: Vec<String> = requests
            .iter()
            .filter_map(|req| {
                let seen = self.exchange_within(service, req.as_bytes(), first_wait);
                self.diff(&format!("request {req:?}"), &seen)
            })
            .collect();
        assert!(
            mismatches.is_empty(),
            "{} of {} requests differ from the reference:\n{}",
            mismatches.len(),
            requests.len(),
            mismatches.join("\n")
        );
    }

    /// Each conversation (requests sent one by one on one connection) on both sides; panics
    /// with every difference.
    #[track_caller]
    pub fn assert_same_conversations(&self, service: &str, conversations: &[&[&str]]) {
        let mismatches: Vec<String> = conversations
            .iter()
            .filter_map(|reqs| {
                let seen = self.converse(service, reqs);
                self.diff(&format!("conversation {reqs:?}"), &seen)
            })
            .collect();
        assert!(
            mismatches.is_empty(),
            "{} of {} conversations differ from the reference:\n{}",
            mismatches.len(),
            conversations.len(),
            mismatches.join("\n")
        );
    }

    /// Management commands on both sides compared under `mode` (ports and paths normalised).
    #[track_caller]
    pub fn assert_mgmt(&self, commands: &[&str], mode: Compare) {
        assert_mgmt_between(&self.reference.server, &self.ours.server, commands, mode);
    }
}

/// True if the Perl reference can use `trusted_upstream_proxies` (it needs Net::Netmask, SVC-9).
pub fn perl_has_netmask() -> bool {
    std::process::Command::new("perl")
        .args(["-MNet::Netmask", "-e1"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Polls `cond` every 20 ms until it holds or `timeout` passes; returns whether it held.
pub fn eventually(timeout: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if cond() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        thread::sleep(Duration::from_millis(20));
    }
}

/// Folds the timestamps of `nodes` lines (`lastattempt`, `lastconnect`, `lastresponse`) to
/// `<time>`, leaving the counters exact.
pub fn fold_node_times(line: &str) -> String {
    let words: Vec<&str> = line.split(' ').collect();
    match words.as_slice() {
        [node, key, _] if key.starts_with("last") => format!("{node} {key} <time>"),
        _ => line.to_string(),
    }
}

/// Resident set size of a process in KiB (`VmRSS` from `/proc/<pid>/status`).
pub fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

/// Number of open file descriptors of a process.
pub fn open_fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|d| d.count())
        .unwrap_or(0)
}
