//! `X-REPROXY-URL` (REPROXY-5..7): the URL list a backend names, the request Perlbal sends to
//! each URL, whether a URL's answer is usable, and the head the client finally gets.
//!
//! Flow for the caller: [`parse_url_list`] once; for each [`ReproxyTarget`] in order, connect,
//! send [`encode_target_request`], read the target's head; if [`target_accepted`] is false,
//! move to the next URL (none left → a 503 page); otherwise send [`merge_heads`] (after the
//! client's keep-alive decision) followed by the target's body.
//!
//! Bounds on hostile lists (the original has none): at most [`MAX_REPROXY_URLS`] usable URLs
//! are kept and an entry longer than [`MAX_REPROXY_URL_LEN`] bytes is dropped. Entries the
//! original would try but could never reach are dropped too: a port of 0 or above 65535, a host
//! that is not a plain name or IPv4 address (Perl would hand `a:b`, `u@h`, `[::1]` or `a?q` to
//! `inet_aton`, or split it wrongly on `:`), and paths with control bytes (which would corrupt
//! the request line sent to the target).

use super::perl_true;
use crate::framing::response_body;
use crate::headers::is_perl_space;
use crate::{RequestHead, ResponseHead};

/// At most this many URLs of one `X-REPROXY-URL` list are kept; later ones are ignored.
pub const MAX_REPROXY_URLS: usize = 32;

/// Longest `http://…` entry kept, in bytes.
pub const MAX_REPROXY_URL_LEN: usize = 8192;

/// Longest host name kept (the DNS limit).
const MAX_HOST_LEN: usize = 253;

/// One URL of an `X-REPROXY-URL` list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReproxyTarget {
    /// The host as written: an IPv4 address or a name to resolve.
    pub host: String,
    /// The port (80 when none was given).
    pub port: u16,
    /// The path to request, starting with `/` (`/` when none was given).
    pub path: Vec<u8>,
}

/// The usable URLs of an `X-REPROXY-URL` value, in order (REPROXY-5).
///
/// Entries are separated by runs of whitespace; only `http://host[:port][/path]` is kept, as the
/// original's `^http://(.+?)(?::(\d+))?(/.*)?$` does (scheme case-sensitive, port `0` read as
/// "none" like Perl's `$2 || 80`); see the module docs for what else is dropped.
pub fn parse_url_list(value: &[u8]) -> Vec<ReproxyTarget> {
    value
        .split(|&b| is_perl_space(b))
        .filter_map(parse_url)
        .take(MAX_REPROXY_URLS)
        .collect()
}

fn parse_url(entry: &[u8]) -> Option<ReproxyTarget> {
    if entry.len() > MAX_REPROXY_URL_LEN {
        return None;
    }
    let rest = entry.strip_prefix(b"http://")?;
    let host_len = rest.iter().take_while(|&&b| b != b':' && b != b'/').count();
    let (host, mut rest) = rest.split_at(host_len);
    if host.is_empty() || host.len() > MAX_HOST_LEN || !host.iter().all(|&b| is_host_byte(b)) {
        return None;
    }
    let mut port = 80;
    if let Some(after_colon) = rest.strip_prefix(b":") {
        let digits = after_colon
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count();
        if digits == 0 {
            return None;
        }
        let (number, after) = after_colon.split_at(digits);
        port = parse_port(number)?;
        rest = after;
    }
    let path = match rest {
        [] => b"/".to_vec(),
        [b'/', ..] if !rest.iter().any(|&b| b < 0x20 || b == 0x7f) => rest.to_vec(),
        _ => return None,
    };
    Some(ReproxyTarget {
        host: String::from_utf8_lossy(host).into_owned(),
        port,
        path,
    })
}

/// Names and IPv4 addresses: what `inet_aton` can resolve without surprises.
fn is_host_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_')
}

/// A port written as decimal digits: exactly `0` means "none" (80); another value of 0 or one
/// above 65535 can never be connected to, so the entry is dropped.
fn parse_port(digits: &[u8]) -> Option<u16> {
    if digits == b"0" {
        return Some(80);
    }
    let value = digits.iter().try_fold(0u32, |acc, &b| {
        acc.checked_mul(10)?.checked_add(u32::from(b - b'0'))
    })?;
    u16::try_from(value).ok().filter(|&port| port != 0)
}

/// Appends the request Perlbal sends to `target` for `client_req` (REPROXY-5, OBS-22, OBS-24):
/// `GET` (or `HEAD` if the client used exactly `HEAD`), the target's path, HTTP/1.0,
/// `Connection: keep-alive`, then the client's `Range` and `Host` when present and not
/// Perl-false (`""`, `"0"`). No other client header is passed on.
pub fn encode_target_request(target: &ReproxyTarget, client_req: &RequestHead, out: &mut Vec<u8>) {
    let method: &[u8] = if client_req.is_head() {
        b"HEAD"
    } else {
        b"GET"
    };
    out.extend_from_slice(method);
    out.push(b' ');
    out.extend_from_slice(&target.path);
    out.extend_from_slice(b" HTTP/1.0\r\nConnection: keep-alive\r\n");
    for name in ["Range", "Host"] {
        if let Some(value) = client_req.headers().get(name).filter(|v| perl_true(v)) {
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(b": ");
            out.extend_from_slice(value);
            out.extend_from_slice(b"\r\n");
        }
    }
    out.extend_from_slice(b"\r\n");
}

/// Whether a target's answer may be relayed (REPROXY-6); `false` means "try the next URL".
///
/// Refused as in the original: a status that is neither 2xx nor 416, or an `expected_size`
/// (the primary's `X-REPROXY-EXPECTED-SIZE`, see [`super::expected_size`]) different from the
/// target's `Content-Length` — a missing one counting as 0, as Perl's `undef` does.
///
/// Also refused here (the original relays them and corrupts the reply): a `Content-Length`
/// that cannot frame a body (`zz`, conflicting values), and a transfer-coded (chunked) body,
/// which the original would pass on raw under an HTTP/1.0 head without its framing header.
pub fn target_accepted(target: &ResponseHead, expected_size: Option<u64>) -> bool {
    let status = target.status();
    if !(200..=299).contains(&status) && status != 416 {
        return false;
    }
    if transfer_coded(target) {
        return false;
    }
    let length = match target.headers().get("Content-Length") {
        None => 0,
        Some(_) => match response_body(target, false) {
            Ok(crate::ResponseBody::Length(length)) => length,
            // A 204 has no body whatever its Content-Length says; compare the header's number.
            Ok(_) => leading_number(target.headers().get("Content-Length")),
            Err(_) => return false,
        },
    };
    expected_size.is_none_or(|expected| expected == length)
}

/// The head the client gets for a relayed target answer (REPROXY-7, OBS-22, OBS-24).
///
/// The primary (backend) head with: the target's `Content-Length` in place (appended if the
/// primary had none, removed if the target sent none or is transfer-coded);
/// `X-REPROXY-FILE`, `-URL`, `-EXPECTED-SIZE` and `-CACHE-FOR` removed; for a target 206 or 416
/// its status and its `Accept-Ranges` / `Content-Range` (in place or appended); a primary 204
/// turned into 200. Every other target header is dropped. The caller then adds `Connection` /
/// `Keep-Alive` (HTTP-14).
///
/// ⚠ The primary's own `Transfer-Encoding` is removed as well: it described a body that is not
/// sent (the original keeps it, announcing chunked framing for an unchunked body).
pub fn merge_heads(primary: &ResponseHead, target: &ResponseHead) -> ResponseHead {
    let mut merged = primary.clone();
    let target_headers = target.headers();
    let headers = merged.headers_mut();
    match target_headers
        .get("Content-Length")
        .filter(|_| !transfer_coded(target))
    {
        Some(length) => headers.set("Content-Length", length),
        None => {
            headers.remove("Content-Length");
        }
    }
    for name in [
        "X-REPROXY-FILE",
        "X-REPROXY-URL",
        "X-REPROXY-EXPECTED-SIZE",
        "X-REPROXY-CACHE-FOR",
    ] {
        headers.remove(name);
    }
    if headers.contains("Transfer-Encoding") {
        headers.remove("Transfer-Encoding");
    }
    let status = target.status();
    if status == 206 || status == 416 {
        merged.set_status(status);
        for name in ["Accept-Ranges", "Content-Range"] {
            if let Some(value) = target_headers.get(name).filter(|v| perl_true(v)) {
                merged.headers_mut().set(name, value);
            }
        }
    }
    if merged.status() == 204 {
        merged.set_status(200);
    }
    merged
}

/// RP-32's test (`/\bidentity\b/i` absent from a true `Transfer-Encoding`).
fn transfer_coded(head: &ResponseHead) -> bool {
    head.headers()
        .get("Transfer-Encoding")
        .is_some_and(|te| perl_true(te) && !contains_word_identity(te))
}

fn contains_word_identity(value: &[u8]) -> bool {
    const WORD: &[u8] = b"identity";
    let is_word = |b: &u8| b.is_ascii_alphanumeric() || *b == b'_';
    value.windows(WORD.len()).enumerate().any(|(at, window)| {
        window.eq_ignore_ascii_case(WORD)
            && (at == 0 || !is_word(&value[at - 1]))
            && value.get(at + WORD.len()).is_none_or(|b| !is_word(b))
    })
}

/// The leading decimal number of a header value (0 without one), like Perl's numification.
fn leading_number(value: Option<&[u8]>) -> u64 {
    let value = value.unwrap_or_default();
    let start = value
        .iter()
        .position(|&b| !is_perl_space(b))
        .unwrap_or(value.len());
    crate::head::leading_digits(&value[start..]).map_or(0, |(n, _)| n)
}

#[cfg(test)]
mod tests {
    use super::super::test_heads::{encoded, request, response};
    use super::*;

    fn target(host: &str, port: u16, path: &str) -> ReproxyTarget {
        ReproxyTarget {
            host: host.into(),
            port,
            path: path.as_bytes().to_vec(),
        }
    }

    #[test]
    fn reproxy_5_keeps_http_urls_with_defaults() {
        assert_eq!(
            parse_url_list(b"http://127.0.0.1:18084/file1 http://a.example http://h:8080"),
            vec![
                target("127.0.0.1", 18084, "/file1"),
                target("a.example", 80, "/"),
                target("h", 8080, "/"),
            ]
        );
    }

    #[test]
    fn reproxy_5_drops_other_schemes_silently_like_obs_23() {
        assert_eq!(
            parse_url_list(b"\tHTTP://h/a ftp://x/y https://h/ http:/h/ http://127.0.0.1:038184"),
            vec![target("127.0.0.1", 38184, "/")],
            "verified on the reference: only the last one is fetched, as GET /"
        );
        assert!(parse_url_list(b"").is_empty());
        assert!(parse_url_list(b"   ").is_empty());
    }

    #[test]
    fn reproxy_5_path_keeps_colons_queries_and_fragments() {
        assert_eq!(
            parse_url_list(b"http://127.0.0.1:38184/a/b:c?d=e#f"),
            vec![target("127.0.0.1", 38184, "/a/b:c?d=e#f")]
        );
    }

    #[test]
    fn reproxy_5_separators_are_any_perl_whitespace() {
        let list = parse_url_list(b"http://a/1\t\thttp://b/2\x0bhttp://c/3\x0c http://d/4");
        let paths: Vec<_> = list.iter().map(|t| t.path.as_slice()).collect();
        assert_eq!(paths, [&b"/1"[..], b"/2", b"/3", b"/4"]);
    }

    #[test]
    fn reproxy_5_port_zero_means_default_like_perl() {
        assert_eq!(parse_url_list(b"http://h:0/x"), vec![target("h", 80, "/x")]);
    }

    #[test]
    fn hostile_ports_that_cannot_connect_are_dropped() {
        for url in [
            "http://h:00/x",
            "http://h:65536/x",
            "http://h:99999999999999999999999/x",
            "http://h:/x",
            "http://h:80x/y",
            "http://h:-1/",
        ] {
            assert!(parse_url_list(url.as_bytes()).is_empty(), "{url}");
        }
        assert_eq!(parse_url_list(b"http://h:65535")[0].port, 65535);
    }

    #[test]
    fn hostile_hosts_perl_would_misresolve_are_dropped() {
        for url in [
            &b"http://"[..],
            b"http:///x",
            b"http://:80/x",
            b"http://u@h/x",
            b"http://[::1]:80/x",
            b"http://h?q",
            b"http://a:b/x",
            b"http://h\x01/x",
            b"http://h\xc3\xa9/x",
        ] {
            assert!(parse_url_list(url).is_empty(), "{url:?}");
        }
        let long = format!("http://{}/", "a".repeat(254));
        assert!(parse_url_list(long.as_bytes()).is_empty());
        let ok = format!("http://{}/", "a".repeat(253));
        assert_eq!(parse_url_list(ok.as_bytes()).len(), 1);
    }

    #[test]
    fn hostile_control_bytes_in_path_cannot_reach_the_request_line() {
        assert!(parse_url_list(b"http://h/a\x00b").is_empty());
        assert!(parse_url_list(b"http://h/a\x7f").is_empty());
        assert!(parse_url_list(b"http://h/a\x1bb").is_empty());
        assert_eq!(
            parse_url_list(b"http://h/caf\xc3\xa9")[0].path,
            b"/caf\xc3\xa9".to_vec()
        );
    }

    #[test]
    fn hostile_absurdly_long_entries_and_lists_are_bounded() {
        let long = format!("http://h/{}", "p".repeat(MAX_REPROXY_URL_LEN));
        assert!(parse_url_list(long.as_bytes()).is_empty());
        let fits = format!("http://h/{}", "p".repeat(MAX_REPROXY_URL_LEN - 9));
        assert_eq!(parse_url_list(fits.as_bytes()).len(), 1);

        let mut many = Vec::new();
        for i in 0..1000 {
            many.extend_from_slice(format!("junk{i} http://h/{i} ").as_bytes());
        }
        let list = parse_url_list(&many);
        assert_eq!(list.len(), MAX_REPROXY_URLS);
        assert_eq!(list[0].path, b"/0".to_vec());
        assert_eq!(list[MAX_REPROXY_URLS - 1].path, b"/31".to_vec());
    }

    fn target_request(client: &str) -> String {
        let mut out = Vec::new();
        let req = request(client);
        encode_target_request(&target("127.0.0.1", 18084, "/file1"), &req, &mut out);
        String::from_utf8(out).expect("ASCII request")
    }

    #[test]
    fn obs_22_target_request_is_exact() {
        assert_eq!(
            target_request(
                "GET /obs22 HTTP/1.1\r\nHost: h\r\nCookie: c=1\r\nX-Forwarded-For: 1.2.3.4\r\n\
                 User-Agent: x"
            ),
            "GET /file1 HTTP/1.0\r\nConnection: keep-alive\r\nHost: h\r\n\r\n"
        );
    }

    #[test]
    fn obs_24_range_goes_before_host_whatever_the_client_order() {
        let expected = "GET /file1 HTTP/1.0\r\nConnection: keep-alive\r\nRange: bytes=2-5\r\n\
                        Host: h\r\n\r\n";
        assert_eq!(
            target_request("GET /x HTTP/1.0\r\nHost: h\r\nRange: bytes=2-5"),
            expected
        );
        assert_eq!(
            target_request("GET /x HTTP/1.0\r\nRange: bytes=2-5\r\nHost: h"),
            expected
        );
    }

    #[test]
    fn reproxy_5_head_only_for_exact_head_and_false_headers_left_out() {
        assert_eq!(
            target_request("HEAD /x HTTP/1.0\r\nHost: 0\r\nRange: bytes=2-5"),
            "HEAD /file1 HTTP/1.0\r\nConnection: keep-alive\r\nRange: bytes=2-5\r\n\r\n"
        );
        assert_eq!(
            target_request("head /x HTTP/1.0\r\nRange:"),
            "GET /file1 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"
        );
        assert_eq!(
            target_request("POST /x HTTP/1.0\r\nContent-Length: 3"),
            "GET /file1 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"
        );
    }

    #[test]
    fn reproxy_6_status_must_be_2xx_or_416() {
        let accepted = |status: &str| {
            target_accepted(
                &response(&format!("HTTP/1.0 {status}\r\nContent-Length: 60")),
                None,
            )
        };
        assert!(accepted("200 OK"));
        assert!(accepted("206 Partial Content"));
        assert!(accepted("299 X"));
        assert!(accepted("416 Requested Range Not Satisfiable"));
        assert!(!accepted("199 X"));
        assert!(!accepted("300 Multiple Choices"));
        assert!(!accepted("304 Not Modified"));
        assert!(!accepted("404 Not Found"));
        assert!(!accepted("500 Internal Server Error"));
    }

    #[test]
    fn reproxy_6_expected_size_against_target_length() {
        let cl60 = response("HTTP/1.0 200 OK\r\nContent-Length: 60");
        assert!(target_accepted(&cl60, Some(60)));
        assert!(!target_accepted(&cl60, Some(61)), "OBS-24: 61 vs 60 fails");
        let partial = response("HTTP/1.0 206 Partial Content\r\nContent-Length: 4");
        assert!(
            !target_accepted(&partial, Some(60)),
            "verified on the reference: a range answer fails a whole-size expectation"
        );
    }

    #[test]
    fn reproxy_6_missing_target_length_counts_as_zero() {
        let no_length = response("HTTP/1.0 200 OK\r\nContent-Type: text/y");
        assert!(target_accepted(&no_length, None));
        assert!(!target_accepted(&no_length, Some(5)), "verified: 503");
        assert!(target_accepted(&no_length, Some(0)));
    }

    #[test]
    fn hostile_target_length_that_cannot_frame_a_body_is_refused() {
        let garbage = response("HTTP/1.0 200 OK\r\nContent-Length: zz");
        assert!(!target_accepted(&garbage, None));
        assert!(!target_accepted(&garbage, Some(0)));
        let conflicting = response("HTTP/1.0 200 OK\r\nContent-Length: 5\r\nContent-Length: 6");
        assert!(!target_accepted(&conflicting, None));
        let repeated = response("HTTP/1.0 200 OK\r\nContent-Length: 5\r\nContent-Length: 5");
        assert!(target_accepted(&repeated, Some(5)));
    }

    #[test]
    fn hostile_chunked_target_is_refused() {
        let chunked =
            response("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 60");
        assert!(!target_accepted(&chunked, None));
        assert!(!target_accepted(&chunked, Some(60)));
        let identity =
            response("HTTP/1.0 200 OK\r\nTransfer-Encoding: Identity\r\nContent-Length: 6");
        assert!(target_accepted(&identity, Some(6)));
    }

    #[test]
    fn no_content_target_compares_its_stated_length() {
        let empty = response("HTTP/1.0 204 No Content\r\nContent-Length: 7");
        assert!(target_accepted(&empty, Some(7)));
        assert!(!target_accepted(&empty, Some(0)));
    }

    const OBS22_PRIMARY: &str =
        "HTTP/1.0 200 OK\r\nX-REPROXY-URL: http://127.0.0.1:18084/file1\r\n\
        Content-Type: text/x-primary\r\nX-Primary: yes\r\nSet-Cookie: a=1\r\nContent-Length: 0";
    const TARGET_200: &str =
        "HTTP/1.0 200 OK\r\nContent-Type: text/secondary\r\nX-Secondary: 1\r\n\
        Set-Cookie: b=2\r\nContent-Length: 60\r\nConnection: keep-alive";
    const TARGET_206: &str = "HTTP/1.0 206 Partial Content\r\nContent-Type: text/secondary\r\n\
        X-Secondary: 1\r\nSet-Cookie: b=2\r\nAccept-Ranges: bytes\r\n\
        Content-Range: bytes 2-5/60\r\nContent-Length: 4\r\nConnection: keep-alive";

    #[test]
    fn obs_22_merged_head_bytes() {
        let merged = merge_heads(&response(OBS22_PRIMARY), &response(TARGET_200));
        assert_eq!(
            encoded(&merged),
            "HTTP/1.0 200 OK\r\nContent-Type: text/x-primary\r\nX-Primary: yes\r\n\
             Set-Cookie: a=1\r\nContent-Length: 60\r\n\r\n"
        );
    }

    #[test]
    fn obs_24_range_answer_takes_code_and_appends_range_headers() {
        let merged = merge_heads(&response(OBS22_PRIMARY), &response(TARGET_206));
        assert_eq!(
            encoded(&merged),
            "HTTP/1.0 206 Partial Content\r\nContent-Type: text/x-primary\r\nX-Primary: yes\r\n\
             Set-Cookie: a=1\r\nContent-Length: 4\r\nAccept-Ranges: bytes\r\n\
             Content-Range: bytes 2-5/60\r\n\r\n"
        );
    }

    #[test]
    fn reproxy_7_length_appended_when_primary_had_none_and_reason_kept() {
        let primary = response(
            "HTTP/1.0 200 Fine Thing\r\nContent-Type: text/x-primary\r\n\
             X-REPROXY-URL: http://h/\r\nX-Primary: yes",
        );
        assert_eq!(
            encoded(&merge_heads(&primary, &response(TARGET_200))),
            "HTTP/1.0 200 Fine Thing\r\nContent-Type: text/x-primary\r\nX-Primary: yes\r\n\
             Content-Length: 60\r\n\r\n",
            "verified on the reference"
        );
    }

    #[test]
    fn reproxy_7_no_target_length_means_none() {
        let merged = merge_heads(
            &response(OBS22_PRIMARY),
            &response("HTTP/1.0 200 OK\r\nContent-Type: text/y"),
        );
        assert_eq!(merged.headers().get("Content-Length"), None);
        let mut later = merged.clone();
        later.headers_mut().set("Content-Length", "9");
        assert!(
            encoded(&later).ends_with("Set-Cookie: a=1\r\nContent-Length: 9\r\n\r\n"),
            "the removed header keeps its slot, as in the original"
        );
    }

    #[test]
    fn reproxy_7_no_content_becomes_ok_and_range_headers_go_in_place() {
        let primary = response(
            "HTTP/1.0 204 No Content\r\nX-REPROXY-URL: http://h/\r\n\
             X-REPROXY-EXPECTED-SIZE: 60\r\nAccept-Ranges: none\r\nContent-Length: 0\r\n\
             X-REPROXY-CACHE-FOR: 30\r\nX-REPROXY-FILE: 0",
        );
        assert_eq!(
            encoded(&merge_heads(&primary, &response(TARGET_200))),
            "HTTP/1.0 200 OK\r\nAccept-Ranges: none\r\nContent-Length: 60\r\n\r\n",
            "verified on the reference"
        );
        assert_eq!(
            encoded(&merge_heads(&primary, &response(TARGET_206))),
            "HTTP/1.0 206 Partial Content\r\nAccept-Ranges: bytes\r\nContent-Length: 4\r\n\
             Content-Range: bytes 2-5/60\r\n\r\n"
        );
    }

    #[test]
    fn reproxy_7_unsatisfiable_target_answer() {
        let merged = merge_heads(
            &response(OBS22_PRIMARY),
            &response(
                "HTTP/1.0 416 Requested Range Not Satisfiable\r\nContent-Range: bytes */60\r\n\
                 Accept-Ranges: 0\r\nContent-Length: 0",
            ),
        );
        assert_eq!(
            encoded(&merged),
            "HTTP/1.0 416 Request range not satisfiable\r\nContent-Type: text/x-primary\r\n\
             X-Primary: yes\r\nSet-Cookie: a=1\r\nContent-Length: 0\r\n\
             Content-Range: bytes */60\r\n\r\n",
            "a Perl-false Accept-Ranges is not copied"
        );
    }

    #[test]
    fn reproxy_7_partial_primary_reason_is_replaced_when_target_sets_the_code() {
        let primary = response("HTTP/1.0 206 Mine\r\nX-REPROXY-URL: http://h/");
        let merged = merge_heads(&primary, &response(TARGET_206));
        assert!(encoded(&merged).starts_with("HTTP/1.0 206 Partial Content\r\n"));
        let kept = merge_heads(&primary, &response(TARGET_200));
        assert!(encoded(&kept).starts_with("HTTP/1.0 206 Mine\r\n"));
    }

    #[test]
    fn hostile_transfer_encodings_are_not_relayed() {
        let primary = response(
            "HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\nX-REPROXY-URL: http://h/\r\nA: 1",
        );
        let chunked_target =
            response("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 60");
        assert_eq!(
            encoded(&merge_heads(&primary, &chunked_target)),
            "HTTP/1.0 200 OK\r\nA: 1\r\n\r\n"
        );
    }

    #[test]
    fn identity_word_match_follows_perl_word_boundaries() {
        assert!(contains_word_identity(b"identity"));
        assert!(contains_word_identity(b"gzip, IDENTITY"));
        assert!(!contains_word_identity(b"nonidentity"));
        assert!(!contains_word_identity(b"identity_x"));
        assert!(contains_word_identity(b"x-identity-y"));
    }
}
