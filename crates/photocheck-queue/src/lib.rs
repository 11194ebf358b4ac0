//! photocheck-queue: delivers "check this submission" jobs to workers, over RabbitMQ (multi-node) or an
//! in-process queue (the embedded mode), behind one delivery type the worker handles alike.
//!
//! RabbitMQ: three durable queues per name: `NAME` (work), `NAME.retry` (a delay: its messages expire
//! back into the work queue after `retry_delay`), and `NAME.dead` (dead letters, kept for a person).
//! Messages are persistent and every publish waits for the broker's confirm. A worker acks a job only
//! after its result is committed; a job that fails transiently goes to the retry queue with its attempt
//! count raised, and after `max_attempts` (or at once, for a permanent failure) it is rejected into the
//! dead letters. Result events go to a topic exchange. The database stays the source of truth: the
//! queue only delivers, maybe twice.

mod embedded;
mod rabbit;
pub mod testing;

use std::time::Duration;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub use crate::embedded::{EmbeddedDelivery, EmbeddedQueue};
pub use crate::rabbit::{RabbitConsumer, RabbitDelivery, RabbitLink, RabbitQueue};

#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    #[error("broker: {0}")]
    Broker(#[from] lapin::Error),
    #[error("the broker did not confirm the message")]
    NotConfirmed,
    #[error("job is not valid JSON: {0}")]
    BadJob(String),
}

/// One unit of work: check this submission. `attempt` counts deliveries that ended in a retry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Job {
    pub submission_id: Uuid,
    #[serde(default)]
    pub attempt: u32,
}

impl Job {
    pub fn new(submission_id: Uuid) -> Job {
        Job {
            submission_id,
            attempt: 0,
        }
    }
}

/// Queue names and retry policy.
#[derive(Debug, Clone)]
pub struct QueueConfig {
    /// The work queue; `.retry` and `.dead` are derived from it.
    pub name: String,
    /// The topic exchange result events are published to.
    pub events_exchange: String,
    /// Deliveries in flight per worker channel.
    pub prefetch: u16,
    /// Attempts before a job is dead-lettered.
    pub max_attempts: u32,
    /// How long a job waits before its next attempt.
    pub retry_delay: Duration,
}

impl QueueConfig {
    pub fn named(name: &str) -> QueueConfig {
        QueueConfig {
            name: name.to_owned(),
            events_exchange: "photocheck.results".to_owned(),
            prefetch: 4,
            max_attempts: 5,
            retry_delay: Duration::from_secs(5),
        }
    }
    pub fn retry_queue(&self) -> String {
        format!("{}.retry", self.name)
    }
    pub fn dead_queue(&self) -> String {
        format!("{}.dead", self.name)
    }
}

impl Default for QueueConfig {
    fn default() -> QueueConfig {
        QueueConfig::named("photocheck.checks")
    }
}

/// What became of a job a worker could not finish.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Disposition {
    /// Back in the queue after the retry delay.
    Retrying { attempt: u32 },
    /// In the dead letters.
    DeadLettered,
}

/// A delivered job from either queue. It must end in `ack`, `retry` or `dead_letter`; if the worker
/// dies first, RabbitMQ delivers it again and the embedded mode queues it again at the next start.
pub enum Delivery {
    // Boxed: a lapin delivery is large, and deliveries move between tasks.
    Rabbit(Box<RabbitDelivery>),
    Embedded(EmbeddedDelivery),
}

impl Delivery {
    /// The job, or why the message body is not one (such a message can only be dead-lettered).
    pub fn job(&self) -> Result<Job, &str> {
        match self {
            Delivery::Rabbit(d) => d.job(),
            Delivery::Embedded(d) => Ok(d.job()),
        }
    }

    /// Delivered before to a worker that did not finish it.
    pub fn redelivered(&self) -> bool {
        match self {
            Delivery::Rabbit(d) => d.redelivered(),
            Delivery::Embedded(_) => false,
        }
    }

    /// Done: the result is committed.
    pub async fn ack(self) -> Result<(), QueueError> {
        match self {
            Delivery::Rabbit(d) => d.ack().await,
            Delivery::Embedded(_) => Ok(()),
        }
    }

    /// A transient failure: try again after the delay, or dead-letter after `max_attempts`.
    pub async fn retry(self) -> Result<Disposition, QueueError> {
        match self {
            Delivery::Rabbit(d) => d.retry().await,
            Delivery::Embedded(d) => Ok(d.retry()),
        }
    }

    /// Back in the queue after the retry delay, not counted as an attempt: for failures of the
    /// store rather than of the job.
    pub async fn put_back(self) -> Result<(), QueueError> {
        match self {
            Delivery::Rabbit(d) => d.put_back().await,
            Delivery::Embedded(d) => {
                d.put_back();
                Ok(())
            }
        }
    }

    /// A permanent failure: straight to the dead letters.
    pub async fn dead_letter(self) -> Result<(), QueueError> {
        match self {
            Delivery::Rabbit(d) => d.dead_letter().await,
            Delivery::Embedded(d) => {
                d.dead_letter();
                Ok(())
            }
        }
    }
}
