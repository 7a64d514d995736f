//! Differential testing: the same config on the reference and on the binary under test
//! (different ports), the same bytes sent to both, normalised replies compared.
//!
//! Normalisation: `Date:` values → `<date>`; each server's ports and paths → their placeholders
//! (`{web_port}`, `{docroot}`, `{tmp}`); a reset counts as a close. Management listings that are
//! unordered in the original (MGMT-43) compare as sets; listings with varying numbers compare by
//! [`shape`](super::text::shape).
use std::time::Duration;

use super::docroot::Docroot;
use super::http::{Client, End, Response};
use super::mgmt::Mgmt;
use super::process::{Kind, Launch, Perlbal};
use super::text::shape;

/// Everything a server sent back for one request, and how the connection ended.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub responses: Vec<Response>,
    /// Bytes after the last complete response (a partial response, garbage).
    pub trailing: Vec<u8>,
    /// `Closed` or `Open` (a reset is folded into `Closed`).
    pub end: End,
}

impl Outcome {
    /// Comparable text, with the server's ports and paths replaced by placeholders.
    pub fn normalized(&self, server: &Perlbal) -> String {
        let mut out = String::new();
        for r in &self.responses {
            out.push_str(&r.normalized());
            out.push_str("\n<end of response>\n");
        }
        if !self.trailing.is_empty() {
            out.push_str(&format!(
                "<trailing bytes> {}\n",
                String::from_utf8_lossy(&self.trailing)
            ));
        }
        out.push_str(match self.end {
            End::Open => "<connection open>",
            End::Closed | End::Reset => "<connection closed>",
        });
        server.normalize(&out)
    }

    /// The only response; panics if there is not exactly one.
    #[track_caller]
    pub fn single(&self) -> &Response {
        assert_eq!(self.responses.len(), 1, "expected one response: {self:?}");
        &self.responses[0]
    }
}

/// How long to wait for a first response before concluding that none comes.
pub const FIRST_RESPONSE_WAIT: Duration = Duration::from_secs(3);
/// After a keep-alive response: how long to wait for another one (pipelining).
pub const NEXT_RESPONSE_WAIT: Duration = Duration::from_millis(250);

/// Sends `request` on a new connection and collects every response until the server closes,
/// or until it goes quiet after a keep-alive response. Interim 1xx responses are collected too.
/// A request starting with `HEAD ` reads its first response without a body.
pub fn exchange(port: u16, request: &[u8], first_wait: Duration) -> Outcome {
    let mut c = Client::connect(port);
    let _ = c.try_send(request);
    let head_only = request.starts_with(b"HEAD ");
    let mut responses: Vec<Response> = Vec::new();
    let mut wait = first_wait;
    loop {
        let first_final = !responses.iter().any(|r| r.status() >= 200);
        match c.try_response(head_only && first_final, wait) {
            Ok(r) => {
                let interim = (100..200).contains(&r.status());
                let keep = r.keeps_alive();
                responses.push(r);
                if interim {
                    wait = first_wait;
                } else if keep {
                    wait = NEXT_RESPONSE_WAIT;
                } else {
                    break;
                }
            }
            Err(_) => break,
        }
    }
    let last_closes = responses
        .last()
        .is_some_and(|r| r.status() >= 200 && !r.keeps_alive());
    let trailing = if last_closes {
        c.read_for(Duration::from_secs(2))
    } else {
        c.read_for(Duration::from_millis(50))
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

/// How to compare two management replies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compare {
    /// Byte for byte (after port/path placeholders).
    Exact,
    /// Every digit run folded (ages, fds, counters, times), spaces collapsed.
    Shape,
    /// As a set of lines (MGMT-43 unordered listings).
    Set,
    /// As a set of line shapes.
    SetShape,
}

/// A reference server and a server under test started on the same config template.
#[derive(Debug)]
pub struct Pair {
    pub reference: Perlbal,
    pub ours: Perlbal,
}

impl Pair {
    /// Starts both on `template` (placeholders get separate values per server).
    pub fn start(template: &str) -> Pair {
        Pair::start_with(template, |l| l)
    }

    /// Starts both on `template`, sharing one read-only docroot.
    pub fn start_on(template: &str, docroot: &Docroot) -> Pair {
        Pair::start_with(template, |l| l.docroot(docroot))
    }

    /// Starts both, letting `configure` adjust each launch (e.g. give each its own docroot).
    pub fn start_with(template: &str, configure: impl Fn(Launch) -> Launch) -> Pair {
        let reference = configure(Perlbal::launch(Kind::Reference, template)).start();
        let ours = configure(Perlbal::launch(Kind::UnderTest, template)).start();
        Pair { reference, ours }
    }

    /// Sends `request` to `{NAME_port}` of both servers.
    pub fn exchange(&self, name: &str, request: &[u8]) -> (Outcome, Outcome) {
        let r = exchange(self.reference.port(name), request, FIRST_RESPONSE_WAIT);
        let o = exchange(self.ours.port(name), request, FIRST_RESPONSE_WAIT);
        (r, o)
    }

    /// `None` when both servers answer `request` identically, else a report.
    pub fn diff_http(&self, name: &str, request: &[u8]) -> Option<String> {
        let (r, o) = self.exchange(name, request);
        let (rn, on) = (r.normalized(&self.reference), o.normalized(&self.ours));
        (rn != on).then(|| {
            format!(
                "request {:?}\n--- reference ---\n{rn}\n--- under test ---\n{on}\n",
                String::from_utf8_lossy(request)
            )
        })
    }

    /// Sends each request to both servers (new connection each) and panics with every mismatch.
    #[track_caller]
    pub fn assert_http(&self, name: &str, requests: &[&str]) {
        let mismatches: Vec<String> = requests
            .iter()
            .filter_map(|req| self.diff_http(name, req.as_bytes()))
            .collect();
        assert!(
            mismatches.is_empty(),
            "{} of {} requests differ from the reference:\n{}",
            mismatches.len(),
            requests.len(),
            mismatches.join("\n")
        );
    }

    /// Management connections to `{mgmt_port}` of both servers.
    pub fn mgmt(&self) -> (Mgmt, Mgmt) {
        (self.reference.mgmt(), self.ours.mgmt())
    }

    /// Runs each command on both servers (one connection per server for the whole list, so
    /// `USE` context carries) and panics with every reply that differs under `mode`.
    #[track_caller]
    pub fn assert_mgmt(&self, commands: &[&str], mode: Compare) {
        assert_mgmt_between(&self.reference, &self.ours, commands, mode);
    }
}

/// [`Pair::assert_mgmt`] for any two servers with a `{mgmt_port}`.
#[track_caller]
pub fn assert_mgmt_between(reference: &Perlbal, ours: &Perlbal, commands: &[&str], mode: Compare) {
    let (mut rm, mut om) = (reference.mgmt(), ours.mgmt());
    let mut mismatches = Vec::new();
    for cmd in commands {
        let r = reply_any(&mut rm, &reference.fill(cmd));
        let r = compare_form(&reference.normalize(&r.join("\n")), mode);
        let mut o = Vec::new();
        // Listings of live sockets are compared by shape; a connection a test just closed may
        // still be listed for a moment by a busy server, so those are asked again briefly.
        let attempts = if matches!(mode, Compare::Shape | Compare::SetShape) {
            5
        } else {
            1
        };
        for attempt in 0..attempts {
            if attempt > 0 {
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
            let reply = reply_any(&mut om, &ours.fill(cmd));
            o = compare_form(&ours.normalize(&reply.join("\n")), mode);
            if o == r {
                break;
            }
        }
        if r != o {
            mismatches.push(format!(
                "command `{cmd}` ({mode:?})\n--- reference ---\n{}\n--- under test ---\n{}\n",
                r.join("\n"),
                o.join("\n")
            ));
        }
    }
    assert!(
        mismatches.is_empty(),
        "{} of {} management replies differ from the reference:\n{}",
        mismatches.len(),
        commands.len(),
        mismatches.join("\n")
    );
}

/// The probe that ends a reply of unknown shape: no other command prints its answer.
pub const PROBE: &str = "mime remove zzprobe";
pub const PROBE_REPLY: &str = "ERROR: zzprobe not a defined extension.";

/// Sends `cmd` then [`PROBE`]; returns every line before the probe's reply.
#[track_caller]
pub fn reply_any(m: &mut Mgmt, cmd: &str) -> Vec<String> {
    m.send_line(cmd);
    m.send_line(PROBE);
    let mut lines = Vec::new();
    loop {
        let line = m.read_line();
        if line == PROBE_REPLY {
            return lines;
        }
        lines.push(line);
    }
}

/// `text` as the list of lines compared under `mode`.
pub fn compare_form(text: &str, mode: Compare) -> Vec<String> {
    let mut lines: Vec<String> = text
        .split('\n')
        .map(|l| match mode {
            Compare::Shape | Compare::SetShape => shape(l),
            Compare::Exact | Compare::Set => l.to_string(),
        })
        .collect();
    if matches!(mode, Compare::Set | Compare::SetShape) {
        lines.sort();
    }
    lines
}
