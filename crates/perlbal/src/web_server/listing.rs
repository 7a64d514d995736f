//! Directory listings (WS-7): every entry, `.` and `..` included, sorted bytewise, directories
//! in bold with a trailing slash.
//!
//! Unlike the original, names are HTML-escaped (LIM-22: it writes them raw, so a file named
//! `<script>…` injects markup). Names made of ordinary characters come out identical.

use std::path::Path;
use std::time::SystemTime;

use perlbal_http::{date, FileHead, FileReply, HttpDate};

use super::get::disk_path;
use super::{Done, Exchange};
use crate::static_files;

/// Appends `text` with the five HTML-significant characters escaped.
fn push_escaped(out: &mut Vec<u8>, text: &[u8]) {
    for &b in text {
        match b {
            b'&' => out.extend_from_slice(b"&amp;"),
            b'<' => out.extend_from_slice(b"&lt;"),
            b'>' => out.extend_from_slice(b"&gt;"),
            b'\'' => out.extend_from_slice(b"&#39;"),
            b'"' => out.extend_from_slice(b"&quot;"),
            _ => out.push(b),
        }
    }
}

/// The listing page for `uri` (already normalised to end in exactly one slash).
pub fn render(uri: &[u8], entries: &[static_files::DirEntryInfo]) -> Vec<u8> {
    let mut body = Vec::with_capacity(64 + entries.len() * 64);
    body.extend_from_slice(b"<html><body>");
    for entry in entries {
        if entry.is_dir {
            body.extend_from_slice(b"<b><a href='");
            push_escaped(&mut body, uri);
            push_escaped(&mut body, &entry.name);
            body.extend_from_slice(b"/'>");
            push_escaped(&mut body, &entry.name);
            body.extend_from_slice(b"</a></b><br />\n");
        } else {
            body.extend_from_slice(b"<a href='");
            push_escaped(&mut body, uri);
            push_escaped(&mut body, &entry.name);
            body.extend_from_slice(b"'>");
            push_escaped(&mut body, &entry.name);
            body.extend_from_slice(b"</a><br />\n");
        }
    }
    body.extend_from_slice(b"</body></html>");
    body
}

/// `s!/*$!/!`: exactly one trailing slash.
fn with_one_trailing_slash(uri: &[u8]) -> Vec<u8> {
    let trimmed = uri.len() - uri.iter().rev().take_while(|&&b| b == b'/').count();
    let mut out = uri[..trimmed].to_vec();
    out.push(b'/');
    out
}

/// Sends the listing of the directory at `uri_path` whose mtime is `mtime`.
pub async fn send(
    x: &mut Exchange<'_>,
    docroot: &Path,
    uri_path: &[u8],
    mtime: SystemTime,
) -> Done {
    let uri = with_one_trailing_slash(uri_path);
    // An unreadable directory lists as empty, as in the original.
    let entries = static_files::list_dir(&disk_path(docroot, &uri))
        .await
        .unwrap_or_default();
    let body = render(&uri, &entries);
    let last_modified = HttpDate::from_system_time(mtime);
    let now = date::now();
    let mut head = FileHead {
        reply: FileReply::Listing {
            len: body.len() as u64,
        },
        date: now.as_str(),
        server_tokens: x.svc.server_tokens,
        last_modified: last_modified.as_str(),
        content_type: "text/html",
        persistence: perlbal_http::Persistence::Close,
    };
    let body_read = !x.has_body();
    head.persistence = x.persistence(200, true, body_read);
    let mut out = Vec::with_capacity(256 + body.len());
    head.write(&mut out);
    if !x.req.is_head() {
        out.extend_from_slice(&body);
    }
    x.send(&out, head.persistence).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(name: &str, is_dir: bool) -> static_files::DirEntryInfo {
        static_files::DirEntryInfo {
            name: name.as_bytes().to_vec(),
            is_dir,
        }
    }

    #[test]
    fn listing_matches_the_original_for_plain_names_ws_7() {
        let page = render(
            b"/css/",
            &[entry(".", true), entry("..", true), entry("a.css", false)],
        );
        assert_eq!(
            String::from_utf8_lossy(&page),
            "<html><body><b><a href='/css/./'>.</a></b><br />\n\
             <b><a href='/css/../'>..</a></b><br />\n\
             <a href='/css/a.css'>a.css</a><br />\n\
             </body></html>"
        );
    }

    #[test]
    fn html_in_file_names_is_escaped_lim_22() {
        let page = render(b"/", &[entry("<script>'x'&", false)]);
        let page = String::from_utf8_lossy(&page);
        assert!(page.contains("&lt;script&gt;&#39;x&#39;&amp;"));
        assert!(!page.contains("<script>"));
    }

    #[test]
    fn trailing_slashes_are_normalised() {
        assert_eq!(with_one_trailing_slash(b"/css"), b"/css/");
        assert_eq!(with_one_trailing_slash(b"/css///"), b"/css/");
        assert_eq!(with_one_trailing_slash(b"/"), b"/");
    }
}
