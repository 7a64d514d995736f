//! ClientHTTP: the `web_server` role (WS-*), one task per client connection.
//!
//! ```text
//!  accept ─► reading_headers ─► dispatch on method ─► GET/HEAD: wait_stat ─► xfer_resp / xfer_disk
//!                 ▲                                  ├► PUT:  read body ─► write file ─► reply
//!                 │                                  ├► DELETE: unlink ─► reply
//!                 │                                  └► other: 400
//!                 └──────────── persist_wait ◄── reply allowed keep-alive (HTTP-14)
//! ```
//!
//! The service's settings are looked up again for every request (see [`crate::service`]).
//! Disk work goes through [`crate::static_files`], which never blocks the event loop.

mod concat;
mod get;
mod listing;
mod put;

use std::sync::Arc;

use perlbal_http::framing::{self, BodyRole, RequestBody};
use perlbal_http::{KeepAlivePolicy, Persistence, RequestHead, SimpleResponse};

use crate::client::{self, ClientConn, HttpRole, LoopStart, ReadHeadError};
use crate::listener::Accepted;
use crate::registry::{SockClass, SockState};
use crate::server::server;
use crate::service::{snapshot, ServiceConfig};

/// How a request ended for its connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Done {
    /// The reply allowed keep-alive: wait for the next request.
    KeepAlive,
    /// Close the connection.
    Close,
}

impl From<Persistence> for Done {
    fn from(p: Persistence) -> Done {
        if p.is_keep_alive() {
            Done::KeepAlive
        } else {
            Done::Close
        }
    }
}

/// One request being answered.
pub struct Exchange<'a> {
    pub conn: &'a mut ClientConn,
    pub svc: &'a ServiceConfig,
    pub req: RequestHead,
}

impl Exchange<'_> {
    fn policy(&self) -> KeepAlivePolicy {
        KeepAlivePolicy {
            persist_client: self.svc.persist_client,
            idle_timeout: self.svc.persist_client_idle_timeout,
        }
    }

    /// Whether the request announced a body (which this role does not read, WS-24), or
    /// framed it so that its end cannot be known.
    fn has_body(&self) -> bool {
        !matches!(
            framing::request_body(&self.req, BodyRole::Web),
            Ok(RequestBody::None)
        )
    }

    /// The keep-alive decision for a reply with `status` (HTTP-14).
    /// During a graceful shutdown every reply says `Connection: close` (the original still
    /// advertised keep-alive and then closed, PROC-7).
    pub fn persistence(
        &self,
        status: u16,
        has_content_length: bool,
        body_read: bool,
    ) -> Persistence {
        if crate::server::draining() {
            return Persistence::Close;
        }
        self.policy()
            .decide(&self.req, status, has_content_length, body_read)
    }

    /// Sends a generated page (HTTP-11) and says whether the connection may persist.
    /// `body_read` is false when request body bytes were left unread.
    pub async fn simple(&mut self, status: u16, message: &str, body_read: bool) -> Done {
        let page = SimpleResponse {
            status,
            message,
            server_tokens: self.svc.server_tokens,
            persistence: Persistence::Close,
            head_request: self.req.is_head(),
        };
        let persistence = self.persistence(status, page.has_body(), body_read);
        let page = SimpleResponse {
            persistence,
            ..page
        };
        let mut out = Vec::with_capacity(256);
        page.write(&mut out);
        self.send(&out, persistence).await
    }

    /// A generated page for a request whose body, if any, was not read: keep-alive only when
    /// there was no body, since unread body bytes cannot be told apart from a next request.
    pub async fn refuse(&mut self, status: u16, message: &str) -> Done {
        let body_read = !self.has_body();
        self.simple(status, message, body_read).await
    }

    /// Writes a complete reply held in memory.
    pub async fn send(&mut self, bytes: &[u8], persistence: Persistence) -> Done {
        self.conn.sock().set_state(SockState::XferResp);
        match self.conn.write_all(bytes).await {
            Ok(()) => persistence.into(),
            Err(_) => Done::Close,
        }
    }
}

/// Serves one web_server connection until it closes (see [`crate::reverse_proxy::serve`] for
/// why this is not an `async fn`).
pub fn serve(
    accepted: Accepted,
    service: Arc<str>,
) -> impl std::future::Future<Output = ()> + 'static {
    let conn = ClientConn::new(accepted, SockClass::ClientHttp, &service);
    client::serve::<ClientHttp>(conn, service, LoopStart::NEW)
}

/// The role's request, for the shared keep-alive loop.
struct ClientHttp;

impl HttpRole for ClientHttp {
    const EVENT: &'static str = "Perlbal::ClientHTTP-read";

    fn answer<'a>(
        conn: &'a mut ClientConn,
        service: &'a Arc<str>,
    ) -> impl std::future::Future<Output = Option<bool>> + 'a {
        next_request(conn, service)
    }
}

/// Reads and answers one request. `Some(was_post)` when the connection stays open.
async fn next_request(conn: &mut ClientConn, service: &str) -> Option<bool> {
    let svc = snapshot().service(service).cloned()?;
    let req = match conn.read_head().await {
        Ok(req) => req,
        Err(ReadHeadError::Invalid(e)) => {
            tracing::debug!("closing a web_server connection: bad request head: {e}");
            return None;
        }
        Err(ReadHeadError::Closed) => return None,
    };
    conn.sock().set_idle_limit(svc.idle_timeout);
    let was_post = req.method() == "POST";
    server().count_request();
    conn.sock().count_request();
    conn.sock().set_request(
        req.headers().get_str("Host"),
        &String::from_utf8_lossy(req.uri()),
    );
    let done = handle(Exchange {
        conn: &mut *conn,
        svc: &svc,
        req,
    })
    .await;
    conn.sock().clear_request();
    (done == Done::KeepAlive).then_some(was_post)
}

/// Answers one request already read (also for a reverse proxy's `X-REPROXY-SERVICE`, REPROXY-8).
pub async fn handle(mut x: Exchange<'_>) -> Done {
    match x.req.method() {
        "GET" | "HEAD" => get::serve(&mut x).await,
        "PUT" => Box::pin(put::put(&mut x)).await,
        "DELETE" => put::delete(&mut x).await,
        _ => x.refuse(400, "").await,
    }
}

/// Answers connections of roles this build does not serve yet (selector) with a clear 503
/// instead of a silent close.
pub async fn serve_unavailable(accepted: Accepted, service: Arc<str>) {
    let mut conn = ClientConn::new(accepted, SockClass::ClientProxy, &service);
    let Some(svc) = snapshot().service(&service).cloned() else {
        return;
    };
    conn.sock().set_idle_limit(svc.idle_timeout);
    let Ok(req) = conn.read_head().await else {
        return;
    };
    server().count_request();
    conn.sock().count_request();
    let role = svc.role.as_ref().map_or("", |r| r.name()).to_string();
    let mut x = Exchange {
        conn: &mut conn,
        svc: &svc,
        req,
    };
    let message = format!("The {role} role is not supported by this build yet.");
    let page = SimpleResponse {
        status: 503,
        message: &message,
        server_tokens: x.svc.server_tokens,
        persistence: Persistence::Close,
        head_request: x.req.is_head(),
    };
    let mut out = Vec::new();
    page.write(&mut out);
    let _ = x.send(&out, Persistence::Close).await;
    conn.finish();
}
