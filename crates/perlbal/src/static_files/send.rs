//! Sending file bodies to a client socket with `sendfile`, chunk by chunk, after making sure each
//! chunk is in the page cache so that `sendfile` never waits for the disk on the event loop (WS-5).
//! Also the vectored head+body write and a buffered read for transports that cannot use
//! `sendfile` (TLS).

use super::{on_blocking_pool, route, FastPath, OpenFile, Route};
use crate::sys;
use socket2::SockRef;
use std::cell::RefCell;
use std::fs::File;
use std::io;
use std::os::fd::AsFd;
use std::os::unix::fs::FileExt;
use tokio::io::Interest;
use tokio::net::TcpStream;

/// Bytes checked for residency (and, if cold, read in on the blocking pool) at a time. Each
/// chunk may take several `sendfile` calls, as the socket buffer allows.
pub const SEND_CHUNK: u64 = 512 * 1024;

/// Size of the scratch buffer used to probe or warm a chunk piece by piece.
const SCRATCH: usize = 64 * 1024;

/// Called after every write that moved bytes to the client, so the caller can refresh its idle
/// timer (the original's idle timeout is refreshed by every successful write, HTTP-19).
pub type Progress<'a> = &'a (dyn Fn() + Sync);

/// The error for a file that became shorter than the length we promised the client.
fn file_shrank() -> io::Error {
    io::Error::new(io::ErrorKind::UnexpectedEof, "file shrank while being sent")
}

fn end_of(offset: u64, len: u64) -> io::Result<u64> {
    offset
        .checked_add(len)
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "file range overflows"))
}

/// Sends `len` bytes of `file` starting at `offset` to `sock` and returns `len`.
///
/// Errors: the socket's (`BrokenPipe`/`ConnectionReset` when the peer went away), the disk's
/// (from warming a cold chunk), or `UnexpectedEof` when the file shrank below `offset + len`
/// (the client has then been promised more bytes than exist: close the connection).
pub async fn send_file(
    sock: &TcpStream,
    file: &OpenFile,
    offset: u64,
    len: u64,
    progress: Progress<'_>,
) -> io::Result<u64> {
    let end = end_of(offset, len)?;
    let mut pos = offset;
    while pos < end {
        let chunk = (end - pos).min(SEND_CHUNK);
        make_resident(file, pos, chunk).await?;
        sendfile_range(sock, file.file(), pos, chunk, progress).await?;
        pos += chunk;
    }
    Ok(len)
}

/// Bodies up to this size that are already in the page cache are copied behind the head and
/// sent with it in one write: the non-blocking read that proves them resident costs the same
/// syscall as the residency check it replaces, and saves the separate `sendfile`.
pub const INLINE_MAX: u64 = 16 * 1024;

/// Writes a response head, then sends `len` bytes of `file` from `offset`, and returns `len`.
///
/// Small cached bodies go out inline with the head ([`INLINE_MAX`]). Otherwise the first chunk
/// is made resident *before* the head goes out, and the head is sent with `MSG_MORE`, so a
/// small response leaves in one TCP segment without `TCP_CORK` round trips.
pub async fn send_head_and_file(
    sock: &TcpStream,
    mut head: Vec<u8>,
    file: &OpenFile,
    offset: u64,
    len: u64,
    progress: Progress<'_>,
) -> io::Result<u64> {
    if len > 0 && len <= INLINE_MAX && append_if_resident(&mut head, file.file(), offset, len) {
        route::record(Route::ResidentByNowaitRead);
        send_all_with_flags(sock, &head, libc::MSG_NOSIGNAL, progress).await?;
        return Ok(len);
    }
    let head = head.as_slice();
    let first = len.min(SEND_CHUNK);
    if first > 0 {
        make_resident(file, offset, first).await?;
    }
    let flags = if first > 0 { libc::MSG_MORE } else { 0 };
    send_all_with_flags(sock, head, flags | libc::MSG_NOSIGNAL, progress).await?;
    sendfile_range(sock, file.file(), offset, first, progress).await?;
    let rest_offset = end_of(offset, first)?;
    send_file(sock, file, rest_offset, len - first, progress).await?;
    Ok(len)
}

async fn send_all_with_flags(
    sock: &TcpStream,
    mut buf: &[u8],
    flags: libc::c_int,
    progress: Progress<'_>,
) -> io::Result<()> {
    while !buf.is_empty() {
        match sock.try_io(Interest::WRITABLE, || {
            SockRef::from(sock).send_with_flags(buf, flags)
        }) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => {
                buf = &buf[n..];
                progress();
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => sock.writable().await?,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// `sendfile`s `[pos, pos + len)` to completion, waiting for socket writability as needed.
/// The range must already be resident.
async fn sendfile_range(
    sock: &TcpStream,
    file: &File,
    mut pos: u64,
    len: u64,
    progress: Progress<'_>,
) -> io::Result<()> {
    let end = end_of(pos, len)?;
    while pos < end {
        let count = usize::try_from(end - pos).unwrap_or(usize::MAX);
        let sent = sock.try_io(Interest::WRITABLE, || {
            sys::sendfile(sock.as_fd(), file.as_fd(), pos, count)
        });
        match sent {
            Ok(0) => return Err(file_shrank()),
            Ok(n) => {
                pos += n as u64;
                progress();
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => sock.writable().await?,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Returns once `[pos, pos + len)` of `file` is in the page cache: immediately if a
/// non-blocking check says so, otherwise after reading it in on the blocking pool.
async fn make_resident(file: &OpenFile, pos: u64, len: u64) -> io::Result<()> {
    if is_resident_now(file.file(), pos, len) {
        return Ok(());
    }
    route::record(Route::WarmedOnPool);
    // The pool task must own its descriptor: this future may be dropped while the task runs.
    let owned = file.file().try_clone()?;
    on_blocking_pool(move || warm_range(&owned, pos, len)).await
}

/// Number of pages that hold bytes `[pos, pos + len)`.
fn pages_spanned(pos: u64, len: u64) -> u64 {
    let page = sys::page_size();
    pos.saturating_add(len).div_ceil(page) - pos / page
}

/// What a non-blocking residency check found out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Residency {
    Resident,
    NotResident,
    /// The check is unavailable here (kernel, filesystem, permissions); ask the next one.
    Unknown,
}

/// Ranges up to this size are checked with a `RWF_NOWAIT` read first: for a few pages the copy
/// costs no more than `cachestat`, and unlike `cachestat` it also proves that no page is still
/// being read in (which would make `sendfile` wait on the event loop).
const NOWAIT_FIRST_MAX: u64 = 16 * 1024;

/// Non-blocking residency check of `[pos, pos + len)`, see [`NOWAIT_FIRST_MAX`] for the order.
fn is_resident_now(file: &File, pos: u64, len: u64) -> bool {
    let checks = if len <= NOWAIT_FIRST_MAX {
        [check_by_nowait_read, check_by_cachestat]
    } else {
        [check_by_cachestat, check_by_nowait_read]
    };
    for check in checks {
        match check(file, pos, len) {
            Residency::Resident => return true,
            Residency::NotResident => return false,
            Residency::Unknown => {}
        }
    }
    false
}

fn check_by_cachestat(file: &File, pos: u64, len: u64) -> Residency {
    if !FastPath::CacheStat.enabled() {
        return Residency::Unknown;
    }
    match sys::cachestat(file.as_fd(), pos, len) {
        Ok(stat) if stat.nr_cache >= pages_spanned(pos, len) => {
            route::record(Route::ResidentByCachestat);
            Residency::Resident
        }
        Ok(_) => Residency::NotResident,
        Err(_) => Residency::Unknown,
    }
}

thread_local! {
    /// Per-thread scratch for `RWF_NOWAIT` probes; the data read into it is discarded.
    static PROBE_BUF: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// Reads the range with `RWF_NOWAIT` in [`SCRATCH`]-sized pieces: a full read of every piece
/// proves residency; `EAGAIN` or a short read disproves it.
fn check_by_nowait_read(file: &File, pos: u64, len: u64) -> Residency {
    if !FastPath::NowaitRead.enabled() {
        return Residency::Unknown;
    }
    let verdict = PROBE_BUF.with(|buf| {
        let mut buf = buf.borrow_mut();
        if buf.len() < SCRATCH {
            buf.resize(SCRATCH, 0);
        }
        let mut at = pos;
        let end = pos.saturating_add(len);
        while at < end {
            let want = usize::try_from(end - at).unwrap_or(SCRATCH).min(SCRATCH);
            match sys::pread_nowait(file.as_fd(), &mut buf[..want], at) {
                Ok(n) if n == want => at += n as u64,
                Ok(_) => return Residency::NotResident,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Residency::NotResident,
                Err(_) => return Residency::Unknown,
            }
        }
        Residency::Resident
    });
    if verdict == Residency::Resident {
        route::record(Route::ResidentByNowaitRead);
    }
    verdict
}

/// Appends `[pos, pos + len)` of `file` to `out` if it can be read without waiting for the
/// disk; on failure `out` is left as it was.
fn append_if_resident(out: &mut Vec<u8>, file: &File, pos: u64, len: u64) -> bool {
    if !FastPath::NowaitRead.enabled() {
        return false;
    }
    let Ok(want) = usize::try_from(len) else {
        return false;
    };
    let start = out.len();
    out.resize(start + want, 0);
    match sys::pread_nowait(file.as_fd(), &mut out[start..], pos) {
        Ok(n) if n == want => true,
        _ => {
            out.truncate(start);
            false
        }
    }
}

/// Blocking: queues the whole range for reading, then reads it through so that every page is
/// in memory and up to date before the event loop `sendfile`s it (`readahead` alone returns
/// with the reads still in flight). Stops quietly at end of file; `sendfile` reports the
/// shrink.
fn warm_range(file: &File, pos: u64, len: u64) -> io::Result<()> {
    // Best effort: only an optimisation of the reads below.
    let _ = sys::readahead(file.as_fd(), pos, len);
    let mut buf = vec![0u8; usize::try_from(len).unwrap_or(SCRATCH).min(SCRATCH)];
    let mut at = pos;
    let end = pos.saturating_add(len);
    while at < end {
        let want = usize::try_from(end - at)
            .unwrap_or(buf.len())
            .min(buf.len());
        match file.read_at(&mut buf[..want], at) {
            Ok(0) => break,
            Ok(n) => at += n as u64,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
