//! Reproxy rigs (REPROXY-*, OBS-22..27): a reverse_proxy `proxy` with `enable_reproxy` on (the
//! spec's OBS setup) in front of a scriptable primary backend `backend`, a second scriptable
//! backend `target` that X-REPROXY-URL replies point at (it records exactly what it received), a
//! web_server `web` for X-REPROXY-SERVICE, and a docroot whose files X-REPROXY-FILE replies name.
//! Helpers build the exact raw replies the tests script on both backends.
use super::backend::{Action, Backend, BackendOpts};
use super::configs::plain_web;
use super::docroot::{Docroot, DATA_MTIME};
use super::http::{Client, Response};
use super::proxy::{obs_proxy, Rig, RigLaunch};
use super::Kind;

/// `file60` of the reproxy docroot and the body the `target` serves for it (OBS-22: 60 bytes).
pub const FILE60: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZABCDEFGHIJKLMNOPQRSTUVWXYZABCDEFGH";

/// Management, the OBS `proxy` with `proxy_extra` lines, and web_server `web` on `{docroot}`
/// with `persist_client` on. `server` holds `SERVER …` lines placed first.
pub fn template(server: &str, proxy_extra: &str) -> String {
    format!(
        "{server}{}{}",
        obs_proxy(proxy_extra),
        plain_web("web", "  SET persist_client = on\n")
    )
}

/// Raw response bytes: status line, header lines in order, blank line, body.
pub fn raw(status_line: &str, headers: &[&str], body: &[u8]) -> Vec<u8> {
    let mut out = format!("{status_line}\r\n");
    for h in headers {
        out.push_str(h);
        out.push_str("\r\n");
    }
    out.push_str("\r\n");
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(body);
    bytes
}

/// A backend answer sent as [`raw`] bytes, connection kept for the next request.
pub fn keep(status_line: &str, headers: &[&str], body: &[u8]) -> Action {
    Action::raw_keep(raw(status_line, headers, body))
}

/// A `200 OK` primary reply with the `directives` header lines (e.g. `X-REPROXY-FILE: /path`)
/// then `Content-Length: 0` and `Connection: keep-alive`, so the backend connection can be
/// reused.
pub fn primary(directives: &[&str]) -> Action {
    let mut headers = directives.to_vec();
    headers.extend(["Content-Length: 0", "Connection: keep-alive"]);
    keep("HTTP/1.0 200 OK", &headers, b"")
}

/// A `200 OK` target reply with `body`, its own Content-Type and a Set-Cookie (which must not
/// reach the client, REPROXY-7), kept alive.
pub fn target_ok(body: &[u8]) -> Action {
    let len = format!("Content-Length: {}", body.len());
    keep(
        "HTTP/1.0 200 OK",
        &[
            "Content-Type: text/x-secondary",
            "X-Secondary: yes",
            "Set-Cookie: b=2",
            &len,
            "Connection: keep-alive",
        ],
        body,
    )
}

/// A running reproxy rig. Field order matters: the server goes first.
#[derive(Debug)]
pub struct ReproxyRig {
    pub rig: Rig,
    pub docroot: Docroot,
}

/// The docroot of every reproxy rig: the standard fixture plus `file60` ([`FILE60`]) and a
/// 1 MiB `big.bin`.
fn docroot() -> Docroot {
    let d = Docroot::standard();
    d.file("file60", FILE60, DATA_MTIME);
    d.big_file("big.bin", 1 << 20);
    d
}

impl ReproxyRig {
    /// The binary under test on [`template`]`(server, proxy_extra)`.
    pub fn start(server: &str, proxy_extra: &str) -> ReproxyRig {
        ReproxyRig::start_on(&template(server, proxy_extra), |l| l)
    }

    /// The binary under test on any template using `{docroot}`, `{backend_port}` and
    /// `{target_port}`; `configure` may add backends.
    pub fn start_on(template: &str, configure: impl FnOnce(RigLaunch) -> RigLaunch) -> ReproxyRig {
        let docroot = docroot();
        let launch = Rig::launch(Kind::UnderTest, template)
            .backend("target", BackendOpts::default())
            .var("docroot", docroot.path_str());
        let rig = configure(launch).start();
        ReproxyRig { rig, docroot }
    }

    /// The primary backend (the pool's only node).
    pub fn backend(&self) -> &Backend {
        self.rig.backend()
    }

    /// The X-REPROXY-URL target.
    pub fn target(&self) -> &Backend {
        self.rig.named("target")
    }

    /// Scripts the primary backend's answer for `path`.
    pub fn answer(&self, path: &str, action: Action) {
        self.backend().set_route(path, action);
    }

    /// Scripts the target's answer for `path`.
    pub fn serve(&self, path: &str, action: Action) {
        self.target().set_route(path, action);
    }

    /// `http://127.0.0.1:<target port><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.target().port())
    }

    /// `127.0.0.1:<target port>`.
    pub fn target_node(&self) -> String {
        self.target().node()
    }

    /// Absolute path of a docroot file, for X-REPROXY-FILE.
    pub fn file(&self, rel: &str) -> String {
        self.docroot.join(rel).to_string_lossy().into_owned()
    }

    /// A new client connection to `proxy`.
    pub fn client(&self) -> Client {
        self.rig.client()
    }

    /// Sends `request` on a new connection to `proxy` and reads one response (GET framing).
    #[track_caller]
    pub fn fetch(&self, request: &str) -> Response {
        let mut c = self.client();
        c.send(request);
        c.response()
    }

    /// `GET <path> HTTP/1.0` (no headers) on a new connection.
    #[track_caller]
    pub fn get(&self, path: &str) -> Response {
        self.rig.get(path)
    }

    /// The lines of a management listing (final `.` removed).
    #[track_caller]
    pub fn listing(&self, command: &str) -> Vec<String> {
        self.rig.mgmt().listing(command)
    }
}
