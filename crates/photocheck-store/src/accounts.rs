//! Reviewer and supervisor accounts, their login sessions, and the append-only audit log of what
//! every person did. Passwords arrive here already hashed (argon2, by the server): the store never
//! sees one in clear.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::Row;

use crate::{db_time, parse, parse_time, Sql, Store, StoreError};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Works the review queue.
    Reviewer,
    /// Everything a reviewer does, plus the supervisor view and the audit log.
    Supervisor,
}

text_enum!(Role { Reviewer => "reviewer", Supervisor => "supervisor" });

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub name: String,
    pub role: Role,
    /// argon2id in PHC string form.
    pub password_hash: String,
}

/// An account as `photocheck account list` shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AccountSummary {
    pub name: String,
    pub role: Role,
    pub created_at: DateTime<Utc>,
    /// When it was disabled; a disabled account cannot log in.
    pub disabled_at: Option<DateTime<Utc>>,
    /// Sessions not yet expired.
    pub sessions: i64,
}

/// One audit-log entry.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditEntry {
    pub seq: i64,
    pub at: DateTime<Utc>,
    pub actor: String,
    pub action: String,
    pub subject: String,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
}

impl fmt::Display for AuditEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} {} {}",
            self.at, self.actor, self.action, self.subject
        )
    }
}

impl Store {
    pub(crate) fn audit_sql(&self) -> &'static str {
        self.sql(&Sql {
            sqlite: "INSERT INTO audit_log (at, actor, action, subject, before, after) VALUES ($1, $2, $3, $4, $5, $6)",
            postgres: "INSERT INTO audit_log (at, actor, action, subject, before, after) \
                       VALUES ($1::timestamptz, $2, $3, $4, $5::jsonb, $6::jsonb)",
        })
    }

    /// Appends one entry to the audit log.
    pub async fn audit(
        &self,
        actor: &str,
        action: &str,
        subject: &str,
        before: Option<&serde_json::Value>,
        after: Option<&serde_json::Value>,
    ) -> Result<(), StoreError> {
        let insert = self.audit_sql();
        on_pool!(self, pool => {
            sqlx::query(insert)
                .bind(db_time(Utc::now()))
                .bind(actor)
                .bind(action)
                .bind(subject)
                .bind(before.map(|v| v.to_string()))
                .bind(after.map(|v| v.to_string()))
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    /// The newest `limit` audit entries, newest first.
    pub async fn audit_log(&self, limit: i64) -> Result<Vec<AuditEntry>, StoreError> {
        let select = self.sql(&Sql {
            sqlite: "SELECT seq, at, actor, action, subject, before, after FROM audit_log ORDER BY seq DESC LIMIT $1",
            postgres: "SELECT seq, to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') AS at, actor, \
                       action, subject, before::text AS before, after::text AS after FROM audit_log \
                       ORDER BY seq DESC LIMIT $1",
        });
        let json = |text: Option<String>| -> Result<Option<serde_json::Value>, StoreError> {
            text.map(|t| serde_json::from_str(&t))
                .transpose()
                .map_err(|e| StoreError::Corrupt(format!("audit JSON: {e}")))
        };
        on_pool!(self, pool => {
            let rows = sqlx::query(select).bind(limit).fetch_all(pool).await?;
            rows.iter()
                .map(|row| {
                    Ok(AuditEntry {
                        seq: row.try_get("seq")?,
                        at: parse_time(row.try_get("at")?)?,
                        actor: row.try_get("actor")?,
                        action: row.try_get("action")?,
                        subject: row.try_get("subject")?,
                        before: json(row.try_get("before")?)?,
                        after: json(row.try_get("after")?)?,
                    })
                })
                .collect()
        })
    }

    /// Creates an account, or sets a new role and password for an existing one; audited as `actor`.
    /// A new password ends the account's sessions in the same transaction: whoever logged in with the
    /// old one (perhaps the reason it was changed) is logged out.
    pub async fn put_account(&self, account: &Account, actor: &str) -> Result<(), StoreError> {
        // A disabled account keeps being disabled: `account enable` lets it in again.
        let before = self.account_row(&account.name, true).await?;
        let new_password = before
            .as_ref()
            .is_some_and(|b| b.password_hash != account.password_hash);
        let upsert = self.sql(&Sql {
            sqlite: "INSERT INTO accounts (name, role, password_hash, created_at) VALUES ($1, $2, $3, $4) \
                     ON CONFLICT (name) DO UPDATE SET role = excluded.role, password_hash = excluded.password_hash",
            postgres: "INSERT INTO accounts (name, role, password_hash, created_at) VALUES ($1, $2, $3, $4::timestamptz) \
                       ON CONFLICT (name) DO UPDATE SET role = excluded.role, password_hash = excluded.password_hash",
        });
        on_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            sqlx::query(upsert)
                .bind(&account.name)
                .bind(account.role.as_str())
                .bind(&account.password_hash)
                .bind(db_time(Utc::now()))
                .execute(&mut *tx)
                .await?;
            if new_password {
                sqlx::query("DELETE FROM sessions WHERE account = $1")
                    .bind(&account.name)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
        });
        // The hash is not logged: the log says a password was set, not what it hashes to.
        self.audit(
            actor,
            if before.is_some() {
                "account.update"
            } else {
                "account.create"
            },
            &format!("account {}", account.name),
            before
                .map(|b| serde_json::json!({ "role": b.role }))
                .as_ref(),
            Some(&serde_json::json!({ "role": account.role, "password": "set" })),
        )
        .await
    }

    /// The account `name` may log in as: none when it does not exist or is disabled.
    pub async fn account(&self, name: &str) -> Result<Option<Account>, StoreError> {
        self.account_row(name, false).await
    }

    async fn account_row(
        &self,
        name: &str,
        with_disabled: bool,
    ) -> Result<Option<Account>, StoreError> {
        let select = if with_disabled {
            "SELECT name, role, password_hash FROM accounts WHERE name = $1"
        } else {
            "SELECT name, role, password_hash FROM accounts WHERE name = $1 AND disabled_at IS NULL"
        };
        on_pool!(self, pool => {
            let row = sqlx::query(select).bind(name).fetch_optional(pool).await?;
            row.map(|row| {
                Ok(Account {
                    name: row.try_get("name")?,
                    role: parse(row.try_get("role")?)?,
                    password_hash: row.try_get("password_hash")?,
                })
            })
            .transpose()
        })
    }

    /// Every account, by name, with whether it is disabled and its live sessions.
    pub async fn accounts(&self) -> Result<Vec<AccountSummary>, StoreError> {
        let select = self.sql(&Sql {
            sqlite: "SELECT a.name, a.role, a.created_at, a.disabled_at, \
                     (SELECT COUNT(*) FROM sessions s WHERE s.account = a.name AND s.expires_at > $1) AS sessions \
                     FROM accounts a ORDER BY a.name",
            postgres: "SELECT a.name, a.role, \
                       to_char(a.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') AS created_at, \
                       to_char(a.disabled_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') AS disabled_at, \
                       (SELECT COUNT(*) FROM sessions s WHERE s.account = a.name AND s.expires_at > $1::timestamptz) AS sessions \
                       FROM accounts a ORDER BY a.name",
        });
        on_pool!(self, pool => {
            let rows = sqlx::query(select).bind(db_time(Utc::now())).fetch_all(pool).await?;
            rows.iter()
                .map(|row| {
                    Ok(AccountSummary {
                        name: row.try_get("name")?,
                        role: parse(row.try_get("role")?)?,
                        created_at: parse_time(row.try_get("created_at")?)?,
                        disabled_at: row
                            .try_get::<Option<String>, _>("disabled_at")?
                            .map(parse_time)
                            .transpose()?,
                        sessions: row.try_get("sessions")?,
                    })
                })
                .collect()
        })
    }

    /// Disables an account (ending its sessions in the same transaction) or enables it again;
    /// audited as `actor`. False when there is no such account.
    pub async fn set_account_disabled(
        &self,
        name: &str,
        disabled: bool,
        actor: &str,
    ) -> Result<bool, StoreError> {
        let update = self.sql(&Sql {
            sqlite: "UPDATE accounts SET disabled_at = $2 WHERE name = $1",
            postgres: "UPDATE accounts SET disabled_at = $2::timestamptz WHERE name = $1",
        });
        let at = disabled.then(|| db_time(Utc::now()));
        let found = on_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let n = sqlx::query(update).bind(name).bind(at).execute(&mut *tx).await?.rows_affected();
            if disabled {
                sqlx::query("DELETE FROM sessions WHERE account = $1").bind(name).execute(&mut *tx).await?;
            }
            tx.commit().await?;
            n > 0
        });
        if found {
            let action = if disabled {
                "account.disable"
            } else {
                "account.enable"
            };
            self.audit(actor, action, &format!("account {name}"), None, None)
                .await?;
        }
        Ok(found)
    }

    /// Deletes an account and its sessions; the audit log and the decisions keep its name. False
    /// when there is no such account.
    pub async fn delete_account(&self, name: &str, actor: &str) -> Result<bool, StoreError> {
        let found = on_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            sqlx::query("DELETE FROM sessions WHERE account = $1").bind(name).execute(&mut *tx).await?;
            let n = sqlx::query("DELETE FROM accounts WHERE name = $1").bind(name).execute(&mut *tx).await?.rows_affected();
            tx.commit().await?;
            n > 0
        });
        if found {
            self.audit(
                actor,
                "account.delete",
                &format!("account {name}"),
                None,
                None,
            )
            .await?;
        }
        Ok(found)
    }

    /// Whether any account exists (a fresh install has none, and says how to make one).
    pub async fn has_accounts(&self) -> Result<bool, StoreError> {
        let n: i64 = on_pool!(self, pool => sqlx::query_scalar("SELECT COUNT(*) FROM accounts").fetch_one(pool).await?);
        Ok(n > 0)
    }

    /// Stores a session (by its token's hash) until `expires`; expired sessions are dropped on the way.
    pub async fn create_session(
        &self,
        token_hash: &str,
        account: &str,
        expires: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let now = Utc::now();
        let prune = self.sql(&Sql {
            sqlite: "DELETE FROM sessions WHERE expires_at <= $1",
            postgres: "DELETE FROM sessions WHERE expires_at <= $1::timestamptz",
        });
        let insert = self.sql(&Sql {
            sqlite: "INSERT INTO sessions (token_hash, account, created_at, expires_at) VALUES ($1, $2, $3, $4)",
            postgres: "INSERT INTO sessions (token_hash, account, created_at, expires_at) \
                       VALUES ($1, $2, $3::timestamptz, $4::timestamptz)",
        });
        on_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            sqlx::query(prune).bind(db_time(now)).execute(&mut *tx).await?;
            sqlx::query(insert)
                .bind(token_hash)
                .bind(account)
                .bind(db_time(now))
                .bind(db_time(expires))
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
        });
        Ok(())
    }

    /// The account of a live session.
    pub async fn session_account(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<Account>, StoreError> {
        let select = self.sql(&Sql {
            sqlite: "SELECT a.name, a.role, a.password_hash FROM sessions s JOIN accounts a ON a.name = s.account \
                     WHERE s.token_hash = $1 AND s.expires_at > $2 AND a.disabled_at IS NULL",
            postgres: "SELECT a.name, a.role, a.password_hash FROM sessions s JOIN accounts a ON a.name = s.account \
                       WHERE s.token_hash = $1 AND s.expires_at > $2::timestamptz AND a.disabled_at IS NULL",
        });
        on_pool!(self, pool => {
            let row = sqlx::query(select).bind(token_hash).bind(db_time(now)).fetch_optional(pool).await?;
            row.map(|row| {
                Ok(Account {
                    name: row.try_get("name")?,
                    role: Role::from_str(&row.try_get::<String, _>("role")?).map_err(StoreError::Corrupt)?,
                    password_hash: row.try_get("password_hash")?,
                })
            })
            .transpose()
        })
    }

    pub async fn end_session(&self, token_hash: &str) -> Result<(), StoreError> {
        on_pool!(self, pool => {
            sqlx::query("DELETE FROM sessions WHERE token_hash = $1").bind(token_hash).execute(pool).await?;
        });
        Ok(())
    }
}
