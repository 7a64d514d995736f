//! Differential web_server tests: the same bytes to the reference and to ours on the same config
//! and docroot, normalised replies compared (WS-*, OBS-2/3/28..37/49, HTTP-1..14). Documented
//! divergences (WS-3/OBS-48, WS-10, WS-16, WS-17) assert the reference's quirk and our fix.
mod support;

use support::configs::{plain_web, web, web_with, MGMT};
use support::diff::Pair;
use support::docroot::DATA_TXT;
use support::{expect_divergence, Docroot};

const GETS: &[&str] = &[
    "GET /data.txt HTTP/1.0\r\n\r\n",
    "GET /data.txt HTTP/1.1\r\nHost: a\r\n\r\n",
    "GET /data.txt HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
    "GET /data.txt HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
    "HEAD /data.txt HTTP/1.0\r\n\r\n",
    "HEAD /sub/ HTTP/1.1\r\nHost: a\r\n\r\n",
    "GET /empty.txt HTTP/1.0\r\n\r\n",
    "GET /missing HTTP/1.0\r\n\r\n",
    "GET /missing HTTP/1.1\r\nHost: a\r\n\r\n",
    "GET /sub HTTP/1.0\r\n\r\n",
    "GET /sub/ HTTP/1.0\r\n\r\n",
    "GET /idx HTTP/1.0\r\n\r\n",
    "GET /idx/inner/.. HTTP/1.0\r\n\r\n",
    "GET /css HTTP/1.0\r\n\r\n",
    "GET /css/ HTTP/1.1\r\nHost: a\r\n\r\n",
    "GET /css?x=1 HTTP/1.0\r\n\r\n",
    "GET / HTTP/1.0\r\n\r\n",
    "GET /idx/inner HTTP/1.0\r\n\r\n",
    "GET /../etc/passwd HTTP/1.0\r\n\r\n",
    "GET /sub/../data.txt HTTP/1.0\r\n\r\n",
    "GET /%2e%2e/etc/passwd HTTP/1.0\r\n\r\n",
    "GET nohost HTTP/1.0\r\n\r\n",
    "GET /data%2etxt HTTP/1.0\r\n\r\n",
    "GET //data.txt HTTP/1.0\r\n\r\n",
    "GET /data.txt?foo=bar HTTP/1.0\r\n\r\n",
    "GET /UP.GIF HTTP/1.0\r\n\r\n",
    "GET /pic.gif HTTP/1.0\r\n\r\n",
    "GET /noext HTTP/1.0\r\n\r\n",
    "GET /.hidden HTTP/1.0\r\n\r\n",
    "GET /doc.pdf HTTP/1.0\r\n\r\n",
    "GET /css/c.js HTTP/1.0\r\n\r\n",
    "POST /data.txt HTTP/1.0\r\n\r\n",
    "OPTIONS * HTTP/1.0\r\n\r\n",
    "get /data.txt HTTP/1.0\r\n\r\n",
    "POST /data.txt HTTP/1.1\r\nHost: a\r\n\r\n",
];

const CONDITIONAL_AND_RANGES: &[&str] = &[
    "GET /data.txt HTTP/1.0\r\nIf-Modified-Since: Thu, 02 Jan 2020 03:04:05 GMT\r\n\r\n",
    "GET /data.txt HTTP/1.1\r\nHost: a\r\nIf-Modified-Since: Thu, 02 Jan 2020 03:04:05 GMT\r\n\r\n",
    "GET /data.txt HTTP/1.0\r\nIf-Modified-Since: Thu, 02 Jan 2020 03:04:05 GMT; length=20\r\n\r\n",
    "GET /data.txt HTTP/1.0\r\nIf-Modified-Since: Thu, 02 Jan 2020 03:04:05 GMT; length=21\r\n\r\n",
    "GET /data.txt HTTP/1.0\r\nIf-Modified-Since: Thu, 02 Jan 2020 03:04:06 GMT\r\n\r\n",
    "HEAD /data.txt HTTP/1.0\r\nIf-Modified-Since: Thu, 02 Jan 2020 03:04:05 GMT\r\n\r\n",
    "GET /data.txt HTTP/1.0\r\nRange: bytes=0-4\r\n\r\n",
    "GET /data.txt HTTP/1.0\r\nRange: bytes=5-\r\n\r\n",
    "GET /data.txt HTTP/1.0\r\nRange: bytes=15-100\r\n\r\n",
    "GET /data.txt HTTP/1.0\r\nRange: bytes=20-\r\n\r\n",
    "GET /data.txt HTTP/1.0\r\nRange: bytes=5-3\r\n\r\n",
    "GET /data.txt HTTP/1.0\r\nRange: bytes=-0\r\n\r\n",
    "GET /data.txt HTTP/1.1\r\nHost: a\r\nRange: bytes=30-\r\n\r\n",
    "GET /data.txt HTTP/1.0\r\nRange: bytes=0-1,3-4\r\n\r\n",
    "GET /data.txt HTTP/1.0\r\nRange: bytes=abc\r\n\r\n",
    "GET /data.txt HTTP/1.0\r\nRange: items=0-1\r\n\r\n",
    "GET /data.txt HTTP/1.0\r\nRange: bytes=-\r\n\r\n",
    "HEAD /data.txt HTTP/1.0\r\nRange: bytes=0-4\r\n\r\n",
    "GET /data.txt HTTP/1.0\r\nRange: bytes=0-4\r\nIf-Modified-Since: Thu, 02 Jan 2020 03:04:05 GMT\r\n\r\n",
];

const CONNECTION_HANDLING: &[&str] = &[
    // OBS-37 pipelining, HTTP-1/3/4/6, OBS-4.
    "GET /data.txt HTTP/1.1\r\nHost: a\r\n\r\nGET /sub/ HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
    "GET /data.txt HTTP/1.1\r\nHost: a\r\n\r\nGET /missing HTTP/1.1\r\nHost: a\r\n\r\nGET /css/a.css HTTP/1.0\r\n\r\n",
    "GET /data.txt HTTP/1.0\n\n",
    "GET /data.txt HTTP/0.9\r\n\r\n",
    "GET /data.txt HTTP/2.0\r\nHost: a\r\n\r\n",
    "GET /data.txt HTTP/1.0\r\nX: a\r\n  continued\r\n\r\n",
    "GET /data.txt HTTP/1.1\r\n\r\n",
    "GET /data.txt\r\n\r\n",
    "garbage\r\n\r\n",
    "GET /data.txt HTTP/1.0\r\nNoColonHere\r\n\r\n",
    "GET  /data.txt HTTP/1.0\r\n\r\n",
    "GET /data.txt HTTP/2.0\r\n\r\n",
];

fn pair(template: &str) -> (Docroot, Pair) {
    let docroot = Docroot::standard();
    let pair = Pair::start_on(template, &docroot);
    (docroot, pair)
}

#[test]
fn static_gets_match_reference() {
    let (_d, p) = pair(&web());
    p.assert_http("web", GETS);
}

#[test]
fn conditional_and_range_requests_match_reference() {
    let (_d, p) = pair(&web());
    p.assert_http("web", CONDITIONAL_AND_RANGES);
}

#[test]
fn connection_handling_matches_reference() {
    let (_d, p) = pair(&web());
    p.assert_http("web", CONNECTION_HANDLING);
    let big = "x".repeat(110_000);
    let huge = format!("GET /data.txt HTTP/1.0\r\nX-Big: {big}\r\n\r\n");
    let near = format!(
        "GET /data.txt HTTP/1.0\r\nX-Big: {}\r\n\r\n",
        "y".repeat(90_000)
    );
    p.assert_http("web", &[huge.as_str(), near.as_str()]);
}

#[test]
fn other_service_settings_match_reference() {
    // server_tokens off, dirindexing off, persist_client off, keep-alive timeout, no docroot.
    // aio_mode none: with IO::AIO the original's concatenated GET fails at random (WS-16).
    let template = format!(
        "SERVER aio_mode = none\n{}{}{}{}CREATE SERVICE nodoc\n  SET role = web_server\n  SET listen = 127.0.0.1:{{nodoc_port}}\nENABLE nodoc\n",
        web_with("  SET server_tokens = off\n  SET persist_client_idle_timeout = 7\n"),
        plain_web("plain", ""),
        plain_web("zero", "  SET persist_client = on\n  SET persist_client_idle_timeout = 0\n"),
        plain_web("concat_off", "  SET enable_concatenate_get = off\n"),
    );
    let (_d, p) = pair(&template);
    let reqs = [
        "GET /data.txt HTTP/1.1\r\nHost: a\r\n\r\n",
        "GET /missing HTTP/1.0\r\n\r\n",
        "GET /css/ HTTP/1.1\r\nHost: a\r\n\r\n",
        "PUT /put/x.txt HTTP/1.0\r\nContent-Length: 1\r\n\r\nx",
        "DELETE /put/missing.txt HTTP/1.0\r\n\r\n",
        "GET /css/??a.css HTTP/1.0\r\n\r\n",
    ];
    for name in ["web", "plain", "zero", "concat_off"] {
        p.assert_http(name, &reqs);
    }
    p.assert_http(
        "nodoc",
        &[
            "GET / HTTP/1.0\r\n\r\n",
            "GET /data.txt HTTP/1.1\r\nHost: a\r\n\r\n",
        ],
    );
}

#[test]
fn concatenation_matches_reference_without_aio() {
    // OBS-33, WS-14/15 (aio_mode none, where the original works).
    let (_d, p) = pair(&format!("SERVER aio_mode = none\n{}", web()));
    let many = format!(
        "GET /css/??{} HTTP/1.0\r\n\r\n",
        vec!["a.css"; 101].join(",")
    );
    let hundred = format!(
        "GET /css/??{} HTTP/1.0\r\n\r\n",
        vec!["b.css"; 100].join(",")
    );
    p.assert_http(
        "web",
        &[
            "GET /css/??a.css,b.css HTTP/1.0\r\n\r\n",
            "GET /css/??a.css,b.css HTTP/1.1\r\nHost: a\r\n\r\n",
            "HEAD /css/??a.css,b.css HTTP/1.0\r\n\r\n",
            "GET /css/??c.js,a.css HTTP/1.0\r\n\r\n",
            "GET /css/??a.css,b.css?v=123 HTTP/1.0\r\n\r\n",
            "GET /css??a.css HTTP/1.0\r\n\r\n",
            "GET /css/??../data.txt HTTP/1.0\r\n\r\n",
            "GET /nodir/??a.css HTTP/1.0\r\n\r\n",
            "GET /css/??a.css,missing.css HTTP/1.0\r\n\r\n",
            "GET /css/??deep HTTP/1.0\r\n\r\n",
            "GET /css/??a.css,b.css HTTP/1.0\r\nIf-Modified-Since: Thu, 04 Mar 2021 05:06:07 GMT\r\n\r\n",
            "GET /css/??a.css,b.css HTTP/1.0\r\nRange: bytes=0-1\r\n\r\n",
            &many,
            &hundred,
        ],
    );
}

#[test]
fn uploads_and_deletes_match_reference() {
    // OBS-34/35, WS-17..22: each server gets its own docroot; replies and resulting trees match.
    let docroots = std::cell::RefCell::new(Vec::new());
    let template = format!(
        "{}{}",
        web_with("  SET max_put_size = 64\n"),
        plain_web(
            "mind",
            "  SET enable_put = on\n  SET min_put_directory = 1\n"
        )
    );
    let p = Pair::start_with(&template, |launch| {
        let d = Docroot::standard();
        let launch = launch.docroot(&d);
        docroots.borrow_mut().push(d);
        launch
    });
    p.assert_http(
        "web",
        &[
            "PUT /put/new.txt HTTP/1.0\r\nContent-Length: 5\r\n\r\nhello",
            "PUT /put/a/b/c.txt HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello",
            "PUT /put/md5.txt HTTP/1.0\r\nContent-Length: 5\r\nContent-MD5: XUFAKrxLKna5cZ2REBfFkg==\r\n\r\nhello",
            "PUT /put/bad.txt HTTP/1.0\r\nContent-Length: 5\r\nContent-MD5: AAAAAAAAAAAAAAAAAAAAAA==\r\n\r\nhello",
            "PUT /put/../x.txt HTTP/1.0\r\nContent-Length: 5\r\n\r\nhello",
            "PUT /put/dir/ HTTP/1.0\r\nContent-Length: 5\r\n\r\nhello",
            "PUT /put/ch.txt HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nExpect: 100-continue\r\n\r\n5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\n\r\n",
            "PUT /put/big.txt HTTP/1.0\r\nContent-Length: 65\r\n\r\n",
            "PUT /put/neg.txt HTTP/1.0\r\nContent-Length: -5\r\n\r\n",
            "PUT /put/empty.txt HTTP/1.0\r\n\r\n",
            "PUT /put/abc.txt HTTP/1.0\r\nContent-Length: abc\r\n\r\n",
            "DELETE /put/new.txt HTTP/1.0\r\n\r\n",
            "DELETE /put/new.txt HTTP/1.0\r\n\r\n",
            "DELETE /sub HTTP/1.0\r\n\r\n",
            "DELETE / HTTP/1.0\r\n\r\n",
            "DELETE /put/md5.txt HTTP/1.1\r\nHost: a\r\n\r\n",
        ],
    );
    p.assert_http(
        "mind",
        &[
            "PUT /x.txt HTTP/1.0\r\nContent-Length: 2\r\n\r\nhi",
            "PUT /nodir/x.txt HTTP/1.0\r\nContent-Length: 2\r\n\r\nhi",
            "PUT /put/x.txt HTTP/1.0\r\nContent-Length: 2\r\n\r\nhi",
            "PUT /put/new/deeper/x.txt HTTP/1.0\r\nContent-Length: 2\r\n\r\nhi",
            "DELETE /put/x.txt HTTP/1.0\r\n\r\n",
        ],
    );
    let d = docroots.borrow();
    assert_eq!(d.len(), 2);
    let trees = [d[0].tree(""), d[1].tree("")];
    assert_eq!(
        trees[0], trees[1],
        "resulting docroots differ (reference, ours)"
    );
    for path in trees[0].iter().filter(|p| !p.ends_with('/')) {
        assert_eq!(d[0].read(path), d[1].read(path), "{path}");
    }
}

#[test]
fn fixed_quirks_diverge_as_documented() {
    // WS-3/OBS-48, WS-10, WS-16: the reference shows the quirk, ours the fix.
    let (_d, p) = pair(&format!(
        "{MGMT}{}",
        plain_web("web", "  SET enable_concatenate_get = on\n")
    ));
    let (r, o) = p.exchange("web", b"GET /data.txt%00.gif HTTP/1.0\r\n\r\n");
    assert_eq!(
        r.single().header("Content-Type"),
        Some("image/gif"),
        "reference quirk"
    );
    if expect_divergence("WS-3") {
        assert!(matches!(o.single().status(), 400 | 404), "{o:?}");
    }
    let (r, o) = p.exchange("web", b"GET /data.txt HTTP/1.0\r\nRange: bytes=-5\r\n\r\n");
    assert_eq!(r.single().body, b"012345", "reference quirk");
    if expect_divergence("WS-10") {
        assert_eq!(o.single().header("Content-Range"), Some("bytes 15-19/20"));
        assert_eq!(o.single().body, b"fghij");
    }
    let (r, o) = p.exchange("web", b"GET /css/??a.css,b.css HTTP/1.0\r\n\r\n");
    // The original's failure depends on a stale errno, so it is intermittent (seen both ways).
    assert!(matches!(r.single().status(), 200 | 404), "reference: {r:?}");
    if expect_divergence("WS-16") {
        assert_eq!(o.single().status(), 200, "{o:?}");
        assert_eq!(o.single().body, b"body{}\np{}\n");
    }
    let (_, o) = p.exchange("web", b"GET /data.txt HTTP/1.0\r\n\r\n");
    assert_eq!(o.single().body, DATA_TXT);
}
