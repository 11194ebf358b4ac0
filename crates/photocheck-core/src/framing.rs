//! Framing: the crop of an upload that a clerk would cut for the licence photo. Given where the head
//! is in the upright upload, it finds the crop of the photo's proportions (22 x 32 mm) that keeps the
//! head length, head width, centring and crown margin the farthest inside their limits; when no crop
//! can, it says what the driver should change.
//!
//! A crop lies wholly inside the upload (nothing is padded or painted in), holds at least
//! `[framing] min_rows` of the upload's own rows (the archive copy is never upscaled) and is never
//! rotated: it is a window onto the pixels the driver sent.

use serde::{Deserialize, Serialize};

use crate::profile::{Limit, Profile};
use crate::rules::{RuleId, RuleInfo, RuleResult, Status};

pub use photocheck_types::Crop;
/// Whether the judged photo is the upload as sent or a crop of it.
pub use photocheck_types::FramingMode as Mode;

/// The head as measured in the upright upload, px.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Head {
    pub crown_y: f64,
    pub chin_y: f64,
    pub centre_x: f64,
    pub width: f64,
}

/// How the judged photo relates to the upload: in every report of a photo that could be read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FramingReport {
    pub mode: Mode,
    /// The judged photo within the upright upload, px (the whole upload when as submitted).
    pub crop: Crop,
    /// Archive px per upload px: the archive height over the crop's height (above 1 would upscale).
    pub scale: f64,
    /// The head geometry of the upload as submitted, when it was framed (the report's `head` is
    /// then that of the crop).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<crate::HeadReport>,
}

/// Why no crop can make the photo: each names what the driver changes when taking it again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fix {
    /// The crown is too near the top edge for the margin above it.
    NeedsHeadroom,
    /// The photo ends too soon below the chin for the shoulders the crop needs.
    NeedsShoulders,
    /// The head is too near a side edge to be centred.
    NeedsCentring,
    /// The head is too large for the photo.
    MoveBack,
    /// The head is too small: the crop would hold too few of the camera's pixels.
    MoveCloser,
    /// The upload itself is too small: the crop would be upscaled.
    TooFewPixels,
}

impl Fix {
    pub fn code(self) -> &'static str {
        match self {
            Fix::NeedsHeadroom => "needs-headroom",
            Fix::NeedsShoulders => "needs-shoulders",
            Fix::NeedsCentring => "needs-centring",
            Fix::MoveBack => "move-back",
            Fix::MoveCloser => "move-closer",
            Fix::TooFewPixels => "too-few-pixels",
        }
    }

    /// The framing rule for an upload no crop can make a licence photo of. It rejects only a photo
    /// that is not of the licence photo's proportions either: such a photo cannot be used as it is,
    /// and the fix tells the driver what to take again. A photo already of those proportions keeps
    /// its own judgement; the fix goes to the reviewer.
    pub fn rule(self, upload_has_proportions: bool, note: String) -> RuleResult {
        RuleResult {
            rule: RuleId::Framing,
            status: Status::Fail,
            value: None,
            unit: RuleId::Framing.unit().into(),
            min: None,
            max: None,
            unusable: !upload_has_proportions,
            code: Some(self.code().into()),
            note: Some(note),
        }
    }
}

/// The geometry rules' values for `crop` around `head`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Geometry {
    pub length_mm: f64,
    pub width_mm: f64,
    pub offset_mm: f64,
    pub crown_ref_px: f64,
}

impl Geometry {
    pub fn of(head: &Head, crop: &Crop, profile: &Profile) -> Geometry {
        let mm = |px: f64| profile.px_to_mm(px, crop.h);
        Geometry {
            length_mm: mm(head.chin_y - head.crown_y),
            width_mm: mm(head.width),
            offset_mm: mm(head.centre_x - (crop.x + crop.w / 2.0)),
            crown_ref_px: (head.crown_y - crop.y) / crop.h
                * f64::from(profile.photo.reference_height_px),
        }
    }

    /// How far inside its limits each rule lies, in units of its margin (from 1 it passes, from 0
    /// it does not fail): head length, head width, centring, crown margin.
    pub fn slacks(&self, profile: &Profile) -> [f64; 4] {
        let r = &profile.rules;
        [
            slack(self.length_mm, &r.head_length),
            slack(self.width_mm, &r.head_width),
            slack(self.offset_mm.abs(), &r.head_centring),
            slack(self.crown_ref_px, &r.top_margin),
        ]
    }
}

/// Distance of `v` inside `limit`, in margins (negative outside).
fn slack(v: f64, limit: &Limit) -> f64 {
    let inside = limit
        .min
        .map_or(f64::INFINITY, |lo| v - lo)
        .min(limit.max.map_or(f64::INFINITY, |hi| hi - v));
    inside / limit.margin.max(1e-6)
}

/// The crop of an upload `(width, height)` that leaves the four geometry rules the most slack, or why
/// none can be cut. Head lengths are tried across the head-length limits; for each, the crown goes to
/// its preferred row and the head to the centre, moved only as far as the photo's edges make them.
pub fn plan(head: &Head, (width, height): (u32, u32), profile: &Profile) -> Result<Crop, Fix> {
    let f = &profile.framing;
    let (pw, ph) = (f64::from(width), f64::from(height));
    let aspect = profile.photo.width_mm / profile.photo.height_mm;
    let reference = f64::from(profile.photo.reference_height_px);
    let length = head.chin_y - head.crown_y;
    let limit = &profile.rules.head_length;
    let (Some(lo_mm), Some(hi_mm)) = (limit.min, limit.max) else {
        return Err(Fix::MoveBack);
    };
    if length <= 0.0 {
        return Err(Fix::MoveCloser);
    }
    // Crop heights that put the head length at the limits, tallest first.
    let tallest = profile.px_to_mm(length, 1.0) / lo_mm;
    let shortest = profile.px_to_mm(length, 1.0) / hi_mm;
    let steps = f.steps.max(2);
    // The grid of heights, plus the two heights the photo itself bounds: the tallest crop that fits
    // and the fewest rows allowed. Where those two meet (a licence photo padded to a square, an
    // archive-sized frame) the one crop that works lies between grid points.
    let fits = ph.min(pw / aspect);
    let mut heights: Vec<f64> = (0..=steps)
        .map(|i| tallest + (shortest - tallest) * f64::from(i) / f64::from(steps))
        .collect();
    heights.extend(
        [fits, f64::from(f.min_rows)]
            .into_iter()
            .filter(|h| (shortest..=tallest).contains(h)),
    );
    let mut best: Option<(f64, Crop)> = None;
    // What kept the crop closest to working from working, for the message when none does: a crop
    // that fits the photo but fails a rule (by its slack) says more than one that does not fit.
    let mut blocked: (f64, Fix) = (f64::NEG_INFINITY, Fix::MoveBack);
    for h in heights {
        let w = h * aspect;
        let ideal = Crop {
            x: head.centre_x - w / 2.0,
            y: head.crown_y - f.crown_px / reference * h,
            w,
            h,
        };
        // A millionth of a px of tolerance: `fits` times the aspect can round past the width.
        if h > ph + 1e-6 || w > pw + 1e-6 {
            closest(&mut blocked, f64::NEG_INFINITY, Fix::MoveBack);
            continue;
        }
        if h < f64::from(f.min_rows) - 1e-6 {
            let fix = if length / ph < f.move_closer_below {
                Fix::MoveCloser
            } else {
                Fix::TooFewPixels
            };
            closest(&mut blocked, f64::NEG_INFINITY, fix);
            continue;
        }
        let crop = Crop {
            x: ideal.x.clamp(0.0, (pw - w).max(0.0)),
            y: ideal.y.clamp(0.0, (ph - h).max(0.0)),
            w,
            h,
        };
        let [length_s, width_s, centring_s, crown_s] =
            Geometry::of(head, &crop, profile).slacks(profile);
        // The width never decides whether a crop can be cut (long hair widens the outline; the
        // width rule judges that), only which crop is best.
        let must = length_s.min(centring_s).min(crown_s);
        if must < 0.0 {
            let fix = if crown_s < 0.0 && crop.y > ideal.y {
                Fix::NeedsHeadroom
            } else if crown_s < 0.0 {
                Fix::NeedsShoulders
            } else {
                Fix::NeedsCentring
            };
            closest(&mut blocked, must, fix);
            continue;
        }
        let s = must.min(width_s);
        if best.is_none_or(|(b, _)| s > b) {
            best = Some((s, crop));
        }
    }
    best.map(|(_, c)| c).ok_or(blocked.1)
}

/// Keeps the fix of the attempt that came closest to working: the one with the most slack, or, among
/// attempts that did not fit the photo at all, any more telling fix than `MoveBack`.
fn closest(blocked: &mut (f64, Fix), slack: f64, fix: Fix) {
    if slack > blocked.0 || (slack == f64::NEG_INFINITY && fix != Fix::MoveBack) {
        *blocked = (slack, fix);
    }
}

/// Whether the geometry rules of a report all pass: such a photo is judged as submitted.
pub fn geometry_passes(results: &[RuleResult]) -> bool {
    [
        RuleId::Dimensions,
        RuleId::Resolution,
        RuleId::HeadLength,
        RuleId::HeadWidth,
        RuleId::HeadCentring,
        RuleId::TopMargin,
    ]
    .iter()
    .all(|id| {
        results
            .iter()
            .find(|r| r.rule == *id)
            .is_some_and(|r| r.status == Status::Pass)
    })
}

/// The report's rules with the framing rule in its place (after the crown margin).
pub fn insert_rule(results: &mut Vec<RuleResult>, rule: RuleResult) {
    let at = results
        .iter()
        .position(|r| r.rule > RuleId::Framing)
        .unwrap_or(results.len());
    results.insert(at, rule);
}

/// The note for a fix, in the reviewer's terms: what the best attempt measured.
pub fn note(fix: Fix) -> String {
    match fix {
        Fix::NeedsHeadroom => {
            "no crop leaves the margin above the head: the crown is too near the top edge"
        }
        Fix::NeedsShoulders => "no crop reaches far enough below the chin: the photo ends too soon",
        Fix::NeedsCentring => "no crop centres the head: it is too near a side edge",
        Fix::MoveBack => "the head is too large for any crop of this photo",
        Fix::MoveCloser => {
            "the head is too small: a crop around it holds too few of the photo's rows"
        }
        Fix::TooFewPixels => {
            "a crop with the head at the licence size would have fewer rows than the archive photo"
        }
    }
    .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profile() -> Profile {
        Profile::default_profile()
    }

    /// A phone frame (3:4) with the head a third of its height, crown at a fifth.
    fn phone_head(h: f64) -> Head {
        Head {
            crown_y: 0.2 * h,
            chin_y: 0.2 * h + h / 3.0,
            centre_x: 0.375 * h,
            width: h / 3.0 * 0.72,
        }
    }

    #[test]
    fn a_phone_frame_is_cropped_to_the_licence_geometry_with_margin() {
        let p = profile();
        let head = phone_head(4000.0);
        let crop = plan(&head, (3000, 4000), &p).expect("a crop");
        let g = Geometry::of(&head, &crop, &p);
        assert!(g.slacks(&p).iter().all(|&s| s >= 1.0), "{g:?}");
        assert!((crop.w / crop.h - 22.0 / 32.0).abs() < 1e-9);
        assert!(crop.x >= 0.0 && crop.y >= 0.0);
        assert!(crop.x + crop.w <= 3000.0 && crop.y + crop.h <= 4000.0);
        // A head 0.72 as wide as long needs ~20 mm of length for 14.4 mm of width: the crop picks a
        // length that passes both.
        assert!(g.width_mm >= 14.4 && g.length_mm <= 21.6, "{g:?}");
    }

    #[test]
    fn the_fix_names_what_is_missing() {
        let p = profile();
        let mut head = phone_head(4000.0);
        head.crown_y = 5.0;
        head.chin_y = 5.0 + 4000.0 / 3.0;
        assert_eq!(plan(&head, (3000, 4000), &p), Err(Fix::NeedsHeadroom));
        let head = Head {
            crown_y: 2400.0,
            chin_y: 3700.0,
            centre_x: 1500.0,
            width: 900.0,
        };
        assert_eq!(plan(&head, (3000, 4000), &p), Err(Fix::NeedsShoulders));
        let head = Head {
            crown_y: 800.0,
            chin_y: 2100.0,
            centre_x: 300.0,
            width: 900.0,
        };
        assert_eq!(plan(&head, (3000, 4000), &p), Err(Fix::NeedsCentring));
        // The same frame at a tenth of the pixels: a crop would hold ~190 rows.
        let small = phone_head(400.0);
        assert_eq!(plan(&small, (300, 400), &p), Err(Fix::TooFewPixels));
        // A tiny head in a big frame: move closer.
        let tiny = Head {
            crown_y: 1000.0,
            chin_y: 1200.0,
            centre_x: 1500.0,
            width: 140.0,
        };
        assert_eq!(plan(&tiny, (3000, 4000), &p), Err(Fix::MoveCloser));
        let huge = Head {
            crown_y: 100.0,
            chin_y: 3900.0,
            centre_x: 1500.0,
            width: 2700.0,
        };
        assert_eq!(plan(&huge, (3000, 4000), &p), Err(Fix::MoveBack));
    }

    #[test]
    fn a_licence_photo_padded_to_a_square_is_framed_back_to_itself() {
        let p = profile();
        // 260 x 378 with a 20.5 mm head and the crown 15 px down, pasted in the middle of 378 x 378:
        // the only crop with 378 rows is the photo itself, between the grid's heights.
        let head = Head {
            crown_y: 15.0,
            chin_y: 15.0 + 20.5 / 32.0 * 378.0,
            centre_x: 59.0 + 130.0,
            width: 15.0 / 32.0 * 378.0,
        };
        let crop = plan(&head, (378, 378), &p).expect("the photo itself");
        assert!(
            (crop.h - 378.0).abs() < 1e-6 && (crop.w - 260.0).abs() < 0.5,
            "{crop:?}"
        );
        assert!(
            (crop.x - 59.0).abs() < 0.5 && crop.y.abs() < 1e-6,
            "{crop:?}"
        );
        let g = Geometry::of(&head, &crop, &p);
        assert!(g.slacks(&p).iter().all(|&s| s >= 1.0), "{g:?}");
    }

    #[test]
    fn a_crop_is_never_upscaled() {
        let p = profile();
        // An archive-sized photo with a 17 mm head: every crop with the head at the licence size has
        // 292-338 rows, fewer than the archive's 378, so there is none.
        let head = Head {
            crown_y: 15.0,
            chin_y: 15.0 + 17.0 / 32.0 * 378.0,
            centre_x: 130.0,
            width: 13.0 / 32.0 * 378.0,
        };
        assert_eq!(plan(&head, (260, 378), &p), Err(Fix::TooFewPixels));
        // With a head at the licence size the only crop is the photo itself, all 378 rows.
        let fits = Head {
            chin_y: 15.0 + 20.5 / 32.0 * 378.0,
            ..head
        };
        let crop = plan(&fits, (260, 378), &p).expect("the photo itself");
        assert!((crop.h - 378.0).abs() < 1e-6, "{crop:?}");
        // Twice the size: a crop exists and holds at least 378 rows.
        let double = Head {
            crown_y: 30.0,
            chin_y: 30.0 + 20.0 / 32.0 * 756.0,
            centre_x: 260.0,
            width: 15.0 / 32.0 * 756.0,
        };
        let crop = plan(&double, (520, 756), &p).expect("a crop");
        assert!(crop.h >= 378.0 && crop.h <= 756.0, "{crop:?}");
    }
}
