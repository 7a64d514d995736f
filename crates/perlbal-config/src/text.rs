//! Perl's ASCII character classes and the few regular-expression shapes the grammar is built from.
//!
//! The original reads config and management lines as bytes, so `\w`, `\d` and `\s` are ASCII only
//! and `lc` only folds `A-Z`. `.` matches any character except `\n`. Each helper here reproduces
//! one backtracking regex shape exactly, so the command parsers can stay declarative.

/// `\w`: ASCII letter, digit or underscore.
pub(crate) fn is_word(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// `\s` in Perl 5.18+: space, `\t`, `\n`, vertical tab, form feed, `\r`.
pub(crate) fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\x0B' | '\x0C' | '\r')
}

/// Length in bytes of the leading run of `\w` characters.
pub(crate) fn word_len(s: &str) -> usize {
    s.bytes().take_while(|&b| is_word(char::from(b))).count()
}

/// Length in bytes of the leading run of `\s` characters.
pub(crate) fn space_len(s: &str) -> usize {
    s.bytes().take_while(|&b| is_space(char::from(b))).count()
}

/// Length in bytes of the leading run of ASCII digits.
pub(crate) fn digit_len(s: &str) -> usize {
    s.bytes().take_while(u8::is_ascii_digit).count()
}

/// `^\w+$`
pub(crate) fn is_word_str(s: &str) -> bool {
    !s.is_empty() && word_len(s) == s.len()
}

/// `^\d+$`
pub(crate) fn is_digits(s: &str) -> bool {
    !s.is_empty() && digit_len(s) == s.len()
}

/// `(.+)$` at the end of a pattern: non-empty and free of `\n`.
pub(crate) fn line_rest(s: &str) -> Option<&str> {
    (!s.is_empty() && !s.contains('\n')).then_some(s)
}

/// `\s+(.+)$`: the capture, with the backtracking that lets `.+` take the last whitespace
/// character when nothing else follows.
pub(crate) fn spaced_rest(s: &str) -> Option<&str> {
    let spaces = space_len(s);
    if spaces == 0 {
        return None;
    }
    if spaces < s.len() {
        return line_rest(&s[spaces..]);
    }
    // Only whitespace: `\s+` gives its last character back to `.+`.
    (spaces >= 2).then(|| &s[spaces - 1..]).and_then(line_rest)
}

/// ` ?= ?(.+)$`: the value after an `=` with at most one space on each side.
pub(crate) fn assignment_value(s: &str) -> Option<&str> {
    let after = s.strip_prefix(" =").or_else(|| s.strip_prefix('='))?;
    if let Some(value) = after.strip_prefix(' ').and_then(line_rest) {
        return Some(value);
    }
    line_rest(after)
}

/// `(\S+) ?= ?(.+)$`: greedy key that may itself contain `=`; the longest key that still lets the
/// rest match wins.
pub(crate) fn greedy_assignment(s: &str) -> Option<(&str, &str)> {
    // A `\n` lies after the key, so it would be inside every candidate value.
    if s.contains('\n') {
        return None;
    }
    let run = s.find(is_space).unwrap_or(s.len());
    (1..=run)
        .rev()
        .filter(|&end| s.is_char_boundary(end))
        .find_map(|end| assignment_value(&s[end..]).map(|value| (&s[..end], value)))
}

/// Longest argument `nodes`/`pool` will try to read as an address. The original's pattern
/// backtracks in polynomial time; nothing longer than this can be a real `ip:port` anyway.
const MAX_ADDRESS_ARG: usize = 128;

/// `(\d+.\d+.\d+.\d+)(?::(\d+))?$` — the loose "dotted quad" of `nodes` and `pool`, where each `.`
/// is any character. Returns the address text and the optional port digits, as the original's
/// backtracking would capture them.
pub(crate) fn loose_quad_with_port(s: &str) -> Option<(&str, Option<&str>)> {
    if s.len() > MAX_ADDRESS_ARG {
        return None;
    }
    let mut found = None;
    search_quad(s, 0, 0, &mut |end| {
        let tail = &s[end..];
        if let Some(port) = tail.strip_prefix(':').filter(|p| is_digits(p)) {
            found = Some((&s[..end], Some(port)));
        } else if tail.is_empty() {
            found = Some((s, None));
        }
        found.is_some()
    });
    found
}

/// Walks the digit groups of a loose quad in the regex engine's order (greedy, longest first),
/// calling `accept` with each candidate end position until it returns true.
fn search_quad(s: &str, group: u8, pos: usize, accept: &mut dyn FnMut(usize) -> bool) -> bool {
    let run = digit_len(&s[pos..]);
    if group == 3 {
        // Only the longest run can be followed by `:` or the end of the line.
        return run > 0 && accept(pos + run);
    }
    for len in (1..=run).rev() {
        let end = pos + len;
        let Some(any) = s[end..].chars().next() else {
            continue;
        };
        if any != '\n' && search_quad(s, group + 1, end + any.len_utf8(), accept) {
            return true;
        }
    }
    false
}

/// Lowercases ASCII letters only, like Perl's `lc` on a byte string.
pub(crate) fn ascii_lower(s: &str) -> String {
    s.to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn word_and_space_classes_are_ascii_only() {
        assert!(is_word('a') && is_word('Z') && is_word('0') && is_word('_'));
        assert!(!is_word('é') && !is_word('-') && !is_word(' '));
        for c in [' ', '\t', '\n', '\x0B', '\x0C', '\r'] {
            assert!(is_space(c), "{c:?}");
        }
        assert!(!is_space('\u{a0}') && !is_space('\u{85}'));
    }

    #[test]
    fn spaced_rest_gives_back_last_space_when_only_spaces_remain() {
        assert_eq!(spaced_rest(" foo"), Some("foo"));
        assert_eq!(spaced_rest(" \t foo bar"), Some("foo bar"));
        assert_eq!(spaced_rest("  "), Some(" "));
        assert_eq!(spaced_rest(" "), None);
        assert_eq!(spaced_rest("foo"), None);
        assert_eq!(spaced_rest(" a\nb"), None);
    }

    #[test]
    fn assignment_value_allows_one_space_each_side() {
        assert_eq!(assignment_value(" = v"), Some("v"));
        assert_eq!(assignment_value("=v"), Some("v"));
        assert_eq!(assignment_value(" =v"), Some("v"));
        assert_eq!(assignment_value("= v"), Some("v"));
        assert_eq!(assignment_value("=  v"), Some(" v"));
        assert_eq!(assignment_value("= "), Some(" "));
        assert_eq!(assignment_value("="), None);
        assert_eq!(assignment_value("  = v"), None);
        assert_eq!(assignment_value(" x"), None);
    }

    #[test]
    fn greedy_assignment_prefers_longest_key() {
        assert_eq!(greedy_assignment("a = b"), Some(("a", "b")));
        assert_eq!(greedy_assignment("a=b=c"), Some(("a=b", "c")));
        assert_eq!(greedy_assignment("a=b = c"), Some(("a=b", "c")));
        assert_eq!(greedy_assignment("a b"), None);
        assert_eq!(greedy_assignment("= b"), None);
    }

    #[test]
    fn loose_quad_accepts_any_separator_like_the_original() {
        assert_eq!(loose_quad_with_port("1.2.3.4"), Some(("1.2.3.4", None)));
        assert_eq!(
            loose_quad_with_port("1.2.3.4:80"),
            Some(("1.2.3.4", Some("80")))
        );
        assert_eq!(loose_quad_with_port("1x2x3x4"), Some(("1x2x3x4", None)));
        // The original adds node "1.2.3:80:80" for this input.
        assert_eq!(loose_quad_with_port("1.2.3:80"), Some(("1.2.3:80", None)));
        assert_eq!(loose_quad_with_port("1234567"), Some(("1234567", None)));
        assert_eq!(loose_quad_with_port("localhost:80"), None);
        assert_eq!(loose_quad_with_port("1.2.3"), None);
        assert_eq!(loose_quad_with_port("1.2.3.4:"), None);
        assert_eq!(loose_quad_with_port("1é2.3.4"), Some(("1é2.3.4", None)));
    }

    #[test]
    fn loose_quad_on_long_digit_runs_is_bounded() {
        let long = "9".repeat(MAX_ADDRESS_ARG);
        assert!(loose_quad_with_port(&long).is_some());
        let too_long = "9".repeat(MAX_ADDRESS_ARG + 1);
        assert_eq!(loose_quad_with_port(&too_long), None);
    }
}
