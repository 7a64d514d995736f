//! Services as the data path sees them: an immutable [`Snapshot`] of every service's settings,
//! swapped atomically whenever a command changes the configuration, and the hand-off of an
//! accepted connection to its service's role.
//!
//! A connection looks its service up again for every request, so a `SET` on the management
//! port applies to the next request of every open connection, while a request in flight keeps
//! the settings it started with.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddrV4};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};

use crate::reverse_proxy::reproxy::cache::ServiceCache;
use std::time::Duration;

use arc_swap::ArcSwap;
use perlbal_config::Netmask;
use perlbal_http::forward::HeaderEdit;
use perlbal_http::MimeTable;

/// What a service does with its connections.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RoleKind {
    WebServer,
    Management,
    ReverseProxy,
    Selector,
    UploadTracker,
    /// A plugin-provided role (e.g. `echo`).
    Plugin(String),
}

impl RoleKind {
    pub fn name(&self) -> &str {
        match self {
            RoleKind::WebServer => "web_server",
            RoleKind::Management => "management",
            RoleKind::ReverseProxy => "reverse_proxy",
            RoleKind::Selector => "selector",
            RoleKind::UploadTracker => "upload_tracker",
            RoleKind::Plugin(name) => name,
        }
    }
}

/// The web_server settings (SVC-45..53).
#[derive(Debug, Clone, Default)]
pub struct WebSettings {
    pub docroot: Option<PathBuf>,
    pub index_files: Vec<String>,
    pub dirindexing: bool,
    pub enable_concatenate_get: bool,
    pub enable_put: bool,
    pub enable_delete: bool,
    pub enable_md5: bool,
    pub max_put_size: u64,
    pub min_put_directory: u64,
}

/// How many requests each node of a pool was given (RP-12), shared between the configuration
/// (`show pool`) and the data path.
#[derive(Debug, Default)]
pub struct NodeUsage(Mutex<HashMap<SocketAddrV4, u64>>);

impl NodeUsage {
    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<SocketAddrV4, u64>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// One more request assigned to `node`.
    pub fn mark_used(&self, node: SocketAddrV4) {
        *self.map().entry(node).or_default() += 1;
    }

    pub fn used(&self, node: &SocketAddrV4) -> u64 {
        self.map().get(node).copied().unwrap_or(0)
    }

    /// Starts `node` over at 0 (POOL ADD, node file load).
    pub fn reset(&self, node: SocketAddrV4) {
        self.map().insert(node, 0);
    }

    pub fn forget(&self, node: &SocketAddrV4) {
        self.map().remove(node);
    }
}

/// A pool as the data path sees it.
#[derive(Debug)]
pub struct PoolView {
    pub name: String,
    /// With `balance_method = sendstats`: the announced capacity that picks nodes.
    pub sendstats: Option<Arc<crate::backend::stats_listener::StatsTable>>,
    /// When the node file (if any) was last looked at, shared across snapshots (POOL-4).
    pub nodefile_checked: Option<Arc<std::sync::atomic::AtomicU64>>,
    pub nodes: Vec<SocketAddrV4>,
    pub usage: Arc<NodeUsage>,
}

/// The reverse_proxy settings (SVC-18..44).
#[derive(Debug, Clone, Default)]
pub struct ProxySettings {
    pub pool: Option<Arc<PoolView>>,
    /// Where backend connections go: the pool's nodes, or with no pool the
    /// `server_process` program (RP-14).
    pub endpoints: Vec<crate::backend::Endpoint>,
    pub persist_backend: bool,
    /// `verify_backend_path` when `verify_backend` is on.
    pub verify_backend_path: Option<String>,
    /// `max_backend_uses`: a connection serves at most this many requests.
    pub max_backend_uses: Option<u64>,
    pub backend_persist_cache: usize,
    pub connect_ahead: usize,
    pub queue_relief_size: usize,
    pub queue_relief_chance: u8,
    pub enable_reproxy: bool,
    /// `reproxy_cache_maxsize`: entries of the reproxy URL cache (0: off).
    pub reproxy_cache_maxsize: usize,
    pub blind_proxy: bool,
    pub high_priority_cookie: Option<String>,
    pub high_priority_cookie_contents: String,
    pub buffer_backend_connect: u64,
    pub buffer_uploads: bool,
    pub buffer_uploads_path: Option<PathBuf>,
    pub buffer_upload_threshold_size: u64,
    pub buffer_upload_threshold_time: u64,
    pub buffer_upload_threshold_rate: u64,
    pub enable_error_retries: bool,
    pub error_retry_schedule: Vec<Duration>,
    /// Where upload progress reports go (UPT-1).
    pub upload_status_listeners: Vec<SocketAddrV4>,
}

impl ProxySettings {
    /// The pool's nodes (none without a pool).
    pub fn nodes(&self) -> &[SocketAddrV4] {
        self.pool.as_deref().map_or(&[], |p| p.nodes.as_slice())
    }
}

/// One service's settings, as of the last configuration change.
#[derive(Debug, Clone)]
pub struct ServiceConfig {
    pub name: Arc<str>,
    pub role: Option<RoleKind>,
    /// `listen` as configured (empty when not listening).
    pub listen: String,
    pub persist_client: bool,
    pub persist_client_idle_timeout: u64,
    pub idle_timeout: u64,
    pub server_tokens: bool,
    pub client_sndbuf_size: u64,
    pub max_chunked_request_size: u64,
    pub always_trusted: bool,
    pub trusted_upstream_proxies: Vec<Netmask>,
    /// `HEADER` edits, applied to requests sent to backends (CFG-19).
    pub header_edits: Vec<HeaderEdit>,
    pub web: WebSettings,
    pub proxy: ProxySettings,
    /// The service's backend side, looked up once per configuration rather than per request.
    pub backends: std::sync::OnceLock<Arc<crate::backend::pool::ServicePool>>,
    /// The service's reproxy URL cache, looked up once per configuration.
    pub reproxy_cache: std::sync::OnceLock<Arc<ServiceCache>>,
}

impl ServiceConfig {
    /// The backend connections and waiting clients of this (reverse_proxy) service.
    pub fn backends(&self) -> &Arc<crate::backend::pool::ServicePool> {
        self.backends
            .get_or_init(|| crate::backend::pool::service_pool(&self.name))
    }

    /// The reproxy URL cache of this (reverse_proxy) service (REPROXY-13).
    pub fn reproxy_cache(&self) -> &Arc<ServiceCache> {
        self.reproxy_cache
            .get_or_init(|| crate::reverse_proxy::reproxy::cache::service_cache(&self.name))
    }

    /// Whether a client's forwarding headers are trusted (SVC-8, SVC-9).
    pub fn trusts(&self, ip: IpAddr) -> bool {
        self.always_trusted || self.trusted_upstream_proxies.iter().any(|m| m.contains(ip))
    }
}

/// Every service's settings plus the process-wide tables the data path reads.
#[derive(Debug, Default)]
pub struct Snapshot {
    pub services: HashMap<Arc<str>, Arc<ServiceConfig>>,
    pub mime: Arc<MimeTable>,
    pub reproxy_caps: ReproxyCaps,
}

/// `SERVER max_reproxy_connections` (SRV-1, SRV-2): most connections open to one reproxy
/// target, by `host:port` as written in `X-REPROXY-URL`; 0 is no limit.
#[derive(Debug, Clone, Default)]
pub struct ReproxyCaps {
    pub global: u64,
    pub per_target: HashMap<String, u64>,
}

impl ReproxyCaps {
    /// The cap for `target`: its own, else the global one.
    pub fn for_target(&self, target: &str) -> u64 {
        self.per_target
            .get(target)
            .copied()
            .filter(|&cap| cap > 0)
            .unwrap_or(self.global)
    }
}

impl Snapshot {
    pub fn service(&self, name: &str) -> Option<&Arc<ServiceConfig>> {
        self.services.get(name)
    }
}

fn cell() -> &'static ArcSwap<Snapshot> {
    static SNAPSHOT: OnceLock<ArcSwap<Snapshot>> = OnceLock::new();
    SNAPSHOT.get_or_init(|| ArcSwap::from_pointee(Snapshot::default()))
}

/// The current snapshot (lock-free).
pub fn snapshot() -> arc_swap::Guard<Arc<Snapshot>> {
    cell().load()
}

/// Replaces the snapshot; connections see it from their next request on.
pub fn publish(snapshot: Snapshot) {
    cell().store(Arc::new(snapshot));
}

/// Hands a connection accepted for `service` to that service's role (the original's
/// `TCPListener::class_new_socket`). Runs on the accepting worker.
pub fn accept(conn: crate::listener::Accepted, service: &Arc<str>) {
    let role = snapshot().service(service).and_then(|s| s.role.clone());
    let service = Arc::clone(service);
    match role {
        Some(RoleKind::WebServer) => {
            tokio::task::spawn_local(crate::web_server::serve(conn, service));
        }
        Some(RoleKind::Management) => {
            tokio::task::spawn_local(crate::management::serve(conn, service));
        }
        Some(RoleKind::ReverseProxy) => {
            tokio::task::spawn_local(crate::reverse_proxy::serve(conn, service));
        }
        Some(RoleKind::Selector) => {
            tokio::task::spawn_local(crate::web_server::serve_unavailable(conn, service));
        }
        // Roles without connections of their own, or a role that vanished: drop the socket.
        _ => drop(conn),
    }
}
