//! Overlays drawn on a checked photo so a person sees at a glance why it was flagged.
//!
//! Everything is drawn on a copy of the analysis image, the copy the measures ran on, so each box and line
//! sits exactly where the engine measured it. There is no text (the engine ships no font); the overlay is
//! read by its colours, which are the public constants below:
//!
//! - background pixels are tinted cyan, objects on the background ([`geometry::OTHER`]) magenta;
//! - translucent green bands: where the crown may be (the top margin) and where the chin must lie for the
//!   head length to pass, counted from the measured crown (or from the ideal crown when there is none);
//! - yellow boxes: detected faces, the main one (the one measured) thicker;
//! - blue line: the crown, violet line: the chin, both across the head; dashed when the engine itself
//!   doubts them (crown at the top edge, chin placed from the face box rather than an edge);
//! - dashed grey vertical line: the photo's centre; orange vertical line: the head's centre;
//! - the landmarks the looks were measured from: eyelid contours in green, irises in light blue, the
//!   mouth corners and inner lips in red, the chin point in violet, and the pose axes from the nose (red
//!   across the face along the eye line, green down it);
//! - a strip added below the photo: its upper half in the decision colour (green approve, amber review,
//!   red reject), its lower half one cell per rule in report order, coloured by status the same way.

use image::{imageops, Rgb, RgbImage};
use imageproc::drawing::draw_filled_rect_mut;
use imageproc::pixelops::interpolate;
use imageproc::rect::Rect;

use crate::detect::FaceBox;
use crate::geometry::{self, HeadGeometry};
use crate::profile::{Limit, Profile};
use crate::rules::{Decision, Status};
use crate::{Analysis, Report};

/// Tint of background pixels.
pub const BACKGROUND_TINT: Rgb<u8> = Rgb([0, 255, 255]);
/// Tint of pixels that are neither background nor the person: objects on the background.
pub const OTHER_TINT: Rgb<u8> = Rgb([255, 0, 255]);
/// Tint of the allowed crown and chin bands.
pub const BAND_TINT: Rgb<u8> = Rgb([0, 200, 0]);
pub const FACE_COLOUR: Rgb<u8> = Rgb([255, 230, 0]);
pub const CROWN_COLOUR: Rgb<u8> = Rgb([0, 70, 255]);
pub const CHIN_COLOUR: Rgb<u8> = Rgb([150, 0, 255]);
pub const PHOTO_CENTRE_COLOUR: Rgb<u8> = Rgb([60, 60, 60]);
pub const HEAD_CENTRE_COLOUR: Rgb<u8> = Rgb([255, 110, 0]);
pub const EYE_COLOUR: Rgb<u8> = Rgb([0, 220, 90]);
pub const IRIS_COLOUR: Rgb<u8> = Rgb([80, 200, 255]);
pub const MOUTH_COLOUR: Rgb<u8> = Rgb([255, 40, 40]);
pub const POSE_ACROSS_COLOUR: Rgb<u8> = Rgb([255, 40, 40]);
pub const POSE_DOWN_COLOUR: Rgb<u8> = Rgb([0, 220, 90]);
/// The crop framing cut from the upload, on the upload beside the framed photo.
pub const CROP_COLOUR: Rgb<u8> = Rgb([255, 0, 200]);
/// Approve, and rules that pass.
pub const APPROVE_COLOUR: Rgb<u8> = Rgb([0, 170, 60]);
/// Review, and uncertain rules.
pub const REVIEW_COLOUR: Rgb<u8> = Rgb([255, 176, 0]);
/// Reject, and rules that fail.
pub const REJECT_COLOUR: Rgb<u8> = Rgb([220, 30, 30]);

const BACKGROUND_ALPHA: f32 = 0.35;
// Objects are what a reviewer must notice, so they are tinted more strongly than the background.
const OTHER_ALPHA: f32 = 0.5;
// Light enough that the face under the chin band stays readable.
const BAND_ALPHA: f32 = 0.3;

/// The segmentation alone, as a transparent layer the size of the analysis image: background pixels
/// in [`BACKGROUND_TINT`], objects on it in [`OTHER_TINT`], the person clear. Laid over the photo
/// (stretched to its size), it shows what the engine took for background.
pub fn background_layer(analysis: &Analysis) -> Option<image::RgbaImage> {
    let seg = analysis.segmentation.as_ref()?;
    Some(image::RgbaImage::from_fn(
        seg.width,
        seg.height,
        |x, y| match seg.label(x, y) {
            geometry::BACKGROUND => image::Rgba([
                BACKGROUND_TINT[0],
                BACKGROUND_TINT[1],
                BACKGROUND_TINT[2],
                255,
            ]),
            geometry::OTHER => image::Rgba([OTHER_TINT[0], OTHER_TINT[1], OTHER_TINT[2], 255]),
            _ => image::Rgba([0, 0, 0, 0]),
        },
    ))
}

/// Draws the overlay; the result is the analysis image with a status strip added below it.
pub fn draw(analysis: &Analysis, report: &Report, profile: &Profile) -> RgbImage {
    let mut img = analysis.image.clone();
    let (w, h) = img.dimensions();
    if w == 0 || h == 0 {
        return img;
    }
    // Line thickness grows with the image so the overlay reads the same at 378 px and at 1512 px.
    let t = ((h as f64 / 300.0).round() as u32).max(1);

    if let Some(seg) = &analysis.segmentation {
        if seg.width == w && seg.height == h {
            for (p, &label) in img.pixels_mut().zip(&seg.labels) {
                match label {
                    geometry::BACKGROUND => *p = interpolate(BACKGROUND_TINT, *p, BACKGROUND_ALPHA),
                    geometry::OTHER => *p = interpolate(OTHER_TINT, *p, OTHER_ALPHA),
                    _ => {}
                }
            }
        }
    }

    let bands = Bands::new(profile, analysis.head.as_ref(), h);
    for (top, bottom) in [bands.crown, bands.chin].into_iter().flatten() {
        tint_rows(&mut img, top, bottom, BAND_TINT, BAND_ALPHA);
        // Solid ends, so the band's limits read even where the tint is faint on white.
        let tick = (w / 20).max(2);
        fill(&mut img, 0.0, top, tick as f64, bottom, BAND_TINT);
        fill(
            &mut img,
            w.saturating_sub(tick) as f64,
            top,
            w as f64,
            bottom,
            BAND_TINT,
        );
    }

    vline(
        &mut img,
        w as f64 / 2.0,
        0.0,
        h as f64,
        t,
        false,
        PHOTO_CENTRE_COLOUR,
    );
    if let Some(g) = &analysis.head {
        vline(
            &mut img,
            g.centre_x,
            g.crown_y,
            g.chin_y,
            t,
            true,
            HEAD_CENTRE_COLOUR,
        );
    }

    // The first face is the one the engine measured (detections come widest first).
    for (i, f) in analysis.faces.iter().enumerate().rev() {
        let thickness = if i == 0 { 2 * t } else { t };
        face_box(&mut img, f, thickness, FACE_COLOUR);
    }

    if let Some(g) = &analysis.head {
        let pad = g.width() * 0.1;
        let (x0, x1) = (g.left_x - pad, g.right_x + pad);
        hline(
            &mut img,
            x0,
            x1,
            g.crown_y,
            t,
            !g.crown_at_edge,
            CROWN_COLOUR,
        );
        hline(&mut img, x0, x1, g.chin_y, t, g.chin_from_edge, CHIN_COLOUR);
    }
    if let Some(lm) = &analysis.landmarks {
        landmarks(&mut img, lm);
    }

    match (&analysis.upload, report.framing.as_ref()) {
        (Some((upload, upload_scale)), Some(f)) => with_status_strip(
            &beside(&crop_on(upload, *upload_scale, &f.crop, t), &img),
            report,
        ),
        _ => with_status_strip(&img, report),
    }
}

/// The upload with the crop's outline on it (`scale`: upload px per px of `upload`).
fn crop_on(upload: &RgbImage, scale: f64, crop: &crate::Crop, t: u32) -> RgbImage {
    let mut out = upload.clone();
    let (x0, y0) = (crop.x / scale, crop.y / scale);
    let (x1, y1) = ((crop.x + crop.w) / scale, (crop.y + crop.h) / scale);
    let th = (2 * t) as f64;
    fill(&mut out, x0, y0, x1, y0 + th, CROP_COLOUR);
    fill(&mut out, x0, y1 - th, x1, y1, CROP_COLOUR);
    fill(&mut out, x0, y0, x0 + th, y1, CROP_COLOUR);
    fill(&mut out, x1 - th, y0, x1, y1, CROP_COLOUR);
    out
}

/// `left` scaled to `right`'s height, then `right`, side by side with a gap.
fn beside(left: &RgbImage, right: &RgbImage) -> RgbImage {
    let h = right.height();
    let lw = ((f64::from(left.width()) * f64::from(h) / f64::from(left.height().max(1))).round()
        as u32)
        .max(1);
    let left = imageops::resize(left, lw, h, imageops::FilterType::Triangle);
    let gap = (h / 60).max(4);
    let mut out = RgbImage::from_pixel(lw + gap + right.width(), h, Rgb([30, 30, 30]));
    imageops::replace(&mut out, &left, 0, 0);
    imageops::replace(&mut out, right, i64::from(lw + gap), 0);
    out
}

/// Eyelids, irises, mouth, chin and the pose axes (analysis-image px).
fn landmarks(img: &mut RgbImage, lm: &crate::Landmarks) {
    use crate::landmarks::idx;
    use imageproc::drawing::{draw_hollow_circle_mut, draw_line_segment_mut};
    let pt = |p: [f64; 2]| (p[0] as f32, p[1] as f32);
    for eye in lm.eyes.iter().flatten() {
        let n = eye.lids.len();
        // Lower lid 0-8, then the upper lid 9-15 from the outer corner: closed through both corners.
        let order: Vec<usize> = (0..9).chain([0]).chain(9..n).chain([8]).collect();
        for pair in order.windows(2) {
            // The jump back from the outer end of the lower lid to the start of the upper one.
            if pair == [8, 0] {
                continue;
            }
            let (a, b) = (eye.lids[pair[0]], eye.lids[pair[1]]);
            draw_line_segment_mut(img, pt(a), pt(b), EYE_COLOUR);
        }
        let r = eye.iris_radius.round().max(1.0) as i32;
        draw_hollow_circle_mut(
            img,
            (eye.iris[0].round() as i32, eye.iris[1].round() as i32),
            r,
            IRIS_COLOUR,
        );
    }
    let (l, r) = (lm.point(idx::MOUTH_LEFT), lm.point(idx::MOUTH_RIGHT));
    draw_line_segment_mut(img, pt(l), pt(r), MOUTH_COLOUR);
    let (u, d) = (
        lm.point(idx::UPPER_LIP_INNER),
        lm.point(idx::LOWER_LIP_INNER),
    );
    draw_line_segment_mut(img, pt(u), pt(d), MOUTH_COLOUR);
    let chin = lm.point(idx::CHIN);
    fill(
        img,
        chin[0] - 2.0,
        chin[1] - 2.0,
        chin[0] + 2.0,
        chin[1] + 2.0,
        CHIN_COLOUR,
    );
    // Pose axes from the nose tip: half an eye distance along the eye line and down the face.
    let nose = lm.point(idx::NOSE_TIP);
    let len = lm.eye_distance() * 0.5;
    let roll = lm.pose.map_or(0.0, |p| p.roll);
    let (sin, cos) = roll.to_radians().sin_cos();
    let across = [nose[0] + len * cos, nose[1] + len * sin];
    let down = [nose[0] - len * sin, nose[1] + len * cos];
    draw_line_segment_mut(img, pt(nose), pt(across), POSE_ACROSS_COLOUR);
    draw_line_segment_mut(img, pt(nose), pt(down), POSE_DOWN_COLOUR);
}

/// The allowed crown and chin bands, analysis-image rows.
struct Bands {
    crown: Option<(f64, f64)>,
    chin: Option<(f64, f64)>,
}

impl Bands {
    fn new(profile: &Profile, head: Option<&HeadGeometry>, h: u32) -> Bands {
        let rules = &profile.rules;
        // The top margin is in px at the reference height; head length is in mm on the print.
        let ref_px = h as f64 / profile.photo.reference_height_px.max(1) as f64;
        let mm_px = h as f64 / profile.photo.height_mm;
        let crown = span(&rules.top_margin).map(|(a, b)| (a * ref_px, b * ref_px));
        // Chin limits follow the measured crown; without one, the ideal crown (mid top-margin band).
        let crown_y = head
            .map(|g| g.crown_y)
            .or(crown.map(|(a, b)| (a + b) / 2.0));
        let chin = match (crown_y, span(&rules.head_length)) {
            (Some(c), Some((a, b))) => Some((c + a * mm_px, c + b * mm_px)),
            _ => None,
        };
        Bands { crown, chin }
    }
}

/// A limit as a closed range; `None` when it has no upper end (nothing to draw a band to).
fn span(l: &Limit) -> Option<(f64, f64)> {
    Some((l.min.unwrap_or(0.0), l.max?))
}

fn tint_rows(img: &mut RgbImage, top: f64, bottom: f64, colour: Rgb<u8>, alpha: f32) {
    let h = img.height() as f64;
    let (y0, y1) = (
        top.round().clamp(0.0, h) as u32,
        bottom.round().clamp(0.0, h) as u32,
    );
    for y in y0..y1 {
        for x in 0..img.width() {
            let p = img.get_pixel_mut(x, y);
            *p = interpolate(colour, *p, alpha);
        }
    }
}

/// Fills the rectangle between (x0, y0) and (x1, y1), rounded to whole px, at least 1 px each way;
/// parts outside the image are dropped.
fn fill(img: &mut RgbImage, x0: f64, y0: f64, x1: f64, y1: f64, colour: Rgb<u8>) {
    if !(x0.is_finite() && y0.is_finite() && x1.is_finite() && y1.is_finite()) {
        return;
    }
    let (l, r) = (x0.min(x1).round(), x0.max(x1).round());
    let (t, b) = (y0.min(y1).round(), y0.max(y1).round());
    let rect = Rect::at(to_i32(l), to_i32(t)).of_size(extent(r - l), extent(b - t));
    draw_filled_rect_mut(img, rect, colour);
}

/// A horizontal line `t` px thick on row `y`; dashed when `solid` is false.
fn hline(img: &mut RgbImage, x0: f64, x1: f64, y: f64, t: u32, solid: bool, colour: Rgb<u8>) {
    let (y0, y1) = thick(y, t);
    let width = img.width() as f64;
    for (a, b) in dashes(x0, x1, width, t, solid) {
        fill(img, a, y0, b, y1, colour);
    }
}

/// A vertical line `t` px thick on column `x`; dashed when `solid` is false.
fn vline(img: &mut RgbImage, x: f64, y0: f64, y1: f64, t: u32, solid: bool, colour: Rgb<u8>) {
    let (x0, x1) = thick(x, t);
    let height = img.height() as f64;
    for (a, b) in dashes(y0, y1, height, t, solid) {
        fill(img, x0, a, x1, b, colour);
    }
}

/// The first and last px of a line `t` px thick around `at`.
fn thick(at: f64, t: u32) -> (f64, f64) {
    let first = at - (t / 2) as f64;
    (first, first + t as f64 - 1.0)
}

/// The pieces of a line from `a` to `b`: one when solid, else dashes; limited to `0..size` so a wild
/// coordinate cannot make thousands of invisible dashes.
fn dashes(a: f64, b: f64, size: f64, t: u32, solid: bool) -> Vec<(f64, f64)> {
    let (a, b) = (a.max(0.0), b.min(size));
    if a.is_nan() || b.is_nan() || a > b {
        return Vec::new();
    }
    if solid {
        return vec![(a, b)];
    }
    let dash = 4.0 * t as f64 + 2.0;
    let mut out = Vec::new();
    let mut at = a;
    while at < b {
        out.push((at, (at + dash - 1.0).min(b)));
        at += 2.0 * dash;
    }
    out
}

/// A face box outline `thickness` px wide, growing outwards from the box edge.
fn face_box(img: &mut RgbImage, f: &FaceBox, thickness: u32, colour: Rgb<u8>) {
    let th = thickness as f64 - 1.0;
    let (l, t, r, b) = (f.x, f.y, f.x + f.w, f.y + f.h);
    fill(img, l - th, t - th, r + th, t, colour);
    fill(img, l - th, b, r + th, b + th, colour);
    fill(img, l - th, t, l, b, colour);
    fill(img, r, t, r + th, b, colour);
}

/// The image with the status strip below it: decision colour on top, one cell per rule underneath.
fn with_status_strip(img: &RgbImage, report: &Report) -> RgbImage {
    let (w, h) = img.dimensions();
    let strip = (h / 24).max(12);
    let mut out = RgbImage::from_pixel(w, h + strip, Rgb([30, 30, 30]));
    imageops::replace(&mut out, img, 0, 0);
    let half = strip / 2;
    let decision = match report.decision {
        Decision::Approve => APPROVE_COLOUR,
        Decision::Review => REVIEW_COLOUR,
        Decision::Reject => REJECT_COLOUR,
    };
    draw_filled_rect_mut(
        &mut out,
        Rect::at(0, to_i32(h as f64)).of_size(w, half),
        decision,
    );
    let n = report.rules.len();
    if n > 0 {
        let cell = w as f64 / n as f64;
        for (i, rule) in report.rules.iter().enumerate() {
            let colour = match rule.status {
                Status::Pass => APPROVE_COLOUR,
                Status::Uncertain => REVIEW_COLOUR,
                Status::Fail => REJECT_COLOUR,
            };
            // The strip's dark ground shows through a 1 px gap between cells and above them.
            let (x0, x1) = (
                (i as f64 * cell).round(),
                ((i + 1) as f64 * cell).round() - 2.0,
            );
            let (y0, y1) = ((h + half + 1) as f64, (h + strip - 1) as f64);
            fill(&mut out, x0, y0, x1.max(x0), y1, colour);
        }
    }
    out
}

fn to_i32(v: f64) -> i32 {
    v.clamp(i32::MIN as f64 / 2.0, i32::MAX as f64 / 2.0) as i32
}

/// A length in px for a rectangle side: whole, at least 1, and small enough for imageproc's i32 maths.
fn extent(v: f64) -> u32 {
    (v + 1.0).clamp(1.0, (i32::MAX / 4) as f64) as u32
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geometry::Segmentation;
    use crate::rules::{RuleId, RuleResult};
    use crate::{Context, ExifFacts, Measures};

    fn report(decision: Decision, rules: Vec<RuleResult>) -> Report {
        Report {
            decision,
            reasons: Vec::new(),
            rules,
            faces: 1,
            face: None,
            width: 260,
            height: 378,
            timing_ms: 0.0,
            profile: "test".into(),
            format: None,
            head: None,
            exif: ExifFacts::default(),
            measures: Measures::default(),
            not_checked: Vec::new(),
            framing: None,
            error: None,
        }
    }

    fn analysis(head: Option<HeadGeometry>, segmentation: Option<Segmentation>) -> Analysis {
        Analysis {
            image: RgbImage::from_pixel(260, 378, Rgb([255, 255, 255])),
            scale: 1.0,
            faces: vec![FaceBox {
                x: 80.0,
                y: 90.0,
                w: 100.0,
                h: 120.0,
                score: 10.0,
            }],
            segmentation,
            head,
            landmarks: None,
            upload: None,
        }
    }

    const HEAD: HeadGeometry = HeadGeometry {
        crown_y: 40.0,
        chin_y: 280.0,
        left_x: 50.0,
        right_x: 210.0,
        centre_x: 130.0,
        crown_at_edge: false,
        chin_from_edge: true,
        chin_from: crate::geometry::ChinSource::Edge,
    };

    #[test]
    fn lines_boxes_and_strip_have_their_colours() {
        let profile = Profile::default_profile();
        let limit = profile.rules.head_length;
        let rules = vec![
            RuleResult::measured(RuleId::HeadLength, 20.5, &limit),
            RuleResult::measured(RuleId::HeadLength, 25.0, &limit),
        ];
        let out = draw(
            &analysis(Some(HEAD), None),
            &report(Decision::Review, rules),
            &profile,
        );
        assert_eq!(out.width(), 260);
        assert!(
            out.height() > 378,
            "a status strip is added below the photo"
        );
        // Away from the head's centre line, which crosses both.
        assert_eq!(*out.get_pixel(70, 40), CROWN_COLOUR);
        assert_eq!(*out.get_pixel(190, 280), CHIN_COLOUR);
        assert_eq!(*out.get_pixel(130, 150), HEAD_CENTRE_COLOUR);
        // Main face box, left edge.
        assert_eq!(*out.get_pixel(80, 150), FACE_COLOUR);
        // The strip: decision colour, then one cell per rule (pass, fail).
        assert_eq!(*out.get_pixel(130, 379), REVIEW_COLOUR);
        let bottom = out.height() - 2;
        assert_eq!(*out.get_pixel(30, bottom), APPROVE_COLOUR);
        assert_eq!(*out.get_pixel(230, bottom), REJECT_COLOUR);
    }

    #[test]
    fn bands_follow_the_profile() {
        let profile = Profile::default_profile();
        let out = draw(
            &analysis(Some(HEAD), None),
            &report(Decision::Approve, Vec::new()),
            &profile,
        );
        let white = Rgb([255, 255, 255]);
        let tinted = interpolate(BAND_TINT, white, BAND_ALPHA);
        // Top margin 10-20 px at the reference height (378, as this image).
        assert_eq!(*out.get_pixel(40, 15), tinted);
        assert_eq!(*out.get_pixel(40, 30), white);
        // Chin band: crown 40 + 19..22 mm at 378 px / 32 mm = 264.4..299.9.
        assert_eq!(*out.get_pixel(40, 270), tinted);
        assert_eq!(*out.get_pixel(40, 295), tinted);
        assert_eq!(*out.get_pixel(40, 255), white);
        assert_eq!(*out.get_pixel(40, 305), white);
    }

    #[test]
    fn segmentation_tints_background_and_objects() {
        let a = analysis(None, None);
        // Built by the engine so the test follows the struct; then labelled by hand.
        let mut seg = geometry::segment(&a.image, &a.faces[0]);
        seg.labels.fill(geometry::PERSON);
        seg.labels[0] = geometry::BACKGROUND;
        seg.labels[1] = geometry::OTHER;
        let out = draw(
            &analysis(None, Some(seg)),
            &report(Decision::Reject, Vec::new()),
            &profile_without_bands(),
        );
        let white = Rgb([255, 255, 255]);
        assert_eq!(
            *out.get_pixel(0, 0),
            interpolate(BACKGROUND_TINT, white, BACKGROUND_ALPHA)
        );
        assert_eq!(
            *out.get_pixel(1, 0),
            interpolate(OTHER_TINT, white, OTHER_ALPHA)
        );
        assert_eq!(*out.get_pixel(2, 0), white);
        assert_eq!(*out.get_pixel(5, 379), REJECT_COLOUR);
    }

    /// The default profile with the crown band removed, so corner pixels keep only the mask tint.
    fn profile_without_bands() -> Profile {
        let mut p = Profile::default_profile();
        p.rules.top_margin.max = None;
        p
    }

    #[test]
    fn real_analysis_without_a_face_draws_without_panicking() {
        let white = RgbImage::from_pixel(260, 378, Rgb([255, 255, 255]));
        let mut png = std::io::Cursor::new(Vec::new());
        white
            .write_to(&mut png, image::ImageFormat::Png)
            .expect("png encodes");
        let profile = Profile::default_profile();
        let ctx = Context::on(chrono::NaiveDate::from_ymd_opt(2025, 1, 1).expect("valid date"));
        let (report, analysis) = crate::analyse(png.get_ref(), &profile, &ctx);
        let analysis = analysis.expect("a white PNG decodes");
        let out = draw(&analysis, &report, &profile);
        assert_eq!(out.width(), analysis.image.width());
        assert!(out.height() > analysis.image.height());
    }

    #[test]
    fn degenerate_geometry_does_not_panic() {
        let head = HeadGeometry {
            crown_y: -50.0,
            chin_y: f64::NAN,
            left_x: 300.0,
            right_x: -10.0,
            centre_x: f64::INFINITY,
            crown_at_edge: true,
            chin_from_edge: false,
            chin_from: Default::default(),
        };
        let mut a = analysis(Some(head), None);
        a.faces.push(FaceBox {
            x: -1e12,
            y: 1e12,
            w: 0.0,
            h: -5.0,
            score: 0.0,
        });
        let profile = Profile::default_profile();
        let r = report(Decision::Reject, Vec::new());
        draw(&a, &r, &profile);
        // Smaller than any band tick or strip cell.
        a.image = RgbImage::new(1, 1);
        assert_eq!(draw(&a, &r, &profile).width(), 1);
    }
}
