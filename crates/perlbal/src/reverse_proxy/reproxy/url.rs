//! `X-REPROXY-URL` (REPROXY-5..7, 11, 12): the URLs are tried in order through the
//! ReproxyManager's connections ([`crate::backend::reproxy_pool`]) until one answers with an
//! acceptable response, whose body goes to the client under the backend's headers.
//!
//! A URL fails — and the next is tried — when its target cannot be reached, does not answer
//! within `idle_timeout`, answers other than 2xx or 416, or with a length other than
//! `X-REPROXY-EXPECTED-SIZE`. When every URL fails, the client gets a 503 page. A reused idle
//! connection that turns out closed is retried once on a fresh one before moving on.

use std::time::Duration;

use perlbal_http::framing::{self, ResponseBody};
use perlbal_http::reproxy::expected_size;
use perlbal_http::reproxy::url::{
    encode_target_request, merge_heads, target_accepted, ReproxyTarget,
};
use perlbal_http::{backend_keep_alive_timeout, backend_keeps_alive, RequestHead, ResponseHead};

use super::{page, persistence};
use crate::backend::conn::ResponseError;
use crate::backend::nodes;
use crate::backend::reproxy_pool::{targets, TargetConn};
use crate::client::ClientConn;
use crate::registry::SockState;
use crate::reverse_proxy::relay;
use crate::service::ServiceConfig;

/// Serves `req` from the first of `targets` that answers acceptably, under the backend's head
/// `primary`; true when the client connection stays open.
pub async fn serve(
    conn: &mut ClientConn,
    svc: &ServiceConfig,
    req: &RequestHead,
    primary: ResponseHead,
    targets: Vec<ReproxyTarget>,
) -> bool {
    let expected = expected_size(&primary);
    let mut request = Vec::with_capacity(256);
    for target in targets {
        request.clear();
        encode_target_request(&target, req, &mut request);
        if let Some((head, upstream)) = fetch(conn, svc, &target, &request, expected).await {
            return relay_target(conn, svc, req, &primary, head, upstream).await;
        }
    }
    page(conn, svc, req, 503, "").await
}

/// Sends `request` to `target` and returns its response head, if acceptable.
async fn fetch(
    conn: &mut ClientConn,
    svc: &ServiceConfig,
    target: &ReproxyTarget,
    request: &[u8],
    expected: Option<u64>,
) -> Option<(ResponseHead, TargetConn)> {
    let wait = Duration::from_secs(svc.idle_timeout.max(1));
    for _attempt in 0..2 {
        conn.sock().set_state(SockState::WaitBackend);
        let acquired = tokio::time::timeout(wait, targets().acquire(&target.host, target.port));
        let Ok(Ok(mut upstream)) = acquired.await else {
            return None;
        };
        let reused = upstream.uses() > 0;
        upstream.assign(conn.sock().fd());
        conn.sock().set_state(SockState::BackendReqSent);
        if upstream.send(request).await.is_err() {
            if reused {
                continue;
            }
            return None;
        }
        upstream.sock().set_state(SockState::WaitRes);
        conn.sock().set_state(SockState::WaitRes);
        let response = tokio::time::timeout(wait, upstream.read_response_head()).await;
        if let (Ok(Ok(head)), Some(node)) = (&response, upstream.node()) {
            // REPROXY-10: targets show in `nodes` like pool nodes.
            nodes::record_status(node, head.status());
        }
        match response {
            Ok(Ok(head)) if target_accepted(&head, expected) => return Some((head, upstream)),
            Ok(Err(ResponseError::Closed)) if reused => continue,
            // Refused, garbled, too slow or gone: this URL failed (the connection closes).
            _ => return None,
        }
    }
    None
}

/// Sends the merged head and the target's body (REPROXY-7); the connection to the target goes
/// back to the ReproxyManager at the body's last byte.
async fn relay_target(
    conn: &mut ClientConn,
    svc: &ServiceConfig,
    req: &RequestHead,
    primary: &ResponseHead,
    mut target_head: ResponseHead,
    mut upstream: TargetConn,
) -> bool {
    framing::strip_length_if_transfer_coded(&mut target_head);
    let Ok(body) = framing::response_body(&target_head, req.is_head()) else {
        return page(conn, svc, req, 503, "").await;
    };
    let mut head = merge_heads(primary, &target_head);
    let keep_alive = persistence(
        svc,
        req,
        head.status(),
        head.headers().contains("Content-Length"),
    );
    keep_alive.apply(head.headers_mut());
    let mut out = Vec::with_capacity(512);
    head.encode(&mut out);
    let reusable =
        body != ResponseBody::UntilClose && backend_keeps_alive(&target_head, req.is_head());
    let target_timeout = backend_keep_alive_timeout(&target_head);
    let release = |mut upstream: TargetConn| {
        if let Some(node) = upstream.node() {
            nodes::record_request_done(node);
        }
        if reusable {
            upstream.finish_request(target_timeout);
        }
        targets().release(upstream, reusable);
    };
    conn.sock().set_state(SockState::XferRes);
    upstream.sock().set_state(SockState::XferRes);
    match body {
        ResponseBody::None => {
            release(upstream);
            conn.write_all(&out).await.is_ok() && keep_alive.is_keep_alive()
        }
        ResponseBody::Length(len) => {
            relay::relay_length(conn, upstream, out, len, release).await
                && keep_alive.is_keep_alive()
        }
        ResponseBody::UntilClose => {
            if conn.write_all(&out).await.is_ok() {
                relay::relay_until_close(conn, &mut upstream).await;
            }
            false
        }
    }
}
