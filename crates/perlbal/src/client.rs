//! The client side of an HTTP connection, shared by the HTTP roles: reading request heads and
//! bodies with the original's limits and idle timeouts, and writing replies.
//!
//! An idle connection holds no buffer: while waiting for the next request with nothing left
//! over, the read buffer is released and only re-allocated once the socket turns readable.
//! Bytes that arrive after a head (a body, or pipelined requests) stay buffered for the next
//! read, so pipelined requests are answered in order (WS-26).

use std::io;
use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::time::Duration;

use perlbal_http::{HeadError, HeadScan, HeadScanner, RequestHead, MAX_REQUEST_HEAD_BYTES};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use crate::registry::{registry, SockClass, SockHandle, SockInfo, SockState};

/// Initial read buffer size; grows as needed up to the head limit.
const READ_BUF_BYTES: usize = 4096;

/// Why no request head could be read.
#[derive(Debug)]
pub enum ReadHeadError {
    /// The peer closed (or reset) the connection.
    Closed,
    /// Nothing arrived within the idle timeout (HTTP-19).
    Timeout,
    /// The head was malformed or too large; the original closes without a response.
    Invalid(HeadError),
}

/// One accepted client connection.
pub struct ClientConn {
    stream: TcpStream,
    buf: Vec<u8>,
    /// Start of unread bytes in `buf`.
    pos: usize,
    scanner: HeadScanner,
    sock: SockHandle,
    peer: SocketAddr,
}

/// `None` when `secs` is 0, which the original treats as "no limit".
pub fn timeout_secs(secs: u64) -> Option<Duration> {
    (secs > 0).then(|| Duration::from_secs(secs))
}

async fn with_timeout<T>(
    limit: Option<Duration>,
    fut: impl std::future::Future<Output = T>,
) -> Option<T> {
    match limit {
        Some(d) => tokio::time::timeout(d, fut).await.ok(),
        None => Some(fut.await),
    }
}

impl ClientConn {
    /// Registers the connection (for `socks`/`states`) and sets its socket options.
    pub fn new(stream: TcpStream, peer: SocketAddr, class: SockClass, service: &Arc<str>) -> Self {
        let _ = stream.set_nodelay(true);
        let local_port = stream.local_addr().map_or(0, |a| a.port());
        let sock = registry().register(
            SockInfo {
                fd: stream.as_raw_fd(),
                class,
                peer: Some(peer),
                local_port,
                service: Some(Arc::clone(service)),
                detail: String::new(),
            },
            SockState::ReadingHeaders,
        );
        ClientConn {
            stream,
            buf: Vec::new(),
            pos: 0,
            scanner: HeadScanner::new(MAX_REQUEST_HEAD_BYTES),
            sock,
            peer,
        }
    }

    pub fn sock(&self) -> &SockHandle {
        &self.sock
    }

    pub fn stream(&self) -> &TcpStream {
        &self.stream
    }

    pub fn peer(&self) -> SocketAddr {
        self.peer
    }

    /// Sets SO_SNDBUF (`client_sndbuf_size`, NET-4); 0 leaves the default.
    pub fn set_send_buffer(&self, bytes: u64) {
        if bytes > 0 {
            let sock = socket2::SockRef::from(&self.stream);
            let _ = sock.set_send_buffer_size(usize::try_from(bytes).unwrap_or(usize::MAX));
        }
    }

    fn unread(&self) -> &[u8] {
        &self.buf[self.pos..]
    }

    /// Drops `n` unread bytes, releasing the buffer when nothing is left.
    fn consume(&mut self, n: usize) {
        self.pos += n;
        if self.pos >= self.buf.len() {
            self.buf = Vec::new();
            self.pos = 0;
        }
        self.scanner.reset();
    }

    /// Discards a leading CRLF left by old browsers after a POST (HTTP-8).
    pub fn ditch_stray_crlf(&mut self) {
        let n = perlbal_http::stray_crlf_len(self.unread());
        if n > 0 {
            self.consume(n);
        }
    }

    /// Puts bytes that were read too far (past a body's end) back in front of the buffer.
    pub fn unread_front(&mut self, bytes: &[u8]) {
        let mut joined = Vec::with_capacity(bytes.len() + self.unread().len());
        joined.extend_from_slice(bytes);
        joined.extend_from_slice(self.unread());
        self.buf = joined;
        self.pos = 0;
        self.scanner.reset();
    }

    /// Reads more bytes into the buffer. Returns 0 at end of stream.
    async fn fill(&mut self, idle: Option<Duration>) -> Result<usize, ReadHeadError> {
        if self.pos > 0 && self.pos == self.buf.len() {
            self.buf.clear();
            self.pos = 0;
        }
        if self.buf.capacity() == 0 {
            // Idle: hold no memory until the peer actually sends something.
            match with_timeout(idle, self.stream.readable()).await {
                None => return Err(ReadHeadError::Timeout),
                Some(Err(_)) => return Err(ReadHeadError::Closed),
                Some(Ok(())) => self.buf.reserve(READ_BUF_BYTES),
            }
        }
        loop {
            if self.buf.len() == self.buf.capacity() {
                self.buf.reserve(self.buf.capacity().max(READ_BUF_BYTES));
            }
            match self.stream.try_read_buf(&mut self.buf) {
                Ok(n) => return Ok(n),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    match with_timeout(idle, self.stream.readable()).await {
                        None => return Err(ReadHeadError::Timeout),
                        Some(Err(_)) => return Err(ReadHeadError::Closed),
                        Some(Ok(())) => {}
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return Err(ReadHeadError::Closed),
            }
        }
    }

    /// Reads and parses the next request head; leaves any following bytes buffered.
    pub async fn read_head(
        &mut self,
        idle: Option<Duration>,
    ) -> Result<RequestHead, ReadHeadError> {
        loop {
            if !self.unread().is_empty() {
                match self.scanner.scan(&self.buf[self.pos..]) {
                    HeadScan::Complete {
                        head_len,
                        total_len,
                    } => {
                        let parsed = RequestHead::parse(&self.buf[self.pos..self.pos + head_len]);
                        self.consume(total_len);
                        return parsed.map_err(ReadHeadError::Invalid);
                    }
                    HeadScan::TooLarge => return Err(ReadHeadError::Invalid(HeadError::TooLarge)),
                    HeadScan::Incomplete => {}
                }
            }
            if self.pos > 0 {
                // Keep the partial head at the front so the buffer cannot creep forward.
                self.buf.drain(..self.pos);
                self.pos = 0;
                self.scanner.reset();
            }
            if self.fill(idle).await? == 0 {
                return Err(ReadHeadError::Closed);
            }
        }
    }

    /// Returns up to `max` body bytes: buffered ones first, else reads from the socket.
    /// An empty result means the peer closed.
    pub async fn read_body(&mut self, max: usize, idle: Option<Duration>) -> io::Result<Vec<u8>> {
        if self.unread().is_empty() {
            match self.fill(idle).await {
                Ok(0) => return Ok(Vec::new()),
                Ok(_) => {}
                Err(ReadHeadError::Timeout) => {
                    return Err(io::Error::new(io::ErrorKind::TimedOut, "idle timeout"))
                }
                Err(_) => return Err(io::Error::new(io::ErrorKind::ConnectionReset, "closed")),
            }
        }
        let take = self.unread().len().min(max);
        let data = self.unread()[..take].to_vec();
        self.consume(take);
        Ok(data)
    }

    /// Writes all of `data`, giving up if the peer makes no progress for `idle`.
    pub async fn write_all(&mut self, data: &[u8], idle: Option<Duration>) -> io::Result<()> {
        let mut written = 0;
        while written < data.len() {
            match with_timeout(idle, self.stream.write(&data[written..])).await {
                None => return Err(io::Error::new(io::ErrorKind::TimedOut, "idle timeout")),
                Some(Ok(0)) => return Err(io::ErrorKind::WriteZero.into()),
                Some(Ok(n)) => written += n,
                Some(Err(e)) => return Err(e),
            }
        }
        Ok(())
    }

    /// Closes after a response the way the original does (HTTP-20): one last small read so
    /// unread request bytes do not turn the close into a reset, then shutdown.
    pub async fn finish(mut self) {
        let mut scratch = [0u8; 5];
        let _ = self.stream.try_read(&mut scratch);
        let _ = self.stream.shutdown().await;
    }
}
