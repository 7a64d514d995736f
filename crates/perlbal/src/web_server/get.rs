//! GET and HEAD of files and directories (WS-2..13): path checks, index files, directory
//! listings, If-Modified-Since, byte ranges, and the file body sent with sendfile.

use std::ffi::OsString;
use std::io;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};

use perlbal_http::{
    check_web_path, date, decide_range, not_modified, percent_decode, strip_query, FileHead,
    FileReply, HttpDate, RangeDecision,
};

use super::{concat, listing, Done, Exchange};
use crate::registry::SockState;
use crate::service::snapshot;
use crate::static_files::{self, FileKind, OpenFile};

/// `docroot` followed by the URI path, byte for byte (no normalisation, as the original).
pub fn disk_path(docroot: &Path, uri_path: &[u8]) -> PathBuf {
    let mut bytes = docroot.as_os_str().as_bytes().to_vec();
    bytes.extend_from_slice(uri_path);
    PathBuf::from(OsString::from_vec(bytes))
}

/// Answers a GET or HEAD.
pub async fn serve(x: &mut Exchange<'_>) -> Done {
    let uri = x.req.uri().to_vec();
    serve_uri(x, &uri, true).await
}

/// The original's `_serve_request`: decode, check, then serve the path. `may_index` is false
/// when `uri` already names an index file, so a lookup never loops.
async fn serve_uri(x: &mut Exchange<'_>, uri: &[u8], may_index: bool) -> Done {
    let decoded = percent_decode(uri);
    if let Err(e) = check_web_path(&decoded) {
        return x.refuse(e.status(), e.message()).await;
    }
    if perlbal_http::uri::is_concat(&decoded) {
        return concat::serve(x, &decoded).await;
    }
    let path = strip_query(&decoded).into_owned();
    let Some(docroot) = x.svc.web.docroot.clone() else {
        return x.refuse(500, "Docroot unconfigured").await;
    };
    x.conn.sock().set_state(SockState::WaitStat);
    let file_path = disk_path(&docroot, &path);
    let opened = static_files::open_file(&file_path).await;
    match opened {
        Ok(file) => match file.meta().kind {
            FileKind::Regular => send_regular(x, &file_path, Some(file)).await,
            FileKind::Directory => {
                let mtime = file.meta().mtime;
                drop(file);
                if may_index {
                    serve_directory(x, &docroot, &path, mtime).await
                } else {
                    x.refuse(404, "").await
                }
            }
            // FIFOs, sockets, devices: the original stalls the client forever; refuse instead.
            FileKind::Other => x.refuse(404, "").await,
        },
        Err(e) if e.kind() == io::ErrorKind::PermissionDenied => {
            // Unreadable but present: heads, 304 and 416 can still be answered (WS-12/13).
            match static_files::stat_path(&file_path).await {
                Ok(Some(meta)) if meta.kind == FileKind::Regular => {
                    send_regular_meta(x, &file_path, meta, None).await
                }
                _ => x.refuse(404, "").await,
            }
        }
        Err(_) => x.refuse(404, "").await,
    }
}

async fn send_regular(x: &mut Exchange<'_>, path: &Path, file: Option<OpenFile>) -> Done {
    match file {
        Some(file) => {
            let meta = *file.meta();
            send_regular_meta(x, path, meta, Some(file)).await
        }
        None => x.refuse(404, "").await,
    }
}

/// Builds and sends the reply for a regular file: 200, 206, 304 or 416 (WS-5, WS-9..13).
async fn send_regular_meta(
    x: &mut Exchange<'_>,
    path: &Path,
    meta: static_files::FileMeta,
    file: Option<OpenFile>,
) -> Done {
    let last_modified = HttpDate::from_system_time(meta.mtime);
    let ims = x.req.headers().get("If-Modified-Since");
    let reply = if not_modified(ims, last_modified.as_str(), Some(meta.size)) {
        FileReply::NotModified
    } else {
        match decide_range(x.req.headers().get("Range"), meta.size) {
            RangeDecision::Full => FileReply::Full { size: meta.size },
            RangeDecision::Partial { start, end } => FileReply::Partial {
                start,
                end,
                size: meta.size,
            },
            RangeDecision::Unsatisfiable => FileReply::Unsatisfiable { size: meta.size },
        }
    };
    let mime = snapshot().mime.clone();
    let content_type = mime.content_type_for(path.as_os_str().as_bytes());
    let now = date::now();
    let mut head = FileHead {
        reply,
        date: now.as_str(),
        server_tokens: x.svc.server_tokens,
        last_modified: last_modified.as_str(),
        content_type,
        persistence: perlbal_http::Persistence::Close,
    };
    let body_read = !x.has_body();
    head.persistence = x.persistence(head.status(), head.has_content_length(), body_read);
    // Room for a body small enough to go out inline with the head.
    let inline = usize::try_from(head.body_len().min(crate::static_files::INLINE_MAX)).unwrap_or(0);
    let mut out = Vec::with_capacity(320 + inline);
    head.write(&mut out);
    let persistence = head.persistence;
    let (offset, len) = match reply {
        FileReply::Full { size } => (0, size),
        FileReply::Partial { start, end, .. } => (start, end - start + 1),
        _ => return x.send(&out, persistence).await,
    };
    if x.req.is_head() {
        return x.send(&out, persistence).await;
    }
    let Some(file) = file else {
        // Stat worked but open did not: the original closes without a reply.
        return Done::Close;
    };
    x.conn.sock().set_state(SockState::XferDisk);
    match x.conn.send_head_and_file(out, &file, offset, len).await {
        Ok(_) => persistence.into(),
        Err(_) => Done::Close,
    }
}

/// A directory: the first existing index file, else a listing or its refusal (WS-6, WS-7).
async fn serve_directory(
    x: &mut Exchange<'_>,
    docroot: &Path,
    uri_path: &[u8],
    mtime: std::time::SystemTime,
) -> Done {
    let index_files = x.svc.web.index_files.clone();
    for name in &index_files {
        let mut candidate = uri_path.to_vec();
        candidate.push(b'/');
        candidate.extend_from_slice(name.as_bytes());
        let meta = static_files::stat_path(&disk_path(docroot, &candidate)).await;
        if matches!(meta, Ok(Some(ref m)) if m.kind == FileKind::Regular) {
            // Served as if requested, the path decoded and checked once more (WS-6).
            return Box::pin(serve_uri(x, &candidate, false)).await;
        }
    }
    if !x.svc.web.dirindexing {
        let body_read = !x.has_body();
        return x.simple(200, "Directory listing disabled", body_read).await;
    }
    listing::send(x, docroot, uri_path, mtime).await
}
