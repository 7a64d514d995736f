//! Large response bodies moved from the backend to the client inside the kernel: `splice(2)`
//! from the backend's socket into a pipe and from the pipe into the client's, so the bytes
//! never cross into our memory (nginx and HAProxy copy them, or use the same trick).
//!
//! Used by [`super::relay`] once a response's head and first buffered bytes are out and at
//! least [`SPLICE_AT_LEAST`] bytes remain. Back-pressure is the pipe's: when the client does
//! not read, the pipe fills, then the backend's socket. The backend is released as soon as its
//! last byte is in the pipe (RP-33), before the client has them all. Pipes are reused per
//! worker; one that ends holding bytes (an error mid-way) is closed instead.

use std::cell::RefCell;
use std::io;
use std::os::fd::{AsFd, OwnedFd};

use tokio::io::Interest;

use crate::backend::conn::Backend;
use crate::client::ClientConn;
use crate::sys::pipe::{pipe, set_pipe_size, splice};

/// Bodies with at least this many bytes left after the first read are spliced.
pub const SPLICE_AT_LEAST: u64 = 16 * 1024;

/// The pipe size asked for: a few of the backend's reads in flight.
const PIPE_BYTES: usize = 256 * 1024;

/// Empty pipes kept per worker.
const PIPES_KEPT: usize = 16;

/// A pipe and how many bytes it holds.
pub struct Pipe {
    read: OwnedFd,
    write: OwnedFd,
    capacity: usize,
    held: usize,
}

thread_local! {
    static PIPES: RefCell<Vec<Pipe>> = const { RefCell::new(Vec::new()) };
}

impl Pipe {
    /// An empty pipe from this worker's pool, or a new one; `None` when none can be had (the
    /// caller then copies the body as usual).
    pub fn take() -> Option<Pipe> {
        if let Some(pipe) = PIPES.with_borrow_mut(Vec::pop) {
            return Some(pipe);
        }
        let (read, write) = pipe()
            .map_err(|e| tracing::debug!("no pipe for splicing: {e}"))
            .ok()?;
        let capacity = set_pipe_size(write.as_fd(), PIPE_BYTES).unwrap_or(64 * 1024);
        Some(Pipe {
            read,
            write,
            capacity,
            held: 0,
        })
    }

    /// Back to the pool if empty; closed otherwise.
    fn give_back(self) {
        if self.held == 0 {
            PIPES.with_borrow_mut(|pipes| {
                if pipes.len() < PIPES_KEPT {
                    pipes.push(self);
                }
            });
        }
    }
}

/// Moves `remaining` body bytes from the backend of `upstream` (with nothing buffered) to the
/// client through `pipe`, handing the backend to `release` once its last byte is in the pipe.
/// False if either side failed (the backend dying mid-body included): the client connection
/// must then close.
pub async fn relay<U: AsMut<Backend>>(
    conn: &mut ClientConn,
    mut upstream: U,
    mut pipe: Pipe,
    mut remaining: u64,
    release: impl FnOnce(U),
) -> bool {
    while remaining > 0 {
        let backend = upstream.as_mut();
        let Some(from) = backend.tcp() else {
            return false;
        };
        // Fill the pipe as far as the backend has bytes and the pipe room. A full pipe also
        // answers "would block", so the backend's readiness is only cleared (by `try_io`) when
        // the pipe was empty: then the socket really had nothing.
        while remaining > 0 && pipe.held < pipe.capacity {
            let want =
                (pipe.capacity - pipe.held).min(usize::try_from(remaining).unwrap_or(usize::MAX));
            let moved = if pipe.held == 0 {
                from.try_io(Interest::READABLE, || {
                    splice(from.as_fd(), pipe.write.as_fd(), want)
                })
            } else {
                splice(from.as_fd(), pipe.write.as_fd(), want)
            };
            match moved {
                Ok(0) => {
                    tracing::warn!(
                        "backend {} closed mid-body; truncating the response",
                        backend.endpoint()
                    );
                    drain(conn, &mut pipe).await;
                    return false;
                }
                Ok(n) => {
                    pipe.held += n;
                    remaining -= n as u64;
                    backend.sock().touch();
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(_) => return false,
            }
        }
        if remaining == 0 {
            break;
        }
        // Pass on what the pipe holds; wait for the client while it holds some, else for the
        // backend.
        if !pass_on(conn, &mut pipe) {
            return false;
        }
        let waited = if pipe.held > 0 {
            conn.tcp().writable().await
        } else {
            from.readable().await
        };
        if waited.is_err() {
            return false;
        }
    }
    release(upstream);
    let delivered = drain(conn, &mut pipe).await;
    if delivered {
        pipe.give_back();
    }
    delivered
}

/// Moves what the pipe holds to the client as far as its socket takes it now; false if the
/// client is gone.
fn pass_on(conn: &ClientConn, pipe: &mut Pipe) -> bool {
    let to = conn.tcp();
    while pipe.held > 0 {
        match to.try_io(Interest::WRITABLE, || {
            splice(pipe.read.as_fd(), to.as_fd(), pipe.held)
        }) {
            Ok(n) => {
                pipe.held -= n;
                conn.sock().touch();
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return true,
            Err(_) => return false,
        }
    }
    true
}

/// Moves everything the pipe holds to the client; false if the client is gone.
async fn drain(conn: &ClientConn, pipe: &mut Pipe) -> bool {
    loop {
        if !pass_on(conn, pipe) {
            return false;
        }
        if pipe.held == 0 {
            return true;
        }
        if conn.tcp().writable().await.is_err() {
            return false;
        }
    }
}
