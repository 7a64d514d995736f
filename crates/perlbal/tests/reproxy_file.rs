//! X-REPROXY-FILE end to end (REPROXY-2/3/4, OBS-25): the backend names a local file and the
//! proxy serves it with the backend's headers, fixed up in place. Exact heads (Date-free) and
//! bodies; 204 → 200; HEAD; single ranges and the fresh 416 head; the 404 page for missing,
//! empty and wrongly sized files; directories (REPROXY-4, a deliberate divergence).
mod support;

use std::time::Duration;

use support::docroot::DATA_TXT;
use support::reproxy::{keep, primary, ReproxyRig};
use support::{expect_divergence, is_reference, Response};

const KEEP_ALIVE: &str = "Keep-Alive: timeout=30, max=100";
const NOT_FOUND: &str = "<h1>404 - Not Found</h1>\n";

fn rig() -> ReproxyRig {
    ReproxyRig::start("", "")
}

/// The OBS-25 primary reply on `path`: a PNG whose Content-Length (12345) is wrong and whose
/// X-REPROXY-FILE names `data.txt`.
fn obs25(rig: &ReproxyRig, path: &str) {
    let file = format!("X-REPROXY-FILE: {}", rig.file("data.txt"));
    rig.answer(
        path,
        keep(
            "HTTP/1.0 200 OK",
            &[
                "Content-Type: image/png",
                "X-Primary: yes",
                "Content-Length: 12345",
                &file,
                "Connection: keep-alive",
            ],
            b"",
        ),
    );
}

/// A primary reply naming docroot file `rel` with `X-REPROXY-FILE` only.
fn file_reply(rig: &ReproxyRig, path: &str, rel: &str) {
    rig.answer(
        path,
        primary(&[&format!("X-REPROXY-FILE: {}", rig.file(rel))]),
    );
}

#[test]
fn file_reply_keeps_the_backend_headers_with_the_real_length() {
    // OBS-25, REPROXY-2, HTTP-14: Content-Length replaced in place, X-REPROXY-FILE removed,
    // Connection rewritten in place, Accept-Ranges appended after it.
    let rig = rig();
    obs25(&rig, "/png");
    let mut c = rig.client();
    c.send("GET /png HTTP/1.0\r\n\r\n");
    c.response().assert_exact(
        &[
            "HTTP/1.0 200 OK",
            "Content-Type: image/png",
            "X-Primary: yes",
            "Content-Length: 20",
            "Connection: close",
            "Accept-Ranges: bytes",
        ],
        DATA_TXT,
    );
    c.assert_closed_silently(Duration::from_secs(3));
}

#[test]
fn file_reply_to_a_keep_alive_client_keeps_the_connection() {
    // OBS-25, REPROXY-2, REPROXY-12: Keep-Alive is appended after Accept-Ranges.
    let rig = rig();
    obs25(&rig, "/png");
    let mut c = rig.client();
    for _ in 0..2 {
        c.send("GET /png HTTP/1.1\r\nHost: h\r\n\r\n");
        c.response().assert_exact(
            &[
                "HTTP/1.0 200 OK",
                "Content-Type: image/png",
                "X-Primary: yes",
                "Content-Length: 20",
                "Connection: keep-alive",
                "Accept-Ranges: bytes",
                KEEP_ALIVE,
            ],
            DATA_TXT,
        );
    }
    c.assert_open_and_quiet(Duration::from_millis(200));
}

#[test]
fn headers_the_backend_left_out_are_appended() {
    // REPROXY-2: without Connection from the backend, Accept-Ranges comes before Connection;
    // X-REPROXY-FILE is removed wherever it stood.
    let rig = rig();
    let file = format!("X-REPROXY-FILE: {}", rig.file("data.txt"));
    rig.answer(
        "/f",
        keep(
            "HTTP/1.0 200 OK",
            &[
                "Content-Type: image/png",
                &file,
                "X-Primary: yes",
                "Content-Length: 12345",
            ],
            b"",
        ),
    );
    rig.get("/f").assert_exact(
        &[
            "HTTP/1.0 200 OK",
            "Content-Type: image/png",
            "X-Primary: yes",
            "Content-Length: 20",
            "Accept-Ranges: bytes",
            "Connection: close",
        ],
        DATA_TXT,
    );
}

#[test]
fn status_204_from_the_backend_becomes_200() {
    // OBS-25, REPROXY-2: a 204 without Content-Length → 200, Content-Length appended last.
    let rig = rig();
    let file = format!("X-REPROXY-FILE: {}", rig.file("data.txt"));
    rig.answer(
        "/nc",
        keep(
            "HTTP/1.0 204 No Content",
            &[&file, "Connection: keep-alive"],
            b"",
        ),
    );
    rig.get("/nc").assert_exact(
        &[
            "HTTP/1.0 200 OK",
            "Connection: close",
            "Accept-Ranges: bytes",
            "Content-Length: 20",
        ],
        DATA_TXT,
    );
}

#[test]
fn head_requests_get_the_head_only() {
    // REPROXY-3: the backend gets the HEAD; the client gets the file's head and no body, and a
    // keep-alive connection goes on with a GET.
    let rig = rig();
    obs25(&rig, "/png");
    let mut c = rig.client();
    c.send("HEAD /png HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    c.head_response().assert_exact(
        &[
            "HTTP/1.0 200 OK",
            "Content-Type: image/png",
            "X-Primary: yes",
            "Content-Length: 20",
            "Connection: keep-alive",
            "Accept-Ranges: bytes",
            KEEP_ALIVE,
        ],
        b"",
    );
    assert_eq!(
        rig.backend().last_request().map(|r| r.method().to_string()),
        Some("HEAD".to_string())
    );
    c.send("GET /png HTTP/1.0\r\n\r\n");
    assert_eq!(c.response().body, DATA_TXT);
}

#[test]
fn a_single_range_gets_206_with_content_range_appended() {
    // OBS-25, REPROXY-3 (WS-9 logic).
    let rig = rig();
    obs25(&rig, "/png");
    rig.fetch("GET /png HTTP/1.0\r\nRange: bytes=2-4\r\n\r\n")
        .assert_exact(
            &[
                "HTTP/1.0 206 Partial Content",
                "Content-Type: image/png",
                "X-Primary: yes",
                "Content-Length: 3",
                "Connection: close",
                "Accept-Ranges: bytes",
                "Content-Range: bytes 2-4/20",
            ],
            b"234",
        );
    let r = rig.fetch("GET /png HTTP/1.0\r\nRange: bytes=15-100\r\n\r\n");
    assert_eq!(r.header("Content-Range"), Some("bytes 15-19/20"), "{r:?}");
    assert_eq!(r.body, b"fghij");
}

#[test]
fn a_suffix_range_serves_the_last_bytes() {
    // REPROXY-3 with WS-10 ⚠: the original serves `bytes=-5` as `0-5`.
    let rig = rig();
    obs25(&rig, "/png");
    let r = rig.fetch("GET /png HTTP/1.0\r\nRange: bytes=-5\r\n\r\n");
    assert_eq!(r.status_line, "HTTP/1.0 206 Partial Content", "{r:?}");
    if is_reference() {
        assert_eq!(r.header("Content-Range"), Some("bytes 0-5/20"));
        assert_eq!(r.body, b"012345");
    }
    if expect_divergence("WS-10") {
        assert_eq!(r.header("Content-Range"), Some("bytes 15-19/20"));
        assert_eq!(r.body, b"fghij");
    }
}

#[test]
fn an_unsatisfiable_range_gets_a_fresh_416_head() {
    // OBS-25, REPROXY-3: the backend's headers are dropped; no Content-Length, so even a
    // keep-alive GET is closed (HTTP-14), while a keep-alive HEAD stays open.
    let rig = rig();
    obs25(&rig, "/png");
    let mut c = rig.client();
    c.send("GET /png HTTP/1.0\r\nConnection: keep-alive\r\nRange: bytes=40-\r\n\r\n");
    let bytes = c.read_to_close(Duration::from_secs(3));
    assert_eq!(
        String::from_utf8_lossy(&bytes),
        "HTTP/1.0 416 Request range not satisfiable\r\nContent-Range: bytes */20\r\nConnection: close\r\n\r\n"
    );
    let mut c = rig.client();
    c.send("HEAD /png HTTP/1.0\r\nConnection: keep-alive\r\nRange: bytes=40-\r\n\r\n");
    c.head_response().assert_exact(
        &[
            "HTTP/1.0 416 Request range not satisfiable",
            "Content-Range: bytes */20",
            "Connection: keep-alive",
            KEEP_ALIVE,
        ],
        b"",
    );
    c.assert_open_and_quiet(Duration::from_millis(200));
}

#[test]
fn missing_empty_and_wrongly_sized_files_get_a_404_page() {
    // OBS-25, REPROXY-2.
    let rig = rig();
    file_reply(&rig, "/missing", "no-such-file");
    file_reply(&rig, "/empty", "empty.txt");
    let file = format!("X-REPROXY-FILE: {}", rig.file("data.txt"));
    rig.answer("/wrong", primary(&[&file, "X-REPROXY-EXPECTED-SIZE: 19"]));
    for path in ["/missing", "/empty", "/wrong"] {
        rig.get(path)
            .assert_generated_close("HTTP/1.0 404 Not Found", NOT_FOUND);
    }
}

#[test]
fn the_404_page_keeps_a_keep_alive_connection() {
    // REPROXY-2, HTTP-11/14: the generated page has a length, so the connection goes on.
    let rig = rig();
    file_reply(&rig, "/missing", "no-such-file");
    file_reply(&rig, "/data", "data.txt");
    let mut c = rig.client();
    c.send("GET /missing HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    c.response().assert_exact(
        &[
            "HTTP/1.0 404 Not Found",
            "Content-Type: text/html",
            "Content-Length: 25",
            "Server: Perlbal",
            "Connection: keep-alive",
            KEEP_ALIVE,
        ],
        NOT_FOUND.as_bytes(),
    );
    c.send("GET /data HTTP/1.0\r\n\r\n");
    assert_eq!(c.response().body, DATA_TXT);
}

#[test]
fn a_matching_expected_size_is_forwarded_to_the_client() {
    // OBS-25, REPROXY-2 ⚠: X-REPROXY-EXPECTED-SIZE stays in the client's head.
    let rig = rig();
    let file = format!("X-REPROXY-FILE: {}", rig.file("data.txt"));
    rig.answer("/sized", primary(&[&file, "X-REPROXY-EXPECTED-SIZE: 20"]));
    rig.get("/sized").assert_exact(
        &[
            "HTTP/1.0 200 OK",
            "X-REPROXY-EXPECTED-SIZE: 20",
            "Content-Length: 20",
            "Connection: close",
            "Accept-Ranges: bytes",
        ],
        DATA_TXT,
    );
}

#[test]
fn a_directory_is_not_served_as_a_file() {
    // REPROXY-4 ⚠: the original answers 200 with the directory's inode size as Content-Length
    // and no Accept-Ranges, sends no body and closes; we answer the 404 page.
    let rig = rig();
    file_reply(&rig, "/dir", "sub");
    let mut c = rig.client();
    c.send("GET /dir HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    if expect_divergence("REPROXY-4") {
        c.response().assert_exact(
            &[
                "HTTP/1.0 404 Not Found",
                "Content-Type: text/html",
                "Content-Length: 25",
                "Server: Perlbal",
                "Connection: keep-alive",
                KEEP_ALIVE,
            ],
            NOT_FOUND.as_bytes(),
        );
    } else {
        let bytes = c.read_to_close(Duration::from_secs(3));
        let (head, _) = Response::parse_head(&bytes).expect("a response head");
        assert_eq!(head.status_line, "HTTP/1.0 200 OK");
        assert_eq!(head.header("Accept-Ranges"), None);
        assert!(head.content_length().is_some_and(|n| n > 0), "{head:?}");
    }
}

#[test]
fn a_large_file_arrives_whole() {
    // REPROXY-2: a 1 MiB file (sendfile in the original), to a client that starts reading late.
    let rig = rig();
    file_reply(&rig, "/big", "big.bin");
    let want = rig.docroot.read("big.bin").expect("big.bin");
    let mut c = rig.client();
    c.send("GET /big HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    std::thread::sleep(Duration::from_millis(300));
    let r = c.response();
    assert_eq!(r.content_length(), Some(want.len()), "{:?}", r.status_line);
    assert!(r.body == want, "body differs ({} bytes)", r.body.len());
    c.send("GET /big HTTP/1.0\r\nRange: bytes=1000000-1000009\r\n\r\n");
    assert_eq!(c.response().body, want[1_000_000..1_000_010]);
}
