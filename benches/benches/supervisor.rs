//! What the supervisor page's numbers cost at a rollout's scale: `review::stats::compute` (counts,
//! pace, the item-by-item shortfall and the hour-by-hour backlog projection) over the open queue and
//! a week of reviewed items. The page reads up to 100,000 open items per request, so this is what a
//! supervisor's reload costs the API node before any HTML is written.
//!
//! - `open_1k`: a quiet day, 1,000 open items and 2,000 reviewed;
//! - `open_100k`: a rollout week, 100,000 open items and 20,000 reviewed.
//!
//! Items are generated (deadlines spread over the next day, a few overdue, one engine reason each);
//! no services or photos are needed. Run: `cargo bench -p benches --bench supervisor`.

use std::hint::black_box;

use chrono::{DateTime, Duration, Utc};
use criterion::Criterion;
use photocheck_calendar::Calendar;
use photocheck_core::RuleId;
use photocheck_server::review::stats::compute;
use photocheck_store::{Channel, Decision, Reason, ReviewItem, ReviewerDecision};

/// `open` items due from an hour ago to a day ahead, soonest first (as the store returns them),
/// and `reviewed` decided over the last week, 60 of them in the last hour (the pace).
fn queue(open: usize, reviewed: usize, now: DateTime<Utc>) -> (Vec<ReviewItem>, Vec<ReviewItem>) {
    let rules = [
        RuleId::EyesOpen,
        RuleId::Background,
        RuleId::Headwear,
        RuleId::Pose,
    ];
    let item = |k: usize, due_at: DateTime<Utc>| ReviewItem {
        submission_id: uuid::Uuid::from_u128(k as u128),
        applicant_id: format!("A{k:07}"),
        channel: Channel::Album,
        received_at: due_at - Duration::hours(24),
        due_at,
        queued_at: due_at - Duration::hours(24),
        audit: k.is_multiple_of(50),
        engine_decision: Decision::Review,
        engine_reasons: vec![Reason {
            code: "uncertain".into(),
            rule: rules[k % rules.len()],
            message_en: "uncertain".into(),
            message_zh: "待定".into(),
        }],
        claimed_by: None,
        lease_until: None,
        reviewed: None,
    };
    let span = 25 * 3600 / open.max(1) as i64;
    let open_items = (0..open)
        .map(|k| {
            item(
                k,
                now - Duration::hours(1) + Duration::seconds(span * k as i64),
            )
        })
        .collect();
    let decided = (0..reviewed)
        .map(|k| {
            let decided_at = if k < 60 {
                now - Duration::minutes(k as i64)
            } else {
                now - Duration::seconds((7 * 24 * 3600 * k / reviewed) as i64)
            };
            ReviewItem {
                reviewed: Some(ReviewerDecision {
                    decision: if k.is_multiple_of(10) {
                        Decision::Reject
                    } else {
                        Decision::Approve
                    },
                    reasons: if k.is_multiple_of(10) {
                        vec!["jewellery".into()]
                    } else {
                        Vec::new()
                    },
                    note: None,
                    decided_by: format!("reviewer{}", k % 12),
                    decided_at,
                }),
                ..item(open + k, decided_at + Duration::hours(2))
            }
        })
        .collect();
    (open_items, decided)
}

fn main() {
    let calendar = Calendar::builtin();
    let now = Utc::now();
    let mut c = Criterion::default().configure_from_args();
    for (name, open, reviewed) in [("open_1k", 1_000, 2_000), ("open_100k", 100_000, 20_000)] {
        let (open, decided) = queue(open, reviewed, now);
        c.bench_function(name, |b| {
            b.iter(|| compute(black_box(&open), black_box(&decided), now, &calendar))
        });
    }
    c.final_summary();
}
