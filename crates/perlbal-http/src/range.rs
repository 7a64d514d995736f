//! Single byte ranges for files (WS-9, WS-10, REPROXY-3).
//!
//! Only a `Range` value of exactly `bytes=A-B`, `bytes=A-` or `bytes=-N` (ASCII digits) is
//! honoured; anything else — several ranges, other units, `bytes=-`, merged duplicate headers —
//! serves the whole file. `A > B`, `bytes=-0` and `A >= size` are unsatisfiable (416); `B` is
//! clipped to the last byte.
//!
//! ⚠ WS-10: the original serves `bytes=-N` as `0-N` (the first N+1 bytes). We implement the
//! RFC 7233 suffix range — the last N bytes, the whole file when N >= size — and a suffix range
//! on an empty file is unsatisfiable (the original answered it with a bogus `0--1` range).

use crate::head::leading_digits;

/// What to serve for a request's `Range` header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RangeDecision {
    /// No usable range: 200 with the whole file.
    Full,
    /// 206 with bytes `start..=end`.
    Partial { start: u64, end: u64 },
    /// 416.
    Unsatisfiable,
}

/// Optional `\d*` filling all of `digits`: `Ok(None)` for empty, saturating on overflow.
fn optional_number(digits: &[u8]) -> Result<Option<u64>, ()> {
    if digits.is_empty() {
        return Ok(None);
    }
    match leading_digits(digits) {
        Some((value, len)) if len == digits.len() => Ok(Some(value)),
        _ => Err(()),
    }
}

/// Decides the reply for `range` (the `Range` header value, if any) on a file of `size` bytes.
pub fn decide_range(range: Option<&[u8]>, size: u64) -> RangeDecision {
    let Some(spec) = range.and_then(|value| value.strip_prefix(b"bytes=")) else {
        return RangeDecision::Full;
    };
    let Some(dash) = memchr::memchr(b'-', spec) else {
        return RangeDecision::Full;
    };
    let (Ok(first), Ok(last)) = (
        optional_number(&spec[..dash]),
        optional_number(&spec[dash + 1..]),
    ) else {
        return RangeDecision::Full;
    };
    match (first, last) {
        (None, None) => RangeDecision::Full,
        (Some(start), Some(end)) if start > end => RangeDecision::Unsatisfiable,
        (Some(start), _) if start >= size => RangeDecision::Unsatisfiable,
        (Some(start), end) => RangeDecision::Partial {
            start,
            end: end.map_or(size - 1, |end| end.min(size - 1)),
        },
        (None, Some(suffix)) if suffix == 0 || size == 0 => RangeDecision::Unsatisfiable,
        (None, Some(suffix)) => RangeDecision::Partial {
            start: size.saturating_sub(suffix),
            end: size - 1,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decide(range: &str, size: u64) -> RangeDecision {
        decide_range(Some(range.as_bytes()), size)
    }

    fn partial(start: u64, end: u64) -> RangeDecision {
        RangeDecision::Partial { start, end }
    }

    #[test]
    fn obs30_satisfiable_ranges() {
        assert_eq!(decide("bytes=0-4", 20), partial(0, 4));
        assert_eq!(decide("bytes=5-", 20), partial(5, 19));
        assert_eq!(decide("bytes=15-100", 20), partial(15, 19));
        assert_eq!(decide("bytes=19-19", 20), partial(19, 19));
        assert_eq!(decide("bytes=007-08", 20), partial(7, 8));
    }

    #[test]
    fn ws10_suffix_range_is_the_last_bytes() {
        assert_eq!(decide("bytes=-5", 20), partial(15, 19));
        assert_eq!(decide("bytes=-20", 20), partial(0, 19));
        assert_eq!(decide("bytes=-500", 20), partial(0, 19));
        assert_eq!(decide("bytes=-5", 0), RangeDecision::Unsatisfiable);
    }

    #[test]
    fn obs30_unsatisfiable_ranges() {
        assert_eq!(decide("bytes=20-", 20), RangeDecision::Unsatisfiable);
        assert_eq!(decide("bytes=5-3", 20), RangeDecision::Unsatisfiable);
        assert_eq!(decide("bytes=-0", 20), RangeDecision::Unsatisfiable);
        assert_eq!(decide("bytes=0-", 0), RangeDecision::Unsatisfiable);
        assert_eq!(
            decide("bytes=99999999999999999999999-", 20),
            RangeDecision::Unsatisfiable
        );
    }

    #[test]
    fn obs30_ignored_ranges_serve_whole_file() {
        for range in [
            "bytes=0-1,3-4",
            "bytes=abc",
            "items=0-1",
            "bytes=-",
            "Bytes=0-1",
            "bytes= 0-1",
            "bytes=0-1 ",
            "bytes=0-1, bytes=2-3",
            "bytes=+1-2",
            "bytes=1--2",
            "",
        ] {
            assert_eq!(decide(range, 20), RangeDecision::Full, "{range:?}");
        }
        assert_eq!(decide_range(None, 20), RangeDecision::Full);
    }

    #[test]
    fn huge_end_is_clipped() {
        assert_eq!(
            decide("bytes=5-99999999999999999999999", 20),
            partial(5, 19)
        );
    }
}
