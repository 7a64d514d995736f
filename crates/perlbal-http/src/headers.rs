//! `HeaderMap`: the ordered, case-insensitive header collection of a request or response head.
//!
//! It reproduces Perlbal's header model exactly (HTTP-4, HTTP-5):
//! * lookups are ASCII case-insensitive; a name keeps the spelling of its first occurrence;
//! * a repeated header is merged into the first one's position with `", "` — including `Cookie`
//!   — except `Set-Cookie`, whose later values are kept as separate `Set-Cookie: v` lines that
//!   are written out at the position of the first one (the stored value then contains those
//!   extra lines, as in the original);
//! * a continuation line (starting with whitespace) is appended verbatim to the value of the
//!   previous header line;
//! * setting an existing header replaces its value in place, keeping the original spelling;
//!   setting a new one appends it with the given spelling;
//! * removing a header leaves a *tombstone*: the name keeps its slot, so setting it again later
//!   revives it in its original position and spelling (what a `HEADER ... remove` followed by
//!   `HEADER ... insert` of the same name does in Perlbal). Removing an absent header also
//!   reserves a slot at the end.
//!
//! Storage is built for parsing without per-header allocation: the map owns the raw head bytes
//! once and entries are ranges into them. Only values that are merged, continued or set by the
//! caller get their own storage, and short ones (up to 22 bytes) live inline.

/// Longest name or value stored inline, without a heap allocation.
const INLINE_CAP: usize = 22;

/// A byte string owned by a [`HeaderMap`] entry.
#[derive(Clone)]
enum Text {
    /// A range of the map's `source` bytes (as received on the wire).
    Source { start: u32, len: u32 },
    /// A short string stored in place.
    Inline { len: u8, bytes: [u8; INLINE_CAP] },
    /// A longer string that was built or set by the caller.
    Heap(Box<[u8]>),
}

impl Text {
    fn copy_of(value: &[u8]) -> Text {
        if value.len() <= INLINE_CAP {
            let mut bytes = [0u8; INLINE_CAP];
            bytes[..value.len()].copy_from_slice(value);
            Text::Inline {
                len: value.len() as u8,
                bytes,
            }
        } else {
            Text::Heap(value.into())
        }
    }

    fn from_vec(value: Vec<u8>) -> Text {
        if value.len() <= INLINE_CAP {
            Text::copy_of(&value)
        } else {
            Text::Heap(value.into_boxed_slice())
        }
    }

    fn resolve<'a>(&'a self, source: &'a [u8]) -> &'a [u8] {
        match self {
            Text::Source { start, len } => {
                let start = *start as usize;
                source.get(start..start + *len as usize).unwrap_or_default()
            }
            Text::Inline { len, bytes } => &bytes[..usize::from(*len)],
            Text::Heap(bytes) => bytes,
        }
    }
}

#[derive(Clone)]
struct Entry {
    name: Text,
    /// `None` once removed: the slot keeps its position and spelling (see module docs).
    value: Option<Text>,
}

/// An ordered, case-insensitive map of header names to values with Perlbal's merge rules.
#[derive(Clone, Default)]
pub struct HeaderMap {
    /// The raw head bytes that `Text::Source` ranges point into.
    source: Box<[u8]>,
    entries: Vec<Entry>,
}

impl std::fmt::Debug for HeaderMap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut map = f.debug_map();
        for (name, value) in self.iter() {
            map.entry(
                &String::from_utf8_lossy(name),
                &String::from_utf8_lossy(value),
            );
        }
        map.finish()
    }
}

/// Perl's `\s` on byte strings: space, `\t`, `\n`, `\x0b`, `\x0c`, `\r`.
pub(crate) fn is_perl_space(byte: u8) -> bool {
    matches!(byte, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// RFC 2616 token characters as the original accepts them: anything but CTLs, space and
/// separators (bytes >= 0x80 are accepted).
fn is_token_byte(byte: u8) -> bool {
    TOKEN_BYTES[usize::from(byte)]
}

/// [`is_token_byte`] as a table: header names are scanned byte by byte on every request.
static TOKEN_BYTES: [bool; 256] = {
    let mut table = [false; 256];
    let mut byte = 0x21;
    while byte < 256 {
        table[byte] = !matches!(
            byte as u8,
            0x7f | b'('
                | b')'
                | b'<'
                | b'>'
                | b'@'
                | b','
                | b';'
                | b':'
                | b'\\'
                | b'"'
                | b'/'
                | b'['
                | b']'
                | b'?'
                | b'='
                | b'{'
                | b'}'
        );
        byte += 1;
    }
    table
};

/// The decimal digits of `n` in a stack buffer: `(buffer, index of the first digit)`.
fn u64_digits(n: u64) -> ([u8; 20], usize) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    let mut rest = n;
    loop {
        at -= 1;
        digits[at] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            return (digits, at);
        }
    }
}

/// Appends the decimal form of `n` without allocating.
pub(crate) fn push_u64(out: &mut Vec<u8>, n: u64) {
    let (digits, at) = u64_digits(n);
    out.extend_from_slice(&digits[at..]);
}

/// Outcome of feeding one header line to [`HeaderMap::parse_line`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LineError {
    /// Neither `name: value` nor a continuation line.
    Malformed,
}

impl HeaderMap {
    /// An empty map (for responses Perlbal generates itself).
    pub fn new() -> HeaderMap {
        HeaderMap::default()
    }

    /// An empty map with room for `capacity` headers.
    pub fn with_capacity(capacity: usize) -> HeaderMap {
        HeaderMap {
            source: Box::default(),
            entries: Vec::with_capacity(capacity),
        }
    }

    /// A map whose parsed lines will point into `source` (a whole head).
    pub(crate) fn with_source(source: Box<[u8]>, capacity: usize) -> HeaderMap {
        HeaderMap {
            source,
            entries: Vec::with_capacity(capacity),
        }
    }

    /// The raw head bytes this map was parsed from (empty for built maps).
    pub(crate) fn source(&self) -> &[u8] {
        &self.source
    }

    fn position(&self, name: &[u8]) -> Option<usize> {
        self.entries
            .iter()
            .position(|entry| entry.name.resolve(&self.source).eq_ignore_ascii_case(name))
    }

    /// The value of `name` (case-insensitive), or `None` if absent or removed.
    ///
    /// For a `Set-Cookie` header received several times the value holds all of them joined by
    /// `\r\nSet-Cookie: `, exactly as the original stores it.
    pub fn get(&self, name: &str) -> Option<&[u8]> {
        let at = self.position(name.as_bytes())?;
        self.entries[at]
            .value
            .as_ref()
            .map(|value| value.resolve(&self.source))
    }

    /// The value of `name` as UTF-8 text; `None` if absent, removed or not valid UTF-8.
    pub fn get_str(&self, name: &str) -> Option<&str> {
        self.get(name)
            .and_then(|value| std::str::from_utf8(value).ok())
    }

    /// Whether `name` is present (with any value, even an empty one).
    pub fn contains(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// Sets `name` to `value`: replaces the value in place (keeping the position and the spelling
    /// of the name as first seen, also for a removed header), or appends `name: value`.
    ///
    /// `value` must not contain CR or LF; the map writes it out verbatim.
    pub fn set(&mut self, name: &str, value: impl AsRef<[u8]>) {
        self.set_text(name, Text::copy_of(value.as_ref()));
    }

    /// Sets `name` to the decimal form of `value` (e.g. `Content-Length`), without allocating.
    pub fn set_u64(&mut self, name: &str, value: u64) {
        let (digits, at) = u64_digits(value);
        self.set_text(name, Text::copy_of(&digits[at..]));
    }

    fn set_text(&mut self, name: &str, value: Text) {
        match self.position(name.as_bytes()) {
            Some(at) => self.entries[at].value = Some(value),
            None => self.entries.push(Entry {
                name: Text::copy_of(name.as_bytes()),
                value: Some(value),
            }),
        }
    }

    /// Removes `name`; returns whether it had a value. Its slot is kept (see module docs).
    pub fn remove(&mut self, name: &str) -> bool {
        match self.position(name.as_bytes()) {
            Some(at) => self.entries[at].value.take().is_some(),
            None => {
                self.entries.push(Entry {
                    name: Text::copy_of(name.as_bytes()),
                    value: None,
                });
                false
            }
        }
    }

    /// The present headers in output order, as `(name, value)` byte strings.
    pub fn iter(&self) -> impl Iterator<Item = (&[u8], &[u8])> + '_ {
        self.entries.iter().filter_map(move |entry| {
            let value = entry.value.as_ref()?;
            Some((
                entry.name.resolve(&self.source),
                value.resolve(&self.source),
            ))
        })
    }

    /// Number of present headers (merged headers count once).
    pub fn len(&self) -> usize {
        self.entries
            .iter()
            .filter(|entry| entry.value.is_some())
            .count()
    }

    /// Whether no header is present.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Appends every present header as `Name: value\r\n`, in order (no terminating blank line).
    pub fn encode(&self, out: &mut Vec<u8>) {
        for (name, value) in self.iter() {
            encode_line(name, value, out);
        }
    }

    /// Appends the headers as [`encode`](Self::encode) would after `edits` had been applied
    /// with [`set`](Self::set) and [`remove`](Self::remove), leaving the map untouched: a
    /// proxy rewrites a request for its backend without copying it.
    pub fn encode_edited(&self, edits: &HeaderEdits<'_>, out: &mut Vec<u8>) {
        for entry in &self.entries {
            let name = entry.name.resolve(&self.source);
            let value = match edits.final_value(name) {
                Some(edited) => edited,
                None => entry
                    .value
                    .as_ref()
                    .map(|value| value.resolve(&self.source)),
            };
            if let Some(value) = value {
                encode_line(name, value, out);
            }
        }
        for &(name, value) in &edits.changes {
            if let Some(value) = value {
                if self.position(name).is_none() {
                    encode_line(name, value, out);
                }
            }
        }
    }

    /// Parses the header line `source[start..end]` (without its line ending).
    ///
    /// `last` tracks the entry the previous header line went into, for continuation lines.
    pub(crate) fn parse_line(
        &mut self,
        start: usize,
        end: usize,
        last: &mut Option<usize>,
    ) -> Result<(), LineError> {
        let line = &self.source[start..end];
        let Some(&first) = line.first() else {
            return Err(LineError::Malformed);
        };
        if is_perl_space(first) {
            // A continuation before any header is ignored, as in the original.
            if let Some(at) = *last {
                self.append_raw(at, None, start, end);
            }
            return Ok(());
        }
        let name_len = line.iter().take_while(|&&b| is_token_byte(b)).count();
        if name_len == 0 || line.get(name_len) != Some(&b':') {
            return Err(LineError::Malformed);
        }
        let mut value_start = name_len + 1;
        while line.get(value_start).is_some_and(|&b| is_perl_space(b)) {
            value_start += 1;
        }
        let name = &line[..name_len];
        match self.position(name) {
            Some(at) => {
                let joiner: &[u8] = if name.eq_ignore_ascii_case(b"set-cookie") {
                    b"\r\nSet-Cookie: "
                } else {
                    b", "
                };
                self.append_raw(at, Some(joiner), start + value_start, end);
                *last = Some(at);
            }
            None => {
                self.entries.push(Entry {
                    name: span(start, name_len),
                    value: Some(span(start + value_start, end - start - value_start)),
                });
                *last = Some(self.entries.len() - 1);
            }
        }
        Ok(())
    }

    /// Appends `joiner` + `source[start..end]` to entry `at`'s value, moving it to owned storage.
    fn append_raw(&mut self, at: usize, joiner: Option<&[u8]>, start: usize, end: usize) {
        let addition = &self.source[start..end];
        let joiner = joiner.unwrap_or_default();
        let old = self.entries[at]
            .value
            .as_ref()
            .map(|value| value.resolve(&self.source))
            .unwrap_or_default();
        let mut merged = Vec::with_capacity(old.len() + joiner.len() + addition.len());
        merged.extend_from_slice(old);
        merged.extend_from_slice(joiner);
        merged.extend_from_slice(addition);
        self.entries[at].value = Some(Text::from_vec(merged));
    }
}

fn encode_line(name: &[u8], value: &[u8], out: &mut Vec<u8>) {
    out.reserve(name.len() + value.len() + 4);
    out.extend_from_slice(name);
    out.extend_from_slice(b": ");
    out.extend_from_slice(value);
    out.extend_from_slice(b"\r\n");
}

/// A sequence of `set` and `remove` calls recorded instead of applied, for
/// [`HeaderMap::encode_edited`].
///
/// It keeps each name's final value (`None`: removed) in the order names were first touched,
/// which is all that the map's rules make observable: a present (or removed) header is
/// replaced in its slot, and a new name takes the next slot at the end when first set or
/// removed.
#[derive(Debug, Default)]
pub struct HeaderEdits<'a> {
    changes: Vec<(&'a [u8], Option<&'a [u8]>)>,
}

impl<'a> HeaderEdits<'a> {
    /// No edits yet, with room for `capacity` names.
    pub fn with_capacity(capacity: usize) -> HeaderEdits<'a> {
        HeaderEdits {
            changes: Vec::with_capacity(capacity),
        }
    }

    /// Records `set(name, value)`; `value` must not contain CR or LF.
    pub fn set(&mut self, name: &'a str, value: &'a [u8]) {
        self.touch(name.as_bytes(), Some(value));
    }

    /// Records `remove(name)`.
    pub fn remove(&mut self, name: &'a str) {
        self.touch(name.as_bytes(), None);
    }

    fn touch(&mut self, name: &'a [u8], value: Option<&'a [u8]>) {
        match self
            .changes
            .iter_mut()
            .find(|(seen, _)| seen.eq_ignore_ascii_case(name))
        {
            Some(change) => change.1 = value,
            None => self.changes.push((name, value)),
        }
    }

    /// `Some(final value)` when `name` was touched.
    fn final_value(&self, name: &[u8]) -> Option<Option<&'a [u8]>> {
        self.changes
            .iter()
            .find(|(seen, _)| seen.eq_ignore_ascii_case(name))
            .map(|&(_, value)| value)
    }
}

/// A `Text::Source` range; heads are bounded far below `u32::MAX` by the parsers.
fn span(start: usize, len: usize) -> Text {
    Text::Source {
        start: start as u32,
        len: len as u32,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recorded_edits_encode_like_applied_ones() {
        let head = "Host: a\r\nConnection: close\r\nX-Host: b\r\nCookie: c";
        let sequences: &[&[(&str, Option<&str>)]] = &[
            &[("connection", Some("keep-alive")), ("X-New", Some("1"))],
            &[("X-Gone", None), ("x-gone", Some("back")), ("X-Host", None)],
            &[
                ("X-Host", None),
                ("x-host", Some("again")),
                ("Cookie", None),
            ],
            &[
                ("A", Some("1")),
                ("B", None),
                ("a", None),
                ("b", Some("2")),
                ("C", Some("3")),
            ],
            &[],
        ];
        for ops in sequences {
            let mut applied = parse(head).expect("test head parses");
            let recorded_from = parse(head).expect("test head parses");
            let mut edits = HeaderEdits::default();
            for &(name, value) in *ops {
                match value {
                    Some(value) => {
                        applied.set(name, value);
                        edits.set(name, value.as_bytes());
                    }
                    None => {
                        applied.remove(name);
                        edits.remove(name);
                    }
                }
            }
            let (mut want, mut got) = (Vec::new(), Vec::new());
            applied.encode(&mut want);
            recorded_from.encode_edited(&edits, &mut got);
            assert_eq!(
                String::from_utf8_lossy(&got),
                String::from_utf8_lossy(&want),
                "{ops:?}"
            );
        }
    }

    #[test]
    fn token_table_is_rfc2616_tokens_plus_high_bytes() {
        for byte in 0..=255u8 {
            let separator = b"()<>@,;:\\\"/[]?={}".contains(&byte);
            let expected = !(byte <= 0x20 || byte == 0x7f || separator);
            assert_eq!(is_token_byte(byte), expected, "byte {byte:#x}");
        }
    }

    /// Builds a map from header lines joined by `\r\n` (no request line).
    fn parse(lines: &str) -> Result<HeaderMap, LineError> {
        let source: Box<[u8]> = lines.as_bytes().into();
        let mut map = HeaderMap::with_source(source, 8);
        let mut last = None;
        let mut start = 0;
        for line in lines.split("\r\n") {
            map.parse_line(start, start + line.len(), &mut last)?;
            start += line.len() + 2;
        }
        Ok(map)
    }

    fn encoded(map: &HeaderMap) -> String {
        let mut out = Vec::new();
        map.encode(&mut out);
        String::from_utf8(out).expect("test headers are UTF-8")
    }

    #[test]
    fn http5_lookup_is_case_insensitive_and_keeps_first_spelling() {
        let map = parse("content-TYPE: text/html\r\nHost: a").expect("valid header lines");
        assert_eq!(map.get("Content-Type"), Some(&b"text/html"[..]));
        assert_eq!(map.get("HOST"), Some(&b"a"[..]));
        assert_eq!(encoded(&map), "content-TYPE: text/html\r\nHost: a\r\n");
    }

    #[test]
    fn obs10_repeated_headers_merge_in_first_position_including_cookie() {
        let map = parse("Foo: a\r\nCookie: a=1\r\nX: y\r\nfoo: second\r\nCOOKIE: b=2")
            .expect("valid header lines");
        assert_eq!(
            encoded(&map),
            "Foo: a, second\r\nCookie: a=1, b=2\r\nX: y\r\n"
        );
    }

    #[test]
    fn obs10_continuation_is_appended_verbatim() {
        let map = parse("Foo: a\r\n  continued\r\nFoo: second").expect("valid header lines");
        assert_eq!(map.get("foo"), Some(&b"a  continued, second"[..]));
    }

    #[test]
    fn continuation_goes_to_previous_line_even_when_merged_earlier() {
        let map = parse("A: 1\r\nB: 2\r\nA: 3\r\n\tx").expect("valid header lines");
        assert_eq!(encoded(&map), "A: 1, 3\tx\r\nB: 2\r\n");
    }

    #[test]
    fn continuation_before_any_header_is_ignored() {
        let map = parse(" orphan\r\nA: 1").expect("valid header lines");
        assert_eq!(encoded(&map), "A: 1\r\n");
    }

    #[test]
    fn obs10_set_cookie_stays_separate_lines_at_first_position() {
        let map = parse("set-cookie: a=1\r\nX-Dup: 1\r\nSET-COOKIE: b=2\r\nX-Dup: 2")
            .expect("valid header lines");
        assert_eq!(
            encoded(&map),
            "set-cookie: a=1\r\nSet-Cookie: b=2\r\nX-Dup: 1, 2\r\n"
        );
    }

    #[test]
    fn http4_leading_value_whitespace_dropped_trailing_kept() {
        let map = parse("A:\t \x0b b c \r\nB:").expect("valid header lines");
        assert_eq!(map.get("a"), Some(&b"b c "[..]));
        assert_eq!(map.get("b"), Some(&b""[..]));
        assert!(map.contains("b"));
    }

    #[test]
    fn http4_line_without_colon_is_rejected() {
        assert_eq!(parse("NoColonHere").err(), Some(LineError::Malformed));
        assert_eq!(parse("Bad Name: x").err(), Some(LineError::Malformed));
        assert_eq!(parse(": empty name").err(), Some(LineError::Malformed));
        assert_eq!(parse("a/b: x").err(), Some(LineError::Malformed));
    }

    #[test]
    fn http4_name_may_hold_high_bytes_like_the_original() {
        let source: Box<[u8]> = b"X-\xc3\xa9: v"[..].into();
        let mut map = HeaderMap::with_source(source, 1);
        let mut last = None;
        assert_eq!(map.parse_line(0, 7, &mut last), Ok(()));
        assert_eq!(map.iter().count(), 1);
    }

    #[test]
    fn set_replaces_in_place_keeping_spelling_or_appends() {
        let mut map = parse("x-test: old\r\nB: 2").expect("valid header lines");
        map.set("X-Test", "new");
        map.set("Connection", "close");
        assert_eq!(
            encoded(&map),
            "x-test: new\r\nB: 2\r\nConnection: close\r\n"
        );
    }

    #[test]
    fn remove_then_set_revives_original_position_and_spelling() {
        let mut map = parse("A: 1\r\nx-foo: 2\r\nB: 3").expect("valid header lines");
        assert!(map.remove("X-Foo"));
        assert_eq!(encoded(&map), "A: 1\r\nB: 3\r\n");
        assert_eq!(map.get("x-foo"), None);
        map.set("X-FOO", "again");
        assert_eq!(encoded(&map), "A: 1\r\nx-foo: again\r\nB: 3\r\n");
    }

    #[test]
    fn removing_an_absent_header_reserves_its_slot() {
        let mut map = HeaderMap::new();
        map.set("Connection", "close");
        assert!(!map.remove("Keep-Alive"));
        map.set("X-Later", "1");
        map.set("keep-alive", "timeout=30, max=100");
        assert_eq!(
            encoded(&map),
            "Connection: close\r\nKeep-Alive: timeout=30, max=100\r\nX-Later: 1\r\n"
        );
    }

    #[test]
    fn set_u64_and_long_values_round_trip() {
        let mut map = HeaderMap::new();
        map.set_u64("Content-Length", 0);
        map.set_u64("X-Big", u64::MAX);
        let long = "v".repeat(100);
        map.set("X-Long", &long);
        assert_eq!(map.get_str("content-length"), Some("0"));
        assert_eq!(map.get_str("x-big"), Some("18446744073709551615"));
        assert_eq!(map.get_str("x-long"), Some(long.as_str()));
        assert_eq!(map.len(), 3);
    }

    #[test]
    fn push_u64_formats_decimal() {
        for n in [0u64, 7, 10, 99, 100, 12345, u64::MAX] {
            let mut out = Vec::new();
            push_u64(&mut out, n);
            assert_eq!(out, n.to_string().as_bytes());
        }
    }

    #[test]
    fn get_str_refuses_invalid_utf8() {
        let source: Box<[u8]> = b"A: \xff"[..].into();
        let mut map = HeaderMap::with_source(source, 1);
        let mut last = None;
        assert_eq!(map.parse_line(0, 4, &mut last), Ok(()));
        assert_eq!(map.get("a"), Some(&b"\xff"[..]));
        assert_eq!(map.get_str("a"), None);
    }
}
