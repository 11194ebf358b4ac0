//! The store against real databases: SQLite in a temporary folder, and the PostgreSQL this project's
//! machines run on 127.0.0.1 (`.ci/run` starts it), each test in a schema of its own. Set
//! PHOTOCHECK_TEST_POSTGRES to use another server.

mod accounts;
mod review;

use std::str::FromStr;

use chrono::{Duration, Utc};
use photocheck_store::{
    testing, BlobError, BlobLocation, Blobs, Channel, Decision, EngineDecision, NewSubmission,
    Reason, Recorded, ReviewDue, S3Blobs, Status, Store, StoreError, StoredReport,
};
use photocheck_types::RuleId;
use sqlx::postgres::PgConnectOptions;
use uuid::Uuid;

const DEFAULT_POSTGRES: &str = "postgres://postgres@127.0.0.1:5432/test";

async fn sqlite() -> (Store, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite:{}", dir.path().join("photocheck.db").display());
    (Store::connect(&url).await.expect("open SQLite"), dir)
}

/// A store in a fresh schema of the test PostgreSQL.
async fn postgres() -> Store {
    postgres_with_options().await.0
}

/// The store and the connection options of its schema, for raw access.
async fn postgres_with_options() -> (Store, PgConnectOptions) {
    let url = std::env::var("PHOTOCHECK_TEST_POSTGRES").unwrap_or_else(|_| DEFAULT_POSTGRES.into());
    let schema_url = photocheck_store::testing::fresh_postgres_schema(&url)
        .await
        .unwrap_or_else(|e| panic!("PostgreSQL at {url} is needed (bash .ci/run starts it): {e}"));
    let options = PgConnectOptions::from_str(&schema_url).expect("url");
    (
        Store::postgres_with(options.clone())
            .await
            .expect("open PostgreSQL"),
        options,
    )
}

fn submission(applicant: &str) -> NewSubmission {
    NewSubmission {
        applicant_id: applicant.into(),
        licence_no: Some("110101199001011234".into()),
        channel: Channel::Camera,
        blob_key: "0123456789abcdef0123456789abcdef".into(),
        received_at: Utc::now() - Duration::minutes(5),
    }
}

fn decision(what: &str) -> EngineDecision {
    EngineDecision {
        decision: Decision::parse(what).expect("a decision name"),
        reasons: vec![Reason {
            code: "head-too-small".into(),
            rule: RuleId::HeadLength,
            message_en: "The head is too small".into(),
            message_zh: "头部过小".into(),
        }],
        report: StoredReport::of(&serde_json::json!({ "decision": what, "faces": 1 }))
            .expect("report"),
        decided_at: Utc::now(),
    }
}

/// The life of one submission, and a redelivered result, on either database.
async fn lifecycle(store: Store) {
    let id = store
        .insert_submission(&submission("A1"))
        .await
        .expect("insert")
        .id;
    let s = store.get(id).await.expect("get").expect("present");
    assert_eq!(
        (s.status, s.channel, s.result.is_none()),
        (Status::Queued, Channel::Camera, true)
    );

    assert!(store.start_processing(id).await.expect("start"));
    let due = Utc::now() + Duration::hours(24);
    let unknown = store
        .start_processing(Uuid::new_v4())
        .await
        .expect_err("unknown id");
    assert!(matches!(unknown, StoreError::NotFound(_)), "{unknown}");

    assert_eq!(
        store
            .record_decision(
                id,
                &decision("review"),
                Some(ReviewDue { due, audit: false })
            )
            .await
            .expect("record"),
        Recorded::New
    );
    // The same message delivered again, even with another outcome: the first result stands.
    match store
        .record_decision(id, &decision("approve"), None)
        .await
        .expect("record again")
    {
        Recorded::AlreadyDecided(d) => assert_eq!(d.decision, Decision::Review),
        other => panic!("expected AlreadyDecided, got {other:?}"),
    }
    let s = store.get(id).await.expect("get").expect("present");
    assert_eq!(s.status, Status::Decided);
    let result = s.result.expect("result");
    assert_eq!(result.decision, Decision::Review);
    assert_eq!(result.reasons[0].code, "head-too-small");
    let stored_due = s.due.expect("a review has a due time");
    assert!(
        (stored_due - due).num_milliseconds().abs() < 1,
        "{stored_due} vs {due}"
    );
    assert!(
        !store
            .start_processing(id)
            .await
            .expect("start after decision"),
        "decided stays decided"
    );

    let kinds: Vec<String> = store
        .events(id)
        .await
        .expect("events")
        .into_iter()
        .map(|e| e.kind)
        .collect();
    assert_eq!(
        kinds,
        ["received", "decided"],
        "one decided event for two deliveries"
    );

    let missing = store
        .record_decision(Uuid::new_v4(), &decision("review"), None)
        .await
        .expect_err("unknown id");
    assert!(matches!(missing, StoreError::NotFound(_)), "{missing}");
}

/// Stored but never published (a crash in between): the sweeper finds it until it is marked published.
async fn sweeping(store: Store) {
    let id = store
        .insert_submission(&submission("B1"))
        .await
        .expect("insert")
        .id;
    let now = Utc::now();
    assert_eq!(
        store.unpublished(now, 100).await.expect("unpublished"),
        [id]
    );
    assert!(store
        .unpublished(now - Duration::hours(1), 100)
        .await
        .expect("older")
        .is_empty());
    store.mark_published(id, now).await.expect("published");
    // Published or not, it is open until decided: an embedded queue hands it out again after a restart.
    assert_eq!(store.open_submissions(100).await.expect("open"), [id]);
    assert!(store
        .unpublished(now, 100)
        .await
        .expect("unpublished")
        .is_empty());
    assert!(store
        .get(id)
        .await
        .expect("get")
        .expect("present")
        .published_at
        .is_some());
}

/// A resubmission by the same applicant supersedes the open one; other applicants are untouched.
async fn superseding(store: Store) {
    let first = store
        .insert_submission(&submission("C1"))
        .await
        .expect("insert")
        .id;
    let other = store
        .insert_submission(&submission("C2"))
        .await
        .expect("insert")
        .id;
    let inserted = store
        .insert_submission(&submission("C1"))
        .await
        .expect("insert");
    let second = inserted.id;
    assert_eq!(inserted.superseded, [first]);
    // The superseded submission wants no decision any more: a late worker writes nothing.
    assert_eq!(
        store
            .record_decision(first, &decision("approve"), None)
            .await
            .expect("late result"),
        Recorded::Closed(Status::Superseded)
    );
    let s = store.get(first).await.expect("get").expect("present");
    assert_eq!(
        (s.status, s.superseded_by),
        (Status::Superseded, Some(second))
    );
    assert_eq!(
        store
            .get(other)
            .await
            .expect("get")
            .expect("present")
            .status,
        Status::Queued
    );
    assert_eq!(
        store
            .get(second)
            .await
            .expect("get")
            .expect("present")
            .status,
        Status::Queued
    );
    store
        .mark_failed(second, "photo cannot be read")
        .await
        .expect("fail");
    let s = store.get(second).await.expect("get").expect("present");
    assert_eq!(
        (s.status, s.failure.as_deref()),
        (Status::Failed, Some("photo cannot be read"))
    );
}

#[tokio::test]
async fn sqlite_lifecycle() {
    let (store, _dir) = sqlite().await;
    lifecycle(store).await;
}

#[tokio::test]
async fn postgres_lifecycle() {
    lifecycle(postgres().await).await;
}

#[tokio::test]
async fn sqlite_sweeping_and_superseding() {
    let (store, _dir) = sqlite().await;
    sweeping(store.clone()).await;
    superseding(store).await;
}

#[tokio::test]
async fn postgres_sweeping_and_superseding() {
    let store = postgres().await;
    sweeping(store.clone()).await;
    superseding(store).await;
}

/// Concurrent deliveries of one result (two workers, one message): exactly one writes it.
#[tokio::test]
async fn postgres_concurrent_results_write_once() {
    let store = postgres().await;
    let id = store
        .insert_submission(&submission("D1"))
        .await
        .expect("insert")
        .id;
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .record_decision(
                        id,
                        &decision(if i % 2 == 0 { "review" } else { "reject" }),
                        None,
                    )
                    .await
            })
        })
        .collect();
    let mut new = 0;
    for t in tasks {
        if t.await.expect("task").expect("record") == Recorded::New {
            new += 1;
        }
    }
    assert_eq!(new, 1);
    let decided = store
        .events(id)
        .await
        .expect("events")
        .iter()
        .filter(|e| e.kind == "decided")
        .count();
    assert_eq!(decided, 1);
}

/// The event log refuses changes and deletions, in both databases.
#[tokio::test]
async fn the_event_log_is_append_only() {
    let (store, dir) = sqlite().await;
    let id = store
        .insert_submission(&submission("E1"))
        .await
        .expect("insert")
        .id;
    let raw = sqlx::SqlitePool::connect(&format!(
        "sqlite:{}",
        dir.path().join("photocheck.db").display()
    ))
    .await
    .expect("raw SQLite");
    for tamper in ["UPDATE events SET kind = 'x'", "DELETE FROM events"] {
        let err = sqlx::query(tamper).execute(&raw).await.expect_err(tamper);
        assert!(err.to_string().contains("append-only"), "{err}");
    }
    assert_eq!(store.events(id).await.expect("events").len(), 1);

    let (store, options) = postgres_with_options().await;
    let id = store
        .insert_submission(&submission("E1"))
        .await
        .expect("insert")
        .id;
    let raw = sqlx::PgPool::connect_with(options)
        .await
        .expect("raw PostgreSQL");
    for tamper in ["UPDATE events SET kind = 'x'", "DELETE FROM events"] {
        let err = sqlx::query(tamper).execute(&raw).await.expect_err(tamper);
        assert!(err.to_string().contains("append-only"), "{err}");
    }
    assert_eq!(store.events(id).await.expect("events").len(), 1);
}

#[tokio::test]
async fn blobs_round_trip_and_refuse_foreign_keys() {
    let dir = tempfile::tempdir().expect("temp dir");
    let blobs = Blobs::open(&BlobLocation::Folder(dir.path().to_owned()), "blobs")
        .await
        .expect("open");
    let key = blobs.put(b"photo bytes").await.expect("put");
    assert_eq!(blobs.get(&key).await.expect("get"), b"photo bytes");
    assert!(blobs.get("../../etc/passwd").await.is_err());
    assert!(blobs
        .get(&"0".repeat(32))
        .await
        .unwrap_err()
        .to_string()
        .contains("no blob"));
    let leftovers: Vec<_> = std::fs::read_dir(dir.path().join("blobs"))
        .expect("dir")
        .collect();
    assert_eq!(leftovers.len(), 1, "no partial files left behind");
}

/// The multi-node blob store on a real S3-compatible server (moto, started by `.ci/run`).
#[tokio::test]
async fn s3_blobs_round_trip_and_refuse_foreign_keys() {
    let endpoint = testing::s3_endpoint();
    let bucket = testing::fresh_s3_bucket(&endpoint)
        .await
        .unwrap_or_else(|e| {
            panic!("an S3-compatible server is needed (bash .ci/run starts one): {e}")
        });
    let blobs = Blobs::S3(
        S3Blobs::connect(testing::s3_builder(&endpoint, &bucket), "prod/uploads")
            .await
            .expect("connect"),
    );
    let photo: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    let key = blobs.put(&photo).await.expect("put");
    assert_eq!(blobs.get(&key).await.expect("get"), photo);
    // A second write under the same key (a redelivered job) replaces it whole.
    blobs.put_at(&key, b"again").await.expect("put again");
    assert_eq!(blobs.get(&key).await.expect("get"), b"again");
    assert!(matches!(
        blobs.get(&"0".repeat(32)).await,
        Err(BlobError::NotFound(_))
    ));
    assert!(matches!(
        blobs.get("../../etc/passwd").await,
        Err(BlobError::BadKey(_))
    ));
    // The object sits under the prefix, named by its key alone.
    let raw = S3Blobs::connect(testing::s3_builder(&endpoint, &bucket), "prod")
        .await
        .expect("connect");
    assert!(matches!(
        Blobs::S3(raw).get(&key).await,
        Err(BlobError::NotFound(_))
    ));
}

/// A bucket that does not exist is reported when the store opens, not at the first upload.
#[tokio::test]
async fn a_missing_bucket_is_reported_at_start() {
    let endpoint = testing::s3_endpoint();
    let err = S3Blobs::connect(
        testing::s3_builder(&endpoint, "photocheck-no-such-bucket"),
        "uploads",
    )
    .await
    .expect_err("no bucket");
    let text = err.to_string();
    assert!(
        text.contains("s3://photocheck-no-such-bucket/uploads"),
        "{text}"
    );
}

#[tokio::test]
async fn unknown_database_urls_are_refused() {
    let err = Store::connect("mysql://localhost/x")
        .await
        .err()
        .expect("refused");
    assert!(
        err.to_string().contains("unsupported database URL"),
        "{err}"
    );
}
