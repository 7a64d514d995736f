//! The one place that decides how message bodies are delimited: requests (HTTP-16..18,
//! RP-26..29, WS-17/18/24) and backend responses (RP-32..34).
//!
//! Requests, in this order:
//!
//! | situation | original Perlbal | here |
//! |---|---|---|
//! | `Content-Length` and `Transfer-Encoding` both present | proxy: CL used, TE forwarded (or the reverse with `buffer_uploads`); web PUT: TE wins | 400 [`FramingError::ContentLengthWithTransferEncoding`] |
//! | TE exactly `chunked` (case-sensitive, HTTP-16), proxy with `buffer_uploads` or web PUT | chunked | [`RequestBody::Chunked`] |
//! | TE exactly `chunked`, proxy without `buffer_uploads` | headers sent to the backend, then `400 Can't pipeline to HTTP/1.0` (RP-29) | 400 [`FramingError::ChunkedNotBuffered`] before any backend is involved |
//! | any other TE value (`Chunked`, `gzip, chunked`, two TE headers…) | TE ignored: the body is read as the next request or refused as pipelining | 400 [`FramingError::UnsupportedTransferEncoding`] |
//! | proxy HEAD | no body, whatever CL says | [`RequestBody::None`] |
//! | CL repeated with different values (merged to `5, 7`) | Perl number of the merged string: the first value | 400 [`FramingError::ConflictingContentLength`] |
//! | CL negative | proxy: `400 Invalid request: Content-Length < 0`; web PUT: `400 Content-length of -N is invalid.` | same, [`FramingError::NegativeContentLength`] |
//! | web PUT, CL without any leading number (`abc`, empty) | counts as 0 (HTTP-18) | same: [`RequestBody::None`] |
//! | CL with trailing garbage (`5abc`, `1e3`, `+5`, `5.5`, `0x10`) | Perl number of the prefix (proxy: undefined behaviour) | 400 [`FramingError::InvalidContentLength`] |
//!
//! A framing error leaves the request boundary unknown: answer it and close the connection.
//! web_server GET/HEAD/DELETE never read a body (WS-24); when [`request_body`] reports one (or
//! an error) for [`BodyRole::Web`], answer and close instead of parsing the body as the next
//! request (the original did the latter — a request-smuggling vector).
//!
//! Responses: a `Transfer-Encoding` other than `identity` makes `Content-Length` meaningless, so
//! it is removed before forwarding (RP-32) and the body runs until the backend closes (RP-34);
//! HEAD, 1xx, 204 and 304 have no body; otherwise `Content-Length` (strictly parsed) or
//! until close.

use std::borrow::Cow;

use crate::head::RequestHead;
use crate::keepalive::find_word;
use crate::response_head::ResponseHead;

/// The interim response sent before reading a chunked body when the client expects it
/// (HTTP-17).
pub const CONTINUE_RESPONSE: &[u8] = b"HTTP/1.1 100 Continue\r\n\r\n";

/// How a request body is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestBody {
    /// No body bytes follow the head.
    None,
    /// Exactly this many bytes follow.
    Length(u64),
    /// A chunked body follows (see [`crate::ChunkedDecoder`]).
    Chunked,
}

/// Which handler will consume the body; the rules differ slightly (see module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyRole {
    /// reverse_proxy; chunked bodies need `buffer_uploads` (RP-28).
    Proxy { buffer_uploads: bool },
    /// web_server PUT (WS-17, WS-18).
    WebPut,
    /// Any other web_server request; its body is never read (WS-24).
    Web,
}

/// Why a request's (or response's) framing was refused. Requests: answer 400 and close.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum FramingError {
    /// Both `Content-Length` and `Transfer-Encoding` are present.
    ContentLengthWithTransferEncoding,
    /// `Transfer-Encoding` is present but not exactly `chunked`.
    UnsupportedTransferEncoding,
    /// A chunked request to a reverse_proxy without `buffer_uploads` (RP-29).
    ChunkedNotBuffered,
    /// Repeated `Content-Length` values differ.
    ConflictingContentLength,
    /// `Content-Length` is not a decimal number (or does not fit in 64 bits).
    InvalidContentLength,
    /// `Content-Length` is `-magnitude`.
    NegativeContentLength { magnitude: u64 },
}

impl FramingError {
    /// The message of the 400 page for `role`, as the original words it where it has one.
    pub fn message(self, role: BodyRole) -> Cow<'static, str> {
        match (self, role) {
            (FramingError::NegativeContentLength { .. }, BodyRole::Proxy { .. }) => {
                Cow::Borrowed("Invalid request: Content-Length < 0")
            }
            (FramingError::NegativeContentLength { magnitude }, _) => {
                Cow::Owned(format!("Content-length of -{magnitude} is invalid."))
            }
            (FramingError::ChunkedNotBuffered, _) => Cow::Borrowed("Can't pipeline to HTTP/1.0"),
            _ => Cow::Borrowed(""),
        }
    }
}

impl std::fmt::Display for FramingError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FramingError::ContentLengthWithTransferEncoding => {
                f.write_str("both Content-Length and Transfer-Encoding")
            }
            FramingError::UnsupportedTransferEncoding => {
                f.write_str("unsupported Transfer-Encoding")
            }
            FramingError::ChunkedNotBuffered => {
                f.write_str("chunked request without buffer_uploads")
            }
            FramingError::ConflictingContentLength => f.write_str("conflicting Content-Length"),
            FramingError::InvalidContentLength => f.write_str("invalid Content-Length"),
            FramingError::NegativeContentLength { magnitude } => {
                write!(f, "negative Content-Length -{magnitude}")
            }
        }
    }
}

impl std::error::Error for FramingError {}

fn trim_ows(value: &[u8]) -> &[u8] {
    let start = value
        .iter()
        .position(|&b| b != b' ' && b != b'\t')
        .unwrap_or(value.len());
    let end = value
        .iter()
        .rposition(|&b| b != b' ' && b != b'\t')
        .map_or(start, |last| last + 1);
    &value[start..end]
}

fn all_digits(bytes: &[u8]) -> bool {
    !bytes.is_empty() && bytes.iter().all(u8::is_ascii_digit)
}

fn decimal(digits: &[u8]) -> Result<u64, FramingError> {
    digits
        .iter()
        .try_fold(0u64, |acc, &b| {
            acc.checked_mul(10)?.checked_add(u64::from(b - b'0'))
        })
        .ok_or(FramingError::InvalidContentLength)
}

/// One Content-Length item: `\d+`, or `-\d+` reported as negative (when not zero).
fn strict_length(item: &[u8]) -> Result<u64, FramingError> {
    let item = trim_ows(item);
    if all_digits(item) {
        return decimal(item);
    }
    match item.strip_prefix(b"-") {
        Some(digits) if all_digits(digits) => match decimal(digits)? {
            0 => Err(FramingError::InvalidContentLength),
            magnitude => Err(FramingError::NegativeContentLength { magnitude }),
        },
        _ => Err(FramingError::InvalidContentLength),
    }
}

/// A Content-Length value, possibly a merged list of identical values.
fn content_length(value: &[u8]) -> Result<u64, FramingError> {
    if memchr::memchr(b',', value).is_none() {
        return strict_length(value);
    }
    let mut agreed = None;
    for item in value.split(|&b| b == b',') {
        let length = strict_length(item).map_err(|_| FramingError::InvalidContentLength)?;
        if agreed.is_some_and(|first| first != length) {
            return Err(FramingError::ConflictingContentLength);
        }
        agreed = Some(length);
    }
    agreed.ok_or(FramingError::InvalidContentLength)
}

/// HTTP-18: web PUT reads `Content-Length` as a Perl number, so a value without any leading
/// number (`abc`, empty) is 0; values with a number followed by garbage are refused.
fn put_content_length(value: &[u8]) -> Result<u64, FramingError> {
    let trimmed = trim_ows(value);
    let numeric_start = match trimmed {
        [first, ..] if first.is_ascii_digit() => true,
        [b'-' | b'+' | b'.', second, ..] => second.is_ascii_digit(),
        _ => false,
    };
    if !numeric_start && memchr::memchr(b',', trimmed).is_none() {
        return Ok(0);
    }
    match content_length(value) {
        Err(FramingError::InvalidContentLength) if trimmed.starts_with(b"-") => {
            // `-0`, `-00`: Perl's number is 0.
            let digits = &trimmed[1..];
            if all_digits(digits) && digits.iter().all(|&b| b == b'0') {
                Ok(0)
            } else {
                Err(FramingError::InvalidContentLength)
            }
        }
        other => other,
    }
}

/// Decides how the body of `req` is delimited for `role` (see the module table).
pub fn request_body(req: &RequestHead, role: BodyRole) -> Result<RequestBody, FramingError> {
    let headers = req.headers();
    let length = headers.get("Content-Length");
    if let Some(coding) = headers.get("Transfer-Encoding") {
        if length.is_some() {
            return Err(FramingError::ContentLengthWithTransferEncoding);
        }
        if coding != b"chunked" {
            return Err(FramingError::UnsupportedTransferEncoding);
        }
        return match role {
            BodyRole::Proxy {
                buffer_uploads: false,
            } => Err(FramingError::ChunkedNotBuffered),
            _ => Ok(RequestBody::Chunked),
        };
    }
    if matches!(role, BodyRole::Proxy { .. }) && req.is_head() {
        return Ok(RequestBody::None);
    }
    let Some(value) = length else {
        return Ok(RequestBody::None);
    };
    let length = match role {
        BodyRole::WebPut => put_content_length(value)?,
        BodyRole::Proxy { .. } | BodyRole::Web => content_length(value)?,
    };
    Ok(match length {
        0 => RequestBody::None,
        length => RequestBody::Length(length),
    })
}

/// HTTP-17: whether `Expect` asks for `100-continue` (case-sensitive word, as the original).
pub fn expects_continue(req: &RequestHead) -> bool {
    req.headers()
        .get("Expect")
        .is_some_and(|value| find_word(value, b"100-continue", false).is_some())
}

/// RP-28: before spooling a chunked upload on the proxy, removes `Transfer-Encoding` and, when
/// it asks for `100-continue`, `Expect`. Returns whether to send [`CONTINUE_RESPONSE`]. Once
/// the body is complete, set `Content-Length` to [`crate::ChunkedDecoder::body_len`].
pub fn prepare_chunked_upload(req: &mut RequestHead) -> bool {
    let send_continue = expects_continue(req);
    let headers = req.headers_mut();
    headers.remove("Transfer-Encoding");
    if send_continue {
        headers.remove("Expect");
    }
    send_continue
}

/// How a backend response body is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponseBody {
    /// No body (HEAD request, 1xx, 204, 304).
    None,
    /// Exactly this many bytes (possibly 0).
    Length(u64),
    /// Until the backend closes; the client connection must close too.
    UntilClose,
}

/// RP-32: drops `Content-Length` when a `Transfer-Encoding` other than `identity` is present
/// (`/\bidentity\b/i`), as the original does before forwarding.
pub fn strip_length_if_transfer_coded(res: &mut ResponseHead) {
    let coded = res.headers().get("Transfer-Encoding").is_some_and(|te| {
        !te.is_empty() && te != b"0" && find_word(te, b"identity", true).is_none()
    });
    if coded {
        res.headers_mut().remove("Content-Length");
    }
}

/// RP-33: how the body of a backend response is delimited. Call after
/// [`strip_length_if_transfer_coded`]. An error means the backend's framing is unusable: do not
/// reuse the connection and do not forward the response.
pub fn response_body(
    res: &ResponseHead,
    request_was_head: bool,
) -> Result<ResponseBody, FramingError> {
    let status = res.status();
    if request_was_head || (100..200).contains(&status) || status == 204 || status == 304 {
        return Ok(ResponseBody::None);
    }
    match res.headers().get("Content-Length") {
        Some(value) => content_length(value).map(ResponseBody::Length),
        None => Ok(ResponseBody::UntilClose),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PROXY: BodyRole = BodyRole::Proxy {
        buffer_uploads: false,
    };
    const BUFFERED: BodyRole = BodyRole::Proxy {
        buffer_uploads: true,
    };

    fn framing(head: &str, role: BodyRole) -> Result<RequestBody, FramingError> {
        let req = RequestHead::parse(head.as_bytes()).expect("valid request head");
        request_body(&req, role)
    }

    use FramingError::*;
    use RequestBody::{Chunked, Length};

    /// The attack table: (name, head, role, expected).
    #[test]
    fn request_framing_attack_table() {
        let none = Ok(RequestBody::None);
        let cases: Vec<(&str, &str, BodyRole, Result<RequestBody, FramingError>)> = vec![
            ("plain_get", "GET / HTTP/1.0", PROXY, none),
            (
                "plain_post",
                "POST / HTTP/1.0\r\nContent-Length: 5",
                PROXY,
                Ok(Length(5)),
            ),
            (
                "zero_length",
                "POST / HTTP/1.0\r\nContent-Length: 0",
                PROXY,
                none,
            ),
            (
                "trailing_ows",
                "POST / HTTP/1.0\r\nContent-Length: 5 \t",
                PROXY,
                Ok(Length(5)),
            ),
            (
                "identical_duplicates",
                "POST / HTTP/1.0\r\nContent-Length: 5\r\nContent-Length: 5",
                PROXY,
                Ok(Length(5)),
            ),
            (
                "cl_te_smuggling",
                "POST / HTTP/1.0\r\nContent-Length: 5\r\nTransfer-Encoding: chunked",
                BUFFERED,
                Err(ContentLengthWithTransferEncoding),
            ),
            (
                "te_cl_smuggling",
                "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\nContent-Length: 5",
                PROXY,
                Err(ContentLengthWithTransferEncoding),
            ),
            (
                "te_cl_smuggling_put",
                "PUT /f HTTP/1.0\r\nTransfer-Encoding: chunked\r\nContent-Length: 0",
                BodyRole::WebPut,
                Err(ContentLengthWithTransferEncoding),
            ),
            (
                "conflicting_duplicate_cl",
                "POST / HTTP/1.0\r\nContent-Length: 5\r\nContent-Length: 7",
                PROXY,
                Err(ConflictingContentLength),
            ),
            (
                "conflicting_cl_list",
                "POST / HTTP/1.0\r\nContent-Length: 5,7",
                PROXY,
                Err(ConflictingContentLength),
            ),
            (
                "conflicting_duplicate_cl_put",
                "PUT /f HTTP/1.0\r\nContent-Length: 5\r\nContent-Length: 7",
                BodyRole::WebPut,
                Err(ConflictingContentLength),
            ),
            (
                "empty_list_item",
                "POST / HTTP/1.0\r\nContent-Length: 5,",
                PROXY,
                Err(InvalidContentLength),
            ),
            (
                "obfuscated_te_capital",
                "POST / HTTP/1.0\r\nTransfer-Encoding: Chunked",
                BUFFERED,
                Err(UnsupportedTransferEncoding),
            ),
            (
                "obfuscated_te_list",
                "POST / HTTP/1.0\r\nTransfer-Encoding: gzip, chunked",
                BUFFERED,
                Err(UnsupportedTransferEncoding),
            ),
            (
                "obfuscated_te_duplicate",
                "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked",
                BUFFERED,
                Err(UnsupportedTransferEncoding),
            ),
            (
                "obfuscated_te_trailing_space",
                "POST / HTTP/1.0\r\nTransfer-Encoding: chunked ",
                BUFFERED,
                Err(UnsupportedTransferEncoding),
            ),
            (
                "obfuscated_te_folded",
                "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n x",
                BUFFERED,
                Err(UnsupportedTransferEncoding),
            ),
            (
                "te_identity",
                "POST / HTTP/1.0\r\nTransfer-Encoding: identity",
                PROXY,
                Err(UnsupportedTransferEncoding),
            ),
            (
                "chunked_buffered",
                "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked",
                BUFFERED,
                Ok(Chunked),
            ),
            (
                "chunked_unbuffered_rp29",
                "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked",
                PROXY,
                Err(ChunkedNotBuffered),
            ),
            (
                "chunked_put",
                "PUT /f HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked",
                BodyRole::WebPut,
                Ok(Chunked),
            ),
            (
                "negative_cl_obs6",
                "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -5",
                PROXY,
                Err(NegativeContentLength { magnitude: 5 }),
            ),
            (
                "negative_cl_put",
                "PUT /f HTTP/1.0\r\nContent-Length: -5",
                BodyRole::WebPut,
                Err(NegativeContentLength { magnitude: 5 }),
            ),
            (
                "minus_zero_proxy",
                "POST / HTTP/1.0\r\nContent-Length: -0",
                PROXY,
                Err(InvalidContentLength),
            ),
            (
                "minus_zero_put",
                "PUT /f HTTP/1.0\r\nContent-Length: -0",
                BodyRole::WebPut,
                none,
            ),
            (
                "non_numeric_cl_proxy",
                "POST / HTTP/1.0\r\nContent-Length: abc",
                PROXY,
                Err(InvalidContentLength),
            ),
            (
                "non_numeric_cl_put_http18",
                "PUT /f HTTP/1.0\r\nContent-Length: abc",
                BodyRole::WebPut,
                none,
            ),
            (
                "empty_cl_put",
                "PUT /f HTTP/1.0\r\nContent-Length:",
                BodyRole::WebPut,
                none,
            ),
            (
                "trailing_garbage_cl",
                "POST / HTTP/1.0\r\nContent-Length: 5abc",
                PROXY,
                Err(InvalidContentLength),
            ),
            (
                "trailing_garbage_cl_put",
                "PUT /f HTTP/1.0\r\nContent-Length: 5abc",
                BodyRole::WebPut,
                Err(InvalidContentLength),
            ),
            (
                "exponent_cl_put",
                "PUT /f HTTP/1.0\r\nContent-Length: 1e3",
                BodyRole::WebPut,
                Err(InvalidContentLength),
            ),
            (
                "plus_sign_cl",
                "PUT /f HTTP/1.0\r\nContent-Length: +5",
                BodyRole::WebPut,
                Err(InvalidContentLength),
            ),
            (
                "hex_cl",
                "POST / HTTP/1.0\r\nContent-Length: 0x10",
                PROXY,
                Err(InvalidContentLength),
            ),
            (
                "fraction_cl",
                "PUT /f HTTP/1.0\r\nContent-Length: 5.5",
                BodyRole::WebPut,
                Err(InvalidContentLength),
            ),
            (
                "overflowing_cl",
                "POST / HTTP/1.0\r\nContent-Length: 18446744073709551616",
                PROXY,
                Err(InvalidContentLength),
            ),
            (
                "max_cl",
                "POST / HTTP/1.0\r\nContent-Length: 18446744073709551615",
                PROXY,
                Ok(Length(u64::MAX)),
            ),
            (
                "head_ignores_cl_on_proxy",
                "HEAD / HTTP/1.0\r\nContent-Length: -5",
                PROXY,
                none,
            ),
            (
                "head_chunked_still_chunked",
                "HEAD / HTTP/1.0\r\nTransfer-Encoding: chunked",
                BUFFERED,
                Ok(Chunked),
            ),
            (
                "get_with_body_on_web",
                "GET / HTTP/1.0\r\nContent-Length: 5",
                BodyRole::Web,
                Ok(Length(5)),
            ),
            (
                "get_smuggled_chunked_on_web",
                "GET / HTTP/1.0\r\nTransfer-Encoding: chunked",
                BodyRole::Web,
                Ok(Chunked),
            ),
            ("put_missing_cl", "PUT /f HTTP/1.0", BodyRole::WebPut, none),
        ];
        for (name, head, role, expected) in cases {
            assert_eq!(framing(head, role), expected, "{name}");
        }
    }

    #[test]
    fn framing_error_messages() {
        let negative = NegativeContentLength { magnitude: 5 };
        assert_eq!(
            negative.message(PROXY),
            "Invalid request: Content-Length < 0"
        );
        assert_eq!(
            negative.message(BodyRole::WebPut),
            "Content-length of -5 is invalid."
        );
        assert_eq!(
            ChunkedNotBuffered.message(PROXY),
            "Can't pipeline to HTTP/1.0"
        );
        assert_eq!(ConflictingContentLength.message(PROXY), "");
    }

    fn request(head: &str) -> RequestHead {
        RequestHead::parse(head.as_bytes()).expect("valid request head")
    }

    #[test]
    fn http17_expect_continue_is_a_case_sensitive_word() {
        assert!(expects_continue(&request(
            "PUT /f HTTP/1.0\r\nExpect: 100-continue"
        )));
        assert!(expects_continue(&request(
            "PUT /f HTTP/1.0\r\nExpect: x, 100-continue"
        )));
        assert!(!expects_continue(&request(
            "PUT /f HTTP/1.0\r\nExpect: 100-Continue"
        )));
        assert!(!expects_continue(&request(
            "PUT /f HTTP/1.0\r\nExpect: 1100-continue"
        )));
        assert!(!expects_continue(&request("PUT /f HTTP/1.0")));
    }

    #[test]
    fn obs8_chunked_upload_headers_rewritten_for_backend() {
        let mut req = request(
            "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\
             Expect: 100-continue\r\nX: y",
        );
        assert!(prepare_chunked_upload(&mut req));
        req.headers_mut().set_u64("Content-Length", 11);
        let mut out = Vec::new();
        req.encode(crate::HttpVersion::HTTP_10, &mut out);
        assert_eq!(
            out,
            b"POST /echo HTTP/1.0\r\nHost: a\r\nX: y\r\nContent-Length: 11\r\n\r\n"
        );
        let mut other = request("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\nExpect: x");
        assert!(!prepare_chunked_upload(&mut other));
        assert_eq!(other.headers().get("Expect"), Some(&b"x"[..]));
    }

    fn response(head: &str) -> ResponseHead {
        ResponseHead::parse(head.as_bytes()).expect("valid response head")
    }

    #[test]
    fn obs13_transfer_coded_response_loses_content_length() {
        let mut res =
            response("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 99");
        strip_length_if_transfer_coded(&mut res);
        assert_eq!(res.headers().get("Content-Length"), None);
        assert_eq!(response_body(&res, false), Ok(ResponseBody::UntilClose));
        let mut identity =
            response("HTTP/1.1 200 OK\r\nTransfer-Encoding: Identity\r\nContent-Length: 9");
        strip_length_if_transfer_coded(&mut identity);
        assert_eq!(response_body(&identity, false), Ok(ResponseBody::Length(9)));
    }

    #[test]
    fn rp33_response_body_lengths() {
        let sized = response("HTTP/1.0 200 OK\r\nContent-Length: 12");
        assert_eq!(response_body(&sized, false), Ok(ResponseBody::Length(12)));
        assert_eq!(response_body(&sized, true), Ok(ResponseBody::None));
        for status in ["100 Continue", "204 No Content", "304 Not Modified"] {
            let head = response(&format!("HTTP/1.1 {status}\r\nContent-Length: 5"));
            assert_eq!(
                response_body(&head, false),
                Ok(ResponseBody::None),
                "{status}"
            );
        }
        let open_ended = response("HTTP/1.0 200 OK");
        assert_eq!(
            response_body(&open_ended, false),
            Ok(ResponseBody::UntilClose)
        );
        let zero = response("HTTP/1.0 200 OK\r\nContent-Length: 0");
        assert_eq!(response_body(&zero, false), Ok(ResponseBody::Length(0)));
    }

    #[test]
    fn backend_response_splitting_attempts_are_refused() {
        let conflicting = response("HTTP/1.0 200 OK\r\nContent-Length: 5\r\nContent-Length: 50");
        assert_eq!(
            response_body(&conflicting, false),
            Err(ConflictingContentLength)
        );
        let garbage = response("HTTP/1.0 200 OK\r\nContent-Length: 5x");
        assert_eq!(response_body(&garbage, false), Err(InvalidContentLength));
    }
}
