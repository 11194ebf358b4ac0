//! `photocheck check`.

use std::ffi::OsStr;

use tempfile::TempDir;

use super::*;

#[test]
fn missing_path_exits_2() {
    let tmp = TempDir::new().expect("temp dir");
    let missing = tmp.path().join("missing.jpg");
    let out = run(&[OsStr::new("check"), missing.as_os_str()]);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(stderr(&out).contains("cannot read"), "{}", stderr(&out));
}

#[test]
fn missing_path_among_photos_still_checks_the_others() {
    let tmp = TempDir::new().expect("temp dir");
    let white = white_png(tmp.path(), "white.png");
    let missing = tmp.path().join("missing.jpg");
    let out = run(&[
        OsStr::new("check"),
        OsStr::new("--json"),
        missing.as_os_str(),
        white.as_os_str(),
    ]);
    assert_eq!(code(&out), 2);
    let lines = json_lines(&out.stdout);
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["file"], white.to_string_lossy().as_ref());
}

#[test]
fn garbage_is_rejected_as_unsupported_format() {
    let tmp = TempDir::new().expect("temp dir");
    let garbage = file(tmp.path(), "photo.jpg", b"this is not a photo, only text");
    let out = run(&[
        OsStr::new("check"),
        OsStr::new("--json"),
        garbage.as_os_str(),
    ]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let lines = json_lines(&out.stdout);
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["decision"], "reject");
    assert_eq!(lines[0]["reasons"][0]["code"], "unsupported-format");
}

#[test]
fn json_lines_follow_argument_order_and_keep_the_contract() {
    let tmp = TempDir::new().expect("temp dir");
    let white = white_png(tmp.path(), "white.png");
    let garbage = file(tmp.path(), "photo.jpg", b"\x00\x01garbage");
    let empty = file(tmp.path(), "empty.jpg", b"");
    let order = [&garbage, &white, &empty];
    let mut args = vec![OsStr::new("check"), OsStr::new("--json")];
    args.extend(order.iter().map(|p| p.as_os_str()));
    let out = run(&args);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let lines = json_lines(&out.stdout);
    let files: Vec<&str> = lines
        .iter()
        .map(|l| l["file"].as_str().expect("file"))
        .collect();
    let want: Vec<String> = order
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    assert_eq!(files, want);
    for line in &lines {
        for key in [
            "file",
            "decision",
            "reasons",
            "rules",
            "faces",
            "face",
            "width",
            "height",
            "timing_ms",
        ] {
            assert!(line.get(key).is_some(), "no {key} in {line}");
        }
        for reason in line["reasons"].as_array().expect("reasons") {
            for key in ["code", "rule", "message_en", "message_zh"] {
                assert!(reason[key].is_string(), "no {key} in {reason}");
            }
        }
    }
    assert_eq!(lines[2]["reasons"][0]["code"], "empty-file");
    // The white photo decodes: its rules are all there, with their limits.
    let rules = lines[1]["rules"].as_array().expect("rules");
    assert!(!rules.is_empty());
    for key in ["rule", "status", "value", "unit", "min", "max"] {
        assert!(rules[0].get(key).is_some(), "no {key} in {}", rules[0]);
    }
    assert_eq!(
        (lines[1]["width"].as_u64(), lines[1]["height"].as_u64()),
        (Some(260), Some(378))
    );
}

#[test]
fn table_shows_rules_decision_and_both_languages() {
    let tmp = TempDir::new().expect("temp dir");
    let white = white_png(tmp.path(), "white.png");
    let out = run(&[OsStr::new("check"), white.as_os_str()]);
    assert_eq!(code(&out), 1);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("head_length"), "{text}");
    assert!(text.contains("decision: reject"), "{text}");
    assert!(text.contains("no-face"), "{text}");
    assert!(text.contains("未检测到人脸"), "{text}");
    // Not a terminal: no colour codes.
    assert!(!text.contains('\x1b'), "{text}");
}

#[test]
fn annotate_writes_a_png_that_decodes() {
    let tmp = TempDir::new().expect("temp dir");
    let white = white_png(tmp.path(), "white.png");
    let garbage = file(tmp.path(), "photo.jpg", b"garbage");
    let dir = tmp.path().join("overlays/nested");
    let out = run(&[
        OsStr::new("check"),
        OsStr::new("--annotate"),
        dir.as_os_str(),
        white.as_os_str(),
        garbage.as_os_str(),
    ]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let overlay = decode_png(&dir.join("white.annotated.png"));
    assert_eq!(overlay.width(), 260);
    assert!(overlay.height() > 378, "the status strip is added below");
    // Nothing to draw on for an unreadable file, and the user is told.
    assert!(!dir.join("photo.annotated.png").exists());
    assert!(stderr(&out).contains("no overlay for"), "{}", stderr(&out));
}

#[test]
fn real_photo_is_measured() {
    let Some(photos) = real_photos() else { return };
    let photo = photos.join("hivision_demo_white.jpg");
    let tmp = TempDir::new().expect("temp dir");
    let out = run(&[
        OsStr::new("check"),
        OsStr::new("--json"),
        OsStr::new("--annotate"),
        tmp.path().as_os_str(),
        photo.as_os_str(),
    ]);
    // An album photo (check's default) without an EXIF capture date goes to a reviewer: its age is
    // not known (and its label says it was retouched by an AI beautifier).
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let lines = json_lines(&out.stdout);
    let line = &lines[0];
    assert_eq!(line["decision"], "review", "{line}");
    assert_eq!(line["faces"], 1, "{line}");
    assert!(line["face"].is_object(), "{line}");
    let head_length = line["rules"]
        .as_array()
        .expect("rules")
        .iter()
        .find(|r| r["rule"] == "head_length")
        .and_then(|r| r["value"].as_f64())
        .expect("head length measured");
    assert!((15.0..25.0).contains(&head_length), "{head_length} mm");
    // Its aspect (0.712) is not the licence photo's: the engine judged the crop it cut, drew that crop
    // on the upload beside the framed photo, and wrote the framed photo at the archive size.
    assert_eq!(line["framing"]["mode"], "framed", "{line}");
    let overlay = decode_png(&tmp.path().join("hivision_demo_white.annotated.png"));
    assert!(
        overlay.width() > overlay.height(),
        "upload and crop side by side"
    );
    let framed = decode_png(&tmp.path().join("hivision_demo_white.framed.jpg"));
    assert_eq!(framed.dimensions(), (260, 378));
}
