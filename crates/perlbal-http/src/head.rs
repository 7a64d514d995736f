//! Request heads: finding the end of a head in a growing buffer, parsing it with the original's
//! grammar, and writing it back out (HTTP-1..8, RP-23, RP-25).
//!
//! * The head ends at the first `\r\n\r\n`, or at the first `\n\n` if there is none (HTTP-1); it
//!   must end within [`MAX_REQUEST_HEAD_BYTES`] (HTTP-2).
//! * Lines are split on `\n` with one preceding `\r` removed, trailing empty lines ignored — so
//!   `GET / HTTP/1.0\r\n\n` is refused (its request line keeps the `\r`), as in the original.
//! * Request line: `^(\w+) (\*|\S*?) HTTP/(\d+)\.(\d+)$` — method case kept, URI may be empty,
//!   any version accepted; the version number is `major * 1000 + minor` (HTTP-3).
//! * Absolute-form `http://host[:port][/path]` becomes the path (or `/`) and `Host` is set to
//!   the lowercased host without port (HTTP-7).
//! * HTTP/1.1 and later need a `Host` header that is not empty or `0` (HTTP-6).
//!
//! Every refusal is a [`HeadError`]; the original answers all of them by closing the
//! connection without a response (OBS-4, OBS-49).

use crate::headers::{is_perl_space, HeaderEdits, HeaderMap, LineError};

/// Longest request head accepted, delimiter included (HTTP-2).
pub const MAX_REQUEST_HEAD_BYTES: usize = 102_400;

/// Longest backend response head accepted, delimiter included (RP-31).
pub const MAX_RESPONSE_HEAD_BYTES: usize = 102_400;

/// Most lines after the first (header and continuation lines) accepted in one head.
///
/// The original has no such limit; merging repeated names makes parsing quadratic in the
/// number of distinct names, so a bound keeps a hostile 100 KiB head cheap.
pub const MAX_HEADER_LINES: usize = 1_000;

/// Why a head was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum HeadError {
    /// No end of head within the size limit (HTTP-2).
    TooLarge,
    /// The request line does not match the grammar (HTTP-3).
    BadRequestLine,
    /// The response status line does not match the grammar (RP-31).
    BadStatusLine,
    /// A header line is neither `name: value` nor a continuation (HTTP-4).
    BadHeaderLine,
    /// HTTP/1.1 or later without a usable `Host` header (HTTP-6).
    MissingHost,
    /// More than [`MAX_HEADER_LINES`] header lines.
    TooManyHeaders,
}

impl std::fmt::Display for HeadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            HeadError::TooLarge => "head too large",
            HeadError::BadRequestLine => "bogus request line",
            HeadError::BadStatusLine => "bogus response line",
            HeadError::BadHeaderLine => "unknown header line",
            HeadError::MissingHost => "HTTP 1.1 requires host header",
            HeadError::TooManyHeaders => "too many header lines",
        })
    }
}

impl std::error::Error for HeadError {}

/// Result of looking for the end of a head in a buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeadScan {
    /// The head is `buf[..head_len]`; the delimiter ends at `total_len`, where the body or the
    /// next request starts.
    Complete { head_len: usize, total_len: usize },
    /// No delimiter yet; read more.
    Incomplete,
    /// No delimiter within the limit: close the connection (HTTP-2).
    TooLarge,
}

/// Finds the end of a head in a buffer that only grows between calls, without rescanning the
/// part already searched.
///
/// Call [`HeadScanner::reset`] whenever bytes are removed from the front of the buffer.
#[derive(Debug, Clone)]
pub struct HeadScanner {
    max: usize,
    /// Bytes already known to hold neither delimiter (except straddling the end).
    scanned: usize,
}

impl HeadScanner {
    /// A scanner for heads of at most `max` bytes (delimiter included).
    pub fn new(max: usize) -> HeadScanner {
        HeadScanner { max, scanned: 0 }
    }

    /// Forgets what was scanned; the next [`HeadScanner::scan`] starts from the beginning.
    pub fn reset(&mut self) {
        self.scanned = 0;
    }

    /// Looks for the first `\r\n\r\n`, else the first `\n\n`, within the first `max` bytes.
    pub fn scan(&mut self, buf: &[u8]) -> HeadScan {
        let window = &buf[..buf.len().min(self.max)];
        // Neither delimiter occurs before `scanned`, so only the tail needs searching; back up
        // enough to catch a delimiter straddling the old end.
        let crlf_from = self.scanned.saturating_sub(3).min(window.len());
        if let Some(at) = memchr::memmem::find(&window[crlf_from..], b"\r\n\r\n") {
            let head_len = crlf_from + at;
            return HeadScan::Complete {
                head_len,
                total_len: head_len + 4,
            };
        }
        let lf_from = self.scanned.saturating_sub(1).min(window.len());
        if let Some(at) = memchr::memmem::find(&window[lf_from..], b"\n\n") {
            let head_len = lf_from + at;
            return HeadScan::Complete {
                head_len,
                total_len: head_len + 2,
            };
        }
        self.scanned = window.len();
        if buf.len() >= self.max {
            HeadScan::TooLarge
        } else {
            HeadScan::Incomplete
        }
    }
}

/// One-shot form of [`HeadScanner::scan`].
pub fn scan_head(buf: &[u8], max: usize) -> HeadScan {
    HeadScanner::new(max).scan(buf)
}

/// HTTP-8: after a POST answered on a kept-alive connection, old browsers send one extra CRLF
/// that is not part of the next request. While that expectation is set, call this on the
/// unparsed buffer before scanning: it returns how many bytes to discard (0 or 2). Clear the
/// expectation once it returned 2 or once the next head has been parsed.
pub fn stray_crlf_len(buf: &[u8]) -> usize {
    if buf.starts_with(b"\r\n") {
        2
    } else {
        0
    }
}

/// Splits a head (without its delimiter) into lines like Perl's `split /\r?\n/`.
///
/// Yields `(start, end)` ranges; trailing empty lines are dropped, leading ones kept.
pub(crate) struct HeadLines<'a> {
    text: &'a [u8],
    at: usize,
    end: usize,
}

impl<'a> HeadLines<'a> {
    pub(crate) fn new(text: &'a [u8]) -> HeadLines<'a> {
        let mut end = text.len();
        while end > 0 && text[end - 1] == b'\n' {
            end -= 1;
            if end > 0 && text[end - 1] == b'\r' {
                end -= 1;
            }
        }
        HeadLines { text, at: 0, end }
    }
}

impl Iterator for HeadLines<'_> {
    type Item = (usize, usize);

    fn next(&mut self) -> Option<(usize, usize)> {
        if self.at >= self.end {
            return None;
        }
        let start = self.at;
        match memchr::memchr(b'\n', &self.text[start..self.end]) {
            Some(offset) => {
                let newline = start + offset;
                self.at = newline + 1;
                let end = if newline > start && self.text[newline - 1] == b'\r' {
                    newline - 1
                } else {
                    newline
                };
                Some((start, end))
            }
            None => {
                self.at = self.end;
                Some((start, self.end))
            }
        }
    }
}

/// An HTTP version as `major.minor`; huge digit strings saturate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HttpVersion {
    pub major: u64,
    pub minor: u64,
}

impl HttpVersion {
    /// HTTP/1.0, what Perlbal speaks on both sides (HTTP-9, RP-23).
    pub const HTTP_10: HttpVersion = HttpVersion { major: 1, minor: 0 };
    /// HTTP/1.1.
    pub const HTTP_11: HttpVersion = HttpVersion { major: 1, minor: 1 };

    /// `major * 1000 + minor`, the number the original compares (1.1 → 1001).
    pub fn number(self) -> u64 {
        self.major.saturating_mul(1000).saturating_add(self.minor)
    }

    pub(crate) fn write(self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"HTTP/");
        crate::headers::push_u64(out, self.major);
        out.push(b'.');
        crate::headers::push_u64(out, self.minor);
    }
}

/// Parses `\d+` (ASCII digits, at least one), saturating; returns the value and digit count.
pub(crate) fn leading_digits(bytes: &[u8]) -> Option<(u64, usize)> {
    let count = bytes.iter().take_while(|b| b.is_ascii_digit()).count();
    if count == 0 {
        return None;
    }
    let value = bytes[..count].iter().fold(0u64, |acc, &b| {
        acc.saturating_mul(10).saturating_add(u64::from(b - b'0'))
    });
    Some((value, count))
}

/// Parses `HTTP/<d+>.<d+>` filling the whole of `bytes`.
pub(crate) fn parse_version(bytes: &[u8]) -> Option<HttpVersion> {
    let rest = bytes.strip_prefix(b"HTTP/")?;
    let (major, major_len) = leading_digits(rest)?;
    let rest = rest[major_len..].strip_prefix(b".")?;
    let (minor, minor_len) = leading_digits(rest)?;
    (minor_len == rest.len()).then_some(HttpVersion { major, minor })
}

/// Where the request URI lives.
#[derive(Debug, Clone)]
enum UriText {
    /// A range of the head bytes.
    Source { start: usize, end: usize },
    /// Set by [`RequestHead::set_uri`] or defaulted to `/` by absolute-form rewriting.
    Owned(Box<[u8]>),
}

/// A parsed client request head.
#[derive(Debug, Clone)]
pub struct RequestHead {
    headers: HeaderMap,
    method_len: usize,
    uri: UriText,
    version: HttpVersion,
}

/// The pieces of a request line, as offsets into the line.
struct RequestLine {
    method_len: usize,
    uri_start: usize,
    uri_end: usize,
    version: HttpVersion,
}

fn is_word_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || byte == b'_'
}

/// `^(\w+) (\*|\S*?) HTTP/(\d+)\.(\d+)$`
fn parse_request_line(line: &[u8]) -> Option<RequestLine> {
    let method_len = line.iter().take_while(|&&b| is_word_byte(b)).count();
    if method_len == 0 || line.get(method_len) != Some(&b' ') {
        return None;
    }
    let uri_start = method_len + 1;
    let uri_len = line[uri_start..]
        .iter()
        .take_while(|&&b| !is_perl_space(b))
        .count();
    let uri_end = uri_start + uri_len;
    let version = parse_version(line[uri_end..].strip_prefix(b" ")?)?;
    Some(RequestLine {
        method_len,
        uri_start,
        uri_end,
        version,
    })
}

/// HTTP-7: for `http://host[:port][/path]` returns `(host, path)`; `path` is `None` for "/".
fn split_absolute_uri(uri: &[u8]) -> Option<(&[u8], Option<&[u8]>)> {
    let rest = uri.strip_prefix(b"http://")?;
    let host_len = rest.iter().take_while(|&&b| b != b'/' && b != b':').count();
    if host_len == 0 {
        return None;
    }
    let (host, mut rest) = rest.split_at(host_len);
    if let Some(port) = rest.strip_prefix(b":") {
        let (_, digits) = leading_digits(port)?;
        rest = &port[digits..];
    }
    match rest {
        [] => Some((host, None)),
        [b'/', ..] => Some((host, Some(rest))),
        _ => None,
    }
}

impl RequestHead {
    /// Parses a request head: the bytes before the delimiter, as found by [`HeadScanner`].
    pub fn parse(head: &[u8]) -> Result<RequestHead, HeadError> {
        if head.len() > MAX_REQUEST_HEAD_BYTES {
            return Err(HeadError::TooLarge);
        }
        let mut lines = HeadLines::new(head);
        let (_, line_end) = lines.next().unwrap_or((0, 0));
        let line = parse_request_line(&head[..line_end]).ok_or(HeadError::BadRequestLine)?;
        let mut headers = HeaderMap::with_source(head.into(), 16);
        parse_header_lines(&mut headers, lines)?;

        let mut uri = UriText::Source {
            start: line.uri_start,
            end: line.uri_end,
        };
        if let Some((host, path)) = split_absolute_uri(&head[line.uri_start..line.uri_end]) {
            uri = match path {
                Some(path) => UriText::Source {
                    start: line.uri_end - path.len(),
                    end: line.uri_end,
                },
                None => UriText::Owned(Box::from(&b"/"[..])),
            };
            headers.set("Host", host.to_ascii_lowercase());
        }
        if line.version.number() >= 1001 && matches!(headers.get("Host"), None | Some(b"" | b"0")) {
            return Err(HeadError::MissingHost);
        }
        Ok(RequestHead {
            headers,
            method_len: line.method_len,
            uri,
            version: line.version,
        })
    }

    /// The method as sent (case kept; word characters only).
    pub fn method(&self) -> &str {
        std::str::from_utf8(&self.headers.source()[..self.method_len]).unwrap_or_default()
    }

    /// Whether the method is exactly `HEAD` (the original compares case-sensitively).
    pub fn is_head(&self) -> bool {
        self.method() == "HEAD"
    }

    /// The request URI: as sent, or the path of an absolute-form URI, or as set.
    pub fn uri(&self) -> &[u8] {
        match &self.uri {
            UriText::Source { start, end } => &self.headers.source()[*start..*end],
            UriText::Owned(uri) => uri,
        }
    }

    /// Replaces the URI; an empty one is ignored, as in the original.
    pub fn set_uri(&mut self, uri: &[u8]) {
        if !uri.is_empty() {
            self.uri = UriText::Owned(uri.into());
        }
    }

    /// The version from the request line.
    pub fn version(&self) -> HttpVersion {
        self.version
    }

    /// `major * 1000 + minor` (1.0 → 1000, 1.1 → 1001).
    pub fn version_number(&self) -> u64 {
        self.version.number()
    }

    /// The headers.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// The headers, for rewriting before forwarding.
    pub fn headers_mut(&mut self) -> &mut HeaderMap {
        &mut self.headers
    }

    /// Appends `METHOD URI HTTP/x.y\r\n`, the headers and the blank line. The proxy sends
    /// [`HttpVersion::HTTP_10`] (RP-23).
    pub fn encode(&self, version: HttpVersion, out: &mut Vec<u8>) {
        self.encode_request_line(version, out);
        self.headers.encode(out);
        out.extend_from_slice(b"\r\n");
    }

    /// [`encode`](Self::encode) with `edits` applied to the headers, leaving `self` as it is.
    pub fn encode_edited(&self, version: HttpVersion, edits: &HeaderEdits<'_>, out: &mut Vec<u8>) {
        self.encode_request_line(version, out);
        self.headers.encode_edited(edits, out);
        out.extend_from_slice(b"\r\n");
    }

    fn encode_request_line(&self, version: HttpVersion, out: &mut Vec<u8>) {
        out.extend_from_slice(self.method().as_bytes());
        out.push(b' ');
        out.extend_from_slice(self.uri());
        out.push(b' ');
        version.write(out);
        out.extend_from_slice(b"\r\n");
    }
}

/// Feeds the header lines of a head to `headers`.
pub(crate) fn parse_header_lines(
    headers: &mut HeaderMap,
    lines: HeadLines<'_>,
) -> Result<(), HeadError> {
    let mut last = None;
    let mut count = 0usize;
    for (start, end) in lines {
        count += 1;
        if count > MAX_HEADER_LINES {
            return Err(HeadError::TooManyHeaders);
        }
        headers
            .parse_line(start, end, &mut last)
            .map_err(|LineError::Malformed| HeadError::BadHeaderLine)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(head: &str) -> Result<RequestHead, HeadError> {
        RequestHead::parse(head.as_bytes())
    }

    fn ok(head: &str) -> RequestHead {
        parse(head).expect("valid request head")
    }

    fn forwarded(head: &RequestHead) -> String {
        let mut out = Vec::new();
        head.encode(HttpVersion::HTTP_10, &mut out);
        String::from_utf8(out).expect("test heads are UTF-8")
    }

    #[test]
    fn http1_crlfcrlf_wins_over_earlier_lflf() {
        let buf = b"GET / HTTP/1.0\nA: b\n\nC: d\r\n\r\nbody";
        assert_eq!(
            scan_head(buf, MAX_REQUEST_HEAD_BYTES),
            HeadScan::Complete {
                head_len: 25,
                total_len: 29
            }
        );
    }

    #[test]
    fn http1_lflf_accepted_when_no_crlfcrlf() {
        let buf = b"GET / HTTP/1.0\nHost: a\n\nrest";
        assert_eq!(
            scan_head(buf, MAX_REQUEST_HEAD_BYTES),
            HeadScan::Complete {
                head_len: 22,
                total_len: 24
            }
        );
        assert_eq!(scan_head(b"GET / HTTP/1.0\r\n", 100), HeadScan::Incomplete);
    }

    #[test]
    fn http2_head_must_end_within_limit() {
        let mut buf = vec![b'a'; MAX_REQUEST_HEAD_BYTES - 4];
        buf.extend_from_slice(b"\r\n\r\n");
        assert!(matches!(
            scan_head(&buf, MAX_REQUEST_HEAD_BYTES),
            HeadScan::Complete { .. }
        ));
        let mut late = vec![b'a'; MAX_REQUEST_HEAD_BYTES - 3];
        late.extend_from_slice(b"\r\n\r\n");
        assert_eq!(scan_head(&late, MAX_REQUEST_HEAD_BYTES), HeadScan::TooLarge);
        let short = vec![b'a'; MAX_REQUEST_HEAD_BYTES - 1];
        assert_eq!(
            scan_head(&short, MAX_REQUEST_HEAD_BYTES),
            HeadScan::Incomplete
        );
    }

    #[test]
    fn obs49_slowloris_trickle_is_scanned_incrementally_and_refused() {
        let mut scanner = HeadScanner::new(MAX_REQUEST_HEAD_BYTES);
        let mut buf = Vec::new();
        let mut outcome = HeadScan::Incomplete;
        while outcome == HeadScan::Incomplete {
            buf.extend_from_slice(b"X-Pad: 0123456789\r\n");
            outcome = scanner.scan(&buf);
        }
        assert_eq!(outcome, HeadScan::TooLarge);
    }

    #[test]
    fn incremental_scan_finds_delimiter_split_across_reads() {
        let whole = b"GET / HTTP/1.0\r\nA: b\r\n\r\n";
        for split in 1..whole.len() {
            let mut scanner = HeadScanner::new(MAX_REQUEST_HEAD_BYTES);
            let first = scanner.scan(&whole[..split]);
            let second = scanner.scan(whole);
            let expected = HeadScan::Complete {
                head_len: 20,
                total_len: 24,
            };
            assert!(
                first == HeadScan::Incomplete || first == expected,
                "split {split}"
            );
            assert_eq!(second, expected, "split {split}");
        }
    }

    #[test]
    fn http8_stray_crlf_after_post() {
        assert_eq!(stray_crlf_len(b"\r\nGET / HTTP/1.0\r\n\r\n"), 2);
        assert_eq!(stray_crlf_len(b"\r\n"), 2);
        assert_eq!(stray_crlf_len(b"\r"), 0);
        assert_eq!(stray_crlf_len(b"GET"), 0);
    }

    #[test]
    fn http3_request_line_grammar() {
        let head = ok("get /a?b=c HTTP/1.0");
        assert_eq!(head.method(), "get");
        assert_eq!(head.uri(), b"/a?b=c");
        assert_eq!(head.version_number(), 1000);
        assert_eq!(ok("OPTIONS * HTTP/1.0").uri(), b"*");
        assert_eq!(ok("GET  HTTP/1.0").uri(), b"");
        assert_eq!(ok("GET HTTP/1.0 HTTP/1.0").uri(), b"HTTP/1.0");
        assert_eq!(ok("X_1 /\x01\x7f HTTP/1.0").method(), "X_1");
    }

    #[test]
    fn http3_any_version_is_accepted() {
        assert_eq!(ok("GET / HTTP/2.0\r\nHost: a").version_number(), 2000);
        assert_eq!(ok("GET / HTTP/0.9").version_number(), 9);
        assert_eq!(ok("GET / HTTP/01.01\r\nHost: a").version_number(), 1001);
        let huge = ok("GET / HTTP/99999999999999999999999.0\r\nHost: a");
        assert_eq!(huge.version_number(), u64::MAX);
    }

    #[test]
    fn obs4_bad_request_lines_are_refused() {
        for line in [
            "",
            "garbage",
            "GET /",
            "GET / HTTP/1",
            "GET / HTTP/1.0 ",
            "GET /  HTTP/1.0",
            "GET\t/ HTTP/1.0",
            " GET / HTTP/1.0",
            "GET / http/1.0",
            "GET / HTTP/1.0\r",
            "G-T / HTTP/1.0",
            "GET /a b HTTP/1.0",
        ] {
            assert_eq!(
                parse(line).err(),
                Some(HeadError::BadRequestLine),
                "{line:?}"
            );
        }
    }

    #[test]
    fn http1_request_line_keeping_cr_from_lflf_delimiter_is_refused() {
        // `GET / HTTP/1.0\r\n\n`: the head ends at `\n\n`, so the line keeps its `\r`.
        let buf = b"GET / HTTP/1.0\r\n\n";
        let HeadScan::Complete { head_len, .. } = scan_head(buf, MAX_REQUEST_HEAD_BYTES) else {
            panic!("delimiter not found");
        };
        assert_eq!(
            RequestHead::parse(&buf[..head_len]).err(),
            Some(HeadError::BadRequestLine)
        );
    }

    #[test]
    fn header_value_keeps_cr_before_lflf_delimiter() {
        let head = ok("GET / HTTP/1.0\r\nHost: a\r");
        assert_eq!(head.headers().get("host"), Some(&b"a\r"[..]));
    }

    #[test]
    fn trailing_empty_lines_are_ignored_leading_are_not() {
        assert!(parse("GET / HTTP/1.0\nA: b\n\n").is_ok());
        assert_eq!(
            parse("\r\nGET / HTTP/1.0").err(),
            Some(HeadError::BadRequestLine)
        );
        assert_eq!(
            parse("GET / HTTP/1.0\r\nA: b\r\n\r\nC: d").err(),
            Some(HeadError::BadHeaderLine)
        );
    }

    #[test]
    fn obs4_header_line_without_colon_is_refused() {
        assert_eq!(
            parse("GET / HTTP/1.0\r\nNoColon").err(),
            Some(HeadError::BadHeaderLine)
        );
    }

    #[test]
    fn obs4_http11_without_host_is_refused() {
        assert_eq!(
            parse("GET /hello HTTP/1.1").err(),
            Some(HeadError::MissingHost)
        );
        assert_eq!(
            parse("GET / HTTP/1.1\r\nHost:").err(),
            Some(HeadError::MissingHost)
        );
        assert_eq!(
            parse("GET / HTTP/1.1\r\nHost: 0").err(),
            Some(HeadError::MissingHost)
        );
        assert_eq!(
            parse("GET / HTTP/0.1001").err(),
            Some(HeadError::MissingHost)
        );
        assert!(parse("GET / HTTP/1.0").is_ok());
        assert!(parse("GET / HTTP/1.1\r\nhost: x").is_ok());
    }

    #[test]
    fn obs9_absolute_uri_rewrites_path_and_host_in_place() {
        let head = ok("GET http://Other.Example:99/echo?x=1 HTTP/1.1\r\nHost: a\r\nX: y");
        assert_eq!(head.uri(), b"/echo?x=1");
        assert_eq!(
            forwarded(&head),
            "GET /echo?x=1 HTTP/1.0\r\nHost: other.example\r\nX: y\r\n\r\n"
        );
    }

    #[test]
    fn http7_absolute_uri_variants() {
        let bare = ok("GET http://WWW.Foo.com HTTP/1.0");
        assert_eq!(bare.uri(), b"/");
        assert_eq!(bare.headers().get("Host"), Some(&b"www.foo.com"[..]));
        assert_eq!(ok("GET http://h:80 HTTP/1.0").uri(), b"/");
        assert_eq!(
            ok("GET http://h?q HTTP/1.0").headers().get("host"),
            Some(&b"h?q"[..])
        );
        // Not recognised: kept as sent, Host untouched.
        for uri in [
            "https://h/x",
            "HTTP://h/x",
            "http://h:ab/x",
            "http:///x",
            "http://h:/x",
        ] {
            let head = ok(&format!("GET {uri} HTTP/1.0"));
            assert_eq!(head.uri(), uri.as_bytes());
            assert_eq!(head.headers().get("host"), None, "{uri}");
        }
        // The rewritten Host satisfies HTTP/1.1.
        assert!(parse("GET http://h/ HTTP/1.1").is_ok());
    }

    /// Bytes a backend received from Perlbal 1.80 (HEADER remove/insert of `x-foo`, `x-gone`,
    /// `x-new` configured), rebuilt with the same edits in the same order.
    #[test]
    fn obs10_obs45_forwarded_request_matches_reference() {
        let mut head = ok(
            "GET http://Other.Example:99/echo?x=1 HTTP/1.1\r\nA: 1\r\nHost: a\r\n\
             Foo: a\r\n  continued\r\nFoo: second\r\nCookie: a=1\r\nSet-Cookie: s=1\r\n\
             Cookie: b=2\r\nset-cookie: s=2\r\nConnection: close",
        );
        let headers = head.headers_mut();
        headers.set("Connection", "close");
        headers.set("X-Forwarded-For", "127.0.0.1");
        headers.remove("x-foo");
        headers.remove("x-gone");
        headers.set("x-foo", "inserted");
        headers.set("x-new", "n");
        assert_eq!(
            forwarded(&head),
            "GET /echo?x=1 HTTP/1.0\r\nA: 1\r\nHost: other.example\r\nFoo: a  continued, second\r\n\
             Cookie: a=1, b=2\r\nSet-Cookie: s=1\r\nSet-Cookie: s=2\r\nConnection: close\r\n\
             X-Forwarded-For: 127.0.0.1\r\nx-foo: inserted\r\nx-new: n\r\n\r\n"
        );
        let mut client_spelling = ok("GET /echo HTTP/1.0\r\nA: 1\r\nx-FOO: client\r\nB: 2");
        client_spelling.headers_mut().remove("x-foo");
        client_spelling.headers_mut().set("x-foo", "inserted");
        assert_eq!(
            forwarded(&client_spelling),
            "GET /echo HTTP/1.0\r\nA: 1\r\nx-FOO: inserted\r\nB: 2\r\n\r\n"
        );
    }

    #[test]
    fn rp23_encode_forces_version_and_keeps_method_case() {
        let head = ok("pOsT /x HTTP/1.1\r\nHost: a\r\nContent-Length: 3");
        assert_eq!(
            forwarded(&head),
            "pOsT /x HTTP/1.0\r\nHost: a\r\nContent-Length: 3\r\n\r\n"
        );
        assert_eq!(forwarded(&ok("GET / HTTP/1.0")), "GET / HTTP/1.0\r\n\r\n");
    }

    #[test]
    fn set_uri_ignores_empty() {
        let mut head = ok("GET /a HTTP/1.0");
        head.set_uri(b"");
        assert_eq!(head.uri(), b"/a");
        head.set_uri(b"/b");
        assert_eq!(head.uri(), b"/b");
        assert!(!head.is_head());
        assert!(ok("HEAD / HTTP/1.0").is_head());
        assert!(!ok("head / HTTP/1.0").is_head());
    }

    #[test]
    fn header_flood_is_refused() {
        let mut head = String::from("GET / HTTP/1.0");
        for n in 0..=MAX_HEADER_LINES {
            head.push_str(&format!("\r\nh{n}: v"));
        }
        assert_eq!(parse(&head).err(), Some(HeadError::TooManyHeaders));
    }

    #[test]
    fn oversized_request_head_is_refused() {
        let head = vec![b'a'; MAX_REQUEST_HEAD_BYTES + 1];
        assert_eq!(RequestHead::parse(&head).err(), Some(HeadError::TooLarge));
    }
}
