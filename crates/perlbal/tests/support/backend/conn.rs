//! One test-backend connection: the accept loop, request reading (heads, Content-Length and
//! chunked bodies, measured and checksummed) and the answers of every [`Action`].
use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use super::{upload_summary, Action, Recorded, Shared, Verify, BODY_KEEP, HELLO_BODY};
use crate::support::checksum::Crc32;

/// Largest request head the backend accepts before dropping the connection.
const MAX_HEAD: usize = 1 << 20;
/// Poll interval of blocking reads, so threads notice the backend being dropped.
const POLL: Duration = Duration::from_millis(100);

/// Accepts connections until the backend stops listening; one thread per connection.
pub(super) fn accept_loop(shared: &Arc<Shared>, listener: &TcpListener) {
    for stream in listener.incoming() {
        if !shared.listening.load(Ordering::SeqCst) || shared.stopped() {
            return;
        }
        let Ok(stream) = stream else { continue };
        let conn = {
            let mut st = shared.lock();
            st.accepted += 1;
            st.open += 1;
            st.per_conn.push(0);
            let conn = st.accepted;
            if let Ok(clone) = stream.try_clone() {
                st.streams.insert(conn, clone);
            }
            shared.changed.notify_all();
            conn
        };
        let shared = Arc::clone(shared);
        thread::spawn(move || {
            let mut c = Conn {
                stream,
                buf: Vec::new(),
                shared: &shared,
                conn,
                head_only: false,
            };
            let end = c.serve();
            shared.lock().streams.remove(&conn);
            if end == After::Close {
                let _ = c.stream.shutdown(Shutdown::Both);
            }
            // Dropping the last handle closes the socket (with RST after `Action::Reset`).
            drop(c);
            let mut st = shared.lock();
            st.open -= 1;
            shared.changed.notify_all();
        });
    }
}

/// What to do with the connection after an answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum After {
    /// Read the next request.
    Next,
    /// Close with a FIN.
    Close,
    /// Close with a RST (SO_LINGER 0 is set).
    Reset,
}

/// One backend connection: a read buffer over a socket.
struct Conn<'a> {
    stream: TcpStream,
    buf: Vec<u8>,
    shared: &'a Shared,
    conn: usize,
    /// The current request is a HEAD: answers carry no body.
    head_only: bool,
}

/// Result of reading one chunk.
enum Fill {
    Data,
    Eof,
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

impl Conn<'_> {
    /// Serves requests until the connection ends; says how to close it.
    fn serve(&mut self) -> After {
        let _ = self.stream.set_read_timeout(Some(POLL));
        let _ = self.stream.set_write_timeout(Some(Duration::from_secs(30)));
        let mut seq = 0;
        loop {
            let Some(head) = self.read_head() else {
                return After::Close;
            };
            seq += 1;
            let mut rec = parse_head(self.conn, seq, head);
            // Recorded as soon as the head is in, so a body that never comes still shows.
            let index = self.shared.record(rec.clone());
            let complete = self.read_body(&mut rec);
            self.shared.update(index, rec.clone());
            if !complete {
                return After::Close;
            }
            self.head_only = rec.method() == "HEAD";
            let after = if rec.method() == "OPTIONS" {
                self.answer_verify()
            } else {
                let keep = self.shared.opts.keep_alive && wants_keep_alive(&rec);
                let action = self.shared.action_for(rec.target());
                self.perform(&action, &rec, keep)
            };
            if after != After::Next {
                return after;
            }
        }
    }

    /// Reads once into the buffer, polling the stop flag.
    fn fill(&mut self) -> Fill {
        let mut chunk = [0u8; 65536];
        loop {
            if self.shared.stopped() {
                return Fill::Eof;
            }
            match self.stream.read(&mut chunk) {
                Ok(0) => return Fill::Eof,
                Ok(n) => {
                    self.buf.extend_from_slice(&chunk[..n]);
                    return Fill::Data;
                }
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(_) => return Fill::Eof,
            }
        }
    }

    /// The next request head (through CRLFCRLF), or `None` on EOF / oversized head.
    fn read_head(&mut self) -> Option<Vec<u8>> {
        loop {
            if let Some(pos) = find(&self.buf, b"\r\n\r\n") {
                return Some(self.buf.drain(..pos + 4).collect());
            }
            if self.buf.len() > MAX_HEAD {
                return None;
            }
            if let Fill::Eof = self.fill() {
                return None;
            }
        }
    }

    /// Reads the body `rec`'s head announces into `rec`; false if it did not arrive whole.
    fn read_body(&mut self, rec: &mut Recorded) -> bool {
        let chunked = rec
            .header("Transfer-Encoding")
            .is_some_and(|v| v.eq_ignore_ascii_case("chunked"));
        let mut body = Body::default();
        let complete = if chunked {
            rec.chunked = true;
            self.read_chunked(&mut body)
        } else {
            let len = rec
                .header("Content-Length")
                .and_then(|v| v.trim().parse::<u64>().ok())
                .unwrap_or(0);
            self.read_sized(len, &mut body)
        };
        rec.body = body.kept;
        rec.body_len = body.len;
        rec.body_crc32 = body.crc.finish();
        rec.body_complete = complete;
        complete
    }

    /// Reads `len` body bytes into `body`; false if the connection ended first.
    fn read_sized(&mut self, len: u64, body: &mut Body) -> bool {
        let mut left = len;
        while left > 0 {
            if self.buf.is_empty() {
                if let Fill::Eof = self.fill() {
                    return false;
                }
            }
            let take = usize::try_from(left)
                .unwrap_or(usize::MAX)
                .min(self.buf.len());
            body.push(&self.buf[..take]);
            self.buf.drain(..take);
            left -= take as u64;
        }
        true
    }

    /// The next CRLF-terminated line (without CRLF), or `None` on EOF.
    fn read_line(&mut self) -> Option<Vec<u8>> {
        loop {
            if let Some(pos) = find(&self.buf, b"\r\n") {
                let line = self.buf[..pos].to_vec();
                self.buf.drain(..pos + 2);
                return Some(line);
            }
            if self.buf.len() > MAX_HEAD {
                return None;
            }
            if let Fill::Eof = self.fill() {
                return None;
            }
        }
    }

    /// Decodes a chunked body (trailers skipped); false on EOF or bad framing.
    fn read_chunked(&mut self, body: &mut Body) -> bool {
        loop {
            let Some(line) = self.read_line() else {
                return false;
            };
            let text = String::from_utf8_lossy(&line);
            let size_text = text.split(';').next().unwrap_or("").trim();
            let Ok(size) = u64::from_str_radix(size_text, 16) else {
                return false;
            };
            if size == 0 {
                // Trailer lines up to the blank line.
                loop {
                    match self.read_line() {
                        Some(l) if l.is_empty() => return true,
                        Some(_) => {}
                        None => return false,
                    }
                }
            }
            if !self.read_sized(size, body) {
                return false;
            }
            match self.read_line() {
                Some(l) if l.is_empty() => {}
                _ => return false,
            }
        }
    }

    fn send(&mut self, bytes: &[u8]) -> bool {
        self.stream.write_all(bytes).is_ok()
    }

    fn answer_verify(&mut self) -> After {
        let opts = self.shared.opts.clone();
        if !self.sleep(opts.verify_delay) {
            return After::Close;
        }
        match opts.verify {
            Verify::KeepAlive => {
                let ok = self.send(
                    b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n",
                );
                if ok {
                    After::Next
                } else {
                    After::Close
                }
            }
            Verify::NoKeepAlive => {
                self.send(b"HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n");
                After::Close
            }
        }
    }

    /// Sleeps `d` unless the backend stops first; false if it stopped.
    fn sleep(&self, d: Duration) -> bool {
        let deadline = Instant::now() + d;
        while Instant::now() < deadline {
            if self.shared.stopped() {
                return false;
            }
            thread::sleep(POLL.min(deadline.saturating_duration_since(Instant::now())));
        }
        !self.shared.stopped()
    }

    /// Status line + headers (+ Connection for keep-alive) + blank line + body (none for HEAD).
    fn respond(
        &mut self,
        code: u16,
        reason: &str,
        extra: &[&str],
        body: &[u8],
        keep: bool,
    ) -> After {
        let version = if self.shared.opts.http11 {
            "1.1"
        } else {
            "1.0"
        };
        let mut out = format!("HTTP/{version} {code} {reason}\r\n");
        for h in extra {
            out.push_str(h);
            out.push_str("\r\n");
        }
        let bodiless = (100..200).contains(&code) || code == 204 || code == 304;
        if !bodiless {
            out.push_str(&format!("Content-Length: {}\r\n", body.len()));
        }
        match (keep, self.shared.opts.http11) {
            (true, false) => out.push_str("Connection: keep-alive\r\n"),
            (false, true) => out.push_str("Connection: close\r\n"),
            _ => {}
        }
        out.push_str("\r\n");
        let mut bytes = out.into_bytes();
        if !bodiless && !self.head_only {
            bytes.extend_from_slice(body);
        }
        if self.send(&bytes) && keep {
            After::Next
        } else {
            After::Close
        }
    }

    fn perform(&mut self, action: &Action, rec: &Recorded, keep: bool) -> After {
        const TEXT: &str = "Content-Type: text/plain";
        match action {
            Action::Echo => {
                let mut body = rec.head.clone().into_bytes();
                body.extend_from_slice(&rec.body);
                self.respond(200, "OK", &[TEXT], &body, keep)
            }
            Action::Hello => self.respond(200, "OK", &[TEXT], HELLO_BODY, keep),
            Action::Status(code, reason) => {
                let phrase = reason.clone().unwrap_or_else(|| phrase(*code).to_string());
                let body = format!("status {code}\n");
                self.respond(*code, &phrase, &[TEXT], body.as_bytes(), keep)
            }
            Action::Delay(d, inner) => {
                if !self.sleep(*d) {
                    return After::Close;
                }
                self.perform(inner, rec, keep)
            }
            Action::Upload => {
                let body = upload_summary(rec.body_len, rec.body_crc32);
                self.respond(200, "OK", &[TEXT], body.as_bytes(), keep)
            }
            Action::Raw { bytes, close } => {
                let ok = self.send(bytes);
                if ok && !close {
                    After::Next
                } else {
                    After::Close
                }
            }
            _ => self.misbehave(action, keep),
        }
    }

    /// The answers that break HTTP framing or the connection.
    fn misbehave(&mut self, action: &Action, keep: bool) -> After {
        let http11 = self.shared.opts.http11;
        let version = if http11 { "1.1" } else { "1.0" };
        match action {
            Action::NoLength => {
                let close = if http11 { "Connection: close\r\n" } else { "" };
                let bytes = format!(
                    "HTTP/{version} 200 OK\r\nContent-Type: text/plain\r\n{close}\r\nbody without length\n"
                );
                self.send(bytes.as_bytes());
                After::Close
            }
            Action::Chunked => {
                self.send(
                    b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\
                      Content-Length: 99\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n",
                );
                After::Close
            }
            Action::CloseMidBody { promised, sent } => {
                let conn = if keep && !http11 {
                    "Connection: keep-alive\r\n"
                } else {
                    ""
                };
                let mut bytes = format!(
                    "HTTP/{version} 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {promised}\r\n{conn}\r\n"
                )
                .into_bytes();
                bytes.extend((0..*sent).map(|i| b'1' + (i % 9) as u8));
                self.send(&bytes);
                let _ = self.stream.flush();
                After::Close
            }
            Action::Reset => {
                let _ = socket2::SockRef::from(&self.stream).set_linger(Some(Duration::ZERO));
                After::Reset
            }
            Action::SleepForever => {
                self.buf.clear();
                while let Fill::Data = self.fill() {
                    self.buf.clear();
                }
                After::Close
            }
            // CloseBeforeHeaders, and the well-behaved actions `perform` handles itself.
            _ => After::Close,
        }
    }
}

/// A request's head parsed into a [`Recorded`] whose body is still to come.
fn parse_head(conn: usize, seq: usize, head: Vec<u8>) -> Recorded {
    let head = String::from_utf8_lossy(&head).into_owned();
    let headers: Vec<(String, String)> = head
        .trim_end_matches("\r\n")
        .split("\r\n")
        .skip(1)
        .map(|l| match l.split_once(':') {
            Some((n, v)) => (n.to_string(), v.trim_start().to_string()),
            None => (l.to_string(), String::new()),
        })
        .collect();
    Recorded {
        conn,
        seq,
        head,
        headers,
        body: Vec::new(),
        body_len: 0,
        body_crc32: 0,
        body_complete: false,
        chunked: false,
        at: Instant::now(),
    }
}

/// A request body being received: length, CRC-32 and the first [`BODY_KEEP`] bytes.
#[derive(Default)]
struct Body {
    kept: Vec<u8>,
    len: u64,
    crc: Crc32,
}

impl Body {
    fn push(&mut self, bytes: &[u8]) {
        self.len += bytes.len() as u64;
        self.crc.update(bytes);
        let room = BODY_KEEP.saturating_sub(self.kept.len());
        self.kept.extend_from_slice(&bytes[..room.min(bytes.len())]);
    }
}

/// HTTP/1.0 wants `Connection: keep-alive`; HTTP/1.1 keeps alive unless `Connection: close`.
fn wants_keep_alive(rec: &Recorded) -> bool {
    let tokens = rec.header("Connection").unwrap_or("").to_ascii_lowercase();
    let has = |t: &str| tokens.split(',').any(|x| x.trim() == t);
    if rec.version() == "HTTP/1.1" {
        !has("close")
    } else {
        has("keep-alive")
    }
}

/// Reason phrases of the backend's own answers.
pub fn phrase(code: u16) -> &'static str {
    match code {
        200 => "OK",
        201 => "Created",
        204 => "No Content",
        301 => "Moved Permanently",
        302 => "Found",
        304 => "Not Modified",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Whatever",
    }
}
