//! RabbitMQ through lapin: the work, retry and dead-letter queues, and the results exchange.

use std::sync::Arc;

use futures_util::StreamExt;
use lapin::message::Delivery;
use lapin::options::{
    BasicAckOptions, BasicConsumeOptions, BasicPublishOptions, BasicQosOptions, BasicRejectOptions,
    ConfirmSelectOptions, ExchangeDeclareOptions, ExchangeDeleteOptions, QueueDeclareOptions,
    QueueDeleteOptions,
};
use lapin::types::{AMQPValue, FieldTable, LongString, ShortString};
use lapin::{BasicProperties, Channel, Connection, ConnectionProperties, ExchangeKind};
use tokio::sync::Mutex;

use crate::{Disposition, Job, QueueConfig, QueueError};

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
        // Result events for the notification services; they bind their own queues to it.
        publisher
            .exchange_declare(
                config.events_exchange.as_str().into(),
                ExchangeKind::Topic,
                ExchangeDeclareOptions {
                    durable: true,
                    ..Default::default()
                },
                FieldTable::default(),
            )
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
        publish_to(&self.publisher, "", &self.config.name, &to_json(job)?).await
    }

    /// Publishes a result event (JSON) to the results exchange under `routing_key`, confirmed.
    pub async fn publish_event(
        &self,
        routing_key: &str,
        event: &impl serde::Serialize,
    ) -> Result<(), QueueError> {
        let body = to_json(event)?;
        publish_to(
            &self.publisher,
            &self.config.events_exchange,
            routing_key,
            &body,
        )
        .await
    }

    /// The connection and the publishing channel are both open.
    pub fn is_connected(&self) -> bool {
        self.connection.status().connected() && self.publisher.status().connected()
    }

    /// A consumer on its own channel, with the configured prefetch and manual acks.
    pub async fn consumer(&self, tag: &str) -> Result<RabbitConsumer, QueueError> {
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
        Ok(RabbitConsumer {
            channel,
            inner,
            config: self.config.clone(),
        })
    }

    /// Removes the three queues and the results exchange (tests, and tearing down a deployment).
    pub async fn delete_queues(&self) -> Result<(), QueueError> {
        self.publisher
            .exchange_delete(
                self.config.events_exchange.as_str().into(),
                ExchangeDeleteOptions::default(),
            )
            .await?;
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

fn to_json(value: &impl serde::Serialize) -> Result<Vec<u8>, QueueError> {
    serde_json::to_vec(value).map_err(|e| QueueError::BadJob(e.to_string()))
}

/// Publishes persistently to `exchange` ("" = straight to the queue named `routing_key`) and waits for
/// the broker's confirm.
async fn publish_to(
    channel: &Channel,
    exchange: &str,
    routing_key: &str,
    body: &[u8],
) -> Result<(), QueueError> {
    // delivery_mode 2: persistent, so a broker restart keeps the message.
    let properties = BasicProperties::default()
        .with_delivery_mode(2)
        .with_content_type("application/json".into());
    let confirm = channel
        .basic_publish(
            exchange.into(),
            routing_key.into(),
            BasicPublishOptions::default(),
            body,
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
pub struct RabbitConsumer {
    channel: Channel,
    inner: lapin::Consumer,
    config: QueueConfig,
}

impl RabbitConsumer {
    /// The next delivery; `None` when the channel closes. Deliveries are independent of the consumer, so
    /// a worker can hold up to `prefetch` of them while it asks for more.
    pub async fn next(&mut self) -> Option<Result<RabbitDelivery, QueueError>> {
        let delivery = match self.inner.next().await? {
            Ok(d) => d,
            Err(e) => return Some(Err(e.into())),
        };
        let job = serde_json::from_slice::<Job>(&delivery.data).map_err(|e| e.to_string());
        Some(Ok(RabbitDelivery {
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
pub struct RabbitDelivery {
    delivery: Delivery,
    job: Result<Job, String>,
    /// The consumer's channel: retries are published on it, confirmed, before the ack.
    channel: Channel,
    config: QueueConfig,
}

impl RabbitDelivery {
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
        self.requeue(Job { attempt, ..job }).await?;
        Ok(Disposition::Retrying { attempt })
    }

    /// Back in the queue after the retry delay as the same attempt: what failed was not the job.
    pub async fn put_back(self) -> Result<(), QueueError> {
        match self.job.as_ref().copied() {
            Ok(job) => self.requeue(job).await,
            Err(_) => self.dead_letter().await,
        }
    }

    async fn requeue(&self, next: Job) -> Result<(), QueueError> {
        // Confirmed in the retry queue before this delivery is acked: never lost, at worst doubled.
        publish_to(
            &self.channel,
            "",
            &self.config.retry_queue(),
            &to_json(&next)?,
        )
        .await?;
        self.delivery.ack(BasicAckOptions::default()).await?;
        Ok(())
    }

    /// A permanent failure: straight to the dead letters.
    pub async fn dead_letter(self) -> Result<(), QueueError> {
        self.delivery
            .reject(BasicRejectOptions { requeue: false })
            .await?;
        Ok(())
    }
}

/// A RabbitMQ connection that is made again when it is lost (a broker restart, a network cut). Whoever
/// finds it broken simply asks again; the first caller after the loss reconnects for everyone.
pub struct RabbitLink {
    uri: String,
    config: QueueConfig,
    current: Mutex<Option<Arc<RabbitQueue>>>,
}

impl RabbitLink {
    /// Connects now, so a wrong address or credentials fail at start, not at the first photo.
    pub async fn connect(uri: &str, config: QueueConfig) -> Result<RabbitLink, QueueError> {
        let queue = RabbitQueue::connect(uri, config.clone()).await?;
        Ok(RabbitLink {
            uri: uri.to_owned(),
            config,
            current: Mutex::new(Some(Arc::new(queue))),
        })
    }

    pub fn config(&self) -> &QueueConfig {
        &self.config
    }

    /// The open connection, reconnecting (and declaring the queues again) if the last one was lost.
    pub async fn get(&self) -> Result<Arc<RabbitQueue>, QueueError> {
        let mut current = self.current.lock().await;
        if let Some(queue) = current.as_ref().filter(|q| q.is_connected()) {
            return Ok(Arc::clone(queue));
        }
        *current = None;
        let queue = Arc::new(RabbitQueue::connect(&self.uri, self.config.clone()).await?);
        *current = Some(Arc::clone(&queue));
        Ok(queue)
    }

    /// Whether the connection is up right now (readiness), without reconnecting.
    pub async fn is_connected(&self) -> bool {
        self.current
            .lock()
            .await
            .as_ref()
            .is_some_and(|q| q.is_connected())
    }
}
