//! Known geometry made from real photos at test time: the same portrait framed as an archive photo, then
//! uploaded at 2x and 4x, or with its head shrunk by a known factor. Nothing made here is saved.

use std::io::Cursor;

use image::RgbImage;
use photocheck_core::{Decision, Report, RuleId, Status};
use photocheck_synth as derive;

use crate::{check_caught, photos_or_skip};

/// White-background portraits: framing pads with white, which must read as more of the same wall.
const PORTRAITS: [&str; 3] = [
    "hivision_demo_white.jpg",
    "hivision_old_test4.jpg",
    "deepface_img15.jpg",
];

/// The portrait reframed around its measured head (see `derive::reframe`).
fn framed(photo: &RgbImage, report: &Report, head_mm: f64, size: (u32, u32)) -> RgbImage {
    let head = report
        .head
        .expect("the source portrait has a measured head");
    derive::reframe(photo, &head, head_mm, size)
}

fn decode(bytes: &[u8]) -> RgbImage {
    image::ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .expect("sniff")
        .decode()
        .expect("decode")
        .to_rgb8()
}

fn jpeg(image: &RgbImage) -> Vec<u8> {
    derive::jpeg(image).expect("encode")
}

fn rule(report: &Report, id: RuleId) -> (Status, f64) {
    let r = report.rule(id).unwrap_or_else(|| panic!("{id} reported"));
    (r.status, r.value.unwrap_or(f64::NAN))
}

/// The head as the upload shows it: the report's own head, or, when the upload was framed, the
/// geometry measured on the upload before the crop.
fn as_submitted(report: &Report, id: RuleId) -> f64 {
    let before = report.framing.as_ref().and_then(|f| f.before);
    match (before, id) {
        (Some(h), RuleId::HeadLength) => h.length_mm,
        (Some(h), RuleId::HeadWidth) => h.width_mm,
        (Some(h), RuleId::HeadCentring) => h.centre_offset_mm.abs(),
        (Some(h), RuleId::TopMargin) => h.top_margin_ref_px,
        _ => rule(report, id).1,
    }
}

/// Each portrait framed at 20.5 mm, at 1x, 2x and 4x: head sizes as submitted within 0.3 mm (width 0.5). (The
/// decisions may differ: a 2x or 4x upload has the pixels for a crop with more margin, 1x has not.)
#[test]
fn uploads_at_2x_and_4x_are_judged_like_the_archive_size() {
    let Some(dir) = photos_or_skip("uploads_at_2x_and_4x_are_judged_like_the_archive_size") else {
        return;
    };
    for name in PORTRAITS {
        let bytes = std::fs::read(dir.join(name)).expect("read photo");
        let source = check_caught(&bytes).expect("no panic");
        let photo = decode(&bytes);
        let reports: Vec<Report> = [1u32, 2, 4]
            .iter()
            .map(|k| {
                check_caught(&jpeg(&framed(&photo, &source, 20.5, (260 * k, 378 * k))))
                    .expect("no panic")
            })
            .collect();
        let base = &reports[0];
        let (status, length) = rule(base, RuleId::HeadLength);
        assert!(
            (length - 20.5).abs() < 0.6,
            "{name}: archive head length {length} mm, framed at 20.5"
        );
        assert_ne!(status, Status::Fail, "{name}");
        for (k, r) in [2, 4].iter().zip(&reports[1..]) {
            // The width follows the hair's outline, which resampling moves more than the crown
            // and chin: 0.5 mm, against 0.3 for the others.
            for (id, tolerance) in [
                (RuleId::HeadLength, 0.3),
                (RuleId::HeadWidth, 0.5),
                (RuleId::HeadCentring, 0.3),
            ] {
                let v = as_submitted(r, id);
                let v0 = as_submitted(base, id);
                assert!(
                    (v - v0).abs() <= tolerance,
                    "{name} {id} at {k}x: {v} mm vs {v0} mm"
                );
            }
            let top = as_submitted(r, RuleId::TopMargin);
            let top0 = as_submitted(base, RuleId::TopMargin);
            assert!(
                (top - top0).abs() <= 3.0,
                "{name} top margin at {k}x: {top} vs {top0}"
            );
        }
    }
}

/// The same portrait framed with heads of known length: the measured length follows within 0.6 mm, and
/// the rule's verdict follows the limits 19-22 mm.
#[test]
fn known_head_lengths_on_real_portraits() {
    let Some(dir) = photos_or_skip("known_head_lengths_on_real_portraits") else {
        return;
    };
    for name in PORTRAITS {
        let bytes = std::fs::read(dir.join(name)).expect("read photo");
        let source = check_caught(&bytes).expect("no panic");
        let photo = decode(&bytes);
        for (target, expected) in [
            (16.0, Status::Fail),
            (20.5, Status::Pass),
            (24.5, Status::Fail),
        ] {
            let report = check_caught(&jpeg(&framed(&photo, &source, target, (260, 378))))
                .expect("no panic");
            let (status, length) = rule(&report, RuleId::HeadLength);
            assert!(
                (length - target).abs() < 0.6,
                "{name}: framed at {target} mm, measured {length} mm"
            );
            // Archive-sized: no crop can hold 378 rows, so the photo is judged as it is.
            assert!(!report.framed(), "{name} at {target} mm was framed");
            if expected == Status::Fail {
                assert_eq!(status, Status::Fail, "{name} at {target} mm");
                assert_ne!(report.decision, Decision::Approve, "{name} at {target} mm");
            } else {
                assert_ne!(status, Status::Fail, "{name} at {target} mm");
            }
        }
    }
}
