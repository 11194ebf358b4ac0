//! How a profile's decisions compare with the labels: the decision counts operators steer by (false
//! approvals above all), per-rule confusion matrices and value distributions, and the head-length
//! error against ground truth.
//!
//! [`Table`] holds every photo's rule outcomes under some profile; changing one rule's limits
//! recomputes one column, which is what makes sweeps and the proposal search cheap.

use photocheck_core::profile::Limit;
use photocheck_core::rules::decision_of;
use photocheck_core::{rejudge, Decision, Profile, RuleId, Status};
use serde::Serialize;

use crate::check::Checked;

/// Every photo's (status, unusable) per rule under one profile.
#[derive(Debug, Clone)]
pub struct Table {
    rows: Vec<[(Status, bool); RuleId::ALL.len()]>,
    /// Photos the engine could not check keep the decision it gave them.
    fixed: Vec<Option<Decision>>,
}

const ABSENT: (Status, bool) = (Status::Pass, false);

impl Table {
    pub fn new(photos: &[Checked], profile: &Profile) -> Table {
        let mut rows = Vec::with_capacity(photos.len());
        let mut fixed = Vec::with_capacity(photos.len());
        for p in photos {
            let mut row = [ABSENT; RuleId::ALL.len()];
            if p.report.error.is_some() {
                fixed.push(Some(p.report.decision));
            } else {
                fixed.push(None);
                for r in rejudge::rules(&p.report, profile) {
                    row[r.rule.index()] = (r.status, r.unusable);
                }
            }
            rows.push(row);
        }
        Table { rows, fixed }
    }

    /// Judges one rule again under `profile` (its limit, or whether it reviews that look).
    pub fn rejudge_rule(&mut self, photos: &[Checked], profile: &Profile, rule: RuleId) {
        for (i, p) in photos.iter().enumerate() {
            if self.fixed[i].is_some() {
                continue;
            }
            let cell = &mut self.rows[i][rule.index()];
            if rejudge::is_attribute(rule) {
                *cell = if profile.attributes.block.contains(&rule) {
                    (Status::Uncertain, false)
                } else {
                    ABSENT
                };
            } else if let Some(r) = p.report.rule(rule) {
                let again = rejudge::rule(r, &p.report, profile);
                *cell = (again.status, again.unusable);
            }
        }
    }

    pub fn decision(&self, photo: usize) -> Decision {
        self.fixed[photo].unwrap_or_else(|| decision_of(self.rows[photo].iter().copied()))
    }

    pub fn status(&self, photo: usize, rule: RuleId) -> (Status, bool) {
        self.rows[photo][rule.index()]
    }

    pub fn counts(&self, photos: &[Checked]) -> Counts {
        let mut c = Counts::default();
        for (i, p) in photos.iter().enumerate() {
            c.add(p.label.compliant, self.decision(i), p.report.framed());
        }
        c
    }
}

/// Decisions against labels.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub photos: usize,
    pub compliant: usize,
    pub non_compliant: usize,
    pub approved: usize,
    pub reviewed: usize,
    pub rejected: usize,
    /// Non-compliant photos approved automatically: the number that must be zero.
    pub false_approvals: usize,
    /// Compliant photos approved automatically.
    pub correct_approvals: usize,
    /// Approvals of a crop that framing cut from the upload (of all approvals).
    pub framed_approvals: usize,
    /// Compliant photos rejected automatically.
    pub wrong_rejections: usize,
    pub correct_rejections: usize,
}

impl Counts {
    fn add(&mut self, compliant: bool, decision: Decision, framed: bool) {
        self.photos += 1;
        self.framed_approvals += usize::from(framed && decision == Decision::Approve);
        if compliant {
            self.compliant += 1;
        } else {
            self.non_compliant += 1;
        }
        match (decision, compliant) {
            (Decision::Approve, true) => self.correct_approvals += 1,
            (Decision::Approve, false) => self.false_approvals += 1,
            (Decision::Reject, true) => self.wrong_rejections += 1,
            (Decision::Reject, false) => self.correct_rejections += 1,
            (Decision::Review, _) => {}
        }
        match decision {
            Decision::Approve => self.approved += 1,
            Decision::Review => self.reviewed += 1,
            Decision::Reject => self.rejected += 1,
        }
    }

    /// Share of compliant photos approved without a reviewer.
    pub fn automation_rate(&self) -> f64 {
        share(self.correct_approvals, self.compliant)
    }

    /// Share of all photos sent to a reviewer.
    pub fn review_rate(&self) -> f64 {
        share(self.reviewed, self.photos)
    }
}

fn share(n: usize, of: usize) -> f64 {
    if of == 0 {
        0.0
    } else {
        n as f64 / of as f64
    }
}

/// Engine status against the label for one rule.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct StatusCounts {
    pub fail: usize,
    pub uncertain: usize,
    pub pass: usize,
}

impl StatusCounts {
    fn add(&mut self, s: Status) {
        match s {
            Status::Fail => self.fail += 1,
            Status::Uncertain => self.uncertain += 1,
            Status::Pass => self.pass += 1,
        }
    }

    pub fn total(&self) -> usize {
        self.fail + self.uncertain + self.pass
    }
}

/// One rule over the photos whose label judges it.
#[derive(Debug, Clone, Serialize)]
pub struct RuleStats {
    pub rule: RuleId,
    /// Photos labelled as breaking the rule, by engine status.
    pub broken: StatusCounts,
    /// Photos labelled as keeping the rule, by engine status.
    pub kept: StatusCounts,
    /// Of the photos the engine fails on this rule, the share that do break it.
    pub precision: Option<f64>,
    /// Of the photos that break the rule, the share the engine fails.
    pub recall: Option<f64>,
    /// Of the photos that break the rule, the share the engine does not pass (fail or uncertain):
    /// below 1, a broken rule slips through this rule unseen.
    pub flagged_recall: Option<f64>,
    /// Measured values (photos where the rule has one), for the distributions.
    pub values_kept: Vec<f64>,
    pub values_broken: Vec<f64>,
}

/// Per-rule confusion and value distributions under the table's profile.
pub fn rule_stats(photos: &[Checked], table: &Table) -> Vec<RuleStats> {
    let mut out = Vec::new();
    for rule in RuleId::ALL {
        let mut s = RuleStats {
            rule,
            broken: StatusCounts::default(),
            kept: StatusCounts::default(),
            precision: None,
            recall: None,
            flagged_recall: None,
            values_kept: Vec::new(),
            values_broken: Vec::new(),
        };
        for (i, p) in photos.iter().enumerate() {
            if p.label.unjudged.contains(&rule) {
                continue;
            }
            if p.report.error.is_some() {
                continue;
            }
            let result = p.report.rule(rule);
            // A look the profile does not review is absent from the report: it passed unseen.
            if result.is_none() && !rejudge::is_attribute(rule) {
                continue;
            }
            let broken = p.label.breaks(rule);
            let (status, _) = table.status(i, rule);
            if broken {
                s.broken.add(status);
            } else {
                s.kept.add(status);
            }
            if let Some(v) = result.and_then(|r| r.value) {
                if broken {
                    s.values_broken.push(v);
                } else {
                    s.values_kept.push(v);
                }
            }
        }
        if s.broken.total() + s.kept.total() == 0 {
            continue;
        }
        let failed = s.broken.fail + s.kept.fail;
        s.precision = (failed > 0).then(|| s.broken.fail as f64 / failed as f64);
        let b = s.broken.total();
        s.recall = (b > 0).then(|| s.broken.fail as f64 / b as f64);
        s.flagged_recall = (b > 0).then(|| (s.broken.fail + s.broken.uncertain) as f64 / b as f64);
        out.push(s);
    }
    out
}

/// Measured head length against the labelled crown and chin rows.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct LengthError {
    /// Photos with both ground truth and a measured head.
    pub photos: usize,
    /// Median of |measured - true|, mm.
    pub median: f64,
    /// Largest |measured - true|, mm.
    pub max: f64,
    /// Mean of measured - true: above 0, the engine measures heads long.
    pub mean_signed: f64,
    /// Labelled photos where the engine found no head to measure.
    pub unmeasured: usize,
}

pub struct HeadErrors {
    /// Each photo's (id, true mm, measured mm).
    pub each: Vec<(String, f64, f64)>,
    pub all: Option<LengthError>,
    pub framed: Option<LengthError>,
}

/// The head-length errors: each photo's (id, true mm, measured mm), their summary, and the summary
/// over the framed photos alone (their mm are of the crop the engine cut, so this is what an
/// approved phone photo's archive copy gets).
pub fn head_length_errors(photos: &[Checked], profile: &Profile) -> HeadErrors {
    let mut each = Vec::new();
    let mut framed = Vec::new();
    let (mut unmeasured, mut framed_unmeasured) = (0, 0);
    for p in photos {
        let Some(truth_px) = p.label.head_length_px() else {
            continue;
        };
        let was_framed = p.report.framed();
        if p.report.height == 0 {
            unmeasured += 1;
            continue;
        }
        // The labelled rows are of the upload; the measured mm are of the judged photo.
        let truth = profile.px_to_mm(truth_px, p.report.judged_height());
        match p.report.head {
            Some(h) => {
                each.push((p.id.clone(), truth, h.length_mm));
                if was_framed {
                    framed.push((truth, h.length_mm));
                }
            }
            None => {
                unmeasured += 1;
                framed_unmeasured += usize::from(was_framed);
            }
        }
    }
    let pairs: Vec<(f64, f64)> = each.iter().map(|(_, t, m)| (*t, *m)).collect();
    let all = summarise(&pairs, unmeasured);
    HeadErrors {
        each,
        all,
        framed: summarise(&framed, framed_unmeasured),
    }
}

fn summarise(pairs: &[(f64, f64)], unmeasured: usize) -> Option<LengthError> {
    if pairs.is_empty() {
        return None;
    }
    let mut abs: Vec<f64> = pairs.iter().map(|(t, m)| (m - t).abs()).collect();
    abs.sort_by(f64::total_cmp);
    Some(LengthError {
        photos: pairs.len(),
        median: round3(median(&abs)),
        max: round3(abs[abs.len() - 1]),
        mean_signed: round3(pairs.iter().map(|(t, m)| m - t).sum::<f64>() / pairs.len() as f64),
        unmeasured,
    })
}

/// Median of sorted values.
pub fn median(sorted: &[f64]) -> f64 {
    let n = sorted.len();
    if n == 0 {
        return f64::NAN;
    }
    if n % 2 == 1 {
        sorted[n / 2]
    } else {
        (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
    }
}

pub fn round3(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}

/// The limit of a rule as a profile holds it, for display.
pub fn limit_text(limit: &Limit) -> String {
    let mut parts = Vec::new();
    if let Some(v) = limit.min {
        parts.push(format!("min {v}"));
    }
    if let Some(v) = limit.max {
        parts.push(format!("max {v}"));
    }
    if limit.margin > 0.0 {
        parts.push(format!("margin {}", limit.margin));
    }
    if let Some(v) = limit.reject_below {
        parts.push(format!("reject below {v}"));
    }
    if let Some(v) = limit.reject_above {
        parts.push(format!("reject above {v}"));
    }
    parts.join(", ")
}

#[cfg(test)]
mod tests {
    use photocheck_core::{Profile, RuleId};

    use super::*;
    use crate::fixtures::photo;

    #[test]
    fn decisions_are_counted_against_the_labels() {
        // Unblocked, so a photo with an unchecked look can be approved: a false approval to count.
        let mut p = Profile::default_profile();
        p.attributes.block.clear();
        let photos = vec![
            photo("ok", &[(RuleId::Background, 4.0)], &[], &p),
            photo("doubt", &[(RuleId::Background, 13.0)], &[], &p),
            photo("wrongly-rejected", &[(RuleId::Background, 60.0)], &[], &p),
            photo(
                "slipped",
                &[(RuleId::Background, 4.0)],
                &[RuleId::Jewellery],
                &p,
            ),
            photo(
                "caught",
                &[(RuleId::Background, 60.0)],
                &[RuleId::Background],
                &p,
            ),
        ];
        let table = Table::new(&photos, &p);
        let c = table.counts(&photos);
        assert_eq!((c.photos, c.compliant, c.non_compliant), (5, 3, 2));
        assert_eq!((c.approved, c.reviewed, c.rejected), (2, 1, 2));
        assert_eq!(
            (c.false_approvals, c.wrong_rejections, c.correct_rejections),
            (1, 1, 1)
        );
        assert!((c.automation_rate() - 1.0 / 3.0).abs() < 1e-9);
        assert!((c.review_rate() - 0.2).abs() < 1e-9);

        let stats = rule_stats(&photos, &table);
        let bg = stats.iter().find(|s| s.rule == RuleId::Background).unwrap();
        assert_eq!(
            (
                bg.broken.fail,
                bg.kept.fail,
                bg.kept.uncertain,
                bg.kept.pass
            ),
            (1, 1, 1, 2)
        );
        assert_eq!((bg.precision, bg.recall), (Some(0.5), Some(1.0)));
        assert_eq!(bg.values_broken, vec![60.0]);
        let eyewear = stats.iter().find(|s| s.rule == RuleId::Jewellery).unwrap();
        assert_eq!(
            eyewear.flagged_recall,
            Some(0.0),
            "an unreviewed look passes unseen"
        );
    }

    #[test]
    fn head_length_error_is_measured_against_labelled_rows() {
        let p = Profile::default_profile();
        let mut a = photo("a", &[], &[], &p);
        let mut b = photo("b", &[], &[], &p);
        for (c, measured, rows) in [(&mut a, 20.0, (15.0, 255.0)), (&mut b, 21.0, (15.0, 258.0))] {
            c.report.height = 378;
            c.label.crown_y = Some(rows.0);
            c.label.chin_y = Some(rows.1);
            c.report.head = Some(photocheck_core::HeadReport {
                crown_y: 0.0,
                chin_y: 0.0,
                left_x: 0.0,
                right_x: 0.0,
                centre_x: 0.0,
                length_px: 0.0,
                width_px: 0.0,
                length_mm: measured,
                width_mm: 0.0,
                centre_offset_mm: 0.0,
                top_margin_ref_px: 0.0,
                crown_at_edge: false,
                chin_from_edge: true,
                chin_from: Default::default(),
            });
        }
        let HeadErrors { each, all, framed } = head_length_errors(&[a, b], &p);
        assert_eq!(framed, None);
        let e = all.unwrap();
        // 240 px of 378 = 20.317 mm; 243 px = 20.571 mm.
        assert_eq!(each.len(), 2);
        assert_eq!(e.photos, 2);
        assert!((e.max - 0.429).abs() < 0.002, "{e:?}");
        assert!((e.median - (0.317 + 0.429) / 2.0).abs() < 0.002, "{e:?}");
    }
}
