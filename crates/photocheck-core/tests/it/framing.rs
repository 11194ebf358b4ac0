//! Framing on phone frames made from real portraits at test time: 3:4 frames with the head at several
//! sizes are cut to the licence photo, and the cut, measured again as a photo of its own, meets the
//! geometry rules; frames no crop can fix say what to change. Recency by channel. Nothing made here
//! is saved.

use photocheck_core::RuleInfo as _;
use std::io::Cursor;

use image::RgbImage;
use photocheck_core::framing::Mode;
use photocheck_core::rules::Kind;
use photocheck_core::{
    analyse, archive, check, judged_photo, Channel, Decision, Profile, Report, RuleId, Status,
};
use photocheck_synth::{self as derive, ExifTags, Framing, HeadRows};

use crate::{ctx, photos_or_skip, profile};

/// A portrait on white, frontal and neutral in a dark suit: at the standard framing nothing but the
/// looks' margins keeps it from approval (its head reads 3-4 degrees off frontal, in the shipped pose
/// limit's uncertain band). It is the only such photo in ../shared/photos/raw: the others break a rule
/// framing cannot fix (a smile, earrings, a head wider than 16 mm at any licence length, a cluttered or
/// grey background), and `samples build` derives every compliant test photo from it and its like.
const PORTRAIT: &str = "hivision_demo_white.jpg";

/// The shipped profile with the looks judged without margins: what framing decides is then the
/// whole decision, so an approval here means the crop made the phone frame a licence photo.
fn looks_without_margins() -> Profile {
    let mut p = profile().clone();
    for rule in [
        RuleId::EyesOpen,
        RuleId::Gaze,
        RuleId::Pose,
        RuleId::MouthClosed,
        RuleId::Expression,
        RuleId::Eyewear,
        RuleId::Headwear,
        RuleId::FaceCovering,
        RuleId::HairOverFace,
    ] {
        let limit = p.rules.get_mut(rule).expect("a look limit");
        limit.margin = 0.0;
        limit.min = limit.min.map(|_| 0.0);
        limit.max = limit.max.map(|m| m * 2.0);
    }
    p
}

/// A 3:4 phone frame of a 12 MP camera at a size the portraits fill without upscaling much.
const PHONE: (u32, u32) = (900, 1200);

/// The portrait and where its head is, measured by the engine on the original.
fn portrait(name: &str) -> Option<(RgbImage, HeadRows)> {
    let dir = photos_or_skip(name)?;
    let bytes = std::fs::read(dir.join(name)).expect("read photo");
    let report = check(&bytes, profile(), &ctx());
    let head = report.head.expect("the portrait has a measured head");
    let image = image::ImageReader::new(Cursor::new(&bytes))
        .with_guessed_format()
        .expect("sniff")
        .decode()
        .expect("decode")
        .to_rgb8();
    Some((image, HeadRows::from(&head)))
}

/// A phone frame: the head `share` of the height, its crown `crown` of the height below the top.
fn phone(photo: &RgbImage, head: HeadRows, share: f64, crown: f64, size: (u32, u32)) -> Vec<u8> {
    let framing = Framing {
        head_mm: share * 32.0,
        crown_ref_px: crown * 378.0,
        offset_mm: 0.0,
    };
    let (frame, _) = derive::frame(photo, head, framing, size);
    derive::jpeg(&frame).expect("encode")
}

fn status(r: &Report, id: RuleId) -> Status {
    r.rule(id).unwrap_or_else(|| panic!("{id} reported")).status
}

fn codes(r: &Report) -> Vec<&str> {
    r.reasons.iter().map(|x| x.code.as_str()).collect()
}

#[test]
fn phone_frames_of_real_portraits_are_framed_and_approved() {
    let relaxed = looks_without_margins();
    let name = PORTRAIT;
    let Some((photo, head)) = portrait(name) else {
        return;
    };
    for (share, crown) in [(0.25, 0.15), (0.33, 0.12), (0.40, 0.10)] {
        let what = format!("{name}, head {:.0} % of a 3:4 frame", share * 100.0);
        let bytes = phone(&photo, head, share, crown, PHONE);
        // Taken with the app's camera: recent by definition (an undated album photo is reviewed).
        let (report, analysis) = analyse(&bytes, &relaxed, &ctx().via(Channel::Camera));
        let f = report.framing.as_ref().expect("framing reported");
        assert_eq!(f.mode, Mode::Framed, "{what}");
        let c = f.crop;
        assert!(c.x >= 0.0 && c.y >= 0.0, "{what}: {c:?}");
        assert!(c.x + c.w <= 900.5 && c.y + c.h <= 1200.5, "{what}: {c:?}");
        assert!(c.h >= 378.0, "{what}: {c:?} would be upscaled");
        assert!((c.w / c.h - 22.0 / 32.0).abs() < 0.002, "{what}: {c:?}");
        let before = f.before.expect("the upload's own geometry");
        assert!(
            (before.length_mm - share * 32.0).abs() < 1.0,
            "{what}: the upload's head measured {} mm",
            before.length_mm
        );
        for id in [
            RuleId::Dimensions,
            RuleId::HeadLength,
            RuleId::HeadWidth,
            RuleId::HeadCentring,
            RuleId::TopMargin,
        ] {
            assert_eq!(status(&report, id), Status::Pass, "{what}: {id}");
        }
        assert_eq!(
            report.decision,
            Decision::Approve,
            "{what}: {:?}",
            codes(&report)
        );
        // Under the shipped profile the same crop is judged alike: only the looks' margins can
        // keep it from approval.
        let shipped = check(&bytes, profile(), &ctx().via(Channel::Camera));
        assert_eq!(shipped.framing.as_ref().map(|f| f.crop), Some(c), "{what}");
        assert!(
            shipped.reasons.iter().all(|r| r.rule.kind() == Kind::Look),
            "{what}: {:?}",
            codes(&shipped)
        );
        // The archive copy is the crop: measured again as a photo of its own it meets the rules.
        let judged = analysis.expect("analysis").image;
        // What a reviewer is shown is cut again from the upload by the report's crop alone.
        let shown = judged_photo(&bytes, &report, profile())
            .expect("a framed report")
            .expect("cut");
        assert_eq!(shown.dimensions(), judged.dimensions(), "{what}");
        let copy = archive::from_image(&judged, profile()).expect("archive copy");
        let again = check(&copy.jpeg, profile(), &ctx());
        assert_eq!((again.width, again.height), (260, 378), "{what}");
        let length = again.head.expect("head in the archive copy").length_mm;
        assert!(
            (19.0..=22.0).contains(&length),
            "{what}: archive head {length} mm"
        );
        for id in [RuleId::HeadLength, RuleId::HeadCentring, RuleId::TopMargin] {
            assert_ne!(status(&again, id), Status::Fail, "{what}: archive {id}");
        }
    }
}

#[test]
fn frames_no_crop_can_fix_name_the_fix() {
    let name = PORTRAIT;
    let Some((photo, head)) = portrait(name) else {
        return;
    };
    for (what, share, crown, size, fix) in [
        (
            "crown at the top edge",
            0.33,
            0.003,
            PHONE,
            "needs-headroom",
        ),
        (
            "frame ends below the chin",
            0.40,
            0.46,
            PHONE,
            "needs-shoulders",
        ),
        ("a small copy", 0.33, 0.12, (240, 320), "too-few-pixels"),
    ] {
        let report = check(&phone(&photo, head, share, crown, size), profile(), &ctx());
        assert_ne!(report.decision, Decision::Approve, "{what}");
        assert!(!report.framed(), "{what}");
        assert!(
            codes(&report).contains(&fix),
            "{what}: expected {fix}, got {:?}",
            codes(&report)
        );
    }
}

#[test]
fn an_old_album_photo_fails_recency_and_the_same_camera_photo_passes() {
    let Some((photo, head)) = portrait(PORTRAIT) else {
        return;
    };
    let (frame, _) = derive::frame(&photo, head, Framing::centred(20.5), (520, 756));
    let old = derive::jpeg_with_exif(
        &frame,
        ExifTags {
            orientation: 1,
            software: "test",
            taken: "2025:01:10 09:00:00",
        },
    )
    .expect("encode");
    let album = check(&old, profile(), &ctx().via(Channel::Album));
    let camera = check(&old, profile(), &ctx().via(Channel::Camera));
    assert_eq!(status(&album, RuleId::Recency), Status::Fail);
    assert!(codes(&album).contains(&"photo-too-old"));
    assert_eq!(status(&camera, RuleId::Recency), Status::Pass);
    assert!(!codes(&camera).contains(&"photo-too-old"));

    // Without a date: the shipped profile requires one (a reviewer decides); a profile that does not
    // passes it with a note.
    let undated = derive::jpeg(&frame).expect("encode");
    let r = check(&undated, profile(), &ctx());
    assert_eq!(status(&r, RuleId::Recency), Status::Uncertain);
    let mut lenient = profile().clone();
    lenient.recency.require_date = false;
    let r = check(&undated, &lenient, &ctx());
    let recency = r.rule(RuleId::Recency).expect("recency");
    assert_eq!(recency.status, Status::Pass);
    assert!(recency
        .note
        .as_deref()
        .is_some_and(|n| n.contains("no EXIF")));
}
