//! Publishes submissions that were stored but never confirmed by the broker (the API crashed in
//! between, or RabbitMQ was down): the database is the source of truth, the queue only delivers.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use photocheck_queue::{Job, RabbitLink};
use photocheck_store::Store;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

/// Every `every`, publishes what has waited unpublished longer than `min_age` (younger ones are
/// probably being published right now by the request that stored them). Several API replicas may
/// sweep at once; a job published twice still gives one result.
pub async fn run(
    store: Store,
    link: Arc<RabbitLink>,
    every: Duration,
    min_age: Duration,
    shutdown: CancellationToken,
) {
    loop {
        tokio::select! {
            () = tokio::time::sleep(every) => {}
            () = shutdown.cancelled() => return,
        }
        match sweep(&store, &link, min_age).await {
            Ok(0) => {}
            Ok(n) => info!(published = n, "sweeper published stored submissions"),
            Err(e) => warn!(error = %e, "sweep failed; next time"),
        }
    }
}

/// One sweep; returns how many jobs and reviewer-decision events were published.
pub async fn sweep(store: &Store, link: &RabbitLink, min_age: Duration) -> anyhow::Result<usize> {
    let before = Utc::now() - chrono::Duration::from_std(min_age)?;
    let ids = store.unpublished(before, 500).await?;
    let queue = link.get().await?;
    for id in &ids {
        queue.publish(&Job::new(*id)).await?;
        store.mark_published(*id, Utc::now()).await?;
    }
    // Reviewer decisions are committed before their event is sent, as submissions before their job.
    let decided = store.unsent_review_events(before, 500).await?;
    for id in &decided {
        crate::review::publish_review_event(store, link, *id).await?;
    }
    Ok(ids.len() + decided.len())
}
