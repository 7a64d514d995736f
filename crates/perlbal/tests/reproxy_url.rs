//! X-REPROXY-URL end to end (REPROXY-5..7, 9, 12, OBS-22..24): the backend names URLs and the
//! proxy fetches the first that answers acceptably, sending its body under the backend's
//! headers. Exact heads (Date-free) and bodies, checked against the reference too.
mod support;

use std::time::Duration;

use support::backend::refusing_port;
use support::reproxy::{primary, target_ok, ReproxyRig, FILE60};

fn rig() -> ReproxyRig {
    ReproxyRig::start("", "")
}

#[test]
fn the_target_body_goes_out_under_the_backend_headers() {
    // OBS-22, REPROXY-5/7: the target's own Content-Type and Set-Cookie are dropped.
    let rig = rig();
    rig.serve("/file60", target_ok(FILE60));
    let url = format!("X-REPROXY-URL: {}", rig.url("/file60"));
    rig.answer(
        "/r",
        primary(&["Content-Type: text/x-primary", "X-Primary: yes", &url]),
    );
    let mut c = rig.client();
    c.send("GET /r HTTP/1.0\r\nHost: example.com\r\nX-Other: 1\r\n\r\n");
    c.response().assert_exact(
        &[
            "HTTP/1.0 200 OK",
            "Content-Type: text/x-primary",
            "X-Primary: yes",
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
fn a_dead_url_is_skipped_and_all_dead_is_a_503() {
    // REPROXY-6: refused connections move to the next URL; none left → 503 page.
    let rig = rig();
    rig.serve("/file60", target_ok(FILE60));
    let dead = format!("http://127.0.0.1:{}/x", refusing_port());
    let urls = format!("X-REPROXY-URL: {dead} {}", rig.url("/file60"));
    rig.answer("/fail-over", primary(&[&urls]));
    let res = rig.get("/fail-over");
    assert_eq!(res.status(), 200);
    assert_eq!(res.body, FILE60);

    rig.answer("/all-dead", primary(&[&format!("X-REPROXY-URL: {dead}")]));
    let res = rig.get("/all-dead");
    assert_eq!(res.status(), 503, "{}", res.normalized());
}
