//! The review queue: items ordered by due time, claimed with expiring leases, closed by a reviewer's
//! decision. Every claim and decision is a single guarded UPDATE, so two reviewers racing for one item
//! cannot both win: in PostgreSQL the loser waits on the row lock and then finds the guard false; in
//! SQLite writes are serialised anyway.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::Row;
use uuid::Uuid;

use crate::{
    db_time, parse, parse_decision, parse_json, parse_time, parse_uuid, Channel, Decision, Reason,
    ReviewerDecision, Sql, Store, StoreError,
};

/// One review item with what the queue page shows of it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReviewItem {
    pub submission_id: Uuid,
    pub applicant_id: String,
    /// How the photo was taken: what a reviewer expects of it (a phone frame, or a scanned print).
    pub channel: Channel,
    pub received_at: DateTime<Utc>,
    pub due_at: DateTime<Utc>,
    pub queued_at: DateTime<Utc>,
    pub audit: bool,
    /// The engine's decision and reasons (the codes reviewers see first).
    pub engine_decision: Decision,
    pub engine_reasons: Vec<Reason>,
    pub claimed_by: Option<String>,
    pub lease_until: Option<DateTime<Utc>>,
    pub reviewed: Option<ReviewerDecision>,
}

impl ReviewItem {
    /// Someone other than `reviewer` holds an unexpired claim.
    pub fn held_by_other(&self, reviewer: &str, now: DateTime<Utc>) -> Option<&str> {
        match (&self.claimed_by, self.lease_until) {
            (Some(who), Some(until)) if who != reviewer && until > now => Some(who),
            _ => None,
        }
    }
}

/// Why a claim or a decision was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    #[error("this submission is not in the review queue")]
    NotInQueue,
    #[error("already decided by {0}")]
    AlreadyDecided(String),
    #[error("claimed by {0}")]
    HeldBy(String),
    #[error("your claim on it has expired or was never made; open it again")]
    NotClaimed,
}

macro_rules! columns_sqlite {
    () => {
        "v.submission_id, s.applicant_id, s.channel, s.received_at, v.due_at, v.queued_at, v.audit, \
     r.decision AS engine_decision, r.reasons AS engine_reasons, v.claimed_by, v.lease_until, \
     v.decision, v.reasons, v.note, v.decided_by, v.decided_at \
     FROM reviews v JOIN submissions s ON s.id = v.submission_id JOIN results r ON r.submission_id = v.submission_id"
    };
}

macro_rules! columns_postgres {
    () => {
        "v.submission_id::text AS submission_id, s.applicant_id, s.channel, \
     to_char(s.received_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') AS received_at, \
     to_char(v.due_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') AS due_at, \
     to_char(v.queued_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') AS queued_at, v.audit::int AS audit, \
     r.decision AS engine_decision, r.reasons::text AS engine_reasons, v.claimed_by, \
     to_char(v.lease_until AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') AS lease_until, \
     v.decision, v.reasons::text AS reasons, v.note, v.decided_by, \
     to_char(v.decided_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') AS decided_at \
     FROM reviews v JOIN submissions s ON s.id = v.submission_id JOIN results r ON r.submission_id = v.submission_id"
    };
}

macro_rules! item_sql {
    ($tail_sqlite:expr, $tail_postgres:expr) => {
        Sql {
            sqlite: concat!("SELECT ", columns_sqlite!(), " ", $tail_sqlite),
            postgres: concat!("SELECT ", columns_postgres!(), " ", $tail_postgres),
        }
    };
}

/// Reading an item from either backend's row.
trait RowLike {
    fn item(&self) -> Result<ReviewItem, StoreError>;
}

macro_rules! impl_row_like {
    ($row:ty) => {
        impl RowLike for $row {
            fn item(&self) -> Result<ReviewItem, StoreError> {
                let opt_time = |name: &str| -> Result<Option<DateTime<Utc>>, StoreError> {
                    self.try_get::<Option<String>, _>(name)?
                        .map(parse_time)
                        .transpose()
                };
                let reviewed = match self.try_get::<Option<String>, _>("decision")? {
                    None => None,
                    Some(decision) => Some(ReviewerDecision {
                        decision: parse_decision(&decision)?,
                        reasons: match self.try_get::<Option<String>, _>("reasons")? {
                            None => Vec::new(),
                            Some(text) => serde_json::from_str(&text)
                                .map_err(|e| StoreError::Corrupt(format!("review reasons: {e}")))?,
                        },
                        note: self.try_get("note")?,
                        decided_by: self
                            .try_get::<Option<String>, _>("decided_by")?
                            .unwrap_or_default(),
                        decided_at: opt_time("decided_at")?.ok_or_else(|| {
                            StoreError::Corrupt("a review decision without its time".into())
                        })?,
                    }),
                };
                Ok(ReviewItem {
                    submission_id: parse_uuid(self.try_get("submission_id")?)?,
                    applicant_id: self.try_get("applicant_id")?,
                    channel: parse(self.try_get("channel")?)?,
                    received_at: parse_time(self.try_get("received_at")?)?,
                    due_at: parse_time(self.try_get("due_at")?)?,
                    queued_at: parse_time(self.try_get("queued_at")?)?,
                    audit: self.try_get::<i32, _>("audit")? != 0,
                    engine_decision: parse_decision(
                        &self.try_get::<String, _>("engine_decision")?,
                    )?,
                    engine_reasons: parse_json(self.try_get("engine_reasons")?)?,
                    claimed_by: self.try_get("claimed_by")?,
                    lease_until: opt_time("lease_until")?,
                    reviewed,
                })
            }
        }
    };
}

impl_row_like!(sqlx::sqlite::SqliteRow);
impl_row_like!(sqlx::postgres::PgRow);

impl Store {
    /// Open review items (not yet decided by a reviewer), soonest due first.
    pub async fn open_reviews(&self, limit: i64) -> Result<Vec<ReviewItem>, StoreError> {
        let select = self.sql(&item_sql!(
            "WHERE v.decided_at IS NULL ORDER BY v.due_at LIMIT $1",
            "WHERE v.decided_at IS NULL ORDER BY v.due_at LIMIT $1"
        ));
        on_pool!(self, pool => {
            let rows = sqlx::query(select).bind(limit).fetch_all(pool).await?;
            rows.iter().map(RowLike::item).collect()
        })
    }

    /// Review items a reviewer decided at or after `since`, oldest first (for the supervisor's numbers).
    pub async fn decided_reviews(
        &self,
        since: DateTime<Utc>,
    ) -> Result<Vec<ReviewItem>, StoreError> {
        let select = self.sql(&item_sql!(
            "WHERE v.decided_at >= $1 ORDER BY v.decided_at",
            "WHERE v.decided_at >= $1::timestamptz ORDER BY v.decided_at"
        ));
        on_pool!(self, pool => {
            let rows = sqlx::query(select).bind(db_time(since)).fetch_all(pool).await?;
            rows.iter().map(RowLike::item).collect()
        })
    }

    /// One review item, open or decided.
    pub async fn review_item(&self, id: Uuid) -> Result<Option<ReviewItem>, StoreError> {
        let select = self.sql(&item_sql!(
            "WHERE v.submission_id = $1",
            "WHERE v.submission_id = $1::uuid"
        ));
        on_pool!(self, pool => {
            let row = sqlx::query(select).bind(id.to_string()).fetch_optional(pool).await?;
            row.as_ref().map(RowLike::item).transpose()
        })
    }

    /// Claims one item for `reviewer` until `until`: free items, items whose lease ran out, and the
    /// reviewer's own (renewed). Refused when another reviewer holds it or it is decided.
    pub async fn claim(
        &self,
        id: Uuid,
        reviewer: &str,
        until: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Result<ReviewItem, Refused>, StoreError> {
        let update = self.sql(&Sql {
            sqlite: "UPDATE reviews SET claimed_by = $2, lease_until = $3 WHERE submission_id = $1 \
                     AND decided_at IS NULL AND (claimed_by IS NULL OR claimed_by = $2 OR lease_until <= $4)",
            postgres: "UPDATE reviews SET claimed_by = $2, lease_until = $3::timestamptz WHERE submission_id = $1::uuid \
                       AND decided_at IS NULL AND (claimed_by IS NULL OR claimed_by = $2 OR lease_until <= $4::timestamptz)",
        });
        let moved = on_pool!(self, pool => sqlx::query(update)
            .bind(id.to_string())
            .bind(reviewer)
            .bind(db_time(until))
            .bind(db_time(now))
            .execute(pool)
            .await?
            .rows_affected());
        let Some(item) = self.review_item(id).await? else {
            return Ok(Err(Refused::NotInQueue));
        };
        if moved == 1 {
            return Ok(Ok(item));
        }
        Ok(Err(match (&item.reviewed, &item.claimed_by) {
            (Some(r), _) => Refused::AlreadyDecided(r.decided_by.clone()),
            (None, Some(holder)) => Refused::HeldBy(holder.clone()),
            (None, None) => Refused::NotClaimed,
        }))
    }

    /// Claims the open item due soonest that nobody else holds: the reviewer's own claim first, so
    /// asking again gives the same item. `None` when the queue has nothing free.
    /// `except`: an item the reviewer just skipped, not to be handed straight back.
    pub async fn claim_next(
        &self,
        reviewer: &str,
        until: DateTime<Utc>,
        now: DateTime<Utc>,
        except: Option<Uuid>,
    ) -> Result<Option<ReviewItem>, StoreError> {
        // SKIP LOCKED: two reviewers asking at once take different items instead of queueing on one.
        let update = self.sql(&Sql {
            sqlite: "UPDATE reviews SET claimed_by = $1, lease_until = $2 WHERE submission_id = (\
                     SELECT submission_id FROM reviews WHERE decided_at IS NULL AND submission_id <> $4 \
                     AND (claimed_by IS NULL OR claimed_by = $1 OR lease_until <= $3) \
                     ORDER BY CASE WHEN claimed_by = $1 THEN 0 ELSE 1 END, due_at LIMIT 1) \
                     RETURNING submission_id",
            postgres: "UPDATE reviews SET claimed_by = $1, lease_until = $2::timestamptz WHERE submission_id = (\
                       SELECT submission_id FROM reviews WHERE decided_at IS NULL AND submission_id <> $4::uuid \
                       AND (claimed_by IS NULL OR claimed_by = $1 OR lease_until <= $3::timestamptz) \
                       ORDER BY CASE WHEN claimed_by = $1 THEN 0 ELSE 1 END, due_at LIMIT 1 FOR UPDATE SKIP LOCKED) \
                       AND decided_at IS NULL \
                       RETURNING submission_id::text AS submission_id",
        });
        let id: Option<String> = on_pool!(self, pool => sqlx::query_scalar(update)
            .bind(reviewer)
            .bind(db_time(until))
            .bind(db_time(now))
            .bind(except.unwrap_or_else(Uuid::nil).to_string())
            .fetch_optional(pool)
            .await?);
        match id {
            None => Ok(None),
            Some(id) => self.review_item(parse_uuid(id)?).await,
        }
    }

    /// Gives a claim back before its lease runs out (the reviewer skipped the item).
    pub async fn release(&self, id: Uuid, reviewer: &str) -> Result<(), StoreError> {
        let update = self.sql(&Sql {
            sqlite: "UPDATE reviews SET claimed_by = NULL, lease_until = NULL \
                     WHERE submission_id = $1 AND claimed_by = $2 AND decided_at IS NULL",
            postgres: "UPDATE reviews SET claimed_by = NULL, lease_until = NULL \
                       WHERE submission_id = $1::uuid AND claimed_by = $2 AND decided_at IS NULL",
        });
        on_pool!(self, pool => {
            sqlx::query(update).bind(id.to_string()).bind(reviewer).execute(pool).await?;
        });
        Ok(())
    }

    /// Closes an item with the reviewer's decision, which must come from the holder of a live claim.
    /// The decision, its `reviewed` event and its audit entry are written in one transaction.
    pub async fn decide_review(
        &self,
        id: Uuid,
        d: &ReviewerDecision,
    ) -> Result<Result<(), Refused>, StoreError> {
        let update = self.sql(&Sql {
            sqlite: "UPDATE reviews SET decision = $3, reasons = $4, note = $5, decided_by = $2, decided_at = $6, \
                     claimed_by = NULL, lease_until = NULL WHERE submission_id = $1 AND decided_at IS NULL \
                     AND claimed_by = $2 AND lease_until > $6",
            postgres: "UPDATE reviews SET decision = $3, reasons = $4::jsonb, note = $5, decided_by = $2, \
                       decided_at = $6::timestamptz, claimed_by = NULL, lease_until = NULL \
                       WHERE submission_id = $1::uuid AND decided_at IS NULL AND claimed_by = $2 \
                       AND lease_until > $6::timestamptz",
        });
        let before = self.review_item(id).await?;
        let Some(before) = before else {
            return Ok(Err(Refused::NotInQueue));
        };
        let reasons = serde_json::to_string(&d.reasons)
            .map_err(|e| StoreError::Corrupt(format!("reasons: {e}")))?;
        let event = self.event_sql();
        let audit = self.audit_sql();
        let after = serde_json::json!({
            "decision": d.decision, "reasons": d.reasons, "note": d.note,
        });
        let before_json = serde_json::json!({
            "engine_decision": before.engine_decision,
            "audit": before.audit,
            "claimed_by": before.claimed_by,
        });
        let moved = on_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let moved = sqlx::query(update)
                .bind(id.to_string())
                .bind(&d.decided_by)
                .bind(d.decision.as_str())
                .bind(&reasons)
                .bind(&d.note)
                .bind(db_time(d.decided_at))
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if moved == 1 {
                append_event!(tx, event, id, "reviewed", after);
                sqlx::query(audit)
                    .bind(db_time(d.decided_at))
                    .bind(&d.decided_by)
                    .bind(if d.decision == Decision::Approve { "review.approve" } else { "review.reject" })
                    .bind(format!("submission {id}"))
                    .bind(before_json.to_string())
                    .bind(after.to_string())
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
            moved
        });
        if moved == 1 {
            return Ok(Ok(()));
        }
        let now = self
            .review_item(id)
            .await?
            .ok_or(StoreError::NotFound(id))?;
        Ok(Err(match (&now.reviewed, &now.claimed_by) {
            (Some(r), _) => Refused::AlreadyDecided(r.decided_by.clone()),
            (None, Some(holder)) if *holder != d.decided_by => Refused::HeldBy(holder.clone()),
            _ => Refused::NotClaimed,
        }))
    }

    /// Reviewer decisions decided before `before` whose result event the broker has not confirmed.
    pub async fn unsent_review_events(
        &self,
        before: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<Uuid>, StoreError> {
        let select = self.sql(&Sql {
            sqlite: "SELECT submission_id FROM reviews WHERE decided_at IS NOT NULL AND event_sent_at IS NULL \
                     AND decided_at < $1 ORDER BY decided_at LIMIT $2",
            postgres: "SELECT submission_id::text FROM reviews WHERE decided_at IS NOT NULL AND event_sent_at IS NULL \
                       AND decided_at < $1::timestamptz ORDER BY decided_at LIMIT $2",
        });
        let ids: Vec<String> = on_pool!(self, pool => sqlx::query_scalar(select)
            .bind(db_time(before))
            .bind(limit)
            .fetch_all(pool)
            .await?);
        ids.into_iter().map(parse_uuid).collect()
    }

    /// Notes that the broker confirmed the result event of a reviewer's decision.
    pub async fn mark_review_event_sent(&self, id: Uuid) -> Result<(), StoreError> {
        let update = self.sql(&Sql {
            sqlite: "UPDATE reviews SET event_sent_at = $2 WHERE submission_id = $1 AND event_sent_at IS NULL",
            postgres: "UPDATE reviews SET event_sent_at = $2::timestamptz WHERE submission_id = $1::uuid \
                       AND event_sent_at IS NULL",
        });
        on_pool!(self, pool => {
            sqlx::query(update).bind(id.to_string()).bind(db_time(Utc::now())).execute(pool).await?;
        });
        Ok(())
    }

    /// The applicant's submissions, newest first.
    pub async fn applicant_submissions(
        &self,
        applicant_id: &str,
        limit: i64,
    ) -> Result<Vec<crate::Submission>, StoreError> {
        let select = self.sql(&Sql {
            sqlite: "SELECT id FROM submissions WHERE applicant_id = $1 ORDER BY received_at DESC LIMIT $2",
            postgres: "SELECT id::text AS id FROM submissions WHERE applicant_id = $1 \
                       ORDER BY received_at DESC LIMIT $2",
        });
        let ids: Vec<String> = on_pool!(self, pool => sqlx::query_scalar(select)
            .bind(applicant_id)
            .bind(limit)
            .fetch_all(pool)
            .await?);
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(s) = self.get(parse_uuid(id)?).await? {
                out.push(s);
            }
        }
        Ok(out)
    }
}
