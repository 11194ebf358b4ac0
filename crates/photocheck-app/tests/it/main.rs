//! The run modes against real parts: `serve` on SQLite in a temporary folder (and on a full disk), and
//! `api` + `worker` on the PostgreSQL and RabbitMQ this project's machines run on 127.0.0.1 (`.ci/run` starts them; PHOTOCHECK_TEST_POSTGRES
//! and PHOTOCHECK_TEST_AMQP override the addresses). Each test has its own schema and queue names.
//! Photos come from ../shared/photos/raw; tests that need them say so loudly when they are missing.

mod browser;
mod disk;
mod intake;
mod janitor;
mod pipeline;

use std::path::PathBuf;
use std::time::Duration;

use photocheck_app::Options;
use uuid::Uuid;

pub const DEFAULT_POSTGRES: &str = "postgres://postgres@127.0.0.1:5432/test";

pub fn amqp() -> String {
    std::env::var("PHOTOCHECK_TEST_AMQP")
        .unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".into())
}

/// A URL of a fresh schema on the test PostgreSQL.
pub async fn postgres() -> String {
    let url = std::env::var("PHOTOCHECK_TEST_POSTGRES").unwrap_or_else(|_| DEFAULT_POSTGRES.into());
    photocheck_store::testing::fresh_postgres_schema(&url)
        .await
        .unwrap_or_else(|e| panic!("PostgreSQL at {url} is needed (bash .ci/run starts it): {e}"))
}

/// The test photos, or `None` after saying loudly that the test is skipped.
pub fn photos_or_skip(test: &str) -> Option<Vec<PathBuf>> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/photos/raw");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        // Under CI (PHOTOCHECK_REQUIRE_PHOTOS set, as .ci/run does) a missing photo folder fails the test:
        // a green run must have looked at the photos.
        assert!(
            std::env::var_os("PHOTOCHECK_REQUIRE_PHOTOS").is_none(),
            "{test}: no test photos at {}",
            dir.display()
        );
        eprintln!(
            "SKIPPED {test}: no test photos at {} (CI always has them)",
            dir.display()
        );
        return None;
    };
    let mut files: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    files.sort();
    Some(files)
}

/// A free TCP port on loopback (bound and released; the server binds it again at once).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// Multi-node options on a fresh schema and queue names of the test's own.
pub async fn multi_node(blobs: &std::path::Path) -> Options {
    let mut o = Options::embedded(blobs);
    o.database = postgres().await;
    o.amqp = Some(amqp());
    let name = format!("photocheck-test-{}", Uuid::new_v4().simple());
    o.queue.events_exchange = format!("{name}.results");
    o.queue.name = name;
    o.queue.retry_delay = Duration::from_millis(100);
    o.queue.max_attempts = 3;
    o.queue.prefetch = 4;
    o.sweep_every = Duration::from_millis(200);
    o
}

/// Polls `f` every 100 ms until it gives `Some`, or panics after `secs` seconds saying what it waited for.
pub async fn wait_for<T, F, Fut>(secs: u64, what: &str, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "waited {secs} s for {what}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
