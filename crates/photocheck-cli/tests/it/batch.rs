//! `photocheck batch`.

use std::ffi::OsStr;

use tempfile::TempDir;

use super::*;

/// A directory with a white photo, a garbage file, an empty file, a hidden file and a subdirectory.
fn photo_dir() -> TempDir {
    let tmp = TempDir::new().expect("temp dir");
    white_png(tmp.path(), "b-white.png");
    file(tmp.path(), "photo.jpg", b"not a photo at all");
    file(tmp.path(), "a-empty.jpg", b"");
    file(tmp.path(), ".hidden.jpg", b"skipped");
    std::fs::create_dir(tmp.path().join("sub")).expect("subdir");
    file(&tmp.path().join("sub"), "deeper.png", b"not visited");
    tmp
}

fn names(lines: &[serde_json::Value]) -> Vec<String> {
    lines
        .iter()
        .map(|l| {
            let file = l["file"].as_str().expect("file");
            Path::new(file)
                .file_name()
                .expect("a file name")
                .to_string_lossy()
                .into_owned()
        })
        .collect()
}

#[test]
fn writes_one_line_per_file_sorted_by_name_and_a_summary() {
    let photos = photo_dir();
    let out_dir = TempDir::new().expect("temp dir");
    let results = out_dir.path().join("results.jsonl");
    let out = run(&[
        OsStr::new("batch"),
        photos.path().as_os_str(),
        OsStr::new("--out"),
        results.as_os_str(),
        OsStr::new("--jobs"),
        OsStr::new("2"),
    ]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let lines = json_lines(&std::fs::read(&results).expect("results written"));
    assert_eq!(names(&lines), ["a-empty.jpg", "b-white.png", "photo.jpg"]);
    assert_eq!(lines[0]["reasons"][0]["code"], "empty-file");
    assert_eq!(lines[2]["reasons"][0]["code"], "unsupported-format");
    assert!(out.stdout.is_empty(), "lines go to --out only");
    let summary = stderr(&out);
    for part in [
        "3 photos",
        "photos/s",
        "reject",
        "unsupported-format",
        "empty-file",
    ] {
        assert!(
            summary.contains(part),
            "no {part:?} in the summary:\n{summary}"
        );
    }
}

#[test]
fn results_written_into_the_photo_directory_are_not_checked() {
    let photos = photo_dir();
    let results = photos.path().join("results.jsonl");
    for _ in 0..2 {
        let out = run(&[
            OsStr::new("batch"),
            photos.path().as_os_str(),
            OsStr::new("--out"),
            results.as_os_str(),
        ]);
        assert_eq!(code(&out), 1, "{}", stderr(&out));
        let lines = json_lines(&std::fs::read(&results).expect("results written"));
        assert_eq!(names(&lines), ["a-empty.jpg", "b-white.png", "photo.jpg"]);
    }
}

#[test]
fn without_out_lines_go_to_stdout_and_annotate_writes_overlays() {
    let photos = photo_dir();
    let overlays = TempDir::new().expect("temp dir");
    let out = run(&[
        OsStr::new("batch"),
        photos.path().as_os_str(),
        OsStr::new("--jobs"),
        OsStr::new("1"),
        OsStr::new("--annotate"),
        overlays.path().as_os_str(),
    ]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert_eq!(json_lines(&out.stdout).len(), 3);
    let overlay = decode_png(&overlays.path().join("b-white.annotated.png"));
    assert_eq!(overlay.width(), 260);
}

#[cfg(unix)]
#[test]
fn an_unreadable_file_becomes_a_reject_line_with_a_warning() {
    let photos = photo_dir();
    std::os::unix::fs::symlink(
        photos.path().join("gone.jpg"),
        photos.path().join("c-link.jpg"),
    )
    .expect("symlink");
    let out = run(&[OsStr::new("batch"), photos.path().as_os_str()]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let lines = json_lines(&out.stdout);
    assert_eq!(
        names(&lines),
        ["a-empty.jpg", "b-white.png", "c-link.jpg", "photo.jpg"]
    );
    assert_eq!(lines[2]["decision"], "reject");
    assert!(lines[2]["error"]["message"].is_string(), "{}", lines[2]);
    assert!(stderr(&out).contains("cannot read"), "{}", stderr(&out));
}

#[test]
fn missing_directory_exits_2() {
    let tmp = TempDir::new().expect("temp dir");
    let out = run(&[OsStr::new("batch"), tmp.path().join("nope").as_os_str()]);
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).contains("cannot read directory"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn jobs_must_be_positive() {
    let tmp = TempDir::new().expect("temp dir");
    let out = run(&[
        OsStr::new("batch"),
        tmp.path().as_os_str(),
        OsStr::new("--jobs"),
        OsStr::new("0"),
    ]);
    assert_eq!(code(&out), 2);
}
