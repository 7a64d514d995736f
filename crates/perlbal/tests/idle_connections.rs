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
use support::{is_reference, Client, Docroot, Kind, Mgmt, Perlbal};

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
fn a_client_silent_before_its_first_request_is_served_when_it_speaks() {
    // HTTP-19: a new connection that waits before sending (a browser's preconnect) is listed
    // reading headers, then served normally.
    let (_d, s) = web_server();
    let mut m = s.mgmt();
    let mut c = s.client("web");
    thread::sleep(IDLE);
    let line = socks_line(&mut m, c.local_port()).expect("the silent client is listed");
    assert!(line.ends_with("; reqs=0; reading_headers"), "{line}");
    get_ok(&mut c, "/data.txt", DATA_TXT);
    thread::sleep(IDLE);
    get_ok(&mut c, "/data.txt", DATA_TXT);
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

/// The descriptors each epoll instance of process `pid` watches, by the epoll's descriptor.
fn epoll_watch_lists(pid: u32) -> Vec<(String, Vec<u32>)> {
    let mut lists = Vec::new();
    let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
        return lists;
    };
    for fd in fds.flatten() {
        let is_epoll = std::fs::read_link(fd.path())
            .is_ok_and(|target| target.to_string_lossy().contains("eventpoll"));
        if !is_epoll {
            continue;
        }
        let name = fd.file_name().to_string_lossy().into_owned();
        let info =
            std::fs::read_to_string(format!("/proc/{pid}/fdinfo/{name}")).unwrap_or_default();
        let watched = info
            .lines()
            .filter_map(|l| l.strip_prefix("tfd:"))
            .filter_map(|rest| rest.split_whitespace().next()?.parse().ok())
            .collect();
        lists.push((name, watched));
    }
    lists
}

/// The server-side descriptor of the connection from `port`, from `socks`.
fn server_fd(m: &mut Mgmt, port: u16) -> u32 {
    let line = socks_line(m, port).expect("listed");
    line.split_whitespace()
        .next()
        .and_then(|fd| fd.parse().ok())
        .unwrap_or_else(|| panic!("no fd in {line}"))
}

#[test]
fn ours_takes_idle_connections_off_the_worker_event_loops() {
    // Ours only (the reference has one event loop and no parking): an idle keep-alive
    // connection leaves its worker's epoll for the parking lot's, and comes back for its next
    // request.
    if is_reference() {
        return;
    }
    let (_d, s) = web_server();
    let mut m = s.mgmt();
    let mut c = s.client("web");
    get_ok(&mut c, "/data.txt", DATA_TXT);
    let fd = server_fd(&mut m, c.local_port());
    // The watch lists (one per epoll descriptor; a worker may hold two for one instance) that
    // include the connection. A worker's also has its listener and other sockets; the parking
    // lot's, only parked connections — here, this one.
    let watching = |fd: u32| -> Vec<Vec<u32>> {
        epoll_watch_lists(s.pid())
            .into_iter()
            .map(|(_, watched)| watched)
            .filter(|watched| watched.contains(&fd))
            .collect()
    };
    let on_worker = |lists: &[Vec<u32>]| !lists.is_empty() && lists.iter().all(|l| l.len() > 1);
    let busy = watching(fd);
    assert!(on_worker(&busy), "watched by its worker: {busy:?}");
    thread::sleep(IDLE);
    let parked = watching(fd);
    assert!(
        !parked.is_empty() && parked.iter().all(|l| l == &[fd]),
        "watched by the parking lot only: {parked:?}"
    );
    get_ok(&mut c, "/data.txt", DATA_TXT);
    let back = watching(fd);
    assert!(on_worker(&back), "back on a worker: {back:?}");

    // A new connection that says nothing yet is parked too, beside the first one (idle again).
    let silent = s.client("web");
    thread::sleep(IDLE);
    let silent_fd = server_fd(&mut m, silent.local_port());
    let parked = watching(silent_fd);
    let only_clients = |l: &Vec<u32>| l.iter().all(|f| [fd, silent_fd].contains(f));
    assert!(
        !parked.is_empty() && parked.iter().all(only_clients),
        "a silent new connection is parked: {parked:?} (fds {fd}, {silent_fd})"
    );
}
