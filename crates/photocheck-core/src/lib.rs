//! photocheck-core: the check engine. Bytes and a profile in, a report out; pure and synchronous, so the
//! CLI, the queue workers, the review pages and the tuning command all run exactly the same checks.
//!
//! Pipeline: intake (sniff, limits, decode, EXIF orientation) -> face detection (two passes) ->
//! segmentation and head geometry -> landmarks (face mesh, eye model) -> measures and looks -> rules
//! (one table, `rules::RULES`) -> decision.

pub mod annotate;
pub mod archive;
pub mod detect;
pub mod framing;
pub mod geometry;
pub mod intake;
pub mod landmarks;
pub mod looks;
pub mod measure;
pub mod messages;
pub mod profile;
pub mod rejudge;
pub mod rules;

use std::time::Instant;

use chrono::NaiveDate;
use image::RgbImage;
use serde::{Deserialize, Serialize};

pub use crate::detect::FaceBox;
pub use crate::framing::{Crop, FramingReport};
pub use crate::geometry::{HeadGeometry, Segmentation};
pub use crate::intake::{ExifFacts, Format, IntakeError};
pub use crate::landmarks::Landmarks;
pub use crate::looks::LookMeasures;
pub use crate::measure::{BackgroundMeasures, FaceMeasures};
pub use crate::profile::{Profile, ProfileError};
pub use crate::rules::{Decision, Reason, RuleId, RuleInfo, RuleResult, Status};

use crate::profile::Limit;

/// What the engine needs from outside besides the photo: today's date and the way the photo came,
/// for the photo's age.
#[derive(Debug, Clone, Copy)]
pub struct Context {
    pub today: NaiveDate,
    pub channel: Channel,
}

impl Context {
    /// An album upload checked on `today`: the channel that needs the most evidence.
    pub fn on(today: NaiveDate) -> Context {
        Context {
            today,
            channel: Channel::Album,
        }
    }

    pub fn via(self, channel: Channel) -> Context {
        Context { channel, ..self }
    }
}

/// How the photo reached the service, which decides what its age needs as evidence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Channel {
    /// A photo already on file with an authority, sent again: judged by its EXIF like an album photo.
    Stored,
    /// Taken in the app's camera during the application: recent by definition.
    Camera,
    /// Picked from the phone's album: its EXIF capture date is the only evidence of its age.
    #[default]
    Album,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Stored => "stored",
            Channel::Camera => "camera",
            Channel::Album => "album",
        }
    }
}

impl std::str::FromStr for Channel {
    type Err = String;
    fn from_str(s: &str) -> Result<Channel, String> {
        match s {
            "stored" => Ok(Channel::Stored),
            "camera" => Ok(Channel::Camera),
            "album" => Ok(Channel::Album),
            other => Err(format!(
                "unknown channel {other:?}; expected stored, camera or album"
            )),
        }
    }
}

/// The face in the report: original-image px, integers.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct FaceReport {
    pub x: i64,
    pub y: i64,
    pub w: i64,
    pub h: i64,
    pub score: f64,
}

/// Head geometry in the report: original-image px, and mm on the printed photo.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct HeadReport {
    pub crown_y: f64,
    pub chin_y: f64,
    pub left_x: f64,
    pub right_x: f64,
    pub centre_x: f64,
    pub length_px: f64,
    pub width_px: f64,
    pub length_mm: f64,
    pub width_mm: f64,
    /// Head centre minus photo centre, mm (negative: left of centre).
    pub centre_offset_mm: f64,
    /// Crown below the top edge, px at the profile's reference height.
    pub top_margin_ref_px: f64,
    pub crown_at_edge: bool,
    /// The chin was placed from evidence (mesh point or clear edge), not only from the face box.
    pub chin_from_edge: bool,
    /// Where the chin came from: `mesh`, `edge` or `face-box`.
    #[serde(default)]
    pub chin_from: geometry::ChinSource,
}

/// Raw measures, for reviewers and threshold tuning.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Measures {
    pub background: Option<BackgroundMeasures>,
    pub face: Option<FaceMeasures>,
    pub clothing_luma: Option<f64>,
    /// Faces found before the size filter (all detections).
    pub detections: usize,
    /// People in the photo: faces of comparable size to the main one (the face count rule's value).
    /// The looks are those of one person; with more, whose they are cannot be told.
    #[serde(default)]
    pub persons: usize,
    /// The second, larger detection pass ran.
    pub fine_pass: bool,
    pub segmentation_reliable: Option<bool>,
    /// The looks, when the face mesh found the face's features.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub looks: Option<LookMeasures>,
    /// The landmarks the looks were measured from, original-image px (for overlays).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub points: Option<FacePoints>,
    /// MediaPipe's 52 expression scores by name (0-1), when the face's features were found: what
    /// eyes_open, mouth_closed and expression are judged from, kept so tuning can judge them again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blendshapes: Option<std::collections::BTreeMap<String, f64>>,
    /// The emotion classifier's probabilities by class, when the face's features were found: the
    /// second vote on the expression.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub emotions: Option<std::collections::BTreeMap<String, f64>>,
    /// Why the looks could not be measured, when they could not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub looks_note: Option<String>,
    /// Face models not run on this photo, by name, with why: their answer could not have changed
    /// the judgement of the look they serve.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub models_not_run: std::collections::BTreeMap<String, String>,
}

/// The landmarks a reviewer sees drawn: eye contours and irises, lips, chin and nose, original px.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FacePoints {
    /// Eyelid contours, photo-left eye first (16 points each).
    pub eyes: Vec<Vec<[f64; 2]>>,
    /// Iris centres and radii: x, y, r.
    pub irises: Vec<[f64; 3]>,
    /// Mouth corners (left, right) and inner lips (upper, lower).
    pub mouth: Vec<[f64; 2]>,
    pub chin: [f64; 2],
    pub nose: [f64; 2],
    pub forehead: [f64; 2],
    /// Face-presence score of the mesh.
    pub presence: f64,
}

impl FacePoints {
    fn from_landmarks(lm: &Landmarks, scale: f64, (ox, oy): (f64, f64)) -> FacePoints {
        use crate::landmarks::idx;
        let s = |p: [f64; 2]| [round1(ox + p[0] * scale), round1(oy + p[1] * scale)];
        FacePoints {
            eyes: lm
                .eyes
                .iter()
                .flatten()
                .map(|e| e.lids.iter().map(|&p| s(p)).collect())
                .collect(),
            irises: lm
                .eyes
                .iter()
                .flatten()
                .map(|e| {
                    let c = s(e.iris);
                    [c[0], c[1], round1(e.iris_radius * scale)]
                })
                .collect(),
            mouth: [
                idx::MOUTH_LEFT,
                idx::MOUTH_RIGHT,
                idx::UPPER_LIP_INNER,
                idx::LOWER_LIP_INNER,
            ]
            .iter()
            .map(|&i| s(lm.point(i)))
            .collect(),
            chin: s(lm.point(idx::CHIN)),
            nose: s(lm.point(idx::NOSE_TIP)),
            forehead: s(lm.point(idx::FOREHEAD_TOP)),
            presence: round2(lm.presence),
        }
    }
}

/// Why the photo could not be read at all.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReadError {
    pub code: String,
    pub message: String,
}

/// The outcome of checking one photo. Field order and names follow the `check --json` contract.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub decision: Decision,
    pub reasons: Vec<Reason>,
    pub rules: Vec<RuleResult>,
    pub faces: usize,
    pub face: Option<FaceReport>,
    /// Upright size of the upload, px.
    pub width: u32,
    pub height: u32,
    pub timing_ms: f64,
    pub profile: String,
    pub format: Option<Format>,
    pub head: Option<HeadReport>,
    pub exif: ExifFacts,
    pub measures: Measures,
    /// Looks this engine does not judge (ears, jewellery, uniform, make-up) and the profile does not
    /// send to a reviewer: listed so that every approval says what it did not look at.
    #[serde(default)]
    pub not_checked: Vec<Reason>,
    /// Whether the judged photo is the upload or a crop of it, and where: absent only when the
    /// upload could not be read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub framing: Option<FramingReport>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ReadError>,
}

impl Report {
    /// The report for a photo that could not be checked at all: no measures, one reason with its code
    /// and messages, and the error behind it. Unreadable files are filed under `dimensions`.
    pub fn not_checked(
        decision: Decision,
        code: &str,
        message_en: String,
        message_zh: String,
        detail: String,
        profile: &Profile,
    ) -> Report {
        Report {
            decision,
            reasons: vec![Reason {
                code: code.into(),
                rule: RuleId::Dimensions,
                message_en,
                message_zh,
            }],
            rules: Vec::new(),
            faces: 0,
            face: None,
            width: 0,
            height: 0,
            timing_ms: 0.0,
            profile: profile.name.clone(),
            format: None,
            head: None,
            exif: ExifFacts::default(),
            measures: Measures::default(),
            not_checked: Vec::new(),
            framing: None,
            error: Some(ReadError {
                code: code.into(),
                message: detail,
            }),
        }
    }

    /// The report for a photo whose check failed inside the engine (a panic caught by the caller): the
    /// applicant did nothing wrong, so a person looks at it.
    pub fn check_failed(why: &str, profile: &Profile) -> Report {
        Report::not_checked(
            Decision::Review,
            "check-failed",
            "The photo could not be checked automatically; a reviewer will look at it".into(),
            "照片无法自动检测，将由人工审核".into(),
            why.to_owned(),
            profile,
        )
    }

    pub fn rule(&self, id: RuleId) -> Option<&RuleResult> {
        self.rules.iter().find(|r| r.rule == id)
    }

    /// Height of the judged photo in upload px (the crop when framed): what mm are of.
    pub fn judged_height(&self) -> f64 {
        self.framing
            .as_ref()
            .map_or(f64::from(self.height), |f| f.crop.h)
    }

    /// The judged photo was cut from the upload.
    pub fn framed(&self) -> bool {
        self.framing
            .as_ref()
            .is_some_and(|f| f.mode == framing::Mode::Framed)
    }
}

/// Everything computed on the way, for drawing overlays (analysis-image px of the judged photo: the
/// crop when the upload was framed).
pub struct Analysis {
    /// The judged photo, upright: the upload, or its crop (at least the archive's rows when the upload
    /// has them).
    pub image: RgbImage,
    /// Upload px per analysis px.
    pub scale: f64,
    pub faces: Vec<FaceBox>,
    pub segmentation: Option<Segmentation>,
    pub head: Option<HeadGeometry>,
    pub landmarks: Option<Landmarks>,
    /// When framed: the whole upload at analysis size, and its upload px per px (the report's
    /// `framing.crop` is where the judged photo lies in it).
    pub upload: Option<(RgbImage, f64)>,
}

/// Checks one photo.
pub fn check(bytes: &[u8], profile: &Profile, ctx: &Context) -> Report {
    analyse(bytes, profile, ctx).0
}

/// Checks one photo and keeps the intermediate images and masks.
///
/// The upload is judged as submitted first. When its head geometry does not pass and a crop of it
/// can be the licence photo (`framing::plan`), the crop is cut from the upload at the resolution it
/// needs and judged again as a photo of its own: that judgement is the report, and the crop is what
/// an approval archives. When no crop can, a `framing` rule says what to change.
pub fn analyse(bytes: &[u8], profile: &Profile, ctx: &Context) -> (Report, Option<Analysis>) {
    let started = Instant::now();
    let mut decoded = match intake::decode(bytes, &profile.intake) {
        Ok(d) => d,
        Err(e) => return (unreadable(&e, profile, started), None),
    };
    let image = std::mem::take(&mut decoded.image);
    let whole = Crop::whole(decoded.width, decoded.height);
    let (mut report, mut analysis) = judge_frame(image, whole, &decoded, profile, ctx, None);
    let mut framing = FramingReport {
        mode: framing::Mode::AsSubmitted,
        crop: whole,
        scale: f64::from(profile.photo.reference_height_px) / whole.h,
        before: None,
    };
    let head = report.head.filter(|_| report.faces == 1);
    if let Some(head) = head.filter(|_| !framing::geometry_passes(&report.rules)) {
        let in_upload = framing::Head {
            crown_y: head.crown_y,
            chin_y: head.chin_y,
            centre_x: head.centre_x,
            width: head.width_px,
        };
        match framing::plan(&in_upload, (decoded.width, decoded.height), profile) {
            // The best crop is the upload itself (a licence-shaped photo whose head is near a limit):
            // judging it again would judge the same pixels, so its own judgement stands.
            Ok(crop) if crop.w >= whole.w - 1.0 && crop.h >= whole.h - 1.0 => {}
            Ok(crop) => match cut(bytes, &decoded, crop, profile) {
                Ok(image) => {
                    let prior = Prior::in_crop(&report, &analysis, crop, &image);
                    let (framed, mut framed_analysis) =
                        judge_frame(image, crop, &decoded, profile, ctx, Some(prior));
                    framed_analysis.upload = Some((analysis.image, analysis.scale));
                    framing = FramingReport {
                        mode: framing::Mode::Framed,
                        crop,
                        scale: f64::from(profile.photo.reference_height_px) / crop.h,
                        before: Some(head),
                    };
                    (report, analysis) = (framed, framed_analysis);
                }
                // The bytes decoded a moment ago: only a resource limit can get here.
                Err(e) => report.rules.push(RuleResult::unmeasured(
                    RuleId::Framing,
                    None,
                    &e.to_string(),
                )),
            },
            Err(fix) => {
                let proportions = report
                    .rule(RuleId::Dimensions)
                    .is_some_and(|r| r.status == Status::Pass);
                // A photo of the licence photo's proportions is still judged as it is: the crop was
                // only a way to more margin. Otherwise the fix is the reason, and it rejects only
                // when the head it is based on was placed from evidence.
                if !proportions {
                    let mut rule = fix.rule(false, framing::note(fix));
                    rule.unusable &= head.chin_from_edge;
                    framing::insert_rule(&mut report.rules, rule);
                }
            }
        }
        (report.decision, report.reasons) = rules::decide(&report.rules);
    }
    report.framing = Some(framing);
    report.timing_ms = elapsed_ms(started);
    (report, Some(analysis))
}

/// The photo a report judged, cut again from the upload by the report's own crop: what a reviewer
/// is shown beside the upload, without running the engine again (so it is the crop that was decided,
/// whatever the profile or the day). `None` when the report has no framing (the upload was not read).
pub fn judged_photo(
    bytes: &[u8],
    report: &Report,
    profile: &Profile,
) -> Option<Result<RgbImage, IntakeError>> {
    let framing = report.framing.as_ref()?;
    Some(intake::decode(bytes, &profile.intake).and_then(|decoded| {
        if (decoded.width, decoded.height) != (report.width, report.height) {
            return Err(IntakeError::Corrupt(
                "the photo is not the one the report was made from".into(),
            ));
        }
        cut(bytes, &decoded, framing.crop, profile)
    }))
}

/// The crop of the upload, upright, with at least `analysis_height` rows where the upload has them:
/// from the upload decoded at the reduction that leaves the crop that many rows (from the finer
/// decode `intake::decode` kept, when there is one; decoded again otherwise), then cut.
fn cut(
    bytes: &[u8],
    decoded: &intake::Decoded,
    crop: Crop,
    profile: &Profile,
) -> Result<RgbImage, IntakeError> {
    let rows = f64::from(profile.intake.analysis_height);
    let limits = profile::Intake {
        analysis_height: ((rows * f64::from(decoded.height) / crop.h).ceil() as u32)
            .min(decoded.height),
        ..profile.intake.clone()
    };
    let full = match decoded.decoded_for(limits.analysis_height) {
        Some(image) => image,
        None => std::borrow::Cow::Owned(intake::decode(bytes, &limits)?.image),
    };
    let s = f64::from(full.height()) / f64::from(decoded.height);
    let scaled = Crop {
        x: crop.x * s,
        y: crop.y * s,
        w: crop.w * s,
        h: crop.h * s,
    };
    let (x, y, w, h) = scaled.pixels(full.width(), full.height());
    let cut = image::imageops::crop_imm(full.as_ref(), x, y, w, h).to_image();
    Ok(intake::reduce_to_analysis_size(
        cut,
        profile.intake.analysis_height,
    ))
}

/// What the upload's judgement found that its crop's judgement reuses: the faces and the face
/// models' landmarks (or why there are none), mapped into the crop's analysis image.
struct Prior {
    detections: detect::Detections,
    landmarks: Result<Option<Landmarks>, String>,
}

impl Prior {
    fn in_crop(report: &Report, upload: &Analysis, crop: Crop, image: &RgbImage) -> Prior {
        // Upload analysis px -> upload px -> the crop's analysis px.
        let (su, sc) = (upload.scale, crop.h / f64::from(image.height()));
        let to = |[x, y]: [f64; 2]| [(x * su - crop.x) / sc, (y * su - crop.y) / sc];
        let k = su / sc;
        let (w, h) = (f64::from(image.width()), f64::from(image.height()));
        let faces = upload
            .faces
            .iter()
            .map(|f| {
                let [x, y] = to([f.x, f.y]);
                FaceBox {
                    x,
                    y,
                    w: f.w * k,
                    h: f.h * k,
                    ..*f
                }
            })
            // A face whose centre the crop leaves out is not in the judged photo.
            .filter(|f| {
                let (cx, cy) = (f.x + f.w / 2.0, f.y + f.h / 2.0);
                (0.0..w).contains(&cx) && (0.0..h).contains(&cy)
            })
            .collect();
        let landmarks = match (&upload.landmarks, &report.measures.looks_note) {
            (Some(lm), _) => Ok(Some(lm.mapped(to, k))),
            (None, Some(note)) if report.measures.looks.is_none() => Err(note.clone()),
            (None, _) => Ok(None),
        };
        Prior {
            detections: detect::Detections {
                faces,
                fine_pass: report.measures.fine_pass,
            },
            landmarks,
        }
    }
}

/// Judges `image`, which shows the part `frame` of the upright upload, as a photo of its own. Every
/// coordinate in the report is in upload px; every mm is of this frame.
/// With a `prior`, the faces and the landmarks are the upload's, mapped into `image`: the face
/// models ran once, on the upload.
fn judge_frame(
    image: RgbImage,
    frame: Crop,
    decoded: &intake::Decoded,
    profile: &Profile,
    ctx: &Context,
    prior: Option<Prior>,
) -> (Report, Analysis) {
    let started = Instant::now();
    let (ah, scale) = (image.height() as f64, frame.h / image.height() as f64);
    let (ox, oy) = (frame.x, frame.y);
    let gray = geometry::to_gray(&image);
    let (detections, prior_landmarks) = match prior {
        Some(p) => (p.detections, Some(p.landmarks)),
        None => (detect::detect(&gray, &profile.detection), None),
    };
    let main = detections.faces.first().copied();
    let persons = match main {
        Some(m) => detections
            .faces
            .iter()
            .filter(|f| f.w >= profile.detection.other_face_ratio * m.w)
            .count(),
        None => 0,
    };
    let mm = |px: f64| profile.px_to_mm(px, ah);
    let r = &profile.rules;
    let mut rules = Vec::with_capacity(24);
    let mut measures = Measures {
        detections: detections.faces.len(),
        persons,
        fine_pass: detections.fine_pass,
        ..Measures::default()
    };

    rules.push(RuleResult::measured(
        RuleId::Dimensions,
        frame.w / frame.h,
        &r.dimensions,
    ));
    rules.push(RuleResult::measured(
        RuleId::Resolution,
        frame.h.round(),
        &r.resolution,
    ));
    rules.push(face_count_rule(persons));

    let mut segmentation = None;
    let mut found_landmarks = None;
    let mut head = None;
    let mut head_report = None;
    if let Some(face) = main {
        let seg = geometry::segment(&image, &face);
        measures.segmentation_reliable = Some(seg.reliable);
        let fm = measure::face(&image, &gray, &face, profile.photo.reference_height_px);
        measures.face = fm;
        match fm {
            Some(fm) => rules.push(RuleResult::measured(RuleId::Colour, fm.chroma, &r.colour)),
            None => rules.push(RuleResult::unmeasured(
                RuleId::Colour,
                Some(&r.colour),
                "face too small",
            )),
        }
        // The mesh first: its chin point places the chin better than the edge search.
        let located = match prior_landmarks {
            Some(found) => found,
            None => landmarks::locate(&image, &face).map_err(|e| e.to_string()),
        };
        let mesh_chin = located
            .as_ref()
            .ok()
            .and_then(Option::as_ref)
            .map(|lm| lm.point(landmarks::idx::CHIN)[1]);
        let geom = if seg.reliable {
            geometry::head_geometry(&seg, &gray, &face, &profile.head).map(|g| match mesh_chin {
                Some(y) => g.with_mesh_chin(y, &face, &profile.head),
                None => g,
            })
        } else {
            None
        };
        head = geom;
        match geom {
            Some(g) => {
                let length_mm = mm(g.length());
                let width_mm = mm(g.width());
                let offset_mm = mm(g.centre_x - image.width() as f64 / 2.0);
                let top_ref = g.crown_y * profile.photo.reference_height_px as f64 / ah;
                rules.push(head_length_rule(
                    length_mm,
                    &r.head_length,
                    HeadEvidence {
                        crown_at_edge: g.crown_at_edge,
                        chin_from_edge: g.chin_from_edge,
                        face_box_mm: mm(face.h),
                    },
                ));
                rules.push(RuleResult::measured(
                    RuleId::HeadWidth,
                    width_mm,
                    &r.head_width,
                ));
                rules.push(centring_rule(
                    offset_mm.abs(),
                    &r.head_centring,
                    mm(face.centre_x() - image.width() as f64 / 2.0).abs(),
                ));
                rules.push(RuleResult::measured(
                    RuleId::TopMargin,
                    top_ref,
                    &r.top_margin,
                ));
                head_report = Some(HeadReport {
                    crown_y: round1(oy + g.crown_y * scale),
                    chin_y: round1(oy + g.chin_y * scale),
                    left_x: round1(ox + g.left_x * scale),
                    right_x: round1(ox + g.right_x * scale),
                    centre_x: round1(ox + g.centre_x * scale),
                    length_px: round1(g.length() * scale),
                    width_px: round1(g.width() * scale),
                    length_mm: round2(length_mm),
                    width_mm: round2(width_mm),
                    centre_offset_mm: round2(offset_mm),
                    top_margin_ref_px: round1(top_ref),
                    crown_at_edge: g.crown_at_edge,
                    chin_from_edge: g.chin_from_edge,
                    chin_from: g.chin_from,
                });
                let skin = located
                    .as_ref()
                    .ok()
                    .and_then(Option::as_ref)
                    .and_then(|lm| looks::skin_reference(&image, lm));
                measures.clothing_luma = measure::clothing(&image, &gray, &seg, &g, &face, skin);
            }
            None => {
                let why = "the head could not be separated from the background";
                for (id, l) in [
                    (RuleId::HeadLength, &r.head_length),
                    (RuleId::HeadWidth, &r.head_width),
                    (RuleId::HeadCentring, &r.head_centring),
                    (RuleId::TopMargin, &r.top_margin),
                ] {
                    rules.push(RuleResult::unmeasured(id, Some(l), why));
                }
            }
        }
        measures.background = measure::background(&image, &seg, &profile.background);
        segmentation = Some(seg);
        match located {
            Ok(Some(mut lm)) => {
                let seg = segmentation.as_ref().filter(|s| s.reliable);
                let crown_y = geom.map(|g| g.crown_y);
                let m = looks::measure(&image, &lm, crown_y, seg);
                run_deciding_models(&image, &mut lm, m, &mut measures, profile);
                measures.points = Some(FacePoints::from_landmarks(&lm, scale, (ox, oy)));
                measures.blendshapes = lm
                    .blendshapes
                    .as_ref()
                    .map(|b| by_name(&landmarks::blendshapes::NAMES, &b.0));
                measures.emotions = lm
                    .emotion
                    .as_ref()
                    .map(|p| by_name(&landmarks::models::EMOTIONS, p));
                found_landmarks = Some(lm);
            }
            Ok(None) => measures.looks_note = Some("the face mesh found no face features".into()),
            Err(e) => measures.looks_note = Some(e.to_string()),
        }
    } else {
        let why = "no face";
        for (id, l) in [
            (RuleId::Colour, &r.colour),
            (RuleId::HeadLength, &r.head_length),
            (RuleId::HeadWidth, &r.head_width),
            (RuleId::HeadCentring, &r.head_centring),
            (RuleId::TopMargin, &r.top_margin),
        ] {
            rules.push(RuleResult::unmeasured(id, Some(l), why));
        }
    }

    let background: [Reading<BackgroundMeasures>; 4] = [
        (RuleId::Background, &r.background, |m| m.delta_e_white),
        (
            RuleId::BackgroundUniformity,
            &r.background_uniformity,
            |m| m.luma_std,
        ),
        (RuleId::BackgroundClutter, &r.background_clutter, |m| {
            m.non_white_pct
        }),
        (RuleId::BackgroundShadow, &r.background_shadow, |m| {
            m.shadow_pct
        }),
    ];
    measured_rules(
        &mut rules,
        measures.background.as_ref(),
        &background,
        "too little background to measure",
    );
    let face: [Reading<FaceMeasures>; 5] = [
        (RuleId::Exposure, &r.exposure, |m| m.clipped_pct),
        (RuleId::Brightness, &r.brightness, |m| m.mean_luma),
        (RuleId::DynamicRange, &r.dynamic_range, |m| m.dynamic_range),
        (RuleId::Lighting, &r.lighting, |m| m.balance_pct),
        (RuleId::Sharpness, &r.sharpness, |m| m.sharpness),
    ];
    measured_rules(
        &mut rules,
        measures.face.as_ref(),
        &face,
        "no face to measure on",
    );
    match measures.clothing_luma {
        Some(v) => rules.push(RuleResult::measured(RuleId::Clothing, v, &r.clothing)),
        None => rules.push(RuleResult::unmeasured(
            RuleId::Clothing,
            Some(&r.clothing),
            "clothing not in the picture",
        )),
    }
    rules.push(recency_rule(
        &decoded.exif,
        ctx,
        &r.recency,
        profile.recency.require_date,
    ));
    rules.push(retouching_rule(&decoded.exif, &profile.retouching.editors));
    rules.extend(look_rules(&measures, profile));
    rules.extend(blocked_rules(&profile.attributes));

    let (decision, reasons) = rules::decide(&rules);
    let report = Report {
        decision,
        reasons,
        rules,
        faces: persons,
        face: main.map(|f| {
            let f = f.scaled(scale);
            FaceReport {
                x: (ox + f.x).round() as i64,
                y: (oy + f.y).round() as i64,
                w: f.w.round() as i64,
                h: f.h.round() as i64,
                score: round2(f.score),
            }
        }),
        width: decoded.width,
        height: decoded.height,
        timing_ms: elapsed_ms(started),
        profile: profile.name.clone(),
        format: Some(decoded.format),
        head: head_report,
        exif: decoded.exif.clone(),
        measures,
        not_checked: not_checked(&profile.attributes),
        framing: None,
        error: None,
    };
    let analysis = Analysis {
        image,
        scale,
        faces: detections.faces,
        segmentation,
        head,
        landmarks: found_landmarks,
        upload: None,
    };
    (report, analysis)
}

/// A model's scores keyed by their names, rounded as reported values are.
fn by_name(names: &[&str], scores: &[f64]) -> std::collections::BTreeMap<String, f64> {
    names
        .iter()
        .zip(scores)
        .map(|(n, &v)| ((*n).to_owned(), rules::round(v)))
        .collect()
}

/// Crown-to-chin length as a multiple of rustface's face box height: at least / at most (the box runs
/// from the brows to below the mouth; hair adds anything from nothing to a lot).
const HEAD_PER_FACE_BOX: (f64, f64) = (1.2, 2.2);

/// What besides its value decides how far the head length can be trusted.
#[derive(Debug, Clone, Copy)]
pub(crate) struct HeadEvidence {
    pub crown_at_edge: bool,
    pub chin_from_edge: bool,
    /// The face box height in mm: independent of the segmentation.
    pub face_box_mm: f64,
}

/// The head length judged against its limits, with what the geometry could not see made uncertain.
pub(crate) fn head_length_rule(length_mm: f64, limit: &Limit, e: HeadEvidence) -> RuleResult {
    let mut length = RuleResult::measured(RuleId::HeadLength, length_mm, limit);
    if e.crown_at_edge && length.status != Status::Fail {
        // The head may go on above the frame: the length is only a lower bound.
        length = uncertain(length, "top of the head is at the top edge");
    } else if !e.chin_from_edge && length.status == Status::Pass {
        length = uncertain(length, "no clear chin edge; chin placed from the face box");
    }
    // Rejecting on a segmentation alone would be a guess: the face box, which does not depend on it,
    // must agree that the head is far out of bounds.
    length.unusable &= e.face_box_mm * HEAD_PER_FACE_BOX.1 < limit.reject_below.unwrap_or(0.0)
        || e.face_box_mm * HEAD_PER_FACE_BOX.0 > limit.reject_above.unwrap_or(f64::INFINITY);
    length
}

/// The head's distance from the centre line judged against its limits; as with the length, only the
/// face box agreeing makes it a reason to reject.
pub(crate) fn centring_rule(offset_mm: f64, limit: &Limit, face_box_offset_mm: f64) -> RuleResult {
    let mut centring = RuleResult::measured(RuleId::HeadCentring, offset_mm, limit);
    centring.unusable &= face_box_offset_mm > limit.reject_above.unwrap_or(f64::INFINITY);
    centring
}

fn uncertain(mut r: RuleResult, note: &str) -> RuleResult {
    r.status = Status::Uncertain;
    r.unusable = false;
    r.note = Some(note.to_owned());
    r
}

/// The looks the engine cannot judge that the profile sends to a reviewer: each reported uncertain.
pub(crate) fn blocked_rules(
    attributes: &profile::Attributes,
) -> impl Iterator<Item = RuleResult> + '_ {
    RuleId::ALL
        .into_iter()
        .filter(|id| id.kind() == rules::Kind::NotChecked && attributes.block.contains(id))
        .map(|id| RuleResult::unmeasured(id, None, "not judged by this engine; a reviewer decides"))
}

/// The looks the engine cannot judge and the profile lets pass unseen, with their messages.
pub(crate) fn not_checked(attributes: &profile::Attributes) -> Vec<Reason> {
    RuleId::ALL
        .into_iter()
        .filter(|id| id.kind() == rules::Kind::NotChecked && !attributes.block.contains(id))
        .filter_map(|id| RuleResult::unmeasured(id, None, "not checked").reason())
        .collect()
}

/// Glare over the eyes beyond this share of the openings (%) hides them: eyewear cannot pass.
const MAX_EYE_GLARE_PCT: f64 = 3.0;

/// Every look rule judged from the measured looks (or unmeasured, with why).
pub(crate) fn look_rules<'a>(
    measures: &'a Measures,
    profile: &'a Profile,
) -> impl Iterator<Item = RuleResult> + 'a {
    RuleId::ALL
        .into_iter()
        .filter(|id| id.kind() == rules::Kind::Look)
        .map(|id| look_rule(id, measures, profile))
}

/// One look rule. The value judged is the one reported, so judging a report again gives the same.
pub(crate) fn look_rule(id: RuleId, measures: &Measures, profile: &Profile) -> RuleResult {
    let limit = profile
        .rules
        .get(id)
        .expect("every look has limits (profile type)");
    let Some(m) = measures.looks else {
        let why = if measures.face.is_none() && measures.background.is_none() {
            "no face"
        } else {
            measures
                .looks_note
                .as_deref()
                .unwrap_or("the face's features were not found")
        };
        return RuleResult::unmeasured(id, Some(limit), why);
    };
    let looks = &profile.looks;
    let value = match id {
        RuleId::EyesOpen => m.eye_aspect,
        RuleId::Gaze => m
            .gaze_x
            .zip(m.gaze_y)
            .map(|(x, y)| (x - looks.gaze_bias[0]).hypot(y - looks.gaze_bias[1])),
        RuleId::Pose => pose_value(&m, looks),
        RuleId::MouthClosed => m.mouth_gap,
        RuleId::Expression => m.expression_score,
        RuleId::Eyewear => m.eye_contrast,
        RuleId::Headwear => m.crown_hair_pct,
        RuleId::FaceCovering => m.lower_face_skin_pct,
        RuleId::HairOverFace => m.forehead_skin_pct,
        _ => None,
    };
    let Some(value) = value else {
        return RuleResult::unmeasured(id, Some(limit), "not measurable on this photo");
    };
    let mut r = RuleResult::measured(id, value, limit);
    let status_of = |rule: RuleId, v: Option<f64>| {
        let limit = profile.rules.get(rule).expect("every look has limits");
        v.map_or(Status::Uncertain, |v| {
            rules::judge(rules::round(v), limit).0
        })
    };
    let pose_status = status_of(RuleId::Pose, pose_value(&m, looks));
    use rules::Side::{High, Low};
    // The iris position is read from a few px: looking away is a question for a person, never a
    // reason to tell the applicant they failed.
    if id == RuleId::Gaze && r.status == Status::Fail {
        r = uncertain(r, "the eyes may be looking away");
        r.code = Some(rules::reason_code(id, Some(High)).into());
    }
    // No white around the iris tells of sunglasses only when the eyes also look dark: a small,
    // squinting or shadowed eye lacks contrast too, and a mirrored lens is light.
    if id == RuleId::Eyewear
        && r.status == Status::Fail
        && m.eye_luminance.is_none_or(|l| l >= looks.min_eye_lightness)
    {
        r = uncertain(
            r,
            "no white of the eye around the iris (small eyes or mirrored lenses?)",
        );
        r.code = Some(rules::reason_code(id, None).into());
    }
    // Without the second estimate the value is only the fit's floor: it can fail, never pass.
    if id == RuleId::Pose && r.status != Status::Fail && pose_net(&m).is_none() {
        r = uncertain(r, "the head pose has one estimate, not two");
        r.code = Some(rules::reason_code(id, None).into());
    }
    // Each gate below only ever lowers a pass: a look passes on positive evidence alone. The side
    // picks the reason code (`None`: the look could not be judged).
    let doubt = if r.status != Status::Pass {
        None
    } else if measures.persons != 1 {
        Some((
            "more than one person: whose looks these are cannot be told",
            None,
        ))
    } else if id != RuleId::Pose && pose_status == Status::Fail {
        // The mesh and the regions read from it assume a face turned to the camera.
        Some((
            "the head is turned: the face cannot be judged on this photo",
            None,
        ))
    } else {
        match id {
            // The iris is read in the eye, so a turned head looking ahead keeps it centred.
            RuleId::Gaze if pose_status != Status::Pass => Some((
                "the head is not frontal: the gaze cannot be told",
                Some(High),
            )),
            // A nodded head shows the top of the head in the band above the forehead, where a cap
            // sits foreshortened: a hat is told from hair on a frontal head only.
            // The blendshapes and the emotion classifier read a mouth and brows turned to the
            // camera: a frown or a press on a turned head reads as nothing.
            RuleId::Expression if pose_status != Status::Pass => Some((
                "the head is not frontal: the expression cannot be told",
                None,
            )),
            RuleId::Headwear if pose_status != Status::Pass => {
                Some(("the head is not frontal: its top cannot be judged", None))
            }
            RuleId::EyesOpen if m.blink.is_none_or(|b| b > looks.max_blink) => {
                Some(("the eyelids look lowered (blink score)", Some(Low)))
            }
            RuleId::MouthClosed if m.jaw_open.is_none_or(|j| j > looks.max_jaw_open) => {
                Some(("the jaw looks open", Some(High)))
            }
            RuleId::Expression if status_of(RuleId::MouthClosed, m.mouth_gap) != Status::Pass => {
                Some(("the mouth is not closed", Some(High)))
            }
            RuleId::Expression if m.emotion_happy.is_none_or(|p| p > looks.max_emotion_happy) => {
                Some(("the emotion classifier reads a smile", Some(High)))
            }
            RuleId::Eyewear if m.eye_glare_pct.is_some_and(|g| g > MAX_EYE_GLARE_PCT) => {
                Some(("glare over the eyes", Some(High)))
            }
            RuleId::Eyewear if m.eye_luminance.is_none_or(|l| l < looks.min_eye_lightness) => {
                Some(("the eyes look dark (tinted lenses?)", Some(Low)))
            }
            _ => None,
        }
    };
    if let Some((why, side)) = doubt {
        r = uncertain(r, why);
        r.code = Some(rules::reason_code(id, side).into());
    }
    r
}

/// The pose as a share of its limits: for each of yaw, pitch and roll, the larger of the two
/// estimates (offsets removed) plus their disagreement, over the angle's limit; the worst angle.
/// Below 1 both estimates lie inside every limit by more than they disagree. `None` unless both
/// estimates were made.
pub(crate) fn pose_value(m: &LookMeasures, looks: &profile::Looks) -> Option<f64> {
    let fit = [m.yaw?, m.pitch?, m.roll?];
    let net = pose_net(m);
    (0..3)
        .map(|k| {
            let a = fit[k] - looks.pose_offset[k];
            let worst = match net {
                Some(net) => {
                    let b = net[k] - looks.pose_net_offset[k];
                    a.abs().max(b.abs()) + (a - b).abs()
                }
                // The second estimate was not made: the fit alone is a floor of the value.
                None => a.abs(),
            };
            worst / looks.pose_limits[k].max(1e-6)
        })
        .reduce(f64::max)
}

fn pose_net(m: &LookMeasures) -> Option<[f64; 3]> {
    Some([m.net_yaw?, m.net_pitch?, m.net_roll?])
}

/// Runs the two face models that only confirm a look, 3DDFA's head pose and the emotion
/// classifier, where their answer can change that look's judgement, and leaves the looks measured
/// in `measures`. Neither can change it when the look cannot pass on the rest of the evidence: the
/// fitted pose alone beyond the fail bound fails the pose whatever the second estimate says (the
/// judged value is at least the fit's angle), and the emotion vote is the expression's last gate.
/// What was not run is named in `measures.models_not_run`; judging the report again gives the same.
/// `m`: the looks measured from `lm` as it comes.
fn run_deciding_models(
    image: &RgbImage,
    lm: &mut Landmarks,
    mut m: LookMeasures,
    measures: &mut Measures,
    profile: &Profile,
) {
    let pose_limit = profile
        .rules
        .get(RuleId::Pose)
        .expect("every look has limits");
    let fit_fails = || {
        pose_value(&m, &profile.looks)
            .is_some_and(|v| rules::judge(rules::round(v), pose_limit).0 == Status::Fail)
    };
    if lm.pose_net.is_some() {
        // Already run (a framed photo's landmarks are its upload's).
    } else if fit_fails() {
        measures.models_not_run.insert(
            "head pose (3DDFA)".into(),
            "the fitted head pose alone is beyond the pose limit".into(),
        );
    } else {
        match lm.estimate_pose_net(image) {
            // Only the net's angles change: the pixel measures are not taken again.
            Ok(()) => {
                let net = lm.pose_net;
                m.net_yaw = net.map(|p| p.yaw);
                m.net_pitch = net.map(|p| p.pitch);
                m.net_roll = net.map(|p| p.roll);
            }
            Err(e) => measures.looks_note = Some(e.to_string()),
        }
    }
    // The expression as it would be judged with the emotion classifier voting neutral.
    measures.looks = Some(LookMeasures {
        emotion_happy: Some(0.0),
        ..m
    });
    if lm.emotion.is_some() {
        m.emotion_happy = looks::emotion_happy(lm);
    } else if look_rule(RuleId::Expression, measures, profile).status == Status::Pass {
        match lm.classify_emotion(image) {
            Ok(()) => m.emotion_happy = looks::emotion_happy(lm),
            Err(e) => measures.looks_note = Some(e.to_string()),
        }
    } else {
        measures.models_not_run.insert(
            "emotion".into(),
            "the expression cannot pass on the other evidence".into(),
        );
    }
    measures.looks = Some(m);
}

/// One person: pass. None, or several people of comparable size: unusable beyond doubt.
fn face_count_rule(persons: usize) -> RuleResult {
    let status = if persons == 1 {
        Status::Pass
    } else {
        Status::Fail
    };
    let side = (persons > 1)
        .then_some(rules::Side::High)
        .or((persons == 0).then_some(rules::Side::Low));
    RuleResult {
        rule: RuleId::FaceCount,
        status,
        value: Some(persons as f64),
        unit: RuleId::FaceCount.unit().into(),
        min: Some(1.0),
        max: Some(1.0),
        unusable: persons != 1,
        code: (persons != 1).then(|| rules::reason_code(RuleId::FaceCount, side).to_owned()),
        note: None,
    }
}

/// A rule measured by reading one field of a measures struct.
type Reading<'a, M> = (RuleId, &'a Limit, fn(&M) -> f64);

/// Judges each reading, or reports every one unmeasured (with `missing`) when there are no measures.
fn measured_rules<M>(
    rules: &mut Vec<RuleResult>,
    m: Option<&M>,
    readings: &[Reading<'_, M>],
    missing: &str,
) {
    for (id, limit, read) in readings {
        rules.push(match m {
            Some(m) => RuleResult::measured(*id, read(m), limit),
            None => RuleResult::unmeasured(*id, Some(limit), missing),
        });
    }
}

/// The photo's age. A camera upload was taken in the app just now; an album (or stored) photo is
/// judged by its EXIF capture date: too old fails, a date in the future is doubtful, and a missing
/// date passes with a note unless the profile requires the date.
pub(crate) fn recency_rule(
    exif: &ExifFacts,
    ctx: &Context,
    limit: &Limit,
    require_date: bool,
) -> RuleResult {
    let pass_with = |note: &str| RuleResult {
        rule: RuleId::Recency,
        status: Status::Pass,
        value: None,
        unit: RuleId::Recency.unit().into(),
        min: limit.min,
        max: limit.max,
        unusable: false,
        code: None,
        note: Some(note.to_owned()),
    };
    if ctx.channel == Channel::Camera {
        return pass_with("taken with the app's camera during the application");
    }
    let Some(captured) = exif.captured else {
        if require_date {
            return RuleResult::unmeasured(RuleId::Recency, Some(limit), "no EXIF capture date");
        }
        return pass_with("no EXIF capture date: the age could not be checked");
    };
    let days = (ctx.today - captured.date()).num_days();
    if days < -1 {
        return RuleResult::unmeasured(
            RuleId::Recency,
            Some(limit),
            "EXIF capture date is in the future",
        );
    }
    RuleResult::measured(RuleId::Recency, days.max(0) as f64, limit)
}

pub(crate) fn retouching_rule(exif: &ExifFacts, editors: &[String]) -> RuleResult {
    let software = exif.software.as_deref().unwrap_or("");
    let lower = software.to_lowercase();
    let edited = !software.is_empty() && editors.iter().any(|e| lower.contains(&e.to_lowercase()));
    RuleResult {
        rule: RuleId::Retouching,
        status: if edited { Status::Fail } else { Status::Pass },
        value: Some(if edited { 1.0 } else { 0.0 }),
        unit: RuleId::Retouching.unit().into(),
        min: None,
        max: Some(0.0),
        unusable: false,
        code: edited.then(|| rules::reason_code(RuleId::Retouching, None).to_owned()),
        note: (!software.is_empty()).then(|| software.to_owned()),
    }
}

fn unreadable(e: &IntakeError, profile: &Profile, started: Instant) -> Report {
    let (en, zh) = e.messages();
    let mut report =
        Report::not_checked(Decision::Reject, e.code(), en, zh, e.to_string(), profile);
    report.timing_ms = elapsed_ms(started);
    report
}

/// The message of a caught panic (libjpeg errors arrive this way too), for an error report.
pub fn panic_message(cause: &(dyn std::any::Any + Send)) -> String {
    cause
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| cause.downcast_ref::<&str>().map(|s| (*s).to_owned()))
        .unwrap_or_else(|| "unknown error".into())
}

fn elapsed_ms(started: Instant) -> f64 {
    (started.elapsed().as_secs_f64() * 1e5).round() / 100.0
}

fn round1(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}

fn round2(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Looks of a frontal, neutral face with open eyes and no eyewear, hat or mask: every look
    /// passes under the shipped profile, so each gate below is seen to lower a pass.
    fn neutral_face() -> Measures {
        Measures {
            persons: 1,
            looks: Some(LookMeasures {
                eye_aspect: Some(0.3),
                gaze_x: Some(0.0),
                gaze_y: Some(-0.08),
                yaw: Some(0.5),
                pitch: Some(-2.0),
                roll: Some(0.5),
                net_yaw: Some(0.0),
                net_pitch: Some(-1.0),
                net_roll: Some(0.5),
                mouth_gap: Some(0.01),
                expression_score: Some(0.02),
                blink: Some(0.1),
                jaw_open: Some(0.01),
                emotion_happy: Some(0.01),
                eye_luminance: Some(0.7),
                eye_glare_pct: Some(0.0),
                eye_contrast: Some(0.4),
                crown_hair_pct: Some(99.0),
                lower_face_skin_pct: Some(100.0),
                forehead_skin_pct: Some(100.0),
            }),
            ..Measures::default()
        }
    }

    fn look_statuses(m: &Measures) -> Vec<(RuleId, Status)> {
        look_rules(m, &Profile::default_profile())
            .map(|r| (r.rule, r.status))
            .collect()
    }

    #[test]
    fn a_look_passes_only_for_one_person_on_a_head_that_is_not_turned() {
        let ok = neutral_face();
        assert!(look_statuses(&ok).iter().all(|(_, s)| *s == Status::Pass));

        let two = Measures {
            persons: 2,
            ..ok.clone()
        };
        assert!(look_statuses(&two)
            .iter()
            .all(|(_, s)| *s == Status::Uncertain));

        // Turned 20 degrees: the pose fails and nothing else read from the mesh passes.
        let mut turned = ok.clone();
        turned.looks.as_mut().unwrap().yaw = Some(20.0);
        for (id, s) in look_statuses(&turned) {
            let want = if id == RuleId::Pose {
                Status::Fail
            } else {
                Status::Uncertain
            };
            assert_eq!(s, want, "{id:?}");
        }
        // Turned 3.5 degrees by both estimates: the pose is uncertain, and so is the gaze (read
        // within the eye).
        let mut slightly = ok.clone();
        let l = slightly.looks.as_mut().unwrap();
        (l.yaw, l.net_yaw) = (Some(3.5), Some(3.5));
        let st = look_statuses(&slightly);
        assert!(st.contains(&(RuleId::Gaze, Status::Uncertain)), "{st:?}");
        assert!(st.contains(&(RuleId::EyesOpen, Status::Pass)), "{st:?}");
    }

    #[test]
    fn each_look_needs_all_its_evidence_to_pass() {
        let with = |f: fn(&mut LookMeasures)| {
            let mut m = neutral_face();
            f(m.looks.as_mut().unwrap());
            look_statuses(&m)
                .into_iter()
                .collect::<std::collections::HashMap<_, _>>()
        };
        // A smile the blendshapes see, and one only the emotion classifier sees.
        assert_eq!(
            with(|l| l.expression_score = Some(0.7))[&RuleId::Expression],
            Status::Fail
        );
        assert_eq!(
            with(|l| l.emotion_happy = Some(0.8))[&RuleId::Expression],
            Status::Uncertain
        );
        // A small lip gap with the jaw dropped, and open-looking eyes the blink score calls shut.
        assert_eq!(
            with(|l| l.jaw_open = Some(0.5))[&RuleId::MouthClosed],
            Status::Uncertain
        );
        assert_eq!(
            with(|l| l.blink = Some(0.9))[&RuleId::EyesOpen],
            Status::Uncertain
        );
        // The two pose estimates disagree by more than the room left inside the yaw limit.
        assert_eq!(
            with(|l| (l.yaw, l.net_yaw) = (Some(4.0), Some(0.0)))[&RuleId::Pose],
            Status::Fail
        );
        // Without the second estimate the pose is not judged.
        assert_eq!(with(|l| l.net_yaw = None)[&RuleId::Pose], Status::Uncertain);
        // A neutral width with parted lips is not a neutral expression either.
        assert_eq!(
            with(|l| l.mouth_gap = Some(0.05))[&RuleId::Expression],
            Status::Uncertain
        );
        // Sunglasses: no white around the iris, dark openings.
        let dark = with(|l| (l.eye_contrast, l.eye_luminance) = (Some(0.0), Some(0.2)));
        assert_eq!(dark[&RuleId::Eyewear], Status::Fail);
        // Mirrored lenses: no contrast but light: never a pass, never a "take off sunglasses" fail.
        let mirrored = with(|l| (l.eye_contrast, l.eye_luminance) = (Some(0.0), Some(1.2)));
        assert_eq!(mirrored[&RuleId::Eyewear], Status::Uncertain);
        // Contrast without light openings (tinted lenses over visible eyes).
        assert_eq!(
            with(|l| l.eye_luminance = Some(0.4))[&RuleId::Eyewear],
            Status::Uncertain
        );
        // A nodded head: the band above the forehead shows the top of the head.
        assert_eq!(
            with(|l| (l.pitch, l.net_pitch) = (Some(-10.0), Some(-10.5)))[&RuleId::Headwear],
            Status::Uncertain
        );
        // Unmeasured contrast is no evidence.
        assert_eq!(
            with(|l| l.eye_contrast = None)[&RuleId::Eyewear],
            Status::Uncertain
        );
    }

    #[test]
    fn every_reason_a_gate_gives_reads_in_chinese() {
        let profile = Profile::default_profile();
        let mut variants: Vec<fn(&mut LookMeasures)> = vec![
            |l| l.yaw = Some(3.5),
            |l| (l.yaw, l.net_yaw) = (Some(20.0), Some(20.0)),
            |l| l.blink = Some(0.9),
            |l| l.jaw_open = Some(0.9),
            |l| l.emotion_happy = Some(0.9),
            |l| l.mouth_gap = Some(0.05),
            |l| l.eye_glare_pct = Some(10.0),
            |l| l.eye_luminance = Some(0.3),
        ];
        variants.push(|l| (l.pitch, l.net_pitch) = (Some(-10.0), Some(-10.5)));
        for change in variants {
            let mut m = neutral_face();
            change(m.looks.as_mut().unwrap());
            for r in look_rules(&m, &profile) {
                if let Some(note) = &r.note {
                    assert!(
                        messages::note_zh(note).is_some(),
                        "{:?}: no Chinese for {note:?}",
                        r.rule
                    );
                }
            }
        }
    }

    fn ctx() -> Context {
        Context::on(NaiveDate::from_ymd_opt(2026, 11, 21).expect("valid date"))
    }

    fn exif(taken: Option<&str>, software: Option<&str>) -> ExifFacts {
        ExifFacts {
            captured: taken
                .map(|t| chrono::NaiveDateTime::parse_from_str(t, "%Y-%m-%d %H:%M").expect("date")),
            software: software.map(str::to_owned),
            ..ExifFacts::default()
        }
    }

    #[test]
    fn photo_age_is_judged_from_the_capture_date() {
        let limit = Profile::default_profile().rules.recency;
        let age = |taken, require| recency_rule(&exif(taken, None), &ctx(), &limit, require);
        let r = age(Some("2026-10-01 10:00"), false);
        assert_eq!((r.status, r.value), (Status::Pass, Some(51.0)));
        let r = age(Some("2026-01-02 10:00"), false);
        assert_eq!(
            (r.status, r.code.as_deref()),
            (Status::Fail, Some("photo-too-old"))
        );
        let r = age(Some("2026-05-25 10:00"), false);
        assert_eq!(
            r.status,
            Status::Uncertain,
            "180 days is within the margin of 183"
        );
        // No date: reported, and it blocks only where the profile requires the date.
        let r = age(None, false);
        assert_eq!((r.status, r.value), (Status::Pass, None));
        assert!(r.note.as_deref().is_some_and(|n| n.contains("no EXIF")));
        let r = age(None, true);
        assert_eq!(
            (r.status, r.code.as_deref()),
            (Status::Uncertain, Some("capture-date-unknown"))
        );
        let r = age(Some("2027-03-01 10:00"), false);
        assert_eq!(
            r.status,
            Status::Uncertain,
            "a date in the future proves nothing"
        );
    }

    #[test]
    fn a_camera_upload_is_recent_whatever_its_exif_says() {
        let limit = Profile::default_profile().rules.recency;
        let camera = ctx().via(Channel::Camera);
        for taken in [None, Some("2020-01-01 10:00"), Some("2027-03-01 10:00")] {
            let r = recency_rule(&exif(taken, None), &camera, &limit, true);
            assert_eq!(r.status, Status::Pass, "{taken:?}");
        }
        let stored = ctx().via(Channel::Stored);
        let r = recency_rule(
            &exif(Some("2020-01-01 10:00"), None),
            &stored,
            &limit,
            false,
        );
        assert_eq!(
            r.status,
            Status::Fail,
            "a stored photo is judged by its date"
        );
    }

    #[test]
    fn editing_software_is_a_retouching_trace() {
        let editors = Profile::default_profile().retouching.editors;
        let r = retouching_rule(
            &exif(None, Some("Adobe Photoshop 25.0 (Windows)")),
            &editors,
        );
        assert_eq!(
            (r.status, r.code.as_deref()),
            (Status::Fail, Some("edited-with-software"))
        );
        assert!(r
            .reason()
            .expect("a reason")
            .message_zh
            .contains("Photoshop"));
        assert_eq!(
            retouching_rule(&exif(None, Some("美图秀秀")), &editors).status,
            Status::Fail
        );
        assert_eq!(
            retouching_rule(&exif(None, Some("HDR+ 1.0.540104767zd")), &editors).status,
            Status::Pass
        );
        assert_eq!(
            retouching_rule(&exif(None, None), &editors).status,
            Status::Pass
        );
    }

    #[test]
    fn exif_facts_reach_the_report() {
        let img = image::RgbImage::from_pixel(260, 378, image::Rgb([250, 250, 250]));
        let bytes = photocheck_synth::jpeg_with_exif(
            &img,
            photocheck_synth::ExifTags {
                orientation: 1,
                software: "Meitu 9.0",
                taken: "2025:12:01 09:00:00",
            },
        )
        .unwrap();
        let report = check(&bytes, &Profile::default_profile(), &ctx());
        assert_eq!(report.exif.software.as_deref(), Some("Meitu 9.0"));
        assert_eq!(
            report.rule(RuleId::Retouching).map(|r| r.status),
            Some(Status::Fail)
        );
        assert_eq!(
            report.rule(RuleId::Recency).map(|r| r.value),
            Some(Some(355.0))
        );
        assert_eq!(
            report.decision,
            Decision::Reject,
            "a blank frame has no face"
        );
    }
}
