//! `samples build`: a labelled set derived from labelled source portraits. Each source with
//! ground-truth crown, chin and centre is framed as an archive photo and then changed in one known
//! way (head size, position, background, exposure, sharpness, colour, shape, orientation, EXIF), so
//! every derived photo's label follows from its source's label and what was done: exact by
//! construction, never judged by the engine it is meant to test.

use std::cell::OnceCell;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use chrono::{Days, NaiveDate};
use image::{imageops, GrayImage, ImageError, RgbImage};
use photocheck_core::profile::Intake as IntakeLimits;
use photocheck_core::{IntakeError, Profile, RuleId};
use photocheck_synth::{self as derive, ExifTags, Framing, HeadRows};
use rayon::prelude::*;

use crate::set::{Label, Sample, SampleSet, SetError, SetInfo};

/// The Software tag of every derived photo: not an editor's name, so no retouching trace.
pub const SOFTWARE: &str = "photocheck samples build";
/// The Software tag of the `retouched` photos: a beautifying app on the profile's editor list.
pub const EDITOR: &str = "Meitu";
/// Age of the `old` photos, days before today: past the six months allowed.
pub const OLD_DAYS: u64 = 200;
/// A white band past the source's bottom edge beyond this share of the frame's height keeps a
/// derived photo from being labelled compliant.
const MAX_BOTTOM_BAND: f64 = 0.03;
/// The regulation's limit on a photo's age, days (six months).
const MAX_AGE_DAYS: u64 = 183;

/// Rules a derived photo's framing and EXIF decide afresh, whatever the source broke.
const RESET: [RuleId; 8] = [
    RuleId::Dimensions,
    RuleId::Resolution,
    RuleId::HeadLength,
    RuleId::HeadWidth,
    RuleId::HeadCentring,
    RuleId::TopMargin,
    RuleId::Recency,
    RuleId::Retouching,
];

/// Rules a source breaks for a reason the frame may crop away (another person, objects or a shadow
/// at the side): unjudged in the derived photos rather than assumed still broken.
const CROPPABLE: [RuleId; 4] = [
    RuleId::FaceCount,
    RuleId::BackgroundClutter,
    RuleId::BackgroundShadow,
    RuleId::BackgroundUniformity,
];

/// What a transformation does after framing.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Edit {
    /// Nothing: the framing is the point.
    FrameOnly,
    /// The frame widened to 3:4, the head framed as in `ok`.
    Widen,
    /// A phone camera's frame of this size (3:4), the framing in its own 32 mm-tall units.
    Phone(u32, u32),
    /// The background repainted this colour.
    Recolour([u8; 3]),
    /// The background darkened by a ramp to this share at the right edge.
    Shade(f64),
    /// Every channel multiplied by this (exposure).
    Gain(f64),
    /// Gaussian blur, sigma as a share of the height.
    Blur(f64),
    Desaturate,
    /// Resized to this size.
    Shrink(u32, u32),
    SecondFace,
    RotatedNoExif,
    RotatedExif,
    Old,
    Retouched,
}

/// One way of deriving a photo, with what it does to the label.
#[derive(Debug, Clone, Copy)]
pub struct Transform {
    /// Kebab-case, the suffix of the derived file names and the value `--only` takes.
    pub name: &'static str,
    framing: Framing,
    edit: Edit,
    /// Rules the derived photo breaks because of this transformation.
    pub breaks: &'static [RuleId],
    /// Rules it changes by an amount the ground truth cannot tell: left unjudged.
    pub unjudged: &'static [RuleId],
}

const fn t(
    name: &'static str,
    framing: Framing,
    edit: Edit,
    breaks: &'static [RuleId],
    unjudged: &'static [RuleId],
) -> Transform {
    Transform {
        name,
        framing,
        edit,
        breaks,
        unjudged,
    }
}

const OK: Framing = Framing::centred(20.5);

/// The `ok` framing with another head length (named apart from `RuleId::Framing`, which the
/// table below brings into scope).
const fn head(head_mm: f64) -> Framing {
    Framing::centred(head_mm)
}

/// The `ok` framing with the head off centre.
const fn off(offset_mm: f64) -> Framing {
    Framing { offset_mm, ..OK }
}

/// The `ok` framing with the crown elsewhere.
const fn crown(crown_ref_px: f64) -> Framing {
    Framing { crown_ref_px, ..OK }
}

/// A phone camera's portrait frame: 3:4, the head `share` of its height with the crown `crown` of
/// it below the top, the bust down to the bottom edge.
const fn phone(share: f64, crown: f64) -> Framing {
    Framing {
        head_mm: share * 32.0,
        crown_ref_px: crown * 378.0,
        offset_mm: 0.0,
    }
}
/// A 3:4 phone frame (a 12 MP camera's proportions at a size the sources can fill).
const PHONE: Edit = Edit::Phone(900, 1200);
/// What an unfixable phone frame breaks: it is not the licence photo's shape, and no crop makes it one.
const UNFRAMABLE: &[RuleId] = &[RuleId::Dimensions, RuleId::Framing];
/// The head rules of an unfixable phone frame are measured on the whole frame, where they fail by
/// amounts its framing decides; what it is labelled for is the framing.
const PHONE_HEAD: &[RuleId] = &[
    RuleId::HeadLength,
    RuleId::HeadWidth,
    RuleId::HeadCentring,
    RuleId::TopMargin,
    RuleId::Clothing,
];
const BACKGROUND_RULES: &[RuleId] = &[
    RuleId::Background,
    RuleId::BackgroundUniformity,
    RuleId::BackgroundClutter,
    RuleId::BackgroundShadow,
];

/// Every transformation, in the order photos are written and labelled.
pub const TRANSFORMS: &[Transform] = {
    use Edit::*;
    use RuleId::*;
    &[
        t("ok", OK, FrameOnly, &[], &[]),
        // Small heads at the archive size: a crop with the head at the licence size would have to be
        // upscaled, so nothing can fix them (at twice the size a crop would).
        t(
            "head-17.0mm",
            head(17.0),
            Shrink(260, 378),
            &[HeadLength],
            &[],
        ),
        t(
            "head-18.4mm",
            head(18.4),
            Shrink(260, 378),
            &[HeadLength],
            &[],
        ),
        t("head-19.6mm", head(19.6), FrameOnly, &[], &[]),
        t("head-21.4mm", head(21.4), FrameOnly, &[], &[]),
        t("head-22.6mm", head(22.6), FrameOnly, &[HeadLength], &[]),
        t("head-24.0mm", head(24.0), FrameOnly, &[HeadLength], &[]),
        t("off-centre-3mm", off(3.0), FrameOnly, &[HeadCentring], &[]),
        t("off-centre-0.4mm", off(0.4), FrameOnly, &[], &[]),
        t("moved-down", crown(45.0), FrameOnly, &[TopMargin], &[]),
        // The crown above the frame: the whole head is not in the photo, so its length is not either.
        t(
            "crown-cut",
            crown(-12.0),
            FrameOnly,
            &[TopMargin, HeadLength],
            &[],
        ),
        // A plain coloured wall is "not white" everywhere, which the clutter measure counts; whether
        // that is clutter is not what these photos are for.
        t(
            "bg-tint-blue",
            OK,
            Recolour([170, 200, 240]),
            &[Background],
            &[BackgroundClutter],
        ),
        t(
            "bg-grey",
            OK,
            Recolour([185, 185, 185]),
            &[Background],
            &[BackgroundClutter],
        ),
        // A shadow ramp is also an uneven background; how far its mean drifts from white depends on
        // how much wall the person leaves.
        t(
            "bg-shade",
            OK,
            Shade(0.35),
            &[BackgroundShadow, BackgroundUniformity],
            &[Background],
        ),
        // Clipping moves the face's brightness, contrast and the clothing by amounts that depend on
        // the source; only the clipped highlights are certain.
        t(
            "overexposed",
            OK,
            Gain(1.7),
            &[Exposure],
            &[Brightness, DynamicRange, Lighting, Clothing],
        ),
        // The white wall is recorded grey too; whether that is the wall's fault is not the point.
        t(
            "underexposed",
            OK,
            Gain(0.35),
            &[Brightness],
            &[Background, BackgroundClutter, DynamicRange, Clothing],
        ),
        t("blurred", OK, Blur(0.006), &[Sharpness], &[]),
        t("desaturated", OK, Desaturate, &[Colour], &[]),
        // A compliant portrait in a wider frame: framing crops it back, so it is compliant.
        t("wrong-aspect", OK, Widen, &[], &[]),
        // Phone camera frames of compliant portraits: framing cuts the licence photo out of them.
        t("phone-head-25pct", phone(0.25, 0.15), PHONE, &[], &[]),
        t("phone-head-33pct", phone(0.33, 0.12), PHONE, &[], &[]),
        t("phone-head-40pct", phone(0.40, 0.10), PHONE, &[], &[]),
        // And those no crop can fix: the crown at the top edge (no room above the head), the frame
        // ending just below the chin (no shoulders), and a frame with too few pixels for the crop.
        t(
            "phone-crown-at-top",
            phone(0.33, 0.003),
            PHONE,
            UNFRAMABLE,
            PHONE_HEAD,
        ),
        t(
            "phone-cut-shoulders",
            phone(0.40, 0.46),
            PHONE,
            UNFRAMABLE,
            PHONE_HEAD,
        ),
        t(
            "phone-too-few-pixels",
            phone(0.33, 0.12),
            Phone(240, 320),
            &[Dimensions, Framing, Resolution],
            PHONE_HEAD,
        ),
        t("too-small", OK, Shrink(130, 189), &[Resolution], &[]),
        // The pasted head stands on what was background.
        t(
            "second-face",
            OK,
            SecondFace,
            &[FaceCount],
            BACKGROUND_RULES,
        ),
        // Sideways as stored: there is no upright head geometry to compare with.
        t(
            "rotated-no-exif",
            OK,
            RotatedNoExif,
            &[Dimensions],
            &[HeadLength, HeadCentring, TopMargin],
        ),
        t("rotated-exif", OK, RotatedExif, &[], &[]),
        t("old", OK, Old, &[Recency], &[]),
        t("retouched", OK, Retouched, &[Retouching], &[]),
    ]
};

/// Looks a transformation up by name.
pub fn transform(name: &str) -> Option<&'static Transform> {
    TRANSFORMS.iter().find(|t| t.name == name)
}

#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error(transparent)]
    Set(#[from] SetError),
    #[error("{path}: cannot read the source photo: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: cannot decode the source photo: {source}")]
    Decode { path: PathBuf, source: IntakeError },
    #[error("{path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: cannot encode: {source}")]
    Encode { path: PathBuf, source: ImageError },
    #[error("{path} is not empty: a built set goes into a new or empty folder, never mixed with an earlier one")]
    OutNotEmpty { path: PathBuf },
    #[error("unknown transformation {name:?}; known: {known}")]
    UnknownTransform { name: String, known: String },
    #[error("sources {first} and {second} would both be written as {stem}__*.jpg")]
    SameStem {
        stem: String,
        first: String,
        second: String,
    },
    #[error("{0}")]
    Options(String),
}

/// How to build.
#[derive(Debug, Clone)]
pub struct BuildOptions {
    /// The folder to create (or fill, when empty).
    pub out: PathBuf,
    /// The set's name; the out folder's name when not given.
    pub name: Option<String>,
    /// Output size of the framed photos, px (width, height): 22:32 and at least 378 px tall.
    pub size: (u32, u32),
    /// DateTimeOriginal of the derived photos (except `old`).
    pub taken: NaiveDate,
    /// The day the set is for: `old` is dated `OLD_DAYS` before it.
    pub today: NaiveDate,
    /// Transformations to make, by name; all when `None`.
    pub only: Option<Vec<String>>,
    /// Decoding limits for the source photos.
    pub intake: IntakeLimits,
}

impl BuildOptions {
    /// The defaults: 520 x 756 (twice the archive, a plausible upload), taken 30 days before
    /// `today`, every transformation.
    pub fn new(out: PathBuf, today: NaiveDate) -> BuildOptions {
        BuildOptions {
            out,
            name: None,
            size: (520, 756),
            taken: today - Days::new(30),
            today,
            only: None,
            intake: Profile::default_profile().intake,
        }
    }
}

/// What one transformation produced.
#[derive(Debug, Clone, PartialEq)]
pub struct TransformSummary {
    pub name: &'static str,
    pub written: usize,
    /// Sources it was not applied to: (source file, why).
    pub skipped: Vec<(String, String)>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct BuildSummary {
    /// Sources used (those with ground-truth geometry).
    pub sources: usize,
    /// Sources left out because their labels give no crown_y, chin_y and centre_x.
    pub without_geometry: Vec<String>,
    /// Per requested transformation, in table order.
    pub transforms: Vec<TransformSummary>,
    /// Photos written, and how many of them are labelled compliant.
    pub photos: usize,
    pub compliant: usize,
}

/// A source portrait with its ground truth.
struct Source<'a> {
    sample: &'a Sample,
    stem: String,
    head: HeadRows,
}

/// The outcome of one transformation of one source.
enum Made {
    Written(Sample),
    Skipped(String),
}

/// Builds the set into `options.out`: the photos, labels.csv and set.toml. `progress(done, total)`
/// is called from the worker threads after each photo is made or skipped.
pub fn build(
    from: &SampleSet,
    options: &BuildOptions,
    progress: impl Fn(usize, usize) + Sync,
) -> Result<BuildSummary, BuildError> {
    let transforms = requested(options.only.as_deref())?;
    check_options(options)?;
    let (sources, without_geometry) = sources(from)?;
    prepare_out(&options.out)?;

    let total = sources.len() * transforms.len();
    let done = AtomicUsize::new(0);
    let made: Vec<Vec<Made>> = (0..sources.len())
        .into_par_iter()
        .map(|i| {
            let next = (sources.len() > 1).then(|| &sources[(i + 1) % sources.len()]);
            derive_source(&sources[i], next, &transforms, options, &|| {
                progress(done.fetch_add(1, Ordering::Relaxed) + 1, total)
            })
        })
        .collect::<Result<_, _>>()?;

    let mut summary = BuildSummary {
        sources: sources.len(),
        without_geometry,
        transforms: transforms
            .iter()
            .map(|t| TransformSummary {
                name: t.name,
                written: 0,
                skipped: Vec::new(),
            })
            .collect(),
        photos: 0,
        compliant: 0,
    };
    let mut samples = Vec::new();
    for (source, outcomes) in sources.iter().zip(made) {
        for (k, outcome) in outcomes.into_iter().enumerate() {
            let counts = &mut summary.transforms[k];
            match outcome {
                Made::Written(sample) => {
                    counts.written += 1;
                    summary.photos += 1;
                    summary.compliant += usize::from(sample.label.compliant);
                    samples.push(sample);
                }
                Made::Skipped(why) => counts.skipped.push((source.sample.file.clone(), why)),
            }
        }
    }
    let info = SetInfo {
        name: options
            .name
            .clone()
            .unwrap_or_else(|| folder_name(&options.out)),
        description: format!(
            "Derived by photocheck samples build on {} from {} ({} of its photos with ground-truth \
             geometry); photos {} x {}, taken {}; transformations: {}.",
            options.today,
            from.dir.display(),
            sources.len(),
            options.size.0,
            options.size.1,
            options.taken,
            transforms
                .iter()
                .map(|t| t.name)
                .collect::<Vec<_>>()
                .join(", ")
        ),
        photos: Some(PathBuf::from(".")),
        // The derived labels carry the source's unjudged rules row by row.
        judged: None,
        // Album photos: each carries its EXIF capture date (`taken`).
        channel: None,
    };
    SampleSet::write_labels(&options.out, &info, &samples)?;
    Ok(summary)
}

fn requested(only: Option<&[String]>) -> Result<Vec<&'static Transform>, BuildError> {
    let Some(names) = only else {
        return Ok(TRANSFORMS.iter().collect());
    };
    for name in names {
        if transform(name).is_none() {
            return Err(BuildError::UnknownTransform {
                name: name.clone(),
                known: TRANSFORMS
                    .iter()
                    .map(|t| t.name)
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        }
    }
    // Table order whatever the order asked, so labels and file names are always listed alike.
    Ok(TRANSFORMS
        .iter()
        .filter(|t| names.iter().any(|n| n == t.name))
        .collect())
}

/// The labels of `ok` photos say compliant: refuse options that would make that untrue.
fn check_options(o: &BuildOptions) -> Result<(), BuildError> {
    let (w, h) = o.size;
    let archive = 22.0 / 32.0;
    if h < 378 || ((w as f64 / h as f64) / archive - 1.0).abs() > 0.015 {
        return Err(BuildError::Options(format!(
            "--size {w}x{h}: the photos must be 22:32 (within 1.5 %) and at least 378 px tall to be compliant"
        )));
    }
    let age = (o.today - o.taken).num_days();
    if !(0..=MAX_AGE_DAYS as i64).contains(&age) {
        return Err(BuildError::Options(format!(
            "--taken {}: must be within six months ({MAX_AGE_DAYS} days) before {}",
            o.taken, o.today
        )));
    }
    Ok(())
}

/// The samples with full ground-truth geometry, and the files of those without.
fn sources(from: &SampleSet) -> Result<(Vec<Source<'_>>, Vec<String>), BuildError> {
    let mut used = Vec::new();
    let mut without = Vec::new();
    let mut stems: HashMap<String, &str> = HashMap::new();
    for sample in &from.samples {
        let l = &sample.label;
        let (Some(crown_y), Some(chin_y), Some(centre_x)) = (l.crown_y, l.chin_y, l.centre_x)
        else {
            without.push(sample.file.clone());
            continue;
        };
        let stem = Path::new(&sample.file)
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| sample.file.clone());
        if let Some(first) = stems.insert(stem.clone(), &sample.file) {
            return Err(BuildError::SameStem {
                stem,
                first: first.to_owned(),
                second: sample.file.clone(),
            });
        }
        used.push(Source {
            sample,
            stem,
            head: HeadRows {
                crown_y,
                chin_y,
                centre_x,
            },
        });
    }
    Ok((used, without))
}

fn prepare_out(out: &Path) -> Result<(), BuildError> {
    let io = |source| BuildError::Write {
        path: out.to_path_buf(),
        source,
    };
    if out.exists() {
        if std::fs::read_dir(out).map_err(io)?.next().is_some() {
            return Err(BuildError::OutNotEmpty {
                path: out.to_path_buf(),
            });
        }
    } else {
        std::fs::create_dir_all(out).map_err(io)?;
    }
    Ok(())
}

fn folder_name(dir: &Path) -> String {
    dir.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "samples".into())
}

fn decode(path: &Path, limits: &IntakeLimits) -> Result<RgbImage, BuildError> {
    let bytes = std::fs::read(path).map_err(|source| BuildError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    derive::decode_upright(&bytes, limits).map_err(|source| BuildError::Decode {
        path: path.to_path_buf(),
        source,
    })
}

/// A derived photo before it is written: its pixels and how to store them, and its ground truth.
struct Derived {
    image: RgbImage,
    orientation: u16,
    software: &'static str,
    taken: NaiveDate,
    head: Option<HeadRows>,
    note: String,
    /// Rules the framing leaves unjudged for this source (beyond the transformation's own).
    unjudged: Vec<RuleId>,
    /// Why the photo cannot be called compliant although it breaks no rule for certain.
    doubts: Vec<String>,
}

fn derive_source(
    source: &Source<'_>,
    next: Option<&Source<'_>>,
    transforms: &[&'static Transform],
    o: &BuildOptions,
    tick: &(dyn Fn() + Sync),
) -> Result<Vec<Made>, BuildError> {
    let photo = decode(&source.sample.path, &o.intake)?;
    // Most transformations start from the `ok` frame: made once, when first needed.
    let ok = OnceCell::new();
    let mut out = Vec::with_capacity(transforms.len());
    for t in transforms {
        let made = match derive_one(t, source, next, &photo, &ok, o)? {
            Ok(d) => Made::Written(write(t, source, d, o)?),
            Err(why) => Made::Skipped(why),
        };
        out.push(made);
        tick();
    }
    Ok(out)
}

/// One transformation of one source: the photo, or why this source cannot have it.
fn derive_one(
    t: &Transform,
    source: &Source<'_>,
    next: Option<&Source<'_>>,
    photo: &RgbImage,
    ok: &OnceCell<(RgbImage, HeadRows)>,
    o: &BuildOptions,
) -> Result<Result<Derived, String>, BuildError> {
    let (w, h) = o.size;
    let size = match t.edit {
        Edit::Widen => (h * 3 / 4, h),
        Edit::Phone(pw, ph) => (pw, ph),
        _ => o.size,
    };
    let placement = derive::place(source.head, t.framing, size);
    let (framed, head) = if t.framing == OK && size == o.size {
        ok.get_or_init(|| derive::frame(photo, source.head, OK, o.size))
            .clone()
    } else {
        derive::frame(photo, source.head, t.framing, size)
    };
    let mut d = Derived {
        image: framed,
        orientation: 1,
        software: SOFTWARE,
        taken: o.taken,
        head: Some(head),
        note: framing_note(t.framing, size),
        unjudged: Vec::new(),
        doubts: Vec::new(),
    };
    let leaves = placement.leaves(size, photo.dimensions());
    if leaves.iter().any(|&l| l) {
        let sides: Vec<&str> = ["left", "top", "right", "bottom"]
            .into_iter()
            .zip(leaves)
            .filter(|(_, l)| *l)
            .map(|(s, _)| s)
            .collect();
        d.note
            .push_str(&format!("; white pad past the photo: {}", sides.join(", ")));
        // White bands beside a wall that is not white change how even and plain it looks.
        if source.sample.label.breaks(RuleId::Background) {
            d.unjudged
                .extend([RuleId::BackgroundUniformity, RuleId::BackgroundClutter]);
        }
        // Below the cut-off body the frame is white where the clothing would be.
        if leaves[3] {
            d.unjudged.push(RuleId::Clothing);
            // A clerk would not call a photo whose body ends in a white strip compliant either;
            // a band of a few rows is a scanner's edge.
            let frame_rows = f64::from(size.1) * placement.scale;
            let band = (placement.top + frame_rows - f64::from(photo.height())) / frame_rows;
            if band > MAX_BOTTOM_BAND {
                d.doubts.push(format!(
                    "the body ends in a white band {:.0} % of the height",
                    band * 100.0
                ));
            }
        }
    }
    let edit_note = match t.edit {
        Edit::FrameOnly => None,
        Edit::Phone(pw, ph) => Some(format!("phone camera frame, {pw} x {ph}")),
        Edit::Widen => Some(format!("frame widened to 3:4 ({} x {h})", h * 3 / 4)),
        Edit::Recolour(c) => {
            let (mask, share) = match background(&d.image, &source.sample.label) {
                Ok(found) => found,
                Err(why) => return Ok(Err(why)),
            };
            d.image = derive::recolour_background(&d.image, &mask, c);
            Some(format!(
                "background ({:.0} % of the frame) repainted ({}, {}, {}), shading kept",
                share * 100.0,
                c[0],
                c[1],
                c[2]
            ))
        }
        Edit::Shade(darkest) => {
            let (mask, share) = match background(&d.image, &source.sample.label) {
                Ok(found) => found,
                Err(why) => return Ok(Err(why)),
            };
            d.image = derive::shade_background(&d.image, &mask, darkest);
            Some(format!(
                "background ({:.0} % of the frame) darkened from 0 % at the left to {:.0} % at the right",
                share * 100.0,
                darkest * 100.0
            ))
        }
        Edit::Gain(f) => {
            d.image = derive::scale_exposure(&d.image, f);
            Some(format!("every channel x {f:.2}, clipped"))
        }
        Edit::Blur(share) => {
            let sigma = (share * h as f64) as f32;
            d.image = derive::blur(&d.image, sigma);
            Some(format!("gaussian blur, sigma {sigma:.1} px"))
        }
        Edit::Desaturate => {
            d.image = derive::desaturate(&d.image);
            Some("greyscale, stored as RGB".into())
        }
        Edit::Shrink(sw, sh) => {
            d.image = imageops::resize(&d.image, sw, sh, imageops::FilterType::Lanczos3);
            d.head = Some(head.scaled(sw as f64 / w as f64, sh as f64 / h as f64));
            Some(format!("resized to {sw} x {sh}"))
        }
        Edit::SecondFace => {
            let Some(other) = next else {
                return Ok(Err("no other source to take a second head from".into()));
            };
            let other_photo = decode(&other.sample.path, &o.intake)?;
            d.image = derive::paste_second_head(&d.image, head, &other_photo, other.head);
            Some(format!(
                "head of {} pasted in front as an oval, top left, 75 % of the head length",
                other.sample.file
            ))
        }
        Edit::RotatedNoExif => {
            d.image = imageops::rotate90(&d.image);
            d.head = None;
            Some("pixels turned 90 degrees clockwise, Orientation 1 (sideways as stored)".into())
        }
        Edit::RotatedExif => {
            d.image = derive::stored_for_orientation_6(&d.image);
            d.orientation = 6;
            Some("stored turned 90 degrees counter-clockwise with Orientation 6 (upright when shown)".into())
        }
        Edit::Old => {
            d.taken = o.today - Days::new(OLD_DAYS);
            Some(format!(
                "taken {} ({OLD_DAYS} days before {})",
                d.taken, o.today
            ))
        }
        Edit::Retouched => {
            d.software = EDITOR;
            Some(format!("Software {EDITOR:?}"))
        }
    };
    if let Some(n) = edit_note {
        d.note = format!("{}; {n}", d.note);
    }
    Ok(Ok(d))
}

/// The background of a framed white-wall portrait and its share of the frame, or why it has none
/// to edit.
fn background(image: &RgbImage, source: &Label) -> Result<(GrayImage, f64), String> {
    // A grey or coloured wall cannot be tinted or shaded into a known state.
    if source.breaks(RuleId::Background) {
        return Err("the source's background is not white".into());
    }
    let mask = derive::background_mask(image);
    let share = derive::mask_share(&mask);
    if share < 0.2 {
        return Err("the background fill found less than 20 % of the frame".into());
    }
    Ok((mask, share))
}

fn framing_note(f: Framing, (w, h): (u32, u32)) -> String {
    let place = if f.offset_mm == 0.0 {
        "centred".to_owned()
    } else {
        format!(
            "centre {:.1} mm {}",
            f.offset_mm.abs(),
            if f.offset_mm > 0.0 { "right" } else { "left" }
        )
    };
    format!(
        "{w} x {h}, head {:.1} mm, crown {} px, {place}",
        f.head_mm, f.crown_ref_px
    )
}

/// The label a derived photo gets from its source's and the transformation's.
fn label(source: &Label, t: &Transform, extra_unjudged: &[RuleId]) -> (Vec<RuleId>, Vec<RuleId>) {
    let mut breaks: Vec<RuleId> = source
        .breaks
        .iter()
        .copied()
        .filter(|r| !RESET.contains(r) && !CROPPABLE.contains(r))
        .collect();
    for r in t.breaks {
        if !breaks.contains(r) {
            breaks.push(*r);
        }
    }
    let mut unjudged = Vec::new();
    let croppable = source.breaks.iter().filter(|r| CROPPABLE.contains(r));
    let kept = source.unjudged.iter().filter(|r| !RESET.contains(r));
    // Ground truth gives rows, not the head outline's width.
    let always = [RuleId::HeadWidth];
    for r in croppable
        .chain(kept)
        .chain(&always)
        .chain(t.unjudged)
        .chain(extra_unjudged)
    {
        if !breaks.contains(r) && !unjudged.contains(r) {
            unjudged.push(*r);
        }
    }
    (breaks, unjudged)
}

fn write(
    t: &Transform,
    source: &Source<'_>,
    d: Derived,
    o: &BuildOptions,
) -> Result<Sample, BuildError> {
    let file = format!("{}__{}.jpg", source.stem, t.name);
    let path = o.out.join(&file);
    let taken = d.taken.format("%Y:%m:%d 09:00:00").to_string();
    let bytes = derive::jpeg_with_exif(
        &d.image,
        ExifTags {
            orientation: d.orientation,
            software: d.software,
            taken: &taken,
        },
    )
    .map_err(|source| BuildError::Encode {
        path: path.clone(),
        source,
    })?;
    std::fs::write(&path, bytes).map_err(|source| BuildError::Write {
        path: path.clone(),
        source,
    })?;
    let (breaks, unjudged) = label(&source.sample.label, t, &d.unjudged);
    // A break of the source the frame may crop away (a shadow beside the head) leaves the rule
    // unjudged, not the photo compliant: only a photo known to break nothing is labelled so.
    let mut doubts = d.doubts;
    doubts.extend(
        source
            .sample
            .label
            .breaks
            .iter()
            .filter(|r| CROPPABLE.contains(r))
            .map(|r| format!("the source breaks {r}, which this frame may keep")),
    );
    let mut note = d.note;
    if breaks.is_empty() && !doubts.is_empty() {
        note.push_str(&format!("; not known compliant: {}", doubts.join("; ")));
    }
    let round = |v: f64| (v * 100.0).round() / 100.0;
    Ok(Sample {
        file,
        path,
        label: Label {
            compliant: breaks.is_empty() && doubts.is_empty(),
            breaks,
            unjudged,
            crown_y: d.head.map(|h| round(h.crown_y)),
            chin_y: d.head.map(|h| round(h.chin_y)),
            centre_x: d.head.map(|h| round(h.centre_x)),
            source: format!("{} | {}", source.sample.file, t.name),
            note,
        },
    })
}

#[cfg(test)]
mod tests {
    use photocheck_core::{intake, Context, Status};

    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 3, 10).unwrap()
    }

    /// A 300 x 320 portrait on `wall`: head crown 60, chin 220, centre 150; neck and dark clothes
    /// down to the bottom edge, which frames for heads under 19 mm reach past.
    fn portrait(wall: [u8; 3]) -> RgbImage {
        RgbImage::from_fn(300, 320, |x, y| {
            let head = (60..220).contains(&y) && x.abs_diff(150) < 60;
            let neck = (220..250).contains(&y) && x.abs_diff(150) < 20;
            let body = y >= 250 && x.abs_diff(150) < 100;
            image::Rgb(if head || neck {
                [200, 150, 120]
            } else if body {
                [40, 40, 60]
            } else {
                wall
            })
        })
    }

    const HEADER: &str = "file,compliant,breaks,crown_y,chin_y,centre_x,unjudged,source,note\n";

    /// a: white wall, compliant; b: grey wall (breaks background); c: darker wall labelled only
    /// for eyewear; d: no geometry.
    fn source_set(dir: &Path) -> SampleSet {
        for (file, wall) in [
            ("a.png", [252, 252, 252]),
            ("b.png", [185, 185, 185]),
            ("c.png", [150, 150, 150]),
            ("d.png", [252, 252, 252]),
        ] {
            portrait(wall).save(dir.join(file)).unwrap();
        }
        let labels = format!(
            "{HEADER}a.png,yes,,60,220,150,,,\n\
             b.png,no,background,60,220,150,eyes_open,,\n\
             c.png,no,eyewear,60,220,150,background,,\n\
             d.png,yes,,,,,,,\n"
        );
        std::fs::write(dir.join("labels.csv"), labels).unwrap();
        SampleSet::load(dir).unwrap()
    }

    fn label_of<'a>(set: &'a SampleSet, file: &str) -> &'a Label {
        &set.samples
            .iter()
            .find(|s| s.file == file)
            .unwrap_or_else(|| panic!("{file} labelled"))
            .label
    }

    #[test]
    fn builds_every_transformation_with_labels_that_follow_from_the_sources() {
        let src = tempfile::tempdir().unwrap();
        let from = source_set(src.path());
        let out = tempfile::tempdir().unwrap();
        let dir = out.path().join("derived");
        let options = BuildOptions::new(dir.clone(), today());
        let calls = AtomicUsize::new(0);
        let summary = build(&from, &options, |_, total| {
            assert_eq!(total, 3 * TRANSFORMS.len());
            calls.fetch_add(1, Ordering::Relaxed);
        })
        .unwrap();
        assert_eq!(calls.into_inner(), 3 * TRANSFORMS.len());
        assert_eq!(summary.sources, 3);
        assert_eq!(summary.without_geometry, ["d.png"]);
        // b's grey and c's darker walls get no background edits.
        assert_eq!(summary.photos, 3 * TRANSFORMS.len() - 6);
        // a: ok, head-19.6mm, head-21.4mm, off-centre-0.4mm, rotated-exif and wrong-aspect. Its
        // three phone frames, which framing can cut, reach past the source's bottom edge.
        assert_eq!(summary.compliant, 6);
        let tint = summary
            .transforms
            .iter()
            .find(|t| t.name == "bg-tint-blue")
            .unwrap();
        assert_eq!(tint.written, 1);
        assert_eq!(
            tint.skipped,
            [
                (
                    "b.png".into(),
                    "the source's background is not white".into()
                ),
                (
                    "c.png".into(),
                    "the background fill found less than 20 % of the frame".into()
                )
            ]
        );

        let set = SampleSet::load(&dir).unwrap();
        assert_eq!(set.info.name, "derived");
        assert_eq!(set.samples.len(), summary.photos);
        let ok = label_of(&set, "a__ok.jpg");
        assert!(ok.compliant && ok.breaks.is_empty());
        assert_eq!(ok.unjudged, [RuleId::HeadWidth]);
        assert_eq!(
            (ok.crown_y, ok.chin_y, ok.centre_x),
            (Some(30.0), Some(514.31), Some(260.0))
        );
        assert_eq!(ok.source, "a.png | ok");
        assert!(
            ok.note.contains("head 20.5 mm, crown 15 px, centred"),
            "{}",
            ok.note
        );
        let off = label_of(&set, "a__off-centre-3mm.jpg");
        assert_eq!(off.breaks, [RuleId::HeadCentring]);
        // 260 + 3 mm x 756 / 32, to the 0.01 px the labels keep.
        assert_eq!(off.centre_x, Some(330.88));
        let cut = label_of(&set, "a__crown-cut.jpg");
        assert_eq!(cut.crown_y, Some(-24.0));
        assert_eq!(cut.breaks, [RuleId::TopMargin, RuleId::HeadLength]);
        let small = label_of(&set, "a__too-small.jpg");
        assert_eq!((small.crown_y, small.centre_x), (Some(7.5), Some(65.0)));
        let sideways = label_of(&set, "a__rotated-no-exif.jpg");
        assert_eq!(sideways.crown_y, None);
        assert!(sideways.unjudged.contains(&RuleId::HeadLength));
        let grey_blurred = label_of(&set, "b__blurred.jpg");
        assert_eq!(grey_blurred.breaks, [RuleId::Background, RuleId::Sharpness]);
        assert_eq!(grey_blurred.unjudged, [RuleId::EyesOpen, RuleId::HeadWidth]);
        // The frame of a 17 mm head reaches past this source's bottom: no clothing to judge there,
        // and white bands beside a grey wall.
        let small_head = label_of(&set, "b__head-17.0mm.jpg");
        assert!(small_head.note.contains("bottom"), "{}", small_head.note);
        assert!(small_head.unjudged.contains(&RuleId::Clothing));
        assert!(small_head.unjudged.contains(&RuleId::BackgroundClutter));
        // A phone frame of the white-wall source breaks nothing for certain, yet its body ends in
        // a white band: not labelled compliant.
        let phone = label_of(&set, "a__phone-head-33pct.jpg");
        assert!(phone.breaks.is_empty() && !phone.compliant);
        assert!(phone.note.contains("not known compliant"), "{}", phone.note);

        let exif = |file: &str| intake::read_exif(&std::fs::read(dir.join(file)).unwrap());
        let plain = exif("a__ok.jpg");
        assert_eq!(plain.orientation, Some(1));
        assert_eq!(plain.software.as_deref(), Some(SOFTWARE));
        assert_eq!(
            plain.captured.map(|t| t.date()),
            Some(today() - Days::new(30))
        );
        assert_eq!(
            exif("a__old.jpg").captured.map(|t| t.date()),
            Some(today() - Days::new(OLD_DAYS))
        );
        assert_eq!(exif("a__retouched.jpg").software.as_deref(), Some(EDITOR));
        assert_eq!(exif("a__rotated-exif.jpg").orientation, Some(6));
        let upright = |file: &str| {
            derive::decode_upright(&std::fs::read(dir.join(file)).unwrap(), &options.intake)
                .unwrap()
                .dimensions()
        };
        assert_eq!(upright("a__rotated-exif.jpg"), (520, 756));
        assert_eq!(upright("a__rotated-no-exif.jpg"), (756, 520));
        assert_eq!(upright("a__wrong-aspect.jpg"), (567, 756));
        assert_eq!(upright("a__too-small.jpg"), (130, 189));

        // The same sources give the same set.
        let again = out.path().join("again");
        build(&from, &BuildOptions::new(again.clone(), today()), |_, _| {}).unwrap();
        for file in ["labels.csv", "a__second-face.jpg", "b__blurred.jpg"] {
            assert_eq!(
                std::fs::read(dir.join(file)).unwrap(),
                std::fs::read(again.join(file)).unwrap(),
                "{file}"
            );
        }
    }

    #[test]
    fn only_keeps_table_order_and_refuses_unknown_names() {
        let src = tempfile::tempdir().unwrap();
        let from = source_set(src.path());
        let out = tempfile::tempdir().unwrap();
        let mut options = BuildOptions::new(out.path().join("x"), today());
        options.only = Some(vec!["blurred".into(), "ok".into()]);
        let summary = build(&from, &options, |_, _| {}).unwrap();
        let names: Vec<&str> = summary.transforms.iter().map(|t| t.name).collect();
        assert_eq!(names, ["ok", "blurred"]);
        assert_eq!(summary.photos, 6);

        options.out = out.path().join("y");
        options.only = Some(vec!["blured".into()]);
        let err = build(&from, &options, |_, _| {}).unwrap_err().to_string();
        assert!(
            err.contains("\"blured\"") && err.contains("blurred"),
            "{err}"
        );
    }

    #[test]
    fn refuses_a_used_folder_and_options_that_would_make_ok_untrue() {
        let src = tempfile::tempdir().unwrap();
        let from = source_set(src.path());
        let err = build(
            &from,
            &BuildOptions::new(src.path().to_path_buf(), today()),
            |_, _| {},
        )
        .unwrap_err();
        assert!(matches!(err, BuildError::OutNotEmpty { .. }), "{err}");
        assert!(err.to_string().contains("never mixed"), "{err}");

        let out = tempfile::tempdir().unwrap();
        let mut options = BuildOptions::new(out.path().join("x"), today());
        options.size = (600, 756);
        assert!(build(&from, &options, |_, _| {}).is_err());
        options.size = (180, 262);
        assert!(build(&from, &options, |_, _| {}).is_err());
        options.size = (520, 756);
        options.taken = today() - Days::new(190);
        let err = build(&from, &options, |_, _| {}).unwrap_err().to_string();
        assert!(err.contains("six months"), "{err}");
        assert!(
            !out.path().join("x").exists(),
            "nothing made before the options are checked"
        );
    }

    #[test]
    fn an_undecodable_source_is_an_error_naming_it() {
        let src = tempfile::tempdir().unwrap();
        source_set(src.path());
        std::fs::write(src.path().join("b.png"), b"not a png").unwrap();
        let from = SampleSet::load(src.path()).unwrap();
        let out = tempfile::tempdir().unwrap();
        let err = build(
            &from,
            &BuildOptions::new(out.path().join("x"), today()),
            |_, _| {},
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("b.png") && err.contains("decode"), "{err}");
    }

    #[test]
    fn label_resets_framing_rules_and_unjudges_what_the_frame_may_crop() {
        let source = Label {
            breaks: vec![
                RuleId::HeadLength,
                RuleId::FaceCount,
                RuleId::Eyewear,
                RuleId::Recency,
            ],
            unjudged: vec![RuleId::TopMargin, RuleId::Lighting],
            ..Label::default()
        };
        let blurred = transform("blurred").unwrap();
        let (breaks, unjudged) = label(&source, blurred, &[RuleId::Clothing]);
        assert_eq!(breaks, [RuleId::Eyewear, RuleId::Sharpness]);
        assert_eq!(
            unjudged,
            [
                RuleId::FaceCount,
                RuleId::Lighting,
                RuleId::HeadWidth,
                RuleId::Clothing
            ]
        );
        // A rule the transformation breaks is never also unjudged.
        let second = transform("second-face").unwrap();
        let (breaks, unjudged) = label(&source, second, &[]);
        assert!(breaks.contains(&RuleId::FaceCount));
        assert!(!unjudged.contains(&RuleId::FaceCount));
    }

    #[test]
    fn software_tags_are_judged_as_the_labels_say_by_the_default_profile() {
        let profile = Profile::default_profile();
        let image = RgbImage::from_pixel(260, 378, image::Rgb([250, 250, 250]));
        let status = |software: &str| {
            let bytes = derive::jpeg_with_exif(
                &image,
                ExifTags {
                    orientation: 1,
                    software,
                    taken: "2026:02:01 09:00:00",
                },
            )
            .unwrap();
            photocheck_core::check(&bytes, &profile, &Context::on(today()))
                .rule(RuleId::Retouching)
                .map(|r| r.status)
        };
        assert_eq!(status(SOFTWARE), Some(Status::Pass));
        assert_eq!(status(EDITOR), Some(Status::Fail));
    }
}
