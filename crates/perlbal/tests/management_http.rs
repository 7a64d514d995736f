//! The management port's HTTP pages (MGMT-2, MGMT-4..6, OBS-43): index, /socks, /obj,
//! /service?name, 404, HEAD and POST handling, and that non-GET/HEAD/POST lines stay commands.
mod support;

use std::time::Duration;

use support::configs::web;
use support::http::fetch;
use support::{Docroot, Kind, Perlbal};

const DOCTYPE: &str = "<!DOCTYPE html PUBLIC \"-//W3C//DTD XHTML 1.0 Strict//EN\" \"http://www.w3.org/TR/xhtml1/DTD/xhtml1-strict.dtd\">\n<html xmlns=\"http://www.w3.org/1999/xhtml\" xml:lang=\"en\" lang=\"en-ZA\">\n<head><title>perlbal management interface</title><meta name=\"generator\" content=\"perlbal\" /></head><body>";
const FOOTER: &str =
    "<hr style='margin-top: 10px' /><p><a href='/'>Perlbal management</a>.</p></body></html>\n";

fn start() -> (Docroot, Perlbal) {
    let docroot = Docroot::standard();
    let template = format!(
        "{}CREATE SERVICE aaa\n  SET role = web_server\n  SET docroot = {{docroot}}\n",
        web()
    );
    let server = Perlbal::launch(Kind::UnderTest, &template)
        .docroot(&docroot)
        .start();
    (docroot, server)
}

fn block(cmd: &str, output: &str) -> String {
    format!(
        "<pre><div style='margin-bottom: 5px; background: #ddd'><b>{cmd}</b></div>{output}</pre>\n"
    )
}

#[track_caller]
fn assert_page(r: &support::Response, status_line: &str, body: &str) {
    let len = format!("Content-Length: {}", body.len());
    r.assert_exact(
        &[status_line, "Content-type: text/html", &len],
        body.as_bytes(),
    );
}

#[test]
fn index_page_lists_services_sorted() {
    // MGMT-4, OBS-43.
    let (_d, s) = start();
    let (w, g) = (s.port("web"), s.port("mgmt"));
    let body = format!(
        "{DOCTYPE}<h1>perlbal management interface</h1><ul><li><a href='/socks'>Sockets</a></li><li><a href='/obj'>Perl Objects in use</a></li><li>Service Details<ul><li><a href='/service?aaa'>aaa</a> - web_server</li>\n<li><a href='/service?mgmt'>mgmt</a> - management (127.0.0.1:{g})</li>\n<li><a href='/service?web'>web</a> - web_server (127.0.0.1:{w})</li>\n</ul></li></ul>{FOOTER}"
    );
    let mut c = s.client("mgmt");
    c.send("GET / HTTP/1.0\r\n\r\n");
    assert_page(&c.response(), "HTTP/1.0 200 OK", &body);
    assert!(
        c.read_to_close(Duration::from_secs(5)).is_empty(),
        "closed after the page"
    );
    // HEAD and POST get the same page, body included (MGMT-5).
    let mut c = s.client("mgmt");
    c.send("HEAD / HTTP/1.0\r\n\r\n");
    assert_page(&c.response(), "HTTP/1.0 200 OK", &body);
    let r = fetch(g, "POST / HTTP/1.0\r\nContent-Length: 3\r\n\r\nabc");
    assert_page(&r, "HTTP/1.0 200 OK", &body);
}

#[test]
fn service_and_obj_pages_wrap_command_output() {
    // MGMT-5.
    let (d, s) = start();
    let (w, g) = (s.port("web"), s.port("mgmt"));
    let out = format!(
        "SERVICE web\n     listening: 127.0.0.1:{w}\n          role: web_server\n  pend clients: 0\n  pend backend: 0\n        docroot: {}\n.\n",
        d.path_str()
    );
    let r = fetch(g, "GET /service?web HTTP/1.0\r\n\r\n");
    assert_page(
        &r,
        "HTTP/1.0 200 OK",
        &format!("{DOCTYPE}{}{FOOTER}", block("show service web", &out)),
    );
    let r = fetch(g, "GET /service?nope HTTP/1.0\r\n\r\n");
    assert_page(
        &r,
        "HTTP/1.0 200 OK",
        &format!(
            "{DOCTYPE}{}{FOOTER}",
            block("show service nope", "ERROR: Unknown service\n")
        ),
    );
    let r = fetch(g, "GET /obj HTTP/1.0\r\n\r\n");
    assert_page(
        &r,
        "HTTP/1.0 200 OK",
        &format!("{DOCTYPE}{}{FOOTER}", block("obj", ".\n")),
    );
}

#[test]
fn socks_page_links_services() {
    // MGMT-5: `socks summary` then `socks`, `service 'x'` rewritten to a link.
    let (_d, s) = start();
    let (w, g) = (s.port("web"), s.port("mgmt"));
    let r = fetch(g, "GET /socks HTTP/1.0\r\n\r\n");
    assert_eq!(r.status_line, "HTTP/1.0 200 OK");
    let body = r.body_text();
    let summary = block(
        "socks summary",
        "    1 Perlbal::ClientManage\n    2 Perlbal::TCPListener\nAggregate write buffer: 0.0k\n            Open files: 0\n.\n",
    );
    assert!(body.starts_with(&format!("{DOCTYPE}{summary}<pre><div style='margin-bottom: 5px; background: #ddd'><b>socks</b></div>   fd    age\n")), "{body}");
    assert!(
        body.contains(&format!(
            "listening on 127.0.0.1:{w} for <a href=\"/service?web\">web</a>\n"
        )),
        "{body}"
    );
    assert!(
        body.contains(&format!(
            "listening on 127.0.0.1:{g} for <a href=\"/service?mgmt\">mgmt</a>\n"
        )),
        "{body}"
    );
    assert!(body.ends_with(&format!(".\n</pre>\n{FOOTER}")), "{body}");
    assert_eq!(r.content_length(), Some(r.body.len()));
}

#[test]
fn unknown_paths_are_404() {
    // MGMT-5, OBS-43.
    let (_d, s) = start();
    let body = format!("{DOCTYPE}<h1>404 Not found</h1>{FOOTER}");
    for path in ["/nope", "/service", "/socks/x", "/obj?x"] {
        let r = fetch(s.port("mgmt"), format!("GET {path} HTTP/1.0\r\n\r\n"));
        assert_page(&r, "HTTP/1.0 404 Not found", &body);
    }
}

#[test]
fn other_methods_and_lowercase_get_are_commands() {
    // MGMT-2, MGMT-6, OBS-43: the connection stays in line mode.
    let (_d, s) = start();
    let mut m = s.mgmt();
    m.send_raw(b"PUT / HTTP/1.0\r\n\r\n");
    assert_eq!(m.read_line(), "ERROR: unknown command: put");
    m.send_raw(b"get / HTTP/1.0\r\n");
    assert_eq!(m.read_line(), "ERROR: unknown command: get");
    assert_eq!(m.listing("version").len(), 3);
}

#[test]
fn http11_page_request_without_host_is_closed() {
    // HTTP-6 applies on the management port too.
    let (_d, s) = start();
    let mut c = s.client("mgmt");
    c.send("GET / HTTP/1.1\r\n\r\n");
    c.assert_closed_silently(Duration::from_secs(5));
}
