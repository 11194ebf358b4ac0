//! The API's background upkeep, every `sweep_every`:
//! - publishes submissions that were stored but never confirmed by the broker (the API crashed in
//!   between, or RabbitMQ was down), and reviewer decisions whose event never went out: the database
//!   is the source of truth, the queue only delivers;
//! - removes uploads no submission points at once they are older than a grace period (the API died
//!   between storing the photo and its row): personal data nothing refers to is not kept.

use std::time::{Duration, SystemTime};

use chrono::Utc;
use photocheck_queue::{Job, Queue};
use photocheck_store::{Blobs, Store};
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

/// Uploads the janitor looks at per sweep.
const JANITOR_BATCH: usize = 500;

pub struct Sweeper {
    pub store: Store,
    pub uploads: Blobs,
    pub queue: Queue,
    pub every: Duration,
    /// Younger unpublished submissions are probably being published right now by their request.
    pub min_age: Duration,
    pub orphan_grace: Duration,
}

impl Sweeper {
    /// Sweeps until `shutdown`. Several API replicas may sweep at once; a job published twice still
    /// gives one result, and an upload removed twice is removed.
    pub async fn run(self, shutdown: CancellationToken) {
        loop {
            tokio::select! {
                () = tokio::time::sleep(self.every) => {}
                () = shutdown.cancelled() => return,
            }
            // The in-process queue is filled from the open submissions at start instead.
            if self.queue.durable() {
                match sweep(&self.store, &self.queue, self.min_age).await {
                    Ok(0) => {}
                    Ok(n) => info!(published = n, "sweeper published stored submissions"),
                    Err(e) => warn!(error = %e, "sweep failed; next time"),
                }
            }
            match remove_orphans(&self.store, &self.uploads, self.orphan_grace).await {
                Ok(0) => {}
                Ok(n) => info!(
                    removed = n,
                    "janitor removed uploads no submission points at"
                ),
                Err(e) => warn!(error = %e, "janitor failed; next time"),
            }
        }
    }
}

/// One publishing sweep; returns how many jobs and reviewer-decision events were published.
pub async fn sweep(store: &Store, queue: &Queue, min_age: Duration) -> anyhow::Result<usize> {
    let before = Utc::now() - chrono::Duration::from_std(min_age)?;
    let ids = store.unpublished(before, 500).await?;
    for id in &ids {
        queue.publish(Job::new(*id)).await?;
        store.mark_published(*id, Utc::now()).await?;
    }
    // Reviewer decisions are committed before their event is sent, as submissions before their job.
    let decided = store.unsent_review_events(before, 500).await?;
    for id in &decided {
        photocheck_server::review::publish_review_event(store, queue, *id).await?;
    }
    Ok(ids.len() + decided.len())
}

/// Removes uploads older than `grace` that no submission points at; returns how many. The grace
/// covers the moment between an upload being stored and its row being written.
pub async fn remove_orphans(
    store: &Store,
    uploads: &Blobs,
    grace: Duration,
) -> anyhow::Result<usize> {
    let before = SystemTime::now() - grace;
    let mut removed = 0;
    for key in uploads.keys_older_than(before, JANITOR_BATCH).await? {
        if !store.upload_in_use(&key).await? {
            uploads.delete(&key).await?;
            removed += 1;
        }
    }
    Ok(removed)
}
