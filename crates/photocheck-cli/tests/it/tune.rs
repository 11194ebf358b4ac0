//! `photocheck tune` and `compare` on the shipped labels of the shared photos plus a set built from
//! them: the report files, the numbers the issue asks for, and zero false approvals with the default
//! profile.

use photocheck_core::RuleInfo as _;
use std::path::Path;

use photocheck_core::{rules, Profile, RuleId};
use serde_json::Value;

use crate::{code, real_photos, run, stderr};

fn samples_dir() -> &'static Path {
    Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../samples/shared-raw"
    ))
}

/// A set built from the shipped labels into `dir/built` with the transformations in `only`.
fn build(dir: &Path, only: &str) -> std::path::PathBuf {
    let built = dir.join("built");
    let o = run(&[
        "samples".as_ref(),
        "build".as_ref(),
        "--from".as_ref(),
        samples_dir().as_os_str(),
        "--out".as_ref(),
        built.as_os_str(),
        "--only".as_ref(),
        only.as_ref(),
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    built
}

#[test]
fn tune_reports_zero_false_approvals_for_the_default_profile_and_writes_the_report() {
    if real_photos().is_none() {
        return;
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    let built = build(
        tmp.path(),
        "ok,head-24.0mm,desaturated,bg-tint-blue,second-face",
    );

    let out = tmp.path().join("report");
    let o = run(&[
        "tune".as_ref(),
        samples_dir().as_os_str(),
        built.as_os_str(),
        "--out".as_ref(),
        out.as_os_str(),
        "--json".as_ref(),
    ]);
    assert_eq!(code(&o), 0, "no false approvals, exit 0: {}", stderr(&o));
    let summary: Value = serde_json::from_slice(&o.stdout).expect("--json prints the summary");
    let on_disk: Value = serde_json::from_str(
        &std::fs::read_to_string(out.join("summary.json")).expect("summary.json"),
    )
    .expect("summary.json is JSON");
    assert_eq!(summary, on_disk);
    assert_eq!(
        summary["false_approvals"], 0,
        "the shipped profile approves no non-compliant photo"
    );
    let built_photos = summary["sets"][1]["photos"].as_u64().expect("two sets");
    assert_eq!(summary["photos"].as_u64(), Some(115 + built_photos));
    for key in ["automation_rate", "review_rate"] {
        let v = summary[key].as_f64().unwrap_or(-1.0);
        assert!((0.0..=1.0).contains(&v), "{key} = {v}");
    }
    assert!(summary["wrong_rejections"].is_u64());
    let err = &summary["head_length_error_mm"];
    assert!(err["photos"].as_u64().unwrap_or(0) >= 100, "{err}");
    let (median, max) = (
        err["median"].as_f64().unwrap(),
        err["max"].as_f64().unwrap(),
    );
    assert!(median > 0.0 && median < 1.5 && max >= median, "{err}");
    assert!(summary["sweeps"].as_array().is_some_and(|s| s.len() > 30));
    let bg = summary["rules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["rule"] == "background")
        .expect("background stats");
    assert!(bg["broken"]["fail"].as_u64().unwrap() > 50, "{bg}");
    // The built photos include a second face pasted in: looks measured there must not pass either.
    assert_no_broken_look_passes(&summary);

    let html = std::fs::read_to_string(out.join("report.html")).expect("report.html");
    assert!(
        html.matches("<svg").count() > 40,
        "histograms and sweeps are drawn"
    );
    assert!(html.contains("false approvals") && html.contains("misjudged/000.jpg"));
    assert!(out.join("misjudged/000.jpg").is_file());
    let tuned = std::fs::read_to_string(out.join("tuned-profile.toml")).expect("tuned profile");
    let tuned = Profile::from_toml(&tuned).expect("the proposal is a valid profile");
    assert_eq!(
        tuned.rules.head_length.min,
        Some(19.0),
        "published limits do not move"
    );

    // The proposal keeps zero false approvals, and compare says which photos it changes.
    let o = run(&[
        "compare".as_ref(),
        "cn-driving-licence".as_ref(),
        out.join("tuned-profile.toml").as_os_str(),
        built.as_os_str(),
        "--json".as_ref(),
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let cmp: Value = serde_json::from_slice(&o.stdout).expect("compare --json");
    assert_eq!(cmp["b"]["false_approvals"], 0);
    for c in cmp["changes"].as_array().expect("changes") {
        assert_ne!(c["from"], c["to"], "{c}");
        assert!(
            !c["rules"].as_array().unwrap().is_empty(),
            "a change names its rules: {c}"
        );
    }
}

/// The look rules' stats from a tune summary: (rule, broken, kept).
fn look_stats(summary: &Value) -> Vec<(String, Value, Value)> {
    let looks: Vec<&str> = RuleId::ALL
        .into_iter()
        .filter(|id| id.kind() == rules::Kind::Look)
        .map(RuleId::as_str)
        .collect();
    let stats: Vec<_> = summary["rules"]
        .as_array()
        .expect("rule stats")
        .iter()
        .filter(|r| looks.contains(&r["rule"].as_str().unwrap_or("")))
        .map(|r| {
            let rule = r["rule"].as_str().unwrap_or("").to_owned();
            (rule, r["broken"].clone(), r["kept"].clone())
        })
        .collect();
    assert_eq!(stats.len(), looks.len(), "every look has stats");
    stats
}

fn assert_no_broken_look_passes(summary: &Value) {
    for (rule, broken, _) in look_stats(summary) {
        assert_eq!(
            broken["pass"], 0,
            "{rule}: a look labelled broken passed: {broken}"
        );
    }
}

/// The test: on the labelled looks (masks, sunglasses, hats, smiles, open mouths; and the
/// shared photos' closed eyes, turned heads, microphones and glasses) no look labelled broken passes,
/// while every look passes some of the photos that keep it (a look that never passes would make
/// approval impossible). `tune` prints the same counts as a table.
#[test]
fn no_look_labelled_broken_passes_and_every_look_passes_some_kept_ones() {
    if real_photos().is_none() {
        return;
    }
    let looks_set = samples_dir().join("../looks");
    let o = run(&[
        "tune".as_ref(),
        looks_set.as_os_str(),
        samples_dir().as_os_str(),
        "--json".as_ref(),
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let summary: Value = serde_json::from_slice(&o.stdout).expect("--json prints the summary");
    assert_eq!(summary["photos"], 375);
    assert_no_broken_look_passes(&summary);
    for (rule, broken, kept) in look_stats(&summary) {
        let flagged = broken["fail"].as_u64().unwrap() + broken["uncertain"].as_u64().unwrap();
        assert!(flagged > 0, "{rule}: the sets hold photos breaking it");
        assert!(kept["pass"].as_u64().unwrap() >= 5, "{rule}: {kept}");
    }
    // Sunglasses fail eyewear on positive evidence of dark lenses, not only doubt.
    let eyewear = look_stats(&summary)
        .into_iter()
        .find(|s| s.0 == "eyewear")
        .unwrap();
    assert!(eyewear.1["fail"].as_u64().unwrap() >= 10, "{}", eyewear.1);

    let o = run(&["tune".as_ref(), samples_dir().as_os_str()]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let table = String::from_utf8_lossy(&o.stdout);
    assert!(table.contains("looks (labelled broken"), "{table}");
    assert!(
        table
            .lines()
            .any(|l| l.trim_start().starts_with("eyewear") && l.contains("broken    0 /")),
        "{table}"
    );
}

/// Ordinary clear glasses are allowed: the shared photos with glasses (labelled kept for eyewear)
/// never fail it, while closed eyes never pass eyes_open.
#[test]
fn ordinary_glasses_do_not_fail_eyewear_and_closed_eyes_do_not_pass() {
    let Some(raw) = real_photos() else {
        return;
    };
    let with_glasses = [
        "compreface_009_C.jpg",
        "compreface_face2.jpg",
        "deepface_img24.jpg",
        "deepface_img25.jpg",
        "hivision_test5.jpg",
        "openface_clapton1.jpg",
    ];
    let files: Vec<std::path::PathBuf> = with_glasses
        .iter()
        .chain(&["insight_close_eyes.jpeg"])
        .map(|f| raw.join(f))
        .collect();
    let mut args: Vec<&std::ffi::OsStr> = vec!["check".as_ref(), "--json".as_ref()];
    args.extend(files.iter().map(|f| f.as_os_str()));
    let o = run(&args);
    let lines = crate::json_lines(&o.stdout);
    assert_eq!(lines.len(), files.len(), "{}", stderr(&o));
    let status = |line: &Value, rule: &str| {
        line["rules"]
            .as_array()
            .and_then(|rs| rs.iter().find(|r| r["rule"] == rule))
            .map(|r| r["status"].as_str().unwrap_or("").to_owned())
            .unwrap_or_default()
    };
    for line in &lines {
        let file = line["file"].as_str().unwrap_or("");
        if file.ends_with("insight_close_eyes.jpeg") {
            assert_ne!(status(line, "eyes_open"), "pass", "{file}");
        } else {
            assert_ne!(status(line, "eyewear"), "fail", "{file}: clear glasses");
            assert_ne!(status(line, "eyewear"), "", "{file}: eyewear judged");
        }
    }
}

#[test]
fn a_profile_that_approves_a_non_compliant_photo_exits_1_and_names_it() {
    if real_photos().is_none() {
        return;
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    // Everything passes: no looks reviewed, no limits worth the name.
    let mut lax = Profile::default_profile();
    lax.attributes.block.clear();
    // The looks' own conditions beyond their limits (blendshape gates, the emotion vote, dark eye
    // openings, the pose limits).
    lax.looks.max_blink = 1e9;
    lax.looks.max_jaw_open = 1e9;
    lax.looks.max_emotion_happy = 1e9;
    lax.looks.min_eye_lightness = -1e9;
    lax.looks.pose_limits = [1e9; 3];
    for (id, _) in Profile::default_profile().rules.iter() {
        let l = lax.rules.get_mut(id).expect("a limit");
        *l = photocheck_core::profile::Limit {
            min: Some(-1e9),
            max: Some(1e9),
            ..Default::default()
        };
    }
    let path = tmp.path().join("lax.toml");
    std::fs::write(&path, lax.to_toml()).expect("profile written");
    // Only the built set: a derived photo's labels follow from its transformation.
    let built = build(tmp.path(), "ok,desaturated");
    let o = run(&[
        "--profile".as_ref(),
        path.as_os_str(),
        "tune".as_ref(),
        built.as_os_str(),
        "--json".as_ref(),
    ]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    let summary: Value = serde_json::from_slice(&o.stdout).expect("summary");
    let fa = summary["false_approvals"].as_u64().unwrap();
    assert!(fa > 10, "{fa}");
    let named = summary["misjudged"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["kind"] == "false_approval")
        .count() as u64;
    assert_eq!(named, fa);
}

#[test]
fn a_missing_or_bad_sample_set_is_a_clear_error() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let o = run(&["tune".as_ref(), tmp.path().as_os_str()]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("no labels.csv"), "{}", stderr(&o));
    std::fs::write(
        tmp.path().join("labels.csv"),
        "file,compliant,breaks\nx.jpg,no,hat\n",
    )
    .expect("labels");
    let o = run(&["tune".as_ref(), tmp.path().as_os_str()]);
    assert_eq!(code(&o), 2);
    assert!(
        stderr(&o).contains("row 2") && stderr(&o).contains("unknown rule \"hat\""),
        "{}",
        stderr(&o)
    );
}
