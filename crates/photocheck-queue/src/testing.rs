//! A stand-in for a notification service, for tests and benchmarks: an exclusive queue bound to the
//! results exchange, read without acks. It goes away with its connection.

use std::time::Duration;

use lapin::options::{BasicGetOptions, QueueBindOptions, QueueDeclareOptions};
use lapin::types::FieldTable;

use crate::QueueError;

/// One result event: its routing key and JSON body.
pub type Event = (String, serde_json::Value);

pub struct EventInbox {
    connection: lapin::Connection,
    channel: lapin::Channel,
    queue: String,
}

impl EventInbox {
    /// Binds a new exclusive queue to `exchange` for the routing keys matching `pattern`
    /// (`submission.*`, `submission.rejected`).
    pub async fn bind(amqp: &str, exchange: &str, pattern: &str) -> Result<EventInbox, QueueError> {
        let connection = lapin::Connection::connect(amqp, Default::default()).await?;
        let channel = connection.create_channel().await?;
        let declared = channel
            .queue_declare(
                "".into(),
                QueueDeclareOptions {
                    exclusive: true,
                    ..Default::default()
                },
                FieldTable::default(),
            )
            .await?;
        channel
            .queue_bind(
                declared.name().clone(),
                exchange.into(),
                pattern.into(),
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await?;
        Ok(EventInbox {
            queue: declared.name().to_string(),
            connection,
            channel,
        })
    }

    /// The next event waiting now, if any.
    pub async fn try_next(&self) -> Result<Option<Event>, QueueError> {
        let got = self
            .channel
            .basic_get(self.queue.as_str().into(), BasicGetOptions { no_ack: true })
            .await?;
        got.map(|m| {
            let body = serde_json::from_slice(&m.delivery.data)
                .map_err(|e| QueueError::BadJob(format!("result event: {e}")))?;
            Ok((m.delivery.routing_key.to_string(), body))
        })
        .transpose()
    }

    /// Every event waiting now.
    pub async fn drain(&self) -> Result<Vec<Event>, QueueError> {
        let mut out = Vec::new();
        while let Some(e) = self.try_next().await? {
            out.push(e);
        }
        Ok(out)
    }

    /// Waits up to `timeout` for `n` events; returns those that came (fewer when time ran out).
    pub async fn take(&self, n: usize, timeout: Duration) -> Result<Vec<Event>, QueueError> {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut out = Vec::new();
        while out.len() < n && tokio::time::Instant::now() < deadline {
            match self.try_next().await? {
                Some(e) => out.push(e),
                None => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
        Ok(out)
    }

    pub async fn close(self) -> Result<(), QueueError> {
        self.connection.close(200, "bye".into()).await?;
        Ok(())
    }
}
