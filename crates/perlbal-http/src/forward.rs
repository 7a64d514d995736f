//! The request a reverse proxy sends to a backend (RP-7, RP-20..25): the client's head with
//! the version forced to HTTP/1.0, `Connection` set for backend persistence, the forwarding
//! headers rewritten by trust, `X-Proxy-Capabilities` when reproxying is on, and the service's
//! `HEADER` edits (removals first, then insertions). All other headers — hop-by-hop ones
//! included — pass unchanged, as in the original (RP-23).

use std::io::Write;
use std::net::IpAddr;

use crate::head::{HttpVersion, RequestHead};
use crate::headers::{HeaderEdits, HeaderMap};

/// A `HEADER <svc> insert|remove` edit (CFG-19).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeaderEdit {
    /// Replace the header's value in place, or append it.
    Insert { name: String, value: String },
    /// Drop the header.
    Remove { name: String },
}

/// What decides how a request is rewritten for a backend.
#[derive(Debug, Clone, Copy)]
pub struct ForwardOptions<'a> {
    /// `persist_backend`: ask the backend to keep the connection (RP-7).
    pub persist_backend: bool,
    /// `enable_reproxy`: advertise `X-Proxy-Capabilities: reproxy-file` (REPROXY-1).
    pub enable_reproxy: bool,
    /// The client is a trusted upstream proxy (`always_trusted`, `trusted_upstream_proxies`).
    pub trusted: bool,
    /// `blind_proxy`: leave a trusted client's forwarding headers alone (RP-21).
    pub blind_proxy: bool,
    /// The client's address as the original prints it.
    pub client_ip: IpAddr,
    /// The service's `HEADER` edits, in the order given.
    pub edits: &'a [HeaderEdit],
}

/// Records the forwarding rules' changes to `headers` in `edits` (RP-20, RP-21, RP-23,
/// RP-24). `client_ip` is the client's address as text; `forwarded` holds the
/// `X-Forwarded-For` built for a trusted client, which must outlive `edits`.
fn rewrites<'a>(
    headers: &HeaderMap,
    opts: &ForwardOptions<'a>,
    client_ip: &'a [u8],
    forwarded: &'a mut Option<Vec<u8>>,
    edits: &mut HeaderEdits<'a>,
) {
    let connection: &[u8] = if opts.persist_backend {
        b"keep-alive"
    } else {
        b"close"
    };
    edits.set("Connection", connection);
    if opts.enable_reproxy {
        edits.set("X-Proxy-Capabilities", b"reproxy-file");
    }
    if opts.trusted {
        if !opts.blind_proxy {
            let value = match headers.get("X-Forwarded-For") {
                Some(existing) => &*forwarded.insert(append_forwarded_for(existing, client_ip)),
                None => client_ip,
            };
            edits.set("X-Forwarded-For", value);
        }
    } else {
        edits.set("X-Forwarded-For", client_ip);
        edits.remove("X-Host");
        edits.remove("X-Forwarded-Host");
    }
    for edit in opts.edits {
        if let HeaderEdit::Remove { name } = edit {
            edits.remove(name);
        }
    }
    for edit in opts.edits {
        if let HeaderEdit::Insert { name, value } = edit {
            edits.set(name, value.as_bytes());
        }
    }
}

/// `join ", ", split(/,\s*/, $xff), $ip`: the list re-joined with `, ` plus the client.
fn append_forwarded_for(existing: &[u8], client_ip: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(existing.len() + client_ip.len() + 2);
    for part in split_comma_list(existing) {
        out.extend_from_slice(part);
        out.extend_from_slice(b", ");
    }
    out.extend_from_slice(client_ip);
    out
}

/// Perl's `split /,\s*/`: fields between commas (and the whitespace after them), trailing
/// empty fields dropped.
fn split_comma_list(value: &[u8]) -> Vec<&[u8]> {
    let mut parts: Vec<&[u8]> = Vec::new();
    let mut rest = value;
    loop {
        match memchr::memchr(b',', rest) {
            Some(at) => {
                parts.push(&rest[..at]);
                let after = &rest[at + 1..];
                let skip = after
                    .iter()
                    .take_while(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n' | 0x0b | 0x0c))
                    .count();
                rest = &after[skip..];
            }
            None => {
                parts.push(rest);
                break;
            }
        }
    }
    while parts.last().is_some_and(|p| p.is_empty()) {
        parts.pop();
    }
    parts
}

/// The first address of a trusted client's `X-Forwarded-For`: its "observed IP" (RP-22).
pub fn observed_ip(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get_str("X-Forwarded-For")?;
    split_comma_list(value.as_bytes())
        .first()
        .and_then(|first| std::str::from_utf8(first).ok())
        .filter(|ip| !ip.is_empty())
}

/// Writes the head sent to the backend: `METHOD URI HTTP/1.0`, the rewritten headers, blank
/// line.
///
/// The request itself is left as received (its `Connection` still decides the client's
/// keep-alive); the changes are applied while encoding, without copying it.
pub fn encode_backend_request(req: &RequestHead, opts: &ForwardOptions<'_>, out: &mut Vec<u8>) {
    let mut ip_text = [0u8; 48];
    let client_ip = ip_as_text(opts.client_ip, &mut ip_text);
    let mut forwarded = None;
    let mut edits = HeaderEdits::with_capacity(5 + opts.edits.len());
    rewrites(req.headers(), opts, client_ip, &mut forwarded, &mut edits);
    req.encode_edited(HttpVersion::HTTP_10, &edits, out);
}

/// `ip` as the original prints it, written into `buf` (no allocation per request).
fn ip_as_text(ip: IpAddr, buf: &mut [u8; 48]) -> &[u8] {
    let mut rest = &mut buf[..];
    // An IPv6 address is at most 45 characters: the write cannot fall short.
    let _ = write!(rest, "{ip}");
    let written = 48 - rest.len();
    &buf[..written]
}

/// High priority by cookie (RP-15): the request's `Cookie` header is split on `;` followed by
/// whitespace, each `name=value` URL-decoded, and the request is high priority when the value
/// of cookie `name` contains `contents`.
pub fn cookie_says_high_priority(headers: &HeaderMap, name: &str, contents: &str) -> bool {
    // Without the cookie the value is empty, which contains only empty `contents`.
    let cookies = headers.get("Cookie").unwrap_or(b"");
    let mut found: Option<Vec<u8>> = None;
    for pair in split_cookie_pairs(cookies) {
        // `(.*)=(.*)`: greedy, so the last `=` separates name and value.
        let Some(eq) = pair.iter().rposition(|&b| b == b'=') else {
            continue;
        };
        if crate::uri::percent_decode(&pair[..eq]).as_ref() == name.as_bytes() {
            // Later cookies of the same name win, as a Perl hash assignment does.
            found = Some(crate::uri::percent_decode(&pair[eq + 1..]).into_owned());
        }
    }
    let value = found.unwrap_or_default();
    memchr::memmem::find(&value, contents.as_bytes()).is_some()
}

/// `split(/;\s+/, $cookie)`.
fn split_cookie_pairs(value: &[u8]) -> Vec<&[u8]> {
    let mut parts = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i < value.len() {
        if value[i] == b';' {
            let ws = value[i + 1..]
                .iter()
                .take_while(|b| b.is_ascii_whitespace())
                .count();
            if ws > 0 {
                parts.push(&value[start..i]);
                i += 1 + ws;
                start = i;
                continue;
            }
        }
        i += 1;
    }
    parts.push(&value[start..]);
    parts
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn parse(head: &str) -> RequestHead {
        match RequestHead::parse(head.as_bytes()) {
            Ok(h) => h,
            Err(e) => panic!("{head:?}: {e}"),
        }
    }

    fn opts(trusted: bool, blind: bool, edits: &[HeaderEdit]) -> ForwardOptions<'_> {
        ForwardOptions {
            persist_backend: true,
            enable_reproxy: true,
            trusted,
            blind_proxy: blind,
            client_ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
            edits,
        }
    }

    fn forwarded(head: &str, o: &ForwardOptions<'_>) -> String {
        let mut out = Vec::new();
        encode_backend_request(&parse(head), o, &mut out);
        String::from_utf8_lossy(&out).into_owned()
    }

    #[test]
    fn untrusted_forwarding_headers_are_scrubbed_obs_1() {
        let got = forwarded(
            "GET /echo HTTP/1.0\r\nHost: foo.example\r\nUser-Agent: t\r\nX-Forwarded-For: 1.2.3.4\r\nX-Host: evil\r\nX-Forwarded-Host: evil2\r\nConnection: keep-alive",
            &opts(false, false, &[]),
        );
        assert_eq!(
            got,
            "GET /echo HTTP/1.0\r\nHost: foo.example\r\nUser-Agent: t\r\nX-Forwarded-For: 127.0.0.1\r\nConnection: keep-alive\r\nX-Proxy-Capabilities: reproxy-file\r\n\r\n"
        );
    }

    #[test]
    fn trusted_clients_extend_forwarded_for_obs_20() {
        let head = "GET / HTTP/1.1\r\nHost: a\r\nX-Forwarded-For: 1.2.3.4,5.6.7.8\r\nX-Host: h1\r\nX-Forwarded-Host: h2";
        let got = forwarded(head, &opts(true, false, &[]));
        assert!(
            got.contains("X-Forwarded-For: 1.2.3.4, 5.6.7.8, 127.0.0.1\r\n"),
            "{got}"
        );
        assert!(got.contains("X-Host: h1\r\n") && got.contains("X-Forwarded-Host: h2\r\n"));
        let blind = forwarded(head, &opts(true, true, &[]));
        assert!(
            blind.contains("X-Forwarded-For: 1.2.3.4,5.6.7.8\r\n"),
            "{blind}"
        );
        let none = forwarded("GET / HTTP/1.0\r\nHost: a", &opts(true, true, &[]));
        assert!(!none.contains("X-Forwarded-For"), "{none}");
    }

    #[test]
    fn header_edits_remove_first_then_insert_obs_45() {
        let edits = [
            HeaderEdit::Insert {
                name: "x-test".into(),
                value: "hello world".into(),
            },
            HeaderEdit::Remove {
                name: "user-agent".into(),
            },
        ];
        let got = forwarded(
            "GET / HTTP/1.0\r\nHost: a\r\nUser-Agent: t",
            &opts(false, false, &edits),
        );
        assert!(!got.contains("User-Agent"), "{got}");
        assert!(got.ends_with("x-test: hello world\r\n\r\n"), "{got}");
        let replaced = forwarded(
            "GET / HTTP/1.0\r\nHost: a\r\nX-Test: old\r\nB: c",
            &opts(false, false, &edits),
        );
        assert!(
            replaced.contains("X-Test: hello world\r\nB: c\r\n"),
            "{replaced}"
        );
    }

    #[test]
    fn hop_by_hop_headers_pass_except_connection_obs_11() {
        let got = forwarded(
            "GET / HTTP/1.1\r\nHost: a\r\nKeep-Alive: 300\r\nProxy-Connection: keep-alive\r\nUpgrade: websocket\r\nConnection: Upgrade, Keep-Alive\r\nTE: trailers",
            &ForwardOptions {
                enable_reproxy: false,
                ..opts(false, false, &[])
            },
        );
        assert_eq!(
            got,
            "GET / HTTP/1.0\r\nHost: a\r\nKeep-Alive: 300\r\nProxy-Connection: keep-alive\r\nUpgrade: websocket\r\nConnection: keep-alive\r\nTE: trailers\r\nX-Forwarded-For: 127.0.0.1\r\n\r\n"
        );
    }

    #[test]
    fn observed_ip_is_the_first_forwarded_address_rp_22() {
        let req = parse("GET / HTTP/1.0\r\nX-Forwarded-For: 9.9.9.9, 1.1.1.1");
        assert_eq!(observed_ip(req.headers()), Some("9.9.9.9"));
        let none = parse("GET / HTTP/1.0");
        assert_eq!(observed_ip(none.headers()), None);
    }

    #[test]
    fn high_priority_cookie_contains_the_contents_rp_15() {
        let check = |cookie: &str| {
            let req = parse(&format!("GET / HTTP/1.0\r\nCookie: {cookie}"));
            cookie_says_high_priority(req.headers(), "vip", "gold")
        };
        assert!(check("vip=xgoldx"));
        assert!(check("a=1; vip=gold"));
        assert!(!check("vip=silver"));
        assert!(
            !check("a=1;vip=gold"),
            "`;` without whitespace does not split"
        );
        assert!(check("v%69p=g%6Fld"), "names and values are URL-decoded");
        let bare = parse("GET / HTTP/1.0");
        assert!(!cookie_says_high_priority(bare.headers(), "vip", "gold"));
        assert!(
            cookie_says_high_priority(bare.headers(), "vip", ""),
            "no contents configured: every request matches, as in the original"
        );
    }
}
