//! Builds the data path's [`Snapshot`] from the configuration [`State`].

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use perlbal_config::{Role, TunableValue};

use super::state::{ServiceState, State};
use crate::service::{RoleKind, ServiceConfig, Snapshot, WebSettings};

pub fn build(state: &State) -> Snapshot {
    let services: HashMap<Arc<str>, Arc<ServiceConfig>> = state
        .services
        .values()
        .map(|svc| {
            let config = service_config(svc);
            (Arc::clone(&config.name), Arc::new(config))
        })
        .collect();
    Snapshot {
        services,
        mime: Arc::clone(&state.mime),
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
            _ => unset,
        }
    }

    fn path(&self, key: &str) -> Option<PathBuf> {
        match self.value(key) {
            Some(TunableValue::Path(p) | TunableValue::Text(p)) => Some(PathBuf::from(p)),
            _ => None,
        }
    }

    fn words(&self, key: &str) -> Vec<String> {
        match self.value(key) {
            Some(TunableValue::WordList(words)) => words.clone(),
            _ => Vec::new(),
        }
    }
}

fn service_config(svc: &ServiceState) -> ServiceConfig {
    let r = Reader(svc);
    ServiceConfig {
        name: Arc::from(svc.name.as_str()),
        role: svc.role.as_ref().map(role_kind),
        persist_client: r.bool("persist_client", false),
        persist_client_idle_timeout: r.number("persist_client_idle_timeout", 30),
        idle_timeout: r.number("idle_timeout", 30),
        server_tokens: r.bool("server_tokens", true),
        client_sndbuf_size: r.number("client_sndbuf_size", 0),
        max_chunked_request_size: r.number("max_chunked_request_size", 209_715_200),
        web: WebSettings {
            docroot: r.path("docroot"),
            index_files: r.words("index_files"),
            dirindexing: r.bool("dirindexing", false),
            enable_concatenate_get: r.bool("enable_concatenate_get", false),
            enable_put: r.bool("enable_put", false),
            enable_delete: r.bool("enable_delete", false),
            enable_md5: r.bool("enable_md5", true),
            max_put_size: r.number("max_put_size", 0),
            min_put_directory: r.number("min_put_directory", 0),
        },
    }
}
