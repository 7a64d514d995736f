//! Connection persistence decisions, client side (HTTP-13, HTTP-14, SVC-4, OBS-15) and backend
//! side (RP-7, RP-8).
//!
//! Client side: a response may keep the client connection when the service allows it
//! (`persist_client`, the selector's when routed), the request wants it (HTTP/1.0 needs a
//! `keep-alive` token in `Connection`; any version is refused by a `close` token), the response
//! length is known (`Content-Length` present, 204, 304, or a HEAD request) and the request body
//! was read completely. The outcome is written as `Connection: keep-alive` +
//! `Keep-Alive: timeout=N, max=100` (no `Keep-Alive` when the idle timeout is 0) or
//! `Connection: close` with any `Keep-Alive` removed, replacing headers in place.
//!
//! Tokens are matched like the original's `/\bkeep-alive\b/i`: case-insensitive, delimited by
//! non-word characters, so `x-close` counts as `close` but `closed` does not.

use std::io::Write;

use crate::head::{leading_digits, RequestHead};
use crate::headers::HeaderMap;
use crate::response_head::ResponseHead;

fn is_word_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || byte == b'_'
}

/// Perl's `/\b<word>\b/` (with `/i` when `ignore_case`) for a word that starts and ends with
/// word characters; returns the offset just past the first match.
pub(crate) fn find_word(haystack: &[u8], word: &[u8], ignore_case: bool) -> Option<usize> {
    if word.is_empty() || haystack.len() < word.len() {
        return None;
    }
    (0..=haystack.len() - word.len()).find_map(|at| {
        let end = at + word.len();
        let bounded_before = at == 0 || !is_word_byte(haystack[at - 1]);
        let bounded_after = haystack.get(end).is_none_or(|&b| !is_word_byte(b));
        let candidate = &haystack[at..end];
        let equal = if ignore_case {
            candidate.eq_ignore_ascii_case(word)
        } else {
            candidate == word
        };
        (bounded_before && bounded_after && equal).then_some(end)
    })
}

/// Whether a `Connection`-style value holds `token` as a word.
pub fn has_token(value: &[u8], token: &str) -> bool {
    find_word(value, token.as_bytes(), true).is_some()
}

/// HTTP-13: whether the client asks for a persistent connection.
pub fn request_wants_keep_alive(req: &RequestHead) -> bool {
    let connection = req.headers().get("Connection").unwrap_or_default();
    if req.version_number() < 1001 && !has_token(connection, "keep-alive") {
        return false;
    }
    !has_token(connection, "close")
}

/// HTTP-14: whether the client can tell where the response ends without a close.
pub fn response_length_known(status: u16, has_content_length: bool, request_is_head: bool) -> bool {
    has_content_length || status == 304 || status == 204 || request_is_head
}

/// What to tell the client about the connection after this response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Persistence {
    /// Keep the connection; `idle_timeout` seconds are advertised (0 → no `Keep-Alive` header).
    KeepAlive { idle_timeout: u64 },
    /// Close after the response.
    Close,
}

/// The service settings that enter the client keep-alive decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeepAlivePolicy {
    /// `persist_client` of the service the client connected to (the selector's when routed).
    pub persist_client: bool,
    /// `persist_client_idle_timeout` of the service answering the request (SVC-4).
    pub idle_timeout: u64,
}

impl KeepAlivePolicy {
    /// HTTP-14 for a response with `status`; `body_fully_read` is false while request body
    /// bytes are still unread (proxy, web PUT, or a body the server chose not to read).
    pub fn decide(
        self,
        req: &RequestHead,
        status: u16,
        has_content_length: bool,
        body_fully_read: bool,
    ) -> Persistence {
        let keep = self.persist_client
            && body_fully_read
            && request_wants_keep_alive(req)
            && response_length_known(status, has_content_length, req.is_head());
        if keep {
            Persistence::KeepAlive {
                idle_timeout: self.idle_timeout,
            }
        } else {
            Persistence::Close
        }
    }

    /// [`Self::decide`] for a response head about to be sent.
    pub fn decide_for(
        self,
        req: &RequestHead,
        res: &ResponseHead,
        body_fully_read: bool,
    ) -> Persistence {
        let has_content_length = res.headers().contains("Content-Length");
        self.decide(req, res.status(), has_content_length, body_fully_read)
    }
}

impl Persistence {
    /// Whether the connection stays open.
    pub fn is_keep_alive(self) -> bool {
        matches!(self, Persistence::KeepAlive { .. })
    }

    /// Sets `Connection` and `Keep-Alive` on an existing head, in place or appended (OBS-15).
    pub fn apply(self, headers: &mut HeaderMap) {
        match self {
            Persistence::KeepAlive { idle_timeout } => {
                headers.set("Connection", "keep-alive");
                if idle_timeout == 0 {
                    headers.remove("Keep-Alive");
                } else {
                    // `timeout=<u64>, max=100` fits in 40 bytes: no allocation per response.
                    let mut value = [0u8; 40];
                    let mut rest = &mut value[..];
                    write_keep_alive_value(idle_timeout, &mut rest);
                    let written = 40 - rest.len();
                    headers.set("Keep-Alive", &value[..written]);
                }
            }
            Persistence::Close => {
                headers.set("Connection", "close");
                headers.remove("Keep-Alive");
            }
        }
    }

    /// Appends the `Connection` (and `Keep-Alive`) lines for a head built from scratch.
    pub(crate) fn write(self, out: &mut Vec<u8>) {
        match self {
            Persistence::KeepAlive { idle_timeout } => {
                out.extend_from_slice(b"Connection: keep-alive\r\n");
                if idle_timeout != 0 {
                    out.extend_from_slice(b"Keep-Alive: ");
                    write_keep_alive_value(idle_timeout, out);
                    out.extend_from_slice(b"\r\n");
                }
            }
            Persistence::Close => out.extend_from_slice(b"Connection: close\r\n"),
        }
    }
}

/// `timeout=N, max=100` (the `max` is advertised but never enforced, as in the original).
fn write_keep_alive_value(idle_timeout: u64, out: &mut impl Write) {
    // Into a `Vec` or a buffer sized for any `u64`: the write cannot fall short.
    let _ = write!(out, "timeout={idle_timeout}, max=100");
}

/// RP-7: whether a backend connection may be reused after this response to a request that
/// was (or was not) a HEAD.
pub fn backend_keeps_alive(res: &ResponseHead, request_was_head: bool) -> bool {
    backend_reply_allows(res, request_was_head, false)
}

/// RP-8: whether the reply to the `verify_backend` OPTIONS request shows keep-alive support.
pub fn verify_reply_keeps_alive(res: &ResponseHead) -> bool {
    backend_reply_allows(res, false, true)
}

fn backend_reply_allows(res: &ResponseHead, request_was_head: bool, is_options: bool) -> bool {
    let connection = res.headers().get("Connection").unwrap_or_default();
    if has_token(connection, "close") {
        return false;
    }
    if res.version_number() >= 1001 {
        return true;
    }
    has_token(connection, "keep-alive")
        && (is_options
            || response_length_known(
                res.status(),
                res.headers().contains("Content-Length"),
                request_was_head,
            ))
}

/// RP-2: the `timeout=N` a backend advertises in `Keep-Alive` (`/\btimeout=(\d+)/i`).
pub fn backend_keep_alive_timeout(res: &ResponseHead) -> Option<u64> {
    let value = res.headers().get("Keep-Alive")?;
    let mut rest = value;
    while let Some(end) = find_word(rest, b"timeout", true) {
        if let Some(digits) = rest[end..].strip_prefix(b"=") {
            if let Some((seconds, _)) = leading_digits(digits) {
                return Some(seconds);
            }
        }
        rest = &rest[end..];
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(head: &str) -> RequestHead {
        RequestHead::parse(head.as_bytes()).expect("valid request head")
    }

    fn res(head: &str) -> ResponseHead {
        ResponseHead::parse(head.as_bytes()).expect("valid response head")
    }

    const ON: KeepAlivePolicy = KeepAlivePolicy {
        persist_client: true,
        idle_timeout: 30,
    };

    #[test]
    fn http13_http10_needs_keep_alive_token() {
        assert!(!request_wants_keep_alive(&req("GET / HTTP/1.0")));
        assert!(request_wants_keep_alive(&req(
            "GET / HTTP/1.0\r\nConnection: Keep-Alive"
        )));
        assert!(request_wants_keep_alive(&req(
            "GET / HTTP/1.0\r\nConnection: te, keep-alive"
        )));
        assert!(!request_wants_keep_alive(&req(
            "GET / HTTP/1.0\r\nConnection: keep-alive, close"
        )));
        assert!(!request_wants_keep_alive(&req(
            "GET / HTTP/1.0\r\nConnection: keep-alived"
        )));
    }

    #[test]
    fn http13_http11_persists_unless_close() {
        assert!(request_wants_keep_alive(&req("GET / HTTP/1.1\r\nHost: a")));
        assert!(!request_wants_keep_alive(&req(
            "GET / HTTP/1.1\r\nHost: a\r\nConnection: CLOSE"
        )));
        assert!(!request_wants_keep_alive(&req(
            "GET / HTTP/1.1\r\nHost: a\r\nConnection: x-close"
        )));
        assert!(request_wants_keep_alive(&req(
            "GET / HTTP/1.1\r\nHost: a\r\nConnection: closed"
        )));
    }

    #[test]
    fn http14_length_must_be_known() {
        let get = req("GET / HTTP/1.1\r\nHost: a");
        let head = req("HEAD / HTTP/1.1\r\nHost: a");
        assert!(ON.decide(&get, 200, true, true).is_keep_alive());
        assert!(!ON.decide(&get, 200, false, true).is_keep_alive());
        assert!(ON.decide(&get, 204, false, true).is_keep_alive());
        assert!(ON.decide(&get, 304, false, true).is_keep_alive());
        assert!(ON.decide(&head, 200, false, true).is_keep_alive());
    }

    #[test]
    fn http14_service_and_unread_body_veto() {
        let get = req("GET / HTTP/1.1\r\nHost: a");
        let off = KeepAlivePolicy {
            persist_client: false,
            ..ON
        };
        assert_eq!(off.decide(&get, 200, true, true), Persistence::Close);
        assert_eq!(ON.decide(&get, 200, true, false), Persistence::Close);
        assert_eq!(
            ON.decide(&get, 200, true, true),
            Persistence::KeepAlive { idle_timeout: 30 }
        );
    }

    #[test]
    fn obs12_close_delimited_backend_reply_closes_client() {
        let get = req("GET /x HTTP/1.1\r\nHost: a");
        let reply = res("HTTP/1.0 200 OK\r\nContent-Type: text/plain");
        assert_eq!(ON.decide_for(&get, &reply, true), Persistence::Close);
    }

    fn applied(reply: &str, persistence: Persistence) -> String {
        let mut head = res(reply);
        persistence.apply(head.headers_mut());
        let mut out = Vec::new();
        head.encode(&mut out);
        String::from_utf8(out).expect("test heads are UTF-8")
    }

    #[test]
    fn obs15_backend_keep_alive_replaced_in_place_connection_appended() {
        assert_eq!(
            applied(
                "HTTP/1.0 200 OK\r\nKeep-Alive: timeout=1, max=5\r\nContent-Length: 2",
                Persistence::KeepAlive { idle_timeout: 30 }
            ),
            "HTTP/1.0 200 OK\r\nKeep-Alive: timeout=30, max=100\r\nContent-Length: 2\r\n\
             Connection: keep-alive\r\n\r\n"
        );
    }

    #[test]
    fn http14_close_removes_keep_alive_and_replaces_connection_in_place() {
        assert_eq!(
            applied(
                "HTTP/1.1 200 OK\r\nconnection: Keep-Alive\r\nKeep-Alive: timeout=5\r\nX: y",
                Persistence::Close
            ),
            "HTTP/1.0 200 OK\r\nconnection: close\r\nX: y\r\n\r\n"
        );
    }

    #[test]
    fn svc4_zero_idle_timeout_omits_keep_alive_header() {
        assert_eq!(
            applied(
                "HTTP/1.0 200 OK\r\nKeep-Alive: timeout=5",
                Persistence::KeepAlive { idle_timeout: 0 }
            ),
            "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\n\r\n"
        );
        let mut out = Vec::new();
        Persistence::KeepAlive { idle_timeout: 0 }.write(&mut out);
        assert_eq!(out, b"Connection: keep-alive\r\n");
    }

    #[test]
    fn rp7_backend_reuse_rules() {
        assert!(backend_keeps_alive(&res("HTTP/1.1 200 OK"), false));
        assert!(!backend_keeps_alive(
            &res("HTTP/1.1 200 OK\r\nConnection: close"),
            false
        ));
        assert!(!backend_keeps_alive(
            &res("HTTP/1.0 200 OK\r\nContent-Length: 1"),
            false
        ));
        assert!(backend_keeps_alive(
            &res("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 1"),
            false
        ));
        let no_length = res("HTTP/1.0 200 OK\r\nConnection: keep-alive");
        assert!(!backend_keeps_alive(&no_length, false));
        assert!(backend_keeps_alive(&no_length, true));
        assert!(backend_keeps_alive(
            &res("HTTP/1.0 304 NM\r\nConnection: keep-alive"),
            false
        ));
        assert!(backend_keeps_alive(
            &res("HTTP/1.0 204 NC\r\nConnection: keep-alive"),
            false
        ));
    }

    #[test]
    fn rp8_verify_reply_needs_keep_alive_but_not_length() {
        assert!(verify_reply_keeps_alive(&res(
            "HTTP/1.0 200 OK\r\nConnection: keep-alive"
        )));
        assert!(verify_reply_keeps_alive(&res("HTTP/1.1 200 OK")));
        assert!(!verify_reply_keeps_alive(&res("HTTP/1.0 200 OK")));
    }

    #[test]
    fn rp2_backend_keep_alive_timeout() {
        let timeout = |value: &str| {
            backend_keep_alive_timeout(&res(&format!("HTTP/1.1 200 OK\r\nKeep-Alive: {value}")))
        };
        assert_eq!(timeout("timeout=15, max=100"), Some(15));
        assert_eq!(timeout("max=5, TIMEOUT=7"), Some(7));
        assert_eq!(timeout("xtimeout=5"), None);
        assert_eq!(timeout("timeout=, timeout=3"), Some(3));
        assert_eq!(timeout("max=5"), None);
        assert_eq!(backend_keep_alive_timeout(&res("HTTP/1.1 200 OK")), None);
    }
}
