//! `server_process` (RP-14, SVC-43): a reverse_proxy without a pool spawns a program that
//! speaks HTTP on its stdin and stdout, and relays requests to it like to a pool node.
//! Runs against ours and the reference (both behave the same here).

mod support;

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::time::Duration;

use support::configs::MGMT;
use support::{Client, Kind, Perlbal, Response, TempDir};

fn child_program() -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/stdio_httpd.pl")
        .to_string_lossy()
        .into_owned()
}

fn start(persist_backend: bool) -> Perlbal {
    start_with(&child_program(), persist_backend)
}

fn start_with(program: &str, persist_backend: bool) -> Perlbal {
    let persist = if persist_backend { "on" } else { "off" };
    let template = format!(
        "{MGMT}CREATE SERVICE proxy
  SET role = reverse_proxy
  SET listen = 127.0.0.1:{{proxy_port}}
  SET server_process = {{child}}
  SET persist_backend = {persist}
  SET persist_client = on
ENABLE proxy
"
    );
    Perlbal::launch(Kind::UnderTest, &template)
        .var("child", program)
        .start()
}

/// `(pid, served, rest)` from a response of the child program.
fn parse(r: &Response) -> (u32, u32, String) {
    assert_eq!(r.status(), 200, "{r:?}");
    let text = r.body_text();
    let mut words = text.splitn(3, ' ');
    let mut field = |name: &str| -> u32 {
        words
            .next()
            .and_then(|w| w.strip_prefix(name))
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no {name} in {text:?}"))
    };
    let pid = field("pid=");
    let served = field("served=");
    (pid, served, words.next().unwrap_or_default().to_string())
}

#[test]
fn requests_reach_the_spawned_program_and_share_it_with_persist_backend() {
    let server = start(true);
    let port = server.port("proxy");

    let first = parse(
        &Client::connect(port)
            .send("GET /a HTTP/1.0\r\n\r\n")
            .response(),
    );
    assert_eq!(first.1, 1);
    assert_eq!(first.2, "GET /a body=");

    let mut c = Client::connect(port);
    c.send("POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello");
    let second = parse(&c.response());
    assert_eq!((second.0, second.1), (first.0, 2), "same process, reused");
    assert_eq!(second.2, "POST /b body=hello");

    c.send("GET /c HTTP/1.1\r\nHost: x\r\n\r\n");
    let third = parse(&c.response());
    assert_eq!(
        (third.0, third.1),
        (first.0, 3),
        "keep-alive client, same process"
    );
}

#[test]
fn without_persist_backend_each_request_gets_a_fresh_process() {
    let server = start(false);
    let port = server.port("proxy");
    let first = parse(
        &Client::connect(port)
            .send("GET /a HTTP/1.0\r\n\r\n")
            .response(),
    );
    let second = parse(
        &Client::connect(port)
            .send("GET /b HTTP/1.0\r\n\r\n")
            .response(),
    );
    if support::expect_divergence("RP-7") {
        // The original reuses the connection anyway when the program answers `keep-alive`
        // to the `Connection: close` it was sent.
        assert_eq!((first.1, second.1), (1, 1), "{first:?} {second:?}");
        assert_ne!(first.0, second.0, "a new process per backend connection");
    }
}

#[test]
fn a_program_that_is_not_executable_is_refused() {
    let server = start(true);
    let plain = server.dir().join("not-a-program");
    std::fs::write(&plain, "data").unwrap_or_else(|e| panic!("{e}"));
    let mut mgmt = server.mgmt();
    let reply = mgmt.one_line(&format!("SET proxy.server_process = {}", plain.display()));
    assert!(reply.starts_with("ERROR"), "{reply}");
    assert!(reply.contains("not executable"), "{reply}");
}

#[test]
fn a_program_that_exits_without_answering_gets_a_502() {
    let server = start_with("/bin/true", true);
    let r = Client::connect(server.port("proxy"))
        .send("GET / HTTP/1.0\r\n\r\n")
        .try_response(false, Duration::from_secs(5));
    if support::expect_divergence("RP-31") {
        let r = r.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(r.status(), 502, "{r:?}");
    }
}

#[test]
fn a_program_that_cannot_be_started_gets_a_503() {
    let dir = TempDir::new("server-process");
    let program = dir.path().join("gone");
    std::fs::write(&program, "#!/bin/sh\n").unwrap_or_else(|e| panic!("{e}"));
    std::fs::set_permissions(&program, std::fs::Permissions::from_mode(0o755))
        .unwrap_or_else(|e| panic!("{e}"));
    let server = start_with(&program.to_string_lossy(), true);
    std::fs::remove_file(&program).unwrap_or_else(|e| panic!("{e}"));
    let r = Client::connect(server.port("proxy"))
        .send("GET / HTTP/1.0\r\n\r\n")
        .try_response(false, Duration::from_secs(5));
    if support::expect_divergence("RP-10") {
        let r = r.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(r.status(), 503, "{r:?}");
    }
}
