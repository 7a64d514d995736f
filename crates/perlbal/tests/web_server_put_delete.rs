//! web_server PUT and DELETE (WS-17..23, OBS-34/35, HTTP-17/18): plain, nested, overwrite,
//! Content-MD5, chunked with 100-continue, size and directory limits, disabled methods, hostile
//! lengths, and — fixed where the original leaves partial files — nothing partial on disk after
//! an aborted or refused upload.
mod support;

use std::time::Duration;

use support::configs::{plain_web, web, web_with};
use support::docroot::{umask, DATA_TXT};
use support::http::{fetch, get10, page};
use support::{expect_divergence, is_reference, Docroot, Kind, Perlbal};

fn start(template: &str) -> (Docroot, Perlbal) {
    let docroot = Docroot::standard();
    let server = Perlbal::launch(Kind::UnderTest, template)
        .docroot(&docroot)
        .start();
    (docroot, server)
}

const OK_PAGE: &str = "<h1>200 - OK</h1>\n";

fn put(port: u16, path: &str, body: &str) -> support::Response {
    fetch(
        port,
        format!(
            "PUT {path} HTTP/1.0\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        ),
    )
}

#[test]
fn put_writes_file_and_answers_ok_page() {
    // OBS-34, WS-17: 200 page, file written 0644 (less umask), readable by GET.
    let (d, s) = start(&web());
    let port = s.port("web");
    put(port, "/put/new.txt", "hello").assert_generated_close("HTTP/1.0 200 OK", OK_PAGE);
    assert_eq!(d.read("put/new.txt").as_deref(), Some(&b"hello"[..]));
    assert_eq!(d.mode("put/new.txt"), 0o644 & !umask());
    assert_eq!(get10(port, "/put/new.txt").body, b"hello");
    // Overwrite truncates.
    put(port, "/put/new.txt", "hi").assert_generated_close("HTTP/1.0 200 OK", OK_PAGE);
    assert_eq!(d.read("put/new.txt").as_deref(), Some(&b"hi"[..]));
    // Names with dots, dashes and underscores are fine; so is a top-level file.
    put(port, "/put/a-b_c.d.txt", "x").assert_generated_close("HTTP/1.0 200 OK", OK_PAGE);
    put(port, "/top.txt", "x").assert_generated_close("HTTP/1.0 200 OK", OK_PAGE);
    assert!(d.exists("put/a-b_c.d.txt") && d.exists("top.txt"));
}

#[test]
fn put_creates_missing_directories() {
    // OBS-34, WS-17: nested dirs auto-created with 0755 (less umask).
    let (d, s) = start(&web());
    put(s.port("web"), "/put/a/b/c.txt", "hello")
        .assert_generated_close("HTTP/1.0 200 OK", OK_PAGE);
    assert_eq!(d.read("put/a/b/c.txt").as_deref(), Some(&b"hello"[..]));
    assert_eq!(d.mode("put/a"), 0o755 & !umask());
    assert_eq!(d.mode("put/a/b"), 0o755 & !umask());
}

#[test]
fn put_with_matching_content_md5_answers_201() {
    // OBS-34, WS-19: `HTTP/1.0 201 ` (empty phrase) and `<h1>201</h1>\n`; no temp file left.
    let (d, s) = start(&web());
    fetch(
        s.port("web"),
        "PUT /put/md5.txt HTTP/1.0\r\nContent-Length: 5\r\nContent-MD5: XUFAKrxLKna5cZ2REBfFkg==\r\n\r\nhello",
    )
    .assert_generated_close("HTTP/1.0 201 ", "<h1>201</h1>\n");
    assert_eq!(d.read("put/md5.txt").as_deref(), Some(&b"hello"[..]));
    // Trailing `=` padding is optional.
    fetch(
        s.port("web"),
        "PUT /put/md5b.txt HTTP/1.0\r\nContent-Length: 5\r\nContent-MD5: XUFAKrxLKna5cZ2REBfFkg\r\n\r\nhello",
    )
    .assert_generated_close("HTTP/1.0 201 ", "<h1>201</h1>\n");
    assert_eq!(d.list("put"), ["exists", "md5.txt", "md5b.txt"]);
}

#[test]
fn put_with_wrong_content_md5_is_refused_and_leaves_nothing() {
    // OBS-34, WS-19: 400 naming both digests without padding; the old file is untouched.
    let (d, s) = start(&web());
    d.file("put/keep.txt", b"old", 1_577_934_245);
    for path in ["/put/bad.txt", "/put/keep.txt"] {
        fetch(
            s.port("web"),
            format!("PUT {path} HTTP/1.0\r\nContent-Length: 5\r\nContent-MD5: AAAAAAAAAAAAAAAAAAAAAA==\r\n\r\nhello"),
        )
        .assert_generated_close(
            "HTTP/1.0 400 Bad request",
            &page(
                "400 - Bad request",
                "Content-MD5 mismatch, expected: AAAAAAAAAAAAAAAAAAAAAA actual: XUFAKrxLKna5cZ2REBfFkg",
            ),
        );
    }
    assert_eq!(d.list("put"), ["exists", "keep.txt"]);
    assert_eq!(d.read("put/keep.txt").as_deref(), Some(&b"old"[..]));
}

#[test]
fn put_with_invalid_filename_is_refused() {
    // OBS-34, WS-17: `..`, trailing slash, odd characters → 400 Invalid filename.
    let (d, s) = start(&web());
    for path in [
        "/put/../x.txt",
        "/put/dir/",
        "/",
        "/put/x%20y.txt",
        "/put/a:b",
        "/put/x~",
        "/put/..x",
        "nohost",
    ] {
        put(s.port("web"), path, "hello").assert_generated_close(
            "HTTP/1.0 400 Bad request",
            &page("400 - Bad request", "Invalid filename"),
        );
    }
    assert_eq!(d.list("put"), ["exists"]);
    assert_eq!(d.read("x.txt"), None);
    assert_eq!(d.tree(""), Docroot::standard().tree(""));
}

#[test]
fn chunked_put_with_expect_gets_100_continue() {
    // OBS-34, WS-18, HTTP-17: interim `HTTP/1.1 100 Continue`, chunk extensions ignored.
    let (d, s) = start(&web());
    let mut c = s.client("web");
    c.send("PUT /put/ch.txt HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nExpect: 100-continue\r\n\r\n");
    let cont = c.response();
    assert_eq!(cont.status_line, "HTTP/1.1 100 Continue");
    assert!(cont.headers.is_empty());
    c.send("5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\n\r\n");
    c.response().assert_exact(
        &[
            "HTTP/1.0 200 OK",
            "Content-Type: text/html",
            "Content-Length: 18",
            "Server: Perlbal",
            "Connection: keep-alive",
            "Keep-Alive: timeout=30, max=100",
        ],
        OK_PAGE.as_bytes(),
    );
    assert_eq!(d.read("put/ch.txt").as_deref(), Some(&b"hello world"[..]));
    // The connection is reusable.
    c.send("GET /data.txt HTTP/1.1\r\nHost: a\r\n\r\n");
    assert_eq!(c.response().body, DATA_TXT);
    // Without Expect there is no interim response.
    let r = fetch(
        s.port("web"),
        "PUT /put/ch2.txt HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
    );
    r.assert_generated_close("HTTP/1.0 200 OK", OK_PAGE);
    assert_eq!(d.read("put/ch2.txt").as_deref(), Some(&b"abc"[..]));
}

#[test]
fn expect_100_continue_is_not_answered_for_content_length_puts() {
    // HTTP-17, OBS-49.
    let (d, s) = start(&web());
    let mut c = s.client("web");
    c.send("PUT /put/e.txt HTTP/1.0\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n");
    c.assert_open_and_quiet(Duration::from_millis(500));
    c.send("hello");
    c.response()
        .assert_generated_close("HTTP/1.0 200 OK", OK_PAGE);
    assert_eq!(d.read("put/e.txt").as_deref(), Some(&b"hello"[..]));
}

#[test]
fn put_keeps_alive_once_the_body_is_read() {
    // WS-23, HTTP-14.
    let (d, s) = start(&web());
    let mut c = s.client("web");
    c.send("PUT /put/ka.txt HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nhi");
    let r = c.response();
    assert_eq!(r.status_line, "HTTP/1.0 200 OK");
    assert_eq!(r.header("Connection"), Some("keep-alive"));
    c.send("PUT /put/ka2.txt HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nbye");
    assert_eq!(c.response().status(), 200);
    assert_eq!(d.read("put/ka.txt").as_deref(), Some(&b"hi"[..]));
    assert_eq!(d.read("put/ka2.txt").as_deref(), Some(&b"bye"[..]));
}

#[test]
fn put_without_or_with_non_numeric_length_creates_empty_file() {
    // WS-17, HTTP-18.
    let (d, s) = start(&web());
    for (path, req) in [
        ("put/none.txt", "PUT /put/none.txt HTTP/1.0\r\n\r\n"),
        (
            "put/zero.txt",
            "PUT /put/zero.txt HTTP/1.0\r\nContent-Length: 0\r\n\r\n",
        ),
        (
            "put/abc.txt",
            "PUT /put/abc.txt HTTP/1.0\r\nContent-Length: abc\r\n\r\n",
        ),
    ] {
        fetch(s.port("web"), req).assert_generated_close("HTTP/1.0 200 OK", OK_PAGE);
        assert_eq!(d.read(path).as_deref(), Some(&b""[..]), "{req:?}");
    }
}

#[test]
fn put_larger_than_max_put_size_or_negative_is_refused() {
    // OBS-34, SVC-52.
    let (d, s) = start(&web_with("  SET max_put_size = 4\n"));
    put(s.port("web"), "/put/big.txt", "hello").assert_generated_close(
        "HTTP/1.0 400 Bad request",
        &page("400 - Bad request", "Content-length of 5 is invalid."),
    );
    put(s.port("web"), "/put/fits.txt", "hell").assert_generated_close("HTTP/1.0 200 OK", OK_PAGE);
    fetch(
        s.port("web"),
        "PUT /put/neg.txt HTTP/1.0\r\nContent-Length: -5\r\n\r\nhello",
    )
    .assert_generated_close(
        "HTTP/1.0 400 Bad request",
        &page("400 - Bad request", "Content-length of -5 is invalid."),
    );
    assert_eq!(d.list("put"), ["exists", "fits.txt"]);
}

#[test]
fn negative_length_is_refused_without_max_put_size() {
    // WS-17: a negative Content-Length is invalid even when no limit is set.
    let (d, s) = start(&web());
    fetch(
        s.port("web"),
        "PUT /put/neg.txt HTTP/1.0\r\nContent-Length: -5\r\n\r\nhello",
    )
    .assert_generated_close(
        "HTTP/1.0 400 Bad request",
        &page("400 - Bad request", "Content-length of -5 is invalid."),
    );
    assert_eq!(d.list("put"), ["exists"]);
}

#[test]
fn min_put_directory_requires_existing_leading_directories() {
    // WS-20.
    let (d, s) = start(&web_with("  SET min_put_directory = 1\n"));
    let port = s.port("web");
    put(port, "/x.txt", "hi").assert_generated_close(
        "HTTP/1.0 400 Bad request",
        &page(
            "400 - Bad request",
            "Does not meet minimum directory requirement",
        ),
    );
    put(port, "/nodir/x.txt", "hi").assert_generated_close(
        "HTTP/1.0 404 Not Found",
        &page("404 - Not Found", "Base directory does not exist"),
    );
    put(port, "/put/x.txt", "hi").assert_generated_close("HTTP/1.0 200 OK", OK_PAGE);
    put(port, "/put/new/deeper/x.txt", "hi").assert_generated_close("HTTP/1.0 200 OK", OK_PAGE);
    assert!(!d.exists("x.txt") && !d.exists("nodir"));
    assert_eq!(d.read("put/new/deeper/x.txt").as_deref(), Some(&b"hi"[..]));
}

#[test]
fn put_and_delete_are_forbidden_unless_enabled() {
    // OBS-34, OBS-35, WS-17, WS-22: 403 with no message.
    let (d, s) = start(&plain_web("web", ""));
    let forbidden = "<h1>403 - Forbidden</h1>\n";
    put(s.port("web"), "/put/x.txt", "hello")
        .assert_generated_close("HTTP/1.0 403 Forbidden", forbidden);
    fetch(s.port("web"), "DELETE /data.txt HTTP/1.0\r\n\r\n")
        .assert_generated_close("HTTP/1.0 403 Forbidden", forbidden);
    assert!(!d.exists("put/x.txt"));
    assert_eq!(d.read("data.txt").as_deref(), Some(DATA_TXT));
}

#[test]
fn delete_removes_files() {
    // OBS-35, WS-22.
    let (d, s) = start(&web());
    let port = s.port("web");
    d.file("put/gone.txt", b"x", 1_577_934_245);
    fetch(port, "DELETE /put/gone.txt HTTP/1.0\r\n\r\n").assert_exact(
        &[
            "HTTP/1.0 204 No Content",
            "Server: Perlbal",
            "Connection: close",
        ],
        b"",
    );
    assert!(!d.exists("put/gone.txt"));
    fetch(port, "DELETE /put/gone.txt HTTP/1.0\r\n\r\n")
        .assert_generated_close("HTTP/1.0 404 Not Found", "<h1>404 - Not Found</h1>\n");
    fetch(port, "DELETE /sub HTTP/1.0\r\n\r\n").assert_generated_close(
        "HTTP/1.0 400 Bad request",
        &page("400 - Bad request", "Is a directory"),
    );
    for path in ["/", "/sub/../data.txt", "/put/"] {
        fetch(port, format!("DELETE {path} HTTP/1.0\r\n\r\n")).assert_generated_close(
            "HTTP/1.0 400 Bad request",
            &page("400 - Bad request", "Invalid filename"),
        );
    }
    assert!(d.exists("sub/default.htm") && d.exists("data.txt"));
    // Keep-alive: 204 has a known length.
    d.file("put/ka.txt", b"x", 1_577_934_245);
    let mut c = s.client("web");
    c.send("DELETE /put/ka.txt HTTP/1.1\r\nHost: a\r\n\r\n");
    c.response().assert_exact(
        &[
            "HTTP/1.0 204 No Content",
            "Server: Perlbal",
            "Connection: keep-alive",
            "Keep-Alive: timeout=30, max=100",
        ],
        b"",
    );
    c.send("GET /data.txt HTTP/1.1\r\nHost: a\r\n\r\n");
    assert_eq!(c.response().body, DATA_TXT);
}

/// Sends `request`, waits a moment, closes, and returns after the server had time to react.
fn send_and_abort(s: &Perlbal, request: &str) {
    let mut c = s.client("web");
    c.send(request);
    let _ = c.read_for(Duration::from_millis(300));
    drop(c);
    std::thread::sleep(Duration::from_millis(300));
}

#[test]
fn aborted_uploads_leave_nothing_partial_on_disk() {
    // WS-17/18/19: the original leaves the partial file (or `<file>.<pid>.<n>.tmp`) behind.
    let (d, s) = start(&web());
    d.file("put/keep.txt", b"old contents", 1_577_934_245);
    send_and_abort(
        &s,
        "PUT /put/partial.txt HTTP/1.0\r\nContent-Length: 10\r\n\r\nhello",
    );
    send_and_abort(
        &s,
        "PUT /put/partialmd5.txt HTTP/1.0\r\nContent-Length: 10\r\nContent-MD5: XUFAKrxLKna5cZ2REBfFkg==\r\n\r\nhello",
    );
    send_and_abort(
        &s,
        "PUT /put/partialch.txt HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n",
    );
    send_and_abort(
        &s,
        "PUT /put/keep.txt HTTP/1.0\r\nContent-Length: 10\r\n\r\nnew",
    );
    send_and_abort(
        &s,
        "PUT /put/newdir/x.txt HTTP/1.0\r\nContent-Length: 10\r\n\r\nnew",
    );
    assert_eq!(
        get10(s.port("web"), "/data.txt").body,
        DATA_TXT,
        "server still serves"
    );
    if is_reference() {
        assert_eq!(d.read("put/partial.txt").as_deref(), Some(&b"hello"[..]));
    }
    if expect_divergence("WS-17") {
        let left: Vec<String> = d
            .tree("put")
            .into_iter()
            .filter(|p| !p.ends_with('/'))
            .collect();
        assert_eq!(left, ["put/keep.txt"], "partial uploads left behind");
        assert_eq!(
            d.read("put/keep.txt").as_deref(),
            Some(&b"old contents"[..])
        );
    }
}

#[test]
fn chunked_put_over_max_chunked_request_size_is_cut_off() {
    // SVC-7, WS-18: disconnect with no response; (fixed) nothing partial left.
    let (d, s) = start(&web_with("  SET max_chunked_request_size = 8\n"));
    let mut c = s.client("web");
    let _ = c.try_send("PUT /put/ch.txt HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n");
    c.assert_closed_silently(Duration::from_secs(5));
    let r = fetch(
        s.port("web"),
        "PUT /put/small.txt HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
    );
    r.assert_generated_close("HTTP/1.0 200 OK", OK_PAGE);
    if expect_divergence("SVC-7") {
        assert!(
            !d.exists("put/ch.txt"),
            "partial chunked upload left behind"
        );
    }
}

#[test]
fn huge_content_length_put_never_hurts_the_server() {
    // WS-17 hostile input: a length beyond any disk; either refused (400) or read until the
    // client gives up — never a crash, never a stuck server, nothing left behind.
    let (d, s) = start(&web());
    for length in [
        "99999999999999999999999",
        "18446744073709551616",
        "9999999999",
    ] {
        let mut c = s.client("web");
        let _ = c.try_send(format!(
            "PUT /put/huge.txt HTTP/1.0\r\nContent-Length: {length}\r\n\r\nhello"
        ));
        let got = c.read_for(Duration::from_millis(500));
        if !got.is_empty() {
            let text = String::from_utf8_lossy(&got);
            assert!(
                text.starts_with("HTTP/1.0 400 Bad request\r\n"),
                "CL {length}: {text}"
            );
        }
        drop(c);
        assert_eq!(
            get10(s.port("web"), "/data.txt").body,
            DATA_TXT,
            "after CL {length}"
        );
    }
    std::thread::sleep(Duration::from_millis(300));
    if expect_divergence("WS-17") {
        assert!(!d.exists("put/huge.txt"), "partial upload left behind");
    }
}

#[test]
fn put_onto_a_directory_or_through_a_file_is_an_internal_error() {
    // WS-21: open/mkdir failures → 500 `Internal error` (observed even where a directory would
    // have to be created below a regular file); the docroot is unchanged.
    let (d, s) = start(&web());
    for path in ["/sub", "/data.txt/x.txt", "/data.txt/y/x.txt"] {
        put(s.port("web"), path, "hi").assert_generated_close(
            "HTTP/1.0 500 Internal Server Error",
            &page("500 - Internal Server Error", "Internal error"),
        );
    }
    assert_eq!(d.read("data.txt").as_deref(), Some(DATA_TXT));
    assert_eq!(d.tree(""), Docroot::standard().tree(""));
}
