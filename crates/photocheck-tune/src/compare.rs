//! Two profiles on the same labelled photos: which photos change decision, and which rules made them.
//! Each photo is checked under both profiles in full (not judged again), so changes to detection,
//! segmentation or background settings show too.

use photocheck_core::{Decision, RuleId, Status};
use serde::Serialize;

use crate::check::Checked;
use crate::evaluate::Outcome;
use crate::metrics::Table;

/// One rule whose status differs.
#[derive(Debug, Clone, Serialize)]
pub struct RuleChange {
    pub rule: RuleId,
    pub from: Option<Status>,
    pub to: Option<Status>,
    pub value_a: Option<f64>,
    pub value_b: Option<f64>,
}

/// A photo whose decision differs.
#[derive(Debug, Clone, Serialize)]
pub struct DecisionChange {
    pub id: String,
    pub compliant: bool,
    pub from: Decision,
    pub to: Decision,
    /// True when B's decision is the better one for the label (approve a compliant photo rather than
    /// review it, never approve a non-compliant one), false when worse.
    pub better: bool,
    pub rules: Vec<RuleChange>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Comparison {
    pub a: Outcome,
    pub b: Outcome,
    pub changes: Vec<DecisionChange>,
}

/// Compares the same photos checked under profile A and profile B (same order).
pub fn compare(
    a: &[Checked],
    b: &[Checked],
    profile_a: &photocheck_core::Profile,
    profile_b: &photocheck_core::Profile,
) -> Comparison {
    let mut changes = Vec::new();
    for (pa, pb) in a.iter().zip(b) {
        let (from, to) = (pa.report.decision, pb.report.decision);
        if from == to {
            continue;
        }
        let rules = RuleId::ALL
            .into_iter()
            .filter_map(|rule| {
                let (ra, rb) = (pa.report.rule(rule), pb.report.rule(rule));
                let (sa, sb) = (ra.map(|r| r.status), rb.map(|r| r.status));
                (sa != sb || ra.map(|r| r.unusable) != rb.map(|r| r.unusable)).then(|| RuleChange {
                    rule,
                    from: sa,
                    to: sb,
                    value_a: ra.and_then(|r| r.value),
                    value_b: rb.and_then(|r| r.value),
                })
            })
            .collect();
        changes.push(DecisionChange {
            id: pa.id.clone(),
            compliant: pa.label.compliant,
            from,
            to,
            better: rank(to, pa.label.compliant) > rank(from, pa.label.compliant),
            rules,
        });
    }
    Comparison {
        a: outcome(a, profile_a),
        b: outcome(b, profile_b),
        changes,
    }
}

fn outcome(photos: &[Checked], profile: &photocheck_core::Profile) -> Outcome {
    Outcome::new(profile, Table::new(photos, profile).counts(photos))
}

/// How good a decision is for a photo with this label: for a compliant photo approve > review >
/// reject; for a non-compliant one reject > review > approve.
fn rank(d: Decision, compliant: bool) -> u8 {
    match (d, compliant) {
        (Decision::Approve, true) | (Decision::Reject, false) => 2,
        (Decision::Review, _) => 1,
        (Decision::Reject, true) | (Decision::Approve, false) => 0,
    }
}
