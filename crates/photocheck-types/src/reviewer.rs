//! The reasons a reviewer may give for a rejection: the published photo rules, each with the key that
//! toggles it on the item page and the message the applicant gets.

use crate::{ApplicantReason, RuleId};

/// One rejection reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReviewReason {
    /// Stable code, stored with the decision and sent with the event.
    pub code: &'static str,
    /// The rule's wording, as reviewers know it.
    pub zh: &'static str,
    pub en: &'static str,
    /// The key that toggles it on the item page.
    pub key: char,
}

const fn r(code: &'static str, zh: &'static str, en: &'static str, key: char) -> ReviewReason {
    ReviewReason { code, zh, en, key }
}

/// In the order the rules are published, then the looks the engine sends to review most (pose,
/// expression, jewellery), which reviewers had no reason for. Keys: digits first, then the top
/// letter row without the letters the page already uses (A approve, R reject, N next; B F C H M
/// switch the overlays).
pub const REASONS: [ReviewReason; 19] = [
    r(
        "background-not-white",
        "背景不是白色",
        "The background is not white",
        '1',
    ),
    r(
        "head-size",
        "头部尺寸不符合要求",
        "The head is not the required size",
        '2',
    ),
    r(
        "head-position",
        "头部位置不正",
        "The head is not centred and upright",
        '3',
    ),
    r("uneven-light", "光线不均匀", "The lighting is uneven", '4'),
    r(
        "exposure",
        "照片过曝或过暗",
        "The photo is over- or under-exposed",
        '5',
    ),
    r("blurred", "照片模糊", "The photo is blurred", '6'),
    r(
        "not-colour",
        "非彩色照片",
        "The photo is not in colour",
        '7',
    ),
    r(
        "hat-glasses-mask",
        "佩戴帽子、墨镜或口罩",
        "A hat, sunglasses or a mask is worn",
        '8',
    ),
    r("eyes-closed", "闭眼", "The eyes are closed", '9'),
    r(
        "hair-covers-face",
        "头发遮挡面部或耳朵",
        "Hair covers the face or the ears",
        '0',
    ),
    r("uniform", "着制式服装", "A uniform is worn", 'q'),
    r("heavy-makeup", "浓妆", "Heavy make-up", 'w'),
    r(
        "retouched",
        "过度修图或合成",
        "The photo is retouched or composed",
        'e',
    ),
    r("not-recent", "非近期照片", "The photo is not recent", 't'),
    r(
        "inappropriate",
        "含不当内容",
        "The photo has inappropriate content",
        'y',
    ),
    r(
        "wrong-person",
        "非本人或多人",
        "Not the applicant, or more than one person",
        'u',
    ),
    r(
        "not-frontal",
        "未正对镜头或头部歪斜",
        "The head is turned or tilted, or the eyes look away",
        'i',
    ),
    r(
        "expression",
        "表情不自然或张嘴",
        "The expression is not neutral, or the mouth is open",
        'o',
    ),
    r("jewellery", "佩戴首饰", "Jewellery is worn", 'p'),
];

/// The engine rules a reviewer's reason covers, the one it names most directly first: how reviewer
/// decisions become labels for threshold tuning (`photocheck samples export`).
pub fn rules_of(code: &str) -> &'static [RuleId] {
    use RuleId::*;
    match code {
        "background-not-white" => &[
            Background,
            BackgroundUniformity,
            BackgroundClutter,
            BackgroundShadow,
        ],
        "head-size" => &[HeadLength, HeadWidth],
        "head-position" => &[HeadCentring, TopMargin],
        "uneven-light" => &[Lighting, BackgroundShadow],
        "exposure" => &[Exposure, Brightness, DynamicRange],
        "blurred" => &[Sharpness],
        "not-colour" => &[Colour],
        "hat-glasses-mask" => &[Headwear, Eyewear, FaceCovering],
        "eyes-closed" => &[EyesOpen],
        "hair-covers-face" => &[HairOverFace, EarsVisible],
        "uniform" => &[Clothing, Uniform],
        "heavy-makeup" => &[Makeup, Retouching],
        "retouched" => &[Retouching],
        "not-recent" => &[Recency],
        "wrong-person" => &[FaceCount],
        "not-frontal" => &[Pose, Gaze],
        "expression" => &[Expression, MouthClosed],
        "jewellery" => &[Jewellery],
        _ => &[],
    }
}

pub fn by_code(code: &str) -> Option<&'static ReviewReason> {
    REASONS.iter().find(|r| r.code == code)
}

impl ReviewReason {
    /// The reason as the result event and the status API carry it.
    pub fn to_applicant(&self) -> ApplicantReason {
        ApplicantReason {
            code: self.code.to_owned(),
            message_en: self.en.to_owned(),
            message_zh: self.zh.to_owned(),
        }
    }
}

/// The reasons of a reviewer's decision as the applicant sees them (unknown codes are left out).
pub fn applicant_reasons(codes: &[String]) -> Vec<ApplicantReason> {
    codes
        .iter()
        .filter_map(|c| by_code(c))
        .map(ReviewReason::to_applicant)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reason_but_inappropriate_content_names_the_rules_it_covers() {
        for r in REASONS {
            assert_eq!(
                rules_of(r.code).is_empty(),
                r.code == "inappropriate",
                "{}",
                r.code
            );
        }
    }

    #[test]
    fn codes_and_keys_are_unique_and_clear_of_the_page_keys() {
        for (i, a) in REASONS.iter().enumerate() {
            assert!(!"arnbfchm".contains(a.key), "{} uses a page key", a.code);
            for b in &REASONS[i + 1..] {
                assert_ne!(a.code, b.code);
                assert_ne!(a.key, b.key);
            }
        }
    }
}
