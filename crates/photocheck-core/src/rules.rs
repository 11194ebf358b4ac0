//! Rules: each measured value against its limits gives pass / fail / uncertain; the statuses give the
//! decision; every non-pass carries a reason with a stable code and messages the applicant can act on.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::profile::Limit;

/// Every rule the engine reports, in report order.
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
    Eyewear,
    Headwear,
    Expression,
}

impl RuleId {
    /// Every rule, in report order.
    pub const ALL: [RuleId; 24] = [
        RuleId::Dimensions,
        RuleId::Resolution,
        RuleId::Colour,
        RuleId::FaceCount,
        RuleId::HeadLength,
        RuleId::HeadWidth,
        RuleId::HeadCentring,
        RuleId::TopMargin,
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
        RuleId::Eyewear,
        RuleId::Headwear,
        RuleId::Expression,
    ];

    /// Position in [`RuleId::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }

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
            RuleId::Eyewear => "eyewear",
            RuleId::Headwear => "headwear",
            RuleId::Expression => "expression",
        }
    }

    /// The unit the rule's value is reported in.
    pub fn unit(self) -> &'static str {
        match self {
            RuleId::Dimensions => "ratio",
            RuleId::Resolution => "px",
            RuleId::Colour => "chroma",
            RuleId::FaceCount => "faces",
            RuleId::HeadLength | RuleId::HeadWidth | RuleId::HeadCentring => "mm",
            RuleId::TopMargin => "px@ref",
            RuleId::Background => "deltaE",
            RuleId::BackgroundUniformity | RuleId::DynamicRange => "luma",
            RuleId::BackgroundClutter | RuleId::BackgroundShadow | RuleId::Exposure => "%",
            RuleId::Lighting => "%",
            RuleId::Brightness | RuleId::Clothing => "luma",
            RuleId::Sharpness => "laplacian-var",
            RuleId::Recency => "days",
            RuleId::Retouching => "tag",
            RuleId::EyesOpen | RuleId::Eyewear | RuleId::Headwear | RuleId::Expression => "",
        }
    }
}

impl fmt::Display for RuleId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Pass,
    Fail,
    Uncertain,
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Status::Pass => "pass",
            Status::Fail => "fail",
            Status::Uncertain => "uncertain",
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    Approve,
    Review,
    Reject,
}

impl Decision {
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Approve => "approve",
            Decision::Review => "review",
            Decision::Reject => "reject",
        }
    }
}

impl fmt::Display for Decision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One rule's outcome, as reported.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RuleResult {
    pub rule: RuleId,
    pub status: Status,
    /// The measured value; `None` when it could not be measured.
    pub value: Option<f64>,
    pub unit: String,
    pub min: Option<f64>,
    pub max: Option<f64>,
    /// True when the value is far enough outside the limits that the photo is unusable.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub unusable: bool,
    /// The reason code when the status is not pass.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// Why the rule could not be judged, when its status is uncertain for lack of a value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// Which side of its limits a value fell on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Low,
    High,
}

/// Judges a value against limits: pass at least `margin` inside, uncertain within `margin` of a limit,
/// fail beyond; `unusable` past the reject bounds.
pub fn judge(value: f64, limit: &Limit) -> (Status, Option<Side>, bool) {
    let m = limit.margin;
    let unusable = limit.reject_below.is_some_and(|r| value < r)
        || limit.reject_above.is_some_and(|r| value > r);
    if let Some(lo) = limit.min {
        if value < lo - m {
            return (Status::Fail, Some(Side::Low), unusable);
        }
        if value < lo + m {
            return (Status::Uncertain, Some(Side::Low), false);
        }
    }
    if let Some(hi) = limit.max {
        if value > hi + m {
            return (Status::Fail, Some(Side::High), unusable);
        }
        if value > hi - m {
            return (Status::Uncertain, Some(Side::High), false);
        }
    }
    (Status::Pass, None, unusable)
}

/// The reason code for a rule that fell on `side` of its limits.
pub fn reason_code(rule: RuleId, side: Option<Side>) -> &'static str {
    use RuleId::*;
    use Side::*;
    match (rule, side) {
        (Dimensions, _) => "wrong-aspect-ratio",
        (Resolution, _) => "resolution-too-low",
        (Colour, Some(_)) => "not-colour",
        (FaceCount, Some(High)) => "several-faces",
        (FaceCount, _) => "no-face",
        (HeadLength, Some(High)) => "head-too-large",
        (HeadLength, Some(Low)) => "head-too-small",
        (HeadWidth, Some(High)) => "head-too-wide",
        (HeadWidth, Some(Low)) => "head-too-narrow",
        (HeadCentring, Some(_)) => "head-off-centre",
        (TopMargin, Some(High)) => "head-too-low",
        (TopMargin, Some(Low)) => "head-too-high",
        (HeadLength | HeadWidth | HeadCentring | TopMargin, None) => "head-not-measurable",
        (Background, Some(_)) => "background-not-white",
        (BackgroundUniformity, Some(_)) => "background-uneven",
        (BackgroundClutter, Some(_)) => "background-cluttered",
        (BackgroundShadow, Some(_)) => "background-shadow",
        (Background | BackgroundUniformity | BackgroundClutter | BackgroundShadow, None) => {
            "background-not-measurable"
        }
        (Exposure, Some(_)) => "overexposed",
        (Brightness, Some(High)) => "too-bright",
        (Brightness, Some(Low)) => "too-dark",
        (DynamicRange, Some(_)) => "low-contrast",
        (Lighting, Some(_)) => "uneven-lighting",
        (Sharpness, Some(_)) => "blurred",
        (Colour | Exposure | Brightness | DynamicRange | Lighting | Sharpness, None) => {
            "face-not-measurable"
        }
        (Clothing, Some(_)) => "clothing-too-light",
        (Clothing, None) => "clothing-not-measurable",
        (Recency, Some(_)) => "photo-too-old",
        (Recency, None) => "capture-date-unknown",
        (Retouching, _) => "edited-with-software",
        (EyesOpen, _) => "check-eyes-open",
        (Eyewear, _) => "check-eyewear",
        (Headwear, _) => "check-headwear",
        (Expression, _) => "check-expression",
    }
}

impl RuleResult {
    /// A measured rule: the value judged against the limits.
    pub fn measured(rule: RuleId, value: f64, limit: &Limit) -> RuleResult {
        // The value shown is the value judged, so a report judged again (threshold tuning) and the
        // applicant's "measured 0.712, required ..." agree with the status at every boundary.
        let value = round(value);
        let (status, side, unusable) = judge(value, limit);
        RuleResult {
            rule,
            status,
            value: Some(value),
            unit: rule.unit().into(),
            min: limit.min,
            max: limit.max,
            unusable,
            code: (status != Status::Pass).then(|| reason_code(rule, side).to_owned()),
            note: None,
        }
    }

    /// A rule that could not be measured on this photo: uncertain, with why.
    pub fn unmeasured(rule: RuleId, limit: Option<&Limit>, note: &str) -> RuleResult {
        RuleResult {
            rule,
            status: Status::Uncertain,
            value: None,
            unit: rule.unit().into(),
            min: limit.and_then(|l| l.min),
            max: limit.and_then(|l| l.max),
            unusable: false,
            code: Some(reason_code(rule, None).to_owned()),
            note: Some(note.to_owned()),
        }
    }

    /// The reason the applicant or reviewer sees for a rule that did not pass.
    pub fn reason(&self) -> Option<Reason> {
        let code = self.code.clone()?;
        let (en, zh) = crate::messages::describe(&code, self);
        Some(Reason {
            code,
            rule: self.rule,
            message_en: en,
            message_zh: zh,
        })
    }
}

/// Rounds to what the measures can honestly resolve, so reports stay readable.
fn round(v: f64) -> f64 {
    if v.abs() >= 100.0 {
        (v * 10.0).round() / 10.0
    } else {
        (v * 1000.0).round() / 1000.0
    }
}

/// The decision alone, from each rule's (status, unusable): reject when any rule is unusable, approve
/// when all pass, review otherwise. Cheap enough to run for every point of a threshold sweep.
pub fn decision_of(outcomes: impl IntoIterator<Item = (Status, bool)>) -> Decision {
    let mut all_pass = true;
    for (status, unusable) in outcomes {
        if unusable {
            return Decision::Reject;
        }
        all_pass &= status == Status::Pass;
    }
    if all_pass {
        Decision::Approve
    } else {
        Decision::Review
    }
}

/// A reason for a decision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reason {
    pub code: String,
    pub rule: RuleId,
    pub message_en: String,
    pub message_zh: String,
}

/// The decision from the rule results: reject when any rule says the photo is unusable beyond doubt,
/// approve only when every rule passes, review otherwise. Reasons: for a reject, only the unusable
/// rules (what the applicant must fix); for a review, every rule that did not pass.
pub fn decide(results: &[RuleResult]) -> (Decision, Vec<Reason>) {
    if decision_of(results.iter().map(|r| (r.status, r.unusable))) == Decision::Approve {
        return (Decision::Approve, Vec::new());
    }
    let unusable: Vec<Reason> = results
        .iter()
        .filter(|r| r.unusable)
        .filter_map(RuleResult::reason)
        .collect();
    if !unusable.is_empty() {
        return (Decision::Reject, unusable);
    }
    let mut open: Vec<Reason> = results
        .iter()
        .filter(|r| r.status != Status::Pass)
        .filter_map(RuleResult::reason)
        .collect();
    // Rules that could not be measured for one cause share a code; say it once.
    let mut seen = std::collections::HashSet::new();
    open.retain(|r| seen.insert(r.code.clone()));
    if open.is_empty() {
        (Decision::Approve, open)
    } else {
        (Decision::Review, open)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limit(min: Option<f64>, max: Option<f64>, margin: f64) -> Limit {
        Limit {
            min,
            max,
            margin,
            reject_below: Some(9.5),
            reject_above: Some(30.0),
        }
    }

    #[test]
    fn margins_make_values_near_a_limit_uncertain() {
        let l = limit(Some(19.0), Some(22.0), 0.4);
        assert_eq!(judge(20.5, &l).0, Status::Pass);
        assert_eq!(judge(19.2, &l).0, Status::Uncertain);
        assert_eq!(judge(18.8, &l).0, Status::Uncertain);
        assert_eq!(judge(18.5, &l), (Status::Fail, Some(Side::Low), false));
        assert_eq!(judge(22.3, &l).0, Status::Uncertain);
        assert_eq!(judge(23.0, &l), (Status::Fail, Some(Side::High), false));
        assert_eq!(judge(5.0, &l), (Status::Fail, Some(Side::Low), true));
    }

    #[test]
    fn decision_follows_the_worst_rule() {
        let l = limit(Some(19.0), Some(22.0), 0.4);
        let pass = RuleResult::measured(RuleId::HeadLength, 20.5, &l);
        let near = RuleResult::measured(RuleId::HeadLength, 19.1, &l);
        let tiny = RuleResult::measured(RuleId::HeadLength, 5.0, &l);
        assert_eq!(decide(std::slice::from_ref(&pass)).0, Decision::Approve);
        let (d, reasons) = decide(&[pass.clone(), near]);
        assert_eq!(d, Decision::Review);
        assert_eq!(reasons[0].code, "head-too-small");
        let (d, reasons) = decide(&[pass, tiny]);
        assert_eq!(d, Decision::Reject);
        assert_eq!(reasons.len(), 1);
        assert!(
            reasons[0].message_zh.contains("测得 5 毫米"),
            "{}",
            reasons[0].message_zh
        );
    }
}
