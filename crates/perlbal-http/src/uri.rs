//! Request URI rules of the web server: `%XX` decoding and path checks (WS-2, WS-3), the
//! query cut, concatenated GETs (WS-14), and the PUT / DELETE filename rules (WS-17, WS-22).
//!
//! * Decoding turns every `%XX` (two hex digits) into its byte, in one pass over the whole URI
//!   including the query; `+` stays `+`.
//! * A decoded path must start with `/` and must not contain `/../` (else `403 Bogus URL`).
//!   ⚠ WS-3: the original lets `%00` through and its file layer truncates at the NUL, so
//!   `/data.txt%00.gif` serves `data.txt` as `image/gif`. We refuse decoded NUL bytes
//!   ([`PathError::NulByte`], answered as 404 by the server).
//! * PUT and DELETE check the URI as sent (not decoded).

use std::borrow::Cow;

/// Most files one concatenated GET may name (WS-14).
pub const MAX_CONCAT_FILES: usize = 100;

fn hex_value(byte: u8) -> Option<u8> {
    match byte {
        b'0'..=b'9' => Some(byte - b'0'),
        b'a'..=b'f' => Some(byte - b'a' + 10),
        b'A'..=b'F' => Some(byte - b'A' + 10),
        _ => None,
    }
}

/// WS-2: replaces each `%XX` by the byte it encodes; other bytes are kept.
pub fn percent_decode(uri: &[u8]) -> Cow<'_, [u8]> {
    let Some(first) = memchr::memchr(b'%', uri) else {
        return Cow::Borrowed(uri);
    };
    let mut decoded = Vec::with_capacity(uri.len());
    decoded.extend_from_slice(&uri[..first]);
    let mut at = first;
    while at < uri.len() {
        let escaped = match uri.get(at..at + 3) {
            Some([b'%', high, low]) => hex_value(*high).zip(hex_value(*low)),
            _ => None,
        };
        match escaped {
            Some((high, low)) => {
                decoded.push(high << 4 | low);
                at += 3;
            }
            None => {
                decoded.push(uri[at]);
                at += 1;
            }
        }
    }
    Cow::Owned(decoded)
}

/// Why a decoded web path is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathError {
    /// Not starting with `/`, or containing `/../`: `403` `Bogus URL` (WS-2, OBS-31).
    Bogus,
    /// A NUL byte after decoding (WS-3 divergence): answered `404`.
    NulByte,
}

impl PathError {
    /// The status the web server answers with.
    pub fn status(self) -> u16 {
        match self {
            PathError::Bogus => 403,
            PathError::NulByte => 404,
        }
    }

    /// The message of the generated page.
    pub fn message(self) -> &'static str {
        match self {
            PathError::Bogus => "Bogus URL",
            PathError::NulByte => "",
        }
    }
}

/// WS-2/WS-3 checks on a decoded URI (query still attached).
pub fn check_web_path(decoded: &[u8]) -> Result<(), PathError> {
    if !decoded.starts_with(b"/") || memchr::memmem::find(decoded, b"/../").is_some() {
        return Err(PathError::Bogus);
    }
    if memchr::memchr(0, decoded).is_some() {
        return Err(PathError::NulByte);
    }
    Ok(())
}

/// WS-14: whether a decoded URI asks for a concatenation (contains `??`).
pub fn is_concat(decoded: &[u8]) -> bool {
    memchr::memmem::find(decoded, b"??").is_some()
}

/// WS-2: the path without its query, per the original's `s/\?.*//` (which stops at a newline).
pub fn strip_query(decoded: &[u8]) -> Cow<'_, [u8]> {
    let Some(question) = memchr::memchr(b'?', decoded) else {
        return Cow::Borrowed(decoded);
    };
    match memchr::memchr(b'\n', &decoded[question..]) {
        None => Cow::Borrowed(&decoded[..question]),
        Some(newline) => {
            let mut kept = decoded[..question].to_vec();
            kept.extend_from_slice(&decoded[question + newline..]);
            Cow::Owned(kept)
        }
    }
}

/// A parsed concatenated GET: `base` (ends with `/`) and the file names after `??`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConcatRequest<'a> {
    pub base: &'a [u8],
    pub files: Vec<&'a [u8]>,
}

/// Why a concatenated GET is refused before touching the file system (WS-14).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConcatError {
    /// `500` `Base directory (before ??) must end in slash.`
    BaseNotSlash,
    /// `500` `Docroot unconfigured`
    DocrootUnconfigured,
    /// `403` `Multiple file serving isn't enabled`
    Disabled,
    /// `403` `Too many files requested`
    TooManyFiles,
    /// `403` `Bogus filenames`
    BogusFilenames,
}

impl ConcatError {
    /// The status of the generated page.
    pub fn status(self) -> u16 {
        match self {
            ConcatError::BaseNotSlash | ConcatError::DocrootUnconfigured => 500,
            ConcatError::Disabled | ConcatError::TooManyFiles | ConcatError::BogusFilenames => 403,
        }
    }

    /// The message of the generated page (HTTP-12).
    pub fn message(self) -> &'static str {
        match self {
            ConcatError::BaseNotSlash => "Base directory (before ??) must end in slash.",
            ConcatError::DocrootUnconfigured => "Docroot unconfigured",
            ConcatError::Disabled => "Multiple file serving isn't enabled",
            ConcatError::TooManyFiles => "Too many files requested",
            ConcatError::BogusFilenames => "Bogus filenames",
        }
    }
}

/// `(.+)\?\?(.+)` within one line: the base before the last `??` that leaves a non-empty list.
fn split_concat(decoded: &[u8]) -> Option<(&[u8], &[u8])> {
    decoded.split(|&b| b == b'\n').find_map(|line| {
        let found = (1..line.len().saturating_sub(2))
            .rev()
            .find(|&at| &line[at..at + 2] == b"??")?;
        Some((&line[..found], &line[found + 2..]))
    })
}

/// `s/\?.+//`: drops a cache-busting `?…` suffix (a lone trailing `?` stays).
fn cut_list_suffix(list: &[u8]) -> &[u8] {
    match memchr::memchr(b'?', list) {
        Some(at) if at + 1 < list.len() => &list[..at],
        _ => list,
    }
}

/// A name with `../` at its start or after a `/`.
fn is_bogus_name(name: &[u8]) -> bool {
    name.starts_with(b"../") || memchr::memmem::find(name, b"/../").is_some()
}

/// WS-14: parses `/<dir>/??<f1>,<f2>[,…][?<ignored>]` from a decoded URI, applying the
/// original's checks in its order. File-system checks (base is a directory, files exist) are
/// the caller's.
pub fn parse_concat(
    decoded: &[u8],
    docroot_configured: bool,
    enabled: bool,
) -> Result<ConcatRequest<'_>, ConcatError> {
    let (base, list) = split_concat(decoded).ok_or(ConcatError::BaseNotSlash)?;
    if !base.ends_with(b"/") {
        return Err(ConcatError::BaseNotSlash);
    }
    let list = cut_list_suffix(list);
    if !docroot_configured {
        return Err(ConcatError::DocrootUnconfigured);
    }
    let mut files: Vec<&[u8]> = list.split(|&b| b == b',').collect();
    // Perl's split drops trailing empty fields.
    while files.last().is_some_and(|name| name.is_empty()) {
        files.pop();
    }
    if !enabled {
        return Err(ConcatError::Disabled);
    }
    if files.len() > MAX_CONCAT_FILES {
        return Err(ConcatError::TooManyFiles);
    }
    if files.iter().any(|name| is_bogus_name(name)) {
        return Err(ConcatError::BogusFilenames);
    }
    Ok(ConcatRequest { base, files })
}

/// The URI of a PUT or DELETE is not an acceptable file name: `400` `Invalid filename`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InvalidFilename;

impl InvalidFilename {
    /// The message of the generated page.
    pub const MESSAGE: &'static str = "Invalid filename";
}

fn is_name_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || matches!(byte, b'_' | b'-' | b'.')
}

/// `(/[\w.-]+)+` and no `..` anywhere: the shared rule of WS-17 and WS-22.
fn conservative_path(uri: &[u8]) -> Result<&str, InvalidFilename> {
    if memchr::memmem::find(uri, b"..").is_some() {
        return Err(InvalidFilename);
    }
    let rest = uri.strip_prefix(b"/").ok_or(InvalidFilename)?;
    let valid = rest
        .split(|&b| b == b'/')
        .all(|part| !part.is_empty() && part.iter().all(|&b| is_name_byte(b)));
    if !valid {
        return Err(InvalidFilename);
    }
    std::str::from_utf8(uri).map_err(|_| InvalidFilename)
}

/// Where a PUT writes: `dir` is `""` or `/a/b`, `file` the last component (WS-17).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PutTarget<'a> {
    pub dir: &'a str,
    pub file: &'a str,
}

impl<'a> PutTarget<'a> {
    /// The non-empty components of `dir`, for `min_put_directory` (WS-20).
    pub fn dir_components(&self) -> impl Iterator<Item = &'a str> {
        self.dir.split('/').filter(|part| !part.is_empty())
    }
}

/// WS-17: the target of a PUT, from the URI as sent.
pub fn put_target(uri: &[u8]) -> Result<PutTarget<'_>, InvalidFilename> {
    let path = conservative_path(uri)?;
    let slash = path.rfind('/').ok_or(InvalidFilename)?;
    Ok(PutTarget {
        dir: &path[..slash],
        file: &path[slash + 1..],
    })
}

/// WS-22: the path a DELETE removes (relative to the docroot), from the URI as sent.
pub fn delete_target(uri: &[u8]) -> Result<&str, InvalidFilename> {
    conservative_path(uri)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn web_path(uri: &str) -> Result<(), PathError> {
        check_web_path(&percent_decode(uri.as_bytes()))
    }

    #[test]
    fn ws2_percent_decoding_covers_whole_uri() {
        assert_eq!(
            &*percent_decode(b"/data%2etxt?a=%41%4a+b"),
            b"/data.txt?a=AJ+b"
        );
        assert_eq!(&*percent_decode(b"/%zz%4%"), b"/%zz%4%");
        assert_eq!(&*percent_decode(b"/%2541"), b"/%41");
        assert_eq!(&*percent_decode(b"%ff%FF"), b"\xff\xff");
        assert!(matches!(percent_decode(b"/plain"), Cow::Borrowed(_)));
    }

    #[test]
    fn obs31_traversal_and_relative_paths_are_bogus() {
        for uri in [
            "/../etc/passwd",
            "/sub/../data.txt",
            "/%2e%2e/etc/passwd",
            "nohost",
            "",
            "*",
        ] {
            assert_eq!(web_path(uri), Err(PathError::Bogus), "{uri:?}");
        }
        let bogus = PathError::Bogus;
        assert_eq!((bogus.status(), bogus.message()), (403, "Bogus URL"));
    }

    #[test]
    fn obs31_accepted_paths() {
        for uri in [
            "/data%2etxt",
            "//data.txt",
            "/data.txt?foo=bar",
            "/sub/..",
            "/a/..b/c",
        ] {
            assert_eq!(web_path(uri), Ok(()), "{uri:?}");
        }
    }

    #[test]
    fn obs48_nul_byte_after_decoding_is_refused() {
        assert_eq!(web_path("/data.txt%00.gif"), Err(PathError::NulByte));
        assert_eq!(PathError::NulByte.status(), 404);
    }

    #[test]
    fn ws2_query_cut() {
        assert_eq!(&*strip_query(b"/data.txt?foo=bar"), b"/data.txt");
        assert_eq!(&*strip_query(b"/data.txt"), b"/data.txt");
        assert_eq!(&*strip_query(b"/a?x\nb"), b"/a\nb");
    }

    fn concat(uri: &str) -> Result<ConcatRequest<'_>, ConcatError> {
        parse_concat(uri.as_bytes(), true, true)
    }

    #[test]
    fn obs33_concat_parsing() {
        let request = concat("/css/??a.css,b.css").expect("valid concat");
        assert_eq!(request.base, b"/css/");
        assert_eq!(request.files, vec![&b"a.css"[..], &b"b.css"[..]]);
        let busted = concat("/css/??a.css,c.js?v=123").expect("valid concat");
        assert_eq!(busted.files, vec![&b"a.css"[..], &b"c.js"[..]]);
        assert!(is_concat(b"/css/??a.css"));
        assert!(!is_concat(b"/css/?a.css"));
    }

    #[test]
    fn obs33_concat_refusals_in_original_order() {
        assert_eq!(concat("/css??a.css"), Err(ConcatError::BaseNotSlash));
        assert_eq!(concat("/css/??"), Err(ConcatError::BaseNotSlash));
        assert_eq!(
            concat("/css/??../data.txt"),
            Err(ConcatError::BogusFilenames)
        );
        assert_eq!(concat("/css/??a/../../x"), Err(ConcatError::BogusFilenames));
        assert_eq!(
            parse_concat(b"/css??a", false, false),
            Err(ConcatError::BaseNotSlash)
        );
        assert_eq!(
            parse_concat(b"/css/??a", false, false),
            Err(ConcatError::DocrootUnconfigured)
        );
        assert_eq!(
            parse_concat(b"/css/??../a", true, false),
            Err(ConcatError::Disabled)
        );
        let many = format!("/d/??{}", vec!["f"; MAX_CONCAT_FILES + 1].join(","));
        assert_eq!(concat(&many), Err(ConcatError::TooManyFiles));
        let limit = format!("/d/??{}", vec!["f"; MAX_CONCAT_FILES].join(","));
        assert!(concat(&limit).is_ok());
        assert_eq!(
            ConcatError::BaseNotSlash.message(),
            "Base directory (before ??) must end in slash."
        );
        assert_eq!(ConcatError::TooManyFiles.status(), 403);
    }

    #[test]
    fn concat_list_edge_cases_follow_perl_split() {
        assert_eq!(concat("/d/??a,,b,,").map(|r| r.files.len()), Ok(3));
        assert_eq!(concat("/d/??,,,").map(|r| r.files.len()), Ok(0));
        assert_eq!(concat("/d/???").map(|r| r.files), Ok(vec![&b"?"[..]]));
        assert_eq!(concat("/d/??a??").map(|r| r.files), Ok(vec![&b"a"[..]]));
        assert_eq!(concat("/a/???b"), Err(ConcatError::BaseNotSlash));
        assert_eq!(concat("/x/??a\n/d/??b").map(|r| r.base), Ok(&b"/x/"[..]));
    }

    #[test]
    fn obs34_put_filename_rules() {
        assert_eq!(
            put_target(b"/put/new.txt"),
            Ok(PutTarget {
                dir: "/put",
                file: "new.txt"
            })
        );
        let top = put_target(b"/f-1_a.b").expect("valid put target");
        assert_eq!((top.dir, top.file), ("", "f-1_a.b"));
        let deep = put_target(b"/a/b/c/d.txt").expect("valid put target");
        assert_eq!(
            deep.dir_components().collect::<Vec<_>>(),
            vec!["a", "b", "c"]
        );
        for uri in [
            "/put/../x.txt",
            "/put/dir/",
            "/a..b",
            "put/x",
            "/",
            "//x",
            "/a//b",
            "/a/b?c",
            "/%2e%2e/x",
            "/sp ace",
            "/\u{e9}",
        ] {
            assert_eq!(put_target(uri.as_bytes()), Err(InvalidFilename), "{uri:?}");
        }
    }

    #[test]
    fn ws22_delete_filename_rules() {
        assert_eq!(delete_target(b"/put/new.txt"), Ok("/put/new.txt"));
        assert_eq!(delete_target(b"/dir"), Ok("/dir"));
        for uri in ["/dir/", "/../x", "/a/..", "x", "/a b", ""] {
            assert_eq!(
                delete_target(uri.as_bytes()),
                Err(InvalidFilename),
                "{uri:?}"
            );
        }
        assert_eq!(InvalidFilename::MESSAGE, "Invalid filename");
    }
}
