//! `photocheck samples build`: a set derived from real portraits in a temporary folder, its labels
//! read back, and the engine's measures of some derived photos compared with their ground truth.

use std::ffi::OsStr;
use std::path::Path;

use photocheck_tune::set::SampleSet;
use serde_json::Value;
use tempfile::TempDir;

use super::*;

/// Crown, chin and centre read off `photocheck check --annotate` overlays and checked by eye.
/// idphoto_sample1's wall is light grey: the background edits must pass it by.
const SOURCE_LABELS: &str = "\
file,compliant,breaks,crown_y,chin_y,centre_x,unjudged,source,note
hivision_demo_white.jpg,no,dimensions;top_margin,64,583,309.6,,,
deepface_img14.jpg,no,dimensions;head_length;retouching,28,275,407,,,
idphoto_sample1.png,no,dimensions;head_length;background,20,418,206,,,
dlib_dogs.jpg,no,face_count,,,,,,no person: no geometry
";

const ONLY: &str = "ok,head-24.0mm,bg-grey,desaturated,too-small,rotated-exif";

/// A source set whose photos are the shared ones, where they are.
fn source_set(photos: &Path) -> TempDir {
    let dir = TempDir::new().expect("temp dir");
    let photos = std::fs::canonicalize(photos).expect("the photo folder resolves");
    let info = format!(
        "name = \"sources\"\nphotos = {}\n",
        Value::String(photos.to_string_lossy().into_owned())
    );
    file(dir.path(), "set.toml", info.as_bytes());
    file(dir.path(), "labels.csv", SOURCE_LABELS.as_bytes());
    dir
}

fn build(from: &Path, out: &Path) -> Output {
    run(&[
        OsStr::new("samples"),
        OsStr::new("build"),
        OsStr::new("--from"),
        from.as_os_str(),
        OsStr::new("--out"),
        out.as_os_str(),
        OsStr::new("--only"),
        OsStr::new(ONLY),
    ])
}

/// `check --json` on derived photos, by file name.
fn check(dir: &Path, files: &[&str]) -> Vec<Value> {
    let mut args = vec![OsStr::new("check"), OsStr::new("--json")];
    let paths: Vec<_> = files.iter().map(|f| dir.join(f)).collect();
    args.extend(paths.iter().map(|p| p.as_os_str()));
    json_lines(&run(&args).stdout)
}

fn rule<'a>(report: &'a Value, id: &str) -> &'a Value {
    report["rules"]
        .as_array()
        .expect("rules")
        .iter()
        .find(|r| r["rule"] == id)
        .unwrap_or_else(|| panic!("{id} in {report}"))
}

fn status(report: &Value, id: &str) -> String {
    rule(report, id)["status"]
        .as_str()
        .expect("a status")
        .to_owned()
}

#[test]
fn build_derives_labelled_photos_the_engine_measures_as_labelled() {
    let Some(photos) = real_photos() else { return };
    let from = source_set(&photos);
    let tmp = TempDir::new().expect("temp dir");
    let out = tmp.path().join("derived");

    let done = build(from.path(), &out);
    assert_eq!(code(&done), 0, "{}", stderr(&done));
    let summary = String::from_utf8_lossy(&done.stdout).into_owned();
    // Three sources x six transformations, less the grey wall's bg-grey.
    assert!(
        summary.starts_with("17 photos") && summary.contains("from 3 sources"),
        "{summary}"
    );
    assert!(summary.contains("1 source photos skipped"), "{summary}");
    assert!(
        summary.contains("skipped 1 (the source's background is not white: 1)"),
        "{summary}"
    );

    let set = SampleSet::load(&out).expect("the built set loads");
    assert_eq!(set.info.name, "derived");
    assert_eq!(set.samples.len(), 17);
    let label = |file: &str| {
        &set.samples
            .iter()
            .find(|s| s.file == file)
            .unwrap_or_else(|| panic!("{file} labelled"))
            .label
    };
    assert!(label("hivision_demo_white__ok.jpg").compliant);
    assert_eq!(
        label("idphoto_sample1__ok.jpg").breaks,
        [photocheck_core::RuleId::Background]
    );
    assert!(!out.join("idphoto_sample1__bg-grey.jpg").exists());

    let mm = 32.0 / 756.0;
    for stem in ["hivision_demo_white", "deepface_img14"] {
        let names: Vec<String> = [
            "ok",
            "head-24.0mm",
            "bg-grey",
            "desaturated",
            "too-small",
            "rotated-exif",
        ]
        .iter()
        .map(|t| format!("{stem}__{t}.jpg"))
        .collect();
        let files: Vec<&str> = names.iter().map(String::as_str).collect();
        let reports = check(&out, &files);
        let [ok, big, grey, grey_scale, small, turned] = &reports[..] else {
            panic!("one report per photo: {reports:?}")
        };

        let truth = label(&names[0]);
        assert_eq!(status(ok, "dimensions"), "pass", "{ok}");
        assert_eq!(status(ok, "resolution"), "pass", "{ok}");
        let length = rule(ok, "head_length")["value"].as_f64().expect("measured");
        assert!((length - 20.5).abs() < 0.6, "{stem}: {length} mm");
        let head = &ok["head"];
        for (what, truth, tolerance) in [
            ("crown_y", truth.crown_y, 0.6),
            ("chin_y", truth.chin_y, 0.6),
            ("centre_x", truth.centre_x, 0.3),
        ] {
            let seen = head[what].as_f64().expect("head measured");
            let truth = truth.expect("ground truth");
            assert!(
                (seen - truth).abs() * mm < tolerance,
                "{stem} ok: {what} {seen} px, truth {truth} px"
            );
        }

        assert_eq!(status(big, "head_length"), "fail", "{big}");
        assert_eq!(status(grey, "background"), "fail", "{grey}");
        assert_ne!(status(grey_scale, "colour"), "pass", "{grey_scale}");
        assert_eq!(
            (small["width"].as_u64(), small["height"].as_u64()),
            (Some(130), Some(189))
        );
        assert_eq!(status(small, "resolution"), "fail", "{small}");
        assert_eq!(turned["exif"]["orientation"], 6, "{turned}");
        assert_eq!(
            (turned["width"].as_u64(), turned["height"].as_u64()),
            (Some(520), Some(756))
        );
        let length = rule(turned, "head_length")["value"]
            .as_f64()
            .expect("measured upright");
        assert!(
            (length - 20.5).abs() < 0.6,
            "{stem} rotated-exif: {length} mm"
        );
    }

    // A second build never mixes with the first.
    let again = build(from.path(), &out);
    assert_eq!(code(&again), 2, "{}", stderr(&again));
    assert!(
        stderr(&again).contains("is not empty"),
        "{}",
        stderr(&again)
    );
}

#[test]
fn unknown_transformations_are_refused_with_the_names_there_are() {
    let tmp = TempDir::new().expect("temp dir");
    white_png(tmp.path(), "white.png");
    file(
        tmp.path(),
        "labels.csv",
        b"file,compliant,breaks,crown_y,chin_y,centre_x\nwhite.png,yes,,40,300,130\n",
    );
    let out = tmp.path().join("out");
    let done = run(&[
        OsStr::new("samples"),
        OsStr::new("build"),
        OsStr::new("--from"),
        tmp.path().as_os_str(),
        OsStr::new("--out"),
        out.as_os_str(),
        OsStr::new("--only"),
        OsStr::new("ok,sepia"),
    ]);
    assert_eq!(code(&done), 2, "{}", stderr(&done));
    let err = stderr(&done);
    assert!(
        err.contains("'sepia'") && err.contains("head-17.0mm"),
        "{err}"
    );
    assert!(
        !out.exists(),
        "nothing is made before the options are checked"
    );
}
