//! `If-Modified-Since` as the original evaluates it (WS-12, WS-15, REPROXY-14).
//!
//! No date parsing: a 304 is due only when the header string equals the `Last-Modified` string
//! exactly, after removing the first `; length=N` (the suffix Internet Explorer adds). For a
//! single file, a given `N` other than `0` must also equal the file size (Perl ignores a
//! literal `0`, which it treats as false); concatenations and the reproxy cache ignore `N`.

use crate::head::leading_digits;

/// The parts of an `If-Modified-Since` value around its first `; length=N`.
struct ImsParts<'a> {
    before: &'a [u8],
    length: Option<&'a [u8]>,
    after: &'a [u8],
}

fn split_length_suffix(ims: &[u8]) -> ImsParts<'_> {
    const MARKER: &[u8] = b"; length=";
    let mut from = 0;
    while let Some(found) = memchr::memmem::find(&ims[from..], MARKER) {
        let at = from + found;
        let digits_start = at + MARKER.len();
        if let Some((_, len)) = leading_digits(&ims[digits_start..]) {
            return ImsParts {
                before: &ims[..at],
                length: Some(&ims[digits_start..digits_start + len]),
                after: &ims[digits_start + len..],
            };
        }
        from = at + 1;
    }
    ImsParts {
        before: ims,
        length: None,
        after: b"",
    }
}

/// Whether `If-Modified-Since` (header value, if any) makes the reply a 304.
///
/// `file_size` is `Some(size)` for a single regular file (the `; length=N` check applies) and
/// `None` for concatenations and cached reproxy entries. The caller must only ask for regular
/// files (directories never get a 304).
pub fn not_modified(ims: Option<&[u8]>, last_modified: &str, file_size: Option<u64>) -> bool {
    let Some(ims) = ims.filter(|value| !value.is_empty() && *value != b"0") else {
        return false;
    };
    let parts = split_length_suffix(ims);
    let last_modified = last_modified.as_bytes();
    let equal = last_modified.len() == parts.before.len() + parts.after.len()
        && last_modified.starts_with(parts.before)
        && last_modified.ends_with(parts.after);
    if !equal {
        return false;
    }
    match (file_size, parts.length) {
        (Some(size), Some(length)) if length != b"0" => {
            leading_digits(length).is_some_and(|(value, _)| value == size)
        }
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LM: &str = "Thu, 02 Jan 2020 03:04:05 GMT";

    fn single(ims: &str) -> bool {
        not_modified(Some(ims.as_bytes()), LM, Some(20))
    }

    #[test]
    fn obs29_exact_match_is_not_modified() {
        assert!(single(LM));
        assert!(!single("Thu, 02 Jan 2020 03:04:06 GMT"));
        assert!(!single("thu, 02 Jan 2020 03:04:05 GMT"));
        assert!(!single("Thursday, 02-Jan-20 03:04:05 GMT"));
        assert!(!not_modified(None, LM, Some(20)));
        assert!(!single(""));
    }

    #[test]
    fn obs29_ie_length_suffix() {
        assert!(single(&format!("{LM}; length=20")));
        assert!(!single(&format!("{LM}; length=21")));
        assert!(single(&format!("{LM}; length=0")));
        assert!(!single(&format!("{LM}; length=00")));
        assert!(single(&format!("{LM}; length=020")));
        assert!(!single(&format!("{LM}; length=99999999999999999999999")));
    }

    #[test]
    fn length_suffix_removed_only_once_and_anywhere() {
        assert!(single("Thu, 02 Jan; length=20 2020 03:04:05 GMT"));
        assert!(!single(&format!("{LM}; length=20; length=20")));
        assert!(!single(&format!("{LM}; length=x; length=20")));
    }

    #[test]
    fn ws15_concat_ignores_length() {
        assert!(not_modified(
            Some(format!("{LM}; length=999").as_bytes()),
            LM,
            None
        ));
    }
}
