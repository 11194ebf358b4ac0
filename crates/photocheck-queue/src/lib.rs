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
#[cfg(feature = "testing")]
pub mod testing;

use std::sync::Arc;
use std::time::Duration;

use photocheck_types::ResultEvent;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::embedded::{EmbeddedDelivery, EmbeddedQueue};
// The broker's own types stay public for the queue's tests and for tools that inspect the queues.
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
pub struct Delivery {
    inner: DeliveryInner,
}

enum DeliveryInner {
    // Boxed: a lapin delivery is large, and deliveries move between tasks.
    Rabbit(Box<RabbitDelivery>),
    Embedded(EmbeddedDelivery),
}

use DeliveryInner as D;

impl Delivery {
    /// The job, or why the message body is not one (such a message can only be dead-lettered).
    pub fn job(&self) -> Result<Job, &str> {
        match &self.inner {
            D::Rabbit(d) => d.job(),
            D::Embedded(d) => Ok(d.job()),
        }
    }

    /// Delivered before to a worker that did not finish it.
    pub fn redelivered(&self) -> bool {
        match &self.inner {
            D::Rabbit(d) => d.redelivered(),
            D::Embedded(_) => false,
        }
    }

    /// Done: the result is committed.
    pub async fn ack(self) -> Result<(), QueueError> {
        match self.inner {
            D::Rabbit(d) => d.ack().await,
            D::Embedded(_) => Ok(()),
        }
    }

    /// A transient failure: try again after the delay, or dead-letter after `max_attempts`.
    pub async fn retry(self) -> Result<Disposition, QueueError> {
        match self.inner {
            D::Rabbit(d) => d.retry().await,
            D::Embedded(d) => Ok(d.retry()),
        }
    }

    /// Back in the queue after the retry delay, not counted as an attempt: for failures of the
    /// store rather than of the job.
    pub async fn put_back(self) -> Result<(), QueueError> {
        match self.inner {
            D::Rabbit(d) => d.put_back().await,
            D::Embedded(d) => {
                d.put_back();
                Ok(())
            }
        }
    }

    /// A permanent failure: straight to the dead letters.
    pub async fn dead_letter(self) -> Result<(), QueueError> {
        match self.inner {
            D::Rabbit(d) => d.dead_letter().await,
            D::Embedded(d) => {
                d.dead_letter();
                Ok(())
            }
        }
    }
}

/// The one queue the services use, whatever carries it: RabbitMQ (multi-node) or the in-process queue
/// (embedded). Cheap to clone; clones share the connection or the queue.
#[derive(Clone)]
pub struct Queue {
    transport: Transport,
}

#[derive(Clone)]
enum Transport {
    Rabbit(Arc<RabbitLink>),
    Embedded(EmbeddedQueue),
}

impl Queue {
    /// Connects to RabbitMQ now (so a wrong address fails at start) and declares the queues; a lost
    /// connection is made again by whoever uses it next.
    pub async fn rabbit(uri: &str, config: QueueConfig) -> Result<Queue, QueueError> {
        let link = RabbitLink::connect(uri, config).await?;
        Ok(Queue {
            transport: Transport::Rabbit(Arc::new(link)),
        })
    }

    /// An in-process queue: jobs live in memory only, so the store's open submissions are what is
    /// queued again after a restart.
    pub fn embedded(config: QueueConfig) -> Queue {
        Queue {
            transport: Transport::Embedded(EmbeddedQueue::new(config)),
        }
    }

    pub fn config(&self) -> &QueueConfig {
        match &self.transport {
            Transport::Rabbit(link) => link.config(),
            Transport::Embedded(q) => q.config(),
        }
    }

    /// Queues the job. With RabbitMQ the broker has confirmed it stored the job when this returns.
    pub async fn publish(&self, job: Job) -> Result<(), QueueError> {
        match &self.transport {
            Transport::Rabbit(link) => link.get().await?.publish(&job).await,
            Transport::Embedded(q) => {
                q.publish(job);
                Ok(())
            }
        }
    }

    /// Whether a published job outlives this process. Only then is a submission marked published:
    /// the in-process queue's jobs die with it, and its open submissions are queued again at start.
    pub fn durable(&self) -> bool {
        matches!(self.transport, Transport::Rabbit(_))
    }

    /// Sends a result event to the notification services under its routing key, confirmed by the
    /// broker. In process there are none (the embedded mode's event log is the database's), so it
    /// is done at once.
    pub async fn publish_event(&self, event: &ResultEvent) -> Result<(), QueueError> {
        match &self.transport {
            Transport::Rabbit(link) => {
                let queue = link.get().await?;
                queue.publish_event(event.routing_key(), event).await
            }
            Transport::Embedded(_) => Ok(()),
        }
    }

    /// Jobs waiting, by queue name (work, retry, dead letters), for the metrics. Empty when the broker
    /// cannot be reached.
    pub async fn depths(&self) -> Vec<(String, i64)> {
        match &self.transport {
            Transport::Embedded(q) => vec![("embedded".to_owned(), q.depth() as i64)],
            Transport::Rabbit(link) => {
                let Ok(q) = link.get().await else {
                    return Vec::new();
                };
                let c = q.config();
                let mut out = Vec::new();
                for name in [c.name.clone(), c.retry_queue(), c.dead_queue()] {
                    if let Ok(n) = q.depth(&name).await {
                        out.push((name, i64::from(n)));
                    }
                }
                out
            }
        }
    }

    /// Jobs can be published now (reconnecting to the broker if it was lost).
    pub async fn is_ready(&self) -> bool {
        match &self.transport {
            Transport::Rabbit(link) => link.get().await.is_ok(),
            Transport::Embedded(_) => true,
        }
    }

    /// A consumer for one worker. With RabbitMQ it has its own channel (`tag` names it to the broker);
    /// when it fails the worker asks for a new one.
    pub async fn consume(&self, tag: &str) -> Result<Consumer, QueueError> {
        let inner = match &self.transport {
            Transport::Rabbit(link) => {
                ConsumerInner::Rabbit(Box::new(link.get().await?.consumer(tag).await?))
            }
            Transport::Embedded(q) => ConsumerInner::Embedded(q.clone()),
        };
        Ok(Consumer { inner })
    }
}

/// Deliveries for one worker, from either transport.
pub struct Consumer {
    inner: ConsumerInner,
}

enum ConsumerInner {
    // Boxed: a lapin consumer is large; a consumer lives as long as its worker's connection.
    Rabbit(Box<RabbitConsumer>),
    Embedded(EmbeddedQueue),
}

impl Consumer {
    /// The next delivery; `None` when the consumer is closed (a lost broker channel), an error when
    /// the broker failed it. Either way the worker asks the queue for a new consumer.
    pub async fn next(&mut self) -> Option<Result<Delivery, QueueError>> {
        match &mut self.inner {
            ConsumerInner::Rabbit(c) => Some(c.next().await?.map(|d| Delivery {
                inner: D::Rabbit(Box::new(d)),
            })),
            ConsumerInner::Embedded(q) => q.next().await.map(|d| {
                Ok(Delivery {
                    inner: D::Embedded(d),
                })
            }),
        }
    }

    /// Lets go of the deliveries prefetched but not taken: RabbitMQ gives them to another worker.
    pub async fn close(self) -> Result<(), QueueError> {
        match self.inner {
            ConsumerInner::Rabbit(c) => (*c).close().await,
            ConsumerInner::Embedded(_) => Ok(()),
        }
    }
}
