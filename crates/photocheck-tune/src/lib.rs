//! photocheck-tune: what operators use to decide how strict each rule is. Labelled sample sets (their
//! format and the generators that derive them from source portraits), evaluation of a profile against
//! the labels with the same engine production runs, threshold sweeps, a proposed profile, and the
//! report that shows it all.

pub mod build;
pub mod check;
pub mod compare;
pub mod evaluate;
pub mod metrics;
pub mod report;
pub mod set;
pub mod sweep;

/// Hand-made reports with chosen values, for testing the evaluation without photos.
#[cfg(test)]
pub(crate) mod fixtures {
    use photocheck_core::{rules, Decision, Profile, Report, RuleId, RuleResult};

    use crate::check::Checked;
    use crate::set::Label;

    /// A checked photo whose report holds `values` judged under `profile`, plus the looks it reviews.
    pub fn photo(
        id: &str,
        values: &[(RuleId, f64)],
        breaks: &[RuleId],
        profile: &Profile,
    ) -> Checked {
        let mut report = Report::not_checked(
            Decision::Review,
            "x",
            String::new(),
            String::new(),
            String::new(),
            profile,
        );
        report.error = None;
        report.reasons.clear();
        report.rules = values
            .iter()
            .filter_map(|&(rule, v)| Some(RuleResult::measured(rule, v, profile.rules.get(rule)?)))
            .collect();
        // Judged again so the looks the profile reviews are listed, as a check lists them.
        report.rules = photocheck_core::rejudge::rules(&report, profile);
        (report.decision, report.reasons) = rules::decide(&report.rules);
        Checked {
            id: id.into(),
            path: id.into(),
            label: Label {
                compliant: breaks.is_empty(),
                breaks: breaks.to_vec(),
                ..Label::default()
            },
            report,
        }
    }
}
