//! Small text helpers: CRLF joining, HTTP-date recognition, placeholder templates and the
//! "shape" of output whose numbers vary between runs.
use std::collections::BTreeMap;

/// Joins lines with CRLF and appends a final CRLF: `crlf(&["a", "b"]) == "a\r\nb\r\n"`.
pub fn crlf(lines: &[&str]) -> String {
    let mut out = String::new();
    for line in lines {
        out.push_str(line);
        out.push_str("\r\n");
    }
    out
}

/// True for an RFC 1123 date as Perlbal prints it: `Thu, 02 Jan 2020 03:04:05 GMT`.
pub fn is_http_date(value: &str) -> bool {
    const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let b = value.as_bytes();
    if b.len() != 29 {
        return false;
    }
    let digits = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
    DAYS.contains(&&value[0..3])
        && &value[3..5] == ", "
        && digits(5..7)
        && b[7] == b' '
        && MONTHS.contains(&&value[8..11])
        && b[11] == b' '
        && digits(12..16)
        && b[16] == b' '
        && digits(17..19)
        && b[19] == b':'
        && digits(20..22)
        && b[22] == b':'
        && digits(23..25)
        && &value[25..] == " GMT"
}

/// The shape of a text whose numbers vary: every run of ASCII digits (with `.` between digits)
/// becomes `#`, and every run of spaces becomes one space. `"  12 4.5s x"` → `" # #s x"`.
pub fn shape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_ascii_digit() {
            while i < chars.len()
                && (chars[i].is_ascii_digit()
                    || (chars[i] == '.' && i + 1 < chars.len() && chars[i + 1].is_ascii_digit()))
            {
                i += 1;
            }
            out.push('#');
            continue;
        }
        if c == ' ' {
            while i < chars.len() && chars[i] == ' ' {
                i += 1;
            }
            out.push(' ');
            continue;
        }
        out.push(c);
        i += 1;
    }
    out
}

/// Placeholder names (`{name}`, word characters only) in order of first appearance.
pub fn placeholders(template: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        let after = &rest[start + 1..];
        match after.find('}') {
            Some(end)
                if end > 0
                    && after[..end]
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_') =>
            {
                let name = after[..end].to_string();
                if !names.contains(&name) {
                    names.push(name);
                }
                rest = &after[end + 1..];
            }
            _ => rest = after,
        }
    }
    names
}

/// Replaces every `{name}` whose name is in `vars`; panics on unknown word placeholders so a typo
/// in a template cannot silently reach a server.
pub fn fill(template: &str, vars: &BTreeMap<String, String>) -> String {
    let mut out = template.to_string();
    for name in placeholders(template) {
        let value = vars
            .get(&name)
            .unwrap_or_else(|| panic!("template placeholder {{{name}}} has no value:\n{template}"));
        out = out.replace(&format!("{{{name}}}"), value);
    }
    out
}

/// Sorted copy of lines, for listings that are unordered in the original (MGMT-43).
pub fn sorted(lines: &[String]) -> Vec<String> {
    let mut v = lines.to_vec();
    v.sort();
    v
}
