//! The extension → MIME type table of the web server (WS-8), editable at run time with the
//! `MIME` management command (MGMT-34).
//!
//! The extension is the last `.\w+` at the end of the path (a final newline is ignored, as
//! Perl's `$` does), matched case-sensitively: `UP.GIF` is `text/plain`. Unknown or missing
//! extensions get `text/plain`. Listing is sorted bytewise, like Perl's `sort keys`.

use std::collections::BTreeMap;

/// The type used when the extension is unknown.
pub const DEFAULT_MIME_TYPE: &str = "text/plain";

/// The built-in table of WS-8.
const DEFAULT_TYPES: [(&str, &str); 16] = [
    ("css", "text/css"),
    ("doc", "application/msword"),
    ("gif", "image/gif"),
    ("htm", "text/html"),
    ("html", "text/html"),
    ("jpg", "image/jpeg"),
    ("js", "application/x-javascript"),
    ("mp3", "audio/mpeg"),
    ("mpg", "video/mpeg"),
    ("pdf", "application/pdf"),
    ("png", "image/png"),
    ("tif", "image/tiff"),
    ("tiff", "image/tiff"),
    ("torrent", "application/x-bittorrent"),
    ("txt", "text/plain"),
    ("zip", "application/zip"),
];

fn is_word_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || byte == b'_'
}

/// The extension of `path` per `/\.(\w+)$/`, without the dot.
pub fn extension(path: &[u8]) -> Option<&[u8]> {
    let path = path.strip_suffix(b"\n").unwrap_or(path);
    let word_len = path.iter().rev().take_while(|&&b| is_word_byte(b)).count();
    let dot = path.len().checked_sub(word_len + 1)?;
    (word_len > 0 && path[dot] == b'.').then(|| &path[dot + 1..])
}

/// An editable extension → MIME type table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MimeTable {
    types: BTreeMap<String, String>,
}

impl Default for MimeTable {
    fn default() -> MimeTable {
        MimeTable {
            types: DEFAULT_TYPES
                .iter()
                .map(|&(ext, mime)| (ext.to_owned(), mime.to_owned()))
                .collect(),
        }
    }
}

impl MimeTable {
    /// The WS-8 table.
    pub fn new() -> MimeTable {
        MimeTable::default()
    }

    /// The type registered for `ext` (case-sensitive).
    pub fn get(&self, ext: &[u8]) -> Option<&str> {
        let ext = std::str::from_utf8(ext).ok()?;
        self.types.get(ext).map(String::as_str)
    }

    /// The type for a file path: by its extension, else [`DEFAULT_MIME_TYPE`].
    pub fn content_type_for(&self, path: &[u8]) -> &str {
        self.known_type_for(path).unwrap_or(DEFAULT_MIME_TYPE)
    }

    /// The type for a file path if its extension is registered.
    pub fn known_type_for(&self, path: &[u8]) -> Option<&str> {
        self.get(extension(path)?)
    }

    /// WS-15: the type of the first file whose extension is registered, else `text/plain`.
    pub fn content_type_for_concat<'a>(&self, files: impl IntoIterator<Item = &'a [u8]>) -> &str {
        files
            .into_iter()
            .find_map(|file| self.known_type_for(file))
            .unwrap_or(DEFAULT_MIME_TYPE)
    }

    /// `mime set <ext> <type>`: adds or replaces.
    pub fn set(&mut self, ext: &str, mime: &str) {
        self.types.insert(ext.to_owned(), mime.to_owned());
    }

    /// `mime remove <ext>`: whether it was defined.
    pub fn remove(&mut self, ext: &str) -> bool {
        self.types.remove(ext).is_some()
    }

    /// `mime list`: `(ext, type)` sorted by extension.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.types
            .iter()
            .map(|(ext, mime)| (ext.as_str(), mime.as_str()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ws8_default_table() {
        let table = MimeTable::new();
        for (ext, mime) in DEFAULT_TYPES {
            assert_eq!(table.get(ext.as_bytes()), Some(mime));
        }
        assert_eq!(table.iter().count(), 16);
    }

    #[test]
    fn ws8_lookup_by_last_extension_case_sensitive() {
        let table = MimeTable::new();
        assert_eq!(table.content_type_for(b"/docroot/a.b.gif"), "image/gif");
        assert_eq!(table.content_type_for(b"/docroot/UP.GIF"), "text/plain");
        assert_eq!(table.content_type_for(b"/docroot/README"), "text/plain");
        assert_eq!(table.content_type_for(b"/docroot/x.tar.gz"), "text/plain");
        assert_eq!(table.content_type_for(b"/dir.html/file"), "text/plain");
        assert_eq!(table.content_type_for(b"/docroot/index.html"), "text/html");
        assert_eq!(table.content_type_for(b"/docroot/data.txt\n"), "text/plain");
        assert_eq!(table.content_type_for(b"/docroot/p.png\n"), "image/png");
    }

    #[test]
    fn extension_rules() {
        assert_eq!(extension(b"a.txt"), Some(&b"txt"[..]));
        assert_eq!(extension(b"a.my_ext1"), Some(&b"my_ext1"[..]));
        assert_eq!(extension(b"a."), None);
        assert_eq!(extension(b".htaccess"), Some(&b"htaccess"[..]));
        assert_eq!(extension(b"txt"), None);
        assert_eq!(extension(b"a.t-t"), None);
        assert_eq!(extension(b"a.\xc3\xa9"), None);
    }

    #[test]
    fn obs33_concat_type_is_first_known_extension() {
        let table = MimeTable::new();
        let files: [&[u8]; 3] = [b"README", b"c.js", b"a.css"];
        assert_eq!(
            table.content_type_for_concat(files),
            "application/x-javascript"
        );
        let unknown: [&[u8]; 1] = [b"x.unknown"];
        assert_eq!(table.content_type_for_concat(unknown), "text/plain");
    }

    #[test]
    fn mgmt34_set_remove_and_sorted_listing() {
        let mut table = MimeTable::new();
        table.set("webp", "image/webp");
        table.set("txt", "text/x-plain");
        assert!(table.remove("doc"));
        assert!(!table.remove("doc"));
        assert_eq!(table.content_type_for(b"a.webp"), "image/webp");
        assert_eq!(table.content_type_for(b"a.txt"), "text/x-plain");
        assert_eq!(table.content_type_for(b"a.doc"), "text/plain");
        let listed: Vec<&str> = table.iter().map(|(ext, _)| ext).collect();
        let mut sorted = listed.clone();
        sorted.sort_unstable();
        assert_eq!(listed, sorted);
        assert_eq!(listed.first(), Some(&"css"));
        assert_eq!(listed.last(), Some(&"zip"));
    }
}
