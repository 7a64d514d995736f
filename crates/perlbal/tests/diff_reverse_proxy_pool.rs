//! Differential reverse_proxy tests, pools and bodies: management listings with real backends
//! and real traffic (MGMT-10..23, STAT-2..4, RP-12, RP-40), pools changed at run time
//! (CFG-18, POOL-1), node files (POOL-3/4/5), buffered and spooled uploads (OBS-8, RP-26..28,
//! HTTP-17) with checksums compared at the backend, and malformed requests (OBS-4, HTTP-2..6).
mod support;

use std::thread;
use std::time::{Duration, SystemTime};

use support::backend::{upload_summary, Blackhole};
use support::checksum::Pattern;
use support::configs::MGMT;
use support::diff::Compare;
use support::proxy::{eventually, fold_node_times, obs_proxy, Rig, RigPair};
use support::{shape, Client, Mgmt, Response};

/// `   ip:port - state - 3s` → `… - <age>s`; `x.age 3` → `x.age <age>`.
fn fold_ages(line: &str) -> String {
    if let Some((head, age)) = line.rsplit_once(" - ") {
        if age.ends_with('s') && age[..age.len() - 1].bytes().all(|b| b.is_ascii_digit()) {
            return format!("{head} - <age>s");
        }
    }
    if let Some((head, _)) = line.split_once(".age ") {
        return format!("{head}.age <age>");
    }
    line.to_string()
}

/// One side's reply to `command` (placeholders filled), ports and paths normalised.
fn side_listing(rig: &Rig, m: &mut Mgmt, command: &str) -> Vec<String> {
    let cmd = rig.server.fill(command);
    m.listing(&cmd)
        .iter()
        .map(|l| rig.server.normalize(l))
        .collect()
}

/// Compares one listing between the sides (one management connection per side, `ms`) after
/// normalising ports and paths and applying `fold`; sorted when `sorted` (MGMT-43).
#[track_caller]
fn same_listing(
    p: &RigPair,
    ms: &mut [Mgmt; 2],
    command: &str,
    fold: fn(&str) -> String,
    sorted: bool,
) -> Vec<String> {
    let mut out: Vec<Vec<String>> = Vec::new();
    for (rig, m) in p.sides().into_iter().zip(ms.iter_mut()) {
        let mut lines: Vec<String> = side_listing(rig, m, command)
            .iter()
            .map(|l| fold(l))
            .collect();
        if sorted {
            lines.sort();
        }
        out.push(lines);
    }
    assert_eq!(
        out[0], out[1],
        "`{command}`: reference (left) vs under test (right)"
    );
    out.swap_remove(0)
}

/// A `pending` line (MGMT-16) split into its text with the age folded and the age itself:
/// `dead ip:port 3` → (`dead ip:port <age>`, 3).
fn split_pending_age(line: &str) -> (String, Option<u64>) {
    match line.rsplit_once(' ') {
        Some((head, age)) if !age.is_empty() && age.bytes().all(|b| b.is_ascii_digit()) => {
            (format!("{head} <age>"), age.parse().ok())
        }
        _ => (line.to_string(), None),
    }
}

/// Compares `pending` between the sides: the same lines byte for byte once the ages are folded,
/// and every age within one second of the other side's. Each side counts whole seconds from
/// its own connect to its own listing; the two connects and the two listings happen a little
/// apart (the reference answers a listing in about 40 ms, and is asked first), so a second
/// boundary can fall between one side's clock reading and the other's. Returns the folded
/// lines.
#[track_caller]
fn same_pending(p: &RigPair, ms: &mut [Mgmt; 2]) -> Vec<String> {
    let mut sides: Vec<Vec<(String, Option<u64>)>> = Vec::new();
    for (rig, m) in p.sides().into_iter().zip(ms.iter_mut()) {
        let mut lines: Vec<(String, Option<u64>)> = side_listing(rig, m, "pending")
            .iter()
            .map(|l| split_pending_age(l))
            .collect();
        lines.sort();
        sides.push(lines);
    }
    let folded = |lines: &[(String, Option<u64>)]| -> Vec<String> {
        lines.iter().map(|(text, _)| text.clone()).collect()
    };
    assert_eq!(
        folded(&sides[0]),
        folded(&sides[1]),
        "`pending`: reference (left) vs under test (right), ages folded"
    );
    for ((line, reference), (_, ours)) in sides[0].iter().zip(&sides[1]) {
        let close = match (reference, ours) {
            (Some(r), Some(o)) => r.abs_diff(*o) <= 1,
            _ => false,
        };
        assert!(
            close,
            "`pending` {line}: ages {reference:?} (reference) and {ours:?} (under test) differ by more than a second"
        );
    }
    folded(&sides[0])
}

fn keep(line: &str) -> String {
    line.to_string()
}

fn shape_of(line: &str) -> String {
    shape(line)
}

#[test]
fn management_listings_with_real_backends() {
    // MGMT-10..16, MGMT-19..23, RP-12, RP-40, STAT-2..4. A busy proxy and a service whose only
    // node never completes a connect.
    let hole = Blackhole::start();
    let template = format!(
        "{}CREATE POOL holes\n  POOL holes ADD 127.0.0.1:{{hole_port}}\nCREATE SERVICE dead\n  SET role = reverse_proxy\n  SET listen = 127.0.0.1:{{dead_port}}\n  SET pool = holes\nENABLE dead\n",
        obs_proxy("")
    );
    let hole_port = hole.port().to_string();
    let p = RigPair::start_with(&template, |l| l.var("hole_port", &hole_port));
    let mut kept = Vec::new();
    for rig in p.sides() {
        let mut c = rig.client();
        for path in ["/hello", "/hello", "/status/404", "/status/204", "/echo"] {
            c.send(format!("GET {path} HTTP/1.1\r\nHost: a\r\n\r\n"));
            c.response();
        }
        assert_eq!(rig.get("/hello").status(), 200);
        let mut waiting = Client::connect(rig.server.port("dead"));
        waiting.send("GET /x HTTP/1.0\r\n\r\n");
        kept.push((c, waiting));
    }
    thread::sleep(Duration::from_millis(300));
    let mut ms = p.each(|rig| rig.mgmt());
    let ms = &mut ms;
    let svc = same_listing(&p, ms, "show service proxy", keep, false);
    assert!(svc.contains(&" connect-ahead: 1/0".to_string()), "{svc:?}");
    let dead = same_listing(&p, ms, "show service dead", fold_ages, false);
    assert!(dead.contains(&"  pend clients: 1".to_string()), "{dead:?}");
    same_listing(&p, ms, "show pool", keep, false);
    let used = same_listing(&p, ms, "show pool backends", keep, false);
    assert_eq!(used, ["127.0.0.1:{backend_port} 6"]);
    same_listing(&p, ms, "show pool holes", keep, false);
    same_listing(&p, ms, "backends", keep, true);
    let pending = same_pending(&p, ms);
    assert_eq!(pending, ["dead 127.0.0.1:{hole_port} <age>"]);
    same_listing(&p, ms, "noverify", keep, true);
    same_listing(&p, ms, "queues", fold_ages, true);
    same_listing(&p, ms, "states", keep, true);
    same_listing(&p, ms, "states proxy", keep, true);
    same_listing(&p, ms, "states dead", keep, true);
    same_listing(&p, ms, "socks summary", keep, false);
    let nodes = same_listing(&p, ms, "nodes", fold_node_times, true);
    assert!(
        nodes.contains(&"127.0.0.1:{backend_port} responsecodes 200 4".to_string()),
        "{nodes:?}"
    );
    same_listing(
        &p,
        ms,
        "nodes 127.0.0.1:{backend_port}",
        fold_node_times,
        true,
    );
    same_listing(&p, ms, "node 127.0.0.1:{hole_port}", fold_node_times, true);
    let socks = same_listing(&p, ms, "socks", shape_of, true);
    assert!(
        socks.iter().any(|l| l.contains("Perlbal::BackendHTTP")),
        "{socks:?}"
    );
    p.assert_mgmt(
        &["show service nope", "show pool nope", "states nope"],
        Compare::Exact,
    );
    drop(kept);
}

#[test]
fn pool_nodes_added_and_removed_at_run_time() {
    // CFG-18, POOL-1, RP-11/12, MGMT-12: random choice per new connection over the current
    // nodes; removed nodes get nothing; re-adding moves a node to the end.
    let template = support::proxy::plain_proxy("");
    let p = RigPair::start_with(&template, |l| l.backend("second", Default::default()));
    p.assert_mgmt(
        &[
            "pool backends add 127.0.0.1:{second_port}",
            "show pool",
            "show pool backends",
        ],
        Compare::Exact,
    );
    for rig in p.sides() {
        for _ in 0..24 {
            assert_eq!(rig.get("/hello").status(), 200);
        }
        let (a, b) = (
            rig.backend().request_count(),
            rig.named("second").request_count(),
        );
        assert!(a > 0 && b > 0 && a + b == 24, "spread {a}/{b}");
    }
    p.assert_mgmt(&["show pool backends"], Compare::Shape);
    p.assert_mgmt(
        &[
            "pool backends remove 127.0.0.1:{backend_port}",
            "pool backends remove 127.0.0.1:{backend_port}",
            "show pool backends",
            "pool add backends 127.0.0.1:{backend_port}",
            "pool backends add 127.0.0.1:{second_port}",
            "show pool backends",
            "pool backends remove 127.0.0.1:{backend_port}",
            "pool backends frob 127.0.0.1:1",
            "pool nope add 127.0.0.1:1",
            "pool backends add localhost:80",
        ],
        Compare::Shape,
    );
    for rig in p.sides() {
        let before = rig.backend().request_count();
        for _ in 0..8 {
            assert_eq!(rig.get("/hello").status(), 200);
        }
        assert_eq!(
            rig.backend().request_count(),
            before,
            "removed node got traffic"
        );
    }
}

const NODEFILE_POOL: &str = "CREATE POOL backends\n  SET nodefile = {work}/nodes.txt\nCREATE SERVICE proxy\n  SET role = reverse_proxy\n  SET listen = 127.0.0.1:{proxy_port}\n  SET pool = backends\nENABLE proxy\n";

fn nodefile_pair() -> RigPair {
    RigPair::start_with(&format!("{MGMT}{NODEFILE_POOL}"), |l| {
        l.backend("second", Default::default()).file(
            "nodes.txt",
            "# the pool\nnode one: 127.0.0.1:{backend_port} # trailing\nnot a node\n",
        )
    })
}

/// Rewrites the node file with a new mtime (the original compares whole seconds).
fn rewrite_nodes(rig: &Rig, node_port: u16) {
    let path = rig.work().join("nodes.txt");
    std::fs::write(&path, format!("127.0.0.1:{node_port}\n")).expect("writing node file");
    let file = std::fs::File::options()
        .write(true)
        .open(&path)
        .expect("opening node file");
    file.set_modified(SystemTime::now() + Duration::from_secs(60))
        .expect("setting mtime");
}

/// The original re-reads a node file at most every 3 s (checked in whole seconds, so up to
/// 4 s), and only when it makes a new backend connection (POOL-4).
const RELOAD_WAIT: Duration = Duration::from_millis(4200);

#[test]
fn nodefile_is_loaded_and_reloaded_on_change() {
    // POOL-3, POOL-4.
    let p = nodefile_pair();
    for rig in p.sides() {
        assert_eq!(rig.get("/hello").status(), 200);
        assert_eq!(rig.backend().request_count(), 1);
    }
    p.assert_mgmt(
        &[
            "show pool backends",
            "show pool",
            "set backends.nodefile = {work}/missing.txt",
        ],
        Compare::Exact,
    );
    p.assert_mgmt(&["dumpconfig"], Compare::Set);
    for rig in p.sides() {
        rewrite_nodes(rig, rig.named("second").port());
    }
    thread::sleep(RELOAD_WAIT);
    for rig in p.sides() {
        assert_eq!(rig.get("/hello").status(), 200);
        assert_eq!(rig.named("second").request_count(), 1, "reloaded node file");
        assert_eq!(rig.backend().request_count(), 1);
    }
    p.assert_mgmt(&["show pool backends"], Compare::Exact);
}

#[test]
fn nodefile_none_stops_watching_and_keeps_nodes() {
    // POOL-5.
    let p = nodefile_pair();
    p.assert_mgmt(
        &["set backends.nodefile = none", "show pool backends"],
        Compare::Exact,
    );
    for rig in p.sides() {
        rewrite_nodes(rig, rig.named("second").port());
    }
    thread::sleep(RELOAD_WAIT);
    for rig in p.sides() {
        assert_eq!(rig.get("/hello").status(), 200);
        assert_eq!(rig.backend().request_count(), 1);
        assert_eq!(rig.named("second").request_count(), 0);
    }
    p.assert_mgmt(&["dumpconfig"], Compare::Set);
}

const SPOOLED: &str = "  SET buffer_uploads = on\n  SET buffer_uploads_path = {spool}\n";

#[test]
fn chunked_uploads_are_buffered_and_sent_with_a_length() {
    // OBS-8, RP-28, HTTP-16/17.
    let p = RigPair::start(&obs_proxy(SPOOLED));
    p.assert_same(
        "proxy",
        &[
            "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nExpect: 100-continue\r\n\r\n5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\n\r\n",
            "POST /echo HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n1\r\nd\r\nA\r\n0123456789\r\n0\r\n\r\n",
            "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
            "PUT /upload HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n4\r\nwiki\r\n5\r\npedia\r\n0\r\n\r\n",
        ],
    );
    let got = p.ours.backend().requests();
    let first = got.first().expect("the upload arrived");
    assert_eq!(
        first.lines(),
        [
            "POST /echo HTTP/1.0",
            "Host: a",
            "Content-Length: 11",
            "Connection: keep-alive",
            "X-Proxy-Capabilities: reproxy-file",
            "X-Forwarded-For: 127.0.0.1",
        ]
    );
    assert_eq!(first.body, b"hello world");
    for rig in p.sides() {
        assert!(
            eventually(Duration::from_secs(2), || rig.spool_files().is_empty()),
            "spool files left: {:?}",
            rig.spool_files()
        );
    }
}

#[test]
fn oversized_chunked_uploads_are_dropped() {
    // SVC-7, RP-28: past max_chunked_request_size the client is closed without a reply, the
    // spool file removed, and no backend contacted.
    let extra = format!("{SPOOLED}  SET max_chunked_request_size = 10\n");
    let p = RigPair::start(&obs_proxy(&extra));
    p.assert_same(
        "proxy",
        &[
            "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n5\r\nworld\r\n0\r\n\r\n",
            "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n14\r\n01234567890123456789\r\n0\r\n\r\n",
        ],
    );
    for rig in p.sides() {
        assert_eq!(
            rig.backend().request_count(),
            1,
            "only the 10-byte upload went out"
        );
        assert!(eventually(Duration::from_secs(2), || rig
            .spool_files()
            .is_empty()));
    }
}

#[test]
fn connect_ahead_opens_spare_connections_one_per_event() {
    // SVC-21, RP-3, MGMT-10: a spawn pass runs when connect_ahead changes on an enabled service
    // (not at startup, not on a timer), and opens at most one connection per node per pass.
    let p = RigPair::start(&obs_proxy(""));
    p.assert_mgmt(&["set proxy.connect_ahead = 2"], Compare::Exact);
    for rig in p.sides() {
        let b = rig.backend();
        assert!(
            b.wait_until(Duration::from_secs(3), |c| c.accepted >= 1),
            "{:?}",
            b.counters()
        );
    }
    thread::sleep(Duration::from_millis(300));
    let mut ms = p.each(|rig| rig.mgmt());
    let show = same_listing(&p, &mut ms, "show service proxy", keep, false);
    let [r, o] = p.each(|rig| rig.backend().counters());
    assert_eq!(r, o, "backend connections after the change");
    assert!(
        show.contains(&format!(" connect-ahead: {}/2", r.accepted)),
        "{show:?}"
    );
    p.assert_same(
        "proxy",
        &["GET /hello HTTP/1.0\r\n\r\n", "GET /hello HTTP/1.0\r\n\r\n"],
    );
    thread::sleep(Duration::from_millis(300));
    let [r, o] = p.each(|rig| rig.backend().counters());
    assert_eq!(r, o, "backend connections after two requests");
    same_listing(&p, &mut ms, "show service proxy", keep, false);
}

/// Sends a `Content-Length` upload of `len` pattern bytes to `/upload` and returns the reply.
fn upload(rig: &Rig, len: u64, seed: u64) -> Response {
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
    c.try_response(false, Duration::from_secs(20))
        .unwrap_or_else(|e| panic!("upload of {len} bytes: {e}"))
}

#[test]
fn uploads_arrive_intact_in_every_buffering_mode() {
    // RP-26 (streamed and memory-buffered), RP-27 (spooled to disk).
    let modes = [
        "",
        "  SET buffer_backend_connect = 0\n",
        SPOOLED,
        "  SET buffer_uploads = on\n  SET buffer_uploads_path = {spool}\n  SET buffer_upload_threshold_size = 1\n",
    ];
    for extra in modes {
        let p = RigPair::start(&obs_proxy(extra));
        for (i, len) in [0u64, 1, 70_000, 1 << 20].into_iter().enumerate() {
            let expected = upload_summary(len, Pattern::crc32(i as u64, len));
            let [r, o] = p.each(|rig| upload(rig, len, i as u64));
            assert_eq!(r.body_text(), expected, "reference, mode {extra:?}");
            assert_eq!(
                o.normalized(),
                r.normalized(),
                "mode {extra:?}, {len} bytes"
            );
        }
        for rig in p.sides() {
            let got = rig.backend().requests();
            assert!(got.iter().all(|r| r.body_complete && !r.chunked));
            assert!(
                eventually(Duration::from_secs(2), || rig.spool_files().is_empty()),
                "mode {extra:?}: spool files left: {:?}",
                rig.spool_files()
            );
        }
    }
}

#[test]
fn large_uploads_spool_to_disk_then_the_file_is_removed() {
    // RP-27, SVC-28/29/31: Content-Length ≥ 250k spools before any backend is asked; the file
    // is named `<service>-<listen>-client-<fd>-<random>` and removed after sending, or when the
    // client goes away.
    let p = RigPair::start(&obs_proxy(SPOOLED));
    let len: u64 = 300 * 1024;
    let body = Pattern::bytes(7, len as usize);
    let mut names = Vec::new();
    for rig in p.sides() {
        let mut c = rig.client();
        c.send(format!(
            "POST /upload HTTP/1.0\r\nContent-Length: {len}\r\n\r\n"
        ));
        c.send(&body[..100 * 1024]);
        assert!(
            eventually(Duration::from_secs(3), || rig.spool_files().len() == 1),
            "no spool file: {:?}",
            rig.spool_files()
        );
        names.push(shape(&rig.server.normalize(&rig.spool_files()[0])));
        assert_eq!(rig.backend().request_count(), 0, "spooling comes first");
        c.send(&body[100 * 1024..]);
        let r = c.response();
        assert_eq!(r.body_text(), upload_summary(len, Pattern::crc32(7, len)));
        assert!(eventually(Duration::from_secs(2), || rig
            .spool_files()
            .is_empty()));

        let mut quitter = rig.client();
        quitter.send(format!(
            "POST /upload HTTP/1.0\r\nContent-Length: {len}\r\n\r\n"
        ));
        quitter.send(&body[..50 * 1024]);
        assert!(eventually(Duration::from_secs(3), || rig
            .spool_files()
            .len()
            == 1));
        drop(quitter);
        assert!(
            eventually(Duration::from_secs(3), || rig.spool_files().is_empty()),
            "spool file of a departed client left: {:?}",
            rig.spool_files()
        );
        assert_eq!(rig.backend().request_count(), 1);
    }
    assert_eq!(names[0], "proxy-#:{proxy_port}-client-#-#");
    assert_eq!(names[0], names[1]);
}

#[test]
fn malformed_requests_are_closed_without_a_reply() {
    // OBS-4, HTTP-2/3/4/6, OBS-49: no bytes back, nothing reaches the backend.
    let p = RigPair::start(&obs_proxy(""));
    let huge = format!(
        "GET /hello HTTP/1.0\r\nX-Big: {}\r\n\r\n",
        "x".repeat(110_000)
    );
    p.assert_same(
        "proxy",
        &[
            "GET /hello HTTP/1.1\r\n\r\n",
            "GET /hello\r\n\r\n",
            "garbage\r\n\r\n",
            "GET /hello HTTP/1.0\r\nNoColonHere\r\n\r\n",
            "GET  /hello HTTP/1.0\r\n\r\n",
            huge.as_str(),
        ],
    );
    for rig in p.sides() {
        assert_eq!(rig.backend().request_count(), 0);
    }
}

/// The `socks` line of the proxy client connected from `port`.
fn client_line(m: &mut Mgmt, port: u16) -> String {
    let from = format!("ClientProxy(R): open to 127.0.0.1:{port}:");
    let socks = m.listing("socks");
    socks
        .iter()
        .find(|l| l.contains(&from))
        .map(|l| {
            l.split_once("Perlbal::")
                .map_or(l.as_str(), |(_, d)| d)
                .to_owned()
        })
        .unwrap_or_else(|| panic!("no client from port {port}: {socks:#?}"))
}

#[test]
fn socks_describes_proxy_clients_mid_request() {
    // MGMT-19: a proxy client waiting on its backend names it (`backend=ip:port`); one whose
    // body is still coming counts down `waiting_for`.
    let p = RigPair::start(&obs_proxy(""));
    for rig in p.sides() {
        let b = rig.backend();
        let node = b.node();
        b.set_route(
            "/slow",
            support::backend::Action::Delay(
                Duration::from_millis(1500),
                Box::new(support::backend::Action::Hello),
            ),
        );
        let mut slow = rig.client();
        slow.send("GET /slow HTTP/1.0\r\nHost: slow.example\r\n\r\n");
        let mut m = rig.mgmt();
        let port = slow.local_port();
        let mut line = String::new();
        eventually(Duration::from_secs(1), || {
            line = client_line(&mut m, port);
            line.contains("wait_res")
        });
        assert!(
            line.ends_with(&format!(
                "; reqs=1; wait_res; http://slow.example/slow; backend={node}"
            )),
            "{:?} {line}",
            rig.server.kind()
        );
        assert_eq!(slow.response().status(), 200);

        let mut upload = rig.client();
        upload.send("POST /echo HTTP/1.0\r\nContent-Length: 10\r\n\r\nabcd");
        let port = upload.local_port();
        for (more, left) in [("", 6), ("efg", 3)] {
            upload.send(more);
            let want =
                format!("; reqs=1; buffering_request; http://unknown/echo; waiting_for={left}");
            let mut line = String::new();
            eventually(Duration::from_secs(2), || {
                line = client_line(&mut m, port);
                line.ends_with(&want)
            });
            assert!(line.ends_with(&want), "{:?} {line}", rig.server.kind());
        }
        upload.send("hij");
        assert_eq!(upload.response().status(), 200);
    }
}
