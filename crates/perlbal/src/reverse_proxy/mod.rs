//! ClientProxy: the `reverse_proxy` role (RP-*), one task per client connection.
//!
//! ```text
//!  reading_headers ─► [buffering_request] ─► wait_backend ─► backend_req_sent ─► wait_res
//!        ▲                                     │ no node / all down: 503            │
//!        │                                     ▼                                    ▼
//!        └──── persist_wait ◄── response complete, keep-alive ◄────────────── xfer_res
//! ```
//!
//! The request goes to a backend connection from the service's pool ([`crate::backend`]),
//! rewritten by [`perlbal_http::forward`]; the response comes back with the client's
//! keep-alive decision applied. Failures are answered, never left hanging: 502 for a backend
//! that closes or sends garbage before its response head, 503 when no backend can be had, 504
//! when it does not answer within `idle_timeout`. A request is sent again to another
//! connection only while that is safe (see [`exchange`]).

mod body;
mod exchange;
mod relay;
pub(crate) mod reproxy;
mod splice;
mod spool;

use std::sync::Arc;

use crate::client::{self, ClientConn, HttpRole, LoopStart, ReadHeadError};
use crate::listener::Accepted;
use crate::registry::SockClass;
use crate::service::snapshot;

/// Serves one reverse_proxy connection until it closes.
///
/// Not an `async fn`: the task's future is the request loop itself, with the connection stored
/// once, which keeps what an idle connection costs small.
pub fn serve(
    accepted: Accepted,
    service: Arc<str>,
) -> impl std::future::Future<Output = ()> + 'static {
    let conn = ClientConn::new(accepted, SockClass::ClientProxy, &service);
    client::serve::<ClientProxy>(conn, service, LoopStart::NEW)
}

/// The role's request, for the shared keep-alive loop.
struct ClientProxy;

impl HttpRole for ClientProxy {
    const EVENT: &'static str = "Perlbal::ClientProxy-read";

    fn answer<'a>(
        conn: &'a mut ClientConn,
        service: &'a Arc<str>,
    ) -> impl std::future::Future<Output = Option<bool>> + 'a {
        next_request(conn, service)
    }
}

/// Reads one request and proxies it. `Some(was_post)` when the client connection stays open.
async fn next_request(conn: &mut ClientConn, service: &Arc<str>) -> Option<bool> {
    let svc = snapshot().service(service).cloned()?;
    let peer = conn.sock().peer()?;
    let req = match conn.read_head().await {
        Ok(req) => req,
        Err(ReadHeadError::Invalid(e)) => {
            tracing::debug!("closing a reverse_proxy connection: bad request head: {e}");
            return None;
        }
        Err(ReadHeadError::Closed) => return None,
    };
    let was_post = req.method() == "POST";
    conn.sock().set_idle_limit(svc.idle_timeout);
    crate::server::server().count_request();
    conn.sock().count_request();
    conn.sock().set_request(
        req.headers().get_str("Host"),
        &String::from_utf8_lossy(req.uri()),
    );
    let keep_alive = exchange::proxy(conn, &svc, req, peer.ip()).await;
    conn.sock().clear_request();
    keep_alive.then_some(was_post)
}
