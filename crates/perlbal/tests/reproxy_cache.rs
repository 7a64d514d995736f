//! The reproxy URL cache end to end (REPROXY-13..15, OBS-27): with `reproxy_cache_maxsize`,
//! a backend's `X-REPROXY-URL` + `X-REPROXY-CACHE-FOR` answer is remembered per Host and URI,
//! and repeats are served from the cached URLs without asking the backend — a synthetic head,
//! or a 304 for a matching `If-Modified-Since` — until the entry expires. Checked against the
//! reference too.
mod support;

use std::time::Duration;

use support::reproxy::{keep, target_ok, ReproxyRig, FILE60};

const LAST_MODIFIED: &str = "Last-Modified: Thu, 02 Jan 2020 03:04:05 GMT";

fn rig(maxsize: u32) -> ReproxyRig {
    ReproxyRig::start("", &format!("  SET reproxy_cache_maxsize = {maxsize}\n"))
}

/// The OBS-27 backend reply on `path`: reproxy to the target's `/file60`, cacheable for
/// `seconds` with Content-Type, X-Primary and Last-Modified.
fn cacheable(rig: &ReproxyRig, path: &str, seconds: u32) {
    rig.serve("/file60", target_ok(FILE60));
    let url = format!("X-REPROXY-URL: {}", rig.url("/file60"));
    let cache_for = format!("X-REPROXY-CACHE-FOR: {seconds}; Content-Type X-Primary Last-Modified");
    rig.answer(
        path,
        keep(
            "HTTP/1.0 200 OK",
            &[
                "Content-Type: text/x-primary",
                "X-Primary: yes",
                "Set-Cookie: a=1",
                LAST_MODIFIED,
                &url,
                &cache_for,
                "Content-Length: 0",
                "Connection: keep-alive",
            ],
            b"",
        ),
    );
}

fn get(rig: &ReproxyRig, path: &str, extra: &str) -> support::Response {
    rig.fetch(&format!(
        "GET {path} HTTP/1.0\r\nHost: example.com\r\n{extra}\r\n"
    ))
}

#[test]
fn obs_27_repeats_are_served_from_the_cache() {
    let rig = rig(10);
    cacheable(&rig, "/c", 30);
    // First request: the normal reproxy reply, Set-Cookie included, no CACHE-FOR leaked.
    get(&rig, "/c", "").assert_exact(
        &[
            "HTTP/1.0 200 OK",
            "Content-Type: text/x-primary",
            "X-Primary: yes",
            "Set-Cookie: a=1",
            LAST_MODIFIED,
            "Content-Length: 60",
            "Connection: close",
        ],
        FILE60,
    );
    let asked = rig.backend().request_count();
    for _ in 0..2 {
        let res = get(&rig, "/c", "");
        assert_eq!(res.status(), 200);
        assert_eq!(res.body, FILE60);
        assert!(res.header("Date").is_some(), "{}", res.normalized());
        assert_eq!(res.header("Content-Type"), Some("text/x-primary"));
        assert_eq!(res.header("X-Primary"), Some("yes"));
        assert_eq!(res.header("Set-Cookie"), None, "not in the cached list");
        assert_eq!(res.header("Content-Length"), Some("60"));
        assert_eq!(res.header("Connection"), Some("close"));
    }
    assert_eq!(
        rig.backend().request_count(),
        asked,
        "backend not contacted"
    );
    let show = rig.listing("show service proxy");
    for line in [
        "    cache size: 1/10 (10.00%)",
        "    cache hits: 2",
        "cache hit rate: 66.67%",
    ] {
        assert!(show.iter().any(|l| l == line), "{line:?} in {show:#?}");
    }
}

#[test]
fn a_matching_if_modified_since_gets_a_304() {
    let rig = rig(10);
    cacheable(&rig, "/c", 30);
    assert_eq!(get(&rig, "/c", "").status(), 200);
    let ims = "If-Modified-Since: Thu, 02 Jan 2020 03:04:05 GMT; length=60\r\n";
    get(&rig, "/c", ims).assert_exact(
        &[
            "HTTP/1.0 304 Not Modified",
            "Content-Length: 0",
            "Connection: close",
        ],
        b"",
    );
}

#[test]
fn the_key_is_host_and_uri() {
    let rig = rig(10);
    cacheable(&rig, "/c", 30);
    assert_eq!(get(&rig, "/c", "").status(), 200);
    let asked = rig.backend().request_count();
    let other_host = rig.fetch("GET /c HTTP/1.0\r\nHost: other.example\r\n\r\n");
    assert_eq!(other_host.status(), 200);
    assert_eq!(
        rig.backend().request_count(),
        asked + 1,
        "a miss asks the backend"
    );
}

#[test]
fn expired_entries_go_back_to_the_backend() {
    let rig = rig(10);
    cacheable(&rig, "/c", 1);
    assert_eq!(get(&rig, "/c", "").status(), 200);
    std::thread::sleep(Duration::from_millis(2100));
    let asked = rig.backend().request_count();
    assert_eq!(get(&rig, "/c", "").body, FILE60);
    assert_eq!(rig.backend().request_count(), asked + 1);
}

#[test]
fn without_reproxy_cache_maxsize_nothing_is_cached() {
    let rig = rig(0);
    cacheable(&rig, "/c", 30);
    for _ in 0..2 {
        assert_eq!(get(&rig, "/c", "").body, FILE60);
    }
    assert_eq!(rig.backend().request_count(), 2);
    let show = rig.listing("show service proxy");
    assert!(!show.iter().any(|l| l.contains("cache")), "{show:#?}");
}

#[test]
fn the_cache_can_be_turned_off_at_run_time() {
    let rig = rig(10);
    cacheable(&rig, "/c", 30);
    assert_eq!(get(&rig, "/c", "").status(), 200);
    let mut mgmt = rig.rig.mgmt();
    assert_eq!(mgmt.command("SET proxy.reproxy_cache_maxsize = 0"), ["OK"]);
    let asked = rig.backend().request_count();
    assert_eq!(get(&rig, "/c", "").body, FILE60);
    assert_eq!(rig.backend().request_count(), asked + 1);
}
