//! What a backend connection runs over: a TCP connection to a pool node, or — with
//! `server_process` (RP-14, SVC-43), the original's "child httpd" — a socket pair to a program
//! we spawn, which speaks HTTP on its stdin and stdout.

use std::io;
use std::os::fd::{AsRawFd, RawFd};
use std::process::Stdio;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UnixStream};

use crate::static_files::OpenFile;

/// A backend connection's byte stream.
pub enum Transport {
    Tcp(TcpStream),
    /// Our end of the socket pair; the child holds the other as stdin and stdout. Dropping
    /// it gives the child EOF; tokio reaps the child when it exits.
    Process {
        stream: UnixStream,
        _child: tokio::process::Child,
    },
}

impl Transport {
    /// Spawns `program` with one end of a socket pair as its stdin and stdout.
    pub fn spawn(program: &str) -> io::Result<Transport> {
        let (ours, theirs) = std::os::unix::net::UnixStream::pair()?;
        let stdout = theirs.try_clone()?;
        let child = tokio::process::Command::new(program)
            .stdin(Stdio::from(std::os::fd::OwnedFd::from(theirs)))
            .stdout(Stdio::from(std::os::fd::OwnedFd::from(stdout)))
            .kill_on_drop(true)
            .spawn()?;
        ours.set_nonblocking(true)?;
        Ok(Transport::Process {
            stream: UnixStream::from_std(ours)?,
            _child: child,
        })
    }

    pub fn raw_fd(&self) -> RawFd {
        match self {
            Transport::Tcp(s) => s.as_raw_fd(),
            Transport::Process { stream, .. } => stream.as_raw_fd(),
        }
    }

    pub async fn readable(&self) -> io::Result<()> {
        match self {
            Transport::Tcp(s) => s.readable().await,
            Transport::Process { stream, .. } => stream.readable().await,
        }
    }

    pub fn try_read_buf(&self, buf: &mut Vec<u8>) -> io::Result<usize> {
        match self {
            Transport::Tcp(s) => s.try_read_buf(buf),
            Transport::Process { stream, .. } => stream.try_read_buf(buf),
        }
    }

    pub fn try_read(&self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Transport::Tcp(s) => s.try_read(buf),
            Transport::Process { stream, .. } => stream.try_read(buf),
        }
    }

    pub async fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        match self {
            Transport::Tcp(s) => s.write_all(bytes).await,
            Transport::Process { stream, .. } => stream.write_all(bytes).await,
        }
    }

    /// Sends `len` bytes of `file` (a spooled upload): zero-copy over TCP, copied to a child.
    pub async fn send_file(&mut self, file: &OpenFile, len: u64) -> io::Result<()> {
        match self {
            Transport::Tcp(s) => crate::static_files::send_file(s, file, 0, len, &|| {})
                .await
                .map(drop),
            Transport::Process { stream, .. } => {
                let mut reader = tokio::fs::File::from_std(file.file().try_clone()?).take(len);
                tokio::io::copy(&mut reader, stream).await.map(drop)
            }
        }
    }

    /// Re-registers the stream with the calling worker's event loop.
    pub fn adopt(self) -> io::Result<Transport> {
        Ok(match self {
            Transport::Tcp(s) => Transport::Tcp(TcpStream::from_std(s.into_std()?)?),
            Transport::Process { stream, _child } => Transport::Process {
                stream: UnixStream::from_std(stream.into_std()?)?,
                _child,
            },
        })
    }
}
