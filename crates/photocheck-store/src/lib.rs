//! photocheck-store: the source of truth. Submissions, their one result, and an append-only event log,
//! in SQLite (the embedded default) or PostgreSQL (multi-node), through sqlx with migrations; and the
//! blob store the photos themselves go to.
//!
//! A result is written once: recording a decision for a submission that already has one changes nothing
//! and says so, so a message delivered twice still gives one result.

mod blobs;
#[cfg(feature = "testing")]
pub mod testing;

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions};
use sqlx::{PgPool, Row, SqlitePool};
use uuid::Uuid;

pub use crate::blobs::{BlobError, BlobLocation, Blobs, LocalBlobs, S3Blobs};
use photocheck_types::{ApplicantReason, DecidedBy, ResultEvent};
pub use photocheck_types::{Decision, Reason};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("unsupported database URL {0:?}: use sqlite:PATH or postgres://...")]
    UnsupportedUrl(String),
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migrations: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("no submission {0}")]
    NotFound(Uuid),
    #[error("stored data is not valid: {0}")]
    Corrupt(String),
}

impl StoreError {
    /// Worth retrying: the database was unreachable or busy, not wrong.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            StoreError::Database(
                sqlx::Error::Io(_)
                    | sqlx::Error::PoolTimedOut
                    | sqlx::Error::PoolClosed
                    | sqlx::Error::Protocol(_)
            )
        )
    }
}

/// How the photo reached the applicant's upload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Channel {
    /// A photo already on file.
    Stored,
    Camera,
    Album,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Queued,
    Processing,
    Decided,
    Failed,
    /// A newer submission by the same applicant replaced it before it was decided.
    Superseded,
}

macro_rules! text_enum {
    ($ty:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        impl $ty {
            pub fn as_str(self) -> &'static str {
                match self { $($ty::$variant => $text),+ }
            }
        }
        impl FromStr for $ty {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                match s { $($text => Ok($ty::$variant),)+ other => Err(format!("not a {}: {other:?}", stringify!($ty))) }
            }
        }
        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result { f.write_str(self.as_str()) }
        }
    };
}

text_enum!(Channel { Stored => "stored", Camera => "camera", Album => "album" });
text_enum!(Status {
    Queued => "queued",
    Processing => "processing",
    Decided => "decided",
    Failed => "failed",
    Superseded => "superseded",
});

/// The blob key of what is made from a submission's photo (its archive copy, its reviewer overlay),
/// each in its own part of the blob store: the submission id, so writing it twice writes one file.
pub fn archive_key(id: Uuid) -> String {
    id.simple().to_string()
}

/// What the intake knows of a new submission; the photo is already in the blob store under `blob_key`.
#[derive(Debug, Clone)]
pub struct NewSubmission {
    pub applicant_id: String,
    pub licence_no: Option<String>,
    pub channel: Channel,
    pub blob_key: String,
    pub received_at: DateTime<Utc>,
}

/// The engine's decision on a submission.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EngineDecision {
    pub decision: Decision,
    /// The reasons as the engine gave them.
    pub reasons: Vec<Reason>,
    /// The full report, for reviewers and audits.
    pub report: StoredReport,
    pub decided_at: DateTime<Utc>,
}

/// The engine's full report, kept as the JSON it was written as. The store never looks inside: the
/// report's shape is the engine's (`photocheck_core::Report`), and its readers parse it into that.
#[derive(Debug, Clone, Serialize)]
#[serde(transparent)]
pub struct StoredReport(Box<serde_json::value::RawValue>);

/// The same JSON text.
impl PartialEq for StoredReport {
    fn eq(&self, other: &StoredReport) -> bool {
        self.0.get() == other.0.get()
    }
}

impl StoredReport {
    pub fn of(report: &impl Serialize) -> Result<StoredReport, StoreError> {
        serde_json::value::to_raw_value(report)
            .map(StoredReport)
            .map_err(|e| StoreError::Corrupt(format!("report: {e}")))
    }

    /// The report as its writer's type.
    pub fn parse<R: serde::de::DeserializeOwned>(&self) -> Result<R, StoreError> {
        serde_json::from_str(self.0.get())
            .map_err(|e| StoreError::Corrupt(format!("stored report: {e}")))
    }

    fn from_json(text: String) -> Result<StoredReport, StoreError> {
        serde_json::value::RawValue::from_string(text)
            .map(StoredReport)
            .map_err(|e| StoreError::Corrupt(format!("stored report: {e}")))
    }

    fn json(&self) -> &str {
        self.0.get()
    }
}

/// A submission and, once decided, its result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Submission {
    pub id: Uuid,
    pub applicant_id: String,
    pub licence_no: Option<String>,
    pub channel: Channel,
    pub blob_key: String,
    pub received_at: DateTime<Utc>,
    pub status: Status,
    pub published_at: Option<DateTime<Utc>>,
    pub failure: Option<String>,
    pub superseded_by: Option<Uuid>,
    pub result: Option<EngineDecision>,
    /// For a submission sent to a reviewer: when the review is due.
    pub due: Option<DateTime<Utc>>,
    /// An automatic approval sampled for a second look.
    pub audit: bool,
    /// The reviewer's decision, once made; it overrides the engine's.
    pub reviewed: Option<ReviewerDecision>,
}

impl Submission {
    /// The reviewer's word when there is one, else the engine's.
    pub fn final_decision(&self) -> Option<Decision> {
        match (&self.reviewed, &self.result) {
            (Some(r), _) => Some(r.decision),
            (None, Some(d)) => Some(d.decision),
            (None, None) => None,
        }
    }

    /// The result event of the engine's decision, once there is one.
    pub fn engine_event(&self) -> Option<ResultEvent> {
        let d = self.result.as_ref()?;
        // What the notification services are told besides the decision: where the licence photo was
        // cut from the upload, and the looks nobody checked. A report without them says neither.
        #[derive(Deserialize, Default)]
        struct Facts {
            #[serde(default)]
            framing: Option<photocheck_types::Framing>,
            #[serde(default)]
            not_checked: Vec<Coded>,
        }
        #[derive(Deserialize)]
        struct Coded {
            code: String,
        }
        let facts: Facts = d.report.parse().unwrap_or_default();
        Some(ResultEvent::new(
            self.id,
            &self.applicant_id,
            self.licence_no.as_deref(),
            d.decision,
            d.reasons.iter().map(ApplicantReason::from).collect(),
            self.due,
            DecidedBy::Engine,
            d.decided_at,
            facts.framing,
            facts.not_checked.into_iter().map(|c| c.code).collect(),
        ))
    }

    /// The result event of the reviewer's decision, once there is one.
    pub fn reviewer_event(&self) -> Option<ResultEvent> {
        let r = self.reviewed.as_ref()?;
        Some(ResultEvent::new(
            self.id,
            &self.applicant_id,
            self.licence_no.as_deref(),
            r.decision,
            photocheck_types::reviewer::applicant_reasons(&r.reasons),
            None,
            DecidedBy::Reviewer(&r.decided_by),
            r.decided_at,
            None,
            Vec::new(),
        ))
    }
}

/// A reviewer's decision on a review item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReviewerDecision {
    /// approve or reject.
    pub decision: Decision,
    /// Reason codes from the photo rules (empty for an approval).
    pub reasons: Vec<String>,
    pub note: Option<String>,
    pub decided_by: String,
    pub decided_at: DateTime<Utc>,
}

/// A review to open with a decision: when it is due, and whether it is an audit of an approval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ReviewDue {
    pub due: DateTime<Utc>,
    pub audit: bool,
}

/// A stored submission, and the applicant's earlier open ones it replaced.
#[derive(Debug, Clone, PartialEq)]
pub struct Inserted {
    pub id: Uuid,
    pub superseded: Vec<Uuid>,
}

/// What recording a decision did.
#[derive(Debug, Clone, PartialEq)]
pub enum Recorded {
    /// This call wrote the result.
    New,
    /// A result was already there (a redelivered message); it is returned unchanged.
    AlreadyDecided(EngineDecision),
    /// The submission no longer wants a decision (superseded or failed); nothing was written.
    Closed(Status),
}

/// One entry of the event log.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Event {
    pub seq: i64,
    pub submission_id: Uuid,
    pub kind: String,
    pub at: DateTime<Utc>,
    pub detail: serde_json::Value,
}

#[derive(Clone)]
enum Db {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// The database, either kind.
#[derive(Clone)]
pub struct Store {
    db: Db,
}

/// Runs the same block against whichever pool the store holds; the SQL is chosen per backend before.
macro_rules! on_pool {
    ($store:expr, $pool:ident => $body:expr) => {
        match &$store.db {
            $crate::Db::Sqlite($pool) => $body,
            $crate::Db::Postgres($pool) => $body,
        }
    };
}

/// Appends one event inside the transaction `$tx` (the statement from [`Store::event_sql`]).
macro_rules! append_event {
    ($tx:ident, $sql:expr, $id:expr, $kind:expr, $detail:expr) => {
        sqlx::query($sql)
            .bind($id.to_string())
            .bind($kind)
            .bind(db_time(Utc::now()))
            .bind($detail.to_string())
            .execute(&mut *$tx)
            .await?
    };
}

/// SQL text per backend: SQLite keeps ids, times and JSON as text; PostgreSQL has UUID, TIMESTAMPTZ and
/// JSONB, so its statements cast the text parameters and print the columns back as text.
struct Sql {
    sqlite: &'static str,
    postgres: &'static str,
}

// After the macros above, which they use.
mod accounts;
mod activity;
mod review;

pub use crate::accounts::{Account, AccountSummary, AuditEntry, Role};
pub use crate::activity::HourActivity;
pub use crate::review::{Refused, ReviewItem};

impl Store {
    /// Opens `sqlite:PATH` (created if missing) or `postgres://...`, and applies the migrations.
    pub async fn connect(url: &str) -> Result<Store, StoreError> {
        let db = if let Some(path) = url.strip_prefix("sqlite:") {
            let options = SqliteConnectOptions::new()
                .filename(path.trim_start_matches("//"))
                .create_if_missing(true)
                // WAL: readers (status queries) never wait for the writer (workers).
                .journal_mode(SqliteJournalMode::Wal)
                .foreign_keys(true);
            let pool = SqlitePoolOptions::new()
                .max_connections(4)
                .connect_with(options)
                .await?;
            sqlx::migrate!("migrations/sqlite").run(&pool).await?;
            Db::Sqlite(pool)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let options = PgConnectOptions::from_str(url)?;
            Self::postgres_with(options).await?.db
        } else {
            return Err(StoreError::UnsupportedUrl(url.to_owned()));
        };
        Ok(Store { db })
    }

    /// PostgreSQL with explicit options (a schema through `search_path`, say), migrations applied.
    pub async fn postgres_with(options: PgConnectOptions) -> Result<Store, StoreError> {
        let pool = PgPoolOptions::new()
            .max_connections(8)
            .connect_with(options)
            .await?;
        sqlx::migrate!("migrations/postgres").run(&pool).await?;
        Ok(Store {
            db: Db::Postgres(pool),
        })
    }

    fn sql(&self, sql: &Sql) -> &'static str {
        match self.db {
            Db::Sqlite(_) => sql.sqlite,
            Db::Postgres(_) => sql.postgres,
        }
    }

    /// Stores a new submission (status `queued`) and its `received` event, and marks the applicant's
    /// open (queued or processing) submissions superseded by it, all in one transaction: a resubmission
    /// replaces the photo still waiting, never one already decided.
    pub async fn insert_submission(&self, new: &NewSubmission) -> Result<Inserted, StoreError> {
        let id = Uuid::new_v4();
        let insert = self.sql(&Sql {
            sqlite: "INSERT INTO submissions (id, applicant_id, licence_no, channel, blob_key, received_at, status) \
                     VALUES ($1, $2, $3, $4, $5, $6, 'queued')",
            postgres: "INSERT INTO submissions (id, applicant_id, licence_no, channel, blob_key, received_at, status) \
                       VALUES ($1::uuid, $2, $3, $4, $5, $6::timestamptz, 'queued')",
        });
        let supersede = self.sql(&Sql {
            sqlite: "UPDATE submissions SET status = 'superseded', superseded_by = $2 WHERE applicant_id = $1 \
                     AND id <> $2 AND status IN ('queued', 'processing') RETURNING id",
            postgres: "UPDATE submissions SET status = 'superseded', superseded_by = $2::uuid WHERE applicant_id = $1 \
                       AND id <> $2::uuid AND status IN ('queued', 'processing') RETURNING id::text AS id",
        });
        let detail = serde_json::json!({ "channel": new.channel, "blob_key": new.blob_key });
        let event = self.event_sql();
        let superseded: Vec<String> = on_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            sqlx::query(insert)
                .bind(id.to_string())
                .bind(&new.applicant_id)
                .bind(&new.licence_no)
                .bind(new.channel.as_str())
                .bind(&new.blob_key)
                .bind(db_time(new.received_at))
                .execute(&mut *tx)
                .await?;
            append_event!(tx, event, id, "received", detail);
            let superseded: Vec<String> =
                sqlx::query_scalar(supersede).bind(&new.applicant_id).bind(id.to_string()).fetch_all(&mut *tx).await?;
            for old in &superseded {
                append_event!(tx, event, old, "superseded", serde_json::json!({ "by": id }));
            }
            tx.commit().await?;
            superseded
        });
        Ok(Inserted {
            id,
            superseded: superseded
                .into_iter()
                .map(parse_uuid)
                .collect::<Result<_, _>>()?,
        })
    }

    fn event_sql(&self) -> &'static str {
        self.sql(&Sql {
            sqlite: "INSERT INTO events (submission_id, kind, at, detail) VALUES ($1, $2, $3, $4)",
            postgres: "INSERT INTO events (submission_id, kind, at, detail) VALUES ($1::uuid, $2, $3::timestamptz, $4::jsonb)",
        })
    }

    /// The database answers (readiness).
    pub async fn ping(&self) -> Result<(), StoreError> {
        on_pool!(self, pool => {
            sqlx::query("SELECT 1").execute(pool).await?;
        });
        Ok(())
    }

    /// A submission with its result, if any.
    pub async fn get(&self, id: Uuid) -> Result<Option<Submission>, StoreError> {
        let select = self.sql(&Sql {
            sqlite: "SELECT s.id, s.applicant_id, s.licence_no, s.channel, s.blob_key, s.received_at, s.status, \
                     s.published_at, s.failure, s.superseded_by, r.decision, r.reasons, r.report, r.decided_by, \
                     r.decided_at, v.due_at, v.audit, v.decision AS review_decision, v.reasons AS review_reasons, \
                     v.note AS review_note, v.decided_by AS reviewed_by, v.decided_at AS reviewed_at FROM submissions s LEFT JOIN results r ON r.submission_id = s.id \
                     LEFT JOIN reviews v ON v.submission_id = s.id WHERE s.id = $1",
            postgres: "SELECT s.id::text, s.applicant_id, s.licence_no, s.channel, s.blob_key, \
                       to_char(s.received_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') AS received_at, \
                       s.status, to_char(s.published_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') AS published_at, \
                       s.failure, s.superseded_by::text, r.decision, r.reasons::text, r.report::text, r.decided_by, \
                       to_char(r.decided_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') AS decided_at, \
                       to_char(v.due_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') AS due_at, \
                       COALESCE(v.audit, FALSE)::int AS audit, v.decision AS review_decision, v.reasons::text AS review_reasons, \
                       v.note AS review_note, v.decided_by AS reviewed_by, \
                       to_char(v.decided_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') AS reviewed_at \
                       FROM submissions s LEFT JOIN results r ON r.submission_id = s.id \
                       LEFT JOIN reviews v ON v.submission_id = s.id WHERE s.id = $1::uuid",
        });
        on_pool!(self, pool => {
            let row = sqlx::query(select).bind(id.to_string()).fetch_optional(pool).await?;
            row.map(|row| {
                Ok(Submission {
                    id: parse_uuid(row.try_get("id")?)?,
                    applicant_id: row.try_get("applicant_id")?,
                    licence_no: row.try_get("licence_no")?,
                    channel: parse(row.try_get("channel")?)?,
                    blob_key: row.try_get("blob_key")?,
                    received_at: parse_time(row.try_get("received_at")?)?,
                    status: parse(row.try_get("status")?)?,
                    published_at: row.try_get::<Option<String>, _>("published_at")?.map(parse_time).transpose()?,
                    failure: row.try_get("failure")?,
                    superseded_by: row.try_get::<Option<String>, _>("superseded_by")?.map(parse_uuid).transpose()?,
                    result: match row.try_get::<Option<String>, _>("decision")? {
                        None => None,
                        Some(decision) => Some(EngineDecision {
                            decision: parse_decision(&decision)?,
                            reasons: parse_json(row.try_get("reasons")?)?,
                            report: StoredReport::from_json(row.try_get("report")?)?,
                            decided_at: parse_time(row.try_get("decided_at")?)?,
                        }),
                    },
                    due: row.try_get::<Option<String>, _>("due_at")?.map(parse_time).transpose()?,
                    audit: row.try_get::<Option<i32>, _>("audit")?.unwrap_or(0) != 0,
                    reviewed: match row.try_get::<Option<String>, _>("review_decision")? {
                        None => None,
                        Some(decision) => Some(ReviewerDecision {
                            decision: parse_decision(&decision)?,
                            reasons: row
                                .try_get::<Option<String>, _>("review_reasons")?
                                .map(|r| serde_json::from_str(&r))
                                .transpose()
                                .map_err(|e| StoreError::Corrupt(format!("review reasons: {e}")))?
                                .unwrap_or_default(),
                            note: row.try_get("review_note")?,
                            decided_by: row.try_get::<Option<String>, _>("reviewed_by")?.unwrap_or_default(),
                            decided_at: parse_time(row.try_get::<Option<String>, _>("reviewed_at")?.unwrap_or_default())?,
                        }),
                    },
                })
            })
            .transpose()
        })
    }

    /// Marks a submission as being checked (a worker took it). Decided, failed or superseded ones are left
    /// alone; returns whether the submission still needs a decision.
    pub async fn start_processing(&self, id: Uuid) -> Result<bool, StoreError> {
        let update = self.sql(&Sql {
            sqlite: "UPDATE submissions SET status = 'processing' WHERE id = $1 AND status IN ('queued', 'processing')",
            postgres: "UPDATE submissions SET status = 'processing' WHERE id = $1::uuid AND status IN ('queued', 'processing')",
        });
        let changed = on_pool!(self, pool => sqlx::query(update).bind(id.to_string()).execute(pool).await?.rows_affected());
        if changed == 0 && self.get(id).await?.is_none() {
            return Err(StoreError::NotFound(id));
        }
        Ok(changed > 0)
    }

    /// Records a decision once, with the review's due time when the decision is `review`. A second call
    /// for the same submission (a redelivered message, or two workers holding the same job) writes
    /// nothing and returns the decision already there; a superseded or failed submission gets none.
    ///
    /// The status moves first, guarded by the states that still want a decision: in PostgreSQL the row
    /// lock makes a concurrent second writer wait and then find nothing to move.
    pub async fn record_decision(
        &self,
        id: Uuid,
        d: &EngineDecision,
        review: Option<ReviewDue>,
    ) -> Result<Recorded, StoreError> {
        let status = self.sql(&Sql {
            sqlite: "UPDATE submissions SET status = 'decided', failure = NULL \
                     WHERE id = $1 AND status IN ('queued', 'processing')",
            postgres: "UPDATE submissions SET status = 'decided', failure = NULL \
                       WHERE id = $1::uuid AND status IN ('queued', 'processing')",
        });
        let insert = self.sql(&Sql {
            sqlite: "INSERT INTO results (submission_id, decision, reasons, report, decided_by, decided_at) \
                     VALUES ($1, $2, $3, $4, $5, $6)",
            postgres: "INSERT INTO results (submission_id, decision, reasons, report, decided_by, decided_at) \
                       VALUES ($1::uuid, $2, $3::jsonb, $4::jsonb, $5, $6::timestamptz)",
        });
        let review_sql = self.sql(&Sql {
            sqlite: "INSERT INTO reviews (submission_id, due_at, queued_at, audit) VALUES ($1, $2, $3, $4)",
            postgres: "INSERT INTO reviews (submission_id, due_at, queued_at, audit) \
                       VALUES ($1::uuid, $2::timestamptz, $3::timestamptz, $4::int <> 0)",
        });
        let event = self.event_sql();
        let detail = serde_json::json!({
            "decision": d.decision,
            "decided_by": "engine",
            "due": review.map(|r| r.due),
            "audit": review.is_some_and(|r| r.audit),
        });
        let moved = on_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let moved = sqlx::query(status).bind(id.to_string()).execute(&mut *tx).await?.rows_affected();
            if moved == 1 {
                sqlx::query(insert)
                    .bind(id.to_string())
                    .bind(d.decision.as_str())
                    .bind(to_json(&d.reasons)?)
                    .bind(d.report.json())
                    .bind("engine")
                    .bind(db_time(d.decided_at))
                    .execute(&mut *tx)
                    .await?;
                if let Some(r) = review {
                    sqlx::query(review_sql)
                        .bind(id.to_string())
                        .bind(db_time(r.due))
                        .bind(db_time(d.decided_at))
                        .bind(i32::from(r.audit))
                        .execute(&mut *tx)
                        .await?;
                }
                append_event!(tx, event, id, "decided", detail);
            }
            tx.commit().await?;
            moved
        });
        if moved == 1 {
            return Ok(Recorded::New);
        }
        let existing = self.get(id).await?.ok_or(StoreError::NotFound(id))?;
        match (existing.status, existing.result) {
            (_, Some(result)) => Ok(Recorded::AlreadyDecided(result)),
            (Status::Superseded | Status::Failed, None) => Ok(Recorded::Closed(existing.status)),
            (status, None) => Err(StoreError::Corrupt(format!(
                "submission {id}: status {status} but no result was written"
            ))),
        }
    }

    /// Marks a submission failed (its photo cannot be processed), with the reason.
    pub async fn mark_failed(&self, id: Uuid, reason: &str) -> Result<(), StoreError> {
        let update = self.sql(&Sql {
            sqlite: "UPDATE submissions SET status = 'failed', failure = $2 \
                     WHERE id = $1 AND status IN ('queued', 'processing')",
            postgres: "UPDATE submissions SET status = 'failed', failure = $2 \
                       WHERE id = $1::uuid AND status IN ('queued', 'processing')",
        });
        let event = self.event_sql();
        on_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let changed = sqlx::query(update).bind(id.to_string()).bind(reason).execute(&mut *tx).await?.rows_affected();
            if changed == 1 {
                append_event!(tx, event, id, "failed", serde_json::json!({ "reason": reason }));
            }
            tx.commit().await?;
        });
        Ok(())
    }

    /// Queued submissions received before `before` that were never handed to the queue: what a crash
    /// between storing and publishing leaves behind, for the sweeper to publish again.
    pub async fn unpublished(
        &self,
        before: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<Uuid>, StoreError> {
        let select = self.sql(&Sql {
            sqlite: "SELECT id FROM submissions WHERE published_at IS NULL AND status IN ('queued', 'processing') \
                     AND received_at < $1 ORDER BY received_at LIMIT $2",
            postgres: "SELECT id::text AS id FROM submissions WHERE published_at IS NULL AND status IN ('queued', 'processing') \
                       AND received_at < $1::timestamptz ORDER BY received_at LIMIT $2",
        });
        let ids: Vec<String> = on_pool!(self, pool => {
            sqlx::query_scalar(select).bind(db_time(before)).bind(limit).fetch_all(pool).await?
        });
        ids.into_iter().map(parse_uuid).collect()
    }

    /// Notes that the queue confirmed the submission's message.
    pub async fn mark_published(&self, id: Uuid, at: DateTime<Utc>) -> Result<(), StoreError> {
        let update = self.sql(&Sql {
            sqlite: "UPDATE submissions SET published_at = $2 WHERE id = $1 AND published_at IS NULL",
            postgres: "UPDATE submissions SET published_at = $2::timestamptz WHERE id = $1::uuid AND published_at IS NULL",
        });
        on_pool!(self, pool => {
            sqlx::query(update).bind(id.to_string()).bind(db_time(at)).execute(pool).await?;
        });
        Ok(())
    }

    /// Whether a submission points at the upload `key` (the janitor keeps those).
    pub async fn upload_in_use(&self, key: &str) -> Result<bool, StoreError> {
        let n: i64 = on_pool!(self, pool => {
            sqlx::query_scalar("SELECT COUNT(*) FROM submissions WHERE blob_key = $1")
                .bind(key)
                .fetch_one(pool)
                .await?
        });
        Ok(n > 0)
    }

    /// Submissions still waiting for a decision (queued or processing), oldest first: what an embedded
    /// queue, which keeps its jobs in memory, hands out again after a restart.
    pub async fn open_submissions(&self, limit: i64) -> Result<Vec<Uuid>, StoreError> {
        let select = self.sql(&Sql {
            sqlite: "SELECT id FROM submissions WHERE status IN ('queued', 'processing') ORDER BY received_at LIMIT $1",
            postgres: "SELECT id::text AS id FROM submissions WHERE status IN ('queued', 'processing') \
                       ORDER BY received_at LIMIT $1",
        });
        let ids: Vec<String> =
            on_pool!(self, pool => sqlx::query_scalar(select).bind(limit).fetch_all(pool).await?);
        ids.into_iter().map(parse_uuid).collect()
    }

    /// The event log of one submission, oldest first.
    pub async fn events(&self, id: Uuid) -> Result<Vec<Event>, StoreError> {
        let select = self.sql(&Sql {
            sqlite: "SELECT seq, submission_id, kind, at, detail FROM events WHERE submission_id = $1 ORDER BY seq",
            postgres: "SELECT seq, submission_id::text AS submission_id, kind, \
                       to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') AS at, detail::text AS detail \
                       FROM events WHERE submission_id = $1::uuid ORDER BY seq",
        });
        on_pool!(self, pool => {
            let rows = sqlx::query(select).bind(id.to_string()).fetch_all(pool).await?;
            rows.iter()
                .map(|row| {
                    Ok(Event {
                        seq: row.try_get("seq")?,
                        submission_id: parse_uuid(row.try_get("submission_id")?)?,
                        kind: row.try_get("kind")?,
                        at: parse_time(row.try_get("at")?)?,
                        detail: parse_json(row.try_get("detail")?)?,
                    })
                })
                .collect()
        })
    }
}

/// Times as the databases get them: RFC 3339 UTC with microseconds, fixed width, so SQLite's text
/// comparisons order them as times.
fn db_time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

fn parse<T: FromStr<Err = String>>(text: String) -> Result<T, StoreError> {
    text.parse().map_err(StoreError::Corrupt)
}

fn parse_uuid(text: String) -> Result<Uuid, StoreError> {
    Uuid::parse_str(&text).map_err(|e| StoreError::Corrupt(format!("id {text:?}: {e}")))
}

fn parse_time(text: String) -> Result<DateTime<Utc>, StoreError> {
    DateTime::parse_from_rfc3339(&text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| StoreError::Corrupt(format!("time {text:?}: {e}")))
}

fn parse_json<T: serde::de::DeserializeOwned>(text: String) -> Result<T, StoreError> {
    serde_json::from_str(&text).map_err(|e| StoreError::Corrupt(format!("JSON: {e}")))
}

fn to_json(value: &impl Serialize) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| StoreError::Corrupt(format!("JSON: {e}")))
}

fn parse_decision(name: &str) -> Result<Decision, StoreError> {
    Decision::parse(name).ok_or_else(|| StoreError::Corrupt(format!("decision {name:?}")))
}
