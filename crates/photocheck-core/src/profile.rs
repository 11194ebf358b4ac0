//! Profiles: every size, limit and threshold the engine uses, in one TOML document.
//!
//! Unknown keys are refused so a misspelt threshold cannot silently fall back to a default.

use serde::{Deserialize, Serialize};

use crate::rules::RuleId;
use crate::rules::RuleInfo;

/// The built-in profiles, by name.
const BUILTIN: &[(&str, &str)] = &[(
    "cn-driving-licence",
    include_str!("../profiles/cn-driving-licence.toml"),
)];

/// The profile used when none is named.
pub const DEFAULT_PROFILE: &str = "cn-driving-licence";

#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    #[error("no built-in profile named {name:?} (built-in: {known})")]
    Unknown { name: String, known: String },
    #[error("profile is not valid: {0}")]
    Parse(#[from] toml::de::Error),
    #[error("profile is not valid: {0}")]
    Invalid(String),
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    /// Short name, shown in reports.
    pub name: String,
    /// One line saying what the profile is for.
    pub description: String,
    pub photo: Photo,
    pub archive: Archive,
    pub intake: Intake,
    pub detection: Detection,
    pub head: Head,
    pub background: Background,
    pub looks: Looks,
    pub attributes: Attributes,
    pub retouching: Retouching,
    /// Older profiles have no `[framing]` or `[recency]`: they get the defaults below.
    #[serde(default)]
    pub framing: Framing,
    #[serde(default)]
    pub recency: Recency,
    pub rules: Rules,
}

/// How an upload is cropped to the licence photo (`framing.rs`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Framing {
    /// Where the crown goes below the top edge, px of the reference height, unless an edge of the
    /// photo keeps it from there.
    pub crown_px: f64,
    /// A crop holds at least this many of the upload's own rows: the archive height, so the archive
    /// copy is never upscaled.
    pub min_rows: u32,
    /// Crop heights tried between those putting the head at its length limits.
    pub steps: u32,
    /// A head shorter than this share of the upload's height, too small for any crop, asks the driver
    /// to come closer; a larger one in a photo too small asks for the camera's full resolution.
    pub move_closer_below: f64,
}

impl Default for Framing {
    fn default() -> Framing {
        Framing {
            crown_px: 15.0,
            min_rows: 378,
            steps: 64,
            move_closer_below: 0.2,
        }
    }
}

/// What the capture date must show (the age limit is `rules.recency`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[serde(deny_unknown_fields)]
pub struct Recency {
    /// An album photo without an EXIF capture date goes to a reviewer; by default it does not (a
    /// clerk handed a print cannot tell its age either), and the report says the date is missing.
    pub require_date: bool,
}

/// The physical photo.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Photo {
    /// Printed height in mm; mm = px x height_mm / image height.
    pub height_mm: f64,
    /// Printed width in mm.
    pub width_mm: f64,
    /// Height in px that px-valued limits (the top margin) refer to.
    pub reference_height_px: u32,
}

/// The archive copy stored for an approved photo (GA 482-2012).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Archive {
    pub width_px: u32,
    pub height_px: u32,
    pub dpi: u32,
    pub min_jpeg_quality: u8,
    pub min_bytes: u64,
    pub max_bytes: u64,
}

/// Limits checked before decoding, and the size measures run at.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Intake {
    /// Largest accepted file, bytes.
    pub max_bytes: u64,
    /// Largest accepted width x height, read from the header.
    pub max_pixels: u64,
    /// Largest accepted width or height.
    pub max_side: u32,
    /// Most memory one photo's decode may take, bytes (see the profile file).
    pub max_decode_bytes: u64,
    /// Height of the copy the measures run on (kept between this and twice this).
    pub analysis_height: u32,
}

/// Face detection passes.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Detection {
    /// Height of the grayscale copy for the first, fast pass.
    pub coarse_height: u32,
    /// Window step of the first pass, px (the second pass uses rustface's default, 4).
    pub coarse_step: u32,
    /// Pyramid scale factor of the first pass (the second pass uses 0.8).
    pub coarse_pyramid_factor: f32,
    /// Part of the frame the first pass scans: x0, y0, x1, y1 as shares of width and height.
    pub coarse_region: [f64; 4],
    /// Longest side of the copy for the second pass.
    pub fine_max_side: u32,
    /// Height limit of the second pass's copy for ID-shaped frames.
    pub id_fine_height: u32,
    /// A first-pass face at least this share of the image height skips the second pass.
    pub id_face_share: f64,
    /// Width / height range of an ID-shaped frame, for the same shortcut.
    pub id_aspect: [f64; 2],
    /// rustface classifier score a detection needs.
    pub score_threshold: f64,
    /// Another face counts as a second person at this share of the main face's width.
    pub other_face_ratio: f64,
}

/// Head geometry search.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Head {
    /// Expected chin position below the face box top, in face box heights.
    pub chin_prior: f64,
    /// Window searched for the chin edge, in face box heights below its top.
    pub chin_search: [f64; 2],
}

/// What counts as white, and as shadow, on the background.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Background {
    pub white_luminance: f64,
    pub white_chroma: f64,
    pub shadow_drop: f64,
}

/// How the looks are read from the landmarks (their limits are under `rules`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Looks {
    /// What the fitted head pose reads on frontal faces, yaw, pitch and roll in degrees: subtracted
    /// before the pose is judged (the median over the frontal, neutral portraits of many people).
    pub pose_offset: [f64; 3],
    /// The same for the second estimate, 3DDFA_V2's network.
    pub pose_net_offset: [f64; 3],
    /// The largest yaw, pitch and roll a frontal head may have, degrees. The pose passes when both
    /// estimates lie inside these by more than the two disagree.
    pub pose_limits: [f64; 3],
    /// The iris's offset from the eye's middle on photos looking into the lens, eye widths (x, y).
    pub gaze_bias: [f64; 2],
    /// Blendshape `eyeBlink` (the more closed eye) above which open eyes are not taken as evidence.
    pub max_blink: f64,
    /// Blendshape `jawOpen` above which a small lip gap is not taken as a closed mouth.
    pub max_jaw_open: f64,
    /// The emotion classifier's probability of `happy` above which the expression is not neutral,
    /// whatever the blendshapes say: the second vote.
    pub max_emotion_happy: f64,
    /// The eye openings' lightness over the cheeks' below which they look dark (dark or tinted
    /// lenses): eyewear passes only above it, and fails only below it (a small, squinting or
    /// shadowed eye can lack contrast too, and a mirrored lens is light).
    pub min_eye_lightness: f64,
}

/// Looks this engine cannot judge (ears, jewellery, uniform, make-up): listed as not checked in every
/// report; those named in `block` are reported uncertain, so the photo goes to a reviewer.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Attributes {
    pub block: Vec<RuleId>,
}

/// Editing-software names that mark a file as retouched.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Retouching {
    pub editors: Vec<String>,
}

/// Limits of one measured rule.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Default)]
#[serde(deny_unknown_fields)]
pub struct Limit {
    /// Lowest compliant value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    /// Highest compliant value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
    /// Values within this distance of a limit, on either side, are uncertain.
    #[serde(default)]
    pub margin: f64,
    /// Below this the photo is unusable beyond doubt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reject_below: Option<f64>,
    /// Above this the photo is unusable beyond doubt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reject_above: Option<f64>,
}

/// The limits of every measured rule.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Rules {
    pub dimensions: Limit,
    pub resolution: Limit,
    pub colour: Limit,
    pub head_length: Limit,
    pub head_width: Limit,
    pub head_centring: Limit,
    pub top_margin: Limit,
    pub background: Limit,
    pub background_uniformity: Limit,
    pub background_clutter: Limit,
    pub background_shadow: Limit,
    pub exposure: Limit,
    pub brightness: Limit,
    pub dynamic_range: Limit,
    pub lighting: Limit,
    pub sharpness: Limit,
    pub clothing: Limit,
    pub recency: Limit,
    pub eyes_open: Limit,
    pub gaze: Limit,
    pub pose: Limit,
    pub mouth_closed: Limit,
    pub expression: Limit,
    pub eyewear: Limit,
    pub headwear: Limit,
    pub face_covering: Limit,
    pub hair_over_face: Limit,
}

impl Profile {
    /// A built-in profile by name.
    pub fn builtin(name: &str) -> Result<Profile, ProfileError> {
        let text = BUILTIN
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, t)| *t)
            .ok_or_else(|| ProfileError::Unknown {
                name: name.to_owned(),
                known: Self::builtin_names().join(", "),
            })?;
        Self::from_toml(text)
    }

    /// The built-in default, `cn-driving-licence`.
    pub fn default_profile() -> Profile {
        Self::builtin(DEFAULT_PROFILE).expect("the built-in default profile is valid (tested)")
    }

    pub fn builtin_names() -> Vec<&'static str> {
        BUILTIN.iter().map(|(n, _)| *n).collect()
    }

    /// The TOML text of a built-in profile, comments included.
    pub fn builtin_text(name: &str) -> Option<&'static str> {
        BUILTIN.iter().find(|(n, _)| *n == name).map(|(_, t)| *t)
    }

    /// Parses and validates a profile.
    pub fn from_toml(text: &str) -> Result<Profile, ProfileError> {
        let profile: Profile = toml::from_str(text)?;
        profile.validate()?;
        Ok(profile)
    }

    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).expect("a profile always serialises")
    }

    /// Converts a length in px of an image `image_height` px tall to mm on the printed photo.
    pub fn px_to_mm(&self, px: f64, image_height: f64) -> f64 {
        px * self.photo.height_mm / image_height
    }

    fn validate(&self) -> Result<(), ProfileError> {
        let bad = |what: String| Err(ProfileError::Invalid(what));
        if self.photo.height_mm <= 0.0 || self.photo.width_mm <= 0.0 {
            return bad("photo sizes must be positive".into());
        }
        if self.intake.analysis_height < 64 || self.detection.coarse_height < 48 {
            return bad(
                "intake.analysis_height must be >= 64 and detection.coarse_height >= 48".into(),
            );
        }
        if self.detection.fine_max_side < 64 {
            return bad("detection.fine_max_side must be >= 64".into());
        }
        if self.detection.coarse_step == 0
            || !(0.1..=0.95).contains(&self.detection.coarse_pyramid_factor)
        {
            return bad(
                "detection.coarse_step must be >= 1 and coarse_pyramid_factor in 0.1..=0.95".into(),
            );
        }
        let [x0, y0, x1, y1] = self.detection.coarse_region;
        if !(0.0 <= x0 && x0 < x1 && x1 <= 1.0 && 0.0 <= y0 && y0 < y1 && y1 <= 1.0) {
            return bad("detection.coarse_region must be [x0, y0, x1, y1] with 0 <= x0 < x1 <= 1 and 0 <= y0 < y1 <= 1".into());
        }
        if self.detection.score_threshold <= 0.0 {
            return bad(
                "detection.score_threshold must be positive (rustface refuses others)".into(),
            );
        }
        if self.framing.min_rows == 0
            || !(0.0..=1.0).contains(&self.framing.move_closer_below)
            || !(0.0..=f64::from(self.photo.reference_height_px)).contains(&self.framing.crown_px)
        {
            return bad("framing: min_rows must be >= 1, move_closer_below in 0..=1 and crown_px within the reference height".into());
        }
        if self.head.chin_search[0] >= self.head.chin_search[1] {
            return bad("head.chin_search must be [low, high] with low < high".into());
        }
        for (id, limit) in self.rules.iter() {
            if limit.min.is_none() && limit.max.is_none() {
                return bad(format!("rules.{id}: give min, max or both"));
            }
            if let (Some(lo), Some(hi)) = (limit.min, limit.max) {
                if lo > hi {
                    return bad(format!("rules.{id}: min {lo} is above max {hi}"));
                }
            }
            if limit.margin < 0.0 {
                return bad(format!("rules.{id}: margin must not be negative"));
            }
            if id.kind() == crate::rules::Kind::Look
                && (limit.reject_below.is_some() || limit.reject_above.is_some())
            {
                return bad(format!(
                    "rules.{id}: a look never rejects a photo on its own (no reject_below / reject_above)"
                ));
            }
        }
        if let Some(id) = self
            .attributes
            .block
            .iter()
            .find(|id| id.kind() != crate::rules::Kind::NotChecked)
        {
            return bad(format!(
                "attributes.block: {id} is measured; only looks not checked can be listed"
            ));
        }
        Ok(())
    }
}

impl Rules {
    /// Every measured rule's limits, with its id.
    pub fn iter(&self) -> impl Iterator<Item = (RuleId, &Limit)> {
        [
            (RuleId::Dimensions, &self.dimensions),
            (RuleId::Resolution, &self.resolution),
            (RuleId::Colour, &self.colour),
            (RuleId::HeadLength, &self.head_length),
            (RuleId::HeadWidth, &self.head_width),
            (RuleId::HeadCentring, &self.head_centring),
            (RuleId::TopMargin, &self.top_margin),
            (RuleId::Background, &self.background),
            (RuleId::BackgroundUniformity, &self.background_uniformity),
            (RuleId::BackgroundClutter, &self.background_clutter),
            (RuleId::BackgroundShadow, &self.background_shadow),
            (RuleId::Exposure, &self.exposure),
            (RuleId::Brightness, &self.brightness),
            (RuleId::DynamicRange, &self.dynamic_range),
            (RuleId::Lighting, &self.lighting),
            (RuleId::Sharpness, &self.sharpness),
            (RuleId::Clothing, &self.clothing),
            (RuleId::Recency, &self.recency),
            (RuleId::EyesOpen, &self.eyes_open),
            (RuleId::Gaze, &self.gaze),
            (RuleId::Pose, &self.pose),
            (RuleId::MouthClosed, &self.mouth_closed),
            (RuleId::Expression, &self.expression),
            (RuleId::Eyewear, &self.eyewear),
            (RuleId::Headwear, &self.headwear),
            (RuleId::FaceCovering, &self.face_covering),
            (RuleId::HairOverFace, &self.hair_over_face),
        ]
        .into_iter()
    }

    /// The limits of a measured rule; `None` for rules without numeric limits.
    pub fn get(&self, id: RuleId) -> Option<&Limit> {
        self.iter().find(|(r, _)| *r == id).map(|(_, l)| l)
    }

    /// Mutable access, for threshold sweeps.
    pub fn get_mut(&mut self, id: RuleId) -> Option<&mut Limit> {
        Some(match id {
            RuleId::Dimensions => &mut self.dimensions,
            RuleId::Resolution => &mut self.resolution,
            RuleId::Colour => &mut self.colour,
            RuleId::HeadLength => &mut self.head_length,
            RuleId::HeadWidth => &mut self.head_width,
            RuleId::HeadCentring => &mut self.head_centring,
            RuleId::TopMargin => &mut self.top_margin,
            RuleId::Background => &mut self.background,
            RuleId::BackgroundUniformity => &mut self.background_uniformity,
            RuleId::BackgroundClutter => &mut self.background_clutter,
            RuleId::BackgroundShadow => &mut self.background_shadow,
            RuleId::Exposure => &mut self.exposure,
            RuleId::Brightness => &mut self.brightness,
            RuleId::DynamicRange => &mut self.dynamic_range,
            RuleId::Lighting => &mut self.lighting,
            RuleId::Sharpness => &mut self.sharpness,
            RuleId::Clothing => &mut self.clothing,
            RuleId::Recency => &mut self.recency,
            RuleId::EyesOpen => &mut self.eyes_open,
            RuleId::Gaze => &mut self.gaze,
            RuleId::Pose => &mut self.pose,
            RuleId::MouthClosed => &mut self.mouth_closed,
            RuleId::Expression => &mut self.expression,
            RuleId::Eyewear => &mut self.eyewear,
            RuleId::Headwear => &mut self.headwear,
            RuleId::FaceCovering => &mut self.face_covering,
            RuleId::HairOverFace => &mut self.hair_over_face,
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_default_encodes_the_published_rules() {
        let p = Profile::default_profile();
        assert_eq!(p.name, "cn-driving-licence");
        assert_eq!((p.archive.width_px, p.archive.height_px), (260, 378));
        assert_eq!(p.rules.head_length.min, Some(19.0));
        assert_eq!(p.rules.head_length.max, Some(22.0));
        assert_eq!(p.rules.head_width.min, Some(14.0));
        assert_eq!(p.rules.head_width.max, Some(16.0));
        assert_eq!(p.rules.top_margin.min, Some(10.0));
        assert_eq!(p.rules.top_margin.max, Some(20.0));
        // 19-22 mm is 224-260 px at 378 px.
        assert!((p.px_to_mm(224.0, 378.0) - 18.96).abs() < 0.01);
        assert!((p.px_to_mm(260.0, 378.0) - 22.01).abs() < 0.01);
    }

    #[test]
    fn unknown_keys_are_refused() {
        let text = Profile::builtin_text(DEFAULT_PROFILE).unwrap();
        let typo = text.replace("[rules.sharpness]", "[rules.sharpness]\nminn = 3.0");
        let err = Profile::from_toml(&typo).unwrap_err().to_string();
        assert!(err.contains("minn"), "{err}");
    }

    #[test]
    fn round_trips_through_toml() {
        let p = Profile::default_profile();
        assert_eq!(Profile::from_toml(&p.to_toml()).unwrap(), p);
    }

    #[test]
    fn inverted_limits_are_refused() {
        let text = Profile::builtin_text(DEFAULT_PROFILE).unwrap();
        let bad = text.replace("min = 19.0\nmax = 22.0", "min = 23.0\nmax = 22.0");
        assert!(Profile::from_toml(&bad)
            .unwrap_err()
            .to_string()
            .contains("head_length"));
    }

    #[test]
    fn unknown_builtin_names_the_known_ones() {
        let err = Profile::builtin("xx").unwrap_err().to_string();
        assert!(err.contains("cn-driving-licence"), "{err}");
    }
}
