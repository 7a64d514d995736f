//! A scriptable HTTP backend for reverse-proxy tests (std threads and sockets only): binds
//! 127.0.0.1:0, serves HTTP/1.0 and 1.1 with optional keep-alive, answers by path, and records
//! every connection and every request head it receives, byte for byte, so tests can assert
//! exactly what a proxy sent and how it reused connections.
//!
//! Paths (query strings ignored):
//!
//! | path | answer |
//! |---|---|
//! | `/echo` | 200, body = the raw request head received + the request body |
//! | `/hello`, `/` | 200, body [`HELLO_BODY`] |
//! | `/status/<code>[/<reason>]` | that status (reason `%20`-decoded; default from a small table) |
//! | `/delay/<ms>[/<rest>]` | waits, then answers as `/<rest>` (`/hello` if empty) |
//! | `/nolength` | 200 without Content-Length, body ended by close |
//! | `/chunked` | `HTTP/1.1 200` with `Transfer-Encoding: chunked` (and a bogus Content-Length), close |
//! | `/close-before-headers` | reads the request, closes without a byte |
//! | `/close-mid-body[/<promised>/<sent>]` | promises Content-Length 100 (or N), sends 9 (or M) bytes, closes |
//! | `/reset` | reads the request, resets the connection (SO_LINGER 0) |
//! | `/upload` | 200, body `length=<n> crc32=<8 hex>\n` of the request body it read |
//! | `/sleep-forever` | reads the request, never answers (waits for the peer to close) |
//! | anything else | 404 |
//!
//! `OPTIONS` requests (the proxy's `verify_backend` probe, RP-8) are answered per
//! [`BackendOpts::verify`]. Tests can override the path table with [`Backend::script`] (the next
//! requests, in order), [`Backend::set_route`] (one path) and [`Backend::set_always`] (every
//! request). [`refusing_port`] gives a port with nothing listening and [`Blackhole`] a port whose
//! connects never complete.
mod conn;

use std::collections::{BTreeMap, VecDeque};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use super::ports::free_port;
use conn::accept_loop;
pub use conn::phrase;

/// Body of `/hello`.
pub const HELLO_BODY: &[u8] = b"hello from the backend\n";
/// Bytes of a request body kept in [`Recorded::body`]; longer bodies are only measured.
pub const BODY_KEEP: usize = 4 << 20;

/// What the backend does with one request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// 200, body = raw request head + body.
    Echo,
    /// 200, body [`HELLO_BODY`].
    Hello,
    /// `HTTP/1.x <code> <reason>`; `None` takes the phrase from a small table.
    Status(u16, Option<String>),
    /// Waits, then does the inner action.
    Delay(Duration, Box<Action>),
    /// 200 without Content-Length; the body ends with the connection.
    NoLength,
    /// `HTTP/1.1 200 OK` + `Transfer-Encoding: chunked` + `Content-Length: 99`, chunked body
    /// `hello world`, then close (OBS-13).
    Chunked,
    /// Closes without sending a byte.
    CloseBeforeHeaders,
    /// Promises `promised` bytes, sends `sent` bytes of body, closes.
    CloseMidBody { promised: usize, sent: usize },
    /// Resets the connection (RST) after reading the request.
    Reset,
    /// 200, body `length=<n> crc32=<hex>\n` of the request body.
    Upload,
    /// Never answers; waits until the peer closes.
    SleepForever,
    /// Sends these exact bytes, then closes (`close`) or reads the next request.
    Raw { bytes: Vec<u8>, close: bool },
}

impl Action {
    /// A raw response sent as is, then the connection is closed.
    pub fn raw_close(bytes: impl AsRef<[u8]>) -> Action {
        Action::Raw {
            bytes: bytes.as_ref().to_vec(),
            close: true,
        }
    }

    /// A raw response sent as is; the connection stays open for the next request.
    pub fn raw_keep(bytes: impl AsRef<[u8]>) -> Action {
        Action::Raw {
            bytes: bytes.as_ref().to_vec(),
            close: false,
        }
    }

    /// The action the path table gives to a request target.
    pub fn for_target(target: &str) -> Action {
        let path = target.split('?').next().unwrap_or("");
        let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        let number = |i: usize| segments.get(i).and_then(|s| s.parse::<u64>().ok());
        match segments.first().copied().unwrap_or("") {
            "" | "hello" => Action::Hello,
            "echo" => Action::Echo,
            "status" => match number(1) {
                Some(code) => Action::Status(
                    u16::try_from(code).unwrap_or(500),
                    segments.get(2).map(|r| r.replace("%20", " ")),
                ),
                None => Action::Status(404, None),
            },
            "delay" => {
                let ms = number(1).unwrap_or(0);
                let rest = segments.get(2..).map(|s| s.join("/")).unwrap_or_default();
                Action::Delay(
                    Duration::from_millis(ms),
                    Box::new(Action::for_target(&format!("/{rest}"))),
                )
            }
            "nolength" => Action::NoLength,
            "chunked" => Action::Chunked,
            "close-before-headers" => Action::CloseBeforeHeaders,
            "close-mid-body" => Action::CloseMidBody {
                promised: number(1).map_or(100, |n| n as usize),
                sent: number(2).map_or(9, |n| n as usize),
            },
            "reset" => Action::Reset,
            "upload" => Action::Upload,
            "sleep-forever" => Action::SleepForever,
            _ => Action::Status(404, None),
        }
    }
}

/// How `OPTIONS` verify probes are answered (RP-8/RP-9).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verify {
    /// `HTTP/1.0 200 OK`, `Connection: keep-alive`, `Content-Length: 0`; connection kept.
    KeepAlive,
    /// `HTTP/1.0 200 OK`, `Content-Length: 0`, then close (a verify failure for Perlbal).
    NoKeepAlive,
}

/// Backend behaviour that is not per request.
#[derive(Clone, Debug)]
pub struct BackendOpts {
    /// Keep connections open when the request asks for it (HTTP/1.0 `Connection: keep-alive`,
    /// HTTP/1.1 without `Connection: close`). Off: every answer closes.
    pub keep_alive: bool,
    /// Answer with `HTTP/1.1` status lines (persistent by default) instead of `HTTP/1.0`.
    pub http11: bool,
    /// How `OPTIONS` probes are answered.
    pub verify: Verify,
    /// Delay before answering an `OPTIONS` probe.
    pub verify_delay: Duration,
}

impl Default for BackendOpts {
    fn default() -> BackendOpts {
        BackendOpts {
            keep_alive: true,
            http11: false,
            verify: Verify::KeepAlive,
            verify_delay: Duration::ZERO,
        }
    }
}

impl BackendOpts {
    /// A backend that closes after every answer.
    pub fn no_keep_alive() -> BackendOpts {
        BackendOpts {
            keep_alive: false,
            ..BackendOpts::default()
        }
    }
}

/// One request as the backend received it.
#[derive(Clone, Debug)]
pub struct Recorded {
    /// 1-based number of the connection it arrived on (in accept order).
    pub conn: usize,
    /// 1-based position of the request on its connection.
    pub seq: usize,
    /// The raw head, request line to the blank line included, exactly as received.
    pub head: String,
    /// Header fields in wire order (`name`, `value` without the leading space).
    pub headers: Vec<(String, String)>,
    /// The body (decoded if chunked), at most [`BODY_KEEP`] bytes of it.
    pub body: Vec<u8>,
    pub body_len: u64,
    pub body_crc32: u32,
    /// False while the body is still arriving, or when the connection ended (or the framing
    /// broke) before the whole body arrived.
    pub body_complete: bool,
    /// The body came with `Transfer-Encoding: chunked`.
    pub chunked: bool,
    /// When the head was complete.
    pub at: Instant,
}

impl Recorded {
    pub fn request_line(&self) -> &str {
        self.head.split("\r\n").next().unwrap_or("")
    }

    pub fn method(&self) -> &str {
        self.request_line().split(' ').next().unwrap_or("")
    }

    pub fn target(&self) -> &str {
        self.request_line().split(' ').nth(1).unwrap_or("")
    }

    pub fn version(&self) -> &str {
        self.request_line().rsplit(' ').next().unwrap_or("")
    }

    /// First value of a header (name case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The head's lines without line ends, request line first, blank line excluded.
    pub fn lines(&self) -> Vec<&str> {
        self.head.trim_end_matches("\r\n").split("\r\n").collect()
    }

    /// `length=<n> crc32=<hex>`, as `/upload` answers.
    pub fn upload_summary(&self) -> String {
        upload_summary(self.body_len, self.body_crc32)
    }
}

/// The `/upload` answer for a body of `len` bytes with CRC-32 `crc`.
pub fn upload_summary(len: u64, crc: u32) -> String {
    format!("length={len} crc32={crc:08x}\n")
}

#[derive(Debug, Default)]
struct State {
    accepted: usize,
    open: usize,
    per_conn: Vec<usize>,
    requests: Vec<Recorded>,
    script: VecDeque<Action>,
    routes: Vec<(String, Action)>,
    always: Option<Action>,
    /// Clones of the open connections, for [`Backend::close_all`].
    streams: BTreeMap<usize, TcpStream>,
}

#[derive(Debug)]
struct Shared {
    state: Mutex<State>,
    changed: Condvar,
    stop: AtomicBool,
    listening: AtomicBool,
    opts: BackendOpts,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn stopped(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    /// Records a request whose head just arrived; returns its index for [`Shared::update`].
    fn record(&self, rec: Recorded) -> usize {
        let mut st = self.lock();
        if let Some(n) = st.per_conn.get_mut(rec.conn - 1) {
            *n += 1;
        }
        st.requests.push(rec);
        self.changed.notify_all();
        st.requests.len() - 1
    }

    /// Replaces the record at `index` (once its body has been read).
    fn update(&self, index: usize, rec: Recorded) {
        let mut st = self.lock();
        if let Some(slot) = st.requests.get_mut(index) {
            *slot = rec;
        }
        self.changed.notify_all();
    }

    /// The action for a (non-OPTIONS) request: script first, then `always`, routes, path table.
    fn action_for(&self, target: &str) -> Action {
        let mut st = self.lock();
        if let Some(a) = st.script.pop_front() {
            return a;
        }
        if let Some(a) = &st.always {
            return a.clone();
        }
        let path = target.split('?').next().unwrap_or("");
        if let Some((_, a)) = st.routes.iter().find(|(p, _)| p == target || p == path) {
            return a.clone();
        }
        drop(st);
        Action::for_target(target)
    }
}

/// A running test backend; stops listening and drops every connection when dropped.
#[derive(Debug)]
pub struct Backend {
    shared: Arc<Shared>,
    addr: SocketAddr,
    acceptor: Option<JoinHandle<()>>,
}

/// A snapshot of a backend's counters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Counters {
    /// TCP connections accepted so far.
    pub accepted: usize,
    /// Connections currently open.
    pub open: usize,
    /// Requests received so far (OPTIONS included).
    pub requests: usize,
}

impl Backend {
    /// Starts a backend on a fresh loopback port.
    pub fn start(opts: BackendOpts) -> Backend {
        let listener = TcpListener::bind("127.0.0.1:0").expect("binding a backend port");
        let addr = listener.local_addr().expect("backend local_addr");
        let shared = Arc::new(Shared {
            state: Mutex::new(State::default()),
            changed: Condvar::new(),
            stop: AtomicBool::new(false),
            listening: AtomicBool::new(true),
            opts,
        });
        let acceptor = {
            let shared = Arc::clone(&shared);
            thread::spawn(move || accept_loop(&shared, &listener))
        };
        Backend {
            shared,
            addr,
            acceptor: Some(acceptor),
        }
    }

    /// A backend with default options (HTTP/1.0, keep-alive honoured, verify succeeds).
    pub fn new() -> Backend {
        Backend::start(BackendOpts::default())
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// `127.0.0.1:<port>`, as Perlbal lists nodes.
    pub fn node(&self) -> String {
        format!("127.0.0.1:{}", self.port())
    }

    /// TCP connections accepted so far.
    pub fn connections(&self) -> usize {
        self.shared.lock().accepted
    }

    /// Connections currently open.
    pub fn open_connections(&self) -> usize {
        self.shared.lock().open
    }

    pub fn counters(&self) -> Counters {
        let st = self.shared.lock();
        Counters {
            accepted: st.accepted,
            open: st.open,
            requests: st.requests.len(),
        }
    }

    /// Every request received so far, in arrival order (OPTIONS included).
    pub fn requests(&self) -> Vec<Recorded> {
        self.shared.lock().requests.clone()
    }

    /// Requests received after the first `skip`.
    pub fn requests_since(&self, skip: usize) -> Vec<Recorded> {
        self.shared
            .lock()
            .requests
            .get(skip..)
            .map(<[Recorded]>::to_vec)
            .unwrap_or_default()
    }

    pub fn request_count(&self) -> usize {
        self.shared.lock().requests.len()
    }

    /// The `OPTIONS` verify probes received.
    pub fn options_requests(&self) -> Vec<Recorded> {
        self.requests()
            .into_iter()
            .filter(|r| r.method() == "OPTIONS")
            .collect()
    }

    pub fn last_request(&self) -> Option<Recorded> {
        self.shared.lock().requests.last().cloned()
    }

    /// Number of requests served on each connection, in accept order.
    pub fn requests_per_connection(&self) -> Vec<usize> {
        self.shared.lock().per_conn.clone()
    }

    /// Waits until `done(counters)` holds; false on timeout.
    pub fn wait_until(&self, timeout: Duration, done: impl Fn(&Counters) -> bool) -> bool {
        let deadline = Instant::now() + timeout;
        let mut st = self.shared.lock();
        loop {
            let c = Counters {
                accepted: st.accepted,
                open: st.open,
                requests: st.requests.len(),
            };
            if done(&c) {
                return true;
            }
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            st = match self.shared.changed.wait_timeout(st, deadline - now) {
                Ok((guard, _)) => guard,
                Err(p) => p.into_inner().0,
            };
        }
    }

    /// Waits until at least `n` requests arrived; false on timeout.
    pub fn wait_for_requests(&self, n: usize, timeout: Duration) -> bool {
        self.wait_until(timeout, |c| c.requests >= n)
    }

    /// Waits until exactly `n` connections are open; false on timeout.
    pub fn wait_open(&self, n: usize, timeout: Duration) -> bool {
        self.wait_until(timeout, |c| c.open == n)
    }

    /// Queues actions for the next requests (OPTIONS excepted), ahead of every other rule.
    pub fn script(&self, actions: impl IntoIterator<Item = Action>) {
        self.shared.lock().script.extend(actions);
    }

    /// Answers requests whose target (or path without query) is `path` with `action`.
    pub fn set_route(&self, path: &str, action: Action) {
        let mut st = self.shared.lock();
        st.routes.retain(|(p, _)| p != path);
        st.routes.push((path.to_string(), action));
    }

    /// Answers every request with `action` (`None`: back to routes and the path table).
    pub fn set_always(&self, action: Option<Action>) {
        self.shared.lock().always = action;
    }

    /// Stops accepting: new connects are refused from now on. Open connections keep working.
    pub fn stop_listening(&mut self) {
        if self.shared.listening.swap(false, Ordering::SeqCst) {
            // Wake the acceptor; it sees the flag and drops the listener.
            let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        }
        if let Some(handle) = self.acceptor.take() {
            let _ = handle.join();
        }
    }

    /// Closes every open connection from the backend side (FIN).
    pub fn close_all(&self) {
        for s in self.shared.lock().streams.values() {
            let _ = s.shutdown(Shutdown::Both);
        }
    }
}

impl Default for Backend {
    fn default() -> Backend {
        Backend::new()
    }
}

impl Drop for Backend {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        self.stop_listening();
        self.close_all();
    }
}

/// A loopback port with nothing listening: connects are refused (a dead node).
pub fn refusing_port() -> u16 {
    free_port()
}

/// A loopback port whose listener never accepts and whose accept queue is full, so new
/// connects hang in SYN-SENT (a node that times out at the TCP level).
#[derive(Debug)]
pub struct Blackhole {
    _listener: socket2::Socket,
    _fillers: Vec<TcpStream>,
    port: u16,
}

impl Blackhole {
    pub fn start() -> Blackhole {
        use socket2::{Domain, Socket, Type};
        let listener =
            Socket::new(Domain::IPV4, Type::STREAM, None).expect("creating blackhole socket");
        let any: SocketAddr = SocketAddr::from(([127, 0, 0, 1], 0));
        listener.bind(&any.into()).expect("binding blackhole");
        listener.listen(0).expect("listen(0)");
        let port = listener
            .local_addr()
            .ok()
            .and_then(|a| a.as_socket())
            .map(|a| a.port())
            .expect("blackhole local addr");
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        // Fill the accept queue until a connect no longer completes.
        let mut fillers = Vec::new();
        for _ in 0..8 {
            match TcpStream::connect_timeout(&addr, Duration::from_millis(300)) {
                Ok(s) => fillers.push(s),
                Err(_) => break,
            }
        }
        Blackhole {
            _listener: listener,
            _fillers: fillers,
            port,
        }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// True if a connect to it does not complete within `wait`.
    pub fn swallows(&self, wait: Duration) -> bool {
        let addr = SocketAddr::from(([127, 0, 0, 1], self.port));
        TcpStream::connect_timeout(&addr, wait).is_err()
    }
}
