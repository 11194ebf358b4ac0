//! A report judged again under another profile's limits, from the values it measured: what threshold
//! tuning needs to try thousands of limits without measuring a photo twice. Only what is judged after
//! measuring can change this way (`rules.*`, `attributes`, `retouching`); detection, segmentation and
//! background settings change the measures themselves and need a new check. A framed report keeps its
//! crop: new geometry limits could move the crop (or make it unnecessary), which a sweep therefore
//! estimates from the crop the profile it measured under chose.

use crate::rules::RuleInfo;
use crate::rules::{self, Decision, RuleResult};
use crate::{Profile, Report, RuleId};

/// One rule of `report` under `profile`'s limit for it, with the same trust adjustments the check
/// makes (a head at the top edge, a chin placed without an edge, the face box vetoing rejections).
/// Rules without a value or without limits (face count, retouching, looks) come back as they were.
pub fn rule(result: &RuleResult, report: &Report, profile: &Profile) -> RuleResult {
    if result.rule.kind() == rules::Kind::Look {
        return crate::look_rule(result.rule, &report.measures, profile);
    }
    let Some(limit) = profile.rules.get(result.rule) else {
        return result.clone();
    };
    let Some(value) = result.value else {
        let mut r = result.clone();
        (r.min, r.max) = (limit.min, limit.max);
        return r;
    };
    // Measured on the judged photo: the crop when the upload was framed.
    let mm = |px: f64| profile.px_to_mm(px, report.judged_height());
    match (result.rule, report.head, report.face) {
        (RuleId::HeadLength, Some(head), Some(face)) => crate::head_length_rule(
            value,
            limit,
            crate::HeadEvidence {
                crown_at_edge: head.crown_at_edge,
                chin_from_edge: head.chin_from_edge,
                face_box_mm: mm(face.h as f64),
            },
        ),
        (RuleId::HeadCentring, _, Some(face)) => {
            let face_centre = face.x as f64 + face.w as f64 / 2.0;
            let frame = report
                .framing
                .as_ref()
                .map_or(crate::Crop::whole(report.width, report.height), |f| f.crop);
            let box_offset = mm(face_centre - (frame.x + frame.w / 2.0)).abs();
            crate::centring_rule(value, limit, box_offset)
        }
        _ => RuleResult::measured(result.rule, value, limit),
    }
}

/// Every rule of `report` under `profile`: limits re-applied, the looks judged again from their
/// measures, the editor list re-read against the EXIF Software tag, and the looks the engine cannot
/// judge blocked or listed as the profile says.
pub fn rules(report: &Report, profile: &Profile) -> Vec<RuleResult> {
    let mut out: Vec<RuleResult> = report
        .rules
        .iter()
        .filter(|r| !is_attribute(r.rule))
        .map(|r| match r.rule {
            RuleId::Retouching => crate::retouching_rule(&report.exif, &profile.retouching.editors),
            _ => rule(r, report, profile),
        })
        .collect();
    if report.error.is_none() {
        out.extend(crate::blocked_rules(&profile.attributes));
    }
    out
}

/// The whole report under `profile`: rules, decision and reasons. A photo that could not be checked
/// keeps its decision (there is nothing to judge again).
pub fn report(report: &Report, profile: &Profile) -> Report {
    let mut out = report.clone();
    if report.error.is_some() {
        return out;
    }
    out.rules = rules(report, profile);
    (out.decision, out.reasons) = rules::decide(&out.rules);
    out.not_checked = crate::not_checked(&profile.attributes);
    out.profile = profile.name.clone();
    out
}

/// The looks this engine cannot judge (ears, jewellery, uniform, make-up): never measured, only
/// listed, or reported uncertain when the profile blocks on them.
pub fn is_attribute(rule: RuleId) -> bool {
    rule.kind() == rules::Kind::NotChecked
}

/// The decision for rule outcomes (status, unusable), the same as [`rules::decide`] gives.
pub fn decision<'a>(results: impl IntoIterator<Item = &'a RuleResult>) -> Decision {
    rules::decision_of(results.into_iter().map(|r| (r.status, r.unusable)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{check, Context, Status};
    use photocheck_synth::{jpeg_with_exif, ExifTags};

    fn blank_report() -> (Report, Profile) {
        let img = image::RgbImage::from_pixel(260, 378, image::Rgb([250, 250, 250]));
        let bytes = jpeg_with_exif(
            &img,
            ExifTags {
                orientation: 1,
                software: "Meitu 9.0",
                taken: "2026:10:01 09:00:00",
            },
        )
        .unwrap();
        let profile = Profile::default_profile();
        let ctx = Context::on(chrono::NaiveDate::from_ymd_opt(2026, 11, 21).unwrap());
        (check(&bytes, &profile, &ctx), profile)
    }

    #[test]
    fn the_same_profile_gives_the_same_report() {
        let (report, profile) = blank_report();
        assert_eq!(super::report(&report, &profile), report);
    }

    #[test]
    fn new_limits_editors_and_looks_are_applied() {
        let (report, mut profile) = blank_report();
        assert_eq!(report.rule(RuleId::Recency).unwrap().status, Status::Pass);
        profile.rules.recency.max = Some(30.0);
        profile.retouching.editors.clear();
        profile.attributes.block = vec![RuleId::Jewellery];
        let again = super::report(&report, &profile);
        let recency = again.rule(RuleId::Recency).unwrap();
        assert_eq!((recency.status, recency.max), (Status::Fail, Some(30.0)));
        assert_eq!(again.rule(RuleId::Retouching).unwrap().status, Status::Pass);
        let looks: Vec<RuleId> = again
            .rules
            .iter()
            .map(|r| r.rule)
            .filter(|r| is_attribute(*r))
            .collect();
        assert_eq!(looks, vec![RuleId::Jewellery]);
        assert_eq!(decision(&again.rules), again.decision);
    }
}
