//! ClientManage: the `management` role's connections (MGMT-1..6).
//!
//! A connection starts in line mode: each line is one command of the command language, run with
//! a per-connection context in verbose mode, its output written back with CRLF line ends. If the
//! bytes received so far start with `GET `, `HEAD ` or `POST `, the connection instead answers
//! one HTTP request with a small HTML page and closes (see [`pages`]).
//!
//! ```text
//!   accept ──► line mode ──(line)──► run command ──► write output ──┐
//!                 ▲  │                                              │
//!                 │  └─(GET/HEAD/POST prefix)──► http page ──► close │
//!                 └───────────────────────────────────────────────┘
//! ```

pub mod pages;

use std::os::fd::AsRawFd;
use std::sync::Arc;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::control::{self, CommandContext};
use crate::registry::{registry, SockClass, SockInfo, SockState};

/// A command line longer than this is refused instead of buffered without end.
const MAX_LINE_BYTES: usize = 64 * 1024;
/// Bytes asked for per read, as the original does.
const READ_CHUNK: usize = 1024;

/// Serves one management connection until the peer leaves or asks to quit.
pub async fn serve(accepted: crate::listener::Accepted, service: Arc<str>) {
    let crate::listener::Accepted {
        mut stream,
        peer,
        local_port,
    } = accepted;
    let registration = registry().register(
        SockInfo {
            fd: stream.as_raw_fd(),
            class: SockClass::ClientManage,
            peer: Some(peer),
            local_port,
            service: Some(service),
            detail: String::new(),
        },
        SockState::None,
    );
    let mut ctx = CommandContext::management();
    let mut buf: Vec<u8> = Vec::new();
    let mut chunk = [0u8; READ_CHUNK];
    loop {
        let n = match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        buf.extend_from_slice(&chunk[..n]);
        let _span = crate::profiling::span("Perlbal::ClientManage-read");
        if pages::is_http_request(&buf) {
            registration.count_request();
            pages::serve_http(&mut stream, buf).await;
            return;
        }
        match run_lines(&mut stream, &mut buf, &mut ctx).await {
            LineOutcome::Continue => {}
            LineOutcome::Close => return,
        }
        if buf.len() > MAX_LINE_BYTES {
            buf.clear();
            if stream
                .write_all(b"ERROR: command line too long\r\n")
                .await
                .is_err()
            {
                return;
            }
        }
    }
}

enum LineOutcome {
    Continue,
    Close,
}

/// Runs every complete line in `buf`, leaving a partial last line in place.
async fn run_lines(
    stream: &mut TcpStream,
    buf: &mut Vec<u8>,
    ctx: &mut CommandContext,
) -> LineOutcome {
    let mut start = 0;
    while let Some(pos) = memchr::memchr(b'\n', &buf[start..]) {
        let end = start + pos;
        let mut line = &buf[start..end];
        if line.last() == Some(&b'\r') {
            line = &line[..line.len() - 1];
        }
        let line = String::from_utf8_lossy(line).into_owned();
        start = end + 1;
        if is_quit(&line) {
            return LineOutcome::Close;
        }
        let lines = control::execute(&line, ctx).await;
        if lines.is_empty() {
            continue;
        }
        let mut out = String::with_capacity(lines.iter().map(|l| l.len() + 2).sum());
        for l in &lines {
            out.push_str(l);
            out.push_str("\r\n");
        }
        if stream.write_all(out.as_bytes()).await.is_err() {
            return LineOutcome::Close;
        }
    }
    buf.drain(..start);
    LineOutcome::Continue
}

/// The original's quit test, `^quit|exit$` — an unanchored alternation (MGMT-3): a line that
/// starts with `quit` or ends with `exit` closes the connection.
fn is_quit(line: &str) -> bool {
    line.starts_with("quit") || line.ends_with("exit")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quit_rule_is_the_unanchored_alternation_mgmt_3() {
        assert!(is_quit("quit"));
        assert!(is_quit("quitting"));
        assert!(is_quit("myexit"));
        assert!(is_quit("exit"));
        assert!(!is_quit("  quit  "));
        assert!(!is_quit("exits"));
        assert!(!is_quit("help"));
    }
}
