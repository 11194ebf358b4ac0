//! `photocheck profile`.

use std::ffi::OsStr;

use tempfile::TempDir;

use super::*;

#[test]
fn show_prints_the_default_profile() {
    let out = run(&[OsStr::new("profile"), OsStr::new("show")]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("head_length"), "{text}");
}

#[test]
fn show_unknown_name_exits_2_naming_the_known_ones() {
    let out = run(&[
        OsStr::new("profile"),
        OsStr::new("show"),
        OsStr::new("nope"),
    ]);
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).contains("cn-driving-licence"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn list_names_the_builtin_profiles() {
    let out = run(&[OsStr::new("profile"), OsStr::new("list")]);
    assert_eq!(code(&out), 0);
    assert!(String::from_utf8_lossy(&out.stdout)
        .lines()
        .any(|l| l == "cn-driving-licence"));
}

#[test]
fn show_with_a_profile_file_prints_it_parsed() {
    let tmp = TempDir::new().expect("temp dir");
    let shown = run(&[OsStr::new("profile"), OsStr::new("show")]);
    let edited = String::from_utf8_lossy(&shown.stdout)
        .replace("name = \"cn-driving-licence\"", "name = \"local-test\"");
    let path = file(tmp.path(), "local.toml", edited.as_bytes());
    let out = run(&[
        OsStr::new("--profile"),
        path.as_os_str(),
        OsStr::new("profile"),
        OsStr::new("show"),
    ]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("name = \"local-test\""), "{text}");
    assert!(text.contains("head_length"), "{text}");
}

#[test]
fn unreadable_profile_file_exits_2() {
    let tmp = TempDir::new().expect("temp dir");
    let white = white_png(tmp.path(), "white.png");
    let out = run(&[
        OsStr::new("--profile"),
        tmp.path().join("missing.toml").as_os_str(),
        OsStr::new("check"),
        white.as_os_str(),
    ]);
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).contains("cannot read profile"),
        "{}",
        stderr(&out)
    );
}
