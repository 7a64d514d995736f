//! web_server GET/HEAD (WS-1..16, OBS-28..33, 36, 48): file headers and order, HEAD, IMS/304,
//! byte ranges, bogus URLs, index files, directory listings, MIME types, concatenated GET, and
//! the fixed ⚠ quirks (NUL in paths, suffix ranges, concatenation under AIO).
mod support;

use support::configs::{plain_web, web, web_with, MGMT};
use support::docroot::{
    A_CSS, B_CSS, C_JS, DATA_MTIME_HTTP, DATA_TXT, DIR_MTIME_HTTP, IDX_INDEX, NEWER_MTIME_HTTP,
    SUB_DEFAULT,
};
use support::http::{fetch, get10, page};
use support::{expect_divergence, is_reference, Docroot, Kind, Perlbal};

fn start(template: &str) -> (Docroot, Perlbal) {
    let docroot = Docroot::standard();
    let server = Perlbal::launch(Kind::UnderTest, template)
        .docroot(&docroot)
        .start();
    (docroot, server)
}

const LM: &str = "Last-Modified: Thu, 02 Jan 2020 03:04:05 GMT";

#[test]
fn file_get_sends_headers_in_order_then_body() {
    // OBS-28, WS-5.
    let (_d, s) = start(&web());
    let r = get10(s.port("web"), "/data.txt");
    r.assert_exact(
        &[
            "HTTP/1.0 200 OK",
            "Date: <date>",
            "Server: Perlbal",
            LM,
            "Accept-Ranges: bytes",
            "Content-Type: text/plain",
            "Content-Length: 20",
            "Connection: close",
        ],
        DATA_TXT,
    );
    let r = get10(s.port("web"), "/empty.txt");
    assert_eq!(r.status_line, "HTTP/1.0 200 OK");
    assert_eq!(r.header("Content-Length"), Some("0"));
    assert!(r.body.is_empty());
}

#[test]
fn head_sends_the_get_headers_without_body() {
    // WS-13.
    let (_d, s) = start(&web());
    let mut c = s.client("web");
    c.send("HEAD /data.txt HTTP/1.0\r\n\r\n");
    let r = c.head_response();
    r.assert_exact(
        &[
            "HTTP/1.0 200 OK",
            "Date: <date>",
            "Server: Perlbal",
            LM,
            "Accept-Ranges: bytes",
            "Content-Type: text/plain",
            "Content-Length: 20",
            "Connection: close",
        ],
        b"",
    );
    let rest = c.read_to_close(std::time::Duration::from_secs(5));
    assert!(rest.is_empty(), "HEAD must not send a body: {rest:?}");
}

#[test]
fn server_tokens_off_removes_server_header_everywhere() {
    // OBS-28, SVC-11: file replies and generated pages.
    let (_d, s) = start(&web_with("  SET server_tokens = off\n"));
    let r = get10(s.port("web"), "/data.txt");
    assert_eq!(r.status_line, "HTTP/1.0 200 OK");
    assert_eq!(
        r.header_names(),
        [
            "Date",
            "Last-Modified",
            "Accept-Ranges",
            "Content-Type",
            "Content-Length",
            "Connection"
        ]
    );
    let r = get10(s.port("web"), "/missing");
    r.assert_exact(
        &[
            "HTTP/1.0 404 Not Found",
            "Content-Type: text/html",
            "Content-Length: 25",
            "Connection: close",
        ],
        b"<h1>404 - Not Found</h1>\n",
    );
}

#[test]
fn if_modified_since_equal_to_last_modified_gives_304() {
    // OBS-29, WS-12: string equality only; IE `; length=N` suffix must match the size.
    let (_d, s) = start(&web());
    let port = s.port("web");
    let ims = |value: &str| {
        fetch(
            port,
            format!("GET /data.txt HTTP/1.0\r\nIf-Modified-Since: {value}\r\n\r\n"),
        )
    };
    let not_modified = [
        "HTTP/1.0 304 Not Modified",
        "Date: <date>",
        "Server: Perlbal",
        LM,
        "Accept-Ranges: bytes",
        "Connection: close",
    ];
    ims(DATA_MTIME_HTTP).assert_exact(&not_modified, b"");
    ims(&format!("{DATA_MTIME_HTTP}; length=20")).assert_exact(&not_modified, b"");
    for value in [
        format!("{DATA_MTIME_HTTP}; length=21"),
        "Thu, 02 Jan 2020 03:04:06 GMT".to_string(),
        "Thu, 02 Jan 2020 03:04:04 GMT".to_string(),
        "Thursday, 02-Jan-20 03:04:05 GMT".to_string(),
        "garbage".to_string(),
    ] {
        let r = ims(&value);
        assert_eq!(r.status_line, "HTTP/1.0 200 OK", "IMS {value:?}");
        assert_eq!(r.body, DATA_TXT, "IMS {value:?}");
    }
    // A Range is ignored when 304 applies; HEAD gets the same 304.
    let r = fetch(
        port,
        format!("GET /data.txt HTTP/1.0\r\nRange: bytes=0-4\r\nIf-Modified-Since: {DATA_MTIME_HTTP}\r\n\r\n"),
    );
    r.assert_exact(&not_modified, b"");
    let mut c = s.client("web");
    c.send(format!(
        "HEAD /data.txt HTTP/1.0\r\nIf-Modified-Since: {DATA_MTIME_HTTP}\r\n\r\n"
    ));
    c.head_response().assert_exact(&not_modified, b"");
}

fn range(port: u16, spec: &str) -> support::Response {
    fetch(
        port,
        format!("GET /data.txt HTTP/1.0\r\nRange: {spec}\r\n\r\n"),
    )
}

#[test]
fn single_byte_ranges_give_206_with_content_range() {
    // OBS-30, WS-9.
    let (_d, s) = start(&web());
    let port = s.port("web");
    for (spec, content_range, body) in [
        ("bytes=0-4", "bytes 0-4/20", "01234"),
        ("bytes=5-", "bytes 5-19/20", "56789abcdefghij"),
        ("bytes=15-100", "bytes 15-19/20", "fghij"),
        ("bytes=19-19", "bytes 19-19/20", "j"),
        ("bytes=0-0", "bytes 0-0/20", "0"),
    ] {
        let len = format!("Content-Length: {}", body.len());
        let cr = format!("Content-Range: {content_range}");
        range(port, spec).assert_exact(
            &[
                "HTTP/1.0 206 Partial Content",
                "Date: <date>",
                "Server: Perlbal",
                LM,
                "Accept-Ranges: bytes",
                "Content-Type: text/plain",
                &cr,
                &len,
                "Connection: close",
            ],
            body.as_bytes(),
        );
    }
}

#[test]
fn unsatisfiable_ranges_give_416() {
    // OBS-30, WS-9, WS-11.
    let (_d, s) = start(&web());
    let port = s.port("web");
    for spec in ["bytes=20-", "bytes=5-3", "bytes=-0", "bytes=100-200"] {
        range(port, spec).assert_exact(
            &[
                "HTTP/1.0 416 Request range not satisfiable",
                "Content-Range: bytes */20",
                "Content-Length: 0",
                "Date: <date>",
                "Server: Perlbal",
                LM,
                "Accept-Ranges: bytes",
                "Connection: close",
            ],
            b"",
        );
    }
    // WS-11: the 416 keeps the connection when asked.
    let mut c = s.client("web");
    c.send("GET /data.txt HTTP/1.0\r\nConnection: keep-alive\r\nRange: bytes=5-3\r\n\r\n");
    c.response().assert_exact(
        &[
            "HTTP/1.0 416 Request range not satisfiable",
            "Content-Range: bytes */20",
            "Content-Length: 0",
            "Date: <date>",
            "Server: Perlbal",
            LM,
            "Accept-Ranges: bytes",
            "Connection: keep-alive",
            "Keep-Alive: timeout=30, max=100",
        ],
        b"",
    );
    c.send("GET /data.txt HTTP/1.0\r\n\r\n");
    assert_eq!(c.response().body, DATA_TXT);
}

#[test]
fn unsupported_range_forms_are_ignored() {
    // OBS-30, WS-9: multiple ranges, other units, garbage → full 200.
    let (_d, s) = start(&web());
    for spec in [
        "bytes=0-1,3-4",
        "bytes=abc",
        "items=0-1",
        "bytes=-",
        "bytes 0-4",
    ] {
        let r = range(s.port("web"), spec);
        assert_eq!(r.status_line, "HTTP/1.0 200 OK", "Range {spec:?}");
        assert_eq!(r.header("Content-Range"), None, "Range {spec:?}");
        assert_eq!(r.body, DATA_TXT, "Range {spec:?}");
    }
}

#[test]
fn suffix_range_serves_the_last_bytes() {
    // WS-10 ⚠: the original treats `bytes=-5` as `0-5`; RFC 7233 says the last 5 bytes.
    let (_d, s) = start(&web());
    let r = range(s.port("web"), "bytes=-5");
    assert_eq!(r.status_line, "HTTP/1.0 206 Partial Content");
    if is_reference() {
        assert_eq!(r.header("Content-Range"), Some("bytes 0-5/20"));
        assert_eq!(r.body, b"012345");
    }
    if expect_divergence("WS-10") {
        assert_eq!(r.header("Content-Range"), Some("bytes 15-19/20"));
        assert_eq!(r.header("Content-Length"), Some("5"));
        assert_eq!(r.body, b"fghij");
    }
}

#[test]
fn missing_file_gives_404_page() {
    // WS-4, HTTP-11.
    let (_d, s) = start(&web());
    for path in ["/missing", "/missing.txt", "/sub/missing.html", "/nodir/x"] {
        get10(s.port("web"), path)
            .assert_generated_close("HTTP/1.0 404 Not Found", "<h1>404 - Not Found</h1>\n");
    }
}

#[test]
fn bogus_urls_are_forbidden() {
    // OBS-31, WS-2, WS-6 (`/idx/inner/..` tries `/idx/inner/../index.html`).
    let (_d, s) = start(&web());
    let forbidden = page("403 - Forbidden", "Bogus URL");
    for path in [
        "/../etc/passwd",
        "/sub/../data.txt",
        "/%2e%2e/etc/passwd",
        "/%2E%2E/data.txt",
        "nohost",
        "data.txt",
        "*",
        "/sub/%2e%2e/data.txt",
        "/idx/inner/..",
    ] {
        get10(s.port("web"), path).assert_generated_close("HTTP/1.0 403 Forbidden", &forbidden);
    }
}

#[test]
fn encoded_names_double_slashes_and_queries_are_served() {
    // OBS-31, WS-2.
    let (_d, s) = start(&web());
    for path in [
        "/data%2etxt",
        "//data.txt",
        "/data.txt?foo=bar",
        "/%64ata.txt",
        "/data.txt?",
    ] {
        let r = get10(s.port("web"), path);
        assert_eq!(r.status_line, "HTTP/1.0 200 OK", "{path}");
        assert_eq!(r.header("Content-Type"), Some("text/plain"), "{path}");
        assert_eq!(r.body, DATA_TXT, "{path}");
    }
}

#[test]
fn nul_byte_in_path_is_rejected() {
    // WS-3 / OBS-48 ⚠ security: the original serves data.txt labelled image/gif.
    let (_d, s) = start(&web());
    let r = get10(s.port("web"), "/data.txt%00.gif");
    if is_reference() {
        assert_eq!(r.status_line, "HTTP/1.0 200 OK");
        assert_eq!(r.header("Content-Type"), Some("image/gif"));
    }
    if expect_divergence("WS-3") {
        assert!(
            matches!(r.status(), 400 | 404),
            "NUL in the path must be refused (400/404), got {r:?}"
        );
        assert_ne!(r.body, DATA_TXT);
    }
}

#[test]
fn directory_serves_first_existing_index_file() {
    // OBS-32, WS-6: no redirect, `/sub` and `/sub/` alike; index.html wins over default.htm.
    let (_d, s) = start(&web());
    for path in ["/sub", "/sub/", "/sub/?x=1"] {
        get10(s.port("web"), path).assert_exact(
            &[
                "HTTP/1.0 200 OK",
                "Date: <date>",
                "Server: Perlbal",
                LM,
                "Accept-Ranges: bytes",
                "Content-Type: text/html",
                "Content-Length: 17",
                "Connection: close",
            ],
            SUB_DEFAULT,
        );
    }
    for path in ["/idx", "/idx/"] {
        let r = get10(s.port("web"), path);
        assert_eq!(r.status_line, "HTTP/1.0 200 OK", "{path}");
        assert_eq!(r.body, IDX_INDEX, "{path}");
    }
}

const CSS_LISTING: &str = "<html><body><b><a href='/css/./'>.</a></b><br />
<b><a href='/css/../'>..</a></b><br />
<a href='/css/a.css'>a.css</a><br />
<a href='/css/b.css'>b.css</a><br />
<a href='/css/c.js'>c.js</a><br />
<b><a href='/css/deep/'>deep</a></b><br />
</body></html>";

#[test]
fn directory_without_index_is_listed_when_dirindexing() {
    // OBS-32, WS-7: bytewise order, dirs bold with `/`, URI normalised to one trailing slash.
    let (_d, s) = start(&web());
    let len = format!("Content-Length: {}", CSS_LISTING.len());
    let dir_lm = format!("Last-Modified: {DIR_MTIME_HTTP}");
    for path in ["/css", "/css/", "/css//", "/css?x=1"] {
        get10(s.port("web"), path).assert_exact(
            &[
                "HTTP/1.0 200 OK",
                "Date: <date>",
                "Server: Perlbal",
                &dir_lm,
                "Content-Type: text/html",
                &len,
                "Connection: close",
            ],
            CSS_LISTING.as_bytes(),
        );
    }
    let root = get10(s.port("web"), "/");
    let body = root.body_text();
    assert!(body.starts_with("<html><body><b><a href='/./'>.</a></b><br />\n<b><a href='/../'>..</a></b><br />\n<a href='/.hidden'>.hidden</a><br />\n<a href='/UP.GIF'>UP.GIF</a><br />\n"), "{body}");
    assert!(
        body.contains(
            "<b><a href='/css/'>css</a></b><br />\n<a href='/data.txt'>data.txt</a><br />\n"
        ),
        "{body}"
    );
}

#[test]
fn directory_listing_disabled_page() {
    // OBS-32: dirindexing off → generated 200 page.
    let docroot = Docroot::standard();
    let s = Perlbal::launch(Kind::UnderTest, &plain_web("web", ""))
        .docroot(&docroot)
        .start();
    get10(s.port("web"), "/css/").assert_generated_close(
        "HTTP/1.0 200 OK",
        &page("200 - OK", "Directory listing disabled"),
    );
}

#[test]
fn content_type_from_case_sensitive_extension() {
    // WS-8, WS-3 (dot-files are served).
    let (_d, s) = start(&web());
    for (path, ty) in [
        ("/css/a.css", "text/css"),
        ("/css/c.js", "application/x-javascript"),
        ("/pic.gif", "image/gif"),
        ("/UP.GIF", "text/plain"),
        ("/noext", "text/plain"),
        ("/doc.pdf", "application/pdf"),
        ("/song.mp3", "audio/mpeg"),
        ("/page.html", "text/html"),
        ("/.hidden", "text/plain"),
    ] {
        let r = get10(s.port("web"), path);
        assert_eq!(r.status_line, "HTTP/1.0 200 OK", "{path}");
        assert_eq!(r.header("Content-Type"), Some(ty), "{path}");
    }
}

#[test]
fn methods_other_than_get_head_put_delete_are_bad_requests() {
    // WS-1, OBS-36: no message; method names are case-sensitive.
    let (_d, s) = start(&web());
    for req in [
        "POST /data.txt HTTP/1.0\r\n\r\n",
        "OPTIONS * HTTP/1.0\r\n\r\n",
        "get /data.txt HTTP/1.0\r\n\r\n",
        "PROPFIND /data.txt HTTP/1.0\r\n\r\n",
        "POST /data.txt HTTP/1.0\r\nContent-Length: 3\r\n\r\nabc",
    ] {
        fetch(s.port("web"), req)
            .assert_generated_close("HTTP/1.0 400 Bad request", "<h1>400 - Bad request</h1>\n");
    }
}

#[test]
fn unconfigured_docroot_answers_500() {
    // SVC-45.
    let s = Perlbal::under_test(
        "CREATE SERVICE nodoc\n  SET role = web_server\n  SET listen = 127.0.0.1:{nodoc_port}\nENABLE nodoc\n",
    );
    for path in ["/", "/data.txt"] {
        get10(s.port("nodoc"), path).assert_generated_close(
            "HTTP/1.0 500 Internal Server Error",
            &page("500 - Internal Server Error", "Docroot unconfigured"),
        );
    }
}

const AIO_NONE: &str = "SERVER aio_mode = none\n";

#[test]
fn concatenated_get_streams_files_back_to_back() {
    // OBS-33, WS-14/15 (aio_mode none, where the original works).
    let (_d, s) = start(&format!("{AIO_NONE}{}", web()));
    let port = s.port("web");
    let lm = format!("Last-Modified: {NEWER_MTIME_HTTP}");
    let expect = |path: &str, ty: &str, body: &[u8]| {
        let len = format!("Content-Length: {}", body.len());
        let ty = format!("Content-Type: {ty}");
        get10(port, path).assert_exact(
            &[
                "HTTP/1.0 200 OK",
                &len,
                "Date: <date>",
                "Server: Perlbal",
                &lm,
                &ty,
                "Connection: close",
            ],
            body,
        );
    };
    expect("/css/??a.css,b.css", "text/css", &[A_CSS, B_CSS].concat());
    expect(
        "/css/??c.js,a.css,b.css",
        "application/x-javascript",
        &[C_JS, A_CSS, B_CSS].concat(),
    );
    expect(
        "/css/??a.css,b.css?v=123",
        "text/css",
        &[A_CSS, B_CSS].concat(),
    );
    expect("/css/??b.css,b.css", "text/css", &[B_CSS, B_CSS].concat());
    // Newest mtime of the set is b.css's; a.css alone has the older one.
    let r = get10(port, "/css/??a.css");
    assert_eq!(r.header("Last-Modified"), Some(DATA_MTIME_HTTP));
    assert_eq!(r.body, A_CSS);
    // Range is ignored.
    let r = fetch(
        port,
        "GET /css/??a.css,b.css HTTP/1.0\r\nRange: bytes=0-1\r\n\r\n",
    );
    assert_eq!(r.status_line, "HTTP/1.0 200 OK");
    assert_eq!(r.body, [A_CSS, B_CSS].concat());
    // IMS equal to the newest Last-Modified → 304, which here includes Content-Type.
    fetch(
        port,
        format!("GET /css/??a.css,b.css HTTP/1.0\r\nIf-Modified-Since: {NEWER_MTIME_HTTP}\r\n\r\n"),
    )
    .assert_exact(
        &[
            "HTTP/1.0 304 Not Modified",
            "Date: <date>",
            "Server: Perlbal",
            &lm,
            "Content-Type: text/css",
            "Connection: close",
        ],
        b"",
    );
}

#[test]
fn concatenated_get_errors() {
    // OBS-33, WS-14.
    let (_d, s) = start(&format!("{AIO_NONE}{}", web()));
    let port = s.port("web");
    get10(port, "/css??a.css").assert_generated_close(
        "HTTP/1.0 500 Internal Server Error",
        &page(
            "500 - Internal Server Error",
            "Base directory (before ??) must end in slash.",
        ),
    );
    // A `/../` anywhere in the URI is caught first, by the WS-2 check.
    get10(port, "/css/??x/../../data.txt").assert_generated_close(
        "HTTP/1.0 403 Forbidden",
        &page("403 - Forbidden", "Bogus URL"),
    );
    for path in ["/css/??../data.txt", "/css/??a.css,../data.txt"] {
        get10(port, path).assert_generated_close(
            "HTTP/1.0 403 Forbidden",
            &page("403 - Forbidden", "Bogus filenames"),
        );
    }
    get10(port, "/nodir/??a.css").assert_generated_close(
        "HTTP/1.0 404 Not Found",
        &page("404 - Not Found", "Base directory not a directory"),
    );
    for path in ["/css/??a.css,missing.css", "/css/??deep", "/??css"] {
        get10(port, path).assert_generated_close(
            "HTTP/1.0 404 Not Found",
            &page("404 - Not Found", "One or more file does not exist"),
        );
    }
    let many = vec!["a.css"; 101].join(",");
    get10(port, &format!("/css/??{many}")).assert_generated_close(
        "HTTP/1.0 403 Forbidden",
        &page("403 - Forbidden", "Too many files requested"),
    );
    let hundred = vec!["b.css"; 100].join(",");
    let r = get10(port, &format!("/css/??{hundred}"));
    assert_eq!(r.status_line, "HTTP/1.0 200 OK");
    assert_eq!(r.body.len(), 100 * B_CSS.len());
}

#[test]
fn concatenated_get_disabled_is_forbidden() {
    // WS-14.
    let docroot = Docroot::standard();
    let s = Perlbal::launch(
        Kind::UnderTest,
        &format!("{AIO_NONE}{}", plain_web("web", "")),
    )
    .docroot(&docroot)
    .start();
    get10(s.port("web"), "/css/??a.css,b.css").assert_generated_close(
        "HTTP/1.0 403 Forbidden",
        &page("403 - Forbidden", "Multiple file serving isn't enabled"),
    );
}

#[test]
fn concatenated_get_works_with_default_aio_mode() {
    // WS-16 ⚠: with IO::AIO the original answers spurious 404s; ours serves the files.
    let (_d, s) = start(&format!(
        "{MGMT}{}",
        plain_web("web", "  SET enable_concatenate_get = on\n")
    ));
    let r = get10(s.port("web"), "/css/??a.css,b.css");
    if expect_divergence("WS-16") {
        assert_eq!(r.status_line, "HTTP/1.0 200 OK", "{r:?}");
        assert_eq!(r.body, [A_CSS, B_CSS].concat());
    }
}
