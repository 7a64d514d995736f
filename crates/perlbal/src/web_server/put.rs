//! PUT and DELETE (WS-17..22).
//!
//! An upload is written to a temporary file beside its target and renamed into place only once
//! the whole body arrived (and its Content-MD5 matched, with `enable_md5`). A client that goes
//! away, a body over the limits, or a failed write removes the temporary file: a failed PUT
//! never leaves a partial file behind (the original truncates the target and writes in place).

use std::ffi::OsStr;
use std::io;
use std::path::{Path, PathBuf};

use base64::Engine;
use bytes::Bytes;
use md5::{Digest, Md5};
use perlbal_http::framing::{self, BodyRole, RequestBody, CONTINUE_RESPONSE};
use perlbal_http::{delete_target, put_target, ChunkedDecoder, InvalidFilename, PutTarget};

use super::get::disk_path;
use super::{Done, Exchange};
use crate::registry::SockState;
use crate::static_files::{self, FileKind, PutError, Upload};

/// Body bytes read from the socket at a time.
const BODY_CHUNK: usize = 64 * 1024;

/// How the body of an accepted PUT is delimited.
enum Body {
    Length(u64),
    Chunked(ChunkedDecoder),
}

/// Answers a PUT.
pub async fn put(x: &mut Exchange<'_>) -> Done {
    if !x.svc.web.enable_put {
        return x.refuse(403, "").await;
    }
    let body = match framing::request_body(&x.req, BodyRole::WebPut) {
        Ok(RequestBody::Chunked) => {
            if framing::expects_continue(&x.req)
                && x.conn.write_all(CONTINUE_RESPONSE).await.is_err()
            {
                return Done::Close;
            }
            Body::Chunked(ChunkedDecoder::new(x.svc.max_chunked_request_size))
        }
        Ok(RequestBody::Length(len)) => Body::Length(len),
        Ok(RequestBody::None) => Body::Length(0),
        Err(e) => return x.simple(400, &e.message(BodyRole::WebPut), false).await,
    };
    if let Body::Length(len) = body {
        let max = x.svc.web.max_put_size;
        if max > 0 && len > max {
            let message = format!("Content-length of {len} is invalid.");
            return x.simple(400, &message, len == 0).await;
        }
    }
    let uri = x.req.uri().to_vec();
    let Ok(target) = put_target(&uri) else {
        return x.refuse(400, InvalidFilename::MESSAGE).await;
    };
    let Some(docroot) = x.svc.web.docroot.clone() else {
        return x.refuse(500, "Docroot unconfigured").await;
    };
    if let Err(refusal) = check_min_put_directory(x, &docroot, &target).await {
        return refusal;
    }
    let dir = disk_path(&docroot, format!("/{}", target.dir).as_bytes());
    let expected_md5 = x
        .svc
        .web
        .enable_md5
        .then(|| x.req.headers().get_str("Content-MD5").map(str::to_string))
        .flatten()
        .filter(|v| !v.is_empty());
    receive(x, &dir, OsStr::new(target.file), body, expected_md5).await
}

/// WS-20: the first `min_put_directory` components of the target's directory must exist.
async fn check_min_put_directory(
    x: &mut Exchange<'_>,
    docroot: &Path,
    target: &PutTarget<'_>,
) -> Result<(), Done> {
    let min = usize::try_from(x.svc.web.min_put_directory).unwrap_or(usize::MAX);
    if min == 0 {
        return Ok(());
    }
    let components: Vec<&str> = target.dir_components().collect();
    if components.len() < min {
        return Err(x
            .refuse(400, "Does not meet minimum directory requirement")
            .await);
    }
    let required = format!("/{}", components[..min].join("/"));
    match static_files::stat_path(&disk_path(docroot, required.as_bytes())).await {
        Ok(Some(meta)) if meta.kind == FileKind::Directory => Ok(()),
        _ => Err(x.refuse(404, "Base directory does not exist").await),
    }
}

/// Reads the body into a new upload, then commits it and answers.
async fn receive(
    x: &mut Exchange<'_>,
    dir: &Path,
    file: &OsStr,
    body: Body,
    expected_md5: Option<String>,
) -> Done {
    let mut upload = match Upload::create(dir, file).await {
        Ok(u) => u,
        Err(e) => return put_failed(x, &e).await,
    };
    x.conn.sock().set_state(SockState::BufferingUpload);
    let mut md5 = expected_md5.as_ref().map(|_| Md5::new());
    let received = match body {
        Body::Length(len) => read_length(x, &mut upload, md5.as_mut(), len).await,
        Body::Chunked(decoder) => read_chunked(x, &mut upload, md5.as_mut(), decoder).await,
    };
    if let Err(e) = received {
        // Dropping the upload removes its temporary file; the connection closes unanswered,
        // as the original closes on a client gone or over the chunked limit.
        drop(upload);
        return match e {
            ReceiveError::Client => Done::Close,
            ReceiveError::Disk(e) => put_failed(x, &e).await,
        };
    }
    if let (Some(expected), Some(md5)) = (expected_md5, md5) {
        let actual = base64::engine::general_purpose::STANDARD_NO_PAD.encode(md5.finalize());
        let expected = expected.trim_end().trim_end_matches('=').to_string();
        if actual != expected {
            let _ = upload.abort().await;
            let message = format!("Content-MD5 mismatch, expected: {expected} actual: {actual}");
            return x.simple(400, &message, true).await;
        }
        return match upload.commit().await {
            Ok(_) => x.simple(201, "", true).await,
            Err(e) => put_failed(x, &e).await,
        };
    }
    match upload.commit().await {
        Ok(_) => x.simple(200, "", true).await,
        Err(e) => put_failed(x, &e).await,
    }
}

enum ReceiveError {
    /// The client went away, idled out, or sent a malformed or oversized body.
    Client,
    Disk(PutError),
}

async fn store(
    upload: &mut Upload,
    md5: Option<&mut Md5>,
    data: Vec<u8>,
) -> Result<(), ReceiveError> {
    if let Some(md5) = md5 {
        md5.update(&data);
    }
    upload
        .write(Bytes::from(data))
        .await
        .map_err(ReceiveError::Disk)
}

async fn read_length(
    x: &mut Exchange<'_>,
    upload: &mut Upload,
    mut md5: Option<&mut Md5>,
    len: u64,
) -> Result<(), ReceiveError> {
    let mut remaining = len;
    while remaining > 0 {
        let want = usize::try_from(remaining)
            .unwrap_or(usize::MAX)
            .min(BODY_CHUNK);
        let data = x
            .conn
            .read_body(want)
            .await
            .map_err(|_| ReceiveError::Client)?;
        if data.is_empty() {
            return Err(ReceiveError::Client);
        }
        remaining -= data.len() as u64;
        store(upload, md5.as_deref_mut(), data).await?;
    }
    Ok(())
}

async fn read_chunked(
    x: &mut Exchange<'_>,
    upload: &mut Upload,
    mut md5: Option<&mut Md5>,
    mut decoder: ChunkedDecoder,
) -> Result<(), ReceiveError> {
    let mut pending: Vec<u8> = Vec::new();
    while !decoder.is_done() {
        let data = x
            .conn
            .read_body(BODY_CHUNK)
            .await
            .map_err(|_| ReceiveError::Client)?;
        if data.is_empty() {
            return Err(ReceiveError::Client);
        }
        pending.extend_from_slice(&data);
        let mut decoded = Vec::with_capacity(pending.len());
        let consumed = decoder
            .decode_into(&pending, &mut decoded)
            .map_err(|_| ReceiveError::Client)?;
        pending.drain(..consumed);
        if !decoded.is_empty() {
            store(upload, md5.as_deref_mut(), decoded).await?;
        }
    }
    if !pending.is_empty() {
        // Bytes after the body belong to the next request.
        x.conn.unread_front(&pending);
    }
    Ok(())
}

/// Maps a disk failure to the original's 500 pages (WS-21), logging the cause.
async fn put_failed(x: &mut Exchange<'_>, e: &PutError) -> Done {
    let message = match e {
        PutError::CreateDir(_) => "Unable to create directory",
        PutError::Open(_) => "Internal error",
        PutError::Write(_) | PutError::Close(_) => "Error saving file",
        PutError::Rename(_) => "Error renaming file",
        PutError::Remove(_) => "Error unlinking file",
    };
    crate::logging::log(&format!("system error: {message} ({})", e.io_error()));
    x.refuse(500, message).await
}

/// Answers a DELETE.
pub async fn delete(x: &mut Exchange<'_>) -> Done {
    if !x.svc.web.enable_delete {
        return x.refuse(403, "").await;
    }
    let uri = x.req.uri().to_vec();
    let Ok(relative) = delete_target(&uri) else {
        return x.refuse(400, InvalidFilename::MESSAGE).await;
    };
    let Some(docroot) = x.svc.web.docroot.clone() else {
        return x.refuse(500, "Docroot unconfigured").await;
    };
    let path: PathBuf = disk_path(&docroot, format!("/{relative}").as_bytes());
    match static_files::unlink(&path).await {
        Ok(()) => x.refuse(204, "").await,
        Err(e) if e.kind() == io::ErrorKind::NotFound => x.refuse(404, "").await,
        Err(e) => {
            let text = e
                .raw_os_error()
                .map_or_else(|| e.to_string(), crate::sys::strerror);
            x.refuse(400, &text).await
        }
    }
}
