//! Directory operations for the web server, all on the blocking pool: the listing behind
//! `dirindexing` (WS-7), creating missing PUT directories (WS-17) and DELETE's unlink (WS-22).

use super::on_blocking_pool;
use std::fs::DirBuilder;
use std::io;
use std::os::unix::ffi::OsStringExt;
use std::os::unix::fs::DirBuilderExt;
use std::path::Path;

/// One name in a directory listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirEntryInfo {
    /// The raw name bytes, not escaped (the original does not escape them either, WS-7).
    pub name: Vec<u8>,
    /// Whether the name is a directory after following symlinks (the original's `-d`).
    pub is_dir: bool,
}

/// Lists `path` like the original's `sort readdir`: every entry including `.` and `..`, sorted
/// bytewise (WS-7). A symlink counts as a directory when its target is one; an entry that
/// vanishes while being inspected counts as a file.
///
/// The listing is not capped, like the original's; a huge directory makes a huge page.
pub async fn list_dir(path: &Path) -> io::Result<Vec<DirEntryInfo>> {
    let path = path.to_owned();
    on_blocking_pool(move || {
        let mut entries = vec![
            DirEntryInfo {
                name: b".".to_vec(),
                is_dir: true,
            },
            DirEntryInfo {
                name: b"..".to_vec(),
                is_dir: true,
            },
        ];
        for entry in std::fs::read_dir(&path)? {
            let entry = entry?;
            let is_dir = match entry.file_type() {
                Ok(kind) if kind.is_symlink() => {
                    std::fs::metadata(entry.path()).is_ok_and(|m| m.is_dir())
                }
                Ok(kind) => kind.is_dir(),
                Err(_) => false,
            };
            entries.push(DirEntryInfo {
                name: entry.file_name().into_vec(),
                is_dir,
            });
        }
        entries.sort_unstable_by(|a, b| a.name.cmp(&b.name));
        Ok(entries)
    })
    .await
}

/// Creates `path` and every missing parent with mode 0755 (before the umask), succeeding if it
/// already exists as a directory (WS-17).
#[cfg(test)]
pub async fn create_dirs(path: &Path) -> io::Result<()> {
    let path = path.to_owned();
    on_blocking_pool(move || create_dirs_blocking(&path)).await
}

pub(super) fn create_dirs_blocking(path: &Path) -> io::Result<()> {
    DirBuilder::new().recursive(true).mode(0o755).create(path)
}

/// Removes the file at `path` (WS-22). The error keeps its `errno`: `NotFound` maps to 404,
/// anything else to `400 <strerror>` (see `sys::strerror`), e.g. `Is a directory`.
pub async fn unlink(path: &Path) -> io::Result<()> {
    let path = path.to_owned();
    on_blocking_pool(move || std::fs::remove_file(&path)).await
}

#[cfg(test)]
mod tests {
    use super::super::test_support::TestDir;
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn names(entries: &[DirEntryInfo]) -> Vec<(&str, bool)> {
        entries
            .iter()
            .map(|e| (std::str::from_utf8(&e.name).expect("utf8 name"), e.is_dir))
            .collect()
    }

    #[tokio::test]
    async fn listing_includes_dot_entries_and_sorts_bytewise() {
        let dir = TestDir::new("list");
        dir.write("b.txt", b"");
        dir.write("B.txt", b"");
        dir.write("a.css", b"");
        dir.write("_x", b"");
        std::fs::create_dir(dir.path().join("sub")).expect("mkdir");
        std::os::unix::fs::symlink(dir.path().join("sub"), dir.path().join("link-to-dir"))
            .expect("symlink");
        std::os::unix::fs::symlink(dir.path().join("gone"), dir.path().join("dangling"))
            .expect("symlink");
        let entries = list_dir(dir.path()).await.expect("list");
        assert_eq!(
            names(&entries),
            [
                (".", true),
                ("..", true),
                ("B.txt", false),
                ("_x", false),
                ("a.css", false),
                ("b.txt", false),
                ("dangling", false),
                ("link-to-dir", true),
                ("sub", true),
            ]
        );
    }

    #[tokio::test]
    async fn listing_a_missing_directory_is_not_found() {
        let dir = TestDir::new("list-missing");
        let err = list_dir(&dir.path().join("nope"))
            .await
            .expect_err("listed a missing dir");
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
    }

    #[tokio::test]
    async fn create_dirs_makes_every_level_with_mode_0755() {
        let dir = TestDir::new("mkdirs");
        let deep = dir.path().join("a/b/c");
        create_dirs(&deep).await.expect("mkdir -p");
        create_dirs(&deep).await.expect("mkdir -p again is fine");
        let mode = std::fs::metadata(&deep).expect("stat").permissions().mode() & 0o777;
        assert_eq!(mode & !0o022, 0o755 & !0o022, "mode {mode:o}");
        let file = dir.write("plain", b"");
        assert!(create_dirs(&file.join("x")).await.is_err());
    }

    #[tokio::test]
    async fn unlink_maps_errors_to_kinds_and_strerror_text() {
        let dir = TestDir::new("unlink");
        let file = dir.write("victim", b"x");
        unlink(&file).await.expect("unlink");
        assert!(!file.exists());
        let err = unlink(&file).await.expect_err("unlinked twice");
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
        let err = unlink(dir.path()).await.expect_err("unlinked a directory");
        assert_eq!(
            crate::sys::strerror(err.raw_os_error().unwrap_or(0)),
            "Is a directory"
        );
    }
}
