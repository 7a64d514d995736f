//! Reading a request body before a backend is asked for (RP-26..28).
//!
//! Up to `buffer_backend_connect` bytes are read into memory first; the rest is streamed to
//! the backend as it arrives. With `buffer_uploads`, large or slow uploads — and every chunked
//! one, which is de-chunked so the backend gets a `Content-Length` — are written to a spool
//! file instead, and the backend is asked for only once the whole body is on disk.

use std::time::Instant;

use perlbal_http::framing::{expects_continue, RequestBody, CONTINUE_RESPONSE};
use perlbal_http::{ChunkedDecoder, RequestHead};

use super::spool::Spool;
use crate::client::ClientConn;
use crate::registry::SockState;
use crate::service::ServiceConfig;

/// Body bytes read from the client at a time.
const BODY_CHUNK: usize = 64 * 1024;

/// A request body as it will be sent to the backend.
pub enum Body {
    /// No body.
    None,
    /// The whole body, in memory.
    Memory(Vec<u8>),
    /// The first bytes in memory; `remaining` more to stream from the client.
    Streamed { buffered: Vec<u8>, remaining: u64 },
    /// The whole body on disk.
    Spooled(Spool),
}

impl Body {
    /// Whether the whole body is at hand, so the request can be sent again.
    pub fn replayable(&self) -> bool {
        !matches!(self, Body::Streamed { .. })
    }
}

/// Why no body could be had.
pub enum BodyError {
    /// The client went away, sent a malformed chunked body, or one over the size limit:
    /// close without a response (SVC-7).
    Dropped,
    /// Answer with this status and message, then close.
    Refused(u16, &'static str),
}

/// Why a body goes to disk; sent to the backend with `PERLBAL_DEBUG_BUFFERED_UPLOADS` (CLI-11).
#[derive(Debug, Clone, Copy)]
enum Reason {
    Size,
    Time,
    Rate,
    Chunked,
}

impl Reason {
    fn debug_header(self) -> Option<&'static str> {
        match self {
            Reason::Size => Some("size"),
            Reason::Time => Some("time"),
            Reason::Rate => Some("rate"),
            Reason::Chunked => None,
        }
    }
}

/// Reads what must be read of the body of `req` before a backend is asked for; may change the
/// head (chunked uploads become `Content-Length` ones).
pub async fn read(
    conn: &mut ClientConn,
    svc: &ServiceConfig,
    req: &mut RequestHead,
    framing: RequestBody,
) -> Result<Body, BodyError> {
    let proxy = &svc.proxy;
    match framing {
        RequestBody::None => Ok(Body::None),
        RequestBody::Chunked => read_chunked(conn, svc, req).await,
        RequestBody::Length(len) if proxy.buffer_backend_connect == 0 => Ok(Body::Streamed {
            buffered: Vec::new(),
            remaining: len,
        }),
        RequestBody::Length(len) => {
            let size_threshold = proxy.buffer_upload_threshold_size;
            if proxy.buffer_uploads && size_threshold > 0 && len >= size_threshold {
                return spool_length(conn, svc, req, Vec::new(), len, Reason::Size).await;
            }
            conn.sock().set_state(SockState::BufferingRequest);
            let started = Instant::now();
            let want = len.min(proxy.buffer_backend_connect);
            let mut buffered = Vec::with_capacity(usize::try_from(want).unwrap_or(0));
            read_into(conn, &mut buffered, want).await?;
            if buffered.len() as u64 == len {
                return Ok(Body::Memory(buffered));
            }
            let remaining = len - buffered.len() as u64;
            if proxy.buffer_uploads {
                if let Some(reason) = slow_upload(svc, buffered.len() as u64, remaining, started) {
                    return spool_length(conn, svc, req, buffered, len, reason).await;
                }
            }
            Ok(Body::Streamed {
                buffered,
                remaining,
            })
        }
    }
}

/// RP-27: whether the upload is too slow to tie up a backend while it arrives.
fn slow_upload(svc: &ServiceConfig, read: u64, remaining: u64, started: Instant) -> Option<Reason> {
    let elapsed = started.elapsed().as_secs_f64();
    let seconds = if elapsed > 0.0 { elapsed } else { 1.0 };
    let rate = read as f64 / seconds;
    let eta = if rate > 0.0 {
        remaining as f64 / rate
    } else {
        f64::INFINITY
    };
    let proxy = &svc.proxy;
    let mut reason = None;
    if proxy.buffer_upload_threshold_rate > 0 && rate < proxy.buffer_upload_threshold_rate as f64 {
        reason = Some(Reason::Rate);
    }
    if proxy.buffer_upload_threshold_time > 0 && eta > proxy.buffer_upload_threshold_time as f64 {
        reason = Some(Reason::Time);
    }
    reason
}

async fn new_spool(conn: &ClientConn, svc: &ServiceConfig) -> Result<Spool, BodyError> {
    let dir = svc.proxy.buffer_uploads_path.clone().unwrap_or_default();
    Spool::create(&dir, &svc.name, &svc.listen, conn.sock().fd())
        .await
        .map_err(|_| BodyError::Refused(500, ""))
}

fn note_reason(req: &mut RequestHead, reason: Reason) {
    if std::env::var_os("PERLBAL_DEBUG_BUFFERED_UPLOADS").is_some() {
        if let Some(value) = reason.debug_header() {
            req.headers_mut()
                .set("X-PERLBAL-BUFFERED-UPLOAD-REASON", value);
        }
    }
}

/// Writes a `Content-Length` body of `len` bytes (of which `buffered` already read) to disk.
async fn spool_length(
    conn: &mut ClientConn,
    svc: &ServiceConfig,
    req: &mut RequestHead,
    buffered: Vec<u8>,
    len: u64,
    reason: Reason,
) -> Result<Body, BodyError> {
    conn.sock().set_state(SockState::BufferingUpload);
    note_reason(req, reason);
    let mut spool = new_spool(conn, svc).await?;
    if !buffered.is_empty() {
        spool
            .write(buffered)
            .await
            .map_err(|_| BodyError::Refused(500, ""))?;
    }
    while spool.len() < len {
        let want = usize::try_from(len - spool.len())
            .unwrap_or(usize::MAX)
            .min(BODY_CHUNK);
        let chunk = conn.read_body(want).await.map_err(|_| BodyError::Dropped)?;
        if chunk.is_empty() {
            return Err(BodyError::Dropped);
        }
        spool
            .write(chunk)
            .await
            .map_err(|_| BodyError::Refused(500, ""))?;
    }
    Ok(Body::Spooled(spool))
}

/// RP-28: a chunked body, de-chunked to disk, sent on with its length.
async fn read_chunked(
    conn: &mut ClientConn,
    svc: &ServiceConfig,
    req: &mut RequestHead,
) -> Result<Body, BodyError> {
    let send_continue = expects_continue(req);
    req.headers_mut().remove("Transfer-Encoding");
    if send_continue {
        req.headers_mut().remove("Expect");
        conn.write_all(CONTINUE_RESPONSE)
            .await
            .map_err(|_| BodyError::Dropped)?;
    }
    conn.sock().set_state(SockState::BufferingUpload);
    note_reason(req, Reason::Chunked);
    let mut spool = new_spool(conn, svc).await?;
    let mut decoder = ChunkedDecoder::new(svc.max_chunked_request_size);
    let mut pending: Vec<u8> = Vec::new();
    while !decoder.is_done() {
        let data = conn
            .read_body(BODY_CHUNK)
            .await
            .map_err(|_| BodyError::Dropped)?;
        if data.is_empty() {
            return Err(BodyError::Dropped);
        }
        pending.extend_from_slice(&data);
        let mut decoded = Vec::with_capacity(pending.len());
        let consumed = decoder
            .decode_into(&pending, &mut decoded)
            .map_err(|_| BodyError::Dropped)?;
        pending.drain(..consumed);
        if !decoded.is_empty() {
            spool
                .write(decoded)
                .await
                .map_err(|_| BodyError::Refused(500, ""))?;
        }
    }
    if !pending.is_empty() {
        conn.unread_front(&pending); // the start of the next request
    }
    req.headers_mut().set_u64("Content-Length", spool.len());
    Ok(Body::Spooled(spool))
}

/// Reads `want` body bytes from the client into `buf`.
async fn read_into(conn: &mut ClientConn, buf: &mut Vec<u8>, want: u64) -> Result<(), BodyError> {
    while (buf.len() as u64) < want {
        let left = usize::try_from(want - buf.len() as u64).unwrap_or(usize::MAX);
        let chunk = conn
            .read_body(left.min(BODY_CHUNK))
            .await
            .map_err(|_| BodyError::Dropped)?;
        if chunk.is_empty() {
            return Err(BodyError::Dropped);
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(())
}
