//! `X-REPROXY-FILE` (REPROXY-2..4): the named file, with the backend's headers, sent with
//! sendfile — without blocking the event loop on the disk.

use std::ffi::OsString;
use std::io;
use std::os::unix::ffi::OsStringExt;
use std::path::PathBuf;

use perlbal_http::reproxy::file::{file_reply, FileDecision, FileKind};
use perlbal_http::{RequestHead, ResponseHead};

use super::{client_head, page};
use crate::client::ClientConn;
use crate::registry::SockState;
use crate::service::ServiceConfig;
use crate::static_files::{self, FileMeta, OpenFile};

/// Sends the file at `path` as the reply to `req`; true when the client connection stays open.
pub async fn serve(
    conn: &mut ClientConn,
    svc: &ServiceConfig,
    req: &RequestHead,
    primary: ResponseHead,
    path: Vec<u8>,
) -> bool {
    conn.sock().set_state(SockState::WaitStat);
    let path = PathBuf::from(OsString::from_vec(path));
    let (meta, file) = match static_files::open_file(&path).await {
        Ok(file) => (Some(*file.meta()), Some(file)),
        // Present but unreadable: a HEAD or a 416 can still be answered, as by the original.
        Err(e) if e.kind() == io::ErrorKind::PermissionDenied => {
            (static_files::stat_path(&path).await.ok().flatten(), None)
        }
        Err(_) => (None, None),
    };
    let found = meta.map(|m: FileMeta| (kind(m.kind), m.size));
    let range = req.headers().get("Range");
    let (mut head, body) = match file_reply(primary, found, range, req.is_head()) {
        FileDecision::NotFound => return page(conn, svc, req, 404, "").await,
        FileDecision::Send { head, body } => (head, body),
    };
    let framed = head.headers().contains("Content-Length");
    let (out, keep_alive) = client_head(svc, req, &mut head, framed);
    let sent = match (body, file) {
        (None, _) => {
            conn.sock().set_state(SockState::XferResp);
            conn.write_all(&out).await.is_ok()
        }
        (Some((offset, len)), Some(file)) => send(conn, out, &file, offset, len).await,
        // Stat worked but open did not.
        (Some(_), None) => return page(conn, svc, req, 500, "").await,
    };
    sent && keep_alive
}

async fn send(
    conn: &mut ClientConn,
    head: Vec<u8>,
    file: &OpenFile,
    offset: u64,
    len: u64,
) -> bool {
    conn.sock().set_state(SockState::XferDisk);
    conn.send_head_and_file(head, file, offset, len)
        .await
        .is_ok()
}

fn kind(kind: static_files::FileKind) -> FileKind {
    match kind {
        static_files::FileKind::Regular => FileKind::Regular,
        static_files::FileKind::Directory => FileKind::Directory,
        static_files::FileKind::Other => FileKind::Other,
    }
}
