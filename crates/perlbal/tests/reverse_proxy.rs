//! End-to-end reverse_proxy tests against the binary under test, with our scriptable backend
//! and a real nginx: exact replies and request rewriting (OBS-1/3, RP-23/32), connection reuse
//! counted on the backend's side (RP-7, SVC-19), uploads of 0 B, 1 MiB and 100 MiB checked by
//! CRC at the backend (RP-26/27), `client_sndbuf_size` (SVC-10), and `idle_timeout` while a
//! backend thinks (SVC-5, RP-46).
mod support;

use std::thread;
use std::time::{Duration, Instant};

use support::backend::{upload_summary, HELLO_BODY};
use support::checksum::Pattern;
use support::docroot::Docroot;
use support::nginx::{parse_ok, Nginx};
use support::proxy::{eventually, obs_proxy, plain_proxy, Rig};
use support::{expect_divergence, Kind, Response};

#[test]
fn proxied_get_reply_and_backend_request_are_exact() {
    // OBS-1, OBS-3, RP-23, RP-32, HTTP-9/14.
    let rig = Rig::under_test(&obs_proxy(""));
    let mut c = rig.client();
    c.send("GET /hello HTTP/1.0\r\n\r\n");
    let r = c.response();
    let len = format!("Content-Length: {}", HELLO_BODY.len());
    r.assert_exact(
        &[
            "HTTP/1.0 200 OK",
            "Content-Type: text/plain",
            &len,
            "Connection: close",
        ],
        HELLO_BODY,
    );
    c.assert_closed_silently(Duration::from_secs(3));
    let got = rig
        .backend()
        .last_request()
        .expect("the backend got the request");
    assert_eq!(
        got.head,
        "GET /hello HTTP/1.0\r\nConnection: keep-alive\r\nX-Proxy-Capabilities: reproxy-file\r\nX-Forwarded-For: 127.0.0.1\r\n\r\n"
    );

    // HTTP/1.1 client: kept alive, the backend's headers first, then ours.
    let mut c = rig.client();
    c.send("POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc");
    let r = c.response();
    assert_eq!(
        r.header_names(),
        ["Content-Type", "Content-Length", "Connection", "Keep-Alive"]
    );
    assert_eq!(
        r.body_text(),
        "POST /echo HTTP/1.0\r\nHost: h\r\nContent-Length: 3\r\nConnection: keep-alive\r\nX-Proxy-Capabilities: reproxy-file\r\nX-Forwarded-For: 127.0.0.1\r\n\r\nabc"
    );
    c.assert_open_and_quiet(Duration::from_millis(200));
}

#[test]
fn concurrent_keep_alive_clients_share_few_backend_connections() {
    // RP-5/6/7, SVC-19/20: 4 clients × 25 requests; every reply right; the backend sees far
    // fewer connections than requests.
    let rig = Rig::under_test(&obs_proxy("  SET backend_persist_cache = 4\n"));
    let port = rig.port();
    let workers: Vec<_> = (0..4)
        .map(|w| {
            thread::spawn(move || {
                let mut c = support::Client::connect(port);
                for i in 0..25 {
                    c.send(format!("GET /echo?w={w}&i={i} HTTP/1.1\r\nHost: a\r\n\r\n"));
                    let r = c.response();
                    assert_eq!(r.status(), 200);
                    let want = format!("GET /echo?w={w}&i={i} HTTP/1.0\r\n");
                    assert!(r.body_text().starts_with(&want), "{r:?}");
                }
            })
        })
        .collect();
    for w in workers {
        w.join().expect("client thread");
    }
    let b = rig.backend();
    assert_eq!(b.request_count(), 100);
    assert!(
        b.connections() <= 12,
        "{} backend connections",
        b.connections()
    );
}

#[test]
fn idle_backend_connections_closed_by_the_backend_are_not_used() {
    // RP-2, RP-7, RP-38: a kept-alive backend connection that the backend closes while idle
    // is dropped; the next request gets a fresh one.
    let rig = Rig::under_test(&obs_proxy(""));
    assert_eq!(rig.get("/hello").status(), 200);
    let b = rig.backend();
    b.close_all();
    assert!(b.wait_open(0, Duration::from_secs(2)));
    thread::sleep(Duration::from_millis(200));
    assert_eq!(rig.get("/hello").body, HELLO_BODY);
    assert_eq!(b.requests_per_connection(), [1, 1]);
}

#[test]
fn a_node_going_down_at_run_time_leaves_the_others_serving() {
    // RP-3, RP-10, RP-11: one of two nodes stops listening and drops its connections; every
    // later request is served by the other.
    let mut rig = Rig::launch(Kind::UnderTest, &two_node_proxy())
        .backend("second", Default::default())
        .start();
    for _ in 0..6 {
        assert_eq!(rig.get("/hello").status(), 200);
    }
    let down = rig.backend_mut("backend");
    down.stop_listening();
    down.close_all();
    let before = rig.backend().request_count();
    for _ in 0..4 {
        let mut c = rig.client();
        c.send("GET /hello HTTP/1.0\r\n\r\n");
        let r = c
            .try_response(false, Duration::from_secs(10))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(r.body, HELLO_BODY);
    }
    assert_eq!(rig.backend().request_count(), before);
}

/// The OBS proxy over two nodes, `{backend_port}` and `{second_port}`.
fn two_node_proxy() -> String {
    obs_proxy("").replace(
        "  POOL backends ADD 127.0.0.1:{backend_port}\n",
        "  POOL backends ADD 127.0.0.1:{backend_port}\n  POOL backends ADD 127.0.0.1:{second_port}\n",
    )
}

fn nginx_docroot() -> (Docroot, Vec<u8>) {
    let d = Docroot::empty();
    d.file(
        "file.txt",
        b"served by nginx\n",
        support::docroot::DATA_MTIME,
    );
    let big = d.big_file("big.bin", 1 << 20);
    (d, big)
}

fn nginx_rig(nginx: &Nginx, extra: &str) -> Rig {
    Rig::launch(Kind::UnderTest, &obs_proxy(extra))
        .no_backends()
        .var("backend_port", &nginx.port().to_string())
        .start()
}

#[test]
fn nginx_backend_serves_files_through_the_proxy() {
    // RP-32/33 against a real web server: status line rewritten to HTTP/1.0, nginx headers
    // passed, bodies intact, HEAD and ranges passed through.
    let (docroot, big) = nginx_docroot();
    let nginx = Nginx::start(docroot.path());
    let rig = nginx_rig(&nginx, "");
    let r = rig.get("/file.txt");
    assert_eq!(r.status_line, "HTTP/1.0 200 OK", "{r:?}");
    assert!(
        r.header("Server").is_some_and(|s| s.starts_with("nginx")),
        "{r:?}"
    );
    assert_eq!(r.header("Connection"), Some("close"));
    assert_eq!(r.body, b"served by nginx\n");
    assert_eq!(rig.get("/big.bin").body, big);
    let mut c = rig.client();
    c.send("HEAD /file.txt HTTP/1.0\r\n\r\n");
    let r = c.head_response();
    assert_eq!(r.content_length(), Some(16));
    let mut c = rig.client();
    c.send("GET /big.bin HTTP/1.0\r\nRange: bytes=10-19\r\n\r\n");
    let r = c.response();
    assert_eq!(r.status(), 206);
    assert_eq!(r.body, big[10..20]);
    assert_eq!(rig.get("/missing").status(), 404);
    assert_eq!(rig.get("/status/418").status(), 418);
    assert_eq!(
        parse_ok(&rig.get("/ok").body).map(|(_, n)| n > 0),
        Some(true)
    );
}

#[test]
fn a_client_that_reads_slowly_gets_every_byte_and_keeps_its_connection() {
    // RP-33: the response outruns the client's socket buffers, so the proxy waits on the client
    // mid-body and copies out the tail it cannot send at once; nothing may be lost or reordered.
    let (docroot, big) = nginx_docroot();
    let nginx = Nginx::start(docroot.path());
    let rig = nginx_rig(&nginx, "");
    let mut c = rig.client();
    c.send("GET /big.bin HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    thread::sleep(Duration::from_millis(400));
    let r = c.response();
    assert_eq!(r.status(), 200, "{r:?}");
    assert!(r.body == big, "body differs ({} bytes)", r.body.len());
    c.send("GET /file.txt HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    assert_eq!(c.response().body, b"served by nginx\n");
}

#[test]
fn nginx_sees_one_connection_reused_with_persist_backend() {
    // RP-7, SVC-19: keep-alive reuse counted by nginx itself ($connection_requests).
    let (docroot, _) = nginx_docroot();
    let nginx = Nginx::start(docroot.path());
    let rig = nginx_rig(&nginx, "");
    let seen: Vec<(u64, u64)> = (0..10)
        .map(|_| parse_ok(&rig.get("/ok").body).expect("an /ok body"))
        .collect();
    let conn = seen[0].0;
    assert!(seen.iter().all(|(c, _)| *c == conn), "{seen:?}");
    assert_eq!(
        seen.iter().map(|(_, n)| *n).collect::<Vec<_>>(),
        (1..=10).collect::<Vec<u64>>()
    );

    let plain = Rig::launch(Kind::UnderTest, &plain_proxy(""))
        .no_backends()
        .var("backend_port", &nginx.port().to_string())
        .start();
    let seen: Vec<(u64, u64)> = (0..5)
        .map(|_| parse_ok(&plain.get("/ok").body).expect("an /ok body"))
        .collect();
    assert!(
        seen.iter().all(|(_, n)| *n == 1),
        "no reuse without persist_backend: {seen:?}"
    );
}

/// Streams a `Content-Length` upload of `len` pattern bytes to `/upload`; returns the reply.
fn upload(rig: &Rig, len: u64, seed: u64, wait: Duration) -> Response {
    let mut c = rig.client();
    c.send(format!(
        "PUT /upload HTTP/1.0\r\nContent-Length: {len}\r\n\r\n"
    ));
    let mut pattern = Pattern::new(seed, len);
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = pattern.fill(&mut buf);
        if n == 0 {
            break;
        }
        c.send(&buf[..n]);
    }
    c.try_response(false, wait)
        .unwrap_or_else(|e| panic!("upload of {len} bytes: {e}"))
}

const SPOOLED: &str = "  SET buffer_uploads = on\n  SET buffer_uploads_path = {spool}\n";

#[test]
fn uploads_of_0_and_1_mib_arrive_intact() {
    // RP-26/27: streamed, memory-buffered and spooled; CRC compared at the backend.
    for extra in ["", "  SET buffer_backend_connect = 0\n", SPOOLED] {
        let rig = Rig::under_test(&obs_proxy(extra));
        for (seed, len) in [(1u64, 0u64), (2, 1 << 20)] {
            let r = upload(&rig, len, seed, Duration::from_secs(10));
            assert_eq!(r.status(), 200, "mode {extra:?}: {r:?}");
            let expected = upload_summary(len, Pattern::crc32(seed, len));
            assert_eq!(r.body_text(), expected, "mode {extra:?}");
            let got = rig.backend().last_request().expect("upload arrived");
            assert_eq!(got.upload_summary(), expected);
            assert_eq!(got.header("Content-Length"), Some(len.to_string().as_str()));
        }
        assert!(eventually(Duration::from_secs(2), || rig
            .spool_files()
            .is_empty()));
    }
}

#[test]
fn heavy_upload_of_100_mib_streamed() {
    // Heavy (100 MiB): RP-26 streaming path, CRC compared at the backend.
    let rig = Rig::under_test(&obs_proxy(""));
    let len = 100 << 20;
    let t = Instant::now();
    let r = upload(&rig, len, 100, Duration::from_secs(60));
    eprintln!("100 MiB streamed upload took {:?}", t.elapsed());
    assert_eq!(r.body_text(), upload_summary(len, Pattern::crc32(100, len)));
}

#[test]
fn heavy_upload_of_100_mib_spooled_to_disk() {
    // Heavy (100 MiB): RP-27 disk spooling, CRC compared at the backend, spool file removed.
    let rig = Rig::under_test(&obs_proxy(SPOOLED));
    let len = 100 << 20;
    let t = Instant::now();
    let r = upload(&rig, len, 101, Duration::from_secs(60));
    eprintln!("100 MiB spooled upload took {:?}", t.elapsed());
    assert_eq!(r.body_text(), upload_summary(len, Pattern::crc32(101, len)));
    assert!(
        eventually(Duration::from_secs(3), || rig.spool_files().is_empty()),
        "spool files left: {:?}",
        rig.spool_files()
    );
}

/// `tb<bytes>` (the socket send buffer) of the established sockets with local port `port`,
/// from `ss -tmn`.
fn send_buffers(port: u16) -> Vec<u64> {
    let out = std::process::Command::new("ss")
        .args([
            "-tmnH",
            "state",
            "established",
            "sport",
            "=",
            &format!(":{port}"),
        ])
        .output()
        .expect("running ss (iproute2)");
    let text = String::from_utf8_lossy(&out.stdout);
    text.split("tb")
        .skip(1)
        .filter_map(|rest| {
            let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
            digits.parse().ok()
        })
        .collect()
}

#[test]
fn client_sndbuf_size_sets_the_accepted_socket_buffer() {
    // SVC-10: SO_SNDBUF on accepted client sockets (Linux reports twice the value set).
    let rig = Rig::under_test(&obs_proxy("  SET client_sndbuf_size = 100000\n"));
    let mut c = rig.client();
    c.send("GET /hello HTTP/1.1\r\nHost: a\r\n\r\n");
    assert_eq!(c.response().status(), 200);
    assert_eq!(send_buffers(rig.port()), [200_000]);

    let plain = Rig::under_test(&obs_proxy(""));
    let mut c = plain.client();
    c.send("GET /hello HTTP/1.1\r\nHost: a\r\n\r\n");
    assert_eq!(c.response().status(), 200);
    let tb = send_buffers(plain.port());
    assert_eq!(tb.len(), 1);
    assert_ne!(tb[0], 200_000);
}

#[test]
fn idle_timeout_bounds_backend_think_time() {
    // SVC-5, RP-46: a backend answering within idle_timeout is waited for; one that does not
    // gets the client a 504 page (point 4) where the original closes without a byte.
    let rig = Rig::under_test(&obs_proxy("  SET idle_timeout = 2\n"));
    assert_eq!(rig.get("/delay/1000/hello").status(), 200);
    let mut c = rig.client();
    c.send("GET /delay/9000/hello HTTP/1.0\r\n\r\n");
    let t = Instant::now();
    if expect_divergence("SVC-5") {
        let r = c
            .try_response(false, Duration::from_secs(8))
            .unwrap_or_else(|e| panic!("no 504 page: {e}"));
        assert_eq!(r.status(), 504, "{r:?}");
        assert_eq!(r.header("Content-Type"), Some("text/html"));
        assert!(r.body_text().starts_with("<h1>504"), "{r:?}");
        c.read_to_close(Duration::from_secs(2));
        assert!(t.elapsed() < Duration::from_secs(6), "{:?}", t.elapsed());
    } else {
        // The original closes without a byte, but only at its second 5 s sweep (~10 s).
        let bytes = c.read_for(Duration::from_secs(3));
        assert!(bytes.is_empty(), "{:?}", String::from_utf8_lossy(&bytes));
    }
}
