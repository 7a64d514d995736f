//! Management-port client (MGMT-1..3, CFG-7): one command line out, the reply lines back.
//!
//! Reply shapes observed on the reference: state-changing commands answer one `OK` line (verbose
//! mode) or one `ERROR: …` line; listings end with a `.` line; `dumpconfig` ends with `OK`; a few
//! commands answer one free-form line (`mime set` → `<ext> set to <type>.`, `xs disable` →
//! `Module disabled.`). Lines end with CRLF; a multi-line exception keeps its inner bare LF, so a
//! "line" here is everything up to CRLF.
use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use super::http::{fetch, Response, IO_TIMEOUT};

/// A line-mode management connection.
#[derive(Debug)]
pub struct Mgmt {
    stream: TcpStream,
    buf: Vec<u8>,
    eof: bool,
}

/// True for a line that ends a reply in [`Mgmt::command`].
fn is_terminator(line: &str) -> bool {
    line == "." || line == "OK" || line.starts_with("ERROR:")
}

impl Mgmt {
    #[track_caller]
    pub fn connect(port: u16) -> Mgmt {
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let stream = TcpStream::connect_timeout(&addr, IO_TIMEOUT)
            .unwrap_or_else(|e| panic!("connecting to management port {port}: {e}"));
        stream
            .set_write_timeout(Some(IO_TIMEOUT))
            .expect("set_write_timeout");
        Mgmt {
            stream,
            buf: Vec::new(),
            eof: false,
        }
    }

    /// Sends raw bytes as they are.
    #[track_caller]
    pub fn send_raw(&mut self, bytes: &[u8]) {
        self.stream
            .write_all(bytes)
            .unwrap_or_else(|e| panic!("writing to management port: {e}"));
    }

    /// Sends `line` + CRLF.
    #[track_caller]
    pub fn send_line(&mut self, line: &str) {
        self.send_raw(format!("{line}\r\n").as_bytes());
    }

    fn fill(&mut self, deadline: Instant) -> bool {
        let now = Instant::now();
        if self.eof || now >= deadline {
            return false;
        }
        let _ = self.stream.set_read_timeout(Some(deadline - now));
        let mut chunk = [0u8; 65536];
        match self.stream.read(&mut chunk) {
            Ok(0) => {
                self.eof = true;
                false
            }
            Ok(n) => {
                self.buf.extend_from_slice(&chunk[..n]);
                true
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => false,
            Err(e) if e.kind() == ErrorKind::Interrupted => true,
            Err(_) => {
                self.eof = true;
                false
            }
        }
    }

    /// Next CRLF-terminated line within `timeout`; `None` on EOF or timeout.
    pub fn read_line_within(&mut self, timeout: Duration) -> Option<String> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(pos) = self.buf.windows(2).position(|w| w == b"\r\n") {
                let line = String::from_utf8_lossy(&self.buf[..pos]).into_owned();
                self.buf.drain(..pos + 2);
                return Some(line);
            }
            if !self.fill(deadline) && (self.eof || Instant::now() >= deadline) {
                return None;
            }
        }
    }

    /// Next line; panics on EOF or after [`IO_TIMEOUT`].
    #[track_caller]
    pub fn read_line(&mut self) -> String {
        match self.read_line_within(IO_TIMEOUT) {
            Some(line) => line,
            None => panic!(
                "management port: no complete line (eof={}); pending {:?}",
                self.eof,
                String::from_utf8_lossy(&self.buf)
            ),
        }
    }

    /// Sends a command and reads reply lines up to and including the first terminator line
    /// (`.`, `OK` or `ERROR: …`).
    #[track_caller]
    pub fn command(&mut self, line: &str) -> Vec<String> {
        self.send_line(line);
        let mut lines = Vec::new();
        loop {
            let l = self.read_line();
            let done = is_terminator(&l);
            lines.push(l);
            if done {
                return lines;
            }
        }
    }

    /// Sends a listing command and returns its lines without the final `.`; panics on an
    /// `ERROR` or `OK` reply.
    #[track_caller]
    pub fn listing(&mut self, line: &str) -> Vec<String> {
        let mut lines = self.command(line);
        match lines.last().map(String::as_str) {
            Some(".") => {
                lines.pop();
                lines
            }
            _ => panic!("`{line}`: expected a listing ending in `.`, got {lines:?}"),
        }
    }

    /// Sends a command and returns exactly one reply line.
    #[track_caller]
    pub fn one_line(&mut self, line: &str) -> String {
        self.send_line(line);
        self.read_line()
    }

    /// Asserts the command answers exactly `OK`.
    #[track_caller]
    pub fn ok(&mut self, line: &str) {
        let reply = self.command(line);
        assert_eq!(reply, vec!["OK".to_string()], "reply to `{line}`");
    }

    /// Asserts the command answers exactly `expected` (one line, e.g. `ERROR: …`).
    #[track_caller]
    pub fn expect(&mut self, line: &str, expected: &str) {
        let reply = self.one_line(line);
        assert_eq!(reply, expected, "reply to `{line}`");
    }

    /// Asserts no more bytes arrive within `during` (catches stray extra reply lines).
    #[track_caller]
    pub fn assert_quiet(&mut self, during: Duration) {
        let deadline = Instant::now() + during;
        while self.fill(deadline) {}
        assert!(
            self.buf.is_empty(),
            "unexpected extra management output: {:?}",
            String::from_utf8_lossy(&self.buf)
        );
    }

    /// Asserts the server closes this connection within `within` (any bytes before are returned).
    #[track_caller]
    pub fn read_to_close(&mut self, within: Duration) -> Vec<u8> {
        let deadline = Instant::now() + within;
        while !self.eof && Instant::now() < deadline {
            self.fill(deadline);
        }
        assert!(
            self.eof,
            "management connection still open after {within:?}"
        );
        std::mem::take(&mut self.buf)
    }

    /// Sends a command and a `version` probe, returning the lines before the probe's reply. For
    /// replies of unknown shape; the probe's `version 1.80` + `.` lines end the read.
    #[track_caller]
    pub fn command_any(&mut self, line: &str) -> Vec<String> {
        self.send_line(line);
        self.send_line("version");
        let mut lines = Vec::new();
        loop {
            let l = self.read_line();
            if l.starts_with("starttime ") {
                let uptime = self.read_line();
                let version = self.read_line();
                let dot = self.read_line();
                assert!(uptime.starts_with("uptime ") && version.starts_with("version "));
                assert_eq!(dot, ".");
                return lines;
            }
            lines.push(l);
        }
    }
}

/// An HTTP request to the management port (MGMT-2, MGMT-4/5); the connection is closed after.
#[track_caller]
pub fn mgmt_http(port: u16, request: &str) -> Response {
    fetch(port, request)
}
