//! The table of live sockets: the source of the `socks`, `states` and `socks summary` outputs
//! (MGMT-14, MGMT-15, MGMT-19, MGMT-20), and of idle timeouts (HTTP-19).
//!
//! Each socket registers one small [`SockEntry`] for its lifetime; the connection updates its
//! state, request count and last-activity second with relaxed atomics, so the hot path pays no
//! lock and no timer. The table is sharded by file descriptor so that workers registering and
//! dropping connections at the same time rarely meet on one lock. Class and state names are the
//! original's Perl names, because monitoring scripts parse them.
//!
//! Idle timeouts are enforced by a sweeper thread (like the original's periodic sweep, but
//! every [`SWEEP_INTERVAL`] instead of every 5 s): a connection idle past its limit has its
//! socket shut down, which ends its task at its next read or write. A waiting connection
//! therefore holds no timer at all.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::net::{SocketAddr, SocketAddrV4};
use std::os::fd::RawFd;
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The kind of a socket, named as the original names its classes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SockClass {
    TcpListener,
    ClientHttp,
    ClientProxy,
    ClientManage,
    BackendHttp,
    UploadListener,
}

impl SockClass {
    const ALL: [SockClass; 6] = [
        SockClass::TcpListener,
        SockClass::ClientHttp,
        SockClass::ClientProxy,
        SockClass::ClientManage,
        SockClass::BackendHttp,
        SockClass::UploadListener,
    ];

    /// The Perl class name shown by the management commands.
    pub fn perl_name(self) -> &'static str {
        match self {
            SockClass::TcpListener => "Perlbal::TCPListener",
            SockClass::ClientHttp => "Perlbal::ClientHTTP",
            SockClass::ClientProxy => "Perlbal::ClientProxy",
            SockClass::ClientManage => "Perlbal::ClientManage",
            SockClass::BackendHttp => "Perlbal::BackendHTTP",
            SockClass::UploadListener => "Perlbal::UploadListener",
        }
    }

    fn is_http_client(self) -> bool {
        matches!(self, SockClass::ClientHttp | SockClass::ClientProxy)
    }
}

/// Connection states, with the original's names (MGMT-15).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u8)]
pub enum SockState {
    /// Sockets the original gives no state (listeners, management clients).
    None = 0,
    ReadingHeaders,
    WaitBackend,
    BackendReqSent,
    WaitRes,
    XferRes,
    DrainingRes,
    BufferingRequest,
    BufferingUpload,
    WaitStat,
    WaitOpen,
    XferDisk,
    XferResp,
    PersistWait,
    Closed,
    Connecting,
    VerifyingBackend,
    Bored,
    SendingReq,
}

impl SockState {
    const ALL: [SockState; 19] = [
        SockState::None,
        SockState::ReadingHeaders,
        SockState::WaitBackend,
        SockState::BackendReqSent,
        SockState::WaitRes,
        SockState::XferRes,
        SockState::DrainingRes,
        SockState::BufferingRequest,
        SockState::BufferingUpload,
        SockState::WaitStat,
        SockState::WaitOpen,
        SockState::XferDisk,
        SockState::XferResp,
        SockState::PersistWait,
        SockState::Closed,
        SockState::Connecting,
        SockState::VerifyingBackend,
        SockState::Bored,
        SockState::SendingReq,
    ];

    /// The state's name as the original prints it; `None` for stateless sockets.
    pub fn name(self) -> Option<&'static str> {
        Some(match self {
            SockState::None => return None,
            SockState::ReadingHeaders => "reading_headers",
            SockState::WaitBackend => "wait_backend",
            SockState::BackendReqSent => "backend_req_sent",
            SockState::WaitRes => "wait_res",
            SockState::XferRes => "xfer_res",
            SockState::DrainingRes => "draining_res",
            SockState::BufferingRequest => "buffering_request",
            SockState::BufferingUpload => "buffering_upload",
            SockState::WaitStat => "wait_stat",
            SockState::WaitOpen => "wait_open",
            SockState::XferDisk => "xfer_disk",
            SockState::XferResp => "xfer_resp",
            SockState::PersistWait => "persist_wait",
            SockState::Closed => "closed",
            SockState::Connecting => "connecting",
            SockState::VerifyingBackend => "verifying_backend",
            SockState::Bored => "bored",
            SockState::SendingReq => "sending_req",
        })
    }

    fn from_u8(v: u8) -> SockState {
        SockState::ALL
            .get(usize::from(v))
            .copied()
            .unwrap_or(SockState::None)
    }

    /// Which events the original watches in this state: (read, write), shown as `(RW)`.
    fn watched_events(self, class: SockClass) -> (bool, bool) {
        if class == SockClass::BackendHttp {
            return match self {
                SockState::Connecting | SockState::SendingReq => (false, true),
                _ => (true, false),
            };
        }
        match self {
            SockState::XferDisk | SockState::XferResp | SockState::XferRes => (false, true),
            SockState::WaitStat | SockState::WaitOpen => (false, false),
            _ => (true, false),
        }
    }
}

/// One live socket.
#[derive(Debug)]
pub struct SockEntry {
    fd: RawFd,
    class: SockClass,
    created: u64,
    peer: Option<SocketAddr>,
    local_port: u16,
    service: Option<Arc<str>>,
    state: AtomicU8,
    /// Requests read (clients) or served (backends: `uses`).
    requests: AtomicU32,
    /// Backends: the file descriptor of the client being served, -1 when none.
    client_fd: std::sync::atomic::AtomicI32,
    /// Backends: whether verify_backend applies (then `has_attention` is shown), and its value.
    attention: AtomicU8,
    /// [`coarse_seconds`] at the last read or write that moved bytes.
    last_active: AtomicU32,
    /// Seconds of inactivity after which the sweeper closes the socket; 0 = never.
    idle_limit: AtomicU32,
    /// The request in flight (`http://host/uri`), or a listener's description.
    detail: Mutex<String>,
    /// Proxy clients: the backend serving the request, packed by [`pack_node`] (0: none).
    backend: AtomicU64,
    /// Proxy clients: request body bytes not read yet; [`NO_LENGTH`] when the request has no
    /// `Content-Length`.
    waiting_for: AtomicU64,
    /// Proxy clients: [`HIGHPRI`] and [`REPROXYING`].
    proxy_flags: AtomicU8,
}

/// `waiting_for` of a request without a length.
const NO_LENGTH: u64 = u64::MAX;
/// The request waits in (or came through) the high-priority queue.
pub const HIGHPRI: u8 = 1;
/// A reproxy URL is being fetched and has not answered yet.
pub const REPROXYING: u8 = 2;

fn pack_node(node: SocketAddrV4) -> u64 {
    (u64::from(u32::from(*node.ip())) << 16) | u64::from(node.port())
}

fn unpack_node(packed: u64) -> Option<SocketAddrV4> {
    let ip = u32::try_from(packed >> 16).ok()?;
    let port = (packed & 0xffff) as u16;
    (packed != 0).then(|| SocketAddrV4::new(ip.into(), port))
}

impl SockEntry {
    pub fn state(&self) -> SockState {
        SockState::from_u8(self.state.load(Ordering::Relaxed))
    }

    pub fn set_state(&self, state: SockState) {
        self.state.store(state as u8, Ordering::Relaxed);
    }

    /// Records activity now (bytes moved), restarting the idle timer.
    pub fn touch(&self) {
        self.last_active.store(coarse_seconds(), Ordering::Relaxed);
    }

    /// Sets how long the socket may stay idle from now on (0 = forever), and touches it.
    pub fn set_idle_limit(&self, seconds: u64) {
        self.idle_limit.store(
            u32::try_from(seconds).unwrap_or(u32::MAX),
            Ordering::Relaxed,
        );
        self.touch();
    }

    fn idle_expired(&self, now: u32) -> bool {
        let limit = self.idle_limit.load(Ordering::Relaxed);
        limit > 0 && now.saturating_sub(self.last_active.load(Ordering::Relaxed)) >= limit
    }

    /// Counts one more request read on this connection.
    pub fn count_request(&self) {
        self.requests.fetch_add(1, Ordering::Relaxed);
    }

    pub fn requests(&self) -> u32 {
        self.requests.load(Ordering::Relaxed)
    }

    pub fn class(&self) -> SockClass {
        self.class
    }

    pub fn fd(&self) -> RawFd {
        self.fd
    }

    pub fn service(&self) -> Option<&str> {
        self.service.as_deref()
    }

    /// The service's name, shared.
    pub fn service_name(&self) -> Option<Arc<str>> {
        self.service.clone()
    }

    pub fn peer(&self) -> Option<SocketAddr> {
        self.peer
    }

    pub fn created(&self) -> u64 {
        self.created
    }

    /// Backends: which client fd is being served (`None` when bored).
    pub fn set_client_fd(&self, fd: Option<RawFd>) {
        self.client_fd.store(fd.unwrap_or(-1), Ordering::Relaxed);
    }

    /// Backends: `has_attention` as `socks` shows it when verify_backend is on (`None` hides it).
    pub fn set_attention(&self, attention: Option<bool>) {
        let value = match attention {
            None => ATTENTION_HIDDEN,
            Some(false) => ATTENTION_NO,
            Some(true) => ATTENTION_YES,
        };
        self.attention.store(value, Ordering::Relaxed);
    }

    /// Records the request in flight as `http://<host>/<uri>`, reusing the string's storage.
    pub fn set_request(&self, host: Option<&str>, uri: &str) {
        let host = host.filter(|h| !h.is_empty()).unwrap_or("unknown");
        let mut detail = lock(&self.detail);
        detail.clear();
        detail.reserve("http://".len() + host.len() + uri.len());
        detail.push_str("http://");
        detail.push_str(host);
        detail.push_str(uri);
    }

    /// Forgets the request in flight (the connection went back to waiting).
    pub fn clear_request(&self) {
        lock(&self.detail).clear();
        self.set_backend(None);
        self.waiting_for.store(NO_LENGTH, Ordering::Relaxed);
        self.proxy_flags.store(0, Ordering::Relaxed);
    }

    /// Proxy clients: the backend (or reproxy target) now serving the request.
    pub fn set_backend(&self, node: Option<SocketAddrV4>) {
        self.backend
            .store(node.map_or(0, pack_node), Ordering::Relaxed);
    }

    /// Proxy clients: the request's `Content-Length`, if it has one.
    pub fn set_waiting_for(&self, length: Option<u64>) {
        self.waiting_for
            .store(length.unwrap_or(NO_LENGTH), Ordering::Relaxed);
    }

    /// `n` request body bytes were read.
    pub fn note_body_read(&self, n: u64) {
        let waiting = self.waiting_for.load(Ordering::Relaxed);
        if waiting != NO_LENGTH {
            self.waiting_for
                .store(waiting.saturating_sub(n), Ordering::Relaxed);
        }
    }

    /// Turns a proxy client flag ([`HIGHPRI`], [`REPROXYING`]) on or off.
    pub fn set_proxy_flag(&self, flag: u8, on: bool) {
        if on {
            self.proxy_flags.fetch_or(flag, Ordering::Relaxed);
        } else {
            self.proxy_flags.fetch_and(!flag, Ordering::Relaxed);
        }
    }

    /// What `socks` adds for a proxy client after its request (MGMT-19).
    fn write_proxy_detail(&self, out: &mut String) {
        if let Some(node) = unpack_node(self.backend.load(Ordering::Relaxed)) {
            let _ = write!(out, "; backend={node}");
        }
        let flags = self.proxy_flags.load(Ordering::Relaxed);
        if flags & HIGHPRI != 0 {
            out.push_str("; highpri");
        }
        let waiting = self.waiting_for.load(Ordering::Relaxed);
        if waiting != NO_LENGTH {
            let _ = write!(out, "; waiting_for={waiting}");
        }
        if flags & REPROXYING != 0 {
            out.push_str("; reproxying");
        }
    }

    /// The one-line description used by `socks` (MGMT-19).
    pub fn describe(&self) -> String {
        let state = self.state();
        let (mut read, write) = state.watched_events(self.class);
        if self.class == SockClass::BackendHttp && state == SockState::Bored {
            // A connection that never served is not read from yet (connect-ahead).
            read = self.requests() > 0;
        }
        let (read, write) = if self.class == SockClass::BackendHttp
            && state == SockState::SendingReq
            && self.service.is_none()
        {
            // A reproxy target's connection (no service) keeps the state name while it
            // waits for the answer, reading (MGMT-24).
            (true, false)
        } else {
            (read, write)
        };
        let mut out = String::with_capacity(96);
        out.push_str(self.class.perl_name());
        out.push('(');
        if read {
            out.push('R');
        }
        if write {
            out.push('W');
        }
        out.push_str("): open");
        if matches!(
            self.class,
            SockClass::TcpListener | SockClass::UploadListener
        ) {
            let _ = write!(out, ": {}", lock(&self.detail));
            return out;
        }
        // A socket still connecting has no peer address yet (the original prints none).
        let connecting = self.class == SockClass::BackendHttp && state == SockState::Connecting;
        if let (Some(peer), false) = (self.peer, connecting) {
            let _ = write!(out, " to {peer}");
        }
        let local_port = self.local_port;
        if self.class == SockClass::BackendHttp {
            if local_port > 0 {
                let _ = write!(out, ": localport={local_port}");
            }
            let client = self.client_fd.load(Ordering::Relaxed);
            if client >= 0 {
                let _ = write!(out, "; client={client}");
            }
            let _ = write!(out, "; uses={}", self.requests());
            if let Some(name) = state.name() {
                let _ = write!(out, "; {name}");
            }
            match self.attention.load(Ordering::Relaxed) {
                ATTENTION_NO => out.push_str("; has_attention=no"),
                ATTENTION_YES => out.push_str("; has_attention=yes"),
                _ => {}
            }
            return out;
        }
        if self.class.is_http_client() {
            let _ = write!(out, ": localport={local_port}; reqs={}", self.requests());
            if let Some(name) = state.name() {
                let _ = write!(out, "; {name}");
            }
            let detail = lock(&self.detail);
            if !detail.is_empty() {
                let _ = write!(out, "; {detail}");
            }
            drop(detail);
            if self.class == SockClass::ClientProxy {
                self.write_proxy_detail(&mut out);
            }
        }
        out
    }
}

const ATTENTION_HIDDEN: u8 = 0;
const ATTENTION_NO: u8 = 1;
const ATTENTION_YES: u8 = 2;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding one of these locks cannot leave the data half-updated in a way
    // that matters for a status display, so poisoning is ignored.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

const SHARDS: usize = 16;

/// All live sockets of the process.
#[derive(Debug)]
pub struct Registry {
    shards: Vec<Mutex<HashMap<RawFd, Arc<SockEntry>>>>,
    /// Sockets ever registered, per class (for `obj`, MGMT-25).
    created: [AtomicU64; SockClass::ALL.len()],
}

/// Registration of one socket; dropping it removes the socket from the table.
#[derive(Debug)]
pub struct SockHandle {
    entry: Arc<SockEntry>,
}

impl SockHandle {
    /// A shared view of the entry, for observers that outlive no one (e.g. a pool listing
    /// connects in progress).
    pub fn entry(&self) -> Arc<SockEntry> {
        Arc::clone(&self.entry)
    }
}

impl std::ops::Deref for SockHandle {
    type Target = SockEntry;
    fn deref(&self) -> &SockEntry {
        &self.entry
    }
}

impl Drop for SockHandle {
    fn drop(&mut self) {
        let registry = registry();
        let mut shard = lock(registry.shard(self.entry.fd));
        // Only remove our own entry: the fd may already belong to a newer socket.
        if shard
            .get(&self.entry.fd)
            .is_some_and(|e| Arc::ptr_eq(e, &self.entry))
        {
            shard.remove(&self.entry.fd);
        }
    }
}

/// What a new socket tells the registry about itself.
#[derive(Debug)]
pub struct SockInfo {
    pub fd: RawFd,
    pub class: SockClass,
    pub peer: Option<SocketAddr>,
    pub local_port: u16,
    pub service: Option<Arc<str>>,
    pub detail: String,
}

/// The process-wide registry.
pub fn registry() -> &'static Registry {
    static REGISTRY: OnceLock<Registry> = OnceLock::new();
    REGISTRY.get_or_init(|| Registry {
        shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
        created: Default::default(),
    })
}

/// Seconds since the Unix epoch, as the management outputs count time.
pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl Registry {
    fn shard(&self, fd: RawFd) -> &Mutex<HashMap<RawFd, Arc<SockEntry>>> {
        let index = usize::try_from(fd).unwrap_or(0) % self.shards.len();
        &self.shards[index]
    }

    /// Adds a socket; it stays listed until the returned handle is dropped.
    pub fn register(&self, info: SockInfo, state: SockState) -> SockHandle {
        let entry = Arc::new(SockEntry {
            fd: info.fd,
            class: info.class,
            created: unix_now(),
            peer: info.peer,
            local_port: info.local_port,
            service: info.service,
            state: AtomicU8::new(state as u8),
            requests: AtomicU32::new(0),
            client_fd: std::sync::atomic::AtomicI32::new(-1),
            attention: AtomicU8::new(0),
            last_active: AtomicU32::new(coarse_seconds()),
            idle_limit: AtomicU32::new(0),
            detail: Mutex::new(info.detail),
            backend: AtomicU64::new(0),
            waiting_for: AtomicU64::new(NO_LENGTH),
            proxy_flags: AtomicU8::new(0),
        });
        lock(self.shard(info.fd)).insert(info.fd, Arc::clone(&entry));
        self.created[info.class as usize].fetch_add(1, Ordering::Relaxed);
        SockHandle { entry }
    }

    /// `(class, live, ever created)` for every class that has had a socket (MGMT-25).
    pub fn object_counts(&self) -> Vec<(&'static str, u64, u64)> {
        let live = self.snapshot();
        SockClass::ALL
            .iter()
            .filter_map(|&class| {
                let created = self.created[class as usize].load(Ordering::Relaxed);
                let now = live.iter().filter(|e| e.class == class).count() as u64;
                (created > 0).then_some((class.perl_name(), now, created))
            })
            .collect()
    }

    /// Every live socket, sorted by file descriptor.
    pub fn snapshot(&self) -> Vec<Arc<SockEntry>> {
        let mut all: Vec<Arc<SockEntry>> = self
            .shards
            .iter()
            .flat_map(|s| lock(s).values().cloned().collect::<Vec<_>>())
            .collect();
        all.sort_by_key(|e| e.fd);
        all
    }
}

/// How often idle connections are looked for.
pub const SWEEP_INTERVAL: Duration = Duration::from_millis(250);

fn clock_origin() -> Instant {
    static ORIGIN: OnceLock<Instant> = OnceLock::new();
    *ORIGIN.get_or_init(Instant::now)
}

/// Whole seconds since the process started, kept by the sweeper so that stamping activity on
/// the hot path is one relaxed load instead of a clock read.
static COARSE_SECONDS: AtomicU32 = AtomicU32::new(0);

fn tick_coarse_clock() -> u32 {
    let now = u32::try_from(clock_origin().elapsed().as_secs()).unwrap_or(u32::MAX);
    COARSE_SECONDS.store(now, Ordering::Relaxed);
    now
}

/// Whole seconds since the process started, as the idle timers count (at most one sweep
/// interval behind).
pub fn coarse_seconds() -> u32 {
    COARSE_SECONDS.load(Ordering::Relaxed)
}

/// Wakes the sweeper now (e.g. when a graceful shutdown begins).
pub fn wake_sweeper() {
    sweeper_signal().1.notify_all();
}

fn sweeper_signal() -> &'static (Mutex<()>, Condvar) {
    static SIGNAL: OnceLock<(Mutex<()>, Condvar)> = OnceLock::new();
    SIGNAL.get_or_init(|| (Mutex::new(()), Condvar::new()))
}

/// Starts the thread that closes idle connections. `close_waiting` says whether connections
/// waiting for a next request should be closed regardless (graceful shutdown, PROC-7).
pub fn start_sweeper(close_waiting: fn() -> bool) -> std::io::Result<()> {
    tick_coarse_clock();
    std::thread::Builder::new()
        .name("perlbal-idle".into())
        .spawn(move || loop {
            let (lock, signal) = sweeper_signal();
            let guard = lock.lock().unwrap_or_else(|e| e.into_inner());
            drop(signal.wait_timeout(guard, SWEEP_INTERVAL));
            registry().sweep(tick_coarse_clock(), close_waiting());
        })
        .map(drop)
}

impl Registry {
    /// Shuts down every socket idle past its limit (and, when `close_waiting`, every one waiting
    /// for a next request). Holding the shard lock guarantees the descriptor still belongs to
    /// the entry: a connection unregisters before its socket is closed.
    fn sweep(&self, now: u32, close_waiting: bool) {
        for shard in &self.shards {
            let shard = lock(shard);
            for entry in shard.values() {
                let waiting = close_waiting && entry.state() == SockState::PersistWait;
                if waiting || entry.idle_expired(now) {
                    crate::sys::shutdown_socket(entry.fd);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(fd: RawFd, class: SockClass) -> SockInfo {
        SockInfo {
            fd,
            class,
            peer: "127.0.0.1:50894".parse().ok(),
            local_port: 18082,
            service: Some(Arc::from("web")),
            detail: String::new(),
        }
    }

    #[test]
    fn client_description_matches_mgmt_19() {
        let h = registry().register(info(100_003, SockClass::ClientHttp), SockState::PersistWait);
        h.count_request();
        assert_eq!(
            h.describe(),
            "Perlbal::ClientHTTP(R): open to 127.0.0.1:50894: localport=18082; reqs=1; persist_wait"
        );
        h.set_request(Some("a.example"), "/x?y");
        h.set_state(SockState::XferDisk);
        assert_eq!(
            h.describe(),
            "Perlbal::ClientHTTP(W): open to 127.0.0.1:50894: localport=18082; reqs=1; xfer_disk; http://a.example/x?y"
        );
    }

    #[test]
    fn listener_description_matches_mgmt_19() {
        let mut i = info(100_004, SockClass::TcpListener);
        i.peer = None;
        i.detail = "listening on 127.0.0.1:18080 for service 'proxy'".into();
        let h = registry().register(i, SockState::None);
        assert_eq!(
            h.describe(),
            "Perlbal::TCPListener(R): open: listening on 127.0.0.1:18080 for service 'proxy'"
        );
    }

    #[test]
    fn dropping_the_handle_unregisters_only_its_own_entry() {
        let first = registry().register(info(100_005, SockClass::ClientManage), SockState::None);
        let second = registry().register(info(100_005, SockClass::ClientHttp), SockState::None);
        drop(first);
        let listed = registry().snapshot();
        assert!(listed
            .iter()
            .any(|e| e.fd() == 100_005 && e.class() == SockClass::ClientHttp));
        drop(second);
        assert!(!registry().snapshot().iter().any(|e| e.fd() == 100_005));
    }
}
