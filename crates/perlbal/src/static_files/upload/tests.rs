//! PUT file handling: the temp-then-rename life cycle, and that every failure path leaves
//! nothing partial on disk.

use super::super::test_support::{pattern, TestDir};
use super::*;
use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

async fn upload(dir: &Path, name: &str, pieces: &[&[u8]]) -> Result<u64, PutError> {
    let mut up = Upload::create(dir, OsStr::new(name)).await?;
    for piece in pieces {
        up.write(Bytes::copy_from_slice(piece)).await?;
    }
    up.commit().await
}

/// Waits (bounded) for background cleanup to empty the directory down to `expected`.
async fn wait_for_names(dir: &TestDir, expected: &[&str]) {
    for _ in 0..200 {
        if dir.names() == expected {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(dir.names(), expected);
}

#[tokio::test]
async fn committed_upload_lands_under_its_name_with_mode_0644_and_no_temp_left() {
    let dir = TestDir::new("put-ok");
    let written = upload(dir.path(), "a.txt", &[b"hello ", b"", b"world"])
        .await
        .expect("put");
    assert_eq!(written, 11);
    assert_eq!(
        std::fs::read(dir.path().join("a.txt")).expect("read"),
        b"hello world"
    );
    assert_eq!(dir.names(), ["a.txt"]);
    let mode = std::fs::metadata(dir.path().join("a.txt"))
        .expect("stat")
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode | 0o022, 0o644 | 0o022, "mode {mode:o}");
}

#[tokio::test]
async fn empty_body_creates_an_empty_file() {
    let dir = TestDir::new("put-empty");
    assert_eq!(upload(dir.path(), "empty", &[]).await.expect("put"), 0);
    assert_eq!(std::fs::read(dir.path().join("empty")).expect("read"), b"");
}

#[tokio::test]
async fn large_body_in_small_pieces_is_written_in_order_with_backpressure() {
    let dir = TestDir::new("put-large");
    let data = pattern(5 * MAX_BUFFERED + 12_345);
    let pieces: Vec<&[u8]> = data.chunks(16 * 1024 + 7).collect();
    upload(dir.path(), "big.bin", &pieces).await.expect("put");
    assert!(std::fs::read(dir.path().join("big.bin")).expect("read") == data);
    assert_eq!(dir.names(), ["big.bin"]);
}

#[tokio::test]
async fn missing_directories_are_created() {
    let dir = TestDir::new("put-mkdir");
    let deep = dir.path().join("x/y/z");
    upload(&deep, "f", &[b"1"]).await.expect("put");
    assert_eq!(std::fs::read(deep.join("f")).expect("read"), b"1");
}

#[tokio::test]
async fn old_content_stays_visible_until_commit_and_survives_an_abort() {
    let dir = TestDir::new("put-replace");
    let target = dir.write("page.html", b"old");
    let mut up = Upload::create(dir.path(), OsStr::new("page.html"))
        .await
        .expect("create");
    up.write(Bytes::from_static(b"new content"))
        .await
        .expect("write");
    assert_eq!(std::fs::read(&target).expect("read"), b"old");
    up.abort().await.expect("abort");
    assert_eq!(std::fs::read(&target).expect("read"), b"old");
    assert_eq!(dir.names(), ["page.html"]);

    upload(dir.path(), "page.html", &[b"new"])
        .await
        .expect("put");
    assert_eq!(std::fs::read(&target).expect("read"), b"new");
}

#[tokio::test]
async fn client_disconnect_mid_upload_removes_the_partial_file() {
    let dir = TestDir::new("put-drop");
    let mut up = Upload::create(dir.path(), OsStr::new("partial"))
        .await
        .expect("create");
    up.write(Bytes::from(pattern(3 * WRITE_BATCH)))
        .await
        .expect("write");
    assert_eq!(dir.names().len(), 1, "temp file exists while uploading");
    drop(up);
    wait_for_names(&dir, &[]).await;
}

#[tokio::test]
async fn temp_file_is_named_after_the_target_pid_and_a_random_number() {
    let dir = TestDir::new("put-name");
    let up = Upload::create(dir.path(), OsStr::new("f.css"))
        .await
        .expect("create");
    let temp = up
        .temp_path()
        .file_name()
        .expect("name")
        .to_string_lossy()
        .into_owned();
    let parts: Vec<&str> = temp.split('.').collect();
    assert_eq!(parts.len(), 5, "{temp}");
    assert_eq!(&parts[..2], ["f", "css"]);
    assert_eq!(parts[2], std::process::id().to_string());
    assert!(parts[3].parse::<u32>().is_ok(), "{temp}");
    assert_eq!(parts[4], "tmp");
    assert_eq!(up.final_path(), dir.path().join("f.css"));
    up.abort().await.expect("abort");

    let long = "n".repeat(250);
    let up = Upload::create(dir.path(), OsStr::new(&long))
        .await
        .expect("create long");
    let temp = up
        .temp_path()
        .file_name()
        .expect("name")
        .to_string_lossy()
        .into_owned();
    assert!(
        temp.starts_with(".perlbal.") && temp.len() <= NAME_MAX,
        "{temp}"
    );
    upload_commit(up).await;
    assert_eq!(dir.names(), [long]);
}

async fn upload_commit(up: Upload) {
    up.commit().await.expect("commit");
}

#[tokio::test]
async fn target_that_is_a_directory_fails_at_open_like_the_original() {
    let dir = TestDir::new("put-isdir");
    std::fs::create_dir(dir.path().join("sub")).expect("mkdir");
    let err = Upload::create(dir.path(), OsStr::new("sub"))
        .await
        .expect_err("PUT onto a dir");
    assert!(matches!(err, PutError::Open(_)), "{err:?}");
    assert_eq!(err.io_error().raw_os_error(), Some(libc::EISDIR));
    assert_eq!(dir.names(), ["sub"]);
}

#[tokio::test]
async fn path_through_a_regular_file_fails_at_open() {
    let dir = TestDir::new("put-enotdir");
    dir.write("file", b"");
    let err = Upload::create(&dir.path().join("file/sub"), OsStr::new("x"))
        .await
        .expect_err("PUT under a file");
    assert!(matches!(err, PutError::Open(_)), "{err:?}");
}

#[tokio::test]
async fn uncreatable_directory_is_a_create_dir_error() {
    let dir = TestDir::new("put-mkdir-fail");
    std::os::unix::fs::symlink(
        dir.path().join("nowhere/deeper"),
        dir.path().join("dangling"),
    )
    .expect("symlink");
    let err = Upload::create(&dir.path().join("dangling"), OsStr::new("x"))
        .await
        .expect_err("mkdir through a dangling link");
    assert!(matches!(err, PutError::CreateDir(_)), "{err:?}");
    assert_eq!(dir.names(), ["dangling"]);
}

#[tokio::test]
async fn failed_rename_removes_the_temp_file() {
    let dir = TestDir::new("put-rename-fail");
    let mut up = Upload::create(dir.path(), OsStr::new("late"))
        .await
        .expect("create");
    up.write(Bytes::from_static(b"body")).await.expect("write");
    // The target turns into a non-empty directory before the commit.
    std::fs::create_dir(dir.path().join("late")).expect("mkdir");
    std::fs::write(dir.path().join("late/keep"), b"").expect("write");
    let err = up.commit().await.expect_err("renamed over a directory");
    assert!(matches!(err, PutError::Rename(_)), "{err:?}");
    assert_eq!(dir.names(), ["late"]);
}

#[test]
fn put_error_names_the_failed_step() {
    let err = PutError::Close(io::Error::from_raw_os_error(libc::EDQUOT));
    assert!(err.to_string().starts_with("error closing file: "), "{err}");
    assert_eq!(err.io_error().raw_os_error(), Some(libc::EDQUOT));
}
