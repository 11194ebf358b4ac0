//! Judging a report again under other limits must give what checking the photo under those limits
//! gives: threshold sweeps rely on it to try thousands of limits without measuring twice.

use photocheck_core::{check, rejudge, Profile, RuleId, Status};

use crate::{all_reports, ctx, photos_or_skip, profile};

#[test]
fn a_report_judged_again_under_its_own_profile_is_unchanged() {
    let Some(dir) = photos_or_skip("a_report_judged_again_under_its_own_profile_is_unchanged")
    else {
        return;
    };
    for (file, (_, report)) in all_reports(&dir) {
        let report = report.as_ref().expect("checked");
        assert_eq!(&rejudge::report(report, profile()), report, "{file}");
    }
}

#[test]
fn judging_again_under_new_limits_matches_checking_under_them() {
    let Some(dir) = photos_or_skip("judging_again_under_new_limits_matches_checking_under_them")
    else {
        return;
    };
    let mut other: Profile = profile().clone();
    let r = &mut other.rules;
    (r.head_length.min, r.head_length.max, r.head_length.margin) = (Some(17.5), Some(24.0), 0.2);
    r.head_length.reject_below = Some(12.0);
    r.background.max = Some(25.0);
    r.background.reject_above = Some(40.0);
    r.sharpness.min = Some(30.0);
    r.head_centring.reject_above = Some(3.0);
    r.brightness.margin = 2.0;
    other.attributes.block = vec![RuleId::Jewellery];
    other.retouching.editors.push("adobe".into());
    let (mut changed, mut reframed, mut photos) = (0, 0, 0);
    for (file, (_, report)) in all_reports(&dir) {
        photos += 1;
        let report = report.as_ref().expect("checked");
        let bytes = std::fs::read(dir.join(file)).expect("readable");
        let fresh = check(&bytes, &other, &ctx());
        // Where to crop depends on the geometry limits, and judging again keeps the crop it was
        // given: a photo the new limits frame elsewhere has other measures, so it needs a new check.
        if fresh.framing != report.framing {
            reframed += 1;
            continue;
        }
        let again = rejudge::report(report, &other);
        let statuses = |r: &photocheck_core::Report| -> Vec<(RuleId, Status, bool)> {
            r.rules
                .iter()
                .map(|x| (x.rule, x.status, x.unusable))
                .collect()
        };
        assert_eq!(statuses(&again), statuses(&fresh), "{file}");
        assert_eq!(again.decision, fresh.decision, "{file}");
        assert_eq!(rejudge::decision(&again.rules), fresh.decision, "{file}");
        changed += usize::from(statuses(&again) != statuses(report));
    }
    // The new head-length limits move every crop; the photos judged as submitted are still compared.
    assert!(
        reframed * 2 <= photos,
        "most photos keep their framing: {reframed} of {photos} were framed anew"
    );
    assert!(
        changed >= 20,
        "the new limits should matter to many photos, changed {changed}"
    );
}
