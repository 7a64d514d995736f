//! Value types of `SET` (CFG-9) and the Perl value semantics the original relies on.
//!
//! Each parser returns `None` on a value the original rejects; the caller turns that into the
//! key-specific [`CommandError`](crate::CommandError). Sizes and integers also keep the text the
//! original stores, because `dumpconfig` prints and compares that text, not the number.

use crate::text::{is_digits, is_space};

/// `bool` (CFG-9): `1 true on yes` / `0 false off no`, ASCII case-insensitive.
pub fn parse_bool(raw: &str) -> Option<bool> {
    const TRUE: [&str; 4] = ["1", "true", "on", "yes"];
    const FALSE: [&str; 4] = ["0", "false", "off", "no"];
    if TRUE.iter().any(|t| raw.eq_ignore_ascii_case(t)) {
        Some(true)
    } else if FALSE.iter().any(|f| raw.eq_ignore_ascii_case(f)) {
        Some(false)
    } else {
        None
    }
}

/// `int` (CFG-9): `^\d+$`, no sign. Values beyond `u64` saturate.
pub fn parse_int(raw: &str) -> Option<u64> {
    is_digits(raw).then(|| saturating_u64(raw))
}

/// A parsed `size` value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Size {
    /// The size in bytes (saturating at `u64::MAX` for absurd unsuffixed digit strings).
    pub bytes: u64,
    /// What the original stores: the digits as typed for plain and `b` values, the computed
    /// number for `k` and `m` values.
    pub stored: String,
}

/// `size` (CFG-9): digits with an optional `b`, `k` (×1024) or `m` (×1048576) suffix, any case.
///
/// A `k`/`m` product beyond `u64` is rejected: the original turns it into a float such as
/// `1.024e+23`, which then fails its own digits check.
pub fn parse_size(raw: &str) -> Option<Size> {
    let (digits, multiplier) = match raw.as_bytes().last() {
        Some(b'b' | b'B') => (&raw[..raw.len() - 1], None),
        Some(b'k' | b'K') => (&raw[..raw.len() - 1], Some(1024u64)),
        Some(b'm' | b'M') => (&raw[..raw.len() - 1], Some(1024 * 1024)),
        _ => (raw, None),
    };
    if !is_digits(digits) {
        return None;
    }
    match multiplier {
        None => Some(Size {
            bytes: saturating_u64(digits),
            stored: digits.to_owned(),
        }),
        Some(mult) => {
            let bytes = digits.parse::<u64>().ok()?.checked_mul(mult)?;
            Some(Size {
                bytes,
                stored: bytes.to_string(),
            })
        }
    }
}

/// Normalises a `size` default the way `dumpconfig` does before comparing (`256k` → `262144`).
pub fn normalise_size_text(raw: &str) -> String {
    parse_size(raw).map_or_else(|| raw.to_owned(), |s| s.stored)
}

fn saturating_u64(digits: &str) -> u64 {
    digits.parse().unwrap_or(u64::MAX)
}

/// Perl truthiness of a string: only `""` and `"0"` are false.
pub fn perl_truthy(s: &str) -> bool {
    !(s.is_empty() || s == "0")
}

/// Perl's numeric reading of a string: optional leading whitespace, sign, digits, fraction and
/// exponent; whatever follows is ignored, and no number at all reads as 0.
pub fn perl_numify(s: &str) -> f64 {
    let s = s.trim_start_matches(is_space);
    let bytes = s.as_bytes();
    let mut end = 0;
    if matches!(bytes.first(), Some(b'+' | b'-')) {
        end = 1;
    }
    let int_digits = count_digits(&bytes[end..]);
    end += int_digits;
    let mut frac_digits = 0;
    if bytes.get(end) == Some(&b'.') {
        frac_digits = count_digits(&bytes[end + 1..]);
        if int_digits + frac_digits > 0 {
            end += 1 + frac_digits;
        }
    }
    if int_digits + frac_digits == 0 {
        return 0.0;
    }
    if matches!(bytes.get(end), Some(b'e' | b'E')) {
        let mut exp_end = end + 1;
        if matches!(bytes.get(exp_end), Some(b'+' | b'-')) {
            exp_end += 1;
        }
        let exp_digits = count_digits(&bytes[exp_end..]);
        if exp_digits > 0 {
            end = exp_end + exp_digits;
        }
    }
    s[..end].parse().unwrap_or(0.0)
}

fn count_digits(bytes: &[u8]) -> usize {
    bytes.iter().take_while(|b| b.is_ascii_digit()).count()
}

/// Perl's `split` result handling: empty leading fields stay, empty trailing fields go.
fn drop_trailing_empty(mut fields: Vec<&str>) -> Vec<&str> {
    while fields.last().is_some_and(|f| f.is_empty()) {
        fields.pop();
    }
    fields
}

/// `split /[\s,]+/` — the list form of `index_files` (SVC-46) and `plugins` (SVC-61).
pub fn split_words_and_commas(raw: &str) -> Vec<&str> {
    let is_sep = |c: char| c == ',' || is_space(c);
    let mut fields = Vec::new();
    let mut rest = raw;
    loop {
        match rest.find(is_sep) {
            Some(start) => {
                fields.push(&rest[..start]);
                let after = &rest[start..];
                let sep_len = after.len() - after.trim_start_matches(is_sep).len();
                rest = &after[sep_len..];
            }
            None => {
                fields.push(rest);
                break;
            }
        }
    }
    drop_trailing_empty(fields)
}

/// `split /\s*,\s*/` — comma lists with optional spaces (SVC-9, SVC-40, SVC-42).
pub fn split_commas(raw: &str) -> Vec<&str> {
    let count = raw.split(',').count();
    let fields = raw
        .split(',')
        .enumerate()
        .map(|(i, field)| {
            // Only whitespace touching a comma belongs to the separator.
            let field = if i > 0 {
                field.trim_start_matches(is_space)
            } else {
                field
            };
            if i + 1 < count {
                field.trim_end_matches(is_space)
            } else {
                field
            }
        })
        .collect::<Vec<_>>();
    drop_trailing_empty(fields)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bool_words_any_case_and_nothing_else() {
        for t in ["1", "true", "on", "yes", "YES", "On", "tRuE"] {
            assert_eq!(parse_bool(t), Some(true), "{t}");
        }
        for f in ["0", "false", "off", "no", "NO", "Off"] {
            assert_eq!(parse_bool(f), Some(false), "{f}");
        }
        for bad in ["\"on\"", "2", "", "y", "enabled", " on"] {
            assert_eq!(parse_bool(bad), None, "{bad}");
        }
    }

    #[test]
    fn int_is_unsigned_digits_only() {
        assert_eq!(parse_int("30"), Some(30));
        assert_eq!(parse_int("007"), Some(7));
        assert_eq!(parse_int("99999999999999999999999"), Some(u64::MAX));
        for bad in ["-1", "+1", "1.5", "", "1k", " 1"] {
            assert_eq!(parse_int(bad), None, "{bad}");
        }
    }

    #[test]
    fn size_suffixes_and_stored_text() {
        let size = |s: &str| parse_size(s).map(|v| (v.bytes, v.stored));
        assert_eq!(size("256k"), Some((262_144, "262144".into())));
        assert_eq!(size("0099K"), Some((101_376, "101376".into())));
        assert_eq!(size("1m"), Some((1_048_576, "1048576".into())));
        assert_eq!(size("1M"), Some((1_048_576, "1048576".into())));
        assert_eq!(size("0100"), Some((100, "0100".into())));
        assert_eq!(size("0100b"), Some((100, "0100".into())));
        assert_eq!(size("7B"), Some((7, "7".into())));
        for bad in ["1G", "-1", "k", "", "1.5k", "1kb", "99999999999999999999k"] {
            assert_eq!(parse_size(bad), None, "{bad}");
        }
    }

    #[test]
    fn size_default_normalisation() {
        assert_eq!(normalise_size_text("256k"), "262144");
        assert_eq!(normalise_size_text("209715200"), "209715200");
        assert_eq!(normalise_size_text("x"), "x");
    }

    #[test]
    fn truthiness_follows_perl() {
        assert!(!perl_truthy("") && !perl_truthy("0"));
        assert!(perl_truthy("00") && perl_truthy("0.0") && perl_truthy(" ") && perl_truthy("a"));
    }

    #[test]
    fn numify_reads_leading_number() {
        assert_eq!(perl_numify(".25"), 0.25);
        assert_eq!(perl_numify(".50"), 0.5);
        assert_eq!(perl_numify("1"), 1.0);
        assert_eq!(perl_numify(" 2.5s"), 2.5);
        assert_eq!(perl_numify("-3"), -3.0);
        assert_eq!(perl_numify("1e2x"), 100.0);
        assert_eq!(perl_numify("1e"), 1.0);
        assert_eq!(perl_numify("x"), 0.0);
        assert_eq!(perl_numify("."), 0.0);
        assert_eq!(perl_numify(""), 0.0);
        assert_eq!(perl_numify("5."), 5.0);
    }

    #[test]
    fn word_comma_split_keeps_leading_empty_field() {
        assert_eq!(split_words_and_commas("a,b  c"), ["a", "b", "c"]);
        assert_eq!(split_words_and_commas(",a"), ["", "a"]);
        assert_eq!(split_words_and_commas("a, ,"), ["a"]);
        assert_eq!(split_words_and_commas(","), Vec::<&str>::new());
        assert_eq!(split_words_and_commas("index.html"), ["index.html"]);
    }

    #[test]
    fn comma_split_trims_spaces_and_drops_trailing_empties() {
        assert_eq!(
            split_commas("10.0.0.0/8, 1.2.3.4"),
            ["10.0.0.0/8", "1.2.3.4"]
        );
        assert_eq!(split_commas("a,,b"), ["a", "", "b"]);
        assert_eq!(split_commas(",a"), ["", "a"]);
        assert_eq!(split_commas("a,"), ["a"]);
        assert_eq!(split_commas(","), Vec::<&str>::new());
        assert_eq!(split_commas("0,.25, .50 ,1"), ["0", ".25", ".50", "1"]);
        assert_eq!(split_commas(" a , b "), [" a", "b "]);
        assert_eq!(split_commas(" a "), [" a "]);
    }
}
