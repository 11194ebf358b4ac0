//! Rules: each measured value against its limits gives pass / fail / uncertain; the statuses give the
//! decision; every non-pass carries a reason with a stable code and messages the applicant can act on.

use std::fmt;

use serde::{Deserialize, Serialize};

pub use photocheck_types::{Decision, Reason, RuleId};

use crate::profile::Limit;

/// What kind of rule it is: how it is judged and what it may do to a decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Measured on the photo; may reject when far out of bounds.
    Measured,
    /// A look measured from the landmarks: fails send the photo to a reviewer, never reject it.
    Look,
    /// A look this engine cannot judge: listed in every report as not checked; the profile says
    /// whether it blocks approval.
    NotChecked,
}

/// One row of the rule table: everything about a rule that is not a threshold.
#[derive(Debug, Clone, Copy)]
pub struct RuleSpec {
    pub id: RuleId,
    /// Short Chinese name, for the reviewer pages.
    pub name_zh: &'static str,
    pub unit: &'static str,
    pub kind: Kind,
    /// Reason codes: value below the limits, above them, and not measurable.
    pub low: &'static str,
    pub high: &'static str,
    pub unmeasured: &'static str,
}

const fn spec(
    id: RuleId,
    name_zh: &'static str,
    unit: &'static str,
    kind: Kind,
    [low, high, unmeasured]: [&'static str; 3],
) -> RuleSpec {
    RuleSpec {
        id,
        name_zh,
        unit,
        kind,
        low,
        high,
        unmeasured,
    }
}

/// The rule table, in report order (the order of [`RuleId`]). Reason codes are stable: they are in the
/// `check --json` contract and in reviewers' statistics; their messages are in `messages.rs`.
pub const RULES: [RuleSpec; 34] = {
    use Kind::*;
    use RuleId::*;
    const HEAD: &str = "head-not-measurable";
    const BG: &str = "background-not-measurable";
    const FACE: &str = "face-not-measurable";
    const FEATURES: &str = "face-features-not-found";
    [
        spec(
            Dimensions,
            "尺寸比例",
            "ratio",
            Measured,
            ["wrong-aspect-ratio"; 3],
        ),
        spec(
            Resolution,
            "分辨率",
            "px",
            Measured,
            ["resolution-too-low"; 3],
        ),
        spec(
            Colour,
            "彩色",
            "chroma",
            Measured,
            ["not-colour", "not-colour", FACE],
        ),
        spec(
            FaceCount,
            "人脸数",
            "faces",
            Measured,
            ["no-face", "several-faces", "no-face"],
        ),
        spec(
            HeadLength,
            "头部长度",
            "mm",
            Measured,
            ["head-too-small", "head-too-large", HEAD],
        ),
        spec(
            HeadWidth,
            "头部宽度",
            "mm",
            Measured,
            ["head-too-narrow", "head-too-wide", HEAD],
        ),
        spec(
            HeadCentring,
            "头部居中",
            "mm",
            Measured,
            ["head-off-centre", "head-off-centre", HEAD],
        ),
        spec(
            TopMargin,
            "头顶距上边",
            "px@ref",
            Measured,
            ["head-too-high", "head-too-low", HEAD],
        ),
        // Its codes come from `framing::Fix` (needs-headroom, needs-shoulders, move-back, ...).
        spec(
            Framing,
            "取景",
            "",
            Measured,
            ["move-closer", "move-back", "framing-not-possible"],
        ),
        spec(
            Background,
            "背景白色",
            "deltaE",
            Measured,
            ["background-not-white", "background-not-white", BG],
        ),
        spec(
            BackgroundUniformity,
            "背景均匀",
            "luma",
            Measured,
            ["background-uneven", "background-uneven", BG],
        ),
        spec(
            BackgroundClutter,
            "背景杂物",
            "%",
            Measured,
            ["background-cluttered", "background-cluttered", BG],
        ),
        spec(
            BackgroundShadow,
            "背景阴影",
            "%",
            Measured,
            ["background-shadow", "background-shadow", BG],
        ),
        spec(
            Exposure,
            "曝光",
            "%",
            Measured,
            ["overexposed", "overexposed", FACE],
        ),
        spec(
            Brightness,
            "亮度",
            "luma",
            Measured,
            ["too-dark", "too-bright", FACE],
        ),
        spec(
            DynamicRange,
            "动态范围",
            "luma",
            Measured,
            ["low-contrast", "low-contrast", FACE],
        ),
        spec(
            Lighting,
            "光线均匀",
            "%",
            Measured,
            ["uneven-lighting", "uneven-lighting", FACE],
        ),
        spec(
            Sharpness,
            "清晰度",
            "laplacian-var",
            Measured,
            ["blurred", "blurred", FACE],
        ),
        spec(
            Clothing,
            "深色服装",
            "luma",
            Measured,
            [
                "clothing-too-light",
                "clothing-too-light",
                "clothing-not-measurable",
            ],
        ),
        spec(
            Recency,
            "拍摄时间",
            "days",
            Measured,
            ["photo-too-old", "photo-too-old", "capture-date-unknown"],
        ),
        spec(
            Retouching,
            "修图",
            "tag",
            Measured,
            ["edited-with-software"; 3],
        ),
        spec(
            EyesOpen,
            "睁眼",
            "ratio",
            Look,
            ["eyes-closed", "eyes-closed", FEATURES],
        ),
        spec(
            Gaze,
            "视线",
            "eye-widths",
            Look,
            ["looking-away", "looking-away", FEATURES],
        ),
        spec(
            Pose,
            "正面姿态",
            "deg",
            Look,
            ["head-turned", "head-turned", FEATURES],
        ),
        spec(
            MouthClosed,
            "闭嘴",
            "ratio",
            Look,
            ["mouth-open", "mouth-open", FEATURES],
        ),
        spec(
            Expression,
            "表情自然",
            "ratio",
            Look,
            ["expression-not-neutral", "expression-not-neutral", FEATURES],
        ),
        spec(
            Eyewear,
            "墨镜",
            "ratio",
            Look,
            ["dark-glasses", "glare-on-glasses", "eyes-not-visible"],
        ),
        spec(
            Headwear,
            "帽子头巾",
            "%",
            Look,
            ["headwear", "headwear", "head-top-not-visible"],
        ),
        spec(
            FaceCovering,
            "口罩遮挡",
            "%",
            Look,
            ["face-covered", "face-covered", "face-not-visible"],
        ),
        spec(
            HairOverFace,
            "头发遮挡",
            "%",
            Look,
            ["hair-over-face", "hair-over-face", "forehead-not-visible"],
        ),
        spec(EarsVisible, "露耳", "", NotChecked, ["check-ears"; 3]),
        spec(Jewellery, "首饰", "", NotChecked, ["check-jewellery"; 3]),
        spec(Uniform, "制式服装", "", NotChecked, ["check-uniform"; 3]),
        spec(Makeup, "浓妆", "", NotChecked, ["check-makeup"; 3]),
    ]
};

/// The engine's facts about a rule: its row in [`RULES`], and the unit and kind from it.
pub trait RuleInfo {
    fn spec(self) -> &'static RuleSpec;
    /// The unit the rule's value is reported in.
    fn unit(self) -> &'static str;
    fn kind(self) -> Kind;
}

impl RuleInfo for RuleId {
    fn spec(self) -> &'static RuleSpec {
        &RULES[self.index()]
    }

    fn unit(self) -> &'static str {
        self.spec().unit
    }

    fn kind(self) -> Kind {
        self.spec().kind
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

/// The reason code for a rule that fell on `side` of its limits (`None`: not measurable).
pub fn reason_code(rule: RuleId, side: Option<Side>) -> &'static str {
    let spec = rule.spec();
    match side {
        Some(Side::Low) => spec.low,
        Some(Side::High) => spec.high,
        None => spec.unmeasured,
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
pub(crate) fn round(v: f64) -> f64 {
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

    #[test]
    fn the_table_has_a_row_per_rule_in_report_order() {
        assert_eq!(RULES.len(), RuleId::ALL.len());
        for (i, spec) in RULES.iter().enumerate() {
            assert_eq!(spec.id, RuleId::ALL[i], "{} out of order", spec.id);
        }
    }

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
