//! Sans-IO HTTP/1 protocol code for perlbal (no sockets, no runtime).
//!
//! Everything here takes bytes and returns values, following the original Perl Perlbal 1.80
//! byte for byte where its behaviour is sound and diverging (documented per item) where it is
//! not:
//!
//! * [`headers`] — [`HeaderMap`], Perlbal's ordered, merging header model;
//! * [`head`] — finding and parsing request heads ([`RequestHead`]);
//! * [`response_head`] — backend response heads ([`ResponseHead`]);
//! * [`status`] — the reason-phrase table;
//! * [`response`] — the replies Perlbal generates (error pages, file reply heads);
//! * [`keepalive`] — client and backend persistence decisions;
//! * [`forward`] — the request a reverse proxy sends to its backend;
//! * [`framing`] — request/response body framing, the one place deciding CL vs chunked;
//! * [`chunked`] — the incremental chunked-body decoder;
//! * [`reproxy`] — what a backend asks the proxy to fetch instead (`X-REPROXY-*`);
//! * [`range`] and [`conditional`] — byte ranges and `If-Modified-Since`;
//! * [`uri`] — URL decoding and the web server's path rules;
//! * [`date`] — HTTP dates and a per-second cached "now";
//! * [`mime`] — the editable extension → MIME type table.
//!
//! A client connection drives it like this:
//!
//! ```
//! use perlbal_http::{
//!     request_body, scan_head, BodyRole, HeadScan, KeepAlivePolicy, RequestBody, RequestHead,
//!     SimpleResponse, MAX_REQUEST_HEAD_BYTES,
//! };
//!
//! let buf = b"POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello";
//! let HeadScan::Complete { head_len, total_len } = scan_head(buf, MAX_REQUEST_HEAD_BYTES) else {
//!     panic!("head incomplete"); // a server reads more, or closes on `TooLarge`
//! };
//! let req = RequestHead::parse(&buf[..head_len]).expect("valid head"); // Err: close, no reply
//! let body = request_body(&req, BodyRole::Web).expect("valid framing");
//! assert_eq!(body, RequestBody::Length(5));
//! assert_eq!(&buf[total_len..], b"hello");
//!
//! // The web server does not read POST bodies: answer 400 and close (body unread).
//! let policy = KeepAlivePolicy { persist_client: true, idle_timeout: 30 };
//! let page = SimpleResponse {
//!     status: 400,
//!     message: "",
//!     server_tokens: true,
//!     persistence: policy.decide(&req, 400, true, false),
//!     head_request: req.is_head(),
//! };
//! let mut out = Vec::new();
//! page.write(&mut out);
//! assert!(out.starts_with(b"HTTP/1.0 400 Bad request\r\n"));
//! assert!(out.ends_with(b"Connection: close\r\n\r\n<h1>400 - Bad request</h1>\n"));
//! ```
#![forbid(unsafe_code)]

pub mod chunked;
pub mod conditional;
pub mod date;
pub mod forward;
pub mod framing;
pub mod head;
pub mod headers;
pub mod keepalive;
pub mod mime;
pub mod range;
pub mod reproxy;
pub mod response;
pub mod response_head;
pub mod status;
pub mod uri;

pub use chunked::{ChunkedDecoder, ChunkedError, ChunkedProgress};
pub use conditional::not_modified;
pub use date::{DateCache, HttpDate};
pub use framing::{
    expects_continue, prepare_chunked_upload, request_body, response_body,
    strip_length_if_transfer_coded, BodyRole, FramingError, RequestBody, ResponseBody,
    CONTINUE_RESPONSE,
};
pub use head::{
    scan_head, stray_crlf_len, HeadError, HeadScan, HeadScanner, HttpVersion, RequestHead,
    MAX_HEADER_LINES, MAX_REQUEST_HEAD_BYTES, MAX_RESPONSE_HEAD_BYTES,
};
pub use headers::{HeaderEdits, HeaderMap};
pub use keepalive::{
    backend_keep_alive_timeout, backend_keeps_alive, request_wants_keep_alive,
    response_length_known, verify_reply_keeps_alive, KeepAlivePolicy, Persistence,
};
pub use mime::MimeTable;
pub use range::{decide_range, RangeDecision};
pub use response::{full_response_head, FileHead, FileReply, SimpleResponse};
pub use response_head::ResponseHead;
pub use status::reason_phrase;
pub use uri::{
    check_web_path, delete_target, is_concat, parse_concat, percent_decode, put_target,
    strip_query, ConcatError, ConcatRequest, InvalidFilename, PathError, PutTarget,
};
