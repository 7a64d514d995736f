//! X-REPROXY-URL end to end, the exchange itself (REPROXY-5, REPROXY-7, REPROXY-12, OBS-22,
//! OBS-24): the backend names URLs and the proxy fetches the first that answers acceptably,
//! sending its body under the backend's headers. Pins the exact merged heads (Date-free) and
//! bodies, the exact request each target receives, HEAD, ranges, close-delimited and truncated
//! target bodies, and keep-alive to the client. Failover lives in `reproxy_url_failover.rs`,
//! the ReproxyManager in `reproxy_url_manager.rs`.
mod support;

use std::time::Duration;

use support::backend::Action;
use support::expect_divergence;
use support::reproxy::{keep, primary, target_ok, ReproxyRig, FILE60};

const KEEP_ALIVE: &str = "Keep-Alive: timeout=30, max=100";

fn rig() -> ReproxyRig {
    ReproxyRig::start("", "")
}

/// Scripts the primary backend to answer `path` with `X-REPROXY-URL: <urls>` (plus
/// `Content-Length: 0` and keep-alive, [`primary`]).
fn url_reply(rig: &ReproxyRig, path: &str, urls: &str) {
    rig.answer(path, primary(&[&format!("X-REPROXY-URL: {urls}")]));
}

#[test]
fn the_target_body_goes_out_under_the_backend_headers() {
    // OBS-22, REPROXY-5/7: the target's own Content-Type, X-Secondary and Set-Cookie are
    // dropped; the backend's Set-Cookie is kept; the client's other headers are not forwarded.
    let rig = rig();
    rig.serve("/file60", target_ok(FILE60));
    let url = format!("X-REPROXY-URL: {}", rig.url("/file60"));
    rig.answer(
        "/r",
        primary(&[
            "Content-Type: text/x-primary",
            "X-Primary: yes",
            "Set-Cookie: a=1",
            &url,
        ]),
    );
    let mut c = rig.client();
    c.send("GET /r HTTP/1.0\r\nHost: example.com\r\nX-Other: 1\r\n\r\n");
    c.response().assert_exact(
        &[
            "HTTP/1.0 200 OK",
            "Content-Type: text/x-primary",
            "X-Primary: yes",
            "Set-Cookie: a=1",
            "Content-Length: 60",
            "Connection: close",
        ],
        FILE60,
    );
    c.assert_closed_silently(Duration::from_secs(3));
    let sent = rig.target().last_request().expect("the target was asked");
    assert_eq!(
        sent.lines(),
        [
            "GET /file60 HTTP/1.0",
            "Connection: keep-alive",
            "Host: example.com"
        ]
    );
}

#[test]
fn without_enable_reproxy_the_directive_reaches_the_client() {
    // RP-41, REPROXY-1: with reproxying off the backend's head goes out as it came and no
    // target is asked.
    let rig = ReproxyRig::start("", "  SET enable_reproxy = off\n");
    let url = format!("X-REPROXY-URL: {}", rig.url("/file60"));
    rig.answer("/r", primary(&["X-Primary: yes", &url]));
    let expected = [
        "HTTP/1.0 200 OK",
        "X-Primary: yes",
        url.as_str(),
        "Content-Length: 0",
        "Connection: close",
    ];
    rig.get("/r").assert_exact(&expected, b"");
    assert_eq!(rig.target().request_count(), 0);
    let asked = rig.backend().last_request().expect("the backend was asked");
    assert_eq!(asked.header("X-Proxy-Capabilities"), None);
}

#[test]
fn every_reproxy_header_is_removed_and_the_length_replaced_in_place() {
    // REPROXY-7: X-REPROXY-URL, -EXPECTED-SIZE (matching here) and -CACHE-FOR (the cache is
    // off) go, wherever they stand; the backend's Content-Length takes the target's value where
    // it stood; a backend Keep-Alive/Connection pair is rewritten for the client (HTTP-14).
    let rig = rig();
    rig.serve("/file60", target_ok(FILE60));
    let url = format!("X-REPROXY-URL: {}", rig.url("/file60"));
    rig.answer(
        "/r",
        keep(
            "HTTP/1.0 200 OK",
            &[
                "X-REPROXY-EXPECTED-SIZE: 60",
                "Content-Type: text/x-primary",
                "Content-Length: 0",
                &url,
                "X-REPROXY-CACHE-FOR: 30; Content-Type",
                "X-After: 1",
                "Connection: keep-alive",
                "Keep-Alive: timeout=5, max=7",
            ],
            b"",
        ),
    );
    rig.get("/r").assert_exact(
        &[
            "HTTP/1.0 200 OK",
            "Content-Type: text/x-primary",
            "Content-Length: 60",
            "X-After: 1",
            "Connection: close",
        ],
        FILE60,
    );
}

#[test]
fn a_backend_head_without_length_gets_the_targets_appended() {
    // REPROXY-7: no Content-Length in the backend's head → the target's is appended last.
    let rig = rig();
    rig.serve("/file60", target_ok(FILE60));
    let url = format!("X-REPROXY-URL: {}", rig.url("/file60"));
    rig.answer(
        "/r",
        keep(
            "HTTP/1.0 200 OK",
            &["X-Primary: yes", &url, "Connection: keep-alive"],
            b"",
        ),
    );
    rig.get("/r").assert_exact(
        &[
            "HTTP/1.0 200 OK",
            "X-Primary: yes",
            "Connection: close",
            "Content-Length: 60",
        ],
        FILE60,
    );
}

#[test]
fn a_204_from_the_backend_becomes_200() {
    // REPROXY-7: primary 204 → 200 OK; any other primary status is kept as it is.
    let rig = rig();
    rig.serve("/file60", target_ok(FILE60));
    let url = format!("X-REPROXY-URL: {}", rig.url("/file60"));
    rig.answer(
        "/nc",
        keep(
            "HTTP/1.0 204 No Content",
            &[&url, "Connection: keep-alive"],
            b"",
        ),
    );
    rig.answer(
        "/gone",
        keep(
            "HTTP/1.0 410 Gone",
            &[&url, "Content-Length: 0", "Connection: keep-alive"],
            b"",
        ),
    );
    rig.get("/nc").assert_exact(
        &["HTTP/1.0 200 OK", "Connection: close", "Content-Length: 60"],
        FILE60,
    );
    rig.get("/gone").assert_exact(
        &[
            "HTTP/1.0 410 Gone",
            "Content-Length: 60",
            "Connection: close",
        ],
        FILE60,
    );
}

#[test]
fn a_range_is_forwarded_and_the_targets_206_is_taken() {
    // OBS-24, REPROXY-5/7: the target gets Range before Host; its 206 status, Accept-Ranges and
    // Content-Range are appended to the backend's head.
    let rig = rig();
    rig.serve(
        "/file60",
        keep(
            "HTTP/1.0 206 Partial Content",
            &[
                "Content-Type: text/x-secondary",
                "Accept-Ranges: bytes",
                "Content-Range: bytes 2-5/60",
                "Content-Length: 4",
                "Connection: keep-alive",
            ],
            b"CDEF",
        ),
    );
    let url = format!("X-REPROXY-URL: {}", rig.url("/file60"));
    rig.answer("/r", primary(&["Content-Type: text/x-primary", &url]));
    rig.fetch("GET /r HTTP/1.0\r\nHost: h\r\nRange: bytes=2-5\r\n\r\n")
        .assert_exact(
            &[
                "HTTP/1.0 206 Partial Content",
                "Content-Type: text/x-primary",
                "Content-Length: 4",
                "Connection: close",
                "Accept-Ranges: bytes",
                "Content-Range: bytes 2-5/60",
            ],
            b"CDEF",
        );
    let sent = rig.target().last_request().expect("the target was asked");
    assert_eq!(
        sent.lines(),
        [
            "GET /file60 HTTP/1.0",
            "Connection: keep-alive",
            "Range: bytes=2-5",
            "Host: h"
        ]
    );

    // The backend's own Accept-Ranges and Content-Range are replaced where they stand.
    rig.answer(
        "/in-place",
        primary(&[
            "Accept-Ranges: none",
            "Content-Range: bogus",
            "X-Primary: yes",
            &url,
        ]),
    );
    rig.fetch("GET /in-place HTTP/1.0\r\nRange: bytes=2-5\r\n\r\n")
        .assert_exact(
            &[
                "HTTP/1.0 206 Partial Content",
                "Accept-Ranges: bytes",
                "Content-Range: bytes 2-5/60",
                "X-Primary: yes",
                "Content-Length: 4",
                "Connection: close",
            ],
            b"CDEF",
        );
}

#[test]
fn a_416_from_the_target_is_passed_on_with_its_content_range() {
    // REPROXY-6/7: 416 is the one non-2xx status accepted; its code and Content-Range are
    // taken (the status line with Perlbal's own phrase), an absent Accept-Ranges is not
    // invented.
    let rig = rig();
    rig.serve(
        "/file60",
        keep(
            "HTTP/1.0 416 Requested Range Not Satisfiable",
            &[
                "Content-Range: bytes */60",
                "Content-Length: 0",
                "Connection: keep-alive",
            ],
            b"",
        ),
    );
    let url = format!("X-REPROXY-URL: {}", rig.url("/file60"));
    rig.answer("/r", primary(&["X-Primary: yes", &url]));
    rig.fetch("GET /r HTTP/1.0\r\nRange: bytes=100-\r\n\r\n")
        .assert_exact(
            &[
                "HTTP/1.0 416 Request range not satisfiable",
                "X-Primary: yes",
                "Content-Length: 0",
                "Connection: close",
                "Content-Range: bytes */60",
            ],
            b"",
        );
}

#[test]
fn another_2xx_from_the_target_keeps_the_backend_status() {
    // REPROXY-6/7: any 2xx is accepted; only 206 and 416 replace the backend's status.
    let rig = rig();
    rig.serve(
        "/file60",
        keep(
            "HTTP/1.0 203 Non-Authoritative Information",
            &["Content-Length: 60", "Connection: keep-alive"],
            FILE60,
        ),
    );
    let url = format!("X-REPROXY-URL: {}", rig.url("/file60"));
    rig.answer("/r", primary(&[&url]));
    rig.get("/r").assert_exact(
        &["HTTP/1.0 200 OK", "Content-Length: 60", "Connection: close"],
        FILE60,
    );
}

#[test]
fn the_target_request_carries_nothing_but_method_path_range_and_host() {
    // REPROXY-5: an HTTP/1.1 client with cookies, XFF and keep-alive → the target sees an
    // HTTP/1.0 GET with Connection: keep-alive, Range and Host only; a POST is fetched with GET;
    // a URL without a path asks for `/`; the query string is part of the path.
    let rig = rig();
    rig.serve("/", target_ok(FILE60));
    rig.serve("/q", target_ok(FILE60));
    url_reply(
        &rig,
        "/root",
        &format!("http://127.0.0.1:{}", rig.target().port()),
    );
    url_reply(&rig, "/query", &rig.url("/q?x=1&y=%20"));
    let mut c = rig.client();
    c.send(
        "GET /root HTTP/1.1\r\nHost: a.example\r\nUser-Agent: ua\r\nCookie: c=1\r\n\
         X-Forwarded-For: 1.2.3.4\r\nRange: bytes=0-\r\nAccept: */*\r\n\r\n",
    );
    assert_eq!(c.response().status(), 200);
    let sent = rig.target().last_request().expect("the target was asked");
    assert_eq!(
        sent.head,
        "GET / HTTP/1.0\r\nConnection: keep-alive\r\nRange: bytes=0-\r\nHost: a.example\r\n\r\n"
    );
    c.send("POST /query HTTP/1.1\r\nHost: b.example\r\nContent-Length: 3\r\n\r\nabc");
    assert_eq!(c.response().body, FILE60);
    let sent = rig.target().last_request().expect("the target was asked");
    assert_eq!(
        sent.head,
        "GET /q?x=1&y=%20 HTTP/1.0\r\nConnection: keep-alive\r\nHost: b.example\r\n\r\n"
    );
    assert_eq!(
        rig.backend().last_request().map(|r| r.body),
        Some(b"abc".to_vec()),
        "the backend, not the target, gets the request body"
    );
}

#[test]
fn head_requests_are_fetched_with_head() {
    // REPROXY-5/7: the backend and the target both get HEAD; the client gets the merged head
    // with the target's length and no body, and the connection goes on.
    let rig = rig();
    rig.serve(
        "/file60",
        keep(
            "HTTP/1.0 200 OK",
            &["Content-Length: 60", "Connection: keep-alive"],
            b"",
        ),
    );
    let url = format!("X-REPROXY-URL: {}", rig.url("/file60"));
    rig.answer("/r", primary(&["X-Primary: yes", &url]));
    let mut c = rig.client();
    c.send("HEAD /r HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    c.head_response().assert_exact(
        &[
            "HTTP/1.0 200 OK",
            "X-Primary: yes",
            "Content-Length: 60",
            "Connection: keep-alive",
            KEEP_ALIVE,
        ],
        b"",
    );
    assert_eq!(
        rig.backend().last_request().map(|r| r.method().to_string()),
        Some("HEAD".to_string())
    );
    let sent = rig.target().last_request().expect("the target was asked");
    assert_eq!(
        sent.lines(),
        ["HEAD /file60 HTTP/1.0", "Connection: keep-alive"]
    );
    c.send("HEAD /r HTTP/1.0\r\n\r\n");
    c.head_response().assert_exact(
        &[
            "HTTP/1.0 200 OK",
            "X-Primary: yes",
            "Content-Length: 60",
            "Connection: close",
        ],
        b"",
    );
    c.assert_closed_silently(Duration::from_secs(3));
}

#[test]
fn a_head_answer_without_length_keeps_the_client() {
    // REPROXY-7, HTTP-14: a HEAD response needs no length, so without one from the target the
    // backend's is dropped and a keep-alive client stays connected.
    let rig = rig();
    rig.serve(
        "/nolen",
        Action::raw_close(b"HTTP/1.0 200 OK\r\nContent-Type: text/x-secondary\r\n\r\n"),
    );
    let url = format!("X-REPROXY-URL: {}", rig.url("/nolen"));
    rig.answer("/r", primary(&["X-Primary: yes", &url]));
    let mut c = rig.client();
    c.send("HEAD /r HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    c.head_response().assert_exact(
        &[
            "HTTP/1.0 200 OK",
            "X-Primary: yes",
            "Connection: keep-alive",
            KEEP_ALIVE,
        ],
        b"",
    );
    c.assert_open_and_quiet(Duration::from_millis(200));
}

#[test]
fn a_keep_alive_client_gets_several_reproxied_responses_on_one_connection() {
    // REPROXY-12, HTTP-14: the final length is known, so the client connection stays open;
    // REPROXY-9: the target connection is reused for each of them.
    let rig = rig();
    rig.serve("/file60", target_ok(FILE60));
    let url = format!("X-REPROXY-URL: {}", rig.url("/file60"));
    rig.answer("/r", primary(&["X-Primary: yes", &url]));
    let mut c = rig.client();
    for _ in 0..3 {
        c.send("GET /r HTTP/1.1\r\nHost: h\r\n\r\n");
        c.response().assert_exact(
            &[
                "HTTP/1.0 200 OK",
                "X-Primary: yes",
                "Content-Length: 60",
                "Connection: keep-alive",
                KEEP_ALIVE,
            ],
            FILE60,
        );
    }
    c.assert_open_and_quiet(Duration::from_millis(200));
    assert_eq!(rig.target().requests_per_connection(), [3]);
    assert_eq!(rig.backend().requests_per_connection(), [3]);
}

#[test]
fn a_target_without_length_is_close_delimited() {
    // REPROXY-7: no Content-Length from the target → none to the client, who is closed after
    // the body even though it asked for keep-alive.
    let rig = rig();
    rig.serve(
        "/nolen",
        Action::raw_close(
            b"HTTP/1.0 200 OK\r\nContent-Type: text/x-secondary\r\n\r\nstreamed body",
        ),
    );
    let url = format!("X-REPROXY-URL: {}", rig.url("/nolen"));
    rig.answer("/r", primary(&["X-Primary: yes", &url]));
    let mut c = rig.client();
    c.send("GET /r HTTP/1.1\r\nHost: h\r\n\r\n");
    let bytes = c.read_to_close(Duration::from_secs(3));
    assert_eq!(
        String::from_utf8_lossy(&bytes),
        "HTTP/1.0 200 OK\r\nX-Primary: yes\r\nConnection: close\r\n\r\nstreamed body"
    );
}

#[test]
fn a_target_dying_mid_body_truncates_the_response_and_closes() {
    // REPROXY-7, RP-35: the head (with the promised length) and the bytes that came are sent,
    // then a non-persistent client is closed. ⚠ A keep-alive client is left open by the
    // original, waiting for bytes that never come; we close it too.
    let rig = rig();
    rig.serve(
        "/dies",
        Action::CloseMidBody {
            promised: 60,
            sent: 9,
        },
    );
    let url = format!("X-REPROXY-URL: {}", rig.url("/dies"));
    rig.answer("/r", primary(&["X-Primary: yes", &url]));
    let mut c = rig.client();
    c.send("GET /r HTTP/1.0\r\n\r\n");
    let bytes = c.read_to_close(Duration::from_secs(3));
    assert_eq!(
        String::from_utf8_lossy(&bytes),
        "HTTP/1.0 200 OK\r\nX-Primary: yes\r\nContent-Length: 60\r\nConnection: close\r\n\r\n\
         123456789"
    );

    let mut c = rig.client();
    c.send("GET /r HTTP/1.1\r\nHost: h\r\n\r\n");
    let head = format!(
        "HTTP/1.0 200 OK\r\nX-Primary: yes\r\nContent-Length: 60\r\nConnection: keep-alive\r\n\
         {KEEP_ALIVE}\r\n\r\n123456789"
    );
    if expect_divergence("RP-35") {
        let bytes = c.read_to_close(Duration::from_secs(3));
        assert_eq!(String::from_utf8_lossy(&bytes), head);
    } else {
        let bytes = c.read_for(Duration::from_millis(1000));
        assert_eq!(String::from_utf8_lossy(&bytes), head);
        c.assert_open_and_quiet(Duration::from_millis(300));
    }
}

#[test]
fn a_large_target_body_reaches_a_slow_reader_whole() {
    // REPROXY-11: back-pressure (buffer_size_reproxy_url) must not lose or reorder bytes.
    let rig = rig();
    let body = rig.docroot.read("big.bin").expect("big.bin");
    let len = format!("Content-Length: {}", body.len());
    rig.serve(
        "/big",
        keep("HTTP/1.0 200 OK", &[&len, "Connection: keep-alive"], &body),
    );
    let url = format!("X-REPROXY-URL: {}", rig.url("/big"));
    rig.answer("/r", primary(&[&url]));
    let mut c = rig.client();
    c.send("GET /r HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    std::thread::sleep(Duration::from_millis(300));
    let r = c.response();
    assert_eq!(r.content_length(), Some(body.len()), "{:?}", r.status_line);
    assert!(r.body == body, "body differs ({} bytes)", r.body.len());
    c.send("GET /r HTTP/1.0\r\n\r\n");
    assert!(c.response().body == body, "second body differs");
    assert_eq!(rig.target().requests_per_connection(), [2]);
}
