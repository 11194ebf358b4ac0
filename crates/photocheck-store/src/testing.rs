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

/// The S3-compatible server tests use (`.ci/run` starts moto there); PHOTOCHECK_TEST_S3 overrides it.
pub fn s3_endpoint() -> String {
    std::env::var("PHOTOCHECK_TEST_S3").unwrap_or_else(|_| "http://127.0.0.1:9000".to_owned())
}

/// Creates a bucket of its own for one test and returns its name. The request is unsigned, which
/// moto accepts; a real S3 would not, and tests never run against one.
pub async fn fresh_s3_bucket(endpoint: &str) -> Result<String, String> {
    let bucket = format!("photocheck-t-{}", Uuid::new_v4().simple());
    let answer = reqwest::Client::new()
        .put(format!("{endpoint}/{bucket}"))
        .send()
        .await
        .map_err(|e| format!("S3 server at {endpoint}: {e}"))?;
    if !answer.status().is_success() {
        return Err(format!("creating bucket {bucket}: {}", answer.status()));
    }
    Ok(bucket)
}

/// A client for `bucket` on the test server, with the dummy credentials and region a client must sign
/// with; the same settings a process gets from `test_s3_env`.
pub fn s3_builder(endpoint: &str, bucket: &str) -> object_store::aws::AmazonS3Builder {
    test_s3_env(endpoint).into_iter().fold(
        object_store::aws::AmazonS3Builder::new().with_bucket_name(bucket),
        // As `AmazonS3Builder::from_env` reads them.
        |b, (k, v)| match k.to_ascii_lowercase().parse() {
            Ok(key) => b.with_config(key, v),
            Err(_) => b,
        },
    )
}

/// The `AWS_*` environment a `photocheck api` or `worker` process needs to reach the test server.
pub fn test_s3_env(endpoint: &str) -> Vec<(&'static str, String)> {
    vec![
        ("AWS_ENDPOINT", endpoint.to_owned()),
        ("AWS_ALLOW_HTTP", "true".to_owned()),
        ("AWS_REGION", "us-east-1".to_owned()),
        ("AWS_ACCESS_KEY_ID", "photocheck-test".to_owned()),
        ("AWS_SECRET_ACCESS_KEY", "photocheck-test".to_owned()),
    ]
}
