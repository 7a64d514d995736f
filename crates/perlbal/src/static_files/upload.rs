//! Writing a PUT body to disk (WS-17..21) without blocking the event loop and without ever
//! leaving a partial file behind.
//!
//! Every upload goes to an exclusive temporary file `<name>.<pid>.<random>.tmp` in the target
//! directory (mode 0644 before the umask) and is renamed over `<name>` only once the whole body
//! has been written and the file closed without error. Any failure, an explicit
//! [`Upload::abort`] (Content-MD5 mismatch), or dropping the `Upload` (client gone) removes the
//! temporary file. The original only does this with `Content-MD5` and otherwise truncates and
//! writes the target in place.
//!
//! Writes run on the blocking pool, one batch at a time, while the connection keeps reading:
//! body bytes accumulate until [`WRITE_BATCH`] is pending, then go to disk in the background;
//! once [`MAX_BUFFERED`] bytes wait behind a running write, [`Upload::write`] waits for the disk
//! (backpressure, like the original's 1 MiB read-ahead cap).
//!
//! Durability: no `fsync`, like the original. `close` errors are reported ([`PutError::Close`],
//! "Error saving file"); a crash right after the rename may leave the new name with incomplete
//! data on filesystems without rename-over ordering (ext4's `auto_da_alloc` covers it).

use super::dir::create_dirs_blocking;
use crate::sys;
use bytes::Bytes;
use std::ffi::{OsStr, OsString};
use std::fmt;
use std::fs::{File, OpenOptions};
use std::hash::{BuildHasher, RandomState};
use std::io::{self, Write};
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use tokio::task::JoinHandle;

/// Pending body bytes that start a background disk write.
pub const WRITE_BATCH: usize = 64 * 1024;
/// Pending body bytes beyond which [`Upload::write`] waits for the running disk write.
pub const MAX_BUFFERED: usize = 1024 * 1024;
/// Longest file name Linux filesystems accept.
const NAME_MAX: usize = 255;
/// Attempts at a fresh temporary name when one already exists.
const TEMP_NAME_ATTEMPTS: u32 = 4;

/// Why a PUT failed; each variant is the step that failed, which picks the reply (WS-19, WS-21).
#[derive(Debug)]
#[non_exhaustive]
pub enum PutError {
    /// Creating a missing directory: `500 Unable to create directory`.
    CreateDir(io::Error),
    /// Opening the file (or the target is not a writable file): `500 Internal error`.
    Open(io::Error),
    /// Writing the body: `500 Error saving file`.
    Write(io::Error),
    /// Closing the written file: `500 Error saving file`.
    Close(io::Error),
    /// Renaming the finished file into place: `500 Error renaming file`.
    Rename(io::Error),
    /// Removing the temporary file after an abort: `500 Error unlinking file`.
    Remove(io::Error),
}

impl PutError {
    /// The underlying system error (for the `system error: …` log line).
    pub fn io_error(&self) -> &io::Error {
        match self {
            PutError::CreateDir(e)
            | PutError::Open(e)
            | PutError::Write(e)
            | PutError::Close(e)
            | PutError::Rename(e)
            | PutError::Remove(e) => e,
        }
    }

    fn step(&self) -> &'static str {
        match self {
            PutError::CreateDir(_) => "creating directory",
            PutError::Open(_) => "opening file",
            PutError::Write(_) => "writing file",
            PutError::Close(_) => "closing file",
            PutError::Rename(_) => "renaming file",
            PutError::Remove(_) => "removing temporary file",
        }
    }
}

impl fmt::Display for PutError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "error {}: {}", self.step(), self.io_error())
    }
}

impl std::error::Error for PutError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(self.io_error())
    }
}

fn lost_task(err: tokio::task::JoinError) -> io::Error {
    io::Error::other(err)
}

/// A PUT body being written to a temporary file; see the module docs.
#[derive(Debug)]
pub struct Upload {
    temp_path: PathBuf,
    final_path: PathBuf,
    /// The file, whenever no background write holds it.
    file: Option<File>,
    /// The running background write, which hands the file back when done.
    in_flight: Option<JoinHandle<(File, io::Result<()>)>>,
    pending: Vec<Bytes>,
    pending_len: usize,
    accepted: u64,
    /// False once `commit`/`abort` handed cleanup to a blocking task.
    remove_on_drop: bool,
}

impl Upload {
    /// Starts an upload of `dir/file_name`, creating `dir` and its missing parents (mode 0755)
    /// if needed. Fails with [`PutError::Open`] when the target exists but could not be opened
    /// for writing (a directory, no permission, read-only filesystem), as the original's
    /// create+truncate open would.
    pub async fn create(dir: &Path, file_name: &OsStr) -> Result<Upload, PutError> {
        let (dir, name) = (dir.to_owned(), file_name.to_owned());
        let created = tokio::task::spawn_blocking(move || create_blocking(&dir, &name)).await;
        let (file, temp_path, final_path) = created.map_err(|e| PutError::Open(lost_task(e)))??;
        Ok(Upload {
            temp_path,
            final_path,
            file: Some(file),
            in_flight: None,
            pending: Vec::new(),
            pending_len: 0,
            accepted: 0,
            remove_on_drop: true,
        })
    }

    /// Where the body is being written.
    #[cfg(test)]
    pub fn temp_path(&self) -> &Path {
        &self.temp_path
    }

    /// Where the body goes on [`commit`](Upload::commit).
    #[cfg(test)]
    pub fn final_path(&self) -> &Path {
        &self.final_path
    }

    /// Queues `data` for writing. Returns at once unless [`MAX_BUFFERED`] bytes are waiting
    /// for the disk. An error of an earlier background write surfaces here or in `commit`.
    pub async fn write(&mut self, data: Bytes) -> Result<(), PutError> {
        if data.is_empty() {
            return Ok(());
        }
        self.accepted += data.len() as u64;
        self.pending_len += data.len();
        self.pending.push(data);
        let disk_idle = self.in_flight.as_ref().is_some_and(JoinHandle::is_finished);
        if disk_idle || self.pending_len >= MAX_BUFFERED {
            self.wait_for_disk().await?;
        }
        if self.in_flight.is_none() && self.pending_len >= WRITE_BATCH {
            self.start_write();
        }
        Ok(())
    }

    /// Writes what is left, closes the file, and renames it into place. Returns the body
    /// length. On failure the temporary file is removed and the target is left as it was.
    pub async fn commit(mut self) -> Result<u64, PutError> {
        self.wait_for_disk().await?;
        let file = self
            .file
            .take()
            .ok_or_else(|| PutError::Write(io::ErrorKind::BrokenPipe.into()))?;
        let batch = std::mem::take(&mut self.pending);
        let (temp, target) = (self.temp_path.clone(), self.final_path.clone());
        // From here the task cleans up after itself, even if this future is dropped.
        self.remove_on_drop = false;
        let task =
            tokio::task::spawn_blocking(move || finish_blocking(file, &batch, &temp, &target));
        match task.await {
            Ok(result) => result.map(|()| self.accepted),
            Err(join_error) => {
                self.remove_on_drop = true;
                Err(PutError::Close(lost_task(join_error)))
            }
        }
    }

    /// Throws the upload away and removes the temporary file (Content-MD5 mismatch, WS-19).
    pub async fn abort(mut self) -> Result<(), PutError> {
        if let Some(task) = self.in_flight.take() {
            // Only its completion matters; a write error is moot now.
            let _ = task.await;
        }
        let file = self.file.take();
        let temp = self.temp_path.clone();
        self.remove_on_drop = false;
        let task = tokio::task::spawn_blocking(move || {
            drop(file);
            std::fs::remove_file(&temp)
        });
        match task.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Ok(Err(e)) => Err(PutError::Remove(e)),
            Err(join_error) => Err(PutError::Remove(lost_task(join_error))),
        }
    }

    async fn wait_for_disk(&mut self) -> Result<(), PutError> {
        if let Some(task) = self.in_flight.take() {
            let (file, written) = task.await.map_err(|e| PutError::Write(lost_task(e)))?;
            self.file = Some(file);
            written.map_err(PutError::Write)?;
        }
        Ok(())
    }

    fn start_write(&mut self) {
        let Some(file) = self.file.take() else {
            return;
        };
        let batch = std::mem::take(&mut self.pending);
        self.pending_len = 0;
        self.in_flight = Some(tokio::task::spawn_blocking(move || {
            let written = write_batch(&file, &batch);
            (file, written)
        }));
    }
}

impl Drop for Upload {
    /// An upload dropped before `commit`/`abort` (client disconnected, size limit hit) removes
    /// its temporary file on the blocking pool. A background write still running finishes into
    /// the unlinked file and is then freed.
    fn drop(&mut self) {
        if !self.remove_on_drop {
            return;
        }
        let temp = std::mem::take(&mut self.temp_path);
        let file = self.file.take();
        let cleanup = move || {
            drop(file);
            remove_quietly(&temp);
        };
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => drop(runtime.spawn_blocking(cleanup)),
            Err(_) => cleanup(),
        }
    }
}

fn remove_quietly(path: &Path) {
    if let Err(err) = std::fs::remove_file(path) {
        if err.kind() != io::ErrorKind::NotFound {
            tracing::warn!(path = %path.display(), error = %err, "could not remove partial PUT file");
        }
    }
}

/// `<name>.<pid>.<random>.tmp` as the original names its Content-MD5 temporary files, or
/// `.perlbal.<pid>.<random>.tmp` when that would exceed `NAME_MAX`.
fn temp_name(name: &OsStr) -> OsString {
    let random = RandomState::new().hash_one(std::time::Instant::now()) as u32;
    let suffix = format!(".{}.{random}.tmp", std::process::id());
    let mut temp = if name.as_bytes().len() + suffix.len() <= NAME_MAX {
        name.to_owned()
    } else {
        OsString::from(".perlbal")
    };
    temp.push(suffix);
    temp
}

/// The original opens the target with `O_WRONLY|O_TRUNC`, so a target that exists but cannot
/// be opened for writing fails the PUT up front. Opening it (without truncating) checks the
/// same conditions; `O_NONBLOCK` keeps a FIFO from hanging the check.
fn check_target_writable(target: &Path) -> io::Result<()> {
    let opened = OpenOptions::new()
        .write(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(target);
    match opened {
        Ok(_) => Ok(()),
        Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(err) => Err(err),
    }
}

fn create_blocking(dir: &Path, name: &OsStr) -> Result<(File, PathBuf, PathBuf), PutError> {
    let target = dir.join(name);
    check_target_writable(&target).map_err(PutError::Open)?;
    let mut made_dirs = false;
    let mut attempts = 0;
    loop {
        attempts += 1;
        let temp = dir.join(temp_name(name));
        let opened = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o644)
            .open(&temp);
        match opened {
            Ok(file) => return Ok((file, temp, target)),
            Err(err) if err.kind() == io::ErrorKind::NotFound && !made_dirs => {
                create_dirs_blocking(dir).map_err(PutError::CreateDir)?;
                made_dirs = true;
            }
            Err(err)
                if err.kind() == io::ErrorKind::AlreadyExists && attempts < TEMP_NAME_ATTEMPTS => {}
            Err(err) => return Err(PutError::Open(err)),
        }
    }
}

fn write_batch(file: &File, batch: &[Bytes]) -> io::Result<()> {
    let mut out = file;
    batch.iter().try_for_each(|data| out.write_all(data))
}

/// Blocking: last batch, checked close, rename; removes the temporary file on any failure.
fn finish_blocking(
    file: File,
    batch: &[Bytes],
    temp: &Path,
    target: &Path,
) -> Result<(), PutError> {
    let result = match write_batch(&file, batch) {
        Err(err) => Err(PutError::Write(err)),
        Ok(()) => sys::close(OwnedFd::from(file))
            .map_err(PutError::Close)
            .and_then(|()| std::fs::rename(temp, target).map_err(PutError::Rename)),
    };
    if result.is_err() {
        remove_quietly(temp);
    }
    result
}

#[cfg(test)]
mod tests;
