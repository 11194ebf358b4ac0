//! Threshold sweeps (what each limit does to the decisions, one at a time) and the proposed profile:
//! zero false approvals first, then no more wrong rejections than the starting profile, then the
//! fewest reviews; among equals, the value closest to the starting one.

use photocheck_core::profile::Limit;
use photocheck_core::RuleInfo as _;
use photocheck_core::{Profile, RuleId};
use rayon::prelude::*;
use serde::Serialize;

use crate::check::Checked;
use crate::metrics::{Counts, Table};

/// Rules whose limits are the published requirement itself (photo size, head size, crown position,
/// photo age): a proposal never moves their min or max, only how much measuring doubt (margin) and
/// how far out (reject bounds) they allow. The other rules' limits are the engine's own proxies for
/// wording like "white background" or "even light", and are the operator's to move.
pub const PUBLISHED: [RuleId; 6] = [
    RuleId::Dimensions,
    RuleId::Resolution,
    RuleId::HeadLength,
    RuleId::HeadWidth,
    RuleId::TopMargin,
    RuleId::Recency,
];

/// A look may stop going to review only when the set shows at least this many photos breaking it and
/// none of them would then be approved: without evidence, no change.
pub const MIN_LOOK_EVIDENCE: usize = 5;

/// Points per sweep curve.
const SWEEP_POINTS: usize = 61;
/// Most values tried for one bound by the proposal.
const MAX_CANDIDATES: usize = 160;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Bound {
    Min,
    Max,
    Margin,
    RejectBelow,
    RejectAbove,
}

impl Bound {
    pub const ALL: [Bound; 5] = [
        Bound::Min,
        Bound::Max,
        Bound::Margin,
        Bound::RejectBelow,
        Bound::RejectAbove,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Bound::Min => "min",
            Bound::Max => "max",
            Bound::Margin => "margin",
            Bound::RejectBelow => "reject_below",
            Bound::RejectAbove => "reject_above",
        }
    }

    pub fn get(self, l: &Limit) -> Option<f64> {
        match self {
            Bound::Min => l.min,
            Bound::Max => l.max,
            Bound::Margin => (l.margin > 0.0).then_some(l.margin),
            Bound::RejectBelow => l.reject_below,
            Bound::RejectAbove => l.reject_above,
        }
    }

    pub fn set(self, l: &mut Limit, v: f64) {
        match self {
            Bound::Min => l.min = Some(v),
            Bound::Max => l.max = Some(v),
            Bound::Margin => l.margin = v,
            Bound::RejectBelow => l.reject_below = Some(v),
            Bound::RejectAbove => l.reject_above = Some(v),
        }
    }

    /// The profile key, e.g. `rules.background.max`.
    pub fn key(self, rule: RuleId) -> String {
        format!("rules.{rule}.{}", self.as_str())
    }
}

/// A limit that keeps its parts in order: min <= max, and the reject bounds outside the doubt band.
fn consistent(l: &Limit) -> bool {
    let m = l.margin;
    m >= 0.0
        && !matches!((l.min, l.max), (Some(lo), Some(hi)) if lo > hi)
        && !matches!((l.reject_below, l.min), (Some(r), Some(lo)) if r > lo - m)
        && !matches!((l.reject_above, l.max), (Some(r), Some(hi)) if r < hi + m)
}

/// One point of a sweep.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Point {
    pub value: f64,
    pub false_approvals: usize,
    pub automation_rate: f64,
    pub review_rate: f64,
    pub wrong_rejections: usize,
}

/// One bound moved across its range, everything else as in the profile.
#[derive(Debug, Clone, Serialize)]
pub struct Sweep {
    pub rule: RuleId,
    pub bound: Bound,
    pub key: String,
    pub current: f64,
    pub proposed: Option<f64>,
    pub points: Vec<Point>,
}

fn point(value: f64, c: &Counts) -> Point {
    Point {
        value,
        false_approvals: c.false_approvals,
        automation_rate: c.automation_rate(),
        review_rate: c.review_rate(),
        wrong_rejections: c.wrong_rejections,
    }
}

/// The measured values of a rule over all photos, sorted.
fn values(photos: &[Checked], rule: RuleId) -> Vec<f64> {
    let mut v: Vec<f64> = photos
        .iter()
        .filter_map(|p| p.report.rule(rule)?.value)
        .filter(|v| v.is_finite())
        .collect();
    v.sort_by(f64::total_cmp);
    v
}

/// Every bound the profile sets, swept over the measured range (and the current value).
pub fn sweeps(photos: &[Checked], profile: &Profile) -> Vec<Sweep> {
    let base = Table::new(photos, profile);
    let mut jobs = Vec::new();
    for (rule, limit) in profile.rules.iter() {
        for bound in Bound::ALL {
            if let Some(current) = bound.get(limit) {
                jobs.push((rule, bound, current));
            }
        }
    }
    jobs.into_par_iter()
        .map(|(rule, bound, current)| {
            let vals = values(photos, rule);
            let margin = profile.rules.get(rule).map_or(0.0, |l| l.margin);
            let grid = sweep_grid(&vals, bound, current, margin);
            let mut trial = profile.clone();
            let mut table = base.clone();
            let points = grid
                .into_iter()
                .map(|v| {
                    if let Some(l) = trial.rules.get_mut(rule) {
                        bound.set(l, v);
                    }
                    table.rejudge_rule(photos, &trial, rule);
                    point(v, &table.counts(photos))
                })
                .collect();
            Sweep {
                rule,
                bound,
                key: bound.key(rule),
                current,
                proposed: None,
                points,
            }
        })
        .collect()
}

/// Evenly spaced values over the measured range padded by a tenth, always including the current one.
fn sweep_grid(vals: &[f64], bound: Bound, current: f64, margin: f64) -> Vec<f64> {
    let (mut lo, mut hi) = match bound {
        Bound::Margin => (0.0, (current * 3.0).max(f64::EPSILON)),
        // Wide enough that the pass boundary (a margin inside the limit) crosses every value.
        _ => match (vals.first(), vals.last()) {
            (Some(&a), Some(&b)) => ((a - margin).min(current), (b + margin).max(current)),
            _ => (current * 0.5, current * 1.5),
        },
    };
    if bound != Bound::Margin {
        let pad = ((hi - lo) * 0.1).max(current.abs() * 0.05).max(1e-3);
        (lo, hi) = (lo - pad, hi + pad);
    }
    let step = (hi - lo) / (SWEEP_POINTS - 1) as f64;
    let mut grid: Vec<f64> = (0..SWEEP_POINTS)
        .map(|i| round_value(lo + step * i as f64))
        .collect();
    grid.push(current);
    grid.sort_by(f64::total_cmp);
    grid.dedup();
    grid
}

/// Rounds to 3 significant decimals of the value's size: limits are typed by people.
fn round_value(v: f64) -> f64 {
    let scale = if v.abs() >= 100.0 {
        10.0
    } else if v.abs() >= 10.0 {
        100.0
    } else {
        1000.0
    };
    (v * scale).round() / scale
}

/// One change the proposal makes.
#[derive(Debug, Clone, Serialize)]
pub struct Change {
    pub key: String,
    pub from: String,
    pub to: String,
}

/// How often each look breaks in the set, and what not reviewing it would approve.
#[derive(Debug, Clone, Serialize)]
pub struct LookEvidence {
    pub rule: RuleId,
    pub reviewed: bool,
    /// Photos labelled as breaking this look.
    pub breaking: usize,
    /// Of those, how many the measured rules alone would approve (no look reviewed).
    pub approved_if_unreviewed: usize,
    pub dropped: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Proposal {
    #[serde(skip)]
    pub profile: Profile,
    pub changes: Vec<Change>,
    pub counts: Counts,
    pub looks: Vec<LookEvidence>,
}

/// The proposed profile: looks first (dropped from review only on evidence), then each bound in turn
/// set to its best value, repeated until nothing moves.
pub fn propose(photos: &[Checked], base: &Profile) -> Proposal {
    let mut profile = base.clone();
    let mut table = Table::new(photos, &profile);
    let start = table.counts(photos);
    let score = |c: &Counts| {
        (
            c.false_approvals,
            c.wrong_rejections.saturating_sub(start.wrong_rejections),
            c.reviewed,
        )
    };
    let mut changes = Vec::new();

    // A look may go unreviewed only if the measured rules alone stop every photo breaking it: judged
    // with no look reviewed at all, since a photo reviewed for another look would otherwise hide it.
    let mut measured_only = profile.clone();
    measured_only.attributes.block.clear();
    let bare = Table::new(photos, &measured_only);
    let mut looks = Vec::new();
    for rule in RuleId::ALL
        .into_iter()
        .filter(|r| r.kind() == photocheck_core::rules::Kind::NotChecked)
    {
        let reviewed = profile.attributes.block.contains(&rule);
        let breaking: Vec<usize> = (0..photos.len())
            .filter(|&i| photos[i].label.breaks(rule))
            .collect();
        let approved_if_unreviewed = breaking
            .iter()
            .filter(|&&i| bare.decision(i) == photocheck_core::Decision::Approve)
            .count();
        let mut trial = profile.clone();
        trial.attributes.block.retain(|r| *r != rule);
        let mut t = table.clone();
        t.rejudge_rule(photos, &trial, rule);
        let dropped = reviewed
            && breaking.len() >= MIN_LOOK_EVIDENCE
            && approved_if_unreviewed == 0
            && score(&t.counts(photos)) <= score(&table.counts(photos));
        if dropped {
            changes.push(Change {
                key: "attributes.block".into(),
                from: format!("includes {rule}"),
                to: format!("without {rule}"),
            });
            profile = trial;
            table = t;
        }
        looks.push(LookEvidence {
            rule,
            reviewed,
            breaking: breaking.len(),
            approved_if_unreviewed,
            dropped,
        });
    }

    let tunables = tunables(base);
    let mut moved: Vec<(RuleId, Bound)> = Vec::new();
    for _pass in 0..4 {
        let mut any = false;
        for &(rule, bound) in &tunables {
            let (Some(orig_limit), Some(cur_limit)) =
                (base.rules.get(rule), profile.rules.get(rule))
            else {
                continue;
            };
            let (Some(original), Some(current)) = (bound.get(orig_limit), bound.get(cur_limit))
            else {
                continue;
            };
            let cur_limit = *cur_limit;
            let kept = kept_values(photos, rule);
            let clear = clearance(orig_limit, bound);
            let mut candidates = candidates(&values(photos, rule), bound, current);
            // Going back to where it started is always an option, and the preferred one among equals.
            candidates.push(original);
            let best = candidates
                .into_par_iter()
                .filter_map(|c| {
                    let mut l = cur_limit;
                    bound.set(&mut l, c);
                    if !consistent(&l) || !clear_of_kept(&l, bound, &kept, clear) {
                        return None;
                    }
                    let mut trial = profile.clone();
                    *trial.rules.get_mut(rule)? = l;
                    let mut t = table.clone();
                    t.rejudge_rule(photos, &trial, rule);
                    Some((score(&t.counts(photos)), (c - original).abs(), c))
                })
                .min_by(|a, b| a.0.cmp(&b.0).then(a.1.total_cmp(&b.1)));
            let Some((best_score, _, value)) = best else {
                continue;
            };
            let now = score(&table.counts(photos));
            let closer = (value - original).abs() < (current - original).abs();
            if value != current && (best_score < now || (best_score == now && closer)) {
                if let Some(l) = profile.rules.get_mut(rule) {
                    bound.set(l, value);
                }
                table.rejudge_rule(photos, &profile, rule);
                if !moved.contains(&(rule, bound)) {
                    moved.push((rule, bound));
                }
                any = true;
            }
        }
        if !any {
            break;
        }
    }
    for (rule, bound) in moved {
        let from = base.rules.get(rule).and_then(|l| bound.get(l));
        let to = profile.rules.get(rule).and_then(|l| bound.get(l));
        if from != to {
            let show = |v: Option<f64>| v.map_or("none".into(), |v| v.to_string());
            changes.push(Change {
                key: bound.key(rule),
                from: show(from),
                to: show(to),
            });
        }
    }
    profile.description = format!(
        "{} (thresholds proposed by photocheck tune)",
        base.description
    );
    Proposal {
        counts: table.counts(photos),
        profile,
        changes,
        looks,
    }
}

/// The bounds a proposal may move.
pub fn tunables(profile: &Profile) -> Vec<(RuleId, Bound)> {
    let mut out = Vec::new();
    for (rule, limit) in profile.rules.iter() {
        let published = PUBLISHED.contains(&rule);
        for bound in Bound::ALL {
            let allowed = match bound {
                Bound::Min | Bound::Max => !published,
                Bound::Margin | Bound::RejectBelow | Bound::RejectAbove => true,
            };
            if allowed && bound.get(limit).is_some() {
                out.push((rule, bound));
            }
        }
    }
    out
}

/// Values of photos whose label keeps the rule: a reject bound must stay clear of them.
fn kept_values(photos: &[Checked], rule: RuleId) -> Vec<f64> {
    photos
        .iter()
        .filter(|p| !p.label.breaks(rule) && !p.label.unjudged.contains(&rule))
        .filter_map(|p| p.report.rule(rule)?.value)
        .collect()
}

/// How far a reject bound must stay from every photo that keeps the rule: its margin plus a tenth of
/// the starting gap between the limit and the reject bound. Without it a set with few compliant
/// photos would teach the proposal to reject whatever the set happens not to contain.
fn clearance(original: &Limit, bound: Bound) -> f64 {
    let gap = match bound {
        Bound::RejectBelow => original.min.zip(original.reject_below).map(|(m, r)| m - r),
        Bound::RejectAbove => original.max.zip(original.reject_above).map(|(m, r)| r - m),
        _ => None,
    };
    original.margin + 0.1 * gap.unwrap_or(0.0).abs()
}

/// A reject bound that keeps `clearance` from every photo that keeps the rule.
fn clear_of_kept(l: &Limit, bound: Bound, kept: &[f64], clearance: f64) -> bool {
    match bound {
        Bound::RejectBelow => l
            .reject_below
            .is_none_or(|r| kept.iter().all(|&v| v >= r + clearance)),
        Bound::RejectAbove => l
            .reject_above
            .is_none_or(|r| kept.iter().all(|&v| v <= r - clearance)),
        _ => true,
    }
}

/// Values worth trying for a bound: midway between neighbouring measured values (every place a
/// decision can change), thinned to at most MAX_CANDIDATES, and the current value.
fn candidates(vals: &[f64], bound: Bound, current: f64) -> Vec<f64> {
    let mut out: Vec<f64> = match bound {
        Bound::Margin => (0..=20)
            .map(|i| round_value(current * 2.0 * i as f64 / 20.0))
            .collect(),
        _ => {
            let mut distinct: Vec<f64> = vals.to_vec();
            distinct.dedup();
            let mids: Vec<f64> = distinct
                .windows(2)
                .map(|w| round_value((w[0] + w[1]) / 2.0))
                .collect();
            let step = mids.len().div_ceil(MAX_CANDIDATES).max(1);
            mids.into_iter().step_by(step).collect()
        }
    };
    out.push(current);
    out.sort_by(f64::total_cmp);
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_bounds_round_trip_through_a_limit() {
        let mut l = Limit::default();
        for (i, b) in Bound::ALL.into_iter().enumerate() {
            b.set(&mut l, i as f64 + 1.0);
            assert_eq!(b.get(&l), Some(i as f64 + 1.0));
        }
        assert_eq!(
            Bound::RejectAbove.key(RuleId::Background),
            "rules.background.reject_above"
        );
    }

    #[test]
    fn inconsistent_limits_are_not_tried() {
        let ok = Limit {
            min: Some(19.0),
            max: Some(22.0),
            margin: 0.4,
            reject_below: Some(9.5),
            reject_above: Some(30.0),
        };
        assert!(consistent(&ok));
        assert!(!consistent(&Limit {
            min: Some(23.0),
            ..ok
        }));
        assert!(!consistent(&Limit {
            reject_below: Some(18.8),
            ..ok
        }));
        assert!(!consistent(&Limit {
            reject_above: Some(22.2),
            ..ok
        }));
    }

    #[test]
    fn reject_bounds_stay_clear_of_photos_that_keep_the_rule() {
        let l = Limit {
            max: Some(14.0),
            margin: 3.0,
            reject_above: Some(40.0),
            ..Limit::default()
        };
        // margin 3 + a tenth of the 26 between max and reject_above.
        let c = clearance(&l, Bound::RejectAbove);
        assert!((c - 5.6).abs() < 1e-9, "{c}");
        assert!(clear_of_kept(&l, Bound::RejectAbove, &[10.0, 34.0], c));
        assert!(!clear_of_kept(&l, Bound::RejectAbove, &[10.0, 35.0], c));
    }

    #[test]
    fn published_rules_keep_their_min_and_max() {
        let t = tunables(&Profile::default_profile());
        assert!(!t.contains(&(RuleId::HeadLength, Bound::Min)));
        assert!(t.contains(&(RuleId::HeadLength, Bound::Margin)));
        assert!(t.contains(&(RuleId::Background, Bound::Max)));
        assert!(t.contains(&(RuleId::Background, Bound::RejectAbove)));
    }

    #[test]
    fn candidates_sit_between_measured_values() {
        let c = candidates(&[1.0, 2.0, 2.0, 4.0], Bound::Max, 3.5);
        assert_eq!(c, vec![1.5, 3.0, 3.5]);
    }
}

#[cfg(test)]
mod proposal_tests {
    use photocheck_core::{Profile, RuleId};

    use super::*;
    use crate::fixtures::photo;
    use crate::metrics::Table;

    /// The default profile with no looks reviewed, so measured rules alone decide.
    fn unreviewed() -> Profile {
        let mut p = Profile::default_profile();
        p.attributes.block.clear();
        p
    }

    fn bg(id: &str, delta_e: f64, broken: bool, p: &Profile) -> Checked {
        let breaks: &[RuleId] = if broken { &[RuleId::Background] } else { &[] };
        photo(
            id,
            &[(RuleId::Background, delta_e), (RuleId::HeadLength, 20.5)],
            breaks,
            p,
        )
    }

    #[test]
    fn a_doubtful_compliant_photo_is_automated_when_no_broken_one_gets_through() {
        let p = unreviewed();
        let photos = vec![
            bg("a", 5.0, false, &p),
            bg("b", 8.0, false, &p),
            bg("c", 16.0, false, &p),
            bg("d", 25.0, true, &p),
            bg("e", 30.0, true, &p),
        ];
        let before = Table::new(&photos, &p).counts(&photos);
        assert_eq!((before.correct_approvals, before.false_approvals), (2, 0));
        let prop = propose(&photos, &p);
        let l = prop.profile.rules.background;
        let pass_below = l.max.unwrap() - l.margin;
        assert!(pass_below > 16.0 && pass_below <= 25.0, "{l:?}");
        assert_eq!(
            (prop.counts.correct_approvals, prop.counts.false_approvals),
            (3, 0)
        );
        assert!(prop.changes.iter().any(|c| c.key == "rules.background.max"));
        assert_eq!(
            prop.profile.rules.head_length, p.rules.head_length,
            "published limits stay"
        );
    }

    #[test]
    fn a_false_approval_is_removed_at_the_least_cost() {
        let p = unreviewed();
        let photos = vec![
            bg("a", 5.0, false, &p),
            bg("b", 8.0, false, &p),
            bg("bad", 10.0, true, &p),
        ];
        assert_eq!(Table::new(&photos, &p).counts(&photos).false_approvals, 1);
        let prop = propose(&photos, &p);
        assert_eq!(prop.counts.false_approvals, 0);
        assert_eq!(
            prop.counts.correct_approvals, 2,
            "both clean photos still approved"
        );
        let l = prop.profile.rules.background;
        let pass_below = l.max.unwrap() - l.margin;
        assert!(pass_below > 8.0 && pass_below <= 10.0, "{l:?}");
    }

    #[test]
    fn looks_stay_reviewed_without_evidence_or_when_dropping_them_approves_a_broken_photo() {
        let mut p = Profile::default_profile();
        p.attributes.block = vec![RuleId::Jewellery, RuleId::Makeup];
        let glasses = |id: &str, bg_value: f64| {
            photo(
                id,
                &[(RuleId::Background, bg_value)],
                &[RuleId::Jewellery],
                &p,
            )
        };
        // Five photos with sunglasses, all clean otherwise: reviewing eyewear is what stops them.
        let photos: Vec<Checked> = (0..5).map(|i| glasses(&format!("g{i}"), 4.0)).collect();
        let prop = propose(&photos, &p);
        let eyewear = prop
            .looks
            .iter()
            .find(|l| l.rule == RuleId::Jewellery)
            .unwrap();
        assert_eq!(
            (
                eyewear.breaking,
                eyewear.approved_if_unreviewed,
                eyewear.dropped
            ),
            (5, 5, false)
        );
        assert!(prop.profile.attributes.block.contains(&RuleId::Jewellery));
        let eyes = prop
            .looks
            .iter()
            .find(|l| l.rule == RuleId::Makeup)
            .unwrap();
        assert_eq!(
            (eyes.breaking, eyes.dropped),
            (0, false),
            "no evidence, no change"
        );
        assert!(prop.profile.attributes.block.contains(&RuleId::Makeup));
    }

    #[test]
    fn sweeps_show_false_approvals_rising_as_a_limit_loosens() {
        let p = unreviewed();
        let photos = vec![bg("a", 5.0, false, &p), bg("bad", 20.0, true, &p)];
        let all = sweeps(&photos, &p);
        let s = all
            .iter()
            .find(|s| s.key == "rules.background.max")
            .unwrap();
        let at = |v: f64| s.points.iter().rfind(|x| x.value <= v).unwrap();
        assert_eq!(at(14.0).false_approvals, 0);
        assert_eq!(s.points.last().unwrap().false_approvals, 1);
        assert_eq!(at(14.0).automation_rate, 1.0);
        assert!(s.points.first().unwrap().automation_rate < 1.0);
    }
}
