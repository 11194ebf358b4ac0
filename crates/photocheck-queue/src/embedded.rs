//! The in-process queue of the embedded mode (`photocheck serve`). It keeps its jobs in memory only: the
//! database is what makes them durable. Every submission is stored before its job is queued, and at
//! start the server queues again every submission still open, so a crash loses no work, at worst it
//! checks a photo twice (and the second result is not written).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use tokio::sync::{mpsc, Mutex};

use crate::{Disposition, Job, QueueConfig};

/// A cheap handle; clones share one queue.
#[derive(Clone)]
pub struct EmbeddedQueue {
    inner: Arc<Inner>,
}

struct Inner {
    sender: mpsc::UnboundedSender<Job>,
    receiver: Mutex<mpsc::UnboundedReceiver<Job>>,
    config: QueueConfig,
    waiting: AtomicUsize,
}

impl EmbeddedQueue {
    /// Uses `max_attempts` and `retry_delay` from the config; the names mean nothing in process.
    pub fn new(config: QueueConfig) -> EmbeddedQueue {
        let (sender, receiver) = mpsc::unbounded_channel();
        EmbeddedQueue {
            inner: Arc::new(Inner {
                sender,
                receiver: Mutex::new(receiver),
                config,
                waiting: AtomicUsize::new(0),
            }),
        }
    }

    pub fn config(&self) -> &QueueConfig {
        &self.inner.config
    }

    pub fn publish(&self, job: Job) {
        self.inner.waiting.fetch_add(1, Ordering::Relaxed);
        // The queue holds its own receiver, so the channel cannot be closed while `self` exists.
        let _ = self.inner.sender.send(job);
    }

    /// Publishes after the retry delay. Lost if the process stops first; the open submission is
    /// queued again at the next start.
    fn publish_later(&self, job: Job) {
        let delay = self.inner.config.retry_delay;
        let queue = self.clone();
        tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            queue.publish(job);
        });
    }

    /// The next job; workers share the queue, each waits its turn.
    pub async fn next(&self) -> Option<EmbeddedDelivery> {
        let job = self.inner.receiver.lock().await.recv().await?;
        self.inner.waiting.fetch_sub(1, Ordering::Relaxed);
        Some(EmbeddedDelivery {
            job,
            queue: self.clone(),
        })
    }

    /// Jobs waiting to be taken (not counting those waiting out a retry delay).
    pub fn depth(&self) -> usize {
        self.inner.waiting.load(Ordering::Relaxed)
    }
}

/// One job taken from the embedded queue.
pub struct EmbeddedDelivery {
    job: Job,
    queue: EmbeddedQueue,
}

impl EmbeddedDelivery {
    pub fn job(&self) -> Job {
        self.job
    }

    /// Given up on: the worker has marked the submission failed, which is where the record lives,
    /// so the job is simply dropped.
    pub fn dead_letter(self) {}

    /// Queues the job again after the retry delay, or gives up after `max_attempts`.
    pub fn retry(self) -> Disposition {
        let attempt = self.job.attempt + 1;
        let config = &self.queue.inner.config;
        if attempt >= config.max_attempts {
            self.dead_letter();
            return Disposition::DeadLettered;
        }
        let job = Job {
            attempt,
            ..self.job
        };
        self.queue.publish_later(job);
        Disposition::Retrying { attempt }
    }

    /// Back in the queue after the retry delay as the same attempt: what failed was not the job.
    pub fn put_back(self) {
        self.queue.publish_later(self.job);
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use uuid::Uuid;

    use super::*;

    fn queue(max_attempts: u32) -> EmbeddedQueue {
        EmbeddedQueue::new(QueueConfig {
            max_attempts,
            retry_delay: Duration::from_millis(20),
            ..QueueConfig::default()
        })
    }

    async fn next(q: &EmbeddedQueue) -> EmbeddedDelivery {
        tokio::time::timeout(Duration::from_secs(5), q.next())
            .await
            .expect("a job within 5 s")
            .expect("queue open")
    }

    #[tokio::test]
    async fn jobs_come_out_in_order_and_the_depth_follows() {
        let q = queue(3);
        let (a, b) = (Job::new(Uuid::new_v4()), Job::new(Uuid::new_v4()));
        q.publish(a);
        q.publish(b);
        assert_eq!(q.depth(), 2);
        assert_eq!(next(&q).await.job(), a);
        assert_eq!(next(&q).await.job(), b);
        assert_eq!(q.depth(), 0);
    }

    #[tokio::test]
    async fn retries_are_bounded_then_dead_lettered() {
        let q = queue(3);
        let id = Uuid::new_v4();
        q.publish(Job::new(id));
        let mut outcomes = Vec::new();
        for _ in 0..3 {
            let d = next(&q).await;
            assert_eq!(d.job().submission_id, id);
            outcomes.push(d.retry());
        }
        assert_eq!(
            outcomes,
            [
                Disposition::Retrying { attempt: 1 },
                Disposition::Retrying { attempt: 2 },
                Disposition::DeadLettered
            ]
        );
        assert_eq!(q.depth(), 0);
    }

    #[tokio::test]
    async fn a_job_put_back_returns_as_the_same_attempt_however_often() {
        let q = queue(2);
        let id = Uuid::new_v4();
        q.publish(Job::new(id));
        // More times than max_attempts: a store that cannot write must not use up the job's tries.
        for _ in 0..4 {
            let d = next(&q).await;
            assert_eq!(d.job().attempt, 0);
            d.put_back();
        }
        assert_eq!(next(&q).await.job().submission_id, id);
    }
}
