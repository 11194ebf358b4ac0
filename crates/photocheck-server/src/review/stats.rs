//! The supervisor's numbers, computed from the open items and the recent decisions: what is due and
//! overdue, how much was reviewed on time, each reviewer's pace, and whether the backlog can be cleared
//! by its deadlines at the current pace.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use photocheck_calendar::Calendar;
use photocheck_store::{HourActivity, ReviewItem};
use photocheck_types::{Decision, RuleId};

/// How far back "the current pace" looks.
pub const PACE_WINDOW_HOURS: i64 = 1;

#[derive(Debug, Clone, PartialEq)]
pub struct Stats {
    pub open: usize,
    pub overdue: usize,
    pub due_within_2h: usize,
    /// Not yet overdue, due before the end of today (local).
    pub due_today: usize,
    /// The soonest deadline among the open items.
    pub earliest_due: Option<DateTime<Utc>>,
    /// Decided on or before their deadline, of those decided in the period.
    pub on_time: usize,
    pub decided: usize,
    /// Decisions per reviewer in the pace window, per hour.
    pub per_reviewer_per_hour: BTreeMap<String, f64>,
    /// All reviewers together, per hour.
    pub team_per_hour: f64,
    /// Audit items reviewed, and how many of those the reviewer rejected (engine errors).
    pub audits_reviewed: usize,
    pub audits_rejected: usize,
    /// Among audited approvals the reviewers rejected: how many they rejected for each reason code.
    /// A code that recurs names a look the engine approves wrongly (often one it does not check):
    /// block it in the profile or raise the audit share.
    pub audit_rejects_by_reason: BTreeMap<String, usize>,
    /// Set when some deadline still ahead cannot be met at the current pace: the first item that
    /// would be late (the overdue ones are late already; they count as work to do before it).
    /// `None` also when nobody reviewed in the pace window: the pace is unknown, not zero.
    pub shortfall: Option<Shortfall>,
    /// The open items against the office hours left to clear them, hour by hour.
    pub backlog: Projection,
    /// The rules the engine gave reasons under, among the open items: items per rule, most first.
    pub open_reasons: Vec<(RuleId, usize)>,
    /// Received and decided per hour over the last days; filled by the page's handler from the
    /// store (empty from [`compute`]).
    pub activity: Vec<HourActivity>,
}

/// What must be done by when, against the time there is to do it: for each clock hour from now
/// on, the open items due by its end (the overdue ones included) and the office hours of working
/// days until then (a team works office hours: nights, weekends and holidays add nothing).
#[derive(Debug, Clone, PartialEq)]
pub struct Projection {
    pub overdue: usize,
    pub hours: Vec<HourMark>,
    /// Due after the last hour shown.
    pub later: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub struct HourMark {
    /// The end of the clock hour.
    pub end: DateTime<Utc>,
    pub due_by_then: usize,
    pub office_hours: f64,
    /// Some item due in this hour cannot be reached at the recent pace (as [`Stats::shortfall`]
    /// judges it, item by item).
    pub late: bool,
}

/// Hours the projection shows at least (a working day's deadlines are the same clock time on the
/// next working day, so a day ahead holds them) and at most (past a long weekend or a holiday
/// week, deadlines collect at the first working day's closing and count as later).
pub const PROJECTION_MIN_HOURS: i64 = 24;
pub const PROJECTION_MAX_HOURS: i64 = 96;

/// Reasons the open-reasons chart shows.
pub const TOP_REASONS: usize = 8;

#[derive(Debug, Clone, PartialEq)]
pub struct Shortfall {
    /// Items that must be done before that item's deadline (itself included).
    pub items_before: usize,
    pub due_at: DateTime<Utc>,
    /// Hours the team needs for them at the current pace.
    pub hours_needed: f64,
}

impl Stats {
    pub fn on_time_share(&self) -> Option<f64> {
        (self.decided > 0).then(|| self.on_time as f64 / self.decided as f64)
    }
}

/// `open`: open items soonest due first; `decided`: items decided in the reporting period; the
/// calendar gives the local day and the office hours left before each deadline.
pub fn compute(
    open: &[ReviewItem],
    decided: &[ReviewItem],
    now: DateTime<Utc>,
    calendar: &Calendar,
) -> Stats {
    let zone = calendar.offset_at(now);
    let end_of_today = {
        let local = now.with_timezone(&zone).date_naive();
        let midnight = local
            .succ_opt()
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .and_then(|t| t.and_local_timezone(zone).single());
        midnight.map_or(now, |m| m.with_timezone(&Utc))
    };
    let overdue = open.iter().filter(|i| i.due_at < now).count();
    let due_within_2h = open
        .iter()
        .filter(|i| i.due_at >= now && i.due_at < now + Duration::hours(2))
        .count();
    let due_today = open
        .iter()
        .filter(|i| i.due_at >= now && i.due_at < end_of_today)
        .count();
    let mut on_time = 0;
    let mut per_reviewer: BTreeMap<String, f64> = BTreeMap::new();
    let window_start = now - Duration::hours(PACE_WINDOW_HOURS);
    let (mut audits_reviewed, mut audits_rejected) = (0, 0);
    let mut audit_rejects_by_reason: BTreeMap<String, usize> = BTreeMap::new();
    for item in decided {
        let Some(r) = &item.reviewed else { continue };
        if r.decided_at <= item.due_at {
            on_time += 1;
        }
        if r.decided_at >= window_start {
            *per_reviewer.entry(r.decided_by.clone()).or_default() +=
                1.0 / PACE_WINDOW_HOURS as f64;
        }
        if item.audit {
            audits_reviewed += 1;
            if r.decision == Decision::Reject {
                audits_rejected += 1;
                for code in &r.reasons {
                    *audit_rejects_by_reason.entry(code.clone()).or_default() += 1;
                }
            }
        }
    }
    // Folded from +0.0: an empty float sum is -0.0, which the page printed as "-0.0".
    let team_per_hour: f64 = per_reviewer.values().fold(0.0, |a, b| a + b);
    // Soonest due first: the k-th item is on time only if k items can be done in the office hours
    // before its deadline (the overdue ones are done first and are late already). With no
    // decisions in the window there is no pace to project from, and nothing is called late.
    let late: Vec<bool> = open
        .iter()
        .enumerate()
        .map(|(k, item)| {
            team_per_hour > 0.0
                && item.due_at >= now
                && (k + 1) as f64 / team_per_hour > calendar.office_hours_between(now, item.due_at)
        })
        .collect();
    let shortfall = late.iter().position(|l| *l).map(|k| Shortfall {
        items_before: k + 1,
        due_at: open[k].due_at,
        hours_needed: (k + 1) as f64 / team_per_hour,
    });
    let backlog = project(open, &late, now, calendar);
    let mut open_reasons = rules_of_open(open);
    open_reasons.truncate(TOP_REASONS);
    Stats {
        open: open.len(),
        overdue,
        due_within_2h,
        due_today,
        earliest_due: open.iter().map(|i| i.due_at).min(),
        on_time,
        decided: decided.iter().filter(|i| i.reviewed.is_some()).count(),
        per_reviewer_per_hour: per_reviewer,
        team_per_hour,
        audits_reviewed,
        audits_rejected,
        audit_rejects_by_reason,
        shortfall,
        backlog,
        open_reasons,
        activity: Vec::new(),
    }
}

/// The rules the engine gave reasons under, with how many of `items` have one: most first, ties in
/// report order. An item with two reasons under one rule counts once.
pub fn rules_of_open(items: &[ReviewItem]) -> Vec<(RuleId, usize)> {
    let mut counts: BTreeMap<RuleId, usize> = BTreeMap::new();
    for item in items {
        let mut rules: Vec<RuleId> = item.engine_reasons.iter().map(|r| r.rule).collect();
        rules.sort();
        rules.dedup();
        for rule in rules {
            *counts.entry(rule).or_default() += 1;
        }
    }
    let mut sorted: Vec<(RuleId, usize)> = counts.into_iter().collect();
    sorted.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    sorted
}

/// The projection from `now` through the last deadline within [`PROJECTION_MAX_HOURS`], in whole
/// clock hours, and at least [`PROJECTION_MIN_HOURS`] long.
fn project(
    open: &[ReviewItem],
    late: &[bool],
    now: DateTime<Utc>,
    calendar: &Calendar,
) -> Projection {
    use chrono::DurationRound;
    let hour = now.duration_trunc(Duration::hours(1)).unwrap_or(now);
    let cap = hour + Duration::hours(PROJECTION_MAX_HOURS);
    let last_due = open
        .iter()
        .map(|i| i.due_at)
        .filter(|due| *due <= cap)
        .max()
        .unwrap_or(now);
    let span = ((last_due - hour).num_minutes() + 59) / 60;
    let span = span.clamp(PROJECTION_MIN_HOURS, PROJECTION_MAX_HOURS);
    // One pass over the items (a queue may hold 100,000): each falls in the hour whose end is the
    // first at or after its deadline.
    let (mut overdue, mut later) = (0, 0);
    let mut due_in = vec![0usize; span as usize];
    let mut late_in = vec![false; span as usize];
    for (item, late) in open.iter().zip(late) {
        if item.due_at < now {
            overdue += 1;
            continue;
        }
        let k = ((item.due_at - hour).num_seconds() + 3599) / 3600;
        match usize::try_from(k.max(1) - 1)
            .ok()
            .filter(|k| *k < due_in.len())
        {
            Some(k) => {
                due_in[k] += 1;
                late_in[k] |= *late;
            }
            None => later += 1,
        }
    }
    let mut due_by_then = overdue;
    let hours = (0..due_in.len())
        .map(|k| {
            due_by_then += due_in[k];
            let end = hour + Duration::hours(k as i64 + 1);
            HourMark {
                end,
                due_by_then,
                office_hours: calendar.office_hours_between(now, end),
                late: late_in[k],
            }
        })
        .collect();
    Projection {
        overdue,
        hours,
        later,
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use photocheck_store::ReviewerDecision;
    use uuid::Uuid;

    /// An open item due in `due_in_min` minutes (also used by the page tests).
    pub(in crate::review) fn item(due_in_min: i64, now: DateTime<Utc>) -> ReviewItem {
        ReviewItem {
            submission_id: Uuid::new_v4(),
            applicant_id: "A".into(),
            channel: photocheck_store::Channel::Camera,
            received_at: now - Duration::hours(1),
            due_at: now + Duration::minutes(due_in_min),
            queued_at: now - Duration::hours(1),
            audit: false,
            engine_decision: Decision::Review,
            engine_reasons: Vec::new(),
            claimed_by: None,
            lease_until: None,
            reviewed: None,
        }
    }

    fn done(by: &str, ago_min: i64, late: bool, now: DateTime<Utc>) -> ReviewItem {
        let at = now - Duration::minutes(ago_min);
        ReviewItem {
            due_at: if late {
                at - Duration::minutes(1)
            } else {
                at + Duration::minutes(1)
            },
            reviewed: Some(ReviewerDecision {
                decision: Decision::Approve,
                reasons: vec![],
                note: None,
                decided_by: by.into(),
                decided_at: at,
            }),
            ..item(0, now)
        }
    }

    #[test]
    fn counts_pace_and_a_backlog_that_cannot_be_cleared() {
        let calendar = Calendar::builtin();
        // 10:00 in Shanghai.
        let now = DateTime::parse_from_rfc3339("2026-03-02T10:00:00+08:00")
            .expect("time")
            .with_timezone(&Utc);
        let open = vec![
            item(-30, now),
            item(60, now),
            item(90, now),
            item(600, now),
            item(2000, now),
        ];
        let decided = vec![
            done("anna", 10, false, now),
            done("anna", 20, false, now),
            done("bo", 30, true, now),
            done("bo", 120, false, now),
        ];
        let s = compute(&open, &decided, now, &calendar);
        assert_eq!(
            (s.open, s.overdue, s.due_within_2h, s.due_today),
            (5, 1, 2, 3)
        );
        assert_eq!((s.on_time, s.decided), (3, 4));
        assert_eq!(s.per_reviewer_per_hour["anna"], 2.0);
        assert_eq!(s.per_reviewer_per_hour["bo"], 1.0);
        assert_eq!(s.team_per_hour, 3.0);
        // The overdue item is counted as overdue; with it done first, 1 item in 20 min before 60
        // min, 2 in 40 before 90, ... still fit.
        assert_eq!(s.shortfall, None);
        // At one an hour (bo alone) the item due in an hour, second in line, cannot be reached.
        let slow = compute(&open, &decided[2..], now, &calendar);
        let f = slow.shortfall.expect("a shortfall");
        assert_eq!((f.items_before, f.due_at), (2, now + Duration::hours(1)));

        let on_track = compute(&open[1..], &decided, now, &calendar);
        // 1 item in 20 min before 60 min, 2 in 40 before 90, 3 in 60 before 600, 4 in 80 before 2000.
        assert_eq!(on_track.shortfall, None);
        // Nobody reviewed lately: the pace is unknown, which is no alarm (and no "-0.0").
        let nobody = compute(&open[1..], &[], now, &calendar);
        assert_eq!(nobody.shortfall, None);
        assert!(nobody.team_per_hour.is_sign_positive() && nobody.team_per_hour == 0.0);
    }

    #[test]
    fn the_backlog_is_projected_against_office_hours_across_a_weekend() {
        let calendar = Calendar::builtin();
        // Friday 11 December 2026, 16:00 in Shanghai: an hour and a half of office left today.
        let now = DateTime::parse_from_rfc3339("2026-12-11T16:00:00+08:00")
            .expect("time")
            .with_timezone(&Utc);
        let hours = |h: i64| item(h * 60, now);
        // One overdue; two due at 17:00 and 18:00; four due Monday 10:00 (66 h ahead), one a
        // fortnight ahead.
        let mut open = vec![hours(1), hours(2), item(-10, now), hours(14 * 24)];
        open.extend((0..4).map(|_| hours(66)));
        open.sort_by_key(|i| i.due_at);
        let s = compute(&open, &[], now, &calendar);
        let p = &s.backlog;
        assert_eq!((p.overdue, p.later), (1, 1));
        // From 16:00 to Monday 10:00, whole hours.
        assert_eq!(p.hours.len(), 66);
        let at = |h: usize| (p.hours[h - 1].due_by_then, p.hours[h - 1].office_hours);
        assert_eq!(at(1), (2, 1.0), "17:00");
        assert_eq!(at(2), (3, 1.5), "18:00: the office closed at 17:30");
        assert_eq!(at(65), (3, 1.5), "Monday 09:00: the weekend added nothing");
        assert_eq!(at(66), (7, 2.5), "Monday 10:00");
        // Without the overdue one: one decision in the last hour is a pace of one an hour, and
        // the 1.5 office hours before 18:00 are not enough for the two items due by then.
        let decided = vec![done("anna", 10, false, now)];
        let s = compute(&open[1..], &decided, now, &calendar);
        let f = s.shortfall.expect("a shortfall");
        assert_eq!(f.items_before, 2);
        assert_eq!(f.due_at, now + Duration::hours(2));
    }

    #[test]
    fn audited_approvals_rejected_by_reviewers_are_counted_per_reason() {
        let calendar = Calendar::builtin();
        let now = Utc::now();
        let audited = |decision: Decision, reasons: &[&str]| {
            let mut i = done("anna", 10, false, now);
            i.audit = true;
            i.engine_decision = Decision::Approve;
            let r = i.reviewed.as_mut().expect("reviewed");
            r.decision = decision;
            r.reasons = reasons.iter().map(|c| (*c).to_owned()).collect();
            i
        };
        let decided = vec![
            audited(Decision::Reject, &["jewellery"]),
            audited(Decision::Reject, &["jewellery", "ears-not-visible"]),
            audited(Decision::Approve, &[]),
            // Not an audit: a reviewed doubtful photo is not evidence about approvals.
            {
                let mut i = done("bo", 5, false, now);
                i.reviewed.as_mut().expect("reviewed").decision = Decision::Reject;
                i.reviewed.as_mut().expect("reviewed").reasons = vec!["jewellery".into()];
                i
            },
        ];
        let s = compute(&[], &decided, now, &calendar);
        assert_eq!((s.audits_reviewed, s.audits_rejected), (3, 2));
        assert_eq!(
            s.audit_rejects_by_reason.into_iter().collect::<Vec<_>>(),
            [
                ("ears-not-visible".to_owned(), 1),
                ("jewellery".to_owned(), 2)
            ]
        );
    }
}
