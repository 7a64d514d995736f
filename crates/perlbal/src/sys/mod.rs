//! Thin safe wrappers around the Linux system calls the server needs and that std, tokio and
//! socket2 do not offer: cache-only path lookup (`openat2` + `RESOLVE_CACHED`), `statx`,
//! page-cache residency (`cachestat`, `preadv2(RWF_NOWAIT)`), `readahead`/`posix_fadvise`,
//! `sendfile`, checked `close`, process resources (`getrusage`, `RLIMIT_NOFILE`, open-fd count,
//! `nice`), `getifaddrs`, an epoll instance for parked sockets ([`epoll`]), and pipes with `splice`
//! ([`pipe`]).
//!
//! This is the only module of the crate that contains `unsafe`. Every wrapper returns
//! `io::Result` with the raw `errno` preserved, so callers can match on `ErrorKind` or
//! `raw_os_error()`.
//!
//! Kernel features newer than the oldest kernel we run on are probed lazily: the first `ENOSYS`
//! (or `EINVAL` for an unknown flag) is remembered in an atomic, after which the wrapper fails
//! fast with `ENOSYS` (`ErrorKind::Unsupported`) without entering the kernel, and callers take
//! their fallback path. Minimum versions: `openat2` 5.6 and `RESOLVE_CACHED` 5.12, `statx` 4.11,
//! `preadv2` 4.6 and `RWF_NOWAIT` for buffered reads 4.14, `cachestat` 6.5.

pub mod epoll;
pub mod pipe;

use std::ffi::{CStr, CString};
use std::io;
use std::net::Ipv4Addr;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, IntoRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

/// Feature switch for one kernel interface: `true` until the kernel proves it lacks it.
struct KernelFeature(AtomicBool);

impl KernelFeature {
    const fn new() -> Self {
        KernelFeature(AtomicBool::new(true))
    }

    fn available(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }

    /// Records that the kernel rejected the call as unknown and returns the error callers see.
    fn mark_missing(&self) -> io::Error {
        self.0.store(false, Ordering::Relaxed);
        missing()
    }
}

/// The error a wrapper returns once its kernel feature is known to be missing.
fn missing() -> io::Error {
    io::Error::from_raw_os_error(libc::ENOSYS)
}

fn errno_of(err: &io::Error) -> i32 {
    err.raw_os_error().unwrap_or(0)
}

/// Converts a `-1`-style return into `io::Result`, capturing `errno`.
fn cvt(ret: libc::c_long) -> io::Result<libc::c_long> {
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

fn to_off(offset: u64) -> io::Result<libc::off_t> {
    libc::off_t::try_from(offset).map_err(|_| io::Error::from_raw_os_error(libc::EOVERFLOW))
}

/// Runs `f` with `path` as a NUL-terminated C string, on the stack when it is short.
///
/// A path with an interior NUL byte fails with `InvalidInput` (WS-3: the original truncated
/// such paths at the NUL and served a different file).
pub fn with_c_path<T>(path: &Path, f: impl FnOnce(&CStr) -> io::Result<T>) -> io::Result<T> {
    const STACK_PATH: usize = 512;
    let bytes = path.as_os_str().as_bytes();
    let nul_error = || io::Error::new(io::ErrorKind::InvalidInput, "path contains a NUL byte");
    if bytes.len() < STACK_PATH {
        let mut buf = [0u8; STACK_PATH];
        buf[..bytes.len()].copy_from_slice(bytes);
        let c_path = CStr::from_bytes_with_nul(&buf[..=bytes.len()]).map_err(|_| nul_error())?;
        f(c_path)
    } else {
        let c_path = CString::new(bytes).map_err(|_| nul_error())?;
        f(&c_path)
    }
}

// ---------------------------------------------------------------------------------------------
// Opening and stat'ing without blocking
// ---------------------------------------------------------------------------------------------

static OPENAT2: KernelFeature = KernelFeature::new();

/// `struct open_how` from `<linux/openat2.h>` (libc's version cannot be built field by field).
#[repr(C)]
struct OpenHow {
    flags: u64,
    mode: u64,
    resolve: u64,
}

/// What a cache-only open is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CachedOpen {
    /// `O_RDONLY | O_NONBLOCK | O_NOCTTY`: a descriptor to read or sendfile from. `O_NONBLOCK`
    /// keeps a FIFO or device node in the docroot from blocking the open itself; it has no effect
    /// on regular files.
    Read,
    /// `O_PATH`: only for `fstat`, never reads (openat2 refuses any other flag next to it).
    Path,
}

/// Whether `open_cached` may still succeed (the kernel has not rejected `openat2` or
/// `RESOLVE_CACHED`).
pub fn open_cached_available() -> bool {
    OPENAT2.available()
}

/// Opens `path` (following symlinks, relative to the current directory) only if every
/// component is already in the dentry cache: `openat2(AT_FDCWD, path, RESOLVE_CACHED)`.
///
/// Errors: `WouldBlock` (`EAGAIN`) when the lookup would have to touch the disk, `Unsupported`
/// (`ENOSYS`) when the kernel lacks `openat2` or `RESOLVE_CACHED` (remembered), otherwise the
/// ordinary open error (`ENOENT` from a cached negative dentry, `EACCES`, `ENOTDIR`, ...).
pub fn open_cached(path: &CStr, purpose: CachedOpen) -> io::Result<OwnedFd> {
    if !OPENAT2.available() {
        return Err(missing());
    }
    let flags = match purpose {
        CachedOpen::Read => libc::O_RDONLY | libc::O_NONBLOCK | libc::O_NOCTTY | libc::O_CLOEXEC,
        CachedOpen::Path => libc::O_PATH | libc::O_CLOEXEC,
    };
    let how = OpenHow {
        flags: flags as u64,
        mode: 0,
        resolve: libc::RESOLVE_CACHED,
    };
    // SAFETY: `path` is a valid NUL-terminated string and `how` a properly initialised
    // `open_how` whose exact size we pass; the kernel only reads both during the call.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_openat2,
            libc::AT_FDCWD,
            path.as_ptr(),
            &how as *const OpenHow,
            std::mem::size_of::<OpenHow>(),
        )
    };
    match cvt(ret) {
        // SAFETY: a non-negative return from openat2 is a fresh descriptor that nothing else owns.
        Ok(fd) => Ok(unsafe { OwnedFd::from_raw_fd(fd as libc::c_int) }),
        // ENOSYS: kernel < 5.6. EINVAL: kernel < 5.12 does not know RESOLVE_CACHED (our flags
        // are otherwise fixed and valid, so EINVAL cannot come from the path). EPERM: a seccomp
        // filter (older container runtimes) refuses the syscall; a plain read-only open has no
        // other way to fail with EPERM that matters here, and the fallback stays correct.
        Err(e) if matches!(errno_of(&e), libc::ENOSYS | libc::EINVAL | libc::EPERM) => {
            Err(OPENAT2.mark_missing())
        }
        Err(e) => Err(e),
    }
}

/// The type bits of a file, from `st_mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileType {
    Regular,
    Directory,
    Other,
}

/// The subset of `stat` the server uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileStat {
    pub file_type: FileType,
    pub size: u64,
    /// Modification time, seconds since the epoch (may be negative).
    pub mtime_sec: i64,
    pub mtime_nsec: u32,
}

fn file_type_of(mode: u32) -> FileType {
    match mode & libc::S_IFMT {
        libc::S_IFREG => FileType::Regular,
        libc::S_IFDIR => FileType::Directory,
        _ => FileType::Other,
    }
}

static STATX: KernelFeature = KernelFeature::new();

/// `fstat(fd)`, using `statx(AT_STATX_DONT_SYNC)` where available so that network filesystems
/// answer from cached attributes instead of making a round trip. Works on `O_PATH` descriptors.
pub fn fstat(fd: BorrowedFd<'_>) -> io::Result<FileStat> {
    if STATX.available() {
        match statx_fd(fd) {
            // ENOSYS: kernel < 4.11; EPERM: refused by a seccomp filter.
            Err(e) if matches!(errno_of(&e), libc::ENOSYS | libc::EPERM) => {
                STATX.mark_missing();
            }
            other => return other,
        }
    }
    fstat_plain(fd)
}

/// Plain `fstat`, for kernels without `statx`.
fn fstat_plain(fd: BorrowedFd<'_>) -> io::Result<FileStat> {
    // SAFETY: `struct stat` is plain integers, for which all-zero is a valid value.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: `fd` is a live descriptor for the duration of the borrow and `st` is writable.
    cvt(unsafe { libc::fstat(fd.as_raw_fd(), &mut st) }.into())?;
    Ok(FileStat {
        file_type: file_type_of(st.st_mode),
        size: u64::try_from(st.st_size).unwrap_or(0),
        mtime_sec: st.st_mtime,
        mtime_nsec: u32::try_from(st.st_mtime_nsec).unwrap_or(0),
    })
}

fn statx_fd(fd: BorrowedFd<'_>) -> io::Result<FileStat> {
    // SAFETY: `struct statx` is plain integers, for which all-zero is a valid value.
    let mut stx: libc::statx = unsafe { std::mem::zeroed() };
    let mask = libc::STATX_TYPE | libc::STATX_MODE | libc::STATX_SIZE | libc::STATX_MTIME;
    // SAFETY: the empty path is a valid C string; with AT_EMPTY_PATH the kernel stats `fd`
    // itself, which is live for the borrow; `stx` is writable and correctly sized.
    let ret = unsafe {
        libc::statx(
            fd.as_raw_fd(),
            c"".as_ptr(),
            libc::AT_EMPTY_PATH | libc::AT_STATX_DONT_SYNC,
            mask,
            &mut stx,
        )
    };
    cvt(ret.into())?;
    Ok(FileStat {
        file_type: file_type_of(u32::from(stx.stx_mode)),
        size: stx.stx_size,
        mtime_sec: stx.stx_mtime.tv_sec,
        mtime_nsec: stx.stx_mtime.tv_nsec,
    })
}

/// `shutdown(fd, SHUT_RDWR)`: ends a connection from outside its task (idle sweeper). The
/// task sees end-of-stream or a broken pipe at its next read or write and closes the socket.
///
/// The caller guarantees `fd` is an open socket for the duration of the call (the registry
/// holds its shard lock, and connections unregister before their socket is closed). A stale
/// descriptor would at worst make `shutdown` fail with `EBADF`/`ENOTSOCK`, which is ignored.
pub fn shutdown_socket(fd: libc::c_int) {
    // SAFETY: plain syscall on an integer descriptor; no memory is passed.
    unsafe {
        libc::shutdown(fd, libc::SHUT_RDWR);
    }
}

/// Whether an idle connected socket is still open and quiet, asking the kernel (a
/// `recv(MSG_PEEK | MSG_DONTWAIT)` of one byte) rather than any cached readiness: false when
/// the peer closed or reset it, or sent bytes nobody asked for.
pub fn socket_is_quiet(fd: BorrowedFd<'_>) -> bool {
    let mut probe = 0u8;
    // SAFETY: one byte into a live local; the descriptor is borrowed, so open.
    let n = unsafe {
        libc::recv(
            fd.as_raw_fd(),
            (&raw mut probe).cast(),
            1,
            libc::MSG_PEEK | libc::MSG_DONTWAIT,
        )
    };
    n < 0 && io::Error::last_os_error().kind() == io::ErrorKind::WouldBlock
}

/// Closes `fd` and reports the error `close(2)` returns (deferred write errors such as `EIO`
/// or `EDQUOT` on some filesystems), which dropping a `File` silently discards.
pub fn close(fd: OwnedFd) -> io::Result<()> {
    let raw = fd.into_raw_fd();
    // SAFETY: `raw` came from an `OwnedFd` we consumed, so we are its only owner and close it once.
    cvt(unsafe { libc::close(raw) }.into()).map(drop)
}

// ---------------------------------------------------------------------------------------------
// Page cache
// ---------------------------------------------------------------------------------------------

/// The size of a memory page in bytes.
pub fn page_size() -> u64 {
    static PAGE_SIZE: AtomicUsize = AtomicUsize::new(0);
    let cached = PAGE_SIZE.load(Ordering::Relaxed);
    if cached != 0 {
        return cached as u64;
    }
    // SAFETY: sysconf has no memory-safety preconditions.
    let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    let size = usize::try_from(size)
        .ok()
        .filter(|&s| s > 0)
        .unwrap_or(4096);
    PAGE_SIZE.store(size, Ordering::Relaxed);
    size as u64
}

/// `cachestat(2)` is 451 on every architecture using the unified syscall table.
#[cfg(any(
    target_arch = "x86_64",
    target_arch = "aarch64",
    target_arch = "riscv64",
    target_arch = "loongarch64",
    target_arch = "s390x",
    target_arch = "powerpc64"
))]
const SYS_CACHESTAT: Option<libc::c_long> = Some(451);
#[cfg(not(any(
    target_arch = "x86_64",
    target_arch = "aarch64",
    target_arch = "riscv64",
    target_arch = "loongarch64",
    target_arch = "s390x",
    target_arch = "powerpc64"
)))]
const SYS_CACHESTAT: Option<libc::c_long> = None;

static CACHESTAT: KernelFeature = KernelFeature::new();

#[repr(C)]
struct CachestatRange {
    off: u64,
    len: u64,
}

/// `struct cachestat` from `<linux/mman.h>`: page counts for a file range.
#[repr(C)]
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct CacheStat {
    /// Pages of the range present in the page cache (clipped to the range).
    pub nr_cache: u64,
    pub nr_dirty: u64,
    pub nr_writeback: u64,
    pub nr_evicted: u64,
    pub nr_recently_evicted: u64,
}

/// Whether `cachestat` may still succeed.
pub fn cachestat_available() -> bool {
    SYS_CACHESTAT.is_some() && CACHESTAT.available()
}

/// Page-cache statistics of `len` bytes at `offset` (`len == 0`: to the end of the file).
///
/// Errors: `Unsupported` (`ENOSYS`) before Linux 6.5. `EPERM` comes either from a seccomp
/// filter or from kernels that only answer for files the caller owns or could write; both are
/// remembered as "missing" too, because the callers' next tier (`pread_nowait`) is equally
/// correct and a server whose files belong to another user would otherwise pay a failing
/// syscall per chunk.
pub fn cachestat(fd: BorrowedFd<'_>, offset: u64, len: u64) -> io::Result<CacheStat> {
    let Some(nr) = SYS_CACHESTAT.filter(|_| CACHESTAT.available()) else {
        return Err(missing());
    };
    let range = CachestatRange { off: offset, len };
    let mut stat = CacheStat::default();
    let fd_arg = libc::c_uint::try_from(fd.as_raw_fd())
        .map_err(|_| io::Error::from_raw_os_error(libc::EBADF))?;
    // SAFETY: `fd` is live for the borrow; `range` is read and `stat` written by the kernel
    // only during the call, and both have the kernel's layout; flags must be 0.
    let ret = unsafe {
        libc::syscall(
            nr,
            fd_arg,
            &range as *const CachestatRange,
            &mut stat as *mut CacheStat,
            0u32,
        )
    };
    match cvt(ret) {
        Ok(_) => Ok(stat),
        Err(e) if matches!(errno_of(&e), libc::ENOSYS | libc::EPERM) => {
            Err(CACHESTAT.mark_missing())
        }
        Err(e) => Err(e),
    }
}

static NOWAIT_READ: KernelFeature = KernelFeature::new();

/// Whether `pread_nowait` may still succeed.
pub fn pread_nowait_available() -> bool {
    NOWAIT_READ.available()
}

/// `preadv2(fd, buf, offset, RWF_NOWAIT)`: reads only what is already in the page cache and up
/// to date. Returns `WouldBlock` when nothing at `offset` is, and may return a short count when
/// only a prefix is. `Unsupported` once the kernel rejected the call or flag (remembered);
/// `EOPNOTSUPP` from a filesystem without non-blocking reads is per file and not remembered.
pub fn pread_nowait(fd: BorrowedFd<'_>, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    if !NOWAIT_READ.available() {
        return Err(missing());
    }
    let iov = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    // SAFETY: `iov` describes `buf`, which is exclusively borrowed and writable for its whole
    // length during the call; `fd` is live for the borrow.
    let ret = unsafe { libc::preadv2(fd.as_raw_fd(), &iov, 1, to_off(offset)?, libc::RWF_NOWAIT) };
    match cvt(ret as libc::c_long) {
        Ok(n) => Ok(n as usize),
        // ENOSYS: kernel < 4.6; EINVAL: RWF_NOWAIT unknown (< 4.14); EPERM: seccomp.
        Err(e) if matches!(errno_of(&e), libc::ENOSYS | libc::EINVAL | libc::EPERM) => {
            Err(NOWAIT_READ.mark_missing())
        }
        Err(e) => Err(e),
    }
}

/// Starts reading `len` bytes at `offset` into the page cache. This can block on metadata I/O
/// and only *queues* the data reads, so call it off the event loop. Falls back to
/// `posix_fadvise(WILLNEED)` when the filesystem refuses `readahead` (`EINVAL`).
pub fn readahead(fd: BorrowedFd<'_>, offset: u64, len: u64) -> io::Result<()> {
    let count = usize::try_from(len).unwrap_or(usize::MAX);
    // SAFETY: readahead only reads the descriptor's file; `fd` is live for the borrow.
    match cvt(unsafe { libc::readahead(fd.as_raw_fd(), to_off(offset)?, count) } as libc::c_long) {
        Err(e) if errno_of(&e) == libc::EINVAL => fadvise(fd, offset, len, Advice::WillNeed),
        other => other.map(drop),
    }
}

/// `posix_fadvise` advice values we use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Advice {
    WillNeed,
    /// Drops cached pages; tests use it to make a file cold.
    #[cfg(test)]
    DontNeed,
}

/// `posix_fadvise(fd, offset, len, advice)` (`len == 0`: to the end of the file).
pub fn fadvise(fd: BorrowedFd<'_>, offset: u64, len: u64, advice: Advice) -> io::Result<()> {
    let advice = match advice {
        Advice::WillNeed => libc::POSIX_FADV_WILLNEED,
        #[cfg(test)]
        Advice::DontNeed => libc::POSIX_FADV_DONTNEED,
    };
    let len = to_off(len)?;
    // SAFETY: posix_fadvise only affects the descriptor's file; `fd` is live for the borrow.
    let ret = unsafe { libc::posix_fadvise(fd.as_raw_fd(), to_off(offset)?, len, advice) };
    // posix_fadvise returns the error number instead of setting errno.
    if ret == 0 {
        Ok(())
    } else {
        Err(io::Error::from_raw_os_error(ret))
    }
}

/// `sendfile(out, file, &offset, count)`: copies up to `count` bytes from `file` at `offset` to
/// `out` inside the kernel without touching the file position. On a non-blocking socket a full
/// send buffer is `WouldBlock`; `Ok(0)` with `count > 0` means `offset` is at or past the end of
/// the file. A reset peer gives `EPIPE`/`ECONNRESET` (the process must ignore `SIGPIPE`, which
/// the Rust runtime does at start-up).
pub fn sendfile(
    out: BorrowedFd<'_>,
    file: BorrowedFd<'_>,
    offset: u64,
    count: usize,
) -> io::Result<usize> {
    let mut off = to_off(offset)?;
    // SAFETY: both descriptors are live for their borrows and `off` is a writable off_t that the
    // kernel updates during the call only.
    let ret = unsafe { libc::sendfile(out.as_raw_fd(), file.as_raw_fd(), &mut off, count) };
    cvt(ret as libc::c_long).map(|n| n as usize)
}

// ---------------------------------------------------------------------------------------------
// Process resources (MGMT-17, MGMT-18, SRV-3, SRV-4)
// ---------------------------------------------------------------------------------------------

/// CPU time consumed by this process.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CpuTimes {
    pub user: Duration,
    pub system: Duration,
}

fn timeval_duration(tv: libc::timeval) -> Duration {
    let secs = u64::try_from(tv.tv_sec).unwrap_or(0);
    let micros = u32::try_from(tv.tv_usec).unwrap_or(0);
    Duration::from_secs(secs) + Duration::from_micros(u64::from(micros))
}

/// `getrusage(RUSAGE_SELF)`: user and system CPU time (MGMT-17 `utime`/`stime`).
pub fn cpu_times() -> io::Result<CpuTimes> {
    rusage(libc::RUSAGE_SELF)
}

/// `getrusage(RUSAGE_THREAD)`: CPU time of the calling thread (for `prof`, MGMT-32).
pub fn thread_cpu_times() -> io::Result<CpuTimes> {
    rusage(libc::RUSAGE_THREAD)
}

fn rusage(who: libc::c_int) -> io::Result<CpuTimes> {
    // SAFETY: `struct rusage` is plain integers, for which all-zero is a valid value.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `usage` is writable and correctly sized.
    cvt(unsafe { libc::getrusage(who, &mut usage) }.into())?;
    Ok(CpuTimes {
        user: timeval_duration(usage.ru_utime),
        system: timeval_duration(usage.ru_stime),
    })
}

/// A resource limit pair; `u64::MAX` is `RLIM_INFINITY`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    pub soft: u64,
    pub hard: u64,
}

/// `getrlimit(RLIMIT_NOFILE)` (MGMT-18 prints the hard limit).
pub fn nofile_limit() -> io::Result<Limit> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `lim` is writable and correctly sized.
    cvt(unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) }.into())?;
    Ok(Limit {
        soft: lim.rlim_cur,
        hard: lim.rlim_max,
    })
}

/// `setrlimit(RLIMIT_NOFILE)` (SRV-3 sets soft and hard to the same value). Raising the hard
/// limit without privilege fails with `EPERM`.
pub fn set_nofile_limit(limit: Limit) -> io::Result<()> {
    let lim = libc::rlimit {
        rlim_cur: limit.soft,
        rlim_max: limit.hard,
    };
    // SAFETY: `lim` is a valid rlimit read by the kernel during the call only.
    cvt(unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lim) }.into()).map(drop)
}

/// Whether the effective user is root (SRV-3 picks its error message by this).
pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// Number of open descriptors of this process (MGMT-18 `cur`). Like the original, the count
/// includes the descriptor used to list `/proc/self/fd`. Without procfs, probes every
/// descriptor number below the hard limit (capped at 1 << 20) with `fcntl(F_GETFD)`.
pub fn count_open_fds() -> io::Result<usize> {
    match std::fs::read_dir("/proc/self/fd") {
        Ok(entries) => Ok(entries.count()),
        Err(_) => {
            let max = nofile_limit()?.hard.min(1 << 20);
            let max = libc::c_int::try_from(max).unwrap_or(libc::c_int::MAX);
            // SAFETY: F_GETFD only queries the descriptor table; an unused number yields EBADF.
            Ok((0..max)
                .filter(|&fd| unsafe { libc::fcntl(fd, libc::F_GETFD) } != -1)
                .count())
        }
    }
}

/// `nice(increment)`: returns the new nice value (SRV-4).
pub fn nice(increment: i32) -> io::Result<i32> {
    // nice() may legitimately return -1, so errno must be cleared first to tell the cases apart.
    // SAFETY: __errno_location returns this thread's errno slot, valid for the thread's life.
    unsafe { *libc::__errno_location() = 0 };
    // SAFETY: nice has no memory-safety preconditions.
    let value = unsafe { libc::nice(increment) };
    if value == -1 {
        let err = io::Error::last_os_error();
        if errno_of(&err) != 0 {
            return Err(err);
        }
    }
    Ok(value)
}

/// The text `strerror(3)` gives for `errno` (what Perl prints for `$!`), e.g. `Is a directory`.
pub fn strerror(errno: i32) -> String {
    let full = io::Error::from_raw_os_error(errno).to_string();
    let suffix = format!(" (os error {errno})");
    match full.strip_suffix(&suffix) {
        Some(text) => text.to_owned(),
        None => full,
    }
}

// ---------------------------------------------------------------------------------------------
// Interfaces (CFG-3)
// ---------------------------------------------------------------------------------------------

/// Owns a `getifaddrs` list and frees it on drop.
struct IfAddrs(*mut libc::ifaddrs);

impl Drop for IfAddrs {
    fn drop(&mut self) {
        // SAFETY: the pointer came from a successful getifaddrs and is freed exactly once.
        unsafe { libc::freeifaddrs(self.0) };
    }
}

/// The first IPv4 address of interface `name` (`${ip:eth0}` in config files, CFG-3), or `None`
/// if there is no such interface or it has no IPv4 address.
pub fn interface_ipv4(name: &str) -> io::Result<Option<Ipv4Addr>> {
    let mut head: *mut libc::ifaddrs = std::ptr::null_mut();
    // SAFETY: `head` is a writable pointer slot; on success it owns a list we free via IfAddrs.
    cvt(unsafe { libc::getifaddrs(&mut head) }.into())?;
    let list = IfAddrs(head);
    let mut cursor = list.0;
    while !cursor.is_null() {
        // SAFETY: `cursor` is a node of the list owned by `list`, alive until `list` drops.
        let entry = unsafe { &*cursor };
        cursor = entry.ifa_next;
        if entry.ifa_name.is_null() || entry.ifa_addr.is_null() {
            continue;
        }
        // SAFETY: ifa_name is a NUL-terminated string owned by the list.
        let entry_name = unsafe { CStr::from_ptr(entry.ifa_name) };
        // SAFETY: ifa_addr points to at least a `sockaddr`, whose family we read.
        let family = unsafe { (*entry.ifa_addr).sa_family };
        if entry_name.to_bytes() != name.as_bytes() || i32::from(family) != libc::AF_INET {
            continue;
        }
        // SAFETY: an AF_INET address is a `sockaddr_in`; read_unaligned makes no alignment claim.
        let sin = unsafe { std::ptr::read_unaligned(entry.ifa_addr.cast::<libc::sockaddr_in>()) };
        return Ok(Some(Ipv4Addr::from(u32::from_be(sin.sin_addr.s_addr))));
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs::File;
    use std::io::Write;
    use std::os::fd::AsFd;

    /// A file in its own scratch directory, opened for reading; the directory goes on drop.
    struct TempFile {
        path: std::path::PathBuf,
        file: File,
    }

    impl Drop for TempFile {
        fn drop(&mut self) {
            if let Some(dir) = self.path.parent() {
                let _ = std::fs::remove_dir_all(dir);
            }
        }
    }

    fn temp_file(name: &str, contents: &[u8]) -> TempFile {
        let dir = std::env::temp_dir().join(format!("perlbal-sys-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create test dir");
        let path = dir.join("f");
        File::create(&path)
            .and_then(|mut f| f.write_all(contents))
            .expect("write test file");
        let file = File::open(&path).expect("reopen test file for reading");
        TempFile { path, file }
    }

    /// A connected pair of loopback TCP sockets: (ours, the peer's).
    fn tcp_pair() -> (std::net::TcpStream, std::net::TcpStream) {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let ours =
            std::net::TcpStream::connect(listener.local_addr().expect("address")).expect("connect");
        let (peer, _) = listener.accept().expect("accept");
        (ours, peer)
    }

    #[test]
    fn a_quiet_socket_is_told_from_a_closed_or_talking_one() {
        let (ours, peer) = tcp_pair();
        assert!(socket_is_quiet(ours.as_fd()), "open and silent");
        assert!(socket_is_quiet(ours.as_fd()), "peeking consumed nothing");
        drop(peer);
        assert!(!socket_is_quiet(ours.as_fd()), "the peer closed");

        let (ours, mut peer) = tcp_pair();
        peer.write_all(b"x").expect("send");
        assert!(!socket_is_quiet(ours.as_fd()), "unasked bytes");
        let mut byte = [0u8; 1];
        std::io::Read::read_exact(&mut &ours, &mut byte).expect("the byte is still there");
    }

    #[test]
    fn nul_in_path_is_rejected_not_truncated() {
        let err =
            with_c_path(Path::new("/etc/passwd\0.gif"), |_| Ok(())).expect_err("NUL accepted");
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        let long = "a/".repeat(400);
        let seen = with_c_path(Path::new(&long), |c| Ok(c.to_bytes().len())).expect("long path");
        assert_eq!(seen, long.len());
    }

    #[test]
    fn open_cached_finds_a_recently_created_file_and_stats_it() {
        let temp = temp_file("open", b"hello");
        let path = &temp.path;
        let fd = with_c_path(path, |c| open_cached(c, CachedOpen::Read)).expect("cached open");
        let st = fstat(fd.as_fd()).expect("fstat");
        assert_eq!(st.file_type, FileType::Regular);
        assert_eq!(st.size, 5);
        let dir = path.parent().expect("parent");
        let fd = with_c_path(dir, |c| open_cached(c, CachedOpen::Path)).expect("O_PATH open");
        assert_eq!(
            fstat(fd.as_fd()).expect("fstat dir").file_type,
            FileType::Directory
        );
        let missing = with_c_path(&dir.join("nope"), |c| open_cached(c, CachedOpen::Read));
        let kind = missing.expect_err("missing file opened").kind();
        assert!(
            matches!(kind, io::ErrorKind::NotFound | io::ErrorKind::WouldBlock),
            "{kind:?}"
        );
    }

    #[test]
    fn statx_and_plain_fstat_agree() {
        let temp = temp_file("fstat", b"twelve bytes");
        let (path, file) = (&temp.path, &temp.file);
        let plain = fstat_plain(file.as_fd()).expect("fstat");
        assert_eq!(plain.size, 12);
        assert_eq!(plain.file_type, FileType::Regular);
        match statx_fd(file.as_fd()) {
            Ok(stx) => assert_eq!(stx, plain),
            Err(e) => assert_eq!(e.kind(), io::ErrorKind::Unsupported, "{e}"),
        }
        let dir = File::open(path.parent().expect("parent")).expect("open dir");
        assert_eq!(
            fstat_plain(dir.as_fd()).expect("fstat dir").file_type,
            FileType::Directory
        );
    }

    #[test]
    fn a_missing_kernel_feature_fails_fast_as_unsupported() {
        let feature = KernelFeature::new();
        assert!(feature.available());
        assert_eq!(feature.mark_missing().kind(), io::ErrorKind::Unsupported);
        assert!(!feature.available());
    }

    #[test]
    fn cachestat_counts_pages_of_a_file_just_written() {
        let temp = temp_file("cachestat", &vec![7u8; 3 * 4096]);
        let file = &temp.file;
        match cachestat(file.as_fd(), 0, 0) {
            Ok(st) => assert_eq!(st.nr_cache, 3 * 4096 / page_size().min(3 * 4096)),
            Err(e) => assert_eq!(e.kind(), io::ErrorKind::Unsupported, "{e}"),
        }
    }

    #[test]
    fn pread_nowait_reads_cached_data() {
        let temp = temp_file("nowait", b"0123456789");
        let file = &temp.file;
        let mut buf = [0u8; 4];
        match pread_nowait(file.as_fd(), &mut buf, 3) {
            Ok(n) => assert_eq!(&buf[..n], b"3456"),
            Err(e) => assert!(
                e.kind() == io::ErrorKind::Unsupported
                    || e.raw_os_error() == Some(libc::EOPNOTSUPP),
                "{e}"
            ),
        }
    }

    #[test]
    fn close_reports_success_and_fadvise_readahead_accept_a_file() {
        let temp = temp_file("close", b"abc");
        let file = temp.file.try_clone().expect("dup");
        readahead(file.as_fd(), 0, 3).expect("readahead");
        fadvise(file.as_fd(), 0, 0, Advice::WillNeed).expect("fadvise");
        close(OwnedFd::from(file)).expect("close");
    }

    #[test]
    fn process_resources_are_readable() {
        let limit = nofile_limit().expect("getrlimit");
        assert!(limit.soft <= limit.hard);
        set_nofile_limit(limit).expect("setrlimit to the current value");
        assert!(count_open_fds().expect("count fds") >= 3);
        cpu_times().expect("getrusage");
        assert_eq!(strerror(libc::EISDIR), "Is a directory");
        assert_eq!(strerror(libc::ENOENT), "No such file or directory");
    }

    #[test]
    fn nice_zero_returns_current_value() {
        let now = nice(0).expect("nice(0)");
        assert!((-20..=19).contains(&now));
    }

    #[test]
    fn loopback_interface_has_127_0_0_1() {
        assert_eq!(
            interface_ipv4("lo").expect("getifaddrs"),
            Some(Ipv4Addr::LOCALHOST)
        );
        assert_eq!(interface_ipv4("no-such-if0").expect("getifaddrs"), None);
    }
}
