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
use super::splice;
use crate::backend::conn::Backend;
use crate::backend::nodes;
use crate::backend::pool::ServicePool;
use crate::buffers::{self, BufferKind};
use crate::client::ClientConn;
use crate::registry::SockState;
use crate::service::ServiceConfig;

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
    let backend_reusable =
        body != ResponseBody::UntilClose && backend_reusable(svc, req, &head, &backend);
    let keep_alive_timeout = backend_keep_alive_timeout(&head);
    persistence.apply(head.headers_mut());
    let mut out = Vec::with_capacity(512);
    head.encode(&mut out);
    conn.sock().set_state(SockState::XferRes);
    backend.sock().set_state(SockState::XferRes);
    // RP-33: the backend goes back to the pool as soon as its last byte is read, before the
    // client has it all, so it can serve the next request (of this client or another).
    let release = |backend: Backend| give_back(pool, backend, backend_reusable, keep_alive_timeout);
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

/// Whether `backend` may serve another request after answering `req` with `head` (RP-7,
/// SVC-24), its body framing aside.
fn backend_reusable(
    svc: &ServiceConfig,
    req: &RequestHead,
    head: &ResponseHead,
    backend: &Backend,
) -> bool {
    svc.proxy.persist_backend
        && backend_keeps_alive(head, req.is_head())
        && svc
            .proxy
            .max_backend_uses
            .is_none_or(|max| u64::from(backend.uses()) + 1 < max)
}

/// A response is done with `backend`: count it, and return the connection to the pool for
/// reuse or closing.
fn give_back(
    pool: &Arc<ServicePool>,
    mut backend: Backend,
    reusable: bool,
    keep_alive_timeout: Option<u64>,
) {
    if let Some(node) = backend.node() {
        nodes::record_request_done(node);
    }
    if reusable {
        backend.finish_request(keep_alive_timeout);
    }
    pool.release(backend, reusable);
}

/// Returns `backend` after a response whose body is not relayed (a reproxy directive,
/// REPROXY-1): reused only when that body, if any, was already read in full — bytes left on
/// the connection would be taken for the next response.
pub fn release_unrelayed(
    svc: &ServiceConfig,
    req: &RequestHead,
    head: &ResponseHead,
    mut backend: Backend,
    pool: &Arc<ServicePool>,
) {
    let body_done = match framing::response_body(head, req.is_head()) {
        Ok(ResponseBody::None) => true,
        Ok(ResponseBody::Length(len)) => {
            let len = usize::try_from(len).unwrap_or(usize::MAX);
            let in_buffer = len <= backend.buffered().len();
            if in_buffer {
                backend.consume(len);
            }
            in_buffer
        }
        _ => false,
    };
    let reusable = body_done && backend_reusable(svc, req, head, &backend);
    give_back(pool, backend, reusable, backend_keep_alive_timeout(head));
}

/// Sends `head`, then moves exactly `len` body bytes straight from the backend's read buffer,
/// handing the backend to `release` once its last byte is read. False if either side failed
/// (the backend dying mid-body included): the client connection must then close.
pub(super) async fn relay_length<U: AsMut<Backend>>(
    conn: &mut ClientConn,
    mut upstream: U,
    head: Vec<u8>,
    len: u64,
    release: impl FnOnce(U),
) -> bool {
    // The head goes out with the first body bytes: one write for a small response.
    let mut head = head;
    let mut remaining = len;
    loop {
        let backend = upstream.as_mut();
        // A large rest of the body moves inside the kernel.
        if remaining >= splice::SPLICE_AT_LEAST
            && backend.buffered().is_empty()
            && backend.tcp().is_some()
        {
            if let Some(pipe) = splice::Pipe::take() {
                if !head.is_empty() && conn.write_all(&head).await.is_err() {
                    return false;
                }
                // Boxed: the splice state would otherwise enlarge every request's future,
                // small ones included; a body this large pays for the allocation.
                return Box::pin(splice::relay(conn, upstream, pipe, remaining, release)).await;
            }
        }
        let starved = remaining > 0 && backend.buffered().is_empty();
        if starved && !matches!(backend.fill().await, Ok(n) if n > 0) {
            tracing::warn!(
                "backend {} closed mid-body; truncating the response",
                backend.endpoint()
            );
            let _ = conn.write_all(&head).await;
            return false;
        }
        let take = backend
            .buffered()
            .len()
            .min(usize::try_from(remaining).unwrap_or(usize::MAX));
        remaining -= take as u64;
        if remaining == 0 {
            return finish_length(conn, upstream, &head, take, release).await;
        }
        if conn
            .write_all_pair(&head, &backend.buffered()[..take])
            .await
            .is_err()
        {
            return false;
        }
        head.clear();
        backend.consume(take);
    }
}

/// The last bytes of a response: `head` (if not sent yet) and the backend's next `take` buffered
/// bytes. RP-33: the backend goes back to the pool before the client has them all — first of
/// all when they are all it has buffered, taking its buffer along.
async fn finish_length<U: AsMut<Backend>>(
    conn: &mut ClientConn,
    mut upstream: U,
    head: &[u8],
    take: usize,
    release: impl FnOnce(U),
) -> bool {
    let backend = upstream.as_mut();
    if backend.buffered().len() == take {
        let (buf, start) = backend.take_buffer();
        release(upstream);
        let sent = conn.write_all_pair(head, &buf[start..]).await.is_ok();
        buffers::give_back(BufferKind::BackendRead, buf);
        return sent;
    }
    // Bytes beyond the body (a misbehaving backend): what the client's socket does not take at
    // once is copied out, and the release decides about the connection.
    let body = &backend.buffered()[..take];
    let written = match conn.try_write_pair(head, body) {
        Ok(n) => n,
        Err(_) => {
            backend.consume(take);
            release(upstream);
            return false;
        }
    };
    let rest: Vec<u8> = if written < head.len() {
        [&head[written..], body].concat()
    } else {
        body[written - head.len()..].to_vec()
    };
    backend.consume(take);
    release(upstream);
    rest.is_empty() || conn.write_all(&rest).await.is_ok()
}

/// Moves body bytes until the backend closes (RP-33, RP-34).
pub(super) async fn relay_until_close(conn: &mut ClientConn, backend: &mut Backend) {
    loop {
        if backend.buffered().is_empty() && !matches!(backend.fill().await, Ok(n) if n > 0) {
            return;
        }
        let n = backend.buffered().len();
        if conn.write_all(backend.buffered()).await.is_err() {
            return;
        }
        backend.consume(n);
    }
}
