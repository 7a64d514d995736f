//! One proxied request: body framing, a backend connection, the request sent, the response
//! head awaited — with retries where they are safe (RP-26, RP-36, RP-37).
//!
//! A request is sent again on another connection only when doing so cannot duplicate or
//! corrupt it: its whole body (if any) is still in memory, and either it never reached a
//! backend (the connection failed while sending, or a reused idle connection turned out to be
//! closed) or its method is idempotent. Once the client has received a byte of a response,
//! nothing is retried.

use std::net::IpAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use perlbal_http::forward::{cookie_says_high_priority, encode_backend_request, ForwardOptions};
use perlbal_http::framing::{self, BodyRole};
use perlbal_http::{KeepAlivePolicy, Persistence, RequestHead, ResponseHead, SimpleResponse};

use super::body::{self, Body, BodyError};
use super::{relay, reproxy};
use crate::backend::conn::{Backend, ResponseError};
use crate::backend::nodes;
use crate::backend::pool::{AcquireError, Acquired, Priority, ServicePool};
use crate::backend::Endpoint;
use crate::client::ClientConn;
use crate::control::NODEFILE_RECHECK_SECONDS;
use crate::registry::{unix_now, SockState};
use crate::service::ServiceConfig;
use crate::upload_tracker::{self, UploadReporter};

/// Body bytes read from the client at a time.
const BODY_CHUNK: usize = 64 * 1024;

/// Proxies `req`; true when the client connection stays open.
pub async fn proxy(
    conn: &mut ClientConn,
    svc: &Arc<ServiceConfig>,
    mut req: RequestHead,
    client_ip: IpAddr,
) -> bool {
    let role = BodyRole::Proxy {
        buffer_uploads: svc.proxy.buffer_uploads,
    };
    let framing = match framing::request_body(&req, role) {
        Ok(framing) => framing,
        Err(e) => {
            // RP-29, OBS-6: refused before any backend is contacted.
            error_page(conn, svc, &req, 400, &e.message(role)).await;
            return false;
        }
    };
    if !svc.proxy.upload_status_listeners.is_empty() {
        if let Some(session) = upload_tracker::session_of(req.uri()) {
            if req.uri().starts_with(b"/__upload_status?") {
                return upload_status(conn, svc, &req, session).await;
            }
            // UPT-1: a tagged upload reports its progress while its body is read.
            let total = match framing {
                framing::RequestBody::Length(n) => n,
                _ => 0,
            };
            let reporter = UploadReporter::new(
                session,
                &svc.proxy.upload_status_listeners,
                total,
                unix_now(),
            );
            conn.track_upload(Some(reporter));
        }
    }
    // MGMT-19: `waiting_for` counts down the body of a request with a length.
    conn.sock().set_waiting_for(declared_length(&req, framing));
    let bodiless = matches!(
        framing,
        framing::RequestBody::None | framing::RequestBody::Length(0)
    );
    let body = body::read(conn, svc, &mut req, framing).await;
    conn.track_upload(None);
    let body = match body {
        Ok(body) => body,
        Err(BodyError::Dropped) => return false,
        Err(BodyError::Refused(status, message)) => {
            error_page(conn, svc, &req, status, message).await;
            return false;
        }
    };
    // REPROXY-14: a cached reproxy answers without asking a backend.
    if bodiless && svc.proxy.reproxy_cache_maxsize > 0 {
        // Boxed for the same reason as `reproxy::serve` below.
        if let Some(kept_open) = Box::pin(reproxy::serve_cached(conn, svc, &req)).await {
            return kept_open;
        }
    }
    let mut head = Vec::with_capacity(512);
    encode_backend_request(
        &req,
        &ForwardOptions {
            persist_backend: svc.proxy.persist_backend,
            enable_reproxy: svc.proxy.enable_reproxy,
            trusted: svc.trusts(client_ip),
            blind_proxy: svc.proxy.blind_proxy,
            client_ip,
            edits: &svc.header_edits,
        },
        &mut head,
    );
    let request = Request {
        req: &req,
        head,
        body,
        priority: priority(svc, &req),
    };
    run(conn, svc, &request).await
}

/// The request body's declared length (`Content-Length`), if it has one.
fn declared_length(req: &RequestHead, framing: framing::RequestBody) -> Option<u64> {
    match framing {
        framing::RequestBody::Length(n) => Some(n),
        framing::RequestBody::None => req.headers().contains("Content-Length").then_some(0),
        framing::RequestBody::Chunked => None,
    }
}

/// What is known about the request being proxied.
struct Request<'a> {
    req: &'a RequestHead,
    /// The head to send, already rewritten for the backend.
    head: Vec<u8>,
    body: Body,
    priority: Priority,
}

impl Request<'_> {
    fn body_in_memory(&self) -> bool {
        self.body.replayable()
    }

    fn idempotent(&self) -> bool {
        matches!(
            self.req.method(),
            "GET" | "HEAD" | "OPTIONS" | "PUT" | "DELETE" | "TRACE"
        )
    }

    /// After a connection failed before answering: the request cannot have been acted on
    /// (not delivered, or idempotent), so it may go to another connection at once.
    fn replayable(&self, reached: bool) -> bool {
        self.body_in_memory() && (!reached || self.idempotent())
    }

    /// After a connection failed before answering: the request may be sent again under
    /// `enable_error_retries` (point 4 of the issue; RP-37).
    fn resendable(&self, reached: bool, reused: bool) -> bool {
        self.body_in_memory() && (!reached || reused || self.idempotent())
    }
}

/// Why an attempt on one connection did not produce a response head.
enum AttemptError {
    /// The request (or part of it) could not be delivered, or the backend closed before
    /// answering. `reached` says whether the backend may have received the whole request.
    Failed { reached: bool, reused: bool },
    /// The backend sent something that is not an HTTP response head.
    Garbage(perlbal_http::HeadError),
    /// No response head within `idle_timeout`.
    Timeout,
    /// The client went away while its body was being forwarded.
    ClientGone,
}

/// How many reused connections found closed one request may go through before its failure
/// counts against the node.
const MAX_STALE_RETRIES: u32 = 3;

async fn run(conn: &mut ClientConn, svc: &Arc<ServiceConfig>, request: &Request<'_>) -> bool {
    let pool = Arc::clone(svc.backends());
    let svc = refresh_nodefile_if_due(svc).unwrap_or_else(|| Arc::clone(svc));
    let svc = &*svc;
    // One budget for every kind of retry: `error_retry_schedule` when `enable_error_retries`.
    let mut retries = 0;
    // Idle connections the backend had closed unseen, each replaced at once (see below).
    let mut stale = 0;
    if request.priority == Priority::High {
        conn.sock().set_proxy_flag(crate::registry::HIGHPRI, true);
    }
    loop {
        conn.sock().set_state(SockState::WaitBackend);
        // While a backend is awaited, this task bounds the wait (and answers 503/504); the
        // client's own idle timer must not close the connection first.
        conn.sock().set_idle_limit(0);
        let backend = match acquire(&pool, svc, request.priority).await {
            Ok(b) => b,
            Err(message) => {
                tracing::warn!("service {}: {message}", svc.name);
                error_page(conn, svc, request.req, 503, message).await;
                return false;
            }
        };
        // A reused connection may have been closed a moment ago, unseen by the cached
        // readiness: a request that could not be sent again asks the kernel first.
        if stale < MAX_STALE_RETRIES && closed_under_unsafe_request(&backend, request) {
            stale += 1;
            continue;
        }
        let node = backend.endpoint().clone();
        let retry_delay = error_retry_delay(svc, retries);
        let error = match attempt(conn, svc, request, backend).await {
            Ok((head, backend)) => {
                conn.sock().set_idle_limit(svc.idle_timeout);
                // REPROXY-1: a directive is acted on before anything else, 500 retries included.
                let reproxy = svc.proxy.enable_reproxy;
                if let Some(directive) = reproxy.then(|| reproxy::directive(&head)).flatten() {
                    relay::release_unrelayed(svc, request.req, &head, backend, &pool);
                    // Boxed: reproxying's state would triple every request's future.
                    let serve = reproxy::serve(conn, svc, request.req, head, directive);
                    return Box::pin(serve).await;
                }
                let retry_500 =
                    head.status() == 500 && matches!(request.req.method(), "GET" | "HEAD");
                if let (true, Some(delay)) = (retry_500, retry_delay) {
                    // RP-36: the 500 is dropped and the request queued again after a delay.
                    retries += 1;
                    drop(backend);
                    tokio::time::sleep(delay).await;
                    continue;
                }
                return relay::respond(conn, svc, request.req, head, backend, &pool).await;
            }
            Err(error) => error,
        };
        if let AttemptError::Failed { reached, reused } = error {
            // A kept-alive connection the backend closed just before (or as) it was reused
            // says nothing about the node: a request that cannot have been acted on goes at
            // once to another connection, whatever `enable_error_retries` says (RP-31,
            // docs/compatibility.md).
            if reused && request.replayable(reached) && stale < MAX_STALE_RETRIES {
                stale += 1;
                continue;
            }
            pool.note_failed_node(&node, &svc.proxy.endpoints);
            if let (true, Some(delay)) = (request.resendable(reached, reused), retry_delay) {
                tracing::warn!(
                    "service {}: backend {node} failed before answering; retrying",
                    svc.name
                );
                retries += 1;
                tokio::time::sleep(delay).await;
                continue;
            }
        }
        let Some((status, why, message)) = failure_page(&error, &node, svc) else {
            return false; // the client is gone
        };
        return give_up(conn, svc, request.req, status, &why, message).await;
    }
}

/// RP-36: the delay before error retry number `retries` + 1, if `enable_error_retries` allows it.
fn error_retry_delay(svc: &ServiceConfig, retries: usize) -> Option<Duration> {
    let schedule = &svc.proxy.error_retry_schedule;
    (svc.proxy.enable_error_retries && retries < schedule.len()).then(|| schedule[retries])
}

/// Whether `backend`, a reused connection about to carry a request that could not be sent
/// again, turns out to be closed (a syscall; only asked for such requests).
fn closed_under_unsafe_request(backend: &Backend, request: &Request<'_>) -> bool {
    backend.uses() > 0 && !request.idempotent() && !backend.is_open_now()
}

/// The status, log line and page text for a request no backend will answer after `error`;
/// `None` when the client went away.
fn failure_page(
    error: &AttemptError,
    node: &Endpoint,
    svc: &ServiceConfig,
) -> Option<(u16, String, &'static str)> {
    Some(match error {
        AttemptError::ClientGone => return None,
        AttemptError::Timeout => (
            504,
            format!("backend {node} did not answer within {}s", svc.idle_timeout),
            "The backend did not answer in time.",
        ),
        AttemptError::Garbage(why) => (
            502,
            format!("backend {node} sent an invalid response: {why}"),
            "The backend sent an invalid response.",
        ),
        AttemptError::Failed { .. } => (
            502,
            format!("backend {node} closed before answering"),
            "The backend closed the connection before answering.",
        ),
    })
}

/// POOL-4: before a connection is taken, the pool's node file is looked at again if it was
/// not for a few seconds; a changed file gives a new configuration to use.
fn refresh_nodefile_if_due(svc: &ServiceConfig) -> Option<Arc<ServiceConfig>> {
    let pool = svc.proxy.pool.as_ref()?;
    let checked = pool.nodefile_checked.as_ref()?;
    let now = unix_now();
    let last = checked.load(Ordering::Relaxed);
    if now < last + NODEFILE_RECHECK_SECONDS
        || checked
            .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
            .is_err()
    {
        return None;
    }
    if !crate::control::refresh_nodefile(&pool.name) {
        return None;
    }
    crate::service::snapshot().service(&svc.name).cloned()
}

/// A connection from the pool, waiting at most `idle_timeout` (the original waits silently
/// until the client's idle timeout closes it, RP-10).
async fn acquire(
    pool: &Arc<ServicePool>,
    svc: &ServiceConfig,
    priority: Priority,
) -> Result<Backend, &'static str> {
    let acquired = match pool.acquire(svc, priority) {
        Ok(Acquired::Now(backend)) => Ok(backend),
        Ok(Acquired::Queued(queued)) => {
            // The timer only exists for clients that have to wait.
            let wait = Duration::from_secs(svc.idle_timeout.max(1));
            match tokio::time::timeout(wait, pool.wait(queued)).await {
                Ok(got) => got,
                Err(_) => return Err("No backend became available in time."),
            }
        }
        Err(e) => Err(e),
    };
    match acquired {
        Ok(backend) => backend
            .adopt()
            .map_err(|_| "could not take over a backend connection"),
        Err(AcquireError::NoNodes) => Err("No backend is configured for this service."),
        Err(AcquireError::AllNodesDown) => Err("No backend is available."),
    }
}

/// Sends the request on `backend` and waits for the response head.
async fn attempt(
    conn: &mut ClientConn,
    svc: &ServiceConfig,
    request: &Request<'_>,
    mut backend: Backend,
) -> Result<(ResponseHead, Backend), AttemptError> {
    let reused = backend.uses() > 0;
    if let (Some(pool), Some(node)) = (&svc.proxy.pool, backend.node()) {
        pool.usage.mark_used(node);
    }
    backend.assign(conn.sock().fd());
    conn.sock().set_backend(backend.node());
    conn.sock().set_state(SockState::BackendReqSent);
    let failed = |reached| AttemptError::Failed { reached, reused };
    match &request.body {
        Body::None => backend
            .send(&request.head)
            .await
            .map_err(|_| failed(false))?,
        Body::Memory(bytes) => {
            let mut first = Vec::with_capacity(request.head.len() + bytes.len());
            first.extend_from_slice(&request.head);
            first.extend_from_slice(bytes);
            backend.send(&first).await.map_err(|_| failed(false))?;
        }
        Body::Spooled(spool) => {
            backend
                .send(&request.head)
                .await
                .map_err(|_| failed(false))?;
            let file = spool.open().await.map_err(|_| failed(false))?;
            backend
                .send_file(&file, spool.len())
                .await
                .map_err(|_| failed(true))?;
        }
        Body::Streamed {
            buffered,
            remaining,
        } => {
            let mut first = Vec::with_capacity(request.head.len() + buffered.len());
            first.extend_from_slice(&request.head);
            first.extend_from_slice(buffered);
            backend.send(&first).await.map_err(|_| failed(false))?;
            stream_body(conn, svc, &mut backend, *remaining).await?;
        }
    }
    conn.sock().set_idle_limit(0);
    conn.sock().set_state(SockState::WaitRes);
    backend.sock().set_state(SockState::WaitRes);
    let wait = Duration::from_secs(svc.idle_timeout.max(1));
    match tokio::time::timeout(wait, backend.read_response_head()).await {
        Err(_) => Err(AttemptError::Timeout),
        Ok(Err(ResponseError::Closed)) => Err(failed(true)),
        Ok(Err(ResponseError::Invalid(why))) => Err(AttemptError::Garbage(why)),
        Ok(Ok(head)) => {
            if let Some(node) = backend.node() {
                nodes::record_status(node, head.status());
            }
            Ok((head, backend))
        }
    }
}

/// Forwards the rest of a body from the client as it arrives; nothing after it is ever
/// forwarded (RP-30). The client's idle timer applies while it sends.
async fn stream_body(
    conn: &mut ClientConn,
    svc: &ServiceConfig,
    backend: &mut Backend,
    mut remaining: u64,
) -> Result<(), AttemptError> {
    conn.sock().set_idle_limit(svc.idle_timeout);
    while remaining > 0 {
        let want = usize::try_from(remaining)
            .unwrap_or(usize::MAX)
            .min(BODY_CHUNK);
        let chunk = conn
            .read_body(want)
            .await
            .map_err(|_| AttemptError::ClientGone)?;
        if chunk.is_empty() {
            return Err(AttemptError::ClientGone);
        }
        remaining -= chunk.len() as u64;
        backend
            .send(&chunk)
            .await
            .map_err(|_| AttemptError::Failed {
                reached: true,
                reused: false,
            })?;
    }
    Ok(())
}

/// UPT-3: `/__upload_status?client_up_sess=<s>` answered from this process's tracker.
async fn upload_status(
    conn: &mut ClientConn,
    svc: &ServiceConfig,
    req: &RequestHead,
    session: &str,
) -> bool {
    let body = upload_tracker::status_body(session);
    let mut head = ResponseHead::new(200);
    head.headers_mut().set("Content-Type", "text/plain");
    head.headers_mut()
        .set_u64("Content-Length", body.len() as u64);
    let persistence = KeepAlivePolicy {
        persist_client: svc.persist_client,
        idle_timeout: svc.persist_client_idle_timeout,
    }
    .decide_for(req, &head, true);
    persistence.apply(head.headers_mut());
    let mut out = Vec::with_capacity(160 + body.len());
    head.encode(&mut out);
    if !req.is_head() {
        out.extend_from_slice(body.as_bytes());
    }
    conn.sock().set_state(SockState::XferResp);
    conn.write_all(&out).await.is_ok() && persistence.is_keep_alive()
}

/// RP-15: the queue a request waits in.
fn priority(svc: &ServiceConfig, req: &RequestHead) -> Priority {
    match &svc.proxy.high_priority_cookie {
        Some(cookie)
            if cookie_says_high_priority(
                req.headers(),
                cookie,
                &svc.proxy.high_priority_cookie_contents,
            ) =>
        {
            Priority::High
        }
        _ => Priority::Normal,
    }
}

/// Logs why no usable answer came from a backend and sends the client a `status` page; the
/// connection closes (false).
async fn give_up(
    conn: &mut ClientConn,
    svc: &ServiceConfig,
    req: &RequestHead,
    status: u16,
    why: &str,
    message: &str,
) -> bool {
    tracing::warn!("service {}: {why}", svc.name);
    error_page(conn, svc, req, status, message).await;
    false
}

/// Sends a generated page and closes (the connection's state is not trustworthy after it).
pub async fn error_page(
    conn: &mut ClientConn,
    svc: &ServiceConfig,
    req: &RequestHead,
    status: u16,
    message: &str,
) {
    let page = SimpleResponse {
        status,
        message,
        server_tokens: svc.server_tokens,
        persistence: Persistence::Close,
        head_request: req.is_head(),
    };
    let mut out = Vec::with_capacity(256);
    page.write(&mut out);
    conn.sock().set_state(SockState::XferResp);
    let _ = conn.write_all(&out).await;
}
