//! One tuning run put together: the profile's decisions against the labels, per-rule statistics,
//! sweeps, the proposal and the misjudged photos. [`Summary`] is what summary.json holds and what
//! the report shows.

use chrono::NaiveDate;
use photocheck_core::{Decision, Profile, RuleId, Status};
use serde::Serialize;

use crate::check::Checked;
use crate::metrics::{self, Counts, LengthError, RuleStats, Table};
use crate::set::SampleSet;
use crate::sweep::{self, Change, LookEvidence, Proposal, Sweep};

#[derive(Debug, Clone, Serialize)]
pub struct SetSummary {
    pub name: String,
    pub dir: String,
    pub photos: usize,
    pub compliant: usize,
}

/// The decision numbers for one profile.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    pub profile: String,
    /// Non-compliant photos approved automatically.
    pub false_approvals: usize,
    /// Compliant photos approved automatically, as a share of the compliant photos.
    pub automation_rate: f64,
    /// Photos sent to review, as a share of all photos.
    pub review_rate: f64,
    /// Compliant photos rejected automatically.
    pub wrong_rejections: usize,
    pub decisions: Counts,
}

impl Outcome {
    pub fn new(profile: &Profile, c: Counts) -> Outcome {
        Outcome {
            profile: profile.name.clone(),
            false_approvals: c.false_approvals,
            automation_rate: metrics::round3(c.automation_rate()),
            review_rate: metrics::round3(c.review_rate()),
            wrong_rejections: c.wrong_rejections,
            decisions: c,
        }
    }
}

/// Why a photo is shown as misjudged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Misjudgement {
    /// Non-compliant and approved.
    FalseApproval,
    /// Compliant and rejected.
    WrongRejection,
    /// A rule the photo breaks passed (another rule still stopped the photo).
    BrokenRulePassed,
}

#[derive(Debug, Clone, Serialize)]
pub struct Misjudged {
    pub id: String,
    pub kind: Misjudgement,
    pub decision: Decision,
    pub compliant: bool,
    /// Labelled broken, engine passed.
    pub missed: Vec<RuleId>,
    /// Labelled kept, engine failed.
    pub wrongly_failed: Vec<RuleId>,
    pub note: String,
    /// Index into the checked photos, for drawing.
    #[serde(skip)]
    pub photo: usize,
}

/// Everything a tuning run found; summary.json is this, serialised.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub profile: String,
    pub today: NaiveDate,
    pub sets: Vec<SetSummary>,
    pub photos: usize,
    pub compliant: usize,
    pub non_compliant: usize,
    pub false_approvals: usize,
    pub automation_rate: f64,
    pub review_rate: f64,
    pub wrong_rejections: usize,
    pub decisions: Counts,
    pub head_length_error_mm: Option<LengthError>,
    /// The same over the photos the engine framed: measured in the crop, against the labelled rows.
    pub framed_head_length_error_mm: Option<LengthError>,
    pub misjudged: Vec<Misjudged>,
    pub rules: Vec<RuleStats>,
    pub looks: Vec<LookEvidence>,
    pub proposed: Outcome,
    pub proposed_changes: Vec<Change>,
    pub sweeps: Vec<Sweep>,
}

impl Summary {
    /// The starting profile's numbers, in the shape the proposal's are given.
    pub fn outcome(&self) -> Outcome {
        Outcome {
            profile: self.profile.clone(),
            false_approvals: self.false_approvals,
            automation_rate: self.automation_rate,
            review_rate: self.review_rate,
            wrong_rejections: self.wrong_rejections,
            decisions: self.decisions,
        }
    }
}

/// The tuning result and the proposed profile.
pub struct Tuning {
    pub summary: Summary,
    pub proposal: Proposal,
    /// (id, true mm, measured mm) for the photos with ground truth.
    pub head_lengths: Vec<(String, f64, f64)>,
}

pub fn evaluate(
    sets: &[SampleSet],
    photos: &[Checked],
    profile: &Profile,
    today: NaiveDate,
) -> Tuning {
    let table = Table::new(photos, profile);
    let counts = table.counts(photos);
    let heads = metrics::head_length_errors(photos, profile);
    let proposal = sweep::propose(photos, profile);
    let mut sweeps = sweep::sweeps(photos, profile);
    for s in &mut sweeps {
        let proposed = proposal
            .profile
            .rules
            .get(s.rule)
            .and_then(|l| s.bound.get(l));
        s.proposed = proposed.filter(|p| *p != s.current);
    }
    let outcome = Outcome::new(profile, counts);
    let summary = Summary {
        profile: profile.name.clone(),
        today,
        sets: sets
            .iter()
            .map(|s| SetSummary {
                name: s.info.name.clone(),
                dir: s.dir.display().to_string(),
                photos: s.samples.len(),
                compliant: s.samples.iter().filter(|x| x.label.compliant).count(),
            })
            .collect(),
        photos: counts.photos,
        compliant: counts.compliant,
        non_compliant: counts.non_compliant,
        false_approvals: outcome.false_approvals,
        automation_rate: outcome.automation_rate,
        review_rate: outcome.review_rate,
        wrong_rejections: outcome.wrong_rejections,
        decisions: counts,
        head_length_error_mm: heads.all,
        framed_head_length_error_mm: heads.framed,
        misjudged: misjudged(photos, &table),
        rules: metrics::rule_stats(photos, &table),
        looks: proposal.looks.clone(),
        proposed: Outcome::new(&proposal.profile, proposal.counts),
        proposed_changes: proposal.changes.clone(),
        sweeps,
    };
    Tuning {
        summary,
        proposal,
        head_lengths: heads.each,
    }
}

/// False approvals, then wrong rejections, then photos where a broken rule passed.
fn misjudged(photos: &[Checked], table: &Table) -> Vec<Misjudged> {
    let mut out = Vec::new();
    for (i, p) in photos.iter().enumerate() {
        let decision = table.decision(i);
        let judged = |r: RuleId| !p.label.unjudged.contains(&r) && p.report.error.is_none();
        let missed: Vec<RuleId> = p
            .label
            .breaks
            .iter()
            .copied()
            .filter(|&r| judged(r) && table.status(i, r).0 == Status::Pass)
            .collect();
        let wrongly_failed: Vec<RuleId> = RuleId::ALL
            .into_iter()
            .filter(|&r| judged(r) && !p.label.breaks(r) && table.status(i, r).0 == Status::Fail)
            .collect();
        let kind = match (decision, p.label.compliant) {
            (Decision::Approve, false) => Misjudgement::FalseApproval,
            (Decision::Reject, true) => Misjudgement::WrongRejection,
            _ if !missed.is_empty() => Misjudgement::BrokenRulePassed,
            _ => continue,
        };
        out.push(Misjudged {
            id: p.id.clone(),
            kind,
            decision,
            compliant: p.label.compliant,
            missed,
            wrongly_failed,
            note: p.label.note.clone(),
            photo: i,
        });
    }
    out.sort_by_key(|m| {
        (
            match m.kind {
                Misjudgement::FalseApproval => 0,
                Misjudgement::WrongRejection => 1,
                Misjudgement::BrokenRulePassed => 2,
            },
            m.id.clone(),
        )
    });
    out
}
