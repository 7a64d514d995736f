//! Raw HTTP over real sockets: a client that sends exact bytes and parses what comes back (status
//! line, headers in order, Content-Length body), with every read bounded by a timeout.
use std::fmt;
use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use super::text::is_http_date;

/// Default bound for any single wait on a socket.
pub const IO_TIMEOUT: Duration = Duration::from_secs(5);

/// One parsed HTTP response.
#[derive(Clone, PartialEq, Eq)]
pub struct Response {
    /// The status line without CRLF, e.g. `HTTP/1.0 200 OK`.
    pub status_line: String,
    /// Header fields in wire order, name spelling kept; the value is what follows `": "` (a
    /// missing or extra space after the colon shows in the value).
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl fmt::Debug for Response {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.normalized())
    }
}

impl Response {
    /// Parses a response head (`bytes` must contain the full head). Returns the response with an
    /// empty body and the head length.
    pub fn parse_head(bytes: &[u8]) -> Option<(Response, usize)> {
        let end = find(bytes, b"\r\n\r\n")? + 4;
        let head = String::from_utf8_lossy(&bytes[..end - 4]).into_owned();
        let mut lines = head.split("\r\n");
        let status_line = lines.next()?.to_string();
        let headers = lines
            .map(|l| match l.split_once(':') {
                // Exactly one space after the colon is the format; anything else stays visible.
                Some((n, v)) => (n.to_string(), v.strip_prefix(' ').unwrap_or(v).to_string()),
                None => (l.to_string(), String::new()),
            })
            .collect();
        Some((
            Response {
                status_line,
                headers,
                body: Vec::new(),
            },
            end,
        ))
    }

    /// The status code (0 if the status line is malformed).
    pub fn status(&self) -> u16 {
        self.status_line
            .split(' ')
            .nth(1)
            .and_then(|c| c.parse().ok())
            .unwrap_or(0)
    }

    /// First value of a header, name matched case-insensitively.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.trim_start())
    }

    pub fn header_names(&self) -> Vec<&str> {
        self.headers.iter().map(|(n, _)| n.as_str()).collect()
    }

    pub fn content_length(&self) -> Option<usize> {
        self.header("Content-Length")
            .and_then(|v| v.trim().parse().ok())
    }

    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// True if the server said it keeps the connection open.
    pub fn keeps_alive(&self) -> bool {
        self.header("Connection")
            .is_some_and(|v| v.eq_ignore_ascii_case("keep-alive"))
    }

    /// Status line and headers joined with CRLF (final blank line included), `Date:` values that
    /// are well-formed HTTP dates replaced by `<date>`.
    pub fn normalized_head(&self) -> String {
        let mut out = format!("{}\r\n", self.status_line);
        for (name, value) in &self.headers {
            let value = if name.eq_ignore_ascii_case("Date") && is_http_date(value) {
                "<date>"
            } else {
                value.as_str()
            };
            out.push_str(&format!("{name}: {value}\r\n"));
        }
        out.push_str("\r\n");
        out
    }

    /// [`normalized_head`](Self::normalized_head) followed by the body (lossy UTF-8).
    pub fn normalized(&self) -> String {
        format!("{}{}", self.normalized_head(), self.body_text())
    }

    /// Asserts the exact status line, headers (in order; `<date>` stands for a valid Date) and
    /// body. `head` lists the status line and header lines without line ends.
    #[track_caller]
    pub fn assert_exact(&self, head: &[&str], body: &[u8]) {
        let mut expected = String::new();
        for line in head {
            expected.push_str(line);
            expected.push_str("\r\n");
        }
        expected.push_str("\r\n");
        assert_eq!(
            self.normalized_head(),
            expected,
            "response head differs (left: got, right: expected); body was {:?}",
            self.body_text()
        );
        assert_eq!(
            String::from_utf8_lossy(&self.body),
            String::from_utf8_lossy(body),
            "response body differs for {}",
            self.status_line
        );
    }

    /// Asserts a Perlbal-generated page (HTTP-11): `HTTP/1.0 <status>`, `Content-Type: text/html`,
    /// `Content-Length`, `Server: Perlbal`, `Connection: close`, body `<h1>…</h1>\n<message>`.
    #[track_caller]
    pub fn assert_generated_close(&self, status_line: &str, body: &str) {
        let len = format!("Content-Length: {}", body.len());
        self.assert_exact(
            &[
                status_line,
                "Content-Type: text/html",
                &len,
                "Server: Perlbal",
                "Connection: close",
            ],
            body.as_bytes(),
        );
    }
}

/// The body of a generated page: `<h1>CODE - Reason</h1>\n` + message.
pub fn page(code_reason: &str, message: &str) -> String {
    format!("<h1>{code_reason}</h1>\n{message}")
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// How a connection ended while we waited on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum End {
    /// Orderly close (EOF).
    Closed,
    /// Connection reset by the peer.
    Reset,
    /// Still open when the wait ended.
    Open,
}

/// A raw client connection with a read buffer.
#[derive(Debug)]
pub struct Client {
    stream: TcpStream,
    buf: Vec<u8>,
    end: Option<End>,
}

impl Client {
    /// Connects to 127.0.0.1:`port` (panics on failure).
    #[track_caller]
    pub fn connect(port: u16) -> Client {
        Client::try_connect(port).unwrap_or_else(|e| panic!("connecting to 127.0.0.1:{port}: {e}"))
    }

    pub fn try_connect(port: u16) -> std::io::Result<Client> {
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let stream = TcpStream::connect_timeout(&addr, IO_TIMEOUT)?;
        stream.set_write_timeout(Some(IO_TIMEOUT))?;
        Ok(Client {
            stream,
            buf: Vec::new(),
            end: None,
        })
    }

    /// The client side's port, as the server lists the connection (`socks`).
    pub fn local_port(&self) -> u16 {
        self.stream.local_addr().map_or(0, |a| a.port())
    }

    /// Writes all of `bytes` (panics on error).
    #[track_caller]
    pub fn send(&mut self, bytes: impl AsRef<[u8]>) -> &mut Client {
        self.stream
            .write_all(bytes.as_ref())
            .unwrap_or_else(|e| panic!("sending request bytes: {e}"));
        self
    }

    /// Writes, reporting errors (the server may already have closed).
    pub fn try_send(&mut self, bytes: impl AsRef<[u8]>) -> std::io::Result<()> {
        self.stream.write_all(bytes.as_ref())
    }

    /// Half-closes the sending side.
    pub fn shutdown_write(&mut self) {
        let _ = self.stream.shutdown(Shutdown::Write);
    }

    /// Reads once, waiting at most `wait`. Returns the number of new bytes (0 on EOF/timeout).
    fn fill(&mut self, wait: Duration) -> usize {
        if self.end.is_some() {
            return 0;
        }
        let wait = wait.max(Duration::from_millis(1));
        let _ = self.stream.set_read_timeout(Some(wait));
        let mut chunk = [0u8; 65536];
        match self.stream.read(&mut chunk) {
            Ok(0) => {
                self.end = Some(End::Closed);
                0
            }
            Ok(n) => {
                self.buf.extend_from_slice(&chunk[..n]);
                n
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => 0,
            Err(e) if e.kind() == ErrorKind::Interrupted => 0,
            Err(_) => {
                self.end = Some(End::Reset);
                0
            }
        }
    }

    /// Reads until `done(buffer)` holds, EOF/reset, or `timeout`. Returns whether `done` held.
    fn read_until(&mut self, timeout: Duration, done: impl Fn(&[u8]) -> bool) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            if done(&self.buf) {
                return true;
            }
            if self.end.is_some() {
                return false;
            }
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            self.fill(deadline - now);
        }
    }

    /// Reads one complete response for a request of method GET/PUT/… (body by Content-Length;
    /// none for 1xx/204/304; until close if no Content-Length). Panics after [`IO_TIMEOUT`].
    #[track_caller]
    pub fn response(&mut self) -> Response {
        self.try_response(false, IO_TIMEOUT)
            .unwrap_or_else(|why| panic!("{why}"))
    }

    /// Reads one complete response to a HEAD request (no body whatever Content-Length says).
    #[track_caller]
    pub fn head_response(&mut self) -> Response {
        self.try_response(true, IO_TIMEOUT)
            .unwrap_or_else(|why| panic!("{why}"))
    }

    /// Like [`response`](Self::response) but returns a description instead of panicking.
    pub fn try_response(&mut self, head_only: bool, timeout: Duration) -> Result<Response, String> {
        let deadline = Instant::now() + timeout;
        if !self.read_until(timeout, |b| find(b, b"\r\n\r\n").is_some()) {
            return Err(format!(
                "no complete response head within {timeout:?} (connection {:?}); received {:?}",
                self.end.clone().unwrap_or(End::Open),
                String::from_utf8_lossy(&self.buf)
            ));
        }
        let (mut resp, head_len) = Response::parse_head(&self.buf).ok_or("unparsable head")?;
        let status = resp.status();
        let bodiless = head_only || (100..200).contains(&status) || status == 204 || status == 304;
        let body_len = if bodiless {
            Some(0)
        } else {
            resp.content_length()
        };
        match body_len {
            Some(len) => {
                let want = head_len + len;
                let left = deadline.saturating_duration_since(Instant::now());
                if !self.read_until(left, |b| b.len() >= want) {
                    return Err(format!(
                        "body shorter than Content-Length {len} (connection {:?}): {:?}",
                        self.end.clone().unwrap_or(End::Open),
                        String::from_utf8_lossy(&self.buf)
                    ));
                }
                resp.body = self.buf[head_len..want].to_vec();
                self.buf.drain(..want);
            }
            None => {
                let left = deadline.saturating_duration_since(Instant::now());
                self.read_until(left, |_| false);
                if self.end.is_none() {
                    return Err(format!(
                        "response without Content-Length not closed within {timeout:?}"
                    ));
                }
                resp.body = self.buf[head_len..].to_vec();
                self.buf.clear();
            }
        }
        Ok(resp)
    }

    /// Waits up to `within` for the server to close; returns every byte that arrived before.
    /// Panics if the connection is still open then.
    #[track_caller]
    pub fn read_to_close(&mut self, within: Duration) -> Vec<u8> {
        self.read_until(within, |_| false);
        assert!(
            self.end.is_some(),
            "connection still open after {within:?}; received {:?}",
            String::from_utf8_lossy(&self.buf)
        );
        std::mem::take(&mut self.buf)
    }

    /// Asserts the server closes (or resets) the connection within `within` without sending a
    /// single byte.
    #[track_caller]
    pub fn assert_closed_silently(&mut self, within: Duration) {
        let bytes = self.read_to_close(within);
        assert!(
            bytes.is_empty(),
            "expected a close with no response, got {:?}",
            String::from_utf8_lossy(&bytes)
        );
    }

    /// Asserts nothing arrives and the connection stays open for `during`.
    #[track_caller]
    pub fn assert_open_and_quiet(&mut self, during: Duration) {
        self.read_until(during, |b| !b.is_empty());
        assert!(
            self.buf.is_empty() && self.end.is_none(),
            "expected an open, quiet connection; got {:?} / {:?}",
            self.end,
            String::from_utf8_lossy(&self.buf)
        );
    }

    /// Reads whatever arrives within `wait` (stops early on EOF) without consuming the end state.
    pub fn read_for(&mut self, wait: Duration) -> Vec<u8> {
        self.read_until(wait, |_| false);
        std::mem::take(&mut self.buf)
    }

    /// Reads until `n` bytes are buffered (or timeout); returns and consumes them.
    #[track_caller]
    pub fn read_exact_bytes(&mut self, n: usize) -> Vec<u8> {
        let ok = self.read_until(IO_TIMEOUT, |b| b.len() >= n);
        assert!(
            ok,
            "wanted {n} bytes, got {} ({:?})",
            self.buf.len(),
            self.end
        );
        self.buf.drain(..n).collect()
    }

    /// How the connection ended so far (`Open` if no EOF/reset seen yet).
    pub fn end(&self) -> End {
        self.end.clone().unwrap_or(End::Open)
    }

    /// Bytes received but not consumed yet.
    pub fn pending(&self) -> &[u8] {
        &self.buf
    }
}

/// Sends `request` on a new connection to `port` and reads one response (GET-like framing).
#[track_caller]
pub fn fetch(port: u16, request: impl AsRef<[u8]>) -> Response {
    let mut c = Client::connect(port);
    c.send(request);
    c.response()
}

/// `GET <path> HTTP/1.0` with no headers, on a new connection.
#[track_caller]
pub fn get10(port: u16, path: &str) -> Response {
    fetch(port, format!("GET {path} HTTP/1.0\r\n\r\n"))
}

/// True if TCP connections to 127.0.0.1:`port` are refused, polling for up to 1 s: the original
/// closes a listener only at the end of its event-loop iteration, after it has answered `OK`.
pub fn refused(port: u16) -> bool {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let deadline = Instant::now() + Duration::from_secs(1);
    loop {
        match TcpStream::connect_timeout(&addr, Duration::from_secs(1)) {
            Err(e) if e.kind() == ErrorKind::ConnectionRefused => return true,
            _ if Instant::now() >= deadline => return false,
            _ => std::thread::sleep(Duration::from_millis(20)),
        }
    }
}
