//! Docroot fixtures: temp directories with files of fixed contents and fixed mtimes, so
//! `Last-Modified` values and directory listings are reproducible (spec OBS section setup).
use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::time::{Duration, UNIX_EPOCH};

use super::tempdir::TempDir;

/// `data.txt` contents (OBS-28..31).
pub const DATA_TXT: &[u8] = b"0123456789abcdefghij";
/// mtime of `data.txt`, `css/a.css` and the other fixture files.
pub const DATA_MTIME: u64 = 1_577_934_245;
pub const DATA_MTIME_HTTP: &str = "Thu, 02 Jan 2020 03:04:05 GMT";
/// mtime of `css/b.css`, the newest file of the concatenation set (WS-15).
pub const NEWER_MTIME: u64 = 1_614_834_367;
pub const NEWER_MTIME_HTTP: &str = "Thu, 04 Mar 2021 05:06:07 GMT";
/// mtime of every directory of the standard fixture.
pub const DIR_MTIME: u64 = 1_557_126_489;
pub const DIR_MTIME_HTTP: &str = "Mon, 06 May 2019 07:08:09 GMT";

/// `sub/default.htm` (17 bytes, OBS-32).
pub const SUB_DEFAULT: &[u8] = b"<h1>default</h1>\n";
/// `idx/index.html`.
pub const IDX_INDEX: &[u8] = b"<h1>index</h1>\n";
pub const A_CSS: &[u8] = b"body{}\n";
pub const B_CSS: &[u8] = b"p{}\n";
pub const C_JS: &[u8] = b"x();\n";

/// A document root in a temp dir, removed on drop.
#[derive(Debug)]
pub struct Docroot {
    dir: TempDir,
}

fn set_mtime(path: &Path, epoch: u64) {
    let when = UNIX_EPOCH + Duration::from_secs(epoch);
    let file = File::open(path).unwrap_or_else(|e| panic!("opening {}: {e}", path.display()));
    file.set_modified(when)
        .unwrap_or_else(|e| panic!("setting mtime of {}: {e}", path.display()));
}

impl Docroot {
    /// An empty docroot.
    pub fn empty() -> Docroot {
        Docroot {
            dir: TempDir::new("docroot"),
        }
    }

    /// The standard fixture:
    ///
    /// ```text
    /// data.txt          0123456789abcdefghij (Thu, 02 Jan 2020 03:04:05 GMT)
    /// empty.txt         (0 bytes)
    /// .hidden           dot-file
    /// UP.GIF  pic.gif  noext  doc.pdf  song.mp3  page.html  (MIME table, WS-8)
    /// sub/default.htm   <h1>default</h1>\n (no index.html; OBS-32)
    /// idx/index.html    <h1>index</h1>\n, idx/default.htm, idx/inner/ (WS-6)
    /// css/a.css body{}\n  css/b.css p{}\n (newer)  css/c.js x();\n  css/deep/ (listing, concat)
    /// put/              empty, for PUT/DELETE
    /// put/exists/       for min_put_directory
    /// ```
    ///
    /// Every directory gets mtime `DIR_MTIME` after the files are written.
    pub fn standard() -> Docroot {
        let d = Docroot::empty();
        d.file("data.txt", DATA_TXT, DATA_MTIME);
        d.file("empty.txt", b"", DATA_MTIME);
        d.file(".hidden", b"hidden\n", DATA_MTIME);
        d.file("UP.GIF", b"GIF89a", DATA_MTIME);
        d.file("pic.gif", b"GIF89a", DATA_MTIME);
        d.file("noext", b"plain\n", DATA_MTIME);
        d.file("doc.pdf", b"%PDF-1.4\n", DATA_MTIME);
        d.file("song.mp3", b"ID3", DATA_MTIME);
        d.file("page.html", b"<p>page</p>\n", DATA_MTIME);
        d.file("sub/default.htm", SUB_DEFAULT, DATA_MTIME);
        d.file("idx/index.html", IDX_INDEX, DATA_MTIME);
        d.file("idx/default.htm", SUB_DEFAULT, DATA_MTIME);
        d.mkdir("idx/inner");
        d.file("css/a.css", A_CSS, DATA_MTIME);
        d.file("css/b.css", B_CSS, NEWER_MTIME);
        d.file("css/c.js", C_JS, DATA_MTIME);
        d.mkdir("css/deep");
        d.mkdir("put/exists");
        d.fix_dir_mtimes();
        d
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn path_str(&self) -> &str {
        self.dir.path_str()
    }

    /// Absolute path of `rel`.
    pub fn join(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// Writes `rel` (creating parent dirs) with `contents` and mtime `epoch`.
    pub fn file(&self, rel: &str, contents: &[u8], epoch: u64) -> &Docroot {
        let path = self.join(rel);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).expect("creating fixture dirs");
        }
        fs::write(&path, contents).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
        set_mtime(&path, epoch);
        self
    }

    /// Writes a deterministic file of `len` bytes (byte i = i % 251) for large-transfer tests.
    pub fn big_file(&self, rel: &str, len: usize) -> Vec<u8> {
        let contents: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
        self.file(rel, &contents, DATA_MTIME);
        contents
    }

    /// Creates a directory (and parents).
    pub fn mkdir(&self, rel: &str) -> &Docroot {
        fs::create_dir_all(self.join(rel)).expect("creating fixture dir");
        self
    }

    /// Gives every directory (including the root) mtime `DIR_MTIME`, deepest first.
    pub fn fix_dir_mtimes(&self) {
        fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
            if let Ok(entries) = fs::read_dir(dir) {
                for entry in entries.flatten() {
                    let p = entry.path();
                    if p.is_dir() && !p.is_symlink() {
                        walk(&p, out);
                    }
                }
            }
            out.push(dir.to_path_buf());
        }
        let mut dirs = Vec::new();
        walk(self.path(), &mut dirs);
        for d in dirs {
            set_mtime(&d, DIR_MTIME);
        }
    }

    /// Contents of `rel`, or `None` if it does not exist.
    pub fn read(&self, rel: &str) -> Option<Vec<u8>> {
        fs::read(self.join(rel)).ok()
    }

    pub fn exists(&self, rel: &str) -> bool {
        self.join(rel).symlink_metadata().is_ok()
    }

    /// Sorted names in directory `rel` (empty if missing).
    pub fn list(&self, rel: &str) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(self.join(rel))
            .map(|rd| {
                rd.flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        names
    }

    /// Every file path under `rel`, recursively, relative to the docroot, sorted.
    pub fn tree(&self, rel: &str) -> Vec<String> {
        fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
            if let Ok(entries) = fs::read_dir(dir) {
                for entry in entries.flatten() {
                    let p = entry.path();
                    let relative = p
                        .strip_prefix(root)
                        .map(|r| r.to_string_lossy().into_owned())
                        .unwrap_or_default();
                    if p.is_dir() {
                        out.push(format!("{relative}/"));
                        walk(root, &p, out);
                    } else {
                        out.push(relative);
                    }
                }
            }
        }
        let mut out = Vec::new();
        walk(self.path(), &self.join(rel), &mut out);
        out.sort();
        out
    }

    /// File mode bits (`& 0o777`) of `rel`.
    pub fn mode(&self, rel: &str) -> u32 {
        use std::os::unix::fs::PermissionsExt;
        fs::metadata(self.join(rel))
            .map(|m| m.permissions().mode() & 0o777)
            .unwrap_or_else(|e| panic!("stat {rel}: {e}"))
    }

    /// mtime of `rel` as seconds since the epoch.
    pub fn mtime(&self, rel: &str) -> u64 {
        fs::metadata(self.join(rel))
            .and_then(|m| m.modified())
            .map(|t| {
                t.duration_since(UNIX_EPOCH)
                    .map(|d| d.as_secs())
                    .unwrap_or(0)
            })
            .unwrap_or_else(|e| panic!("stat {rel}: {e}"))
    }
}

/// The process umask (inherited by the servers we spawn), from /proc.
pub fn umask() -> u32 {
    fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Umask:"))
                .and_then(|v| u32::from_str_radix(v.trim(), 8).ok())
        })
        .unwrap_or(0o022)
}
