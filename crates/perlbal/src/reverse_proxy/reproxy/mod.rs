//! Reproxying (REPROXY-*): with `enable_reproxy`, a backend may answer with a directive instead
//! of a body — fetch these URLs (`X-REPROXY-URL`), serve this file (`X-REPROXY-FILE`), or run the
//! request again on another service (`X-REPROXY-SERVICE`). The backend connection is released
//! first; the client gets the result.
//!
//! What the directive means and the heads it produces are sans-IO, in
//! [`perlbal_http::reproxy`]; this module does the disk and socket work.

pub(crate) mod cache;
mod file;
mod url;

use perlbal_http::reproxy::cache::CachedReply;
use perlbal_http::reproxy::url::parse_url_list;
pub use perlbal_http::reproxy::{directive, Directive};
use perlbal_http::{KeepAlivePolicy, Persistence, RequestHead, ResponseHead, SimpleResponse};

use crate::client::ClientConn;
use crate::registry::SockState;
use crate::service::{snapshot, RoleKind, ServiceConfig};

/// Answers the client as `directive` (from the backend's head `primary`) says; true when the
/// client connection stays open.
pub async fn serve(
    conn: &mut ClientConn,
    svc: &ServiceConfig,
    req: &RequestHead,
    primary: ResponseHead,
    directive: Directive,
) -> bool {
    match directive {
        Directive::File(path) => file::serve(conn, svc, req, primary, path).await,
        Directive::Service(name) => redispatch(conn, svc, req, &name).await,
        Directive::Url(urls) => {
            // REPROXY-13: what the backend asks to cache is remembered before fetching.
            let capacity = svc.proxy.reproxy_cache_maxsize;
            svc.reproxy_cache().remember(capacity, req, &primary);
            let targets = parse_url_list(&urls);
            url::serve(conn, svc, req, primary, targets).await
        }
    }
}

/// REPROXY-14: answers `req` from the service's reproxy cache when it holds a fresh entry for
/// it; `None` when the request must go to a backend, else whether the connection stays open.
pub async fn serve_cached(
    conn: &mut ClientConn,
    svc: &ServiceConfig,
    req: &RequestHead,
) -> Option<bool> {
    let capacity = svc.proxy.reproxy_cache_maxsize;
    let kept_open = match svc.reproxy_cache().lookup(capacity, req)? {
        CachedReply::NotModified(mut head) => {
            let (out, keep_alive) = client_head(svc, req, &mut head, true);
            conn.sock().set_state(SockState::XferResp);
            conn.write_all(&out).await.is_ok() && keep_alive
        }
        CachedReply::Fetch { primary, targets } => {
            url::serve(conn, svc, req, primary, targets).await
        }
    };
    Some(kept_open)
}

/// REPROXY-8: runs the client's request on service `name` as if it had arrived there. Only this
/// request: the connection stays with the proxy for the next one (⚠ the original hands the
/// connection over to that service for good).
async fn redispatch(
    conn: &mut ClientConn,
    svc: &ServiceConfig,
    req: &RequestHead,
    name: &str,
) -> bool {
    let Some(target) = snapshot().service(name).cloned() else {
        let message = "Vhost twiddling not configured for requested pair.";
        return page(conn, svc, req, 404, message).await;
    };
    match &target.role {
        Some(RoleKind::WebServer) => {
            let exchange = crate::web_server::Exchange {
                conn: &mut *conn,
                svc: &target,
                req: req.clone(),
            };
            Box::pin(crate::web_server::handle(exchange)).await
                == crate::web_server::Done::KeepAlive
        }
        Some(RoleKind::ReverseProxy) => {
            let Some(client) = conn.peer_addr() else {
                return false;
            };
            Box::pin(super::exchange::proxy(
                conn,
                &target,
                req.clone(),
                client.ip(),
            ))
            .await
        }
        role => {
            let role = role.as_ref().map_or("", |r| r.name());
            let message = format!("Can't map to service type {role}");
            page(conn, svc, req, 500, &message).await
        }
    }
}

/// A generated page (REPROXY-2, REPROXY-6, REPROXY-8), keeping the connection open when the
/// client asked for it, as the original does for these replies.
async fn page(
    conn: &mut ClientConn,
    svc: &ServiceConfig,
    req: &RequestHead,
    status: u16,
    message: &str,
) -> bool {
    let mut page = SimpleResponse {
        status,
        message,
        server_tokens: svc.server_tokens,
        persistence: Persistence::Close,
        head_request: req.is_head(),
    };
    page.persistence = persistence(svc, req, status, page.has_body());
    let mut out = Vec::with_capacity(256);
    page.write(&mut out);
    conn.sock().set_state(SockState::XferResp);
    conn.write_all(&out).await.is_ok() && page.persistence.is_keep_alive()
}

/// Sets `head`'s `Connection`/`Keep-Alive` for the client and encodes it: the head to send
/// and whether the connection stays open after the reply. `framed`: the client can tell
/// where the reply ends without a close.
fn client_head(
    svc: &ServiceConfig,
    req: &RequestHead,
    head: &mut ResponseHead,
    framed: bool,
) -> (Vec<u8>, bool) {
    let keep_alive = persistence(svc, req, head.status(), framed);
    keep_alive.apply(head.headers_mut());
    let mut out = Vec::with_capacity(512);
    head.encode(&mut out);
    (out, keep_alive.is_keep_alive())
}

/// The client's keep-alive decision for a reply (HTTP-14); the request body, if any, was read.
fn persistence(
    svc: &ServiceConfig,
    req: &RequestHead,
    status: u16,
    has_content_length: bool,
) -> Persistence {
    if crate::server::draining() {
        return Persistence::Close;
    }
    KeepAlivePolicy {
        persist_client: svc.persist_client,
        idle_timeout: svc.persist_client_idle_timeout,
    }
    .decide(req, status, has_content_length, true)
}
