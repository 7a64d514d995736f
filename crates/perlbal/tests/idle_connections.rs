//! Keep-alive connections that go idle between requests (HTTP-13, SVC-5, MGMT-19): ours parks
//! them off the event loops after a moment of silence (see `src/parking.rs`), which must be
//! invisible to clients and to the management port — the next request is answered, pipelined
//! ones in order, `socks` still lists the connection as waiting, and one closed by its client
//! while parked disappears. Checked against the reference too.
mod support;

use std::thread;
use std::time::Duration;

use support::configs::web;
use support::docroot::DATA_TXT;
use support::proxy::{eventually, obs_proxy, Rig};
use support::{Client, Docroot, Kind, Mgmt, Perlbal};

/// Long enough for ours to have parked the connection.
const IDLE: Duration = Duration::from_millis(400);

fn web_server() -> (Docroot, Perlbal) {
    let docroot = Docroot::standard();
    let server = Perlbal::launch(Kind::UnderTest, &web())
        .docroot(&docroot)
        .start();
    (docroot, server)
}

/// The `socks` line of the connection from the client's `port`, if listed.
fn socks_line(m: &mut Mgmt, port: u16) -> Option<String> {
    let from = format!(" to 127.0.0.1:{port}:");
    m.listing("socks").into_iter().find(|l| l.contains(&from))
}

/// Requests `path` on `c` (HTTP/1.1, kept alive) and checks the answer.
#[track_caller]
fn get_ok(c: &mut Client, path: &str, body: &[u8]) {
    c.send(format!("GET {path} HTTP/1.1\r\nHost: a\r\n\r\n"));
    let r = c.response();
    assert_eq!(r.status(), 200, "{r:?}");
    assert_eq!(r.body, body);
    assert!(r.keeps_alive(), "{r:?}");
}

#[test]
fn an_idle_web_client_is_listed_waiting_and_served_again() {
    let (_d, s) = web_server();
    let mut m = s.mgmt();
    let mut c = s.client("web");
    get_ok(&mut c, "/data.txt", DATA_TXT);
    thread::sleep(IDLE);
    let line = socks_line(&mut m, c.local_port()).expect("the idle client is listed");
    assert!(line.ends_with("; reqs=1; persist_wait"), "{line}");
    for _ in 0..2 {
        get_ok(&mut c, "/data.txt", DATA_TXT);
        thread::sleep(IDLE);
    }
    // Two pipelined requests after a pause: both answered, in order.
    c.send("GET /data.txt HTTP/1.1\r\nHost: a\r\n\r\nGET /missing HTTP/1.1\r\nHost: a\r\n\r\n");
    assert_eq!(c.response().status(), 200);
    assert_eq!(c.response().status(), 404);
    let line = socks_line(&mut m, c.local_port()).expect("still listed");
    assert!(line.contains("; reqs=5; "), "{line}");
}

#[test]
fn an_idle_proxy_client_is_served_again_on_a_kept_backend() {
    let rig = Rig::start(Kind::UnderTest, &obs_proxy(""));
    let mut c = rig.client();
    for _ in 0..3 {
        c.send("GET /hello HTTP/1.1\r\nHost: a\r\n\r\n");
        let r = c.response();
        assert_eq!(r.status(), 200, "{r:?}");
        assert!(r.keeps_alive(), "{r:?}");
        thread::sleep(IDLE);
    }
    let line = socks_line(&mut rig.mgmt(), c.local_port()).expect("the idle client is listed");
    assert!(line.ends_with("; reqs=3; persist_wait"), "{line}");
    assert_eq!(
        rig.backend().connections(),
        1,
        "one kept backend connection"
    );
}

#[test]
fn a_client_that_closes_while_idle_is_forgotten() {
    let (_d, s) = web_server();
    let mut m = s.mgmt();
    let mut c = s.client("web");
    get_ok(&mut c, "/data.txt", DATA_TXT);
    thread::sleep(IDLE);
    let port = c.local_port();
    assert!(socks_line(&mut m, port).is_some());
    drop(c);
    let gone = eventually(Duration::from_secs(3), || {
        socks_line(&mut m, port).is_none()
    });
    assert!(gone, "{:?}", socks_line(&mut m, port));
    // Many idle clients at once, then all served again.
    let mut clients: Vec<Client> = (0..50).map(|_| s.client("web")).collect();
    for c in &mut clients {
        get_ok(c, "/data.txt", DATA_TXT);
    }
    thread::sleep(IDLE);
    for c in &mut clients {
        get_ok(c, "/data.txt", DATA_TXT);
    }
}
