//! TCPListener: binds a service's listening socket and accepts connections on every worker.
//!
//! Binding happens at once, when `ENABLE` (or `SET listen` on an enabled service) runs, so bind
//! errors reach the command that caused them (CFG-17, PROC-1). Accepting starts when the workers
//! are running: each worker accepts on its own duplicate of the descriptor. Stopping waits until
//! every worker has let go of its duplicate, so the port is really free when `DISABLE` answers.

use std::io;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::time::Duration;

use socket2::{Domain, Protocol, Socket, Type};
use tokio::sync::{mpsc, watch};

use crate::registry::{registry, SockClass, SockHandle, SockInfo, SockState};
use crate::runtime::Workers;

/// The listen backlog the original asks for (NET-2).
const BACKLOG: i32 = 1024;

/// How a new connection is handed to its service: called on the accepting worker.
pub type Acceptor = Arc<dyn Fn(Accepted, &Arc<str>) + Send + Sync>;

/// A connection just accepted, with the addresses the listener already knows (no
/// `getsockname` per connection).
#[derive(Debug)]
pub struct Accepted {
    pub stream: tokio::net::TcpStream,
    pub peer: SocketAddr,
    /// The listening port it came in on.
    pub local_port: u16,
}

/// A bound, listening socket of one service.
pub struct Listener {
    socket: std::net::TcpListener,
    service: Arc<str>,
    local: SocketAddr,
    stop: Option<watch::Sender<bool>>,
    stopped: Option<mpsc::Receiver<()>>,
    _registration: SockHandle,
}

impl std::fmt::Debug for Listener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Listener")
            .field("service", &self.service)
            .field("local", &self.local)
            .finish()
    }
}

/// Parses a `listen` value: `ip:port` or a bare port (all interfaces).
pub fn parse_listen(listen: &str) -> Option<SocketAddr> {
    if let Ok(port) = listen.parse::<u16>() {
        return Some(SocketAddr::V4(SocketAddrV4::new(
            Ipv4Addr::UNSPECIFIED,
            port,
        )));
    }
    listen.parse::<SocketAddrV4>().ok().map(SocketAddr::V4)
}

/// The text of an OS error without Rust's ` (os error N)` suffix, as `strerror` words it.
pub fn os_error_text(err: &io::Error) -> String {
    let text = err.to_string();
    match text.find(" (os error ") {
        Some(cut) => text[..cut].to_string(),
        None => text,
    }
}

impl Listener {
    /// Binds `listen` for `service`. The error text is the original's, ready to follow
    /// `Can't start service '<n>' on <listen>: `.
    pub fn bind(listen: &str, service: &str) -> Result<Listener, String> {
        let addr = parse_listen(listen).ok_or_else(|| {
            "Error creating listening socket: IO::Socket::INET: Invalid argument".to_string()
        })?;
        let socket = bind_socket(addr).map_err(|e| {
            format!(
                "Error creating listening socket: IO::Socket::INET: {}",
                os_error_text(&e)
            )
        })?;
        let local = socket.local_addr().unwrap_or(addr);
        let registration = registry().register(
            SockInfo {
                fd: socket.as_raw_fd(),
                class: SockClass::TcpListener,
                peer: None,
                local_port: local.port(),
                service: Some(Arc::from(service)),
                detail: format!("listening on {listen} for service '{service}'"),
            },
            SockState::None,
        );
        Ok(Listener {
            socket,
            service: Arc::from(service),
            local,
            stop: None,
            stopped: None,
            _registration: registration,
        })
    }

    /// The address the socket is bound to.
    #[cfg(test)]
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// Starts accepting on every worker. Calling it twice has no further effect.
    pub fn activate(&mut self, workers: &Workers, acceptor: &Acceptor) {
        if self.stop.is_some() {
            return;
        }
        let (stop_tx, stop_rx) = watch::channel(false);
        let (done_tx, done_rx) = mpsc::channel::<()>(1);
        workers.run_on_all(|_| {
            let dup = self.socket.try_clone();
            let stop = stop_rx.clone();
            let done = done_tx.clone();
            let acceptor = Arc::clone(acceptor);
            let service = Arc::clone(&self.service);
            Box::new(move || match dup {
                Ok(dup) => {
                    tokio::task::spawn_local(accept_loop(dup, service, acceptor, stop, done));
                }
                Err(e) => tracing::error!("cannot share listening socket: {e}"),
            })
        });
        self.stop = Some(stop_tx);
        self.stopped = Some(done_rx);
    }

    /// Stops accepting and waits until no worker holds the socket any more; then closes it.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(true);
        }
        if let Some(mut stopped) = self.stopped.take() {
            // Resolves once every accept loop has dropped its sender.
            let _ = stopped.recv().await;
        }
    }
}

fn bind_socket(addr: SocketAddr) -> io::Result<std::net::TcpListener> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    socket.set_reuse_address(true)?;
    socket.set_nonblocking(true)?;
    socket.set_cloexec(true)?;
    // Accepted sockets inherit TCP_NODELAY from the listening one (Linux): no setsockopt per
    // connection.
    socket.set_tcp_nodelay(true)?;
    socket.bind(&addr.into())?;
    socket.listen(BACKLOG)?;
    Ok(socket.into())
}

async fn accept_loop(
    socket: std::net::TcpListener,
    service: Arc<str>,
    acceptor: Acceptor,
    mut stop: watch::Receiver<bool>,
    _done: mpsc::Sender<()>,
) {
    let listener = match tokio::net::TcpListener::from_std(socket) {
        Ok(l) => l,
        Err(e) => {
            tracing::error!("cannot watch listening socket for service {service}: {e}");
            return;
        }
    };
    let local_port = listener.local_addr().map_or(0, |a| a.port());
    // One wait for the stop signal across all accepts, not a new one per connection.
    let stopped = stop.changed();
    tokio::pin!(stopped);
    loop {
        tokio::select! {
            biased;
            _ = &mut stopped => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    let _span = crate::profiling::span("Perlbal::TCPListener-read");
                    acceptor(Accepted { stream, peer, local_port }, &service);
                }
                Err(e) => {
                    // Out of descriptors or memory: back off instead of spinning.
                    tracing::warn!("accept on service {service} failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepted_sockets_inherit_nodelay_from_the_listener() {
        let listener = bind_socket("127.0.0.1:0".parse().expect("address")).expect("bind");
        let addr = listener.local_addr().expect("local address");
        let _client = std::net::TcpStream::connect(addr).expect("connect");
        listener.set_nonblocking(false).expect("blocking accept");
        let (accepted, _) = listener.accept().expect("accept");
        assert!(accepted.nodelay().expect("getsockopt"));
    }

    #[test]
    fn listen_values_svc_2() {
        assert_eq!(parse_listen("8080"), "0.0.0.0:8080".parse().ok());
        assert_eq!(parse_listen("127.0.0.1:81"), "127.0.0.1:81".parse().ok());
        assert_eq!(parse_listen("localhost:81"), None);
    }

    #[test]
    fn binding_a_busy_port_gives_the_original_error_text() {
        let first = Listener::bind("127.0.0.1:0", "a").map_err(|e| e.to_string());
        let first = match first {
            Ok(l) => l,
            Err(e) => panic!("bind failed: {e}"),
        };
        let port = first.local_addr().port();
        match Listener::bind(&format!("127.0.0.1:{port}"), "b") {
            Ok(_) => panic!("second bind on the same port succeeded"),
            Err(e) => assert_eq!(
                e,
                "Error creating listening socket: IO::Socket::INET: Address already in use"
            ),
        }
    }
}
