//! photocheck-queue: delivers "check this submission" jobs to workers over RabbitMQ (lapin).
//!
//! Three durable queues per name: `NAME` (work), `NAME.retry` (a delay: its messages expire back into
//! the work queue after `retry_delay`), and `NAME.dead` (dead letters, kept for a person). Messages are
//! persistent and every publish waits for the broker's confirm. A worker acks a job only after its
//! result is committed; a job that fails transiently goes to the retry queue with its attempt count
//! raised, and after `max_attempts` (or at once, for a permanent failure) it is rejected into the dead
//! letters. The database stays the source of truth: the queue only delivers, maybe twice.

use std::time::Duration;

use futures_util::StreamExt;
use lapin::message::Delivery;
use lapin::options::{
    BasicAckOptions, BasicConsumeOptions, BasicPublishOptions, BasicQosOptions, BasicRejectOptions,
    ConfirmSelectOptions, QueueDeclareOptions, QueueDeleteOptions,
};
use lapin::types::{AMQPValue, FieldTable, LongString, ShortString};
use lapin::{BasicProperties, Channel, Connection, ConnectionProperties};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

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

/// Queue names and retry policy.
#[derive(Debug, Clone)]
pub struct QueueConfig {
    /// The work queue; `.retry` and `.dead` are derived from it.
    pub name: String,
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

/// A connection with the queues declared and a confirming publisher channel.
pub struct RabbitQueue {
    connection: Connection,
    publisher: Channel,
    config: QueueConfig,
}

fn table(entries: &[(&str, AMQPValue)]) -> FieldTable {
    let mut t = FieldTable::default();
    for (k, v) in entries {
        t.insert(ShortString::from(*k), v.clone());
    }
    t
}

fn text(s: &str) -> AMQPValue {
    AMQPValue::LongString(LongString::from(s.as_bytes().to_vec()))
}

impl RabbitQueue {
    /// Connects (`amqp://user:pass@host:port/vhost`) and declares the three queues.
    pub async fn connect(uri: &str, config: QueueConfig) -> Result<RabbitQueue, QueueError> {
        let connection = Connection::connect(uri, ConnectionProperties::default()).await?;
        let publisher = connection.create_channel().await?;
        let durable = QueueDeclareOptions::durable();
        publisher
            .queue_declare(
                config.dead_queue().as_str().into(),
                durable,
                FieldTable::default(),
            )
            .await?;
        // Work queue: rejected messages go to the dead letters.
        let work_args = table(&[
            ("x-dead-letter-exchange", text("")),
            ("x-dead-letter-routing-key", text(&config.dead_queue())),
        ]);
        publisher
            .queue_declare(config.name.as_str().into(), durable, work_args)
            .await?;
        // Retry queue: no consumers; each message expires after the delay back into the work queue.
        let ttl = i64::try_from(config.retry_delay.as_millis()).unwrap_or(i64::MAX);
        let retry_args = table(&[
            ("x-message-ttl", AMQPValue::LongLongInt(ttl)),
            ("x-dead-letter-exchange", text("")),
            ("x-dead-letter-routing-key", text(&config.name)),
        ]);
        publisher
            .queue_declare(config.retry_queue().as_str().into(), durable, retry_args)
            .await?;
        publisher
            .confirm_select(ConfirmSelectOptions::default())
            .await?;
        Ok(RabbitQueue {
            connection,
            publisher,
            config,
        })
    }

    pub fn config(&self) -> &QueueConfig {
        &self.config
    }

    /// Publishes a job to the work queue and waits for the broker to confirm it is stored.
    pub async fn publish(&self, job: &Job) -> Result<(), QueueError> {
        publish_to(&self.publisher, &self.config.name, job).await
    }

    /// A consumer on its own channel, with the configured prefetch and manual acks.
    pub async fn consumer(&self, tag: &str) -> Result<Consumer, QueueError> {
        let channel = self.connection.create_channel().await?;
        channel
            .basic_qos(self.config.prefetch, BasicQosOptions::default())
            .await?;
        // Retries are published from the consumer's own channel, confirmed, before the ack.
        channel
            .confirm_select(ConfirmSelectOptions::default())
            .await?;
        let inner = channel
            .basic_consume(
                self.config.name.as_str().into(),
                tag.into(),
                BasicConsumeOptions::default(),
                FieldTable::default(),
            )
            .await?;
        Ok(Consumer {
            channel,
            inner,
            config: self.config.clone(),
        })
    }

    /// Removes the three queues (tests, and tearing down a deployment).
    pub async fn delete_queues(&self) -> Result<(), QueueError> {
        for q in [
            self.config.name.clone(),
            self.config.retry_queue(),
            self.config.dead_queue(),
        ] {
            self.publisher
                .queue_delete(q.as_str().into(), QueueDeleteOptions::default())
                .await?;
        }
        Ok(())
    }

    /// Messages waiting in a queue of this set (work, retry or dead), for metrics and tests.
    pub async fn depth(&self, queue: &str) -> Result<u32, QueueError> {
        let q = self
            .publisher
            .queue_declare(
                queue.into(),
                QueueDeclareOptions {
                    passive: true,
                    ..Default::default()
                },
                FieldTable::default(),
            )
            .await?;
        Ok(q.message_count())
    }

    pub async fn close(&self) -> Result<(), QueueError> {
        self.connection.close(200, "bye".into()).await?;
        Ok(())
    }
}

async fn publish_to(channel: &Channel, queue: &str, job: &Job) -> Result<(), QueueError> {
    let body = serde_json::to_vec(job).map_err(|e| QueueError::BadJob(e.to_string()))?;
    // delivery_mode 2: persistent, so a broker restart keeps the message.
    let properties = BasicProperties::default()
        .with_delivery_mode(2)
        .with_content_type("application/json".into());
    let confirm = channel
        .basic_publish(
            "".into(),
            queue.into(),
            BasicPublishOptions::default(),
            &body,
            properties,
        )
        .await?
        .await?;
    if confirm.is_ack() {
        Ok(())
    } else {
        Err(QueueError::NotConfirmed)
    }
}

/// Jobs delivered to one worker channel.
pub struct Consumer {
    channel: Channel,
    inner: lapin::Consumer,
    config: QueueConfig,
}

/// What became of a job a worker could not finish.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Disposition {
    /// Back in the queue after the retry delay.
    Retrying { attempt: u32 },
    /// In the dead letters.
    DeadLettered,
}

impl Consumer {
    /// The next delivery; `None` when the channel closes. Deliveries are independent of the consumer, so
    /// a worker can hold up to `prefetch` of them while it asks for more.
    pub async fn next(&mut self) -> Option<Result<Incoming, QueueError>> {
        let delivery = match self.inner.next().await? {
            Ok(d) => d,
            Err(e) => return Some(Err(e.into())),
        };
        let job = serde_json::from_slice::<Job>(&delivery.data).map_err(|e| e.to_string());
        Some(Ok(Incoming {
            delivery,
            job,
            channel: self.channel.clone(),
            config: self.config.clone(),
        }))
    }

    /// Closes the channel: unacked deliveries go back to the queue (what a killed worker does).
    pub async fn close(self) -> Result<(), QueueError> {
        self.channel.close(200, "bye".into()).await?;
        Ok(())
    }
}

/// One delivered job. It must end in `ack`, `retry` or `dead_letter`; if the worker dies first, the
/// broker delivers it again.
pub struct Incoming {
    delivery: Delivery,
    job: Result<Job, String>,
    /// The consumer's channel: retries are published on it, confirmed, before the ack.
    channel: Channel,
    config: QueueConfig,
}

impl Incoming {
    /// The job, or why its body is not one (such a message can only be dead-lettered).
    pub fn job(&self) -> Result<Job, &str> {
        self.job.as_ref().copied().map_err(String::as_str)
    }

    /// The broker says it delivered this message before (to a worker that did not ack it).
    pub fn redelivered(&self) -> bool {
        self.delivery.redelivered
    }

    /// Done: the result is committed.
    pub async fn ack(self) -> Result<(), QueueError> {
        self.delivery.ack(BasicAckOptions::default()).await?;
        Ok(())
    }

    /// A transient failure: try again after the delay, or dead-letter after `max_attempts`.
    pub async fn retry(self) -> Result<Disposition, QueueError> {
        let Ok(job) = self.job else {
            return self.dead_letter().await.map(|()| Disposition::DeadLettered);
        };
        let attempt = job.attempt + 1;
        if attempt >= self.config.max_attempts {
            self.dead_letter().await?;
            return Ok(Disposition::DeadLettered);
        }
        // Confirmed in the retry queue before this delivery is acked: never lost, at worst doubled.
        let next = Job { attempt, ..job };
        publish_to(&self.channel, &self.config.retry_queue(), &next).await?;
        self.delivery.ack(BasicAckOptions::default()).await?;
        Ok(Disposition::Retrying { attempt })
    }

    /// A permanent failure: straight to the dead letters.
    pub async fn dead_letter(self) -> Result<(), QueueError> {
        self.delivery
            .reject(BasicRejectOptions { requeue: false })
            .await?;
        Ok(())
    }
}
