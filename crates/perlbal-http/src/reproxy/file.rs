//! The reply for `X-REPROXY-FILE` (REPROXY-2..4): the backend's head, fixed up for the file.
//!
//! The backend's headers go to the client with the file's real `Content-Length` (in place),
//! `Accept-Ranges: bytes` for regular files, `X-REPROXY-FILE` removed and a 204 turned into 200.
//! A single byte range gives 206 with `Content-Range`; an unsatisfiable one a fresh 416 head with
//! only `Content-Range: bytes */<size>` (REPROXY-3). A missing or empty file, or one whose size
//! differs from `X-REPROXY-EXPECTED-SIZE`, is a 404 page.
//!
//! ⚠ REPROXY-4: the original "serves" a directory as a bodiless 200 whose length is the
//! directory's inode size; a directory is a 404 here.
//!
//! The caller applies the client's keep-alive decision to the head before sending it.

use super::expected_size;
use crate::range::{decide_range, RangeDecision};
use crate::response::{write_satisfied_range, write_unsatisfied_range};
use crate::ResponseHead;

/// What is on disk at the reproxied path, as far as the reply is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    Regular,
    Directory,
    /// A FIFO, socket or device.
    Other,
}

/// How to answer.
#[derive(Debug)]
pub enum FileDecision {
    /// A generated 404 page.
    NotFound,
    /// Send `head`, then `body` — `(offset, length)` in the file — unless it is `None` (HEAD,
    /// 416).
    Send {
        head: ResponseHead,
        body: Option<(u64, u64)>,
    },
}

/// Decides the reply to a request (its `Range` header and whether it is a HEAD) for the file
/// `found` (`None` when missing), given the backend's head `primary`.
pub fn file_reply(
    mut primary: ResponseHead,
    found: Option<(FileKind, u64)>,
    range: Option<&[u8]>,
    is_head: bool,
) -> FileDecision {
    let Some((kind, size)) = found else {
        return FileDecision::NotFound;
    };
    if size == 0 || kind == FileKind::Directory {
        return FileDecision::NotFound;
    }
    if expected_size(&primary).is_some_and(|expected| expected != size) {
        return FileDecision::NotFound;
    }
    if kind == FileKind::Regular {
        primary.headers_mut().set("Accept-Ranges", "bytes");
    }
    let decision = decide_range(range, size);
    if decision == RangeDecision::Unsatisfiable {
        let mut head = ResponseHead::new(416);
        let mut value = Vec::with_capacity(24);
        write_unsatisfied_range(size, &mut value);
        head.headers_mut().set("Content-Range", value);
        return FileDecision::Send { head, body: None };
    }
    if primary.status() == 204 {
        primary.set_status(200);
    }
    let body = match decision {
        RangeDecision::Partial { start, end } => {
            let mut value = Vec::with_capacity(40);
            write_satisfied_range(start, end, size, &mut value);
            primary.headers_mut().set("Content-Range", value);
            primary
                .headers_mut()
                .set_u64("Content-Length", end - start + 1);
            primary.set_status(206);
            (start, end - start + 1)
        }
        _ => {
            primary.headers_mut().set_u64("Content-Length", size);
            (0, size)
        }
    };
    primary.headers_mut().remove("X-REPROXY-FILE");
    FileDecision::Send {
        head: primary,
        body: (!is_head).then_some(body),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn primary(lines: &str) -> ResponseHead {
        let text = format!("HTTP/1.0 200 OK\r\n{lines}");
        ResponseHead::parse(text.as_bytes()).expect("valid head")
    }

    fn sent(decision: FileDecision) -> (String, Option<(u64, u64)>) {
        match decision {
            FileDecision::Send { head, body } => {
                let mut out = Vec::new();
                head.encode(&mut out);
                (String::from_utf8(out).expect("ASCII head"), body)
            }
            FileDecision::NotFound => panic!("expected a reply, got 404"),
        }
    }

    const OBS25: &str = "X-REPROXY-FILE: /d/data.txt\r\nContent-Length: 12345\r\n\
        Content-Type: image/png\r\nX-Primary: yes\r\n";

    #[test]
    fn obs_25_backend_headers_with_the_real_length() {
        let (head, body) = sent(file_reply(
            primary(OBS25),
            Some((FileKind::Regular, 20)),
            None,
            false,
        ));
        assert_eq!(
            head,
            "HTTP/1.0 200 OK\r\nContent-Length: 20\r\nContent-Type: image/png\r\n\
             X-Primary: yes\r\nAccept-Ranges: bytes\r\n\r\n"
        );
        assert_eq!(body, Some((0, 20)));
    }

    #[test]
    fn obs_25_no_content_becomes_ok_and_head_sends_no_body() {
        let head = ResponseHead::parse(b"HTTP/1.0 204 No Content\r\nX-REPROXY-FILE: /f\r\n")
            .expect("valid head");
        let (text, body) = sent(file_reply(head, Some((FileKind::Regular, 5)), None, true));
        assert!(text.starts_with("HTTP/1.0 200 OK\r\n"), "{text}");
        assert_eq!(body, None);
    }

    #[test]
    fn reproxy_3_ranges() {
        let (head, body) = sent(file_reply(
            primary(OBS25),
            Some((FileKind::Regular, 20)),
            Some(b"bytes=2-4"),
            false,
        ));
        assert!(head.starts_with("HTTP/1.0 206 Partial Content\r\nContent-Length: 3\r\n"));
        assert!(head.ends_with("Accept-Ranges: bytes\r\nContent-Range: bytes 2-4/20\r\n\r\n"));
        assert_eq!(body, Some((2, 3)));

        let (head, body) = sent(file_reply(
            primary(OBS25),
            Some((FileKind::Regular, 20)),
            Some(b"bytes=40-"),
            false,
        ));
        assert_eq!(
            head,
            "HTTP/1.0 416 Request range not satisfiable\r\nContent-Range: bytes */20\r\n\r\n"
        );
        assert_eq!(body, None);
    }

    #[test]
    fn reproxy_2_missing_empty_or_unexpected_size_is_404() {
        let nf = |d: FileDecision| matches!(d, FileDecision::NotFound);
        assert!(nf(file_reply(primary(OBS25), None, None, false)));
        assert!(nf(file_reply(
            primary(OBS25),
            Some((FileKind::Regular, 0)),
            None,
            false
        )));
        let expecting = |n: u64| primary(&format!("{OBS25}X-REPROXY-EXPECTED-SIZE: {n}\r\n"));
        assert!(nf(file_reply(
            expecting(19),
            Some((FileKind::Regular, 20)),
            None,
            false
        )));
        let (head, _) = sent(file_reply(
            expecting(20),
            Some((FileKind::Regular, 20)),
            None,
            false,
        ));
        assert!(
            head.contains("X-REPROXY-EXPECTED-SIZE: 20\r\n"),
            "kept, as the original does: {head}"
        );
    }

    #[test]
    fn reproxy_4_directories_are_not_served() {
        assert!(matches!(
            file_reply(
                primary(OBS25),
                Some((FileKind::Directory, 4096)),
                None,
                false
            ),
            FileDecision::NotFound
        ));
    }
}
