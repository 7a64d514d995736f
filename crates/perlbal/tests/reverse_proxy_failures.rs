//! reverse_proxy failure handling against the binary under test: dead, unreachable, resetting,
//! closing and stalling backends (point 4 of the reverse-proxy issue: retry only what is safe
//! to send again; 502/503/504 pages where the original hangs or closes silently; a backend
//! dying mid-body truncates and closes), pipelining and chunked requests (RP-29/30), and bad
//! input (conflicting lengths, malformed chunks, clients that stop mid-body, thousands of idle
//! connections), each answered or closed with nothing leaked.
//!
//! Divergences asserted here and skipped against the reference: RP-10/OBS-16 (dead or
//! unreachable nodes → 503/504 after a bounded wait), RP-31/OBS-17 (close before headers →
//! 502), RP-37 (reset before headers → retried when safe, else 502), RP-35 (truncated body →
//! connection closed), RP-30/OBS-5 (pipelined requests answered in order), RP-29/OBS-7 (chunked
//! request without buffer_uploads → 400 before any backend is contacted), HTTP-16.
mod support;

use std::thread;
use std::time::{Duration, Instant};

use support::backend::{refusing_port, Action, BackendOpts, Blackhole, HELLO_BODY};
use support::configs::MGMT;
use support::http::page;
use support::http::End;
use support::proxy::{eventually, obs_proxy, open_fds, rss_kib, Rig};
use support::{expect_divergence, Client, Kind, Mgmt, Response};

/// A reverse_proxy `proxy` over pool `backends` holding the given `{X_port}` nodes.
fn pool_of(nodes: &[&str], extra: &str) -> String {
    let adds: String = nodes
        .iter()
        .map(|n| format!("  POOL backends ADD 127.0.0.1:{{{n}_port}}\n"))
        .collect();
    format!(
        "{MGMT}CREATE POOL backends\n{adds}CREATE SERVICE proxy\n  SET role = reverse_proxy\n  SET listen = 127.0.0.1:{{proxy_port}}\n  SET pool = backends\n  SET persist_client = on\n  SET persist_backend = on\n{extra}ENABLE proxy\n"
    )
}

/// A generated error page in the original's style (HTTP-11) with one of `codes`.
#[track_caller]
fn assert_error_page(r: &Response, codes: &[u16]) {
    assert!(
        codes.contains(&r.status()),
        "expected one of {codes:?}: {r:?}"
    );
    assert!(r.status_line.starts_with("HTTP/1.0 "), "{r:?}");
    assert_eq!(r.header("Content-Type"), Some("text/html"), "{r:?}");
    assert_eq!(r.header("Server"), Some("Perlbal"), "{r:?}");
    assert_eq!(r.header("Connection"), Some("close"), "{r:?}");
    assert_eq!(r.content_length(), Some(r.body.len()), "{r:?}");
    assert!(
        r.body_text().starts_with(&format!("<h1>{}", r.status())),
        "{r:?}"
    );
}

/// Waits up to `within` for an error page, then for the close.
#[track_caller]
fn expect_error_page(c: &mut Client, codes: &[u16], within: Duration) -> Response {
    let r = c
        .try_response(false, within)
        .unwrap_or_else(|e| panic!("no error page within {within:?}: {e}"));
    assert_error_page(&r, codes);
    c.read_to_close(Duration::from_secs(2));
    r
}

/// Asserts no byte arrives for `during` (the original's silent hang or close).
#[track_caller]
fn assert_no_reply(c: &mut Client, during: Duration) {
    let bytes = c.read_for(during);
    assert!(
        bytes.is_empty(),
        "unexpected reply: {:?}",
        String::from_utf8_lossy(&bytes)
    );
}

/// Asserts the proxy tried `node` (`nodes` counts at least one connect attempt, MGMT-13).
#[track_caller]
fn assert_attempted(rig: &Rig, node: &str) {
    let lines = rig.mgmt().listing(&format!("nodes {node}"));
    let attempts = lines
        .iter()
        .find_map(|l| l.strip_prefix(&format!("{node} attempts ")))
        .and_then(|n| n.parse::<u64>().ok());
    assert!(
        attempts.is_some_and(|n| n >= 1),
        "no connect attempt to {node}: {lines:?}"
    );
}

/// Asserts the server's output names `node` within 2 s ("logs why").
#[track_caller]
fn assert_logged(rig: &Rig, node: &str) {
    let named = eventually(Duration::from_secs(2), || {
        format!("{}{}", rig.server.stdout(), rig.server.stderr()).contains(node)
    });
    assert!(
        named,
        "no log line names {node}:\n{}",
        rig.server.describe()
    );
}

fn dead_rig(extra: &str) -> (Rig, String) {
    let port = refusing_port();
    let rig = Rig::launch(Kind::UnderTest, &pool_of(&["dead"], extra))
        .no_backends()
        .var("dead_port", &port.to_string())
        .start();
    (rig, format!("127.0.0.1:{port}"))
}

#[test]
fn refused_connects_get_a_503_page_before_idle_timeout() {
    // RP-10/OBS-16: the original queues the client until idle_timeout (30 s) and closes it
    // without a byte.
    let (rig, node) = dead_rig("");
    let mut c = rig.client();
    c.send("GET /x HTTP/1.0\r\n\r\n");
    let t = Instant::now();
    if expect_divergence("RP-10") {
        expect_error_page(&mut c, &[503, 504], Duration::from_secs(15));
        assert!(t.elapsed() < Duration::from_secs(15), "{:?}", t.elapsed());
        assert_logged(&rig, &node);
    } else {
        assert_no_reply(&mut c, Duration::from_millis(1500));
        let show = rig.mgmt().listing("show service proxy");
        assert!(show.contains(&"  pend clients: 1".to_string()), "{show:?}");
    }
    assert_attempted(&rig, &node);
}

#[test]
fn unreachable_node_gets_a_503_or_504_page_before_idle_timeout() {
    // RP-4, RP-10: connects that never complete.
    let hole = Blackhole::start();
    assert!(
        hole.swallows(Duration::from_millis(300)),
        "blackhole port accepts connects"
    );
    let rig = Rig::launch(Kind::UnderTest, &pool_of(&["hole"], ""))
        .no_backends()
        .var("hole_port", &hole.port().to_string())
        .start();
    let node = format!("127.0.0.1:{}", hole.port());
    let mut c = rig.client();
    c.send("GET /x HTTP/1.0\r\n\r\n");
    if expect_divergence("RP-10") {
        expect_error_page(&mut c, &[503, 504], Duration::from_secs(15));
        assert_logged(&rig, &node);
    } else {
        assert_no_reply(&mut c, Duration::from_millis(1500));
        let pending = rig.mgmt().listing("pending");
        assert_eq!(pending.len(), 1, "{pending:?}");
        assert!(
            pending[0].starts_with(&format!("proxy {node} ")),
            "{pending:?}"
        );
    }
    assert_attempted(&rig, &node);
}

#[test]
fn connects_that_time_out_are_retried_on_another_node() {
    // Point 4, RP-4: a request that never reached a backend is safe to send elsewhere. The
    // original leaves it on the unreachable node's pending connect (closed after 5-15 s).
    let hole = Blackhole::start();
    let template = pool_of(
        &["hole", "backend"],
        &format!("{RETRIES}  SET idle_timeout = 10\n"),
    );
    let rig = Rig::launch(Kind::UnderTest, &template)
        .var("hole_port", &hole.port().to_string())
        .start();
    if !expect_divergence("RP-10") {
        return;
    }
    for _ in 0..4 {
        let mut c = rig.client();
        c.send("GET /hello HTTP/1.0\r\n\r\n");
        let r = c
            .try_response(false, Duration::from_secs(10))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(r.body, HELLO_BODY);
    }
}

#[test]
fn no_node_at_all_gets_a_503_page() {
    // RP-10, LOG-3: an empty pool, or no pool, leaves the original's clients waiting for
    // idle_timeout ("No backend IP for service …" / "No pool! Can't spawn backends."). A
    // service with a node in the same process proxies normally.
    let template = format!(
        "{}CREATE POOL empty\nCREATE SERVICE nodes0\n  SET role = reverse_proxy\n  SET listen = 127.0.0.1:{{nodes0_port}}\n  SET pool = empty\nENABLE nodes0\nCREATE SERVICE nopool\n  SET role = reverse_proxy\n  SET listen = 127.0.0.1:{{nopool_port}}\nENABLE nopool\n",
        obs_proxy("")
    );
    let rig = Rig::under_test(&template);
    assert_eq!(rig.get("/hello").body, HELLO_BODY);
    for svc in ["nodes0", "nopool"] {
        let mut c = Client::connect(rig.server.port(svc));
        c.send("GET /x HTTP/1.0\r\n\r\n");
        if expect_divergence("RP-10") {
            expect_error_page(&mut c, &[503], Duration::from_secs(15));
        } else {
            assert_no_reply(&mut c, Duration::from_millis(1000));
        }
    }
}

#[test]
fn a_dead_node_beside_a_live_one_does_not_fail_requests() {
    // RP-3, RP-10: refused connects pause that node; the request is served by the live one.
    let port = refusing_port();
    let rig = Rig::launch(Kind::UnderTest, &pool_of(&["dead", "backend"], ""))
        .var("dead_port", &port.to_string())
        .start();
    for _ in 0..5 {
        let mut c = rig.client();
        c.send("GET /hello HTTP/1.0\r\n\r\n");
        let r = c
            .try_response(false, Duration::from_secs(10))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(r.body, HELLO_BODY);
    }
    assert_eq!(rig.backend().request_count(), 5);
}

#[test]
fn backend_closing_before_headers_gets_a_502_page() {
    // RP-31/OBS-17: the original leaves the client waiting until idle_timeout.
    let rig = Rig::under_test(&obs_proxy(""));
    let mut c = rig.client();
    c.send("GET /close-before-headers HTTP/1.0\r\n\r\n");
    if expect_divergence("RP-31") {
        expect_error_page(&mut c, &[502], Duration::from_secs(5));
        assert_logged(&rig, &rig.backend().node());
    } else {
        assert_no_reply(&mut c, Duration::from_millis(1500));
    }
    assert_eq!(rig.backend().request_count(), 1);
}

#[test]
fn backend_reset_before_headers_gets_a_502_page_without_retries() {
    // RP-37: no response at all from the original.
    let rig = Rig::under_test(&obs_proxy(""));
    let mut c = rig.client();
    c.send("GET /reset HTTP/1.0\r\n\r\n");
    if expect_divergence("RP-37") {
        expect_error_page(&mut c, &[502], Duration::from_secs(5));
    } else {
        // Not even closed: the client is left in `draining_res` until idle_timeout.
        assert_no_reply(&mut c, Duration::from_millis(1500));
        assert_eq!(c.end(), End::Open);
    }
    assert_eq!(
        rig.backend().request_count(),
        1,
        "not retried without enable_error_retries"
    );
}

const RETRIES: &str = "  SET enable_error_retries = on\n  SET error_retry_schedule = 0,0,0\n";

#[test]
fn a_kept_alive_connection_closed_under_a_get_is_replaced_without_error_retries() {
    // RP-31: the backend keeps the first connection, then closes it on the next request, as
    // one whose keep-alive timeout struck at that moment would. Without enable_error_retries
    // the GET still goes to a fresh connection; the original leaves the client waiting.
    let rig = Rig::under_test(&obs_proxy(""));
    rig.backend()
        .script([Action::Hello, Action::CloseBeforeHeaders, Action::Hello]);
    let mut c = rig.client();
    c.send("GET /hello HTTP/1.1\r\nHost: t\r\n\r\n");
    let first = c.response();
    assert_eq!(first.body, HELLO_BODY);
    c.send("GET /hello HTTP/1.1\r\nHost: t\r\n\r\n");
    if expect_divergence("RP-31") {
        let second = c
            .try_response(false, Duration::from_secs(5))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(second.status(), 200, "{second:?}");
        assert_eq!(second.body, HELLO_BODY);
        assert_eq!(rig.backend().request_count(), 3);
        assert_eq!(rig.backend().requests_per_connection(), [2, 1]);
    } else {
        assert_no_reply(&mut c, Duration::from_millis(1500));
    }
}

/// Rounds of [`a_post_after_the_backend_closed_its_idle_connection_goes_to_a_fresh_one`]. The
/// close is usually known to the event loop already by the time the POST arrives, so this pins
/// the behaviour more than the race; the kernel probe itself has a unit test in `sys`.
const CLOSED_IDLE_ROUNDS: usize = 40;

#[test]
fn a_post_after_the_backend_closed_its_idle_connection_goes_to_a_fresh_one() {
    // RP-7: the backend answers with keep-alive, then closes the idle connection. A POST sent
    // right after must not land on it (it would not be sent again): the proxy asks the kernel
    // whether a reused connection is still open before sending such a request.
    let rig = Rig::under_test(&obs_proxy(""));
    let mut c = rig.client();
    for round in 0..CLOSED_IDLE_ROUNDS {
        rig.backend().script([Action::raw_close(
            "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 5\r\n\r\nhello",
        )]);
        c.send("GET /hello HTTP/1.1\r\nHost: t\r\n\r\n");
        assert_eq!(c.response().body, b"hello", "round {round}");
        assert!(
            rig.backend().wait_open(0, Duration::from_secs(5)),
            "round {round}: the backend closed its side"
        );
        c.send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nabc");
        let r = c
            .try_response(false, Duration::from_secs(5))
            .unwrap_or_else(|e| panic!("round {round}: {e}"));
        assert_eq!(r.status(), 200, "round {round}: {r:?}");
    }
    assert_eq!(
        rig.backend().request_count(),
        2 * CLOSED_IDLE_ROUNDS,
        "every POST was sent once"
    );
}

#[test]
fn a_post_is_not_replayed_on_a_fresh_connection_after_a_reused_one_closed() {
    // Point 4: a request with a body that may have been acted on is not sent twice without
    // enable_error_retries, even when the connection that failed was a reused one.
    let rig = Rig::under_test(&obs_proxy(""));
    rig.backend()
        .script([Action::Hello, Action::CloseBeforeHeaders]);
    let mut c = rig.client();
    c.send("GET /hello HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_eq!(c.response().body, HELLO_BODY);
    c.send("POST /form HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nabc");
    if expect_divergence("RP-31") {
        expect_error_page(&mut c, &[502], Duration::from_secs(5));
    } else {
        assert_no_reply(&mut c, Duration::from_millis(1500));
    }
    assert_eq!(rig.backend().request_count(), 2, "the POST was sent once");
}

#[test]
fn safe_requests_are_retried_after_a_reset_before_headers() {
    // Point 4: a GET without body that was reset before any response byte is sent again.
    let rig = Rig::under_test(&obs_proxy(RETRIES));
    rig.backend().script([Action::Reset]);
    let mut c = rig.client();
    c.send("GET /hello HTTP/1.0\r\n\r\n");
    if expect_divergence("RP-37") {
        let r = c
            .try_response(false, Duration::from_secs(5))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(r.body, HELLO_BODY);
        assert_eq!(rig.backend().request_count(), 2);
    } else {
        assert_no_reply(&mut c, Duration::from_millis(1500));
    }
}

/// Enough retries that a pool with one resetting node cannot run out of them by chance. Nodes
/// are drawn at random per new connection; after a reset the node is paused for a second, and a
/// retry whose spawn pass draws the paused node waits out the pause and draws again, so one
/// request can meet the resetting node several times (each time about a quarter as likely as
/// the time before). Three retries run out about once in sixty requests that start on the
/// resetting node; ten, about once in a million.
const RETRIES_PAST_CHANCE: &str =
    "  SET enable_error_retries = on\n  SET error_retry_schedule = 0,0,0,0,0,0,0,0,0,0\n";

/// How many requests the resetting node must have reset in
/// [`a_resetting_node_is_retried_on_another_node`], and the most requests sent to get there.
const RESETS_WANTED: usize = 2;
const MAX_REQUESTS: usize = 40;

#[test]
fn a_resetting_node_is_retried_on_another_node() {
    // Point 4: with one node resetting every request, GETs still succeed on the other. The
    // good node closes after every answer, so each request draws a node afresh (an idle
    // connection to the good node would serve every request after the first without a draw);
    // requests go on until the resetting node has reset RESETS_WANTED of them.
    let rig = Rig::launch(
        Kind::UnderTest,
        &pool_of(&["bad", "backend"], RETRIES_PAST_CHANCE),
    )
    .backend("backend", BackendOpts::no_keep_alive())
    .backend("bad", BackendOpts::default())
    .start();
    rig.named("bad").set_always(Some(Action::Reset));
    if !expect_divergence("RP-37") {
        return;
    }
    let mut sent = 0;
    while rig.named("bad").request_count() < RESETS_WANTED {
        assert!(
            sent < MAX_REQUESTS,
            "the resetting node got {} of {sent} requests",
            rig.named("bad").request_count()
        );
        let mut c = rig.client();
        c.send("GET /hello HTTP/1.0\r\n\r\n");
        // Each retry after a draw of the paused node waits out its one-second pause.
        let r = c
            .try_response(false, Duration::from_secs(20))
            .unwrap_or_else(|e| panic!("request {sent}: {e}"));
        assert_eq!(r.body, HELLO_BODY, "request {sent}: {r:?}");
        sent += 1;
    }
    assert_eq!(
        rig.backend().request_count(),
        sent,
        "every request answered once, by the good node"
    );
}

#[test]
fn unbuffered_bodies_are_not_replayed() {
    // Point 4: a POST whose body was streamed to the backend is not sent again: 502.
    let rig = Rig::under_test(&obs_proxy(&format!(
        "{RETRIES}  SET buffer_backend_connect = 0\n"
    )));
    rig.backend().script([Action::Reset]);
    let body = vec![b'p'; 64 * 1024];
    let mut c = rig.client();
    c.send(format!(
        "POST /upload HTTP/1.0\r\nContent-Length: {}\r\n\r\n",
        body.len()
    ));
    c.send(&body);
    if expect_divergence("RP-37") {
        expect_error_page(&mut c, &[502], Duration::from_secs(5));
    } else {
        assert_no_reply(&mut c, Duration::from_millis(1500));
    }
    assert_eq!(rig.backend().request_count(), 1);
}

#[test]
fn nothing_is_retried_once_response_bytes_were_sent() {
    // Point 4, RP-35, OBS-17: headers + 9 of 100 bytes, then the backend closes.
    let rig = Rig::under_test(&obs_proxy(RETRIES));
    let mut c = rig.client();
    c.send("GET /close-mid-body HTTP/1.0\r\n\r\n");
    let bytes = c.read_to_close(Duration::from_secs(5));
    let text = String::from_utf8_lossy(&bytes);
    assert!(text.starts_with("HTTP/1.0 200 OK\r\n"), "{text:?}");
    assert!(text.contains("Content-Length: 100\r\n"), "{text:?}");
    assert!(text.ends_with("\r\n\r\n123456789"), "{text:?}");
    assert_eq!(rig.backend().request_count(), 1);
}

#[test]
fn a_backend_dying_mid_body_ends_a_keep_alive_client_connection() {
    // RP-35: the original keeps the client connection open, so the client hangs.
    let rig = Rig::under_test(&obs_proxy(""));
    let mut c = rig.client();
    c.send("GET /close-mid-body HTTP/1.1\r\nHost: a\r\n\r\n");
    if expect_divergence("RP-35") {
        let bytes = c.read_to_close(Duration::from_secs(5));
        let text = String::from_utf8_lossy(&bytes);
        assert!(text.ends_with("\r\n\r\n123456789"), "{text:?}");
    } else {
        let bytes = c.read_for(Duration::from_millis(1500));
        assert!(String::from_utf8_lossy(&bytes).ends_with("123456789"));
        c.assert_open_and_quiet(Duration::from_millis(500));
    }
}

#[test]
fn pipelined_requests_are_answered_in_order() {
    // RP-30/OBS-5: the original answers `400 Can't pipeline to HTTP/1.0` and closes.
    let rig = Rig::under_test(&obs_proxy(""));
    let mut c = rig.client();
    c.send("GET /echo HTTP/1.1\r\nHost: foo\r\n\r\nGET /hello HTTP/1.1\r\nHost: foo\r\nConnection: close\r\n\r\n");
    if expect_divergence("RP-30") {
        let first = c.response();
        assert!(
            first.body_text().starts_with("GET /echo HTTP/1.0\r\n"),
            "{first:?}"
        );
        assert!(first.keeps_alive());
        let second = c.response();
        assert_eq!(second.body, HELLO_BODY);
        assert_eq!(second.header("Connection"), Some("close"));
        c.read_to_close(Duration::from_secs(3));
        assert_eq!(rig.backend().request_count(), 2);
    } else {
        let r = c.response();
        assert_eq!(r.status_line, "HTTP/1.0 400 Bad request");
        assert_eq!(
            r.body_text(),
            page("400 - Bad request", "Can't pipeline to HTTP/1.0")
        );
        assert_eq!(r.header("Connection"), Some("keep-alive"), "HTTP-15 quirk");
        c.read_to_close(Duration::from_secs(3));
    }
}

#[test]
fn chunked_request_without_buffer_uploads_is_refused_before_any_backend() {
    // RP-29/OBS-7: the original sends the head (with Transfer-Encoding) to a backend, then
    // answers the first body bytes with `400 Can't pipeline to HTTP/1.0`.
    let rig = Rig::under_test(&obs_proxy(""));
    let mut c = rig.client();
    c.send("POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n");
    let reached = rig
        .backend()
        .wait_until(Duration::from_secs(2), |n| n.open > 0);
    thread::sleep(Duration::from_millis(200));
    let _ = c.try_send("5\r\nhello\r\n0\r\n\r\n");
    let r = c.response();
    assert_eq!(r.status(), 400, "{r:?}");
    c.read_to_close(Duration::from_secs(3));
    if expect_divergence("RP-29") {
        assert!(!reached, "a backend was contacted");
        assert_eq!(rig.backend().request_count(), 0);
    } else {
        assert_eq!(
            r.body_text(),
            page("400 - Bad request", "Can't pipeline to HTTP/1.0")
        );
        assert!(rig.backend().wait_for_requests(1, Duration::from_secs(2)));
        let got = rig.backend().last_request().expect("head forwarded");
        assert_eq!(got.header("Transfer-Encoding"), Some("chunked"));
        assert!(!got.body_complete);
    }
}

#[test]
fn negative_content_length_is_refused() {
    // OBS-6, HTTP-18: 400 page, closed, nothing sent to a backend.
    let rig = Rig::under_test(&obs_proxy(""));
    let mut c = rig.client();
    c.send("POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: -5\r\n\r\n");
    let r = c.response();
    assert_eq!(r.status_line, "HTTP/1.0 400 Bad request");
    assert_eq!(
        r.body_text(),
        page("400 - Bad request", "Invalid request: Content-Length < 0")
    );
    c.read_to_close(Duration::from_secs(3));
    assert_eq!(rig.backend().request_count(), 0);
}

#[test]
fn a_client_that_stops_mid_body_frees_its_backend() {
    // RP-38: the streamed request's backend connection is closed, not reused.
    let rig = Rig::under_test(&obs_proxy("  SET buffer_backend_connect = 0\n"));
    let mut c = rig.client();
    c.send("POST /upload HTTP/1.0\r\nContent-Length: 1000\r\n\r\n");
    c.send([b'x'; 100]);
    assert!(rig
        .backend()
        .wait_until(Duration::from_secs(3), |n| n.open == 1));
    thread::sleep(Duration::from_millis(200));
    drop(c);
    assert!(
        rig.backend().wait_open(0, Duration::from_secs(3)),
        "backend connection kept"
    );
    let got = rig.backend().last_request().expect("the partial request");
    assert!(!got.body_complete);
    assert_eq!(got.body_len, 100);
    assert_eq!(rig.get("/hello").status(), 200);
}

/// Requests the proxy must answer or close, each within [`BAD_INPUT_BOUND`]; `true` marks a
/// client that disconnects (half-closes) right after sending, `false` one that goes quiet.
const BAD_INPUT: &[(&str, bool)] = &[
    ("POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", false),
    ("POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\nhello", false),
    ("POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 7\r\n\r\nhello", false),
    ("POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999999\r\n\r\nhello", false),
    ("POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 5abc\r\n\r\nhello", false),
    ("POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n", false),
    ("POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n-5\r\nhello\r\n0\r\n\r\n", false),
    ("POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffffffffff\r\nhello\r\n", false),
    ("POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloXX0\r\n\r\n", false),
    ("POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\nhello\n0\n\n", false),
    ("POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: Chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", false),
    ("POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", false),
    // Clients that stop mid-body: quiet, or gone.
    ("POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\nonly ten b", false),
    ("POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\nonly ten b", true),
    ("POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 400000\r\n\r\nspooled, then quiet", false),
    ("POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 400000\r\n\r\nspooled, then gone", true),
    ("POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n100\r\nshort", false),
    ("POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n100\r\nshort", true),
];

/// The number of idle (`bored`) backend connections of `proxy` if every proxy-side socket is
/// an idle backend connection (no client, no busy backend), else `None` (MGMT-14).
fn idle_backends(m: &mut Mgmt) -> Option<usize> {
    let mut idle = 0;
    for line in m.listing("states proxy") {
        let words: Vec<&str> = line.split(' ').collect();
        match words.as_slice() {
            ["Perlbal::BackendHTTP", "bored", n] => idle += n.parse::<usize>().ok()?,
            _ => return None,
        }
    }
    Some(idle)
}

/// The original sweeps idle clients every 5 s, and a socket class is only acted on from its
/// second sweep on, so with `idle_timeout = 2` it closes them about 10 s after start.
const BAD_INPUT_BOUND: Duration = Duration::from_secs(12);

/// Sends `request` (then half-closes if `leave`) and waits for a complete response or the
/// close. `Ok(status line)` or `Ok("<closed>")`; `Err` if neither came within the bound.
fn answered_or_closed(port: u16, request: &str, leave: bool) -> Result<String, String> {
    let mut c = Client::connect(port);
    let _ = c.try_send(request);
    if leave {
        c.shutdown_write();
    }
    let t = Instant::now();
    match c.try_response(false, BAD_INPUT_BOUND) {
        Ok(r) => Ok(r.status_line),
        Err(_) if c.end() != End::Open => Ok("<closed>".to_string()),
        Err(e) => Err(format!(
            "{request:?}: neither answered nor closed after {:?}: {e}",
            t.elapsed()
        )),
    }
}

#[test]
fn bad_input_is_answered_or_closed_and_nothing_leaks() {
    // HTTP-16/18, RP-27/28/38, SVC-7: every request answered or closed; afterwards no client
    // socket, no spool file and no extra descriptors remain, and the proxy still serves.
    let extra =
        "  SET idle_timeout = 2\n  SET buffer_uploads = on\n  SET buffer_uploads_path = {spool}\n";
    let rig = Rig::under_test(&obs_proxy(extra));
    assert_eq!(rig.get("/hello").status(), 200);
    let pid = rig.server.pid();
    let fds_before = open_fds(pid);
    let port = rig.port();
    let handles: Vec<_> = BAD_INPUT
        .iter()
        .map(|&(req, leave)| thread::spawn(move || answered_or_closed(port, req, leave)))
        .collect();
    let results: Vec<Result<String, String>> = handles
        .into_iter()
        .map(|h| h.join().expect("client thread"))
        .collect();
    for ((req, _), res) in BAD_INPUT.iter().zip(&results) {
        eprintln!(
            "{:?} -> {res:?}",
            req.split("\r\n\r\n").next().unwrap_or("")
        );
    }
    let failures: Vec<&String> = results.iter().filter_map(|r| r.as_ref().err()).collect();
    assert!(failures.is_empty(), "{failures:#?}");
    assert_eq!(rig.get("/hello").status(), 200, "still serving");
    let mut m = rig.mgmt();
    let no_clients = eventually(Duration::from_secs(8), || {
        !m.listing("socks summary")
            .iter()
            .any(|l| l.contains("ClientProxy"))
    });
    assert!(no_clients, "{:?}", m.listing("socks"));
    if expect_divergence("RP-27") {
        // Only idle backend connections remain; no spool file, no extra descriptor. (The
        // original leaks the spool file and descriptor of every buffered upload it closes
        // itself, RP-27, and may leave the backend of a `Can't pipeline` refusal in
        // `wait_res` for good, RP-29.)
        let idle_only = eventually(Duration::from_secs(3), || {
            idle_backends(&mut m) == Some(rig.backend().open_connections())
        });
        assert!(
            idle_only,
            "busy backend sockets left: {:?} / {:?}",
            m.listing("states proxy"),
            rig.backend().counters()
        );
        let spool_clean = eventually(Duration::from_secs(3), || rig.spool_files().is_empty());
        assert!(spool_clean, "spool files left: {:?}", rig.spool_files());
        let fds_settled = eventually(Duration::from_secs(3), || open_fds(pid) <= fds_before + 2);
        assert!(fds_settled, "fds {fds_before} -> {}", open_fds(pid));
    } else {
        eprintln!(
            "reference afterwards: {:?}, spool files {:?}, fds {fds_before} -> {}",
            m.listing("states proxy"),
            rig.spool_files(),
            open_fds(pid)
        );
    }
}

/// Idle client connections held open at once, as the issue asks. Heavy: the original needs
/// about 8 s to accept them on 2 cores (ours about 2 s, bound by this test's own connects).
const IDLE_CONNECTIONS: usize = 10_000;

#[test]
fn heavy_ten_thousand_idle_connections_stay_cheap_and_the_proxy_responsive() {
    // Bad input: a flood of idle connections. The server keeps answering promptly, its memory
    // stays bounded, and every descriptor is released once the clients leave.
    let rig = Rig::under_test(&obs_proxy(""));
    assert_eq!(rig.get("/hello").status(), 200);
    let pid = rig.server.pid();
    let (rss_before, fds_before) = (rss_kib(pid), open_fds(pid));
    let t = Instant::now();
    let idle: Vec<Client> = (0..IDLE_CONNECTIONS).map(|_| rig.client()).collect();
    // A few descriptors of the baseline (an idle backend connection) may close meanwhile.
    assert!(
        eventually(Duration::from_secs(20), || open_fds(pid) + 4
            >= fds_before + IDLE_CONNECTIONS),
        "server holds {} fds",
        open_fds(pid)
    );
    eprintln!(
        "{IDLE_CONNECTIONS} idle connections accepted in {:?}",
        t.elapsed()
    );
    let t = Instant::now();
    assert_eq!(rig.get("/hello").body, HELLO_BODY);
    assert!(
        t.elapsed() < Duration::from_secs(2),
        "slow under idle load: {:?}",
        t.elapsed()
    );
    let grown = rss_kib(pid).saturating_sub(rss_before);
    eprintln!("RSS grew {grown} KiB for {IDLE_CONNECTIONS} idle connections");
    assert!(
        grown < (IDLE_CONNECTIONS as u64) * 32,
        "RSS grew {grown} KiB for {IDLE_CONNECTIONS} idle connections"
    );
    drop(idle);
    assert!(
        eventually(Duration::from_secs(10), || open_fds(pid) <= fds_before + 1),
        "fds {} after the clients left (was {fds_before})",
        open_fds(pid)
    );
    assert_eq!(rig.get("/hello").status(), 200);
}

#[test]
fn a_large_body_cut_mid_way_arrives_intact_up_to_the_cut() {
    // RP-35 on the path that moves large bodies inside the kernel (splice): the head, then
    // exactly the bytes the backend sent, in order, then the close.
    let rig = Rig::under_test(&obs_proxy(""));
    let (promised, sent) = (4 << 20, 700_001);
    let mut c = rig.client();
    c.send(format!(
        "GET /close-mid-body/{promised}/{sent} HTTP/1.1\r\nHost: a\r\n\r\n"
    ));
    let bytes = c.read_to_close(Duration::from_secs(10));
    let at = bytes
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a response head")
        + 4;
    let head = String::from_utf8_lossy(&bytes[..at]);
    assert!(head.starts_with("HTTP/1.0 200 OK\r\n"), "{head}");
    assert!(
        head.contains(&format!("Content-Length: {promised}\r\n")),
        "{head}"
    );
    let body = &bytes[at..];
    assert_eq!(body.len(), sent, "every byte sent, nothing more");
    let expected: Vec<u8> = (0..sent).map(|i| b'1' + (i % 9) as u8).collect();
    assert!(body == expected.as_slice(), "bytes out of order");
}
