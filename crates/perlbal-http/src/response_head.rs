//! Backend response heads: parsing the status line and headers (RP-31) and writing the head
//! Perlbal sends to clients (HTTP-9, HTTP-10, RP-32).
//!
//! Status line grammar of the original: `^HTTP/(\d+)\.(\d+)\s+(\d+)\s+(.*)$`; the reason is
//! kept as sent (leading whitespace dropped). ⚠ RP-31/LIM-15: the original also requires the
//! whitespace after the code, so `HTTP/1.0 299` is refused and the client hangs; we accept it
//! with an empty reason, as the 1.74 changelog promised.
//!
//! Output is always `HTTP/1.0 <code> <reason>`: the backend's reason when it is not empty (or
//! `0`, which Perl treats as false), else the phrase from [`crate::status`], possibly empty
//! with the space kept. [`ResponseHead::set_status`] drops the backend's reason, like the
//! original's `code()`.

use crate::head::{
    leading_digits, parse_header_lines, HeadError, HeadLines, HttpVersion, MAX_RESPONSE_HEAD_BYTES,
};
use crate::headers::{is_perl_space, HeaderMap};
use crate::status::{reason_phrase, write_status_line};

/// Highest status code accepted from a backend (the original passes 4-digit codes through;
/// it would print absurdly long ones as floating-point numbers).
const MAX_STATUS_CODE: u64 = u16::MAX as u64;

/// A response head: parsed from a backend, or built for a reply Perlbal generates.
#[derive(Debug, Clone)]
pub struct ResponseHead {
    headers: HeaderMap,
    status: u16,
    /// The backend's reason phrase as a range of the head bytes, until the status is changed.
    reason: Option<(usize, usize)>,
    version: HttpVersion,
}

/// The pieces of a status line, as offsets into the line.
struct StatusLine {
    version: HttpVersion,
    status: u16,
    reason: Option<(usize, usize)>,
}

fn skip_spaces(bytes: &[u8], mut at: usize) -> usize {
    while bytes.get(at).is_some_and(|&b| is_perl_space(b)) {
        at += 1;
    }
    at
}

/// `^HTTP/(\d+)\.(\d+)\s+(\d+)(\s+(.*))?$` — the trailing part optional (RP-31 divergence).
fn parse_status_line(line: &[u8]) -> Option<StatusLine> {
    let mut at = b"HTTP/".len();
    if !line.starts_with(b"HTTP/") {
        return None;
    }
    let (major, len) = leading_digits(&line[at..])?;
    at += len;
    if line.get(at) != Some(&b'.') {
        return None;
    }
    at += 1;
    let (minor, len) = leading_digits(&line[at..])?;
    at += len;
    let code_start = skip_spaces(line, at);
    if code_start == at {
        return None;
    }
    let (code, len) = leading_digits(&line[code_start..])?;
    if code > MAX_STATUS_CODE {
        return None;
    }
    let after_code = code_start + len;
    let reason_start = skip_spaces(line, after_code);
    if reason_start == after_code && after_code != line.len() {
        return None;
    }
    Some(StatusLine {
        version: HttpVersion { major, minor },
        status: code as u16,
        reason: (reason_start < line.len()).then_some((reason_start, line.len())),
    })
}

impl ResponseHead {
    /// A head for a reply Perlbal generates: no headers yet, phrase from the table.
    pub fn new(status: u16) -> ResponseHead {
        ResponseHead {
            headers: HeaderMap::with_capacity(8),
            status,
            reason: None,
            version: HttpVersion::HTTP_10,
        }
    }

    /// Parses a backend response head: the bytes before the delimiter, as found by
    /// [`crate::HeadScanner`] with [`MAX_RESPONSE_HEAD_BYTES`].
    pub fn parse(head: &[u8]) -> Result<ResponseHead, HeadError> {
        if head.len() > MAX_RESPONSE_HEAD_BYTES {
            return Err(HeadError::TooLarge);
        }
        let mut lines = HeadLines::new(head);
        let (_, line_end) = lines.next().unwrap_or((0, 0));
        let line = parse_status_line(&head[..line_end]).ok_or(HeadError::BadStatusLine)?;
        let mut headers = HeaderMap::with_source(head.into(), 16);
        parse_header_lines(&mut headers, lines)?;
        Ok(ResponseHead {
            headers,
            status: line.status,
            reason: line.reason,
            version: line.version,
        })
    }

    /// The status code.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// Changes the status code; the backend's reason phrase is dropped (the table's is used).
    pub fn set_status(&mut self, status: u16) {
        self.status = status;
        self.reason = None;
    }

    /// The reason phrase as the backend sent it (empty if none or after [`Self::set_status`]).
    pub fn reason(&self) -> &[u8] {
        match self.reason {
            Some((start, end)) => &self.headers.source()[start..end],
            None => b"",
        }
    }

    /// The phrase that [`Self::encode`] writes.
    pub fn effective_reason(&self) -> &[u8] {
        match self.reason() {
            b"" | b"0" => reason_phrase(self.status).as_bytes(),
            sent => sent,
        }
    }

    /// The version of the backend's status line (HTTP/1.0 for generated heads).
    pub fn version(&self) -> HttpVersion {
        self.version
    }

    /// `major * 1000 + minor` of the backend's status line.
    pub fn version_number(&self) -> u64 {
        self.version.number()
    }

    /// The headers.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// The headers, for rewriting before sending to the client.
    pub fn headers_mut(&mut self) -> &mut HeaderMap {
        &mut self.headers
    }

    /// Appends `HTTP/1.0 <code> <reason>\r\n`, the headers and the blank line (HTTP-9).
    pub fn encode(&self, out: &mut Vec<u8>) {
        write_status_line(out, self.status, self.effective_reason());
        self.headers.encode(out);
        out.extend_from_slice(b"\r\n");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(head: &str) -> ResponseHead {
        ResponseHead::parse(head.as_bytes()).expect("valid response head")
    }

    fn encoded(head: &ResponseHead) -> String {
        let mut out = Vec::new();
        head.encode(&mut out);
        String::from_utf8(out).expect("test heads are UTF-8")
    }

    #[test]
    fn obs14_custom_reason_is_kept_and_version_downgraded() {
        let head = parse("HTTP/1.1 299 Custom Reason Here\r\nServer: Apache");
        assert_eq!(head.status(), 299);
        assert_eq!(head.version_number(), 1001);
        assert_eq!(
            encoded(&head),
            "HTTP/1.0 299 Custom Reason Here\r\nServer: Apache\r\n\r\n"
        );
    }

    #[test]
    fn obs14_empty_backend_reason_is_replaced_from_table() {
        assert_eq!(encoded(&parse("HTTP/1.0 200 ")), "HTTP/1.0 200 OK\r\n\r\n");
        assert_eq!(encoded(&parse("HTTP/1.0 201 ")), "HTTP/1.0 201 \r\n\r\n");
    }

    #[test]
    fn perl_false_reason_zero_is_replaced_from_table() {
        assert_eq!(
            encoded(&parse("HTTP/1.0 404 0")),
            "HTTP/1.0 404 Not Found\r\n\r\n"
        );
    }

    #[test]
    fn rp31_status_line_without_reason_is_accepted() {
        let head = parse("HTTP/1.0 299\r\nX: y");
        assert_eq!(head.reason(), b"");
        assert_eq!(encoded(&head), "HTTP/1.0 299 \r\nX: y\r\n\r\n");
        assert_eq!(encoded(&parse("HTTP/1.0 200")), "HTTP/1.0 200 OK\r\n\r\n");
    }

    #[test]
    fn four_digit_status_passes_through_like_the_original() {
        assert_eq!(
            encoded(&parse("HTTP/1.0 1000 Big")),
            "HTTP/1.0 1000 Big\r\n\r\n"
        );
    }

    #[test]
    fn status_line_whitespace_runs_and_leading_zero_code() {
        let head = parse("HTTP/1.1\t 0200  \tFine  ");
        assert_eq!(head.status(), 200);
        assert_eq!(head.reason(), b"Fine  ");
        assert_eq!(encoded(&head), "HTTP/1.0 200 Fine  \r\n\r\n");
    }

    #[test]
    fn bogus_status_lines_are_refused() {
        for line in [
            "",
            "HTTP/1.0",
            "HTTP/1.0200 OK",
            "HTTP/1.0 OK",
            "HTTP/1.0 200OK",
            "http/1.0 200 OK",
            "HTTP/1 200 OK",
            "HTTP/1.x 200 OK",
            "ICY 200 OK",
            " HTTP/1.0 200 OK",
            "HTTP/1.0 65536 Too Big",
        ] {
            assert_eq!(
                ResponseHead::parse(line.as_bytes()).err(),
                Some(HeadError::BadStatusLine),
                "{line:?}"
            );
        }
    }

    #[test]
    fn response_header_lines_follow_request_rules() {
        let head =
            parse("HTTP/1.0 200 OK\r\nSet-Cookie: a=1\r\nX-Dup: 1\r\nSet-Cookie: b=2\r\nX-Dup: 2");
        assert_eq!(
            encoded(&head),
            "HTTP/1.0 200 OK\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\nX-Dup: 1, 2\r\n\r\n"
        );
        assert_eq!(
            ResponseHead::parse(b"HTTP/1.0 200 OK\r\nbad line").err(),
            Some(HeadError::BadHeaderLine)
        );
    }

    #[test]
    fn set_status_drops_backend_reason() {
        let mut head = parse("HTTP/1.0 204 Nothing Here");
        head.set_status(200);
        assert_eq!(encoded(&head), "HTTP/1.0 200 OK\r\n\r\n");
        let mut same = parse("HTTP/1.0 200 Fine");
        same.set_status(200);
        assert_eq!(encoded(&same), "HTTP/1.0 200 OK\r\n\r\n");
    }

    #[test]
    fn generated_head_uses_table_phrase() {
        let mut head = ResponseHead::new(416);
        head.headers_mut().set("Content-Range", "bytes */20");
        assert_eq!(
            encoded(&head),
            "HTTP/1.0 416 Request range not satisfiable\r\nContent-Range: bytes */20\r\n\r\n"
        );
    }

    #[test]
    fn oversized_response_head_is_refused() {
        let head = vec![b'a'; MAX_RESPONSE_HEAD_BYTES + 1];
        assert_eq!(ResponseHead::parse(&head).err(), Some(HeadError::TooLarge));
    }
}
