//! Reason phrases for the status codes Perlbal generates or re-codes (HTTP-10).
//!
//! The table is the interface: its spellings (`Bad request`, `Permanent Redirect`,
//! `Request range not satisfiable`) are reproduced exactly. Any code missing from it gets an
//! empty phrase, and status lines keep the space before it (`HTTP/1.0 201 `).

/// Returns the reason phrase Perlbal uses for `code`, or `""` for codes it has none for.
pub fn reason_phrase(code: u16) -> &'static str {
    match code {
        200 => "OK",
        204 => "No Content",
        206 => "Partial Content",
        301 => "Permanent Redirect",
        302 => "Found",
        304 => "Not Modified",
        400 => "Bad request",
        403 => "Forbidden",
        404 => "Not Found",
        416 => "Request range not satisfiable",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        503 => "Service Unavailable",
        _ => "",
    }
}

/// Appends a status line `HTTP/1.0 <code> <reason>\r\n` (HTTP-9: always HTTP/1.0).
pub(crate) fn write_status_line(out: &mut Vec<u8>, code: u16, reason: &[u8]) {
    out.extend_from_slice(b"HTTP/1.0 ");
    crate::headers::push_u64(out, u64::from(code));
    out.push(b' ');
    out.extend_from_slice(reason);
    out.extend_from_slice(b"\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http10_table_is_exact() {
        let table = [
            (200, "OK"),
            (204, "No Content"),
            (206, "Partial Content"),
            (301, "Permanent Redirect"),
            (302, "Found"),
            (304, "Not Modified"),
            (400, "Bad request"),
            (403, "Forbidden"),
            (404, "Not Found"),
            (416, "Request range not satisfiable"),
            (500, "Internal Server Error"),
            (501, "Not Implemented"),
            (503, "Service Unavailable"),
        ];
        for (code, phrase) in table {
            assert_eq!(reason_phrase(code), phrase, "code {code}");
        }
    }

    #[test]
    fn http10_unknown_codes_have_empty_phrase() {
        for code in [100, 201, 202, 299, 401, 405, 413, 502, 504, 999] {
            assert_eq!(reason_phrase(code), "", "code {code}");
        }
    }

    #[test]
    fn http10_status_line_keeps_space_for_empty_phrase() {
        let mut out = Vec::new();
        write_status_line(&mut out, 201, b"");
        assert_eq!(out, b"HTTP/1.0 201 \r\n");
        out.clear();
        write_status_line(&mut out, 404, reason_phrase(404).as_bytes());
        assert_eq!(out, b"HTTP/1.0 404 Not Found\r\n");
    }
}
