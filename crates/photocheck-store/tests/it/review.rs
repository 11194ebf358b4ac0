//! The review queue and the accounts on both databases: claims that exclude each other, leases that
//! expire, decisions only from the holder, sessions that end, and an audit log nobody can rewrite.

use chrono::{Duration, Utc};
use photocheck_store::{
    Account, Decision, HourActivity, Refused, ReviewDue, ReviewerDecision, Role, Store,
};
use uuid::Uuid;

use crate::{decision, postgres, postgres_with_options, sqlite, submission};

/// A submission decided `review`, due `due_in` from now.
async fn review_item(store: &Store, applicant: &str, due_in: Duration) -> Uuid {
    let id = store
        .insert_submission(&submission(applicant))
        .await
        .expect("insert")
        .id;
    store
        .record_decision(
            id,
            &decision("review"),
            Some(ReviewDue {
                due: Utc::now() + due_in,
                audit: false,
            }),
        )
        .await
        .expect("record");
    id
}

fn verdict(by: &str, what: &str) -> ReviewerDecision {
    ReviewerDecision {
        decision: Decision::parse(what).expect("a decision name"),
        reasons: if what == "reject" {
            vec!["背景不是白色".into()]
        } else {
            Vec::new()
        },
        note: Some("checked".into()),
        decided_by: by.into(),
        decided_at: Utc::now(),
    }
}

async fn queue_order_leases_and_decisions(store: Store) {
    let later = review_item(&store, "Q-later", Duration::hours(5)).await;
    let sooner = review_item(&store, "Q-sooner", Duration::hours(1)).await;
    let open = store.open_reviews(10).await.expect("open");
    assert_eq!(
        open.iter().map(|i| i.submission_id).collect::<Vec<_>>(),
        vec![sooner, later],
        "soonest due first"
    );
    let now = Utc::now();
    let lease = now + Duration::minutes(10);
    let a = store
        .claim_next("anna", lease, now, None)
        .await
        .expect("claim")
        .expect("an item");
    assert_eq!(a.submission_id, sooner);
    // Asking again gives Anna the item she holds, and Bo the next one.
    let again = store
        .claim_next("anna", lease, now, None)
        .await
        .expect("claim")
        .expect("an item");
    assert_eq!(again.submission_id, sooner);
    let b = store
        .claim_next("bo", lease, now, None)
        .await
        .expect("claim")
        .expect("an item");
    assert_eq!(b.submission_id, later);
    assert!(store
        .claim_next("cy", lease, now, None)
        .await
        .expect("claim")
        .is_none());
    assert_eq!(
        store.claim(sooner, "bo", lease, now).await.expect("claim"),
        Err(Refused::HeldBy("anna".into()))
    );
    // Bo cannot decide Anna's item; Anna can, once.
    assert_eq!(
        store
            .decide_review(sooner, &verdict("bo", "approve"))
            .await
            .expect("decide"),
        Err(Refused::HeldBy("anna".into()))
    );
    store
        .decide_review(sooner, &verdict("anna", "reject"))
        .await
        .expect("decide")
        .expect("accepted");
    assert_eq!(
        store
            .decide_review(sooner, &verdict("anna", "approve"))
            .await
            .expect("decide"),
        Err(Refused::AlreadyDecided("anna".into()))
    );
    let s = store.get(sooner).await.expect("get").expect("present");
    assert_eq!(
        s.final_decision(),
        Some(Decision::Reject),
        "the reviewer's word stands"
    );
    assert_eq!(
        s.result.as_ref().map(|r| r.decision.as_str()),
        Some("review")
    );
    let reviewed = s.reviewed.expect("reviewed");
    assert_eq!(reviewed.reasons, vec!["背景不是白色".to_owned()]);
    assert!(store
        .events(sooner)
        .await
        .expect("events")
        .iter()
        .any(|e| e.kind == "reviewed"));

    // Bo walks away; after the lease, the item is free again.
    let after = now + Duration::minutes(11);
    let c = store
        .claim_next("cy", after + Duration::minutes(10), after, None)
        .await
        .expect("claim")
        .expect("the abandoned item");
    assert_eq!(c.submission_id, later);
    assert_eq!(
        store
            .decide_review(later, &verdict("bo", "approve"))
            .await
            .expect("decide"),
        Err(Refused::HeldBy("cy".into()))
    );
    store.release(later, "cy").await.expect("release");
    // Skipped: not handed straight back to the one who skipped it, but to anyone else.
    assert!(store
        .claim_next("cy", lease, now, Some(later))
        .await
        .expect("claim")
        .is_none());
    assert_eq!(
        store.open_reviews(10).await.expect("open")[0].claimed_by,
        None
    );
    assert_eq!(
        store
            .claim(Uuid::new_v4(), "cy", lease, now)
            .await
            .expect("claim"),
        Err(Refused::NotInQueue)
    );
    let decided = store
        .decided_reviews(now - Duration::minutes(1))
        .await
        .expect("decided");
    assert_eq!(decided.len(), 1);
    let log = store.audit_log(10).await.expect("audit");
    assert_eq!(log[0].actor, "anna");
    assert_eq!(log[0].action, "review.reject");
    assert_eq!(
        log[0].before.as_ref().expect("before")["engine_decision"],
        "review"
    );
}

async fn accounts_and_sessions(store: Store) {
    assert!(!store.has_accounts().await.expect("count"));
    let anna = Account {
        name: "anna".into(),
        role: Role::Reviewer,
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
    };
    store.put_account(&anna, "cli").await.expect("create");
    assert_eq!(
        store.account("anna").await.expect("get"),
        Some(anna.clone())
    );
    store
        .put_account(
            &Account {
                role: Role::Supervisor,
                ..anna.clone()
            },
            "cli",
        )
        .await
        .expect("update");
    let now = Utc::now();
    store
        .create_session("token-hash", "anna", now + Duration::hours(1))
        .await
        .expect("session");
    let who = store
        .session_account("token-hash", now)
        .await
        .expect("session");
    assert_eq!(who.map(|a| a.role), Some(Role::Supervisor));
    assert_eq!(
        store
            .session_account("token-hash", now + Duration::hours(2))
            .await
            .expect("session"),
        None,
        "expired"
    );
    // A new password logs out whoever holds a session.
    store
        .create_session("other-hash", "anna", now + Duration::hours(1))
        .await
        .expect("session");
    let renewed = Account {
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdDI$aGFzaDI".into(),
        role: Role::Supervisor,
        ..anna.clone()
    };
    store
        .put_account(&renewed, "cli")
        .await
        .expect("new password");
    assert_eq!(
        store
            .session_account("other-hash", now)
            .await
            .expect("session"),
        None,
        "a password change ends the sessions"
    );
    store
        .create_session("token-hash", "anna", now + Duration::hours(1))
        .await
        .expect("session");
    store.end_session("token-hash").await.expect("logout");
    assert_eq!(
        store
            .session_account("token-hash", now)
            .await
            .expect("session"),
        None
    );
    let log = store.audit_log(10).await.expect("audit");
    let actions: Vec<&str> = log.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(
        actions[..3],
        ["account.update", "account.update", "account.create"]
    );
    assert!(
        !log.iter().any(|e| e
            .after
            .as_ref()
            .is_some_and(|a| a.to_string().contains("argon2"))),
        "no password hash in the audit log"
    );
}

#[tokio::test]
async fn sqlite_review_queue() {
    let (store, _dir) = sqlite().await;
    queue_order_leases_and_decisions(store.clone()).await;
    accounts_and_sessions(store).await;
}

#[tokio::test]
async fn postgres_review_queue() {
    let store = postgres().await;
    queue_order_leases_and_decisions(store.clone()).await;
    accounts_and_sessions(store).await;
}

/// Two reviewers (and more) race for the one free item, many times: exactly one wins each race.
#[tokio::test]
async fn postgres_racing_reviewers_never_share_an_item() {
    let store = postgres().await;
    for round in 0..20 {
        let id = review_item(&store, &format!("RACE-{round}"), Duration::hours(1)).await;
        let now = Utc::now();
        let racers: Vec<_> = (0..4)
            .map(|r| {
                let store = store.clone();
                tokio::spawn(async move {
                    let who = format!("reviewer-{r}");
                    let got = if r % 2 == 0 {
                        store
                            .claim_next(&who, now + Duration::minutes(5), now, None)
                            .await
                            .expect("claim")
                    } else {
                        store
                            .claim(id, &who, now + Duration::minutes(5), now)
                            .await
                            .expect("claim")
                            .ok()
                    };
                    got.map(|item| (who, item.submission_id))
                })
            })
            .collect();
        let mut winners = Vec::new();
        for r in racers {
            if let Some(w) = r.await.expect("task") {
                winners.push(w);
            }
        }
        assert_eq!(winners.len(), 1, "round {round}: {winners:?}");
        let holder = store
            .review_item(id)
            .await
            .expect("item")
            .expect("present")
            .claimed_by;
        assert_eq!(holder.as_deref(), Some(winners[0].0.as_str()));
        store
            .decide_review(id, &verdict(&winners[0].0, "approve"))
            .await
            .expect("decide")
            .expect("the winner decides");
    }
}

/// The audit log refuses changes on both databases, like the event log.
#[tokio::test]
async fn the_audit_log_is_append_only() {
    let (store, dir) = sqlite().await;
    store
        .audit("anna", "test", "nothing", None, None)
        .await
        .expect("append");
    let raw = sqlx::SqlitePool::connect(&format!(
        "sqlite:{}",
        dir.path().join("photocheck.db").display()
    ))
    .await
    .expect("raw SQLite");
    for tamper in [
        "UPDATE audit_log SET actor = 'mallory'",
        "DELETE FROM audit_log",
    ] {
        let err = sqlx::query(tamper).execute(&raw).await.expect_err(tamper);
        assert!(err.to_string().contains("append-only"), "{err}");
    }
    assert_eq!(store.audit_log(5).await.expect("log")[0].actor, "anna");

    let (store, options) = postgres_with_options().await;
    store
        .audit("anna", "test", "nothing", None, None)
        .await
        .expect("append");
    let raw = sqlx::PgPool::connect_with(options)
        .await
        .expect("raw PostgreSQL");
    for tamper in [
        "UPDATE audit_log SET actor = 'mallory'",
        "DELETE FROM audit_log",
    ] {
        let err = sqlx::query(tamper).execute(&raw).await.expect_err(tamper);
        assert!(err.to_string().contains("append-only"), "{err}");
    }
    assert_eq!(store.audit_log(5).await.expect("log")[0].actor, "anna");
}

/// Received and decided photos, counted by hour in the database.
async fn activity_is_counted_by_hour(store: Store) {
    let before = Utc::now() - Duration::hours(1);
    review_item(&store, "ACT-1", Duration::hours(5)).await;
    let id = store
        .insert_submission(&submission("ACT-2"))
        .await
        .expect("insert")
        .id;
    store
        .record_decision(id, &decision("reject"), None)
        .await
        .expect("record");
    store
        .insert_submission(&submission("ACT-3"))
        .await
        .expect("insert");
    let hours = store.hourly_activity(before).await.expect("activity");
    let sum = |f: fn(&HourActivity) -> u64| hours.iter().map(f).sum::<u64>();
    assert_eq!(sum(|h| h.received), 3, "{hours:?}");
    assert_eq!(
        (sum(|h| h.approved), sum(|h| h.review), sum(|h| h.rejected)),
        (0, 1, 1),
        "{hours:?}"
    );
    // Whole hours, the last one now's.
    let now = Utc::now();
    assert!(
        hours.iter().all(|h| h.hour <= now
            && now - h.hour < Duration::hours(2)
            && h.hour.timestamp() % 3600 == 0),
        "{hours:?}"
    );
    let later = store
        .hourly_activity(now + Duration::hours(1))
        .await
        .expect("activity");
    assert!(later.is_empty(), "{later:?}");
}

#[tokio::test]
async fn sqlite_activity() {
    let (store, _dir) = sqlite().await;
    activity_is_counted_by_hour(store).await;
}

#[tokio::test]
async fn postgres_activity() {
    activity_is_counted_by_hour(postgres().await).await;
}
