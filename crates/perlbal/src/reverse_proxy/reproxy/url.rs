//! `X-REPROXY-URL` (REPROXY-5..7, 11, 12): the URLs are tried in order through the
//! ReproxyManager's connections ([`crate::backend::reproxy_pool`]) until one answers with an
//! acceptable response, whose body goes to the client under the backend's headers.
//!
//! A URL fails — and the next is tried — when its target cannot be reached (refused, or no
//! connect within 5 s), closes before its head, answers other than 2xx or 416, or with a length
//! other than `X-REPROXY-EXPECTED-SIZE`. When every URL fails, the client gets a 503 page. A
//! reused idle connection that turns out closed is retried once on a fresh one before moving on.
//!
//! A slow target is not a failed URL: as in the original, where nothing but the client's idle
//! timer bounds the wait, the client is closed without a response once `idle_timeout` has passed
//! since the walk began (SVC-5), whichever URL it was waiting for.

use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;

use perlbal_http::framing::{self, ResponseBody};
use perlbal_http::reproxy::expected_size;
use perlbal_http::reproxy::url::{
    encode_target_request, merge_heads, target_accepted, ReproxyTarget,
};
use perlbal_http::{backend_keep_alive_timeout, backend_keeps_alive, RequestHead, ResponseHead};

use super::{client_head, page};
use crate::backend::conn::ResponseError;
use crate::backend::nodes;
use crate::backend::reproxy_pool::{targets, TargetConn};
use crate::client::ClientConn;
use crate::registry::{SockEntry, SockState, REPROXYING};
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
    // No client I/O happens during the walk, so the client's idle timer runs from here (0: none).
    let deadline =
        (svc.idle_timeout > 0).then(|| Instant::now() + Duration::from_secs(svc.idle_timeout));
    let client = conn.sock().entry();
    let mut request = Vec::with_capacity(256);
    for target in targets {
        request.clear();
        encode_target_request(&target, req, &mut request);
        let outcome = tokio::select! {
            outcome = fetch(&client, &target, &request, expected, deadline) => outcome,
            () = client_gone(conn) => Err(Miss::ClientGone),
        };
        match outcome {
            Ok((head, upstream)) => {
                return relay_target(conn, svc, req, &primary, head, upstream).await;
            }
            Err(Miss::Failed) => {}
            // The connection to the target, or the place in its queue, goes with the client.
            Err(Miss::ClientGone) => return false,
            Err(Miss::TimedOut) => {
                tracing::warn!(
                    "service {}: reproxy target {}:{} did not answer within idle_timeout",
                    svc.name,
                    target.host,
                    target.port
                );
                return false;
            }
        }
    }
    page(conn, svc, req, 503, "").await
}

/// Why a URL gave nothing to relay.
enum Miss {
    /// The URL failed (REPROXY-6): the next one is tried.
    Failed,
    /// The client's idle timeout passed while waiting: it is closed without a response.
    TimedOut,
    /// The client closed its connection while waiting (RP-38).
    ClientGone,
}

/// Resolves once the client has closed (or broken) its connection. Bytes it sends meanwhile
/// (a pipelined request) stay buffered for later; from then on the wait is only ended by the
/// target or the deadline.
async fn client_gone(conn: &mut ClientConn) {
    if let Ok(true) = conn.await_bytes().await {
        std::future::pending::<()>().await;
    }
}

/// Awaits `work` until `deadline` (none: for as long as it takes).
async fn until<T>(deadline: Option<Instant>, work: impl Future<Output = T>) -> Result<T, Miss> {
    match deadline {
        Some(at) => tokio::time::timeout_at(at, work)
            .await
            .map_err(|_| Miss::TimedOut),
        None => Ok(work.await),
    }
}

/// Sends `request` to `target` and returns its response head, if acceptable.
async fn fetch(
    client: &SockEntry,
    target: &ReproxyTarget,
    request: &[u8],
    expected: Option<u64>,
    deadline: Option<Instant>,
) -> Result<(ResponseHead, TargetConn), Miss> {
    for _attempt in 0..2 {
        client.set_state(SockState::WaitBackend);
        let acquired = until(deadline, targets().acquire(&target.host, target.port)).await?;
        // Unresolvable, refused, or no connect within CONNECT_TIMEOUT: this URL failed.
        let mut upstream = acquired.map_err(|_| Miss::Failed)?;
        let reused = upstream.uses() > 0;
        upstream.assign(client.fd());
        // MGMT-19: `socks` shows the client on this target, reproxying until it answers.
        client.set_backend(upstream.node());
        client.set_proxy_flag(REPROXYING, true);
        client.set_state(SockState::BackendReqSent);
        if upstream.send(request).await.is_err() {
            if reused {
                continue;
            }
            return Err(Miss::Failed);
        }
        // Both stay `sending_req` / `backend_req_sent` until the answer comes, as in the
        // original (`socks`, `reproxy_state`).
        let answer = until(deadline, upstream.read_response_head()).await?;
        if let (Ok(head), Some(node)) = (&answer, upstream.node()) {
            // REPROXY-10: every answer counts for `nodes`, accepted or not (RP-40).
            nodes::record_status(node, head.status());
        }
        if answer.is_ok() {
            client.set_proxy_flag(REPROXYING, false);
        }
        match answer {
            Ok(head) if target_accepted(&head, expected) => return Ok((head, upstream)),
            Err(ResponseError::Closed) if reused => continue,
            // Refused answer, garbled, or gone: this URL failed (the connection closes).
            _ => return Err(Miss::Failed),
        }
    }
    Err(Miss::Failed)
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
    let framed = head.headers().contains("Content-Length");
    let (out, keep_alive) = client_head(svc, req, &mut head, framed);
    let reusable =
        body != ResponseBody::UntilClose && backend_keeps_alive(&target_head, req.is_head());
    let target_timeout = backend_keep_alive_timeout(&target_head);
    let release = |mut upstream: TargetConn| {
        // The whole body was read: the target served one more request (REPROXY-10).
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
            conn.write_all(&out).await.is_ok() && keep_alive
        }
        ResponseBody::Length(len) => {
            relay::relay_length(conn, upstream, out, len, release).await && keep_alive
        }
        ResponseBody::UntilClose => {
            if conn.write_all(&out).await.is_ok() {
                relay::relay_until_close(conn, &mut upstream).await;
            }
            false
        }
    }
}
