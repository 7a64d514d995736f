//! Reproxying (REPROXY-*): a backend answers with a header asking the proxy to fetch the
//! response itself — a local file (`X-REPROXY-FILE`), other URLs (`X-REPROXY-URL`) or another
//! service (`X-REPROXY-SERVICE`) — instead of relaying its own body.
//!
//! * this module — which directive a backend response carries (REPROXY-1);
//! * [`file`] — the reply for a reproxied file (REPROXY-2..4);
//! * [`url`] — URL lists, the request sent to each URL and the merged reply head (REPROXY-5..7);
//! * [`cache`] — the per-service reproxy URL cache and its replies (REPROXY-13..15).

pub mod cache;
pub mod file;
pub mod url;

/// Heads from text, for the tests of the reproxy modules.
#[cfg(test)]
mod test_heads {
    use crate::{RequestHead, ResponseHead};

    pub fn response(text: &str) -> ResponseHead {
        ResponseHead::parse(text.as_bytes()).expect("valid response head")
    }

    pub fn request(text: &str) -> RequestHead {
        RequestHead::parse(text.as_bytes()).expect("valid request head")
    }

    pub fn encoded(head: &ResponseHead) -> String {
        let mut out = Vec::new();
        head.encode(&mut out);
        String::from_utf8(out).expect("ASCII head")
    }
}

use crate::ResponseHead;

/// What a backend response asks the proxy to serve instead of its own body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Directive {
    /// `X-REPROXY-FILE`: a path on this machine.
    File(Vec<u8>),
    /// `X-REPROXY-URL`: whitespace-separated URLs, tried in order.
    Url(Vec<u8>),
    /// `X-REPROXY-SERVICE`: the name of a service to run the request again.
    Service(String),
}

/// The directive of `head`, checked in the original's order: file, URL, service (REPROXY-1).
/// A header counts only when Perl would find its value true: not empty and not `0`.
pub fn directive(head: &ResponseHead) -> Option<Directive> {
    let headers = head.headers();
    if let Some(path) = headers.get("X-REPROXY-FILE").filter(|v| perl_true(v)) {
        return Some(Directive::File(path.to_vec()));
    }
    if let Some(urls) = headers.get("X-REPROXY-URL").filter(|v| perl_true(v)) {
        return Some(Directive::Url(urls.to_vec()));
    }
    headers
        .get("X-REPROXY-SERVICE")
        .filter(|v| perl_true(v))
        .map(|name| Directive::Service(String::from_utf8_lossy(name).into_owned()))
}

/// `X-REPROXY-EXPECTED-SIZE` as the original compares it (REPROXY-2, REPROXY-6): ignored when
/// empty or `0`, otherwise read as a Perl number — leading digits after optional spaces, so that
/// text or a negative value never matches a real size.
pub fn expected_size(head: &ResponseHead) -> Option<u64> {
    let value = head
        .headers()
        .get("X-REPROXY-EXPECTED-SIZE")
        .filter(|v| perl_true(v))?;
    let start = value
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(value.len());
    let digits = value[start..].strip_prefix(b"+").unwrap_or(&value[start..]);
    Some(crate::head::leading_digits(digits).map_or(0, |(n, _)| n))
}

/// Perl truthiness of a header value: everything but `""` and `"0"`.
fn perl_true(value: &[u8]) -> bool {
    !value.is_empty() && value != b"0"
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(lines: &str) -> ResponseHead {
        let text = format!("HTTP/1.0 200 OK\r\n{lines}");
        ResponseHead::parse(text.as_bytes()).expect("valid head")
    }

    #[test]
    fn reproxy_1_file_wins_over_url_over_service() {
        let all =
            head("X-REPROXY-SERVICE: web\r\nX-Reproxy-Url: http://a/\r\nx-reproxy-file: /f\r\n");
        assert_eq!(directive(&all), Some(Directive::File(b"/f".to_vec())));
        let url = head("X-REPROXY-SERVICE: web\r\nX-REPROXY-URL: http://a/ http://b/\r\n");
        assert_eq!(
            directive(&url),
            Some(Directive::Url(b"http://a/ http://b/".to_vec()))
        );
        let svc = head("X-REPROXY-SERVICE: web\r\n");
        assert_eq!(directive(&svc), Some(Directive::Service("web".into())));
        assert_eq!(directive(&head("Content-Type: text/plain\r\n")), None);
    }

    #[test]
    fn reproxy_1_false_values_are_no_directive() {
        assert_eq!(directive(&head("X-REPROXY-FILE: 0\r\n")), None);
        assert_eq!(directive(&head("X-REPROXY-FILE:\r\n")), None);
        assert_eq!(
            directive(&head("X-REPROXY-FILE: 0\r\nX-REPROXY-SERVICE: web\r\n")),
            Some(Directive::Service("web".into())),
            "a false file header lets the next one decide"
        );
    }

    #[test]
    fn reproxy_2_expected_size_reads_like_perl() {
        let size = |v: &str| expected_size(&head(&format!("X-REPROXY-EXPECTED-SIZE: {v}\r\n")));
        assert_eq!(size("20"), Some(20));
        assert_eq!(size("20abc"), Some(20));
        assert_eq!(size("abc"), Some(0), "never matches a non-empty file");
        assert_eq!(size("-5"), Some(0));
        assert_eq!(size("0"), None, "false: ignored");
        assert_eq!(expected_size(&head("")), None);
    }
}
