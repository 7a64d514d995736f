//! Opening and stat'ing docroot paths: cache-only lookups on the event loop, the blocking pool
//! when the path is not in the dentry cache. Symlinks are followed, as the original does (WS-3).

use super::{on_blocking_pool, route, FastPath, Route};
use crate::sys::{self, CachedOpen, FileStat, FileType};
use std::fs::{File, Metadata, OpenOptions};
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// What kind of directory entry a path names (after following symlinks).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    Regular,
    Directory,
    /// FIFO, socket or device node: the web server never serves these.
    Other,
}

/// The metadata the web server needs from a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileMeta {
    pub kind: FileKind,
    pub size: u64,
    /// Modification time, clamped to `1970-01-01T00:00:00Z ..= 9999-12-31T23:59:59Z` so that it
    /// can always be formatted as an HTTP date.
    pub mtime: SystemTime,
}

/// Latest time an HTTP date can carry: 9999-12-31T23:59:59Z.
const MAX_HTTP_DATE_SECS: u64 = 253_402_300_799;

fn clamped_mtime(secs: i64, nanos: u32) -> SystemTime {
    match u64::try_from(secs) {
        Err(_) => UNIX_EPOCH,
        Ok(secs) if secs > MAX_HTTP_DATE_SECS => {
            UNIX_EPOCH + Duration::from_secs(MAX_HTTP_DATE_SECS)
        }
        Ok(secs) => UNIX_EPOCH + Duration::new(secs, nanos.min(999_999_999)),
    }
}

impl FileMeta {
    fn from_stat(st: FileStat) -> FileMeta {
        FileMeta {
            kind: match st.file_type {
                FileType::Regular => FileKind::Regular,
                FileType::Directory => FileKind::Directory,
                FileType::Other => FileKind::Other,
            },
            size: st.size,
            mtime: clamped_mtime(st.mtime_sec, st.mtime_nsec),
        }
    }

    fn from_std(meta: &Metadata) -> FileMeta {
        let kind = if meta.is_file() {
            FileKind::Regular
        } else if meta.is_dir() {
            FileKind::Directory
        } else {
            FileKind::Other
        };
        let nanos = u32::try_from(meta.mtime_nsec()).unwrap_or(0);
        FileMeta {
            kind,
            size: meta.len(),
            mtime: clamped_mtime(meta.mtime(), nanos),
        }
    }
}

/// A file opened for reading, with the metadata of the opened inode (not of the path, which may
/// have changed since).
#[derive(Debug)]
pub struct OpenFile {
    file: File,
    meta: FileMeta,
}

impl OpenFile {
    pub fn meta(&self) -> &FileMeta {
        &self.meta
    }

    pub fn file(&self) -> &File {
        &self.file
    }
}

/// Errors the cache-only lookup reports that are as good as the blocking lookup's answer, so
/// the request need not go to the pool (404s for missing files stay on the event loop).
fn is_final_answer(err: &io::Error) -> bool {
    err.kind() == io::ErrorKind::InvalidInput
        || matches!(
            err.raw_os_error(),
            Some(libc::ENOENT | libc::ENOTDIR | libc::EACCES | libc::ELOOP | libc::ENAMETOOLONG)
        )
}

/// Tries the cache-only open. `None` means "take the blocking pool".
fn open_on_loop(path: &Path, purpose: CachedOpen) -> Option<io::Result<OwnedFd>> {
    if !FastPath::CachedOpen.enabled() {
        return None;
    }
    match sys::with_c_path(path, |c_path| sys::open_cached(c_path, purpose)) {
        Ok(fd) => Some(Ok(fd)),
        Err(err) if is_final_answer(&err) => Some(Err(err)),
        Err(_) => None,
    }
}

/// Opens `path` for reading and stats the opened file.
///
/// `O_NONBLOCK` is set so that a FIFO or device in the docroot cannot hang the open; it has no
/// effect on regular files. A directory opens too (its kind says so). Errors are the open's:
/// `NotFound`/`NotADirectory` for a missing path, `PermissionDenied` for an unreadable entry
/// (use [`stat_path`] to learn what it is), `InvalidInput` for a path containing NUL (WS-3).
pub async fn open_file(path: &Path) -> io::Result<OpenFile> {
    if let Some(opened) = open_on_loop(path, CachedOpen::Read) {
        let file = File::from(opened?);
        let meta = FileMeta::from_stat(sys::fstat(file.as_fd())?);
        route::record(Route::OpenOnLoop);
        return Ok(OpenFile { file, meta });
    }
    route::record(Route::OpenOnPool);
    let path = path.to_owned();
    on_blocking_pool(move || {
        let file = OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
            .open(&path)?;
        let meta = FileMeta::from_stat(sys::fstat(file.as_fd())?);
        Ok(OpenFile { file, meta })
    })
    .await
}

/// Stats `path`, following symlinks. `Ok(None)` when it does not exist (`ENOENT`, `ENOTDIR`).
/// Other failures (`EACCES` on a parent directory, `ELOOP`, NUL in the path) are errors; the
/// original treats every failed stat as missing (WS-4), which the caller can do too.
pub async fn stat_path(path: &Path) -> io::Result<Option<FileMeta>> {
    let result = match open_on_loop(path, CachedOpen::Path) {
        Some(opened) => {
            route::record(Route::OpenOnLoop);
            opened
                .and_then(|fd| sys::fstat(fd.as_fd()))
                .map(FileMeta::from_stat)
        }
        None => {
            route::record(Route::OpenOnPool);
            let path = path.to_owned();
            on_blocking_pool(move || std::fs::metadata(&path).map(|m| FileMeta::from_std(&m))).await
        }
    };
    match result {
        Ok(meta) => Ok(Some(meta)),
        Err(err) if matches!(err.raw_os_error(), Some(libc::ENOENT | libc::ENOTDIR)) => Ok(None),
        Err(err) => Err(err),
    }
}

#[cfg(test)]
mod tests {
    use super::super::route::{count, disable, take_counts};
    use super::super::test_support::TestDir;
    use super::*;

    async fn open_both_ways(path: &Path) -> (io::Result<OpenFile>, io::Result<OpenFile>) {
        let fast = open_file(path).await;
        let _off = disable(&[FastPath::CachedOpen]);
        (fast, open_file(path).await)
    }

    #[tokio::test]
    async fn warm_open_stays_on_the_event_loop_and_reports_size_and_kind() {
        let dir = TestDir::new("open-warm");
        let path = dir.write("a.txt", b"12345");
        take_counts();
        let file = open_file(&path).await.expect("open");
        assert_eq!(file.meta().kind, FileKind::Regular);
        assert_eq!(file.meta().size, 5);
        let counts = take_counts();
        if sys::open_cached_available() {
            assert_eq!(count(&counts, Route::OpenOnLoop), 1);
            assert_eq!(count(&counts, Route::OpenOnPool), 0);
        }
    }

    #[tokio::test]
    async fn forced_pool_open_gives_the_same_answers() {
        let dir = TestDir::new("open-pool");
        let path = dir.write("a.txt", b"12345");
        let (fast, slow) = open_both_ways(&path).await;
        let (fast, slow) = (fast.expect("fast open"), slow.expect("pool open"));
        assert_eq!(fast.meta(), slow.meta());
        assert_eq!(count(&take_counts(), Route::OpenOnPool), 1);

        let (fast, slow) = open_both_ways(&dir.path().join("missing")).await;
        assert_eq!(fast.expect_err("missing").kind(), io::ErrorKind::NotFound);
        assert_eq!(slow.expect_err("missing").kind(), io::ErrorKind::NotFound);

        let (fast, slow) = open_both_ways(&path.join("under-a-file")).await;
        assert_eq!(
            fast.expect_err("enotdir").raw_os_error(),
            Some(libc::ENOTDIR)
        );
        assert_eq!(
            slow.expect_err("enotdir").raw_os_error(),
            Some(libc::ENOTDIR)
        );

        let (fast, slow) = open_both_ways(dir.path()).await;
        assert_eq!(fast.expect("dir").meta().kind, FileKind::Directory);
        assert_eq!(slow.expect("dir").meta().kind, FileKind::Directory);
    }

    #[tokio::test]
    async fn nul_in_path_is_rejected_rather_than_truncated() {
        let dir = TestDir::new("open-nul");
        dir.write("data.txt", b"secret");
        let path = dir.path().join("data.txt\0.gif");
        let (fast, slow) = open_both_ways(&path).await;
        assert_eq!(fast.expect_err("NUL").kind(), io::ErrorKind::InvalidInput);
        assert_eq!(slow.expect_err("NUL").kind(), io::ErrorKind::InvalidInput);
        assert!(stat_path(&path).await.is_err());
    }

    #[tokio::test]
    async fn fifo_in_docroot_does_not_hang_the_open() {
        let dir = TestDir::new("open-fifo");
        let fifo = dir.path().join("pipe");
        let status = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .expect("run mkfifo");
        assert!(status.success(), "mkfifo failed");
        let (fast, slow) = open_both_ways(&fifo).await;
        assert_eq!(fast.expect("fifo open").meta().kind, FileKind::Other);
        assert_eq!(slow.expect("fifo open").meta().kind, FileKind::Other);
    }

    #[tokio::test]
    async fn stat_path_follows_symlinks_and_maps_missing_to_none() {
        let dir = TestDir::new("stat");
        let target = dir.write("real.css", b"p{}");
        let link = dir.path().join("link.css");
        std::os::unix::fs::symlink(&target, &link).expect("symlink");
        for forced_pool in [false, true] {
            let _off = forced_pool.then(|| disable(&[FastPath::CachedOpen]));
            let meta = stat_path(&link).await.expect("stat").expect("exists");
            assert_eq!((meta.kind, meta.size), (FileKind::Regular, 3));
            let dir_meta = stat_path(dir.path())
                .await
                .expect("stat dir")
                .expect("exists");
            assert_eq!(dir_meta.kind, FileKind::Directory);
            assert_eq!(
                stat_path(&dir.path().join("nope")).await.expect("stat"),
                None
            );
            assert_eq!(stat_path(&target.join("x")).await.expect("stat"), None);
        }
    }

    #[test]
    fn mtime_outside_http_date_range_is_clamped() {
        assert_eq!(clamped_mtime(-5, 0), UNIX_EPOCH);
        let max = UNIX_EPOCH + Duration::from_secs(MAX_HTTP_DATE_SECS);
        assert_eq!(clamped_mtime(i64::MAX, 0), max);
        assert_eq!(clamped_mtime(1, 5), UNIX_EPOCH + Duration::new(1, 5));
    }
}
