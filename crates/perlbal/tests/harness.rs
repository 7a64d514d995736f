//! Self-tests of the test harness (support/): the text helpers, template parsing, response
//! parsing and normalisation, so a harness bug cannot pass for a server bug.
mod support;

use support::process::{listen_port_names, replace_number};
use support::text::{is_http_date, placeholders, shape};
use support::Response;

#[test]
fn shape_folds_numbers_and_spaces() {
    assert_eq!(shape("    3     0s Perlbal::X"), " # #s Perlbal::X");
    assert_eq!(shape("utime: 0.09427 (+0.09427)"), "utime: # (+#)");
    assert_eq!(shape("127.0.0.1:80"), "#:#");
    assert_eq!(shape("version 1.80."), "version #.");
}

#[test]
fn http_dates_are_recognised_strictly() {
    assert!(is_http_date("Thu, 02 Jan 2020 03:04:05 GMT"));
    assert!(!is_http_date("Thu, 2 Jan 2020 03:04:05 GMT"));
    assert!(!is_http_date("Thu, 02 Jan 2020 03:04:05 UTC"));
    assert!(!is_http_date("Xyz, 02 Jan 2020 03:04:05 GMT"));
}

#[test]
fn placeholders_are_found_once_in_order() {
    assert_eq!(
        placeholders("a {web_port} {x} {web_port} {not a} {} {service|pool}"),
        vec!["web_port".to_string(), "x".to_string()]
    );
}

#[test]
fn listen_ports_of_enabled_services_only() {
    let t = "CREATE SERVICE a\nSET role = web_server\nSET listen = 127.0.0.1:{a_port}\nENABLE a\n\
             CREATE SERVICE b\nSET b.listen = {b_port}\n\
             CREATE SERVICE c\nuse c\nset listen={c_port} # comment\nenable c\n\
             SET a.docroot = {docroot}\n";
    assert_eq!(listen_port_names(t), ["a_port", "c_port"]);
}

#[test]
fn port_numbers_are_replaced_only_as_whole_numbers() {
    assert_eq!(
        replace_number("127.0.0.1:4567 45678 14567 4567", "4567", "{p}"),
        "127.0.0.1:{p} 45678 14567 {p}"
    );
}

#[test]
fn response_head_parses_and_normalises_date() {
    let raw = b"HTTP/1.0 200 OK\r\nDate: Thu, 02 Jan 2020 03:04:05 GMT\r\nX-A:  b\r\nContent-Length: 3\r\n\r\nabc";
    let (r, len) = Response::parse_head(raw).expect("parses");
    assert_eq!(len, raw.len() - 3);
    assert_eq!(r.status(), 200);
    assert_eq!(r.header("x-a"), Some("b"));
    assert_eq!(r.content_length(), Some(3));
    assert_eq!(
        r.normalized_head(),
        "HTTP/1.0 200 OK\r\nDate: <date>\r\nX-A:  b\r\nContent-Length: 3\r\n\r\n"
    );
    let (bad, _) =
        Response::parse_head(b"HTTP/1.0 200 OK\r\nDate: yesterday\r\n\r\n").expect("parses");
    assert!(
        bad.normalized_head().contains("Date: yesterday"),
        "malformed dates are kept"
    );
}
