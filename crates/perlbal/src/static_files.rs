//! The disk side of the `web_server` role: opening and stat'ing files, sending them to a socket
//! with `sendfile`, directory listings, and the file operations behind PUT and DELETE — all
//! without blocking the event loop (WS-27).
//!
//! # Fast path and fallback
//!
//! A disk operation can block a thread for milliseconds, which on a one-runtime-per-core server
//! stalls every connection of that core. Handing each operation to a thread pool is safe but
//! costs a wake-up and two context switches per request, which is more than the whole request
//! takes when the data is in memory. So each operation first tries a variant that the kernel
//! guarantees will not wait for the disk, and only hands off to tokio's blocking pool when that
//! variant says "would block" or does not exist on this kernel:
//!
//! | operation | on the event loop | blocking pool when |
//! |---|---|---|
//! | open / stat | `openat2(RESOLVE_CACHED)` + `statx(AT_STATX_DONT_SYNC)` | a path component is not in the dentry cache (`EAGAIN`), or kernel < 5.12 |
//! | residency of a chunk before `sendfile` | `preadv2(RWF_NOWAIT)` into a scratch buffer for ranges up to 16 KiB, `cachestat` for larger ones, each falling back to the other | some page is not in the page cache; the pool then `readahead`s and reads it in |
//! | `sendfile` | always (only after the residency check) | never |
//! | directory listing, mkdir, unlink, rename, upload writes | never | always |
//!
//! A warm small-file GET therefore costs `openat2`, `statx`, `preadv2` (or `cachestat`),
//! `sendto` (the head, with `MSG_MORE`), `sendfile` and `close`: six syscalls and no thread
//! hand-off (about 5 µs per 1 KiB request on loopback, against about 70 µs with every fast path
//! switched off; see the ignored `warm_small_file_request_cost` test).
//!
//! Known limits of the residency check: for ranges above 16 KiB `cachestat` also counts pages
//! whose read is still in flight, and pages can be evicted between the check and the
//! `sendfile`; in both cases one `sendfile` may wait for the disk. A `RWF_NOWAIT` read that
//! finds pages missing starts their readahead from the event loop, which on some filesystems
//! can wait for metadata. Closing the last descriptor of a file that was deleted while being
//! served frees its blocks on the closing thread.

mod dir;
mod open;
mod send;
mod upload;

#[cfg(test)]
pub use dir::create_dirs;
pub use dir::{list_dir, unlink, DirEntryInfo};
pub use open::{open_file, stat_path, FileKind, FileMeta, OpenFile};
pub use send::{send_file, send_head_and_file, INLINE_MAX};
pub use upload::{PutError, Upload};

use std::io;

/// Runs `work` on the runtime's blocking pool and waits for it; a task that panicked or was
/// cancelled at shutdown becomes an `io::Error`.
async fn on_blocking_pool<T, F>(work: F) -> io::Result<T>
where
    T: Send + 'static,
    F: FnOnce() -> io::Result<T> + Send + 'static,
{
    match tokio::task::spawn_blocking(work).await {
        Ok(result) => result,
        Err(join_error) => Err(io::Error::other(join_error)),
    }
}

/// The non-blocking fast paths, each of which can be switched off per thread in tests to
/// exercise the fallback.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FastPath {
    CachedOpen,
    CacheStat,
    NowaitRead,
}

impl FastPath {
    /// Whether the kernel offers this fast path and tests have not switched it off.
    fn enabled(self) -> bool {
        let available = match self {
            FastPath::CachedOpen => crate::sys::open_cached_available(),
            FastPath::CacheStat => crate::sys::cachestat_available(),
            FastPath::NowaitRead => crate::sys::pread_nowait_available(),
        };
        available && !route::disabled_in_test(self)
    }
}

/// Which way an operation went; counted per thread in tests so they can prove the route taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Route {
    OpenOnLoop,
    OpenOnPool,
    ResidentByCachestat,
    ResidentByNowaitRead,
    WarmedOnPool,
}

#[cfg(not(test))]
mod route {
    use super::{FastPath, Route};

    #[inline(always)]
    pub(super) fn disabled_in_test(_: FastPath) -> bool {
        false
    }

    #[inline(always)]
    pub(super) fn record(_: Route) {}
}

#[cfg(test)]
mod route {
    //! Per-thread switches and counters. `#[tokio::test]` runs the future on the test's own
    //! thread, so tests running in parallel do not see each other's settings.
    use super::{FastPath, Route};
    use std::cell::{Cell, RefCell};

    thread_local! {
        static DISABLED: RefCell<Vec<FastPath>> = const { RefCell::new(Vec::new()) };
        static COUNTS: Cell<[u32; 5]> = const { Cell::new([0; 5]) };
    }

    pub(super) fn disabled_in_test(path: FastPath) -> bool {
        DISABLED.with(|d| d.borrow().contains(&path))
    }

    pub(super) fn record(route: Route) {
        COUNTS.with(|c| {
            let mut counts = c.get();
            counts[route as usize] += 1;
            c.set(counts);
        });
    }

    /// Switches the given fast paths off for this thread until the guard drops.
    pub(super) fn disable(paths: &[FastPath]) -> Disabled {
        DISABLED.with(|d| d.borrow_mut().extend_from_slice(paths));
        Disabled
    }

    pub(super) struct Disabled;

    impl Drop for Disabled {
        fn drop(&mut self) {
            DISABLED.with(|d| d.borrow_mut().clear());
        }
    }

    /// How often `route` was taken on this thread since the last call, resetting all counters.
    pub(super) fn take_counts() -> [u32; 5] {
        COUNTS.with(|c| c.replace([0; 5]))
    }

    pub(super) fn count(counts: &[u32; 5], route: Route) -> u32 {
        counts[route as usize]
    }
}

#[cfg(test)]
mod test_support;

/// Compile-time check that every future of this module is `Send`, so the server may also run
/// them on a multi-threaded runtime. Never called: compiling it is the test.
#[cfg(test)]
#[allow(dead_code)]
fn futures_are_send(
    sock: &tokio::net::TcpStream,
    file: &OpenFile,
    upload: &mut Upload,
    path: &std::path::Path,
) {
    fn send<T: Send>(_: T) {}
    send(open_file(path));
    send(stat_path(path));
    send(send_file(sock, file, 0, 0, &|| {}));
    send(send_head_and_file(sock, Vec::new(), file, 0, 0, &|| {}));
    send(list_dir(path));
    send(create_dirs(path));
    send(unlink(path));
    send(Upload::create(path, std::ffi::OsStr::new("x")));
    send(upload.write(bytes::Bytes::new()));
}
