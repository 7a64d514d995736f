//! The backend side of one reverse_proxy service (RP-1..6, RP-9..12, RP-17): idle ("bored")
//! connections shared by every client on every core, the three queues of clients waiting for
//! one, and the connects in progress (at most one per node).
//!
//! A client first takes an idle connection; otherwise it queues and a spawn pass opens as
//! many connections as there are waiting clients plus `connect_ahead` (RP-3). A connection that
//! becomes free goes to the next waiting client — high priority first, then normal, then low,
//! unless queue relief picks the normal queue (RP-5, RP-17) — or back to the idle list.
//!
//! Unlike the original, clients do not wait forever on dead nodes: when every node of the pool
//! is failing, waiting clients are told at once (they answer 503).

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

use super::conn::{Backend, ConnectError, Connecting};
use super::Endpoint;
use crate::registry::{unix_now, SockEntry};
use crate::service::{ProxySettings, ServiceConfig};

/// How long a node is left alone after a failed connect (RP-10).
const FAILED_NODE_PAUSE: Duration = Duration::from_secs(1);
/// An unverified idle connection older than this is not used (RP-2 `too_old_bored`).
const UNTESTED_IDLE_LIMIT: Duration = Duration::from_secs(5);
/// Most connects one spawn pass starts (RP-3).
const MAX_SPAWN_PER_PASS: usize = 10;

/// Which queue a client waits in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Priority {
    High = 0,
    Normal = 1,
    Low = 2,
}

/// Why no backend connection was obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AcquireError {
    /// The service has no pool or the pool has no nodes.
    NoNodes,
    /// Every node is failing.
    AllNodesDown,
}

/// What [`ServicePool::acquire`] gives a client.
#[derive(Debug)]
pub enum Acquired {
    /// An idle connection.
    Now(Backend),
    /// A place in the queue: see [`ServicePool::wait`].
    Queued(Queued),
}

/// A client's place in a pool's queue.
#[derive(Debug)]
pub struct Queued(oneshot::Receiver<Backend>);

struct Waiter {
    tx: oneshot::Sender<Backend>,
    since: u64,
}

/// A connect in progress to one node.
struct Pending {
    started: u64,
    since: Instant,
    socket: Arc<SockEntry>,
}

/// A connect still in progress after this long no longer counts as capacity in a spawn pass,
/// so clients waiting behind an unresponsive node get a connection to another one (the
/// original waits out the 5 s connect timeout).
const SLOW_CONNECT: Duration = Duration::from_secs(1);

#[derive(Default)]
struct Inner {
    queues: [VecDeque<Waiter>; 3],
    bored: VecDeque<Backend>,
    pending: HashMap<Endpoint, Pending>,
    /// Nodes whose last connect failed, until when they are skipped.
    paused: HashMap<Endpoint, Instant>,
}

impl Inner {
    fn waiting(&self) -> usize {
        self.queues
            .iter()
            .map(|q| q.iter().filter(|w| !w.tx.is_closed()).count())
            .sum()
    }
}

/// The backend side of one service.
pub struct ServicePool {
    service: Arc<str>,
    inner: Mutex<Inner>,
}

impl std::fmt::Debug for ServicePool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServicePool")
            .field("service", &self.service)
            .finish_non_exhaustive()
    }
}

/// The pool of `service`, created on first use.
pub fn service_pool(service: &Arc<str>) -> Arc<ServicePool> {
    static POOLS: OnceLock<Mutex<HashMap<Arc<str>, Arc<ServicePool>>>> = OnceLock::new();
    let mut pools = POOLS
        .get_or_init(Mutex::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    Arc::clone(pools.entry(Arc::clone(service)).or_insert_with(|| {
        Arc::new(ServicePool {
            service: Arc::clone(service),
            inner: Mutex::new(Inner::default()),
        })
    }))
}

/// What `show service`, `queues` and `pending` report about a pool (MGMT-10, 16, 23).
#[derive(Debug, Default)]
pub struct PoolReport {
    pub waiting: usize,
    /// `(node, state name, seconds since the connect started)`.
    pub pending: Vec<(Endpoint, &'static str, u64)>,
    pub bored: usize,
    /// Per queue (high, normal, low): live waiting clients and the oldest's arrival time.
    pub queues: [(usize, Option<u64>); 3],
}

impl ServicePool {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A connection for a client: an idle one at once, or a place in the queue for the next
    /// one to become free (await it with [`wait`](Self::wait)).
    pub fn acquire(
        self: &Arc<Self>,
        svc: &ServiceConfig,
        priority: Priority,
    ) -> Result<Acquired, AcquireError> {
        let mut inner = self.lock();
        let nodes = &svc.proxy.endpoints;
        if nodes.is_empty() {
            return Err(AcquireError::NoNodes);
        }
        if let Some(backend) = take_idle(&mut inner.bored, nodes) {
            // Nobody waits when a connection is idle: only `connect_ahead` may want more.
            if svc.proxy.connect_ahead > 0 {
                self.spawn_pass(&mut inner, svc);
            }
            return Ok(Acquired::Now(backend));
        }
        if all_paused(&inner, nodes) {
            return Err(AcquireError::AllNodesDown);
        }
        let (tx, rx) = oneshot::channel();
        inner.queues[priority as usize].push_back(Waiter {
            tx,
            since: unix_now(),
        });
        self.spawn_pass(&mut inner, svc);
        Ok(Acquired::Queued(Queued(rx)))
    }

    /// Waits for the connection a queued client is given.
    pub async fn wait(self: &Arc<Self>, queued: Queued) -> Result<Backend, AcquireError> {
        let rx = queued.0;
        tokio::pin!(rx);
        loop {
            tokio::select! {
                got = &mut rx => return got.map_err(|_| AcquireError::AllNodesDown),
                () = tokio::time::sleep(SLOW_CONNECT) => self.spawn_now(),
            }
        }
    }

    /// Opens connections for the waiting clients plus `connect_ahead` (RP-3).
    fn spawn_pass(self: &Arc<Self>, inner: &mut Inner, svc: &ServiceConfig) {
        let nodes = &svc.proxy.endpoints;
        if nodes.is_empty() {
            return;
        }
        let now = Instant::now();
        inner.paused.retain(|_, until| *until > now);
        let fresh_connects = inner
            .pending
            .values()
            .filter(|p| p.since.elapsed() < SLOW_CONNECT)
            .count();
        let have = inner.bored.len() + fresh_connects;
        let wanted = inner.waiting() + svc.proxy.connect_ahead;
        let to_create = wanted
            .saturating_sub(have)
            .min(nodes.len().saturating_sub(inner.pending.len()))
            .min(MAX_SPAWN_PER_PASS);
        let sendstats = svc.proxy.pool.as_ref().and_then(|p| p.sendstats.as_ref());
        for _ in 0..to_create {
            let node = match sendstats {
                Some(table) => Endpoint::Node(table.pick(svc.proxy.nodes())),
                None => nodes[super::random_index(nodes.len())].clone(),
            };
            if inner.paused.contains_key(&node) || inner.pending.contains_key(&node) {
                continue; // the slot is used up, as in the original
            }
            self.start_connect(inner, node, svc);
        }
    }

    fn start_connect(self: &Arc<Self>, inner: &mut Inner, node: Endpoint, svc: &ServiceConfig) {
        let connecting = match Connecting::start(&node, Some(&self.service)) {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!("service {}: cannot reach {node}: {e}", self.service);
                self.node_failed(inner, node, svc);
                return;
            }
        };
        inner.pending.insert(
            node.clone(),
            Pending {
                started: unix_now(),
                since: Instant::now(),
                socket: connecting.entry(),
            },
        );
        let pool = Arc::clone(self);
        let verify = svc.proxy.verify_backend_path.clone();
        tokio::task::spawn_local(async move {
            let result = connecting.finish(verify.as_deref()).await;
            pool.connect_finished(node, result);
        });
    }

    fn connect_finished(self: &Arc<Self>, node: Endpoint, result: Result<Backend, ConnectError>) {
        let Some(svc) = crate::service::snapshot().service(&self.service).cloned() else {
            return;
        };
        let mut inner = self.lock();
        inner.pending.remove(&node);
        match result {
            Ok(backend) => {
                // A spawn pass follows only when a waiting client took the connection (RP-3:
                // passes run on dequeues, not on every connect).
                if !self.offer(&mut inner, backend, &svc) {
                    return;
                }
            }
            Err(ConnectError::Connect(e)) => {
                tracing::warn!("service {}: connect to {node} failed: {e}", self.service);
                self.node_failed(&mut inner, node, &svc);
            }
            Err(ConnectError::Verify) => {
                tracing::warn!(
                    "service {}: verify of {node} failed; using it unverified for a minute",
                    self.service
                );
            }
        }
        self.spawn_pass(&mut inner, &svc);
    }

    /// A connect to `node` failed: pause the node (RP-10).
    fn node_failed(self: &Arc<Self>, inner: &mut Inner, node: Endpoint, svc: &ServiceConfig) {
        inner
            .paused
            .insert(node, Instant::now() + FAILED_NODE_PAUSE);
        self.schedule_unpause();
        if all_paused(inner, &svc.proxy.endpoints) && inner.pending.is_empty() {
            // Every node is down: tell the waiting clients now instead of letting them hang
            // until their idle timeout (RP-10 ⚠).
            for queue in &mut inner.queues {
                queue.clear();
            }
        }
    }

    /// After the failed-node pause, try again for whoever still waits (RP-10).
    fn schedule_unpause(self: &Arc<Self>) {
        let pool = Arc::clone(self);
        tokio::task::spawn_local(async move {
            tokio::time::sleep(FAILED_NODE_PAUSE).await;
            let Some(svc) = crate::service::snapshot().service(&pool.service).cloned() else {
                return;
            };
            let mut inner = pool.lock();
            pool.spawn_pass(&mut inner, &svc);
        });
    }

    /// A connection became free: give it to the next waiting client, else keep it idle
    /// (RP-5, RP-6). True when a waiting client took it.
    fn offer(
        self: &Arc<Self>,
        inner: &mut Inner,
        mut backend: Backend,
        svc: &ServiceConfig,
    ) -> bool {
        if !svc.proxy.endpoints.contains(backend.endpoint()) {
            return false; // the node left the pool (POOL-9): close
        }
        while let Some(waiter) = next_waiter(inner, &svc.proxy) {
            match waiter.tx.send(backend) {
                Ok(()) => return true,
                Err(returned) => backend = returned, // that client is gone; try the next
            }
        }
        if backend.uses() > 0 && inner.bored.len() >= svc.proxy.backend_persist_cache {
            return false; // too_many_bored: close
        }
        if backend.has_attention() {
            inner.bored.push_front(backend);
        } else {
            inner.bored.push_back(backend);
        }
        false
    }

    /// Runs a spawn pass now (SVC-21: `connect_ahead` changed).
    pub fn spawn_now(self: &Arc<Self>) {
        let Some(svc) = crate::service::snapshot().service(&self.service).cloned() else {
            return;
        };
        let mut inner = self.lock();
        self.spawn_pass(&mut inner, &svc);
    }

    /// A request failed on a connection to `node` before any response (reset, closed): leave
    /// the node alone for a moment and drop its idle connections, so a retry goes elsewhere.
    pub fn note_failed_node(self: &Arc<Self>, node: &Endpoint, nodes: &[Endpoint]) {
        let mut inner = self.lock();
        inner.bored.retain(|b| b.endpoint() != node);
        // Pause it only while another node can take the retry: a pool is never emptied by
        // failing requests.
        let now = Instant::now();
        let another_usable = nodes
            .iter()
            .any(|n| n != node && inner.paused.get(n).is_none_or(|until| *until <= now));
        if another_usable {
            inner.paused.insert(node.clone(), now + FAILED_NODE_PAUSE);
            drop(inner);
            self.schedule_unpause();
        }
    }

    /// Returns a connection after a complete response, for reuse if `reusable`.
    pub fn release(self: &Arc<Self>, backend: Backend, reusable: bool) {
        let Some(svc) = crate::service::snapshot().service(&self.service).cloned() else {
            return;
        };
        let mut inner = self.lock();
        // A pass follows a dequeue or a closed connection, as in the original.
        if !reusable || self.offer(&mut inner, backend, &svc) {
            self.spawn_pass(&mut inner, &svc);
        }
    }

    /// A snapshot of the pool for the management commands.
    pub fn report(&self) -> PoolReport {
        let inner = self.lock();
        let now = unix_now();
        let mut pending: Vec<(Endpoint, &'static str, u64)> = inner
            .pending
            .iter()
            .map(|(node, p)| {
                let state = p.socket.state().name().unwrap_or("connecting");
                (node.clone(), state, now.saturating_sub(p.started))
            })
            .collect();
        pending.sort();
        let mut queues = [(0, None); 3];
        for (slot, queue) in queues.iter_mut().zip(&inner.queues) {
            let live: Vec<&Waiter> = queue.iter().filter(|w| !w.tx.is_closed()).collect();
            *slot = (live.len(), live.first().map(|w| w.since));
        }
        PoolReport {
            waiting: inner.waiting(),
            pending,
            bored: inner.bored.len(),
            queues,
        }
    }
}

/// An idle connection may serve a new client (RP-2).
/// Takes the first usable idle connection, closing unusable ones met on the way (RP-2) — but
/// prefers, among the usable ones, the first that lives on the calling worker's event loop.
fn take_idle(bored: &mut VecDeque<Backend>, nodes: &[Endpoint]) -> Option<Backend> {
    let mut first_usable = None;
    let mut at = 0;
    while at < bored.len() {
        if !usable_idle(&bored[at], nodes) {
            if first_usable.is_none() {
                drop(bored.remove(at));
                continue;
            }
        } else if bored[at].is_local() {
            return bored.remove(at);
        } else if first_usable.is_none() {
            first_usable = Some(at);
        }
        at += 1;
    }
    first_usable.and_then(|at| bored.remove(at))
}

fn usable_idle(backend: &Backend, nodes: &[Endpoint]) -> bool {
    nodes.contains(backend.endpoint())
        && !(backend.uses() == 0 && !backend.has_attention() && backend.age() > UNTESTED_IDLE_LIMIT)
        && !backend.too_close_to_disconnect()
        && backend.is_open()
}

fn all_paused(inner: &Inner, nodes: &[Endpoint]) -> bool {
    let now = Instant::now();
    !nodes.is_empty()
        && nodes
            .iter()
            .all(|n| inner.paused.get(n).is_some_and(|until| *until > now))
}

/// The next live waiter: high priority first unless queue relief picks normal (RP-17).
fn next_waiter(inner: &mut Inner, settings: &ProxySettings) -> Option<Waiter> {
    let relief = settings.queue_relief_size > 0
        && inner.queues[Priority::Normal as usize].len() >= settings.queue_relief_size
        && super::random_index(100) < usize::from(settings.queue_relief_chance);
    let order: [Priority; 3] = if relief {
        [Priority::Normal, Priority::Low, Priority::High]
    } else {
        [Priority::High, Priority::Normal, Priority::Low]
    };
    for priority in order {
        let queue = &mut inner.queues[priority as usize];
        while let Some(waiter) = queue.pop_front() {
            if !waiter.tx.is_closed() {
                return Some(waiter);
            }
        }
    }
    None
}
