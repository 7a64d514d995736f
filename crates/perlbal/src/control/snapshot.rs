//! Builds the data path's [`Snapshot`] from the configuration [`State`].

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use perlbal_config::command::HeaderEdit as ConfigEdit;
use perlbal_config::{Role, TunableValue};
use perlbal_http::forward::HeaderEdit;

use super::state::{ServiceState, State};
use crate::backend::Endpoint;
use crate::service::{
    PoolView, ProxySettings, ReproxyCaps, RoleKind, ServiceConfig, Snapshot, WebSettings,
};

pub fn build(state: &State) -> Snapshot {
    let pools: HashMap<&str, Arc<PoolView>> = state
        .pools
        .values()
        .map(|p| {
            let view = PoolView {
                name: p.name.clone(),
                sendstats: p.sendstats.then(|| Arc::clone(&p.stats)),
                nodefile_checked: p.nodefile.as_ref().map(|n| Arc::clone(&n.checked)),
                nodes: p.nodes.clone(),
                usage: Arc::clone(&p.usage),
            };
            (p.name.as_str(), Arc::new(view))
        })
        .collect();
    let services: HashMap<Arc<str>, Arc<ServiceConfig>> = state
        .services
        .values()
        .map(|svc| {
            let config = service_config(svc, &pools);
            (Arc::clone(&config.name), Arc::new(config))
        })
        .collect();
    let cap = |n: i64| u64::try_from(n).unwrap_or(0);
    Snapshot {
        services,
        mime: Arc::clone(&state.mime),
        reproxy_caps: ReproxyCaps {
            global: cap(state.server.max_reproxy_connections),
            per_target: state
                .server
                .max_reproxy_connections_per_host
                .iter()
                .map(|(target, &n)| (target.clone(), cap(n)))
                .collect(),
        },
    }
}

fn role_kind(role: &Role) -> RoleKind {
    match role {
        Role::WebServer => RoleKind::WebServer,
        Role::Management => RoleKind::Management,
        Role::ReverseProxy => RoleKind::ReverseProxy,
        Role::Selector => RoleKind::Selector,
        Role::UploadTracker => RoleKind::UploadTracker,
        Role::Plugin(name) => RoleKind::Plugin(name.clone()),
    }
}

/// Typed reads of a service's settings, with the value used when it is unset.
struct Reader<'a>(&'a ServiceState);

impl Reader<'_> {
    fn value(&self, key: &str) -> Option<&TunableValue> {
        self.0.settings.get(key).map(|s| &s.value)
    }

    fn bool(&self, key: &str, unset: bool) -> bool {
        match self.value(key) {
            Some(TunableValue::Bool(b)) => *b,
            _ => unset,
        }
    }

    fn number(&self, key: &str, unset: u64) -> u64 {
        match self.value(key) {
            Some(TunableValue::Int(n) | TunableValue::Size(n)) => *n,
            Some(TunableValue::Percent(n)) => u64::from(*n),
            _ => unset,
        }
    }

    fn count(&self, key: &str, unset: u64) -> usize {
        usize::try_from(self.number(key, unset)).unwrap_or(usize::MAX)
    }

    fn text(&self, key: &str) -> Option<String> {
        match self.value(key) {
            Some(
                TunableValue::Text(t)
                | TunableValue::Path(t)
                | TunableValue::Pool(t)
                | TunableValue::Service(t),
            ) => Some(t.clone()),
            _ => None,
        }
    }

    fn path(&self, key: &str) -> Option<PathBuf> {
        self.text(key).map(PathBuf::from)
    }

    fn words(&self, key: &str) -> Vec<String> {
        match self.value(key) {
            Some(TunableValue::WordList(words)) => words.clone(),
            _ => Vec::new(),
        }
    }
}

fn service_config(svc: &ServiceState, pools: &HashMap<&str, Arc<PoolView>>) -> ServiceConfig {
    let r = Reader(svc);
    ServiceConfig {
        name: Arc::from(svc.name.as_str()),
        role: svc.role.as_ref().map(role_kind),
        listen: svc.listen().unwrap_or("").to_string(),
        persist_client: r.bool("persist_client", false),
        persist_client_idle_timeout: r.number("persist_client_idle_timeout", 30),
        idle_timeout: r.number("idle_timeout", 30),
        server_tokens: r.bool("server_tokens", true),
        client_sndbuf_size: r.number("client_sndbuf_size", 0),
        max_chunked_request_size: r.number("max_chunked_request_size", 209_715_200),
        always_trusted: r.bool("always_trusted", false),
        trusted_upstream_proxies: match r.value("trusted_upstream_proxies") {
            Some(TunableValue::Netmasks(masks)) => masks.clone(),
            _ => Vec::new(),
        },
        header_edits: svc.header_edits.iter().map(header_edit).collect(),
        web: web_settings(&r),
        proxy: proxy_settings(&r, pools),
        backends: std::sync::OnceLock::new(),
        reproxy_cache: std::sync::OnceLock::new(),
    }
}

fn header_edit(edit: &ConfigEdit) -> HeaderEdit {
    match edit {
        ConfigEdit::Insert { name, value } => HeaderEdit::Insert {
            name: name.clone(),
            value: value.clone(),
        },
        ConfigEdit::Remove { name } => HeaderEdit::Remove { name: name.clone() },
    }
}

fn web_settings(r: &Reader<'_>) -> WebSettings {
    WebSettings {
        docroot: r.path("docroot"),
        index_files: r.words("index_files"),
        dirindexing: r.bool("dirindexing", false),
        enable_concatenate_get: r.bool("enable_concatenate_get", false),
        enable_put: r.bool("enable_put", false),
        enable_delete: r.bool("enable_delete", false),
        enable_md5: r.bool("enable_md5", true),
        max_put_size: r.number("max_put_size", 0),
        min_put_directory: r.number("min_put_directory", 0),
    }
}

fn proxy_settings(r: &Reader<'_>, pools: &HashMap<&str, Arc<PoolView>>) -> ProxySettings {
    let pool = r.text("pool").and_then(|p| pools.get(p.as_str()).cloned());
    let endpoints = match (&pool, r.text("server_process")) {
        (Some(pool), _) => pool.nodes.iter().copied().map(Endpoint::Node).collect(),
        (None, Some(program)) if !program.is_empty() => vec![Endpoint::Process(program.into())],
        (None, _) => Vec::new(),
    };
    ProxySettings {
        pool,
        endpoints,
        persist_backend: r.bool("persist_backend", false),
        verify_backend_path: r
            .bool("verify_backend", false)
            .then(|| r.text("verify_backend_path").unwrap_or_else(|| "*".into())),
        max_backend_uses: match r.value("max_backend_uses") {
            Some(TunableValue::MaxBackendUses(limit)) => *limit,
            _ => None,
        },
        backend_persist_cache: r.count("backend_persist_cache", 2),
        connect_ahead: r.count("connect_ahead", 0),
        queue_relief_size: r.count("queue_relief_size", 0),
        queue_relief_chance: u8::try_from(r.number("queue_relief_chance", 0)).unwrap_or(100),
        enable_reproxy: r.bool("enable_reproxy", false),
        reproxy_cache_maxsize: r.count("reproxy_cache_maxsize", 0),
        blind_proxy: r.bool("blind_proxy", false),
        high_priority_cookie: r.text("high_priority_cookie").filter(|c| !c.is_empty()),
        high_priority_cookie_contents: r.text("high_priority_cookie_contents").unwrap_or_default(),
        buffer_backend_connect: r.number("buffer_backend_connect", 100 * 1024),
        buffer_uploads: r.bool("buffer_uploads", false),
        buffer_uploads_path: r.path("buffer_uploads_path"),
        buffer_upload_threshold_size: r.number("buffer_upload_threshold_size", 250 * 1024),
        buffer_upload_threshold_time: r.number("buffer_upload_threshold_time", 5),
        buffer_upload_threshold_rate: r.number("buffer_upload_threshold_rate", 0),
        enable_error_retries: r.bool("enable_error_retries", false),
        error_retry_schedule: match r.value("error_retry_schedule") {
            Some(TunableValue::RetrySchedule(s)) => s.clone(),
            _ => Vec::new(),
        },
        upload_status_listeners: match r.value("upload_status_listeners") {
            Some(TunableValue::UdpEndpoints(e)) => e.clone(),
            _ => Vec::new(),
        },
    }
}
