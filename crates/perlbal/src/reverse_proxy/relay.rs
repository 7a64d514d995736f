//! Relaying a backend's response to the client (RP-32..35): the head rewritten for the client,
//! then the body by its framing, then the backend connection back to the pool when it may be
//! reused.
//!
//! A backend that dies mid-body ends the client connection, so the client sees a truncated
//! response rather than waiting for bytes that will never come (RP-35 ⚠).

use std::sync::Arc;

use perlbal_http::framing::{self, ResponseBody};
use perlbal_http::{
    backend_keep_alive_timeout, backend_keeps_alive, KeepAlivePolicy, Persistence, RequestHead,
    ResponseHead,
};

use super::exchange::error_page;
use crate::backend::conn::Backend;
use crate::backend::nodes;
use crate::backend::pool::ServicePool;
use crate::client::ClientConn;
use crate::registry::SockState;
use crate::service::ServiceConfig;

/// Bytes moved from backend to client at a time.
const RELAY_CHUNK: usize = 64 * 1024;

/// Sends `head` and its body to the client; true when the client connection stays open.
pub async fn respond(
    conn: &mut ClientConn,
    svc: &ServiceConfig,
    req: &RequestHead,
    mut head: ResponseHead,
    mut backend: Backend,
    pool: &Arc<ServicePool>,
) -> bool {
    framing::strip_length_if_transfer_coded(&mut head);
    let body = match framing::response_body(&head, req.is_head()) {
        Ok(body) => body,
        Err(e) => {
            tracing::warn!(
                "service {}: unusable response framing from {}: {e}",
                svc.name,
                backend.endpoint()
            );
            error_page(conn, svc, req, 502, "The backend sent an invalid response.").await;
            return false;
        }
    };
    let persistence = if crate::server::draining() {
        Persistence::Close
    } else {
        KeepAlivePolicy {
            persist_client: svc.persist_client,
            idle_timeout: svc.persist_client_idle_timeout,
        }
        .decide_for(req, &head, true)
    };
    let backend_reusable = svc.proxy.persist_backend
        && body != ResponseBody::UntilClose
        && backend_keeps_alive(&head, req.is_head())
        && svc
            .proxy
            .max_backend_uses
            .is_none_or(|max| u64::from(backend.uses()) + 1 < max);
    let keep_alive_timeout = backend_keep_alive_timeout(&head);
    persistence.apply(head.headers_mut());
    let mut out = Vec::with_capacity(512);
    head.encode(&mut out);
    conn.sock().set_state(SockState::XferRes);
    backend.sock().set_state(SockState::XferRes);
    // RP-33: the backend goes back to the pool as soon as its last byte is read, before the
    // client has it all, so it can serve the next request (of this client or another).
    let release = |mut backend: Backend| {
        if let Some(node) = backend.node() {
            nodes::record_request_done(node);
        }
        if backend_reusable {
            backend.finish_request(keep_alive_timeout);
        }
        pool.release(backend, backend_reusable);
    };
    match body {
        ResponseBody::None => {
            release(backend);
            if conn.write_all(&out).await.is_err() {
                return false;
            }
        }
        ResponseBody::Length(len) => {
            if !relay_length(conn, backend, out, len, release).await {
                return false;
            }
        }
        ResponseBody::UntilClose => {
            if conn.write_all(&out).await.is_ok() {
                relay_until_close(conn, &mut backend).await;
            }
            return false; // close-delimited: the client connection ends with it
        }
    }
    persistence.is_keep_alive()
}

/// Sends `head`, then moves exactly `len` body bytes, handing the backend to `release` once
/// its last byte is read. False if either side failed (the backend dying mid-body included):
/// the client connection must then close.
async fn relay_length(
    conn: &mut ClientConn,
    mut backend: Backend,
    head: Vec<u8>,
    len: u64,
    release: impl FnOnce(Backend),
) -> bool {
    let mut pending = head;
    let mut remaining = len;
    while remaining > 0 {
        let want = usize::try_from(remaining)
            .unwrap_or(usize::MAX)
            .min(RELAY_CHUNK);
        let chunk = match backend.read_body(want).await {
            Ok(chunk) if !chunk.is_empty() => chunk,
            _ => {
                tracing::warn!(
                    "backend {} closed mid-body; truncating the response",
                    backend.endpoint()
                );
                let _ = conn.write_all(&pending).await;
                return false;
            }
        };
        remaining -= chunk.len() as u64;
        // The head goes out with the first chunk: one write for small responses.
        if pending.is_empty() {
            pending = chunk;
        } else {
            pending.extend_from_slice(&chunk);
        }
        if remaining > 0 && conn.write_all(&pending).await.is_err() {
            return false;
        }
        if remaining > 0 {
            pending.clear();
        }
    }
    release(backend);
    conn.write_all(&pending).await.is_ok()
}

/// Moves body bytes until the backend closes (RP-33, RP-34).
async fn relay_until_close(conn: &mut ClientConn, backend: &mut Backend) {
    loop {
        match backend.read_body(RELAY_CHUNK).await {
            Ok(chunk) if !chunk.is_empty() => {
                if conn.write_all(&chunk).await.is_err() {
                    return;
                }
            }
            _ => return,
        }
    }
}
