//! What came in and what the engine decided, hour by hour: the supervisor's charts of the last days.
//! Counted in the database, so the answer is one row per hour whatever the volume.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use sqlx::Row;

use crate::{db_time, parse_decision, parse_time, Decision, Sql, Store, StoreError};

/// One hour (UTC): photos received in it, and the engine's decisions made in it by outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HourActivity {
    /// The hour's start.
    pub hour: DateTime<Utc>,
    pub received: u64,
    pub approved: u64,
    pub review: u64,
    pub rejected: u64,
}

impl Store {
    /// The hours from `since` on in which anything was received or decided, oldest first.
    pub async fn hourly_activity(
        &self,
        since: DateTime<Utc>,
    ) -> Result<Vec<HourActivity>, StoreError> {
        // Times are stored as fixed-width RFC 3339 UTC text in SQLite: the first 13 characters are
        // the hour.
        let received = self.sql(&Sql {
            sqlite: "SELECT substr(received_at, 1, 13) AS hour, COUNT(*) AS n FROM submissions \
                     WHERE received_at >= $1 GROUP BY hour",
            postgres: "SELECT to_char(received_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24') AS hour, \
                       COUNT(*) AS n FROM submissions WHERE received_at >= $1::timestamptz GROUP BY hour",
        });
        let decided = self.sql(&Sql {
            sqlite:
                "SELECT substr(decided_at, 1, 13) AS hour, decision, COUNT(*) AS n FROM results \
                     WHERE decided_at >= $1 GROUP BY hour, decision",
            postgres:
                "SELECT to_char(decided_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24') AS hour, \
                       decision, COUNT(*) AS n FROM results WHERE decided_at >= $1::timestamptz \
                       GROUP BY hour, decision",
        });
        let mut hours: BTreeMap<String, HourActivity> = BTreeMap::new();
        on_pool!(self, pool => {
            for row in sqlx::query(received).bind(db_time(since)).fetch_all(pool).await? {
                let n: i64 = row.try_get("n")?;
                slot(&mut hours, row.try_get("hour")?)?.received = n.unsigned_abs();
            }
            for row in sqlx::query(decided).bind(db_time(since)).fetch_all(pool).await? {
                let n: i64 = row.try_get("n")?;
                let decision: String = row.try_get("decision")?;
                let h = slot(&mut hours, row.try_get("hour")?)?;
                match parse_decision(&decision)? {
                    Decision::Approve => h.approved = n.unsigned_abs(),
                    Decision::Review => h.review = n.unsigned_abs(),
                    Decision::Reject => h.rejected = n.unsigned_abs(),
                }
            }
        });
        Ok(hours.into_values().collect())
    }
}

/// The hour `hour` (`YYYY-MM-DDTHH`, UTC) of `hours`, added with nothing counted if it is new.
fn slot(
    hours: &mut BTreeMap<String, HourActivity>,
    hour: String,
) -> Result<&mut HourActivity, StoreError> {
    let start = parse_time(format!("{hour}:00:00Z"))?;
    Ok(hours.entry(hour).or_insert(HourActivity {
        hour: start,
        received: 0,
        approved: 0,
        review: 0,
        rejected: 0,
    }))
}
