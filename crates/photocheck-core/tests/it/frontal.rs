//! The looks and the framing on frontal portraits of many people (../shared/photos/frontal, see its
//! SOURCES.md): the London set and 3DSK renders, labelled by their makers as frontal and neutral, and
//! 20 of the London photos made into compliant whole photos (`whitened/`). Ground truth is the makers'
//! labels and how the whitened photos were made, never the engine's earlier output. The floors below
//! are what the engine reaches now (the closing note of issue 28 gives the figures); the issue's
//! targets are higher, and a change that loses ground fails here.

use std::collections::BTreeMap;
use std::path::PathBuf;

use photocheck_core::rules::Kind;
use photocheck_core::{archive, check, Channel, Decision, RuleId, RuleInfo, Status};

use crate::{ctx, folder_or_skip, profile, shared_photos};

fn frontal_dir(test: &str) -> Option<PathBuf> {
    folder_or_skip(test, shared_photos("frontal"))
}

/// labels.csv: file -> look -> kept / broken (looks the makers did not label are absent).
fn labels(dir: &std::path::Path) -> BTreeMap<String, BTreeMap<String, String>> {
    let text = std::fs::read_to_string(dir.join("labels.csv")).expect("labels.csv");
    let mut out: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for line in text.lines().skip(1) {
        let mut cols = line.splitn(4, ',');
        let (Some(file), Some(look), Some(status)) = (cols.next(), cols.next(), cols.next()) else {
            continue;
        };
        out.entry(file.to_owned())
            .or_default()
            .insert(look.to_owned(), status.to_owned());
    }
    out
}

fn camera() -> photocheck_core::Context {
    ctx().via(Channel::Camera)
}

#[test]
fn the_looks_pass_on_frontal_neutral_faces_of_many_people_and_never_on_a_labelled_smile() {
    let Some(dir) = frontal_dir("frontal looks") else {
        return;
    };
    let labels = labels(&dir);
    let looks: Vec<RuleId> = RuleId::ALL
        .into_iter()
        .filter(|id| id.kind() == Kind::Look)
        .collect();
    let (mut neutral, mut all_nine) = (0usize, 0usize);
    let mut passed: BTreeMap<RuleId, usize> = BTreeMap::new();
    let mut broken_passed = Vec::new();
    for (file, looks_of) in &labels {
        let bytes = std::fs::read(dir.join(file)).expect("photo");
        let report = check(&bytes, profile(), &camera());
        let status = |id: RuleId| report.rule(id).map(|r| r.status);
        for id in &looks {
            if looks_of.get(id.as_str()).map(String::as_str) == Some("broken")
                && status(*id) == Some(Status::Pass)
            {
                broken_passed.push(format!("{file}: {id}"));
            }
        }
        if file.contains("smiling_front") {
            continue;
        }
        neutral += 1;
        let mut all = true;
        for id in &looks {
            let pass = status(*id) == Some(Status::Pass);
            *passed.entry(*id).or_default() += usize::from(pass);
            all &= pass;
        }
        all_nine += usize::from(all);
    }
    assert_eq!(neutral, 102, "the set has 102 frontal neutral portraits");
    assert!(
        broken_passed.is_empty(),
        "labelled broken, passed: {broken_passed:?}"
    );
    eprintln!(
        "frontal neutral: all nine looks pass on {all_nine} of {neutral}; per look {passed:?}"
    );
    // Issue 28's target is 85 of 102; on 2026-12-07 the engine passed all nine on 34 (3 before).
    assert!(
        all_nine >= 30,
        "all nine looks pass on {all_nine} of {neutral}"
    );
    // Per look (target: 97 each). Pose, on which the others are gated, is the keystone.
    for (id, floor) in [
        (RuleId::EyesOpen, 70),
        (RuleId::Pose, 45),
        (RuleId::MouthClosed, 65),
        (RuleId::FaceCovering, 70),
        (RuleId::HairOverFace, 65),
    ] {
        let n = passed.get(&id).copied().unwrap_or(0);
        assert!(n >= floor, "{id} passes on {n} of {neutral}");
    }
}

#[test]
fn compliant_whole_photos_of_many_people_are_framed_and_approved_never_rejected() {
    let Some(dir) = frontal_dir("whitened approvals") else {
        return;
    };
    let whitened = dir.join("whitened");
    let mut approved = Vec::new();
    for entry in std::fs::read_dir(&whitened).expect("whitened/") {
        let path = entry.expect("entry").path();
        if path.extension().is_none_or(|e| e != "jpg") {
            continue;
        }
        let bytes = std::fs::read(&path).expect("photo");
        let report = check(&bytes, profile(), &camera());
        let name = path
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        // Each is a compliant photo of 1350 x 1350: never beyond saving, always cut to the licence shape.
        assert_ne!(
            report.decision,
            Decision::Reject,
            "{name}: {:?}",
            report.reasons
        );
        assert!(report.framed(), "{name}: not framed");
        if report.decision == Decision::Approve {
            approved.push(name);
        }
    }
    eprintln!("whitened: {} of 20 approved: {approved:?}", approved.len());
    // Issue 28's target is 18 of 20; on 2026-12-07 the engine approved 5 (none before).
    assert!(approved.len() >= 4, "approved {approved:?}");
}

#[test]
fn a_licence_photo_padded_to_a_square_is_framed_back_not_refused_for_its_pixels() {
    let Some(dir) = frontal_dir("padded licence photo") else {
        return;
    };
    // A compliant whole photo's archive copy (260 x 378, the licence photo itself), pasted in the
    // middle of a white 378 x 378 square: the only crop with 378 rows is the licence photo.
    let bytes = std::fs::read(dir.join("whitened/017_03.jpg")).expect("photo");
    let first = check(&bytes, profile(), &camera());
    let licence = photocheck_core::judged_photo(&bytes, &first, profile())
        .expect("a framing")
        .expect("the crop decodes");
    let copy = archive::from_image(&licence, profile()).expect("an archive copy");
    let small = photocheck_core::intake::decode(&copy.jpeg, &profile().intake)
        .expect("the archive copy decodes")
        .image;
    let mut square = image::RgbImage::from_pixel(378, 378, image::Rgb([255, 255, 255]));
    image::imageops::replace(&mut square, &small, 59, 0);
    let mut padded = Vec::new();
    image::DynamicImage::ImageRgb8(square)
        .write_to(
            &mut std::io::Cursor::new(&mut padded),
            image::ImageFormat::Png,
        )
        .expect("png");
    let report = check(&padded, profile(), &camera());
    let codes: Vec<&str> = report.reasons.iter().map(|r| r.code.as_str()).collect();
    assert!(!codes.contains(&"too-few-pixels"), "{codes:?}");
    assert_ne!(report.decision, Decision::Reject, "{codes:?}");
    assert!(report.framed(), "{codes:?}");
    let crop = report.framing.as_ref().expect("framing").crop;
    assert!(
        (crop.h - 378.0).abs() < 1.0 && (crop.x - 59.0).abs() < 3.0,
        "{crop:?}"
    );
}
