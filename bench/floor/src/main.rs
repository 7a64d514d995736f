//! The floor under every reverse proxy's CPU cost per request on this kernel.
//!
//! A blind relay with no HTTP at all: each accepted client gets its own backend connection,
//! and whatever one side sends is written to the other (edge-triggered epoll, one thread,
//! TCP_NODELAY, a buffer per direction). A keep-alive request costs it exactly what it must
//! cost any proxy built on sockets — one read and one write on each side plus its share of an
//! `epoll_wait` — and nothing else: no parsing, no pool, no header rewriting. Its CPU per
//! request, measured like the proxies' in `bench/reverse_proxy.py --proxies floor,…`, is the
//! kernel's part of the bill, which no user-space work can lower.
//!
//! Usage: `relay-floor LISTEN_ADDR BACKEND_ADDR` (e.g. `127.0.0.1:8080 127.0.0.1:80`).

use std::collections::HashMap;
use std::io::{ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::fd::{AsRawFd, RawFd};

const BUF: usize = 64 * 1024;

struct Pair {
    client: TcpStream,
    backend: TcpStream,
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 3 {
        eprintln!("usage: relay-floor LISTEN_ADDR BACKEND_ADDR");
        std::process::exit(2);
    }
    let listener = TcpListener::bind(&args[1]).unwrap_or_else(|e| die("bind", e));
    listener
        .set_nonblocking(true)
        .unwrap_or_else(|e| die("listen", e));
    let backend_addr = args[2].clone();

    // SAFETY: plain syscall; the descriptor is checked.
    let ep = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
    if ep < 0 {
        die("epoll_create1", std::io::Error::last_os_error());
    }
    watch(ep, listener.as_raw_fd(), libc::EPOLLIN as u32);

    // Keyed by either side's descriptor; both keys lead to the pair.
    let mut peer_of: HashMap<RawFd, RawFd> = HashMap::new();
    let mut pairs: HashMap<RawFd, Pair> = HashMap::new();
    let mut buf = vec![0u8; BUF];
    let mut events = vec![libc::epoll_event { events: 0, u64: 0 }; 256];
    loop {
        // SAFETY: `events` outlives the call and its length is passed.
        let n = unsafe { libc::epoll_wait(ep, events.as_mut_ptr(), events.len() as i32, -1) };
        if n < 0 {
            continue;
        }
        for ev in &events[..n as usize] {
            let fd = ev.u64 as RawFd;
            if fd == listener.as_raw_fd() {
                accept_all(ep, &listener, &backend_addr, &mut peer_of, &mut pairs);
                continue;
            }
            let Some(&client_fd) = peer_of.get(&fd) else {
                continue;
            };
            let Some(pair) = pairs.get_mut(&client_fd) else {
                continue;
            };
            let (from, to) = if fd == client_fd {
                (&pair.client, &pair.backend)
            } else {
                (&pair.backend, &pair.client)
            };
            let hung_up = ev.events & (libc::EPOLLRDHUP | libc::EPOLLHUP) as u32 != 0;
            if !relay(from, to, &mut buf, hung_up) {
                let backend_fd = pair.backend.as_raw_fd();
                peer_of.remove(&client_fd);
                peer_of.remove(&backend_fd);
                pairs.remove(&client_fd);
            }
        }
    }
}

/// Moves everything readable from `from` to `to`; false once either side is done.
/// `hung_up`: the peer closed its side, so read on to the end of the stream.
fn relay(mut from: &TcpStream, to: &TcpStream, buf: &mut [u8], hung_up: bool) -> bool {
    loop {
        match from.read(buf) {
            Ok(0) => return false,
            Ok(n) => {
                if write_all(to, &buf[..n]).is_err() {
                    return false;
                }
                // A short read means the socket is drained: no need for a read that
                // would only say EAGAIN (edge-triggered, the next edge wakes us).
                if n < buf.len() && !hung_up {
                    return true;
                }
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => return true,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(_) => return false,
        }
    }
}

/// Writes all of `bytes`; should the peer's buffer fill up (large bodies), the rest is written
/// blocking, which stalls the other connections a moment but keeps the relay this simple.
fn write_all(mut to: &TcpStream, bytes: &[u8]) -> std::io::Result<()> {
    let mut rest = bytes;
    while !rest.is_empty() {
        match to.write(rest) {
            Ok(0) => return Err(ErrorKind::WriteZero.into()),
            Ok(n) => rest = &rest[n..],
            Err(e) if e.kind() == ErrorKind::WouldBlock => {
                to.set_nonblocking(false)?;
                let written = to.write_all(rest);
                to.set_nonblocking(true)?;
                return written;
            }
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

fn accept_all(
    ep: RawFd,
    listener: &TcpListener,
    backend_addr: &str,
    peer_of: &mut HashMap<RawFd, RawFd>,
    pairs: &mut HashMap<RawFd, Pair>,
) {
    while let Ok((client, _)) = listener.accept() {
        let Ok(backend) = TcpStream::connect(backend_addr) else {
            continue;
        };
        for s in [&client, &backend] {
            let _ = s.set_nodelay(true);
            let _ = s.set_nonblocking(true);
            let events = libc::EPOLLIN | libc::EPOLLRDHUP | libc::EPOLLET;
            watch(ep, s.as_raw_fd(), events as u32);
        }
        let (c, b) = (client.as_raw_fd(), backend.as_raw_fd());
        peer_of.insert(c, c);
        peer_of.insert(b, c);
        pairs.insert(c, Pair { client, backend });
    }
}

fn watch(ep: RawFd, fd: RawFd, events: u32) {
    let mut ev = libc::epoll_event {
        events,
        u64: fd as u64,
    };
    // SAFETY: `ev` lives across the call; `fd` is an open socket.
    if unsafe { libc::epoll_ctl(ep, libc::EPOLL_CTL_ADD, fd, &mut ev) } < 0 {
        die("epoll_ctl", std::io::Error::last_os_error());
    }
}

fn die(what: &str, e: std::io::Error) -> ! {
    eprintln!("relay-floor: {what}: {e}");
    std::process::exit(1);
}
