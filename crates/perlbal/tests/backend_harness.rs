//! Self-tests of the reverse-proxy test harness (support/backend.rs, checksum.rs, nginx.rs,
//! proxy.rs) talking to it directly, so a harness bug cannot pass for a proxy bug.
mod support;

use std::time::{Duration, Instant};

use support::backend::{
    refusing_port, upload_summary, Action, Backend, BackendOpts, Blackhole, Verify, HELLO_BODY,
};
use support::checksum::{crc32, Crc32, Pattern};
use support::docroot::Docroot;
use support::http::{End, IO_TIMEOUT};
use support::nginx::{parse_ok, Nginx};
use support::proxy::{converse, fold_node_times};
use support::{Client, Response};

fn ask(b: &Backend, request: &str) -> Response {
    let mut c = Client::connect(b.port());
    c.send(request);
    c.response()
}

#[test]
fn crc32_matches_the_standard_check_value() {
    assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
    assert_eq!(crc32(b""), 0);
    let mut c = Crc32::new();
    c.update(b"1234");
    c.update(b"56789");
    assert_eq!(c.finish(), 0xCBF4_3926);
}

#[test]
fn pattern_stream_does_not_depend_on_buffer_sizes() {
    let whole = Pattern::bytes(3, 1000);
    let mut p = Pattern::new(3, 1000);
    let mut pieces = Vec::new();
    for size in [1usize, 7, 8, 13, 64, 3].iter().cycle() {
        let mut buf = vec![0u8; *size];
        let n = p.fill(&mut buf);
        if n == 0 {
            break;
        }
        pieces.extend_from_slice(&buf[..n]);
    }
    assert_eq!(pieces, whole);
    assert_eq!(Pattern::crc32(3, 1000), crc32(&whole));
    assert_ne!(Pattern::bytes(4, 1000), whole);
}

#[test]
fn echo_returns_the_raw_head_and_body_and_records_it() {
    let b = Backend::new();
    let req = "POST /echo?x=1 HTTP/1.0\r\nHost: h\r\nX-A:  b\r\nContent-Length: 3\r\n\r\nabc";
    let r = ask(&b, req);
    assert_eq!(r.status_line, "HTTP/1.0 200 OK");
    assert_eq!(r.body_text(), req);
    assert_eq!(r.header("Connection"), None);
    let got = b.last_request().expect("recorded");
    assert_eq!(
        got.lines(),
        [
            "POST /echo?x=1 HTTP/1.0",
            "Host: h",
            "X-A:  b",
            "Content-Length: 3"
        ]
    );
    assert_eq!(
        (got.method(), got.target(), got.version()),
        ("POST", "/echo?x=1", "HTTP/1.0")
    );
    assert_eq!(got.header("x-a"), Some("b"));
    assert_eq!(got.body, b"abc");
    assert_eq!(got.upload_summary(), upload_summary(3, crc32(b"abc")));
    assert_eq!((got.conn, got.seq), (1, 1));
}

#[test]
fn keep_alive_is_honoured_and_counted_per_connection() {
    let b = Backend::new();
    let reqs: [&[u8]; 3] = [
        b"GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
        b"GET /hello HTTP/1.1\r\nHost: a\r\n\r\n",
        b"GET /hello HTTP/1.0\r\n\r\n",
    ];
    let out = converse(b.port(), &reqs, IO_TIMEOUT);
    assert_eq!(out.responses.len(), 3);
    assert_eq!(out.responses[0].header("Connection"), Some("keep-alive"));
    assert_eq!(out.responses[2].header("Connection"), None);
    assert_eq!(out.end, End::Closed);
    assert_eq!(b.requests_per_connection(), [3]);
    assert!(b.wait_open(0, Duration::from_secs(2)));

    let closing = Backend::start(BackendOpts::no_keep_alive());
    let out = converse(closing.port(), &reqs, IO_TIMEOUT);
    assert_eq!(out.responses.len(), 1);
    assert_eq!(out.end, End::Closed);

    let http11 = Backend::start(BackendOpts {
        http11: true,
        ..BackendOpts::default()
    });
    let r = ask(&http11, "GET /hello HTTP/1.0\r\n\r\n");
    assert_eq!(r.status_line, "HTTP/1.1 200 OK");
    assert_eq!(r.header("Connection"), Some("close"));
}

#[test]
fn path_table_answers() {
    let b = Backend::new();
    assert_eq!(ask(&b, "GET /hello HTTP/1.0\r\n\r\n").body, HELLO_BODY);
    let r = ask(&b, "GET /status/503/Busy%20Now HTTP/1.0\r\n\r\n");
    assert_eq!(r.status_line, "HTTP/1.0 503 Busy Now");
    assert_eq!(
        ask(&b, "GET /status/404 HTTP/1.0\r\n\r\n").status_line,
        "HTTP/1.0 404 Not Found"
    );
    let t = Instant::now();
    assert_eq!(
        ask(&b, "GET /delay/300/status/201 HTTP/1.0\r\n\r\n").status(),
        201
    );
    assert!(t.elapsed() >= Duration::from_millis(300));
    let r = ask(&b, "GET /nolength HTTP/1.0\r\n\r\n");
    assert_eq!(r.header("Content-Length"), None);
    assert_eq!(r.body, b"body without length\n");
    let mut c = Client::connect(b.port());
    c.send("GET /chunked HTTP/1.0\r\n\r\n");
    let raw = c.read_to_close(Duration::from_secs(2));
    let raw = String::from_utf8_lossy(&raw).into_owned();
    assert!(raw.starts_with("HTTP/1.1 200 OK\r\n"), "{raw:?}");
    assert!(
        raw.contains("\r\nTransfer-Encoding: chunked\r\n"),
        "{raw:?}"
    );
    assert!(
        raw.ends_with("\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"),
        "{raw:?}"
    );
    assert_eq!(ask(&b, "GET /nope HTTP/1.0\r\n\r\n").status(), 404);
}

#[test]
fn failure_paths_close_reset_and_stall() {
    let b = Backend::new();
    let mut c = Client::connect(b.port());
    c.send("GET /close-before-headers HTTP/1.0\r\n\r\n");
    c.assert_closed_silently(Duration::from_secs(2));

    let mut c = Client::connect(b.port());
    c.send("GET /close-mid-body/50/5 HTTP/1.0\r\n\r\n");
    let raw = String::from_utf8_lossy(&c.read_to_close(Duration::from_secs(2))).into_owned();
    assert!(
        raw.contains("Content-Length: 50\r\n") && raw.ends_with("\r\n\r\n12345"),
        "{raw:?}"
    );

    let mut c = Client::connect(b.port());
    c.send("GET /reset HTTP/1.0\r\n\r\n");
    c.read_for(Duration::from_secs(2));
    assert_eq!(c.end(), End::Reset);

    let mut c = Client::connect(b.port());
    c.send("GET /sleep-forever HTTP/1.0\r\n\r\n");
    c.assert_open_and_quiet(Duration::from_millis(300));
    assert_eq!(b.open_connections(), 1);
    drop(c);
    assert!(
        b.wait_open(0, Duration::from_secs(2)),
        "sleeper noticed the close"
    );
}

#[test]
fn scripts_routes_and_always_override_the_path_table() {
    let b = Backend::new();
    b.set_route(
        "/x",
        Action::raw_close("HTTP/1.0 299\r\nContent-Length: 2\r\n\r\nok"),
    );
    b.script([Action::Status(500, None)]);
    assert_eq!(ask(&b, "GET /x HTTP/1.0\r\n\r\n").status(), 500);
    assert_eq!(
        ask(&b, "GET /x?q HTTP/1.0\r\n\r\n").status_line,
        "HTTP/1.0 299"
    );
    b.set_always(Some(Action::Hello));
    assert_eq!(ask(&b, "GET /status/404 HTTP/1.0\r\n\r\n").body, HELLO_BODY);
    b.set_always(None);
    assert_eq!(ask(&b, "GET /status/404 HTTP/1.0\r\n\r\n").status(), 404);
    b.set_route(
        "/k",
        Action::raw_keep("HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\nk"),
    );
    let reqs: [&[u8]; 2] = [b"GET /k HTTP/1.0\r\n\r\n", b"GET /hello HTTP/1.0\r\n\r\n"];
    let out = converse(b.port(), &reqs, IO_TIMEOUT);
    assert_eq!(out.responses.len(), 2, "raw_keep keeps the connection");
}

#[test]
fn close_all_ends_idle_connections_from_the_backend_side() {
    let b = Backend::new();
    let mut c = Client::connect(b.port());
    c.send("GET /hello HTTP/1.1\r\nHost: a\r\n\r\n");
    c.response();
    assert_eq!(b.open_connections(), 1);
    b.close_all();
    c.read_to_close(Duration::from_secs(2));
    assert!(b.wait_open(0, Duration::from_secs(2)));
}

#[test]
fn uploads_and_chunked_bodies_are_checksummed() {
    let b = Backend::new();
    let body = Pattern::bytes(9, 200_000);
    let mut c = Client::connect(b.port());
    c.send(format!(
        "PUT /upload HTTP/1.0\r\nContent-Length: {}\r\n\r\n",
        body.len()
    ));
    c.send(&body);
    assert_eq!(
        c.response().body_text(),
        upload_summary(200_000, crc32(&body))
    );
    let r = ask(
        &b,
        "POST /upload HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5;x=1\r\nhello\r\n6\r\n world\r\n0\r\nT: 1\r\n\r\n",
    );
    assert_eq!(r.body_text(), upload_summary(11, crc32(b"hello world")));
    let got = b.last_request().expect("recorded");
    assert!(got.chunked && got.body_complete);
}

#[test]
fn verify_probes_are_answered_per_options() {
    let b = Backend::new();
    let reqs: [&[u8]; 2] = [
        b"OPTIONS * HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
        b"GET /hello HTTP/1.0\r\n\r\n",
    ];
    let out = converse(b.port(), &reqs, IO_TIMEOUT);
    assert_eq!(out.responses.len(), 2);
    assert_eq!(out.responses[0].header("Connection"), Some("keep-alive"));
    assert_eq!(b.options_requests().len(), 1);
    let refusing = Backend::start(BackendOpts {
        verify: Verify::NoKeepAlive,
        verify_delay: Duration::from_millis(200),
        ..BackendOpts::default()
    });
    let t = Instant::now();
    let out = converse(refusing.port(), &reqs, IO_TIMEOUT);
    assert!(t.elapsed() >= Duration::from_millis(200));
    assert_eq!(out.responses.len(), 1);
    assert_eq!(out.end, End::Closed);
}

#[test]
fn dead_ports_refuse_and_blackholes_swallow() {
    let port = refusing_port();
    assert!(Client::try_connect(port).is_err());
    let hole = Blackhole::start();
    assert!(hole.swallows(Duration::from_millis(300)));
    let mut b = Backend::new();
    let port = b.port();
    b.stop_listening();
    assert!(Client::try_connect(port).is_err());
}

#[test]
fn nginx_helper_serves_files_and_counts_requests_per_connection() {
    let d = Docroot::empty();
    d.file("f.txt", b"nginx\n", support::docroot::DATA_MTIME);
    let n = Nginx::start(d.path());
    let mut c = Client::connect(n.port());
    c.send("GET /f.txt HTTP/1.0\r\n\r\n");
    assert_eq!(c.response().body, b"nginx\n");
    let reqs: [&[u8]; 2] = [
        b"GET /ok HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
        b"GET /ok HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
    ];
    let out = converse(n.port(), &reqs, IO_TIMEOUT);
    let seen: Vec<(u64, u64)> = out
        .responses
        .iter()
        .filter_map(|r| parse_ok(&r.body))
        .collect();
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[0].0, seen[1].0);
    assert_eq!((seen[0].1, seen[1].1), (1, 2));
}

#[test]
fn node_times_fold_and_counters_stay() {
    assert_eq!(
        fold_node_times("127.0.0.1:80 lastattempt 1795614573"),
        "127.0.0.1:80 lastattempt <time>"
    );
    assert_eq!(
        fold_node_times("127.0.0.1:80 requests 9"),
        "127.0.0.1:80 requests 9"
    );
    assert_eq!(
        fold_node_times("127.0.0.1:80 responsecodes 200 8"),
        "127.0.0.1:80 responsecodes 200 8"
    );
}
