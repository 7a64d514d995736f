//! What a backend connection runs over: a TCP connection to a pool node, or — with
//! `server_process` (RP-14, SVC-43), the original's "child httpd" — a socket pair to a program
//! we spawn, which speaks HTTP on its stdin and stdout.

use std::io;
use std::os::fd::{AsRawFd, RawFd};
use std::process::Stdio;
use std::task::{Context, Waker};

use tokio::io::{AsyncReadExt, AsyncWriteExt, Interest};
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
    /// Nothing: stands in for a stream while it moves to another worker.
    Detached,
}

fn detached() -> io::Error {
    io::Error::new(io::ErrorKind::NotConnected, "backend stream detached")
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
            Transport::Detached => -1,
        }
    }

    /// Whether tokio has seen the stream readable since the last read drained it. False means
    /// nothing arrived (not even a close), so no syscall is needed to know it is quiet.
    pub fn may_be_readable(&self) -> bool {
        let mut cx = Context::from_waker(Waker::noop());
        let ready = match self {
            Transport::Tcp(s) => s.poll_read_ready(&mut cx),
            Transport::Process { stream, .. } => stream.poll_read_ready(&mut cx),
            Transport::Detached => return true,
        };
        ready.is_ready()
    }

    /// Forgets tokio's cached read readiness after a read that drained the socket. (tokio
    /// keeps it if an event arrived meanwhile.)
    pub fn clear_read_readiness(&self) {
        let would_block = || Err::<(), _>(io::Error::from(io::ErrorKind::WouldBlock));
        let _ = match self {
            Transport::Tcp(s) => s.try_io(Interest::READABLE, would_block),
            Transport::Process { stream, .. } => stream.try_io(Interest::READABLE, would_block),
            Transport::Detached => Ok(()),
        };
    }

    pub async fn readable(&self) -> io::Result<()> {
        match self {
            Transport::Tcp(s) => s.readable().await,
            Transport::Process { stream, .. } => stream.readable().await,
            Transport::Detached => Err(detached()),
        }
    }

    pub fn try_read_buf(&self, buf: &mut Vec<u8>) -> io::Result<usize> {
        match self {
            Transport::Tcp(s) => s.try_read_buf(buf),
            Transport::Process { stream, .. } => stream.try_read_buf(buf),
            Transport::Detached => Err(detached()),
        }
    }

    pub fn try_read(&self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Transport::Tcp(s) => s.try_read(buf),
            Transport::Process { stream, .. } => stream.try_read(buf),
            Transport::Detached => Err(detached()),
        }
    }

    pub async fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        match self {
            Transport::Tcp(s) => s.write_all(bytes).await,
            Transport::Process { stream, .. } => stream.write_all(bytes).await,
            Transport::Detached => Err(detached()),
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
            Transport::Detached => Err(detached()),
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
            Transport::Detached => Transport::Detached,
        })
    }
}
