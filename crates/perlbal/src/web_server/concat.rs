//! Concatenated GET, `/<dir>/??a.css,b.css[?v=…]` (WS-14, WS-15): several files of one
//! directory sent back to back as one reply.
//!
//! The original's version is unreliable with IO::AIO (WS-16: it reads a stale errno after its
//! asynchronous stats and answers spurious 404s); this one does what that code intended.

use std::path::Path;
use std::time::SystemTime;

use perlbal_http::{date, not_modified, parse_concat, FileHead, FileReply, HttpDate};

use super::get::disk_path;
use super::{Done, Exchange};
use crate::registry::SockState;
use crate::service::snapshot;
use crate::static_files::{self, FileKind};

/// What the stats of the listed files add up to.
struct Members {
    sizes: Vec<u64>,
    total_len: u64,
    newest: SystemTime,
}

/// Answers a concatenated GET whose decoded URI is `decoded`.
pub async fn serve(x: &mut Exchange<'_>, decoded: &[u8]) -> Done {
    let web = &x.svc.web;
    let request = match parse_concat(decoded, web.docroot.is_some(), web.enable_concatenate_get) {
        Ok(r) => r,
        Err(e) => return x.refuse(e.status(), e.message()).await,
    };
    let Some(docroot) = web.docroot.clone() else {
        return x.refuse(500, "Docroot unconfigured").await;
    };
    let base = disk_path(&docroot, request.base);
    let files: Vec<Vec<u8>> = request.files.iter().map(|f| f.to_vec()).collect();
    x.conn.sock().set_state(SockState::WaitStat);
    let base_is_dir = matches!(
        static_files::stat_path(&base).await,
        Ok(Some(ref m)) if m.kind == FileKind::Directory
    );
    if !base_is_dir {
        return x.refuse(404, "Base directory not a directory").await;
    }
    let Some(members) = stat_members(&base, &files).await else {
        return x.refuse(404, "One or more file does not exist").await;
    };
    let last_modified = HttpDate::from_system_time(members.newest);
    let ims = x.req.headers().get("If-Modified-Since");
    let reply = if not_modified(ims, last_modified.as_str(), None) {
        FileReply::ConcatNotModified
    } else {
        FileReply::Concat {
            len: members.total_len,
        }
    };
    let mime = snapshot().mime.clone();
    let content_type = mime.content_type_for_concat(files.iter().map(Vec::as_slice));
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
    let mut out = Vec::with_capacity(320);
    head.write(&mut out);
    if x.req.is_head() || reply == FileReply::ConcatNotModified {
        return x.send(&out, head.persistence).await;
    }
    if x.conn.write_all(&out).await.is_err() {
        return Done::Close;
    }
    if send_members(x, &base, &files, &members.sizes).await {
        head.persistence.into()
    } else {
        Done::Close
    }
}

/// Stats every member; `None` if one is missing or not a regular file.
async fn stat_members(base: &Path, files: &[Vec<u8>]) -> Option<Members> {
    let mut members = Members {
        sizes: Vec::with_capacity(files.len()),
        total_len: 0,
        newest: SystemTime::UNIX_EPOCH,
    };
    for name in files {
        let meta = static_files::stat_path(&disk_path(base, name))
            .await
            .ok()??;
        if meta.kind != FileKind::Regular {
            return None;
        }
        members.sizes.push(meta.size);
        members.total_len = members.total_len.saturating_add(meta.size);
        members.newest = members.newest.max(meta.mtime);
    }
    Some(members)
}

/// Sends the members' bodies back to back, each with the size its stat promised. False if the
/// client or a file failed us: the connection must close, the promised length cannot be kept.
async fn send_members(x: &mut Exchange<'_>, base: &Path, files: &[Vec<u8>], sizes: &[u64]) -> bool {
    x.conn.sock().set_state(SockState::XferDisk);
    for (name, &len) in files.iter().zip(sizes) {
        let Ok(file) = static_files::open_file(&disk_path(base, name)).await else {
            return false;
        };
        if x.conn.send_file(&file, 0, len).await.is_err() {
            return false;
        }
    }
    true
}
