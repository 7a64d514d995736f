//! The management port's web pages (MGMT-4, MGMT-5): an index of services and the outputs of
//! `socks`, `obj` and `show service` wrapped in HTML, one request per connection.

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::control::{self, CommandContext};

use perlbal_http::MAX_REQUEST_HEAD_BYTES as MAX_HEAD_BYTES;

const PAGE_TOP: &str = "<!DOCTYPE html PUBLIC \"-//W3C//DTD XHTML 1.0 Strict//EN\" \"http://www.w3.org/TR/xhtml1/DTD/xhtml1-strict.dtd\">\n\
<html xmlns=\"http://www.w3.org/1999/xhtml\" xml:lang=\"en\" lang=\"en-ZA\">\n\
<head><title>perlbal management interface</title><meta name=\"generator\" content=\"perlbal\" /></head><body>";

const PAGE_BOTTOM: &str =
    "<hr style='margin-top: 10px' /><p><a href='/'>Perlbal management</a>.</p></body></html>\n";

/// Whether the bytes received so far switch the connection to HTTP (MGMT-2).
pub fn is_http_request(buf: &[u8]) -> bool {
    [&b"GET "[..], b"HEAD ", b"POST "]
        .iter()
        .any(|prefix| buf.starts_with(prefix))
}

/// Reads the rest of the request head, answers with a page and closes.
pub async fn serve_http(stream: &mut TcpStream, mut buf: Vec<u8>) {
    let head = loop {
        match perlbal_http::scan_head(&buf, MAX_HEAD_BYTES) {
            perlbal_http::HeadScan::Complete { head_len, .. } => break &buf[..head_len],
            perlbal_http::HeadScan::TooLarge => return,
            perlbal_http::HeadScan::Incomplete => {}
        }
        let mut chunk = [0u8; 4096];
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    };
    let Ok(request) = perlbal_http::RequestHead::parse(head) else {
        return; // an unparsable head closes the connection, as on every HTTP port
    };
    let (status, body) = page(&String::from_utf8_lossy(request.uri())).await;
    let mut response = format!(
        "HTTP/1.0 {status}\r\nContent-type: text/html\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    response.extend_from_slice(body.as_bytes());
    let _ = stream.write_all(&response).await;
    let _ = stream.shutdown().await;
}

/// The status line's code and phrase, and the page for `uri`.
async fn page(uri: &str) -> (&'static str, String) {
    let mut body = String::from(PAGE_TOP);
    let mut status = "200 OK";
    match uri {
        "/" => body.push_str(&index_list()),
        "/socks" => {
            command_box(&mut body, "socks summary", None).await;
            command_box(&mut body, "socks", Some(link_service_name)).await;
        }
        "/obj" => command_box(&mut body, "obj", None).await,
        _ => match uri.strip_prefix("/service?").filter(|n| is_word(n)) {
            Some(name) => command_box(&mut body, &format!("show service {name}"), None).await,
            None => {
                status = "404 Not found";
                body.push_str("<h1>404 Not found</h1>");
            }
        },
    }
    body.push_str(PAGE_BOTTOM);
    (status, body)
}

fn is_word(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

fn index_list() -> String {
    let mut out = String::from(
        "<h1>perlbal management interface</h1><ul><li><a href='/socks'>Sockets</a></li>\
         <li><a href='/obj'>Perl Objects in use</a></li><li>Service Details<ul>",
    );
    for (name, role, listen) in control::service_summaries() {
        let listen = listen.map(|l| format!(" ({l})")).unwrap_or_default();
        out.push_str(&format!(
            "<li><a href='/service?{name}'>{name}</a> - {role}{listen}</li>\n"
        ));
    }
    out.push_str("</ul></li></ul>");
    out
}

/// Runs `command` (non-verbose, fresh context) and appends its output in a titled box.
async fn command_box(body: &mut String, command: &str, rewrite: Option<fn(&str) -> String>) {
    body.push_str("<pre><div style='margin-bottom: 5px; background: #ddd'><b>");
    body.push_str(command);
    body.push_str("</b></div>");
    let mut ctx = CommandContext::quiet();
    for line in control::execute(command, &mut ctx).await {
        match rewrite {
            Some(f) => body.push_str(&f(&line)),
            None => body.push_str(&line),
        }
        body.push('\n');
    }
    body.push_str("</pre>\n");
}

/// Turns the first `service 'name'` of a `socks` line into a link to that service's page.
fn link_service_name(line: &str) -> String {
    let Some(start) = line.find("service '") else {
        return line.to_string();
    };
    let rest = &line[start + "service '".len()..];
    let name_len = rest
        .bytes()
        .take_while(|b| b.is_ascii_alphanumeric() || *b == b'_')
        .count();
    if name_len == 0 || rest.as_bytes().get(name_len) != Some(&b'\'') {
        return line.to_string();
    }
    let name = &rest[..name_len];
    format!(
        "{}<a href=\"/service?{name}\">{name}</a>{}",
        &line[..start],
        &rest[name_len + 1..]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_is_detected_by_method_prefix_mgmt_2() {
        assert!(is_http_request(b"GET / HTTP/1.0\r\n"));
        assert!(is_http_request(b"HEAD /"));
        assert!(is_http_request(b"POST "));
        assert!(!is_http_request(b"PUT / HTTP/1.0"));
        assert!(!is_http_request(b"get / HTTP/1.0"));
        assert!(!is_http_request(b"GET"));
    }

    #[test]
    fn socks_lines_link_their_service_mgmt_5() {
        assert_eq!(
            link_service_name("    4     5s Perlbal::TCPListener(R): open: listening on 127.0.0.1:17000 for service 'mgmt'"),
            "    4     5s Perlbal::TCPListener(R): open: listening on 127.0.0.1:17000 for <a href=\"/service?mgmt\">mgmt</a>"
        );
        assert_eq!(link_service_name("no service here"), "no service here");
    }
}
