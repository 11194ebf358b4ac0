//! photocheck-types: the words the services share. The engine decides in them, the store keeps them,
//! the queue carries them and the pages show them, so each is defined once, here, as plain serde types.
//!
//! - [`Decision`], [`RuleId`] and [`Reason`]: what the engine (or a reviewer) concluded and why.
//! - [`reviewer`]: the reasons a reviewer may give for a rejection, and the rules each covers.
//! - [`ResultEvent`]: what the notification services are told about every decision.

mod event;
pub mod reviewer;

use std::fmt;

use serde::{Deserialize, Serialize};

pub use crate::event::{Crop, DecidedBy, EventKind, Framing, FramingMode, ResultEvent};

/// What becomes of a photo.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    Approve,
    Review,
    Reject,
}

impl Decision {
    pub const ALL: [Decision; 3] = [Decision::Approve, Decision::Review, Decision::Reject];

    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Approve => "approve",
            Decision::Review => "review",
            Decision::Reject => "reject",
        }
    }

    /// The decision named `approve`, `review` or `reject`.
    pub fn parse(name: &str) -> Option<Decision> {
        Decision::ALL.into_iter().find(|d| d.as_str() == name)
    }
}

impl fmt::Display for Decision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Every rule the engine reports, in report order. What each measures, its unit and its reason
/// codes are in the engine's rule table (`photocheck_core::rules::RULES`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum RuleId {
    Dimensions,
    Resolution,
    Colour,
    FaceCount,
    HeadLength,
    HeadWidth,
    HeadCentring,
    TopMargin,
    /// Whether a crop of the upload can be the licence photo (framing.rs); reported only when none can.
    Framing,
    Background,
    BackgroundUniformity,
    BackgroundClutter,
    BackgroundShadow,
    Exposure,
    Brightness,
    DynamicRange,
    Lighting,
    Sharpness,
    Clothing,
    Recency,
    Retouching,
    EyesOpen,
    Gaze,
    Pose,
    MouthClosed,
    Expression,
    Eyewear,
    Headwear,
    FaceCovering,
    HairOverFace,
    EarsVisible,
    Jewellery,
    Uniform,
    Makeup,
}

impl RuleId {
    /// Every rule, in report order.
    pub const ALL: [RuleId; 34] = [
        RuleId::Dimensions,
        RuleId::Resolution,
        RuleId::Colour,
        RuleId::FaceCount,
        RuleId::HeadLength,
        RuleId::HeadWidth,
        RuleId::HeadCentring,
        RuleId::TopMargin,
        RuleId::Framing,
        RuleId::Background,
        RuleId::BackgroundUniformity,
        RuleId::BackgroundClutter,
        RuleId::BackgroundShadow,
        RuleId::Exposure,
        RuleId::Brightness,
        RuleId::DynamicRange,
        RuleId::Lighting,
        RuleId::Sharpness,
        RuleId::Clothing,
        RuleId::Recency,
        RuleId::Retouching,
        RuleId::EyesOpen,
        RuleId::Gaze,
        RuleId::Pose,
        RuleId::MouthClosed,
        RuleId::Expression,
        RuleId::Eyewear,
        RuleId::Headwear,
        RuleId::FaceCovering,
        RuleId::HairOverFace,
        RuleId::EarsVisible,
        RuleId::Jewellery,
        RuleId::Uniform,
        RuleId::Makeup,
    ];

    /// Name in reports, profiles and labels.
    pub fn as_str(self) -> &'static str {
        match self {
            RuleId::Dimensions => "dimensions",
            RuleId::Resolution => "resolution",
            RuleId::Colour => "colour",
            RuleId::FaceCount => "face_count",
            RuleId::HeadLength => "head_length",
            RuleId::HeadWidth => "head_width",
            RuleId::HeadCentring => "head_centring",
            RuleId::TopMargin => "top_margin",
            RuleId::Framing => "framing",
            RuleId::Background => "background",
            RuleId::BackgroundUniformity => "background_uniformity",
            RuleId::BackgroundClutter => "background_clutter",
            RuleId::BackgroundShadow => "background_shadow",
            RuleId::Exposure => "exposure",
            RuleId::Brightness => "brightness",
            RuleId::DynamicRange => "dynamic_range",
            RuleId::Lighting => "lighting",
            RuleId::Sharpness => "sharpness",
            RuleId::Clothing => "clothing",
            RuleId::Recency => "recency",
            RuleId::Retouching => "retouching",
            RuleId::EyesOpen => "eyes_open",
            RuleId::Gaze => "gaze",
            RuleId::Pose => "pose",
            RuleId::MouthClosed => "mouth_closed",
            RuleId::Expression => "expression",
            RuleId::Eyewear => "eyewear",
            RuleId::Headwear => "headwear",
            RuleId::FaceCovering => "face_covering",
            RuleId::HairOverFace => "hair_over_face",
            RuleId::EarsVisible => "ears_visible",
            RuleId::Jewellery => "jewellery",
            RuleId::Uniform => "uniform",
            RuleId::Makeup => "makeup",
        }
    }

    /// Position in report order.
    pub fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for RuleId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A reason for a decision: a stable code, the rule it comes from, and what the applicant is told.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reason {
    pub code: String,
    pub rule: RuleId,
    pub message_en: String,
    pub message_zh: String,
}

/// A reason as the applicant sees it (status API, result events): the code and the two messages;
/// the measures stay in the stored report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApplicantReason {
    pub code: String,
    pub message_en: String,
    pub message_zh: String,
}

impl From<&Reason> for ApplicantReason {
    fn from(r: &Reason) -> ApplicantReason {
        ApplicantReason {
            code: r.code.clone(),
            message_en: r.message_en.clone(),
            message_zh: r.message_zh.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_the_serde_names() {
        for d in Decision::ALL {
            assert_eq!(serde_json::to_value(d).unwrap(), d.as_str());
            assert_eq!(Decision::parse(d.as_str()), Some(d));
        }
        assert_eq!(Decision::parse("maybe"), None);
        for (i, r) in RuleId::ALL.into_iter().enumerate() {
            assert_eq!(r.index(), i, "{r} in report order");
            assert_eq!(serde_json::to_value(r).unwrap(), r.as_str());
            let back: RuleId = serde_json::from_value(r.as_str().into()).unwrap();
            assert_eq!(back, r);
        }
    }
}
