//! The ReproxyManager (REPROXY-9, REPROXY-10): connections to `X-REPROXY-URL` targets, shared
//! by every service and every core, keyed by the target's `host:port` as written in the URL.
//!
//! Per target: idle keep-alive connections, reused while they have been idle under 5 s and are
//! not within 2 s of the target's announced keep-alive timeout; clients waiting for a
//! connection, in order; at most one connect in progress; and at most
//! `SERVER max_reproxy_connections` connections open (per target, else global; 0 = no cap).
//! When a connect fails while nothing else is connected to that target, every client waiting
//! for it is told at once, so each moves on to its next URL.
//!
//! A connection handed out is a [`TargetConn`]: dropping it closes the connection and frees its
//! place under the cap, so a client that goes away mid-fetch cannot leak capacity.

use std::collections::{HashMap, VecDeque};
use std::net::{IpAddr, SocketAddrV4};
use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, Weak};
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

use super::conn::{Backend, Connecting, CONNECT_TIMEOUT};
use super::Endpoint;
use crate::registry::{unix_now, SockEntry};

/// Targets remembered for `reproxy_state` even when unused.
const KNOWN_TARGETS: usize = 1024;
/// An idle connection unused for this long is closed rather than reused.
const IDLE_REUSE_LIMIT: Duration = Duration::from_secs(5);
/// The original sweeps a target's connection list when it is asked for and this many whole
/// seconds have passed since the last sweep (of any target); from then on `reproxy_state`
/// lists that target's `backends` line.
const LIST_SWEEP_SECONDS: u64 = 5;

/// Why no connection to a target could be had.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetDown {
    /// The name did not resolve to an IPv4 address.
    Unresolvable,
    /// Connecting failed or timed out, with nothing else connected.
    Unreachable,
}

/// A connection to a reproxy target, counted against its cap while it lives.
pub struct TargetConn {
    backend: Option<Backend>,
    target: Arc<str>,
    idle_since: Instant,
    /// The target's list of open connections holds a weak reference to this: the connection
    /// counts while it lives, with no bookkeeping on close.
    _slot: Arc<Slot>,
}

/// One open connection, as its target's list sees it.
struct Slot {
    sock: Arc<SockEntry>,
}

impl Deref for TargetConn {
    type Target = Backend;

    fn deref(&self) -> &Backend {
        self.backend
            .as_ref()
            .unwrap_or_else(|| unreachable!("a TargetConn holds its backend until dropped"))
    }
}

impl DerefMut for TargetConn {
    fn deref_mut(&mut self) -> &mut Backend {
        self.backend
            .as_mut()
            .unwrap_or_else(|| unreachable!("a TargetConn holds its backend until dropped"))
    }
}

impl AsMut<Backend> for TargetConn {
    fn as_mut(&mut self) -> &mut Backend {
        self
    }
}

impl Drop for TargetConn {
    fn drop(&mut self) {
        // Closing makes room under the cap: let a waiting client have a new connection. This
        // may run anywhere, even under the table's lock, so it only schedules the check.
        if crate::runtime::current_worker().is_some() {
            let key = Arc::clone(&self.target);
            tokio::task::spawn_local(async move { targets().connection_closed(&key) });
        }
    }
}

impl TargetConn {
    /// Moves the socket to the calling worker's event loop (see [`Backend::adopt`]).
    fn adopt(mut self) -> std::io::Result<TargetConn> {
        if let Some(backend) = self.backend.take() {
            self.backend = Some(backend.adopt()?);
        }
        Ok(self)
    }

    /// Whether an idle connection may serve another request.
    fn reusable(&self) -> bool {
        self.idle_since.elapsed() < IDLE_REUSE_LIMIT
            && !self.too_close_to_disconnect()
            && self.is_open()
    }
}

#[derive(Default)]
struct Target {
    /// Idle connections, oldest first.
    idle: Vec<TargetConn>,
    waiting: VecDeque<oneshot::Sender<Result<TargetConn, TargetDown>>>,
    connecting: bool,
    /// Every connection, idle or in use (for the cap and `reproxy_state`); closed ones are
    /// dead references, pruned when counted.
    open: Vec<Weak<Slot>>,
    /// Whether a connection was ever idle: `reproxy_state` lists the `bored` line from then on.
    ever_idle: bool,
    /// Whether `reproxy_state` lists the `backends` line: once a connect to the target ended
    /// (either way) or a list sweep met it, as in the original.
    backends_listed: bool,
}

impl Target {
    fn live_waiting(&self) -> usize {
        self.waiting.iter().filter(|w| !w.is_closed()).count()
    }

    fn open_count(&mut self) -> usize {
        self.open.retain(|slot| slot.strong_count() > 0);
        self.open.len()
    }
}

/// Every reproxy target's connections.
#[derive(Default)]
pub struct Targets {
    inner: Mutex<HashMap<Arc<str>, Target>>,
    /// Unix second of the last list sweep (0: none yet), see [`LIST_SWEEP_SECONDS`].
    last_sweep: AtomicU64,
}

/// The process-wide ReproxyManager.
pub fn targets() -> &'static Targets {
    static TARGETS: OnceLock<Targets> = OnceLock::new();
    TARGETS.get_or_init(Targets::default)
}

/// What `reproxy_state` shows of one target (MGMT-24).
#[derive(Debug)]
pub struct TargetReport {
    pub target: String,
    pub connecting: bool,
    /// Idle connections, once the target ever had one.
    pub idle: Option<usize>,
    pub waiting: usize,
    /// `socks`-style descriptions of the open connections, once the `backends` line is listed.
    pub connections: Option<Vec<String>>,
}

impl Targets {
    fn lock(&self) -> MutexGuard<'_, HashMap<Arc<str>, Target>> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A connection to `host:port`: an idle one at once, or the next to become free or be
    /// opened. Must run on a worker.
    pub async fn acquire(&self, host: &str, port: u16) -> Result<TargetConn, TargetDown> {
        let key: Arc<str> = Arc::from(format!("{host}:{port}"));
        if self.sweep_due() {
            let mut all = self.lock();
            all.entry(Arc::clone(&key)).or_default().backends_listed = true;
        }
        loop {
            // Checked and, if stale, dropped outside the lock (closing one takes it). The most
            // recently idle one on this worker's event loop first: moving one costs syscalls.
            let idle = self.lock().get_mut(&key).and_then(|t| {
                let newest = t.idle.len().checked_sub(1)?;
                let at = t.idle.iter().rposition(|c| c.is_local()).unwrap_or(newest);
                Some(t.idle.remove(at))
            });
            match idle {
                Some(conn) if conn.reusable() => {
                    return conn.adopt().map_err(|_| TargetDown::Unreachable);
                }
                Some(stale) => drop(stale),
                None => break,
            }
        }
        let rx = {
            let mut all = self.lock();
            let target = all.entry(Arc::clone(&key)).or_default();
            let (tx, rx) = oneshot::channel();
            target.waiting.push_back(tx);
            self.maybe_connect(&key, host.to_owned(), port, target);
            rx
        };
        match rx.await {
            Ok(Ok(conn)) => conn.adopt().map_err(|_| TargetDown::Unreachable),
            Ok(Err(down)) => Err(down),
            Err(_) => Err(TargetDown::Unreachable),
        }
    }

    /// Whether this request for a target is one the original sweeps its lists on: the first, or
    /// the first more than [`LIST_SWEEP_SECONDS`] after the last sweep.
    fn sweep_due(&self) -> bool {
        let now = unix_now();
        let last = self.last_sweep.load(Ordering::Relaxed);
        last + LIST_SWEEP_SECONDS < now
            && self
                .last_sweep
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
    }

    /// Starts a connect when clients wait, none is in progress and the cap allows one more.
    fn maybe_connect(&self, key: &Arc<str>, host: String, port: u16, target: &mut Target) {
        if target.connecting || target.live_waiting() == 0 {
            return;
        }
        let cap = crate::service::snapshot().reproxy_caps.for_target(key);
        if cap > 0 && target.open_count() as u64 >= cap {
            return;
        }
        target.connecting = true;
        let key = Arc::clone(key);
        tokio::task::spawn_local(async move {
            let result = connect(&host, port).await;
            targets().connect_finished(&key, host, port, result);
        });
    }

    fn connect_finished(
        &self,
        key: &Arc<str>,
        host: String,
        port: u16,
        result: Result<Backend, TargetDown>,
    ) {
        let mut all = self.lock();
        let target = all.entry(Arc::clone(key)).or_default();
        target.connecting = false;
        target.backends_listed = true;
        match result {
            Ok(backend) => {
                let slot = Arc::new(Slot {
                    sock: backend.sock().entry(),
                });
                target.open.push(Arc::downgrade(&slot));
                let conn = TargetConn {
                    backend: Some(backend),
                    target: Arc::clone(key),
                    idle_since: Instant::now(),
                    _slot: slot,
                };
                if let Some(unclaimed) = hand_over(target, conn) {
                    target.idle.push(unclaimed);
                    target.ever_idle = true;
                }
            }
            Err(down) => {
                tracing::warn!("reproxy target {key}: cannot connect");
                if target.open_count() == 0 {
                    // Down, and nothing connected: everyone waiting moves on (REPROXY-9).
                    for waiter in target.waiting.drain(..) {
                        let _ = waiter.send(Err(down));
                    }
                }
            }
        }
        self.maybe_connect(key, host, port, target);
        Self::forget_unused(&mut all, key);
    }

    /// Returns a connection after a complete response: to the next waiting client, else idle.
    /// One that may not be reused is simply dropped (closed).
    pub fn release(&self, mut conn: TargetConn, reusable: bool) {
        if !reusable {
            return;
        }
        let now = Instant::now();
        conn.idle_since = now;
        let key = Arc::clone(&conn.target);
        let mut all = self.lock();
        let target = all.entry(key).or_default();
        if let Some(conn) = hand_over(target, conn) {
            target.idle.push(conn);
            target.ever_idle = true;
        }
        // Connections idle too long are closed now rather than at the next use (after the
        // lock is released: closing one takes it). The list is oldest first, so they lead it.
        let stale = target
            .idle
            .iter()
            .take_while(|c| now.duration_since(c.idle_since) >= IDLE_REUSE_LIMIT)
            .count();
        let stale: Vec<TargetConn> = target.idle.drain(..stale).collect();
        drop(all);
        drop(stale);
    }

    /// A connection closed: a waiting client may get a new one in its place.
    fn connection_closed(&self, key: &Arc<str>) {
        let mut all = self.lock();
        let Some(target) = all.get_mut(key) else {
            return;
        };
        if target.live_waiting() > 0 {
            if let Some((host, port)) = key.rsplit_once(':') {
                if let Ok(port) = port.parse() {
                    self.maybe_connect(key, host.to_owned(), port, target);
                }
            }
        }
        Self::forget_unused(&mut all, key);
    }

    /// Past [`KNOWN_TARGETS`] targets, forgets unused ones (nothing open, idle, waiting or
    /// connecting), so hostile URL lists cannot grow the table without bound. Nothing is
    /// dropped under the lock: such a target holds no connection.
    fn forget_unused(all: &mut HashMap<Arc<str>, Target>, key: &Arc<str>) {
        if all.len() <= KNOWN_TARGETS {
            return;
        }
        let unused = all.get_mut(key).is_some_and(|t| {
            t.open_count() == 0 && t.idle.is_empty() && t.waiting.is_empty() && !t.connecting
        });
        if unused {
            all.remove(key);
        }
    }

    /// What `reproxy_state` lists (MGMT-24).
    pub fn report(&self) -> Vec<TargetReport> {
        let all = self.lock();
        let mut report: Vec<TargetReport> = all
            .iter()
            .map(|(key, target)| TargetReport {
                target: key.to_string(),
                connecting: target.connecting,
                idle: target.ever_idle.then_some(target.idle.len()),
                waiting: target.live_waiting(),
                connections: target.backends_listed.then(|| {
                    target
                        .open
                        .iter()
                        .filter_map(Weak::upgrade)
                        .map(|slot| slot.sock.describe())
                        .collect()
                }),
            })
            .collect();
        report.sort_by(|a, b| a.target.cmp(&b.target));
        report
    }
}

/// Gives `conn` to the first client still waiting; returns it when nobody is.
fn hand_over(target: &mut Target, mut conn: TargetConn) -> Option<TargetConn> {
    while let Some(waiter) = target.waiting.pop_front() {
        match waiter.send(Ok(conn)) {
            Ok(()) => return None,
            Err(Ok(returned)) => conn = returned,
            Err(Err(_)) => return None,
        }
    }
    Some(conn)
}

/// Resolves `host` (an IPv4 address, or a name looked up off the event loop) and connects.
async fn connect(host: &str, port: u16) -> Result<Backend, TargetDown> {
    let addr = match host.parse::<std::net::Ipv4Addr>() {
        Ok(ip) => SocketAddrV4::new(ip, port),
        Err(_) => resolve(host, port).await.ok_or(TargetDown::Unresolvable)?,
    };
    let connecting =
        Connecting::start(&Endpoint::Node(addr), None).map_err(|_| TargetDown::Unreachable)?;
    match tokio::time::timeout(CONNECT_TIMEOUT, connecting.finish(None)).await {
        Ok(Ok(backend)) => Ok(backend),
        _ => Err(TargetDown::Unreachable),
    }
}

async fn resolve(host: &str, port: u16) -> Option<SocketAddrV4> {
    let addrs = tokio::net::lookup_host((host, port)).await.ok()?;
    addrs.into_iter().find_map(|a| match a.ip() {
        IpAddr::V4(ip) => Some(SocketAddrV4::new(ip, a.port())),
        IpAddr::V6(_) => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_first_request_in_a_sweep_interval_sweeps() {
        let targets = Targets::default();
        assert!(targets.sweep_due(), "the first request ever sweeps");
        assert!(
            !targets.sweep_due(),
            "the next one, within the interval, does not"
        );
        let long_ago = unix_now() - LIST_SWEEP_SECONDS - 1;
        targets.last_sweep.store(long_ago, Ordering::Relaxed);
        assert!(targets.sweep_due(), "one after the interval sweeps again");
    }
}
