//! Upload progress (UPT-1..4): a reverse_proxy with `upload_status_listeners` reports, at most
//! once a second, how much of a tagged upload it has read, as UDP datagrams
//! `UPLOAD:<session>:<done>:<total>:<request start>:<now>`; an `upload_tracker` service
//! receives them; and `GET /__upload_status?client_up_sess=<session>` on the proxy answers
//! from what the tracker of this process knows (UPT-3, UPT-4).
//!
//! An upload is tagged by `client_up_sess=<5-50 word characters>` in its URI.

use std::collections::{HashMap, VecDeque};
use std::io;
use std::net::{SocketAddr, SocketAddrV4, UdpSocket};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::Duration;

use crate::registry::{registry, unix_now, SockClass, SockHandle, SockInfo, SockState};

/// Sessions not updated for this long are forgotten (UPT-2).
const FORGET_AFTER_SECONDS: u64 = 4;
/// Largest datagram read (UPT-2).
const MAX_DATAGRAM: usize = 500;
const RECEIVE_TIMEOUT: Duration = Duration::from_millis(500);

/// The upload session a request URI names: `[?&]client_up_sess=(\w{5,50})\b`.
pub fn session_of(uri: &[u8]) -> Option<&str> {
    let text = std::str::from_utf8(uri).ok()?;
    let key = "client_up_sess=";
    let mut from = 0;
    while let Some(at) = text[from..].find(key) {
        let start = from + at;
        from = start + key.len();
        let preceded = start > 0 && matches!(text.as_bytes()[start - 1], b'?' | b'&');
        if !preceded {
            continue;
        }
        let rest = &text[from..];
        let len = rest
            .bytes()
            .take_while(|b| b.is_ascii_alphanumeric() || *b == b'_')
            .count();
        // `\w{5,50}\b`: a run longer than 50 has no word boundary after 50 characters.
        if (5..=50).contains(&len) {
            return Some(&rest[..len]);
        }
    }
    None
}

/// The progress of one upload, as last reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    pub done: u64,
    pub total: u64,
    pub starttime: u64,
    lasttouch: u64,
}

/// Parses `UPLOAD:<session>:<done>:<total>:<start>:<now>` (UPT-2).
fn parse_packet(datagram: &[u8]) -> Option<(String, Progress)> {
    let text = std::str::from_utf8(datagram).ok()?;
    let mut fields = text.strip_prefix("UPLOAD:")?.split(':');
    let session = fields.next()?;
    let word = |s: &str| s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if !(5..=50).contains(&session.len()) || !word(session) {
        return None;
    }
    let mut number = || -> Option<u64> {
        let field = fields.next()?;
        if field.is_empty() || !field.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        field.parse().ok()
    };
    let (done, total, starttime, _sent) = (number()?, number()?, number()?, number()?);
    if fields.next().is_some() {
        return None;
    }
    Some((
        session.to_string(),
        Progress {
            done,
            total,
            starttime,
            lasttouch: 0,
        },
    ))
}

#[derive(Default)]
struct Sessions {
    status: HashMap<String, Progress>,
    /// `(touched, session)` in arrival order, for forgetting stale sessions lazily.
    touched: VecDeque<(u64, String)>,
}

fn sessions() -> MutexGuard<'static, Sessions> {
    static SESSIONS: OnceLock<Mutex<Sessions>> = OnceLock::new();
    SESSIONS
        .get_or_init(Mutex::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner())
}

fn record(session: String, mut progress: Progress) {
    let now = unix_now();
    progress.lasttouch = now;
    let mut s = sessions();
    s.status.insert(session.clone(), progress);
    s.touched.push_back((now, session));
    let too_old = now.saturating_sub(FORGET_AFTER_SECONDS);
    while s.touched.front().is_some_and(|(t, _)| *t < too_old) {
        if let Some((_, stale)) = s.touched.pop_front() {
            if s.status.get(&stale).is_some_and(|p| p.lasttouch < too_old) {
                s.status.remove(&stale);
            }
        }
    }
}

/// The `/__upload_status` body for `session` (UPT-3): `{done:…,total:…,starttime:…,nowtime:…}`
/// or `{}` — the original's not-quite-JSON.
pub fn status_body(session: &str) -> String {
    match sessions().status.get(session) {
        Some(p) => format!(
            "{{done:{},total:{},starttime:{},nowtime:{}}}",
            p.done,
            p.total,
            p.starttime,
            unix_now()
        ),
        None => "{}".to_string(),
    }
}

/// An `upload_tracker` service's UDP socket (UPT-2).
#[derive(Debug)]
pub struct UploadListener {
    stop: Arc<AtomicBool>,
    _registration: SockHandle,
}

impl UploadListener {
    /// Binds `listen` (`ip:port`) for `service` and starts recording reports.
    pub fn bind(listen: &str, service: &str) -> Result<UploadListener, String> {
        let addr: SocketAddr = crate::listener::parse_listen(listen)
            .ok_or_else(|| "Error creating listening socket: invalid address".to_string())?;
        let socket = UdpSocket::bind(addr).map_err(|e| {
            format!(
                "Error creating listening socket: IO::Socket::INET: {}",
                crate::listener::os_error_text(&e)
            )
        })?;
        socket
            .set_read_timeout(Some(RECEIVE_TIMEOUT))
            .map_err(|e| e.to_string())?;
        let registration = registry().register(
            SockInfo {
                fd: socket.as_raw_fd(),
                class: SockClass::UploadListener,
                peer: None,
                local_port: addr.port(),
                service: Some(Arc::from(service)),
                detail: format!("listening on {listen} for service '{service}'"),
            },
            SockState::None,
        );
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = Arc::clone(&stop);
        std::thread::Builder::new()
            .name(format!("perlbal-upload-{service}"))
            .spawn(move || receive(&socket, &stopped))
            .map_err(|e| e.to_string())?;
        Ok(UploadListener {
            stop,
            _registration: registration,
        })
    }
}

impl Drop for UploadListener {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

fn receive(socket: &UdpSocket, stop: &AtomicBool) {
    let mut buf = [0u8; MAX_DATAGRAM];
    while !stop.load(Ordering::Relaxed) {
        match socket.recv_from(&mut buf) {
            Ok((n, _)) => {
                if let Some((session, progress)) = parse_packet(&buf[..n]) {
                    record(session, progress);
                }
            }
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) => {}
            Err(_) => return,
        }
    }
}

/// Reports the progress of one tagged upload to the service's listeners (UPT-1).
#[derive(Debug)]
pub struct UploadReporter {
    session: String,
    listeners: Vec<SocketAddrV4>,
    total: u64,
    started: u64,
    done: u64,
    last_sent: u64,
}

impl UploadReporter {
    pub fn new(session: &str, listeners: &[SocketAddrV4], total: u64, started: u64) -> Self {
        UploadReporter {
            session: session.to_string(),
            listeners: listeners.to_vec(),
            total,
            started,
            done: 0,
            last_sent: 0,
        }
    }

    /// `n` more body bytes were read; reports at most once a second while bytes remain.
    pub fn advance(&mut self, n: u64) {
        self.done += n;
        let now = unix_now();
        if self.total == 0 || self.done >= self.total || now == self.last_sent {
            return;
        }
        self.last_sent = now;
        let packet = format!(
            "UPLOAD:{}:{}:{}:{}:{now}",
            self.session, self.done, self.total, self.started
        );
        let Some(socket) = sender() else {
            return;
        };
        for listener in &self.listeners {
            let _ = socket.send_to(packet.as_bytes(), listener);
        }
    }
}

/// The process's unbound UDP socket for progress reports.
fn sender() -> Option<&'static UdpSocket> {
    static SENDER: OnceLock<Option<UdpSocket>> = OnceLock::new();
    SENDER
        .get_or_init(|| {
            let socket = UdpSocket::bind("0.0.0.0:0").ok()?;
            socket.set_nonblocking(true).ok()?;
            Some(socket)
        })
        .as_ref()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_are_found_after_query_separators_upt_1() {
        assert_eq!(session_of(b"/up?client_up_sess=abcde"), Some("abcde"));
        assert_eq!(
            session_of(b"/up?x=1&client_up_sess=abc_12345&y"),
            Some("abc_12345")
        );
        assert_eq!(session_of(b"/up?client_up_sess=abcd"), None, "too short");
        assert_eq!(
            session_of(b"/upclient_up_sess=abcdef"),
            None,
            "no ? or & before"
        );
        let long = format!("/up?client_up_sess={}", "a".repeat(51));
        assert_eq!(session_of(long.as_bytes()), None, "no boundary after 50");
    }

    #[test]
    fn packets_parse_strictly_upt_2() {
        let (session, p) = parse_packet(b"UPLOAD:abcdef:200:1000:1795614912:1795614913")
            .unwrap_or_else(|| panic!("valid packet"));
        assert_eq!(
            (session.as_str(), p.done, p.total, p.starttime),
            ("abcdef", 200, 1000, 1795614912)
        );
        assert!(parse_packet(b"UPLOAD:abc:1:2:3:4").is_none());
        assert!(parse_packet(b"UPLOAD:abcdef:1:2:3").is_none());
        assert!(parse_packet(b"UPLOAD:abcdef:1:2:3:4:5").is_none());
        assert!(parse_packet(b"UPLOAD:abcdef:-1:2:3:4").is_none());
    }

    #[test]
    fn status_body_is_the_originals_format_upt_3() {
        assert_eq!(status_body("nosuchsession"), "{}");
        record(
            "sessionx".into(),
            Progress {
                done: 5,
                total: 10,
                starttime: 100,
                lasttouch: 0,
            },
        );
        let body = status_body("sessionx");
        assert!(
            body.starts_with("{done:5,total:10,starttime:100,nowtime:"),
            "{body}"
        );
    }
}
