//! The client side of an HTTP connection, shared by the HTTP roles: reading request heads and
//! bodies with the original's limits and idle timeouts, and writing replies.
//!
//! An idle connection holds no buffer and no timer: while waiting for the next request with
//! nothing left over, the read buffer is released and only re-allocated once bytes arrive, and
//! idle timeouts are enforced by the registry's sweeper from the activity stamps refreshed
//! here on every read and write that moves bytes (HTTP-19). Bytes that arrive after a head (a
//! body, or pipelined requests) stay buffered for the next read, so pipelined requests are
//! answered in order (WS-26).

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::task::{Context, Poll};

use perlbal_http::{HeadError, HeadScan, HeadScanner, RequestHead, MAX_REQUEST_HEAD_BYTES};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use crate::buffers::{self, BufferKind};
use crate::listener::Accepted;
use crate::registry::{registry, SockClass, SockHandle, SockInfo, SockState};

/// Why no request head could be read.
#[derive(Debug)]
pub enum ReadHeadError {
    /// The peer closed or reset the connection, or it was idle too long (the sweeper shut it
    /// down).
    Closed,
    /// The head was malformed or too large; the original closes without a response.
    Invalid(HeadError),
}

/// The keep-alive loop of an HTTP client connection (HTTP-8, HTTP-13, SVC-3..5).
///
/// Between requests the task holds only the connection: it waits for a request's first bytes
/// (under `persist_client_idle_timeout`, or `idle_timeout` for the first request), then runs
/// `answer` in a boxed future that exists only while a request does, so an idle connection
/// costs a few hundred bytes. `answer` reads and answers one request and returns
/// `Some(was_post)` when the connection stays open. A graceful shutdown ends the loop between
/// requests.
///
/// A connection idle for 50 to 100 ms while waiting for a request goes to the [parking
/// lot](crate::parking) and this task ends; `resume` starts the loop again, as of `start`, when it wakes.
#[allow(clippy::manual_async_fn)] // on purpose, see the first comment
fn serve_requests(
    mut conn: ClientConn,
    service: Arc<str>,
    start: LoopStart,
    resume: Resume,
    mut answer: impl AsyncFnMut(&mut ClientConn, &Arc<str>) -> Option<bool>,
) -> impl Future<Output = ()> {
    // A plain `async` block rather than an `async fn`: an `async fn` keeps its arguments twice
    // in its state (as arguments, then as locals), and this state is what every busy
    // connection costs.
    async move {
        let LoopStart {
            mut first,
            mut after_post,
        } = start;
        loop {
            if !prepare_wait(&conn, &service, first) {
                return;
            }
            let arrived = match crate::parking::await_bytes_or_idle(&mut conn).await {
                Some(arrived) => arrived,
                None => {
                    let start = LoopStart { first, after_post };
                    match crate::parking::park(conn, start, resume) {
                        Parking::Parked | Parking::Lost => return,
                        Parking::Kept(kept) => conn = kept,
                    }
                    conn.await_bytes().await
                }
            };
            if !matches!(arrived, Ok(true)) {
                return;
            }
            if after_post {
                conn.ditch_stray_crlf();
                if !matches!(conn.await_bytes().await, Ok(true)) {
                    return;
                }
            }
            // Allocated first and written in place: the future is not built on the stack and
            // copied over.
            let slot = Box::new_uninit();
            let outcome = Box::into_pin(Box::write(slot, answer(&mut conn, &service))).await;
            let Some(was_post) = outcome.filter(|_| !crate::server::draining()) else {
                conn.finish();
                return;
            };
            after_post = was_post;
            first = false;
            conn.sock().set_state(SockState::PersistWait);
        }
    }
}

/// What an HTTP role does with each request of a connection, for the shared keep-alive loop.
pub trait HttpRole: 'static {
    /// The profiling event of one request (`Perlbal::ClientHTTP-read`, …).
    const EVENT: &'static str;

    /// Reads and answers one request; `Some(was_post)` when the connection stays open.
    fn answer<'a>(
        conn: &'a mut ClientConn,
        service: &'a Arc<str>,
    ) -> impl Future<Output = Option<bool>> + 'a;
}

/// The request loop of role `R` on a connection, new or back from the parking lot.
pub fn serve<R: HttpRole>(
    conn: ClientConn,
    service: Arc<str>,
    start: LoopStart,
) -> impl Future<Output = ()> + 'static {
    serve_requests(conn, service, start, resume::<R>, async |conn, service| {
        let _span = crate::profiling::span(R::EVENT);
        R::answer(conn, service).await
    })
}

/// Resumes a connection of role `R` back from the parking lot, on the current worker.
fn resume<R: HttpRole>(conn: ClientConn, service: Arc<str>, start: LoopStart) {
    tokio::task::spawn_local(serve::<R>(conn, service, start));
}

/// Where a connection's request loop starts: on a new connection, or on one coming back from
/// the parking lot.
#[derive(Debug, Clone, Copy)]
pub struct LoopStart {
    /// No request was read yet (`idle_timeout` applies, not `persist_client_idle_timeout`).
    first: bool,
    /// The previous request was a POST (a stray CRLF may follow it, HTTP-8).
    after_post: bool,
}

impl LoopStart {
    /// A newly accepted connection.
    pub const NEW: LoopStart = LoopStart {
        first: true,
        after_post: false,
    };
}

/// Spawns a role's request loop on the current worker, for a connection back from the parking
/// lot.
pub type Resume = fn(ClientConn, Arc<str>, LoopStart);

/// Sets the idle limit for the wait before the next request; false when the connection
/// should close instead (its service is gone, or a graceful shutdown began).
fn prepare_wait(conn: &ClientConn, service: &str, first: bool) -> bool {
    let Some(svc) = crate::service::snapshot().service(service).cloned() else {
        return false;
    };
    if first {
        conn.set_send_buffer(svc.client_sndbuf_size);
        conn.sock().set_idle_limit(svc.idle_timeout);
    } else {
        // The sweeper enforces this limit, and closes connections in this state when a
        // graceful shutdown begins.
        conn.sock().set_idle_limit(svc.persist_client_idle_timeout);
    }
    !crate::server::draining()
}

/// One accepted client connection.
pub struct ClientConn {
    /// Declared first so that it is dropped first: a connection leaves the registry before its
    /// socket is closed, so the sweeper never touches a reused descriptor.
    sock: SockHandle,
    stream: TcpStream,
    buf: ReadBuf,
    /// Start of unread bytes in `buf`.
    pos: usize,
    scanner: HeadScanner,
    /// Reports body bytes read of a tagged upload (UPT-1), while one is being read.
    upload: Option<Box<crate::upload_tracker::UploadReporter>>,
}

/// A client's read buffer, given back to the thread's pool when the connection goes.
#[derive(Default)]
struct ReadBuf(Vec<u8>);

impl std::ops::Deref for ReadBuf {
    type Target = Vec<u8>;

    fn deref(&self) -> &Vec<u8> {
        &self.0
    }
}

impl std::ops::DerefMut for ReadBuf {
    fn deref_mut(&mut self) -> &mut Vec<u8> {
        &mut self.0
    }
}

impl Drop for ReadBuf {
    fn drop(&mut self) {
        buffers::give_back(BufferKind::ClientRead, std::mem::take(&mut self.0));
    }
}

/// A connection between requests, off every event loop: its socket and its registry entry
/// (it still shows in `socks`, waiting), nothing else.
#[derive(Debug)]
pub struct ParkedConn {
    /// Declared first, as in [`ClientConn`].
    sock: SockHandle,
    stream: std::net::TcpStream,
}

impl ParkedConn {
    pub fn fd(&self) -> std::os::fd::RawFd {
        self.stream.as_raw_fd()
    }

    /// The name of the service the connection belongs to.
    pub fn service(&self) -> Option<Arc<str>> {
        self.sock.service_name()
    }
}

/// What became of a connection offered to the parking lot.
pub enum Parking {
    /// Parked: its task ends.
    Parked,
    /// Not parked (bytes in hand, or no parking lot): its task keeps it.
    Kept(ClientConn),
    /// Its socket could not be moved: the connection is closed.
    Lost,
}

impl ClientConn {
    /// Registers the connection (for `socks`/`states`) and sets its socket options.
    pub fn new(accepted: Accepted, class: SockClass, service: &Arc<str>) -> Self {
        let Accepted {
            stream,
            peer,
            local_port,
        } = accepted;
        // TCP_NODELAY comes from the listening socket (see `listener`).
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
            sock,
            stream,
            buf: ReadBuf::default(),
            pos: 0,
            scanner: HeadScanner::new(MAX_REQUEST_HEAD_BYTES),
            upload: None,
        }
    }

    /// The client's address (a syscall: for rare paths only; `None` once it is gone).
    pub fn peer_addr(&self) -> Option<SocketAddr> {
        self.stream.peer_addr().ok()
    }

    /// Takes the connection off this worker's event loop, between requests. `Err` gives it back
    /// when it has bytes or an upload in hand.
    pub fn into_parked(self) -> Result<io::Result<ParkedConn>, ClientConn> {
        if !self.unread().is_empty() || self.upload.is_some() {
            return Err(self);
        }
        let ClientConn { sock, stream, .. } = self;
        Ok(stream.into_std().map(|stream| ParkedConn { sock, stream }))
    }

    /// Puts a parked connection on the calling worker's event loop.
    pub fn unpark(parked: ParkedConn) -> io::Result<ClientConn> {
        let ParkedConn { sock, stream } = parked;
        Ok(ClientConn {
            sock,
            stream: TcpStream::from_std(stream)?,
            buf: ReadBuf::default(),
            pos: 0,
            scanner: HeadScanner::new(MAX_REQUEST_HEAD_BYTES),
            upload: None,
        })
    }

    /// The socket, for moving a body with `splice`.
    pub fn tcp(&self) -> &TcpStream {
        &self.stream
    }

    pub fn sock(&self) -> &SockHandle {
        &self.sock
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
            buffers::give_back(BufferKind::ClientRead, std::mem::take(&mut *self.buf));
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

    /// Reports the progress of the body about to be read to upload listeners (or stops).
    pub fn track_upload(&mut self, reporter: Option<crate::upload_tracker::UploadReporter>) {
        self.upload = reporter.map(Box::new);
    }

    /// Puts bytes that were read too far (past a body's end) back in front of the buffer.
    pub fn unread_front(&mut self, bytes: &[u8]) {
        let mut joined = Vec::with_capacity(bytes.len() + self.unread().len());
        joined.extend_from_slice(bytes);
        joined.extend_from_slice(self.unread());
        *self.buf = joined;
        self.pos = 0;
        self.scanner.reset();
    }

    /// Reads more bytes into the buffer. Returns 0 at end of stream.
    ///
    /// With nothing buffered, the buffer is allocated only for the read itself and released
    /// again whenever the read would block, so a waiting connection holds no buffer (tokio may
    /// report a socket readable from stale readiness; only a `WouldBlock` clears it).
    async fn fill(&mut self) -> Result<usize, ReadHeadError> {
        std::future::poll_fn(|cx| self.poll_fill(cx)).await
    }

    /// [`ClientConn::fill`] as a poll function, so that waiting for bytes keeps nothing but a
    /// reference in the task's state.
    fn poll_fill(&mut self, cx: &mut Context<'_>) -> Poll<Result<usize, ReadHeadError>> {
        if self.pos > 0 && self.pos == self.buf.len() {
            buffers::give_back(BufferKind::ClientRead, std::mem::take(&mut *self.buf));
            self.pos = 0;
        }
        loop {
            let was_empty = self.buf.is_empty();
            if self.buf.capacity() == 0 {
                *self.buf = buffers::take(BufferKind::ClientRead);
            } else if self.buf.len() == self.buf.capacity() {
                let more = self.buf.capacity().max(BufferKind::ClientRead.capacity());
                self.buf.reserve(more);
            }
            let spare = self.buf.capacity() - self.buf.len();
            match self.stream.try_read_buf(&mut *self.buf) {
                Ok(n) => {
                    self.sock.touch();
                    if n < spare {
                        // A short read drained the socket: forget tokio's cached readiness so
                        // the next wait is for a real event, not a read that returns EAGAIN.
                        // (tokio only clears it if no newer event arrived meanwhile.)
                        let _ = self.stream.try_io(tokio::io::Interest::READABLE, || {
                            Err::<(), _>(io::ErrorKind::WouldBlock.into())
                        });
                    }
                    return Poll::Ready(Ok(n));
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    if was_empty {
                        buffers::give_back(BufferKind::ClientRead, std::mem::take(&mut *self.buf));
                    }
                    // A bare readiness poll: no waiter node or timer lives in the task.
                    match self.stream.poll_read_ready(cx) {
                        Poll::Pending => return Poll::Pending,
                        Poll::Ready(Err(_)) => return Poll::Ready(Err(ReadHeadError::Closed)),
                        Poll::Ready(Ok(())) => {}
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return Poll::Ready(Err(ReadHeadError::Closed)),
            }
        }
    }

    /// Waits until request bytes are buffered (reading them if none are yet). `Ok(false)` when
    /// the peer closed instead.
    pub async fn await_bytes(&mut self) -> Result<bool, ReadHeadError> {
        std::future::poll_fn(|cx| self.poll_await_bytes(cx)).await
    }

    /// [`ClientConn::await_bytes`] as a poll function.
    pub fn poll_await_bytes(&mut self, cx: &mut Context<'_>) -> Poll<Result<bool, ReadHeadError>> {
        if !self.unread().is_empty() {
            return Poll::Ready(Ok(true));
        }
        self.poll_fill(cx).map_ok(|n| n > 0)
    }

    /// Reads and parses the next request head; leaves any following bytes buffered.
    pub async fn read_head(&mut self) -> Result<RequestHead, ReadHeadError> {
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
            if self.fill().await? == 0 {
                return Err(ReadHeadError::Closed);
            }
        }
    }

    /// Returns up to `max` body bytes: buffered ones first, else reads from the socket.
    /// An empty result means the peer closed.
    pub async fn read_body(&mut self, max: usize) -> io::Result<Vec<u8>> {
        if self.unread().is_empty() {
            match self.fill().await {
                Ok(0) => return Ok(Vec::new()),
                Ok(_) => {}
                Err(_) => return Err(io::ErrorKind::ConnectionReset.into()),
            }
        }
        let take = self.unread().len().min(max);
        let data = self.unread()[..take].to_vec();
        self.consume(take);
        self.sock.note_body_read(take as u64);
        if let Some(upload) = self.upload.as_mut() {
            upload.advance(take as u64);
        }
        Ok(data)
    }

    /// Writes all of `data`; each write that moves bytes refreshes the idle timer.
    pub async fn write_all(&mut self, data: &[u8]) -> io::Result<()> {
        self.write_all_pair(data, &[]).await
    }

    /// Writes as much of `first` then `second` as the socket takes now, in one vectored write
    /// and without waiting: the number of bytes written (0 if the socket is full).
    pub fn try_write_pair(&self, first: &[u8], second: &[u8]) -> io::Result<usize> {
        let parts = [io::IoSlice::new(first), io::IoSlice::new(second)];
        match self.stream.try_write_vectored(&parts) {
            Ok(n) => {
                if n > 0 {
                    self.sock.touch();
                }
                Ok(n)
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(0),
            Err(e) => Err(e),
        }
    }

    /// Writes all of `first` then `second` with vectored writes (no copy to join them).
    pub async fn write_all_pair(&mut self, first: &[u8], second: &[u8]) -> io::Result<()> {
        let total = first.len() + second.len();
        let mut written = 0;
        while written < total {
            let (a, b) = if written < first.len() {
                (&first[written..], second)
            } else {
                (&second[written - first.len()..], &[][..])
            };
            let parts = [io::IoSlice::new(a), io::IoSlice::new(b)];
            match self.stream.write_vectored(&parts).await {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => {
                    written += n;
                    self.sock.touch();
                }
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Sends `len` bytes of `file` from `offset` after `head`, zero-copy, refreshing the idle
    /// timer as the client takes them.
    pub async fn send_head_and_file(
        &self,
        head: Vec<u8>,
        file: &crate::static_files::OpenFile,
        offset: u64,
        len: u64,
    ) -> io::Result<u64> {
        let sock = &self.sock;
        crate::static_files::send_head_and_file(&self.stream, head, file, offset, len, &|| {
            sock.touch()
        })
        .await
    }

    /// Sends `len` bytes of `file` from `offset`, zero-copy.
    pub async fn send_file(
        &self,
        file: &crate::static_files::OpenFile,
        offset: u64,
        len: u64,
    ) -> io::Result<u64> {
        let sock = &self.sock;
        crate::static_files::send_file(&self.stream, file, offset, len, &|| sock.touch()).await
    }

    /// Prepares the close after a response the way the original does (HTTP-20): one last
    /// small read so that unread request bytes do not turn the close into a reset. Dropping
    /// the connection then closes it, which sends the FIN (no separate `shutdown`).
    pub fn finish(&mut self) {
        let mut scratch = [0u8; 5];
        let _ = self.stream.try_read(&mut scratch);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The request loop's state is what every idle keep-alive connection costs (with tokio's
    /// task header around it): it must hold the connection once, not once per `async fn`
    /// layer.
    #[test]
    fn an_idle_connection_state_stays_small() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(async {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind");
            let addr = listener.local_addr().expect("addr");
            let _client = tokio::net::TcpStream::connect(addr).await.expect("connect");
            let (stream, peer) = listener.accept().await.expect("accept");
            let service: Arc<str> = Arc::from("web");
            let accepted = Accepted {
                stream,
                peer,
                local_port: addr.port(),
            };
            let conn = ClientConn::new(accepted, SockClass::ClientHttp, &service);
            let conn_size = std::mem::size_of::<ClientConn>();
            fn resume(_: ClientConn, _: Arc<str>, _: LoopStart) {}
            let looped = serve_requests(conn, service, LoopStart::NEW, resume, async |_, _| None);
            let size = std::mem::size_of_val(&looped);
            assert!(
                size <= conn_size + 80,
                "request loop state is {size} bytes for a {conn_size}-byte connection"
            );
        });
    }
}
