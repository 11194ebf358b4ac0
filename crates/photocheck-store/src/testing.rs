//! Fresh PostgreSQL schemas for tests and benchmarks that run against a shared server: each run gets
//! a schema of its own, and schemas left by runs over an hour old are dropped.

use chrono::Utc;
use uuid::Uuid;

use crate::StoreError;

/// Creates a new schema on the server at `url` and returns a URL whose connections use it.
pub async fn fresh_postgres_schema(url: &str) -> Result<String, StoreError> {
    let admin = sqlx::PgPool::connect(url).await?;
    // Schemas are named by creation time, so old ones are found without a registry, and a running
    // test's schema (under an hour old) is never dropped.
    let now = Utc::now().timestamp();
    let old: Vec<String> = sqlx::query_scalar(
        "SELECT nspname::text FROM pg_namespace WHERE nspname ~ '^photocheck_t_[0-9]+_' \
         AND split_part(nspname, '_', 3)::bigint < $1",
    )
    .bind(now - 3600)
    .fetch_all(&admin)
    .await?;
    for schema in old {
        // Another run may drop it at the same moment; that is fine.
        let _ = sqlx::query(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
            .execute(&admin)
            .await;
    }
    let schema = format!("photocheck_t_{now}_{}", Uuid::new_v4().simple());
    sqlx::query(&format!("CREATE SCHEMA {schema}"))
        .execute(&admin)
        .await?;
    admin.close().await;
    let joiner = if url.contains('?') { '&' } else { '?' };
    Ok(format!("{url}{joiner}options=-c%20search_path%3D{schema}"))
}
