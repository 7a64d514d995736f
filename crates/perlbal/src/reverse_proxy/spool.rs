//! Buffered uploads (RP-27, RP-28): a request body written to a file in `buffer_uploads_path`
//! before a backend is asked for, then sent to it with sendfile.
//!
//! The file is named as the original names it (`<service>-<listen>-client-<fd>-<random>`) and
//! is removed when the [`Spool`] is dropped: after the request, and on every failure path (the
//! original leaks it when it closes a buffering client itself).

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use crate::static_files::{self, OpenFile};

/// A request body on disk.
pub struct Spool {
    path: PathBuf,
    file: Option<File>,
    len: u64,
}

impl std::fmt::Debug for Spool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Spool")
            .field("path", &self.path)
            .field("len", &self.len)
            .finish()
    }
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> io::Result<T> + Send + 'static,
) -> io::Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .unwrap_or_else(|e| Err(io::Error::other(e)))
}

impl Spool {
    /// Creates the spool file for a client of `service` listening on `listen`.
    pub async fn create(
        dir: &Path,
        service: &str,
        listen: &str,
        client_fd: i32,
    ) -> io::Result<Spool> {
        let random = crate::backend::random_index(0xffff_ffff);
        let path = dir.join(format!("{service}-{listen}-client-{client_fd}-{random}"));
        let open_path = path.clone();
        let file = blocking(move || {
            std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(true)
                .open(&open_path)
        })
        .await
        .inspect_err(|e| {
            crate::logging::log(&format!(
                "Failure to open {} for buffered upload output: {e}",
                path.display()
            ));
        })?;
        Ok(Spool {
            path,
            file: Some(file),
            len: 0,
        })
    }

    /// Bytes written so far.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Appends `data`, off the event loop.
    pub async fn write(&mut self, data: Vec<u8>) -> io::Result<()> {
        let file = self
            .file
            .take()
            .ok_or_else(|| io::Error::other("spool file closed"))?;
        let offset = self.len;
        let count = data.len() as u64;
        let (file, result) = tokio::task::spawn_blocking(move || {
            let result = file.write_all_at(&data, offset);
            (file, result)
        })
        .await
        .map_err(io::Error::other)?;
        self.file = Some(file);
        if let Err(e) = result {
            crate::logging::log(&format!("Error writing buffered upload: {e}"));
            return Err(e);
        }
        self.len += count;
        Ok(())
    }

    /// Opens the spooled body for sending.
    pub async fn open(&self) -> io::Result<OpenFile> {
        static_files::open_file(&self.path).await
    }
}

impl Drop for Spool {
    fn drop(&mut self) {
        self.file = None;
        let path = std::mem::take(&mut self.path);
        if path.as_os_str().is_empty() {
            return;
        }
        // Unlinking touches the disk: off the event loop when there is one.
        match tokio::runtime::Handle::try_current() {
            Ok(handle) => {
                handle.spawn_blocking(move || {
                    let _ = std::fs::remove_file(path);
                });
            }
            Err(_) => {
                let _ = std::fs::remove_file(path);
            }
        }
    }
}
