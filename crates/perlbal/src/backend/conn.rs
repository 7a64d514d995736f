//! BackendHTTP: one connection to a pool node, or to a spawned `server_process` (RP-4, RP-7,
//! RP-8, RP-14).
//!
//! ```text
//!  connecting ──► verifying_backend (OPTIONS, with verify_backend) ──► bored ◄──────────┐
//!      │                 │ reply without keep-alive: node on the no-verify list     │
//!      ▼                 ▼                                                         │
//!   failed: node paused 1 s                           sending_req ─► wait_res ─► xfer_res
//! ```
//!
//! A connection is registered with the event loop of the worker that opened it; a client on
//! another worker takes it over with [`Backend::adopt`], which moves the socket to the
//! client's worker so that its readiness events arrive where they are awaited.

use std::io;
use std::net::{SocketAddr, SocketAddrV4};
use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::time::{Duration, Instant};

use perlbal_http::{
    verify_reply_keeps_alive, HeadError, HeadScan, HeadScanner, ResponseHead,
    MAX_RESPONSE_HEAD_BYTES,
};
use socket2::{Domain, Protocol, Socket, Type};
use tokio::net::TcpStream;

use super::transport::Transport;
use super::{nodes, Endpoint};
use crate::buffers::{self, BufferKind};
use crate::registry::{registry, SockClass, SockEntry, SockHandle, SockInfo, SockState};
use crate::runtime::current_worker;

/// How long a TCP connect may take (RP-4, RP-46).
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long the verify OPTIONS may take before the node counts as failed.
pub const VERIFY_TIMEOUT: Duration = Duration::from_secs(15);

/// Why a connection could not be made ready.
#[derive(Debug)]
pub enum ConnectError {
    /// The TCP connect failed or timed out: pause the node.
    Connect(io::Error),
    /// The verify OPTIONS reply did not allow keep-alive, or failed: node on no-verify.
    Verify,
}

/// Why no usable response head came back.
#[derive(Debug)]
pub enum ResponseError {
    /// The backend closed or reset before a complete head.
    Closed,
    /// The head was malformed or too large.
    Invalid(HeadError),
}

/// An open connection to a backend node.
///
/// A handle to the connection's state in a box: the connection changes hands on every request
/// (pool, client, pool) and lives in the state of every request in flight, where a pointer is
/// cheaper to move and to keep than the state itself.
pub struct Backend(Box<BackendState>);

/// What a [`Backend`] handle points to; its fields are this module's.
pub struct BackendState {
    /// Declared first: unregister before the socket closes (see `registry`).
    sock: SockHandle,
    stream: Transport,
    endpoint: Endpoint,
    worker: Option<usize>,
    created: Instant,
    uses: u32,
    has_attention: bool,
    /// Whether `socks` shows `has_attention` (verify_backend is on).
    shows_attention: bool,
    /// From the backend's `Keep-Alive: timeout=N` (RP-2 `too_close_disconnect`).
    disconnect_at: Option<Instant>,
    /// Bytes read from the backend and not yet consumed start at `pos`; a pooled buffer
    /// while a response is read, none while idle.
    buf: Vec<u8>,
    pos: usize,
}

impl std::ops::Deref for Backend {
    type Target = BackendState;

    fn deref(&self) -> &BackendState {
        &self.0
    }
}

impl std::ops::DerefMut for Backend {
    fn deref_mut(&mut self) -> &mut BackendState {
        &mut self.0
    }
}

impl Drop for BackendState {
    fn drop(&mut self) {
        buffers::give_back(BufferKind::BackendRead, std::mem::take(&mut self.buf));
    }
}

impl std::fmt::Debug for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Backend")
            .field("endpoint", &self.endpoint)
            .finish()
    }
}

/// A connection being opened: the connect is under way and `socks` lists the socket as
/// `connecting`.
pub struct Connecting {
    sock: SockHandle,
    stream: Transport,
    endpoint: Endpoint,
}

/// Lets byte-moving code take a backend connection or anything that holds one.
impl AsMut<Backend> for Backend {
    fn as_mut(&mut self) -> &mut Backend {
        self
    }
}

impl Connecting {
    /// Starts a connection to `endpoint` for `service` and lists its socket: a non-blocking
    /// connect to a node, or a spawned program. Must run on a worker (the socket joins its
    /// event loop).
    pub fn start(endpoint: &Endpoint, service: Option<&Arc<str>>) -> io::Result<Connecting> {
        let node = match endpoint {
            Endpoint::Node(node) => *node,
            Endpoint::Process(program) => return Self::spawn(program, service),
        };
        let socket = Socket::new(Domain::IPV4, Type::STREAM, Some(Protocol::TCP))?;
        socket.set_nonblocking(true)?;
        socket.set_cloexec(true)?;
        nodes::record_attempt(node);
        match socket.connect(&SocketAddr::V4(node).into()) {
            Ok(()) => {}
            Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => {}
            Err(e) => return Err(e),
        }
        let local_port = socket
            .local_addr()
            .ok()
            .and_then(|a| a.as_socket())
            .map_or(0, |a| a.port());
        let sock = registry().register(
            SockInfo {
                fd: socket.as_raw_fd(),
                class: SockClass::BackendHttp,
                peer: Some(SocketAddr::V4(node)),
                local_port,
                service: service.cloned(),
                detail: String::new(),
            },
            SockState::Connecting,
        );
        let stream = TcpStream::from_std(std::net::TcpStream::from(socket))?;
        Ok(Connecting {
            sock,
            stream: Transport::Tcp(stream),
            endpoint: Endpoint::Node(node),
        })
    }

    fn spawn(program: &Arc<str>, service: Option<&Arc<str>>) -> io::Result<Connecting> {
        let stream = Transport::spawn(program)?;
        let sock = registry().register(
            SockInfo {
                fd: stream.raw_fd(),
                class: SockClass::BackendHttp,
                peer: None,
                local_port: 0,
                service: service.cloned(),
                detail: String::new(),
            },
            SockState::Connecting,
        );
        Ok(Connecting {
            sock,
            stream,
            endpoint: Endpoint::Process(Arc::clone(program)),
        })
    }

    /// The socket's registry entry (its state tells `connecting` from `verifying_backend`).
    pub fn entry(&self) -> Arc<SockEntry> {
        self.sock.entry()
    }

    /// Connects and, if `verify_path` is given (and the node is not on the no-verify list),
    /// verifies the node with an OPTIONS request.
    pub async fn finish(self, verify_path: Option<&str>) -> Result<Backend, ConnectError> {
        let Connecting {
            sock,
            stream,
            endpoint,
        } = self;
        if let (Transport::Tcp(tcp), Endpoint::Node(node)) = (&stream, &endpoint) {
            let connected = tokio::time::timeout(CONNECT_TIMEOUT, tcp.writable()).await;
            nodes::record_connect(*node);
            match connected {
                Ok(Ok(())) => {}
                Ok(Err(e)) => return Err(ConnectError::Connect(e)),
                Err(_) => {
                    return Err(ConnectError::Connect(io::Error::new(
                        io::ErrorKind::TimedOut,
                        "connect timed out",
                    )))
                }
            }
            if let Some(e) = tcp.take_error().map_err(ConnectError::Connect)? {
                return Err(ConnectError::Connect(e));
            }
            let _ = tcp.set_nodelay(true);
        }
        let mut backend = Backend(Box::new(BackendState {
            sock,
            stream,
            endpoint,
            worker: current_worker(),
            created: Instant::now(),
            uses: 0,
            has_attention: false,
            shows_attention: verify_path.is_some(),
            disconnect_at: None,
            buf: Vec::new(),
            pos: 0,
        }));
        let skips_verify = backend.endpoint.node().is_some_and(nodes::skips_verify);
        match verify_path {
            Some(path) if !skips_verify => {
                backend.sock.set_attention(Some(false));
                backend.sock.set_state(SockState::VerifyingBackend);
                match tokio::time::timeout(VERIFY_TIMEOUT, backend.verify(path)).await {
                    Ok(true) => {
                        backend.has_attention = true;
                        backend.sock.set_attention(Some(true));
                        if let Some(node) = backend.endpoint.node() {
                            nodes::record_verify(node);
                        }
                    }
                    _ => {
                        if let Some(node) = backend.endpoint.node() {
                            nodes::mark_noverify(node);
                        }
                        return Err(ConnectError::Verify);
                    }
                }
            }
            Some(_) => backend.sock.set_attention(Some(false)),
            None => {}
        }
        backend.sock.set_state(SockState::Bored);
        Ok(backend)
    }
}

impl Backend {
    /// RP-8: `OPTIONS <path> HTTP/1.0` with keep-alive; success when the reply allows
    /// keep-alive; its body (by Content-Length) is read and dropped.
    async fn verify(&mut self, path: &str) -> bool {
        let request = format!("OPTIONS {path} HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
        if self.send(request.as_bytes()).await.is_err() {
            return false;
        }
        let Ok(head) = self.read_response_head().await else {
            return false;
        };
        if !verify_reply_keeps_alive(&head) {
            return false;
        }
        let length = head
            .headers()
            .get_str("Content-Length")
            .and_then(|v| v.trim().parse::<u64>().ok())
            .unwrap_or(0);
        self.discard(length).await.is_ok()
    }

    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// The pool node, if this connection goes to one.
    pub fn node(&self) -> Option<SocketAddrV4> {
        self.endpoint.node()
    }

    /// The TCP socket, for moving a body with `splice` (none for a `server_process` pipe).
    pub fn tcp(&self) -> Option<&tokio::net::TcpStream> {
        match &self.stream {
            Transport::Tcp(stream) => Some(stream),
            _ => None,
        }
    }

    pub fn sock(&self) -> &SockHandle {
        &self.sock
    }

    /// Requests served on this connection so far.
    pub fn uses(&self) -> u32 {
        self.uses
    }

    pub fn has_attention(&self) -> bool {
        self.has_attention
    }

    pub fn age(&self) -> Duration {
        self.created.elapsed()
    }

    /// Whether the backend's advertised keep-alive timeout is less than 2 s away (RP-2).
    pub fn too_close_to_disconnect(&self) -> bool {
        self.disconnect_at
            .is_some_and(|at| Instant::now() + Duration::from_secs(2) > at)
    }

    /// Whether the socket is registered with the calling worker's event loop (using it from
    /// another worker first costs two system calls to move it).
    pub fn is_local(&self) -> bool {
        self.worker == current_worker()
    }

    /// Moves the socket to the calling worker's event loop if it lives on another one.
    pub fn adopt(mut self) -> io::Result<Backend> {
        let here = current_worker();
        if here == self.worker {
            return Ok(self);
        }
        // A placeholder takes the socket's place while it moves; dropping it closes nothing.
        let stream = std::mem::replace(&mut self.stream, Transport::Detached);
        self.stream = stream.adopt()?;
        self.worker = here;
        Ok(self)
    }

    /// Writes all of `bytes`.
    pub async fn send(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.stream.write_all(bytes).await
    }

    /// Sends `len` bytes of `file` (a spooled upload), zero-copy to a node.
    pub async fn send_file(
        &mut self,
        file: &crate::static_files::OpenFile,
        len: u64,
    ) -> io::Result<()> {
        self.stream.send_file(file, len).await
    }

    /// Reads a response head; the bytes after it stay buffered (see [`Backend::buffered`]).
    pub async fn read_response_head(&mut self) -> Result<ResponseHead, ResponseError> {
        let mut scanner = HeadScanner::new(MAX_RESPONSE_HEAD_BYTES);
        loop {
            match scanner.scan(self.buffered()) {
                HeadScan::Complete {
                    head_len,
                    total_len,
                } => {
                    let head = ResponseHead::parse(&self.buffered()[..head_len]);
                    self.consume(total_len);
                    return head.map_err(ResponseError::Invalid);
                }
                HeadScan::TooLarge => return Err(ResponseError::Invalid(HeadError::TooLarge)),
                HeadScan::Incomplete => {}
            }
            if self.pos > 0 {
                // Keep a partial head at the front so that it can grow to the limit.
                let pos = std::mem::take(&mut self.pos);
                self.buf.drain(..pos);
                scanner.reset();
            }
            match self.fill().await {
                Ok(0) | Err(_) => return Err(ResponseError::Closed),
                Ok(_) => {}
            }
        }
    }

    /// Bytes read from the backend and not consumed yet.
    /// Takes the read buffer out with the offset of its unread bytes, leaving the connection
    /// with none: the last bytes of a response can go to the client after the connection went
    /// back to its pool, without copying them. Return the buffer with [`buffers::give_back`].
    pub fn take_buffer(&mut self) -> (Vec<u8>, usize) {
        let pos = std::mem::take(&mut self.pos);
        (std::mem::take(&mut self.buf), pos)
    }

    pub fn buffered(&self) -> &[u8] {
        &self.buf[self.pos..]
    }

    /// Drops the first `n` buffered bytes; the buffer goes back to the pool once all are.
    pub fn consume(&mut self, n: usize) {
        self.pos += n;
        if self.pos >= self.buf.len() {
            buffers::give_back(BufferKind::BackendRead, std::mem::take(&mut self.buf));
            self.pos = 0;
        }
    }

    /// Reads more bytes into the buffer: 0 means the backend closed.
    pub async fn fill(&mut self) -> io::Result<usize> {
        if self.buf.capacity() == 0 {
            self.buf = buffers::take(BufferKind::BackendRead);
        } else if self.buf.len() == self.buf.capacity() {
            if self.pos > 0 {
                let pos = std::mem::take(&mut self.pos);
                self.buf.drain(..pos);
            } else {
                self.buf.reserve(BufferKind::BackendRead.capacity());
            }
        }
        let this = &mut *self.0;
        loop {
            this.stream.readable().await?;
            let spare = this.buf.capacity() - this.buf.len();
            match this.stream.try_read_buf(&mut this.buf) {
                Ok(n) => {
                    if n < spare {
                        // A short read drained the socket: forget the cached readiness, so
                        // that `is_open` and the next read need no syscall to learn it.
                        this.stream.clear_read_readiness();
                    }
                    return Ok(n);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// Reads and drops `len` body bytes.
    async fn discard(&mut self, mut len: u64) -> io::Result<()> {
        loop {
            let take = self
                .buffered()
                .len()
                .min(usize::try_from(len).unwrap_or(usize::MAX));
            self.consume(take);
            len -= take as u64;
            if len == 0 {
                return Ok(());
            }
            if self.fill().await? == 0 {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
        }
    }

    /// Marks the connection as serving client `client_fd`.
    pub fn assign(&mut self, client_fd: i32) {
        self.sock.set_client_fd(Some(client_fd));
        self.sock.set_state(SockState::SendingReq);
    }

    /// After a complete response on a connection that stays open: one more use, the
    /// backend's keep-alive timeout remembered (RP-2), back to `bored`.
    pub fn finish_request(&mut self, keep_alive_timeout: Option<u64>) {
        self.uses += 1;
        self.sock.count_request();
        self.has_attention = true;
        if self.shows_attention {
            self.sock.set_attention(Some(true));
        }
        self.disconnect_at = keep_alive_timeout.map(|t| Instant::now() + Duration::from_secs(t));
        self.sock.set_client_fd(None);
        self.sock.set_state(SockState::Bored);
    }

    /// Whether an idle connection is still open and quiet: the backend has neither closed it
    /// nor sent anything unasked (then it cannot be reused).
    pub fn is_open(&self) -> bool {
        if !self.buffered().is_empty() {
            return false;
        }
        if !self.stream.may_be_readable() {
            return true; // no event since the last read drained it: no syscall needed
        }
        let mut probe = [0u8; 1];
        matches!(self.stream.try_read(&mut probe), Err(e) if e.kind() == io::ErrorKind::WouldBlock)
    }

    /// [`is_open`](Self::is_open) without trusting tokio's cached readiness, which only the
    /// event loop that owns the socket refreshes: a close that arrived a moment ago is seen.
    /// A syscall, for requests that could not be sent again should the connection be dead.
    pub fn is_open_now(&self) -> bool {
        if !self.buffered().is_empty() {
            return false;
        }
        match &self.stream {
            Transport::Tcp(tcp) => {
                use std::os::fd::AsFd;
                crate::sys::socket_is_quiet(tcp.as_fd())
            }
            _ => self.is_open(),
        }
    }
}
