//! The queue against the real RabbitMQ this project's machines run on 127.0.0.1:5672 (`.ci/run` starts
//! it; PHOTOCHECK_TEST_AMQP overrides the address). Every test uses queue names of its own and deletes
//! them at the end.

use std::time::Duration;

use photocheck_queue::testing::EventInbox;
use photocheck_queue::{Disposition, Job, QueueConfig, RabbitDelivery, RabbitLink, RabbitQueue};
use uuid::Uuid;

fn amqp() -> String {
    std::env::var("PHOTOCHECK_TEST_AMQP")
        .unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".into())
}

async fn queue(max_attempts: u32) -> RabbitQueue {
    let name = format!("photocheck-test-{}", Uuid::new_v4().simple());
    let mut config = QueueConfig::named(&name);
    config.events_exchange = format!("{name}.results");
    config.max_attempts = max_attempts;
    config.retry_delay = Duration::from_millis(150);
    RabbitQueue::connect(&amqp(), config)
        .await
        .unwrap_or_else(|e| {
            panic!(
                "RabbitMQ at {} is needed (bash .ci/run starts it): {e}",
                amqp()
            )
        })
}

fn job() -> Job {
    Job {
        submission_id: Uuid::new_v4(),
        attempt: 0,
    }
}

/// The next delivery, or a failed test after 10 s.
async fn next(consumer: &mut photocheck_queue::RabbitConsumer) -> RabbitDelivery {
    tokio::time::timeout(Duration::from_secs(10), consumer.next())
        .await
        .expect("a delivery within 10 s")
        .expect("channel open")
        .expect("delivery")
}

/// Waits (up to 5 s) until `queue` holds `n` ready messages.
async fn wait_depth(q: &RabbitQueue, queue: &str, n: u32) {
    for _ in 0..50 {
        if q.depth(queue).await.expect("depth") == n {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!(
        "{queue} never held {n} messages (has {})",
        q.depth(queue).await.expect("depth")
    );
}

#[tokio::test]
async fn a_published_job_is_delivered_and_acked_once() {
    let q = queue(5).await;
    let sent = job();
    q.publish(&sent).await.expect("publish");
    let mut consumer = q.consumer("w1").await.expect("consumer");
    let incoming = next(&mut consumer).await;
    assert_eq!(incoming.job(), Ok(sent));
    assert!(!incoming.redelivered());
    incoming.ack().await.expect("ack");
    consumer.close().await.expect("close");
    wait_depth(&q, &q.config().name, 0).await;
    q.delete_queues().await.expect("delete");
}

/// A worker killed in the middle of a job: its channel closes without an ack, and the job comes back.
#[tokio::test]
async fn an_unacked_job_comes_back_when_its_worker_dies() {
    let q = queue(5).await;
    let sent = job();
    q.publish(&sent).await.expect("publish");
    let mut first = q.consumer("dies").await.expect("consumer");
    assert_eq!(next(&mut first).await.job(), Ok(sent));
    first.close().await.expect("close without ack");
    let mut second = q.consumer("survives").await.expect("consumer");
    let again = next(&mut second).await;
    assert_eq!(again.job(), Ok(sent));
    assert!(
        again.redelivered(),
        "the broker marks it as delivered before"
    );
    again.ack().await.expect("ack");
    second.close().await.expect("close");
    q.delete_queues().await.expect("delete");
}

/// Transient failures are retried after the delay, a bounded number of times, then dead-lettered.
#[tokio::test]
async fn failing_jobs_are_retried_then_dead_lettered() {
    let q = queue(3).await;
    let sent = job();
    q.publish(&sent).await.expect("publish");
    let mut consumer = q.consumer("w").await.expect("consumer");
    let mut seen = Vec::new();
    for expected in [
        Disposition::Retrying { attempt: 1 },
        Disposition::Retrying { attempt: 2 },
        Disposition::DeadLettered,
    ] {
        let incoming = next(&mut consumer).await;
        let j = incoming.job().expect("a job");
        assert_eq!(j.submission_id, sent.submission_id);
        seen.push(j.attempt);
        assert_eq!(incoming.retry().await.expect("retry"), expected);
    }
    assert_eq!(seen, [0, 1, 2]);
    wait_depth(&q, &q.config().dead_queue(), 1).await;
    assert_eq!(q.depth(&q.config().name).await.expect("depth"), 0);
    consumer.close().await.expect("close");
    q.delete_queues().await.expect("delete");
}

/// A permanent failure (the stored photo cannot be read) goes straight to the dead letters.
#[tokio::test]
async fn a_poison_job_is_dead_lettered_at_once() {
    let q = queue(5).await;
    q.publish(&job()).await.expect("publish");
    let mut consumer = q.consumer("w").await.expect("consumer");
    next(&mut consumer)
        .await
        .dead_letter()
        .await
        .expect("dead letter");
    wait_depth(&q, &q.config().dead_queue(), 1).await;
    consumer.close().await.expect("close");
    q.delete_queues().await.expect("delete");
}

/// A worker holds several deliveries at once (up to its prefetch) and finishes them in any order.
#[tokio::test]
async fn several_jobs_are_in_flight_at_once() {
    let q = queue(5).await;
    let (a, b) = (job(), job());
    q.publish(&a).await.expect("publish");
    q.publish(&b).await.expect("publish");
    let mut consumer = q.consumer("w").await.expect("consumer");
    let first = next(&mut consumer).await;
    let second = next(&mut consumer).await;
    assert_eq!((first.job(), second.job()), (Ok(a), Ok(b)));
    second.ack().await.expect("ack");
    first.ack().await.expect("ack");
    consumer.close().await.expect("close");
    wait_depth(&q, &q.config().name, 0).await;
    q.delete_queues().await.expect("delete");
}

/// Result events reach a queue the notification service bound to the exchange, by routing key.
#[tokio::test]
async fn result_events_reach_bound_queues() {
    let q = queue(5).await;
    let sms = EventInbox::bind(&amqp(), &q.config().events_exchange, "submission.rejected")
        .await
        .expect("bind");
    let event = serde_json::json!({ "event": "rejected", "reasons": [{ "code": "no-face" }] });
    q.publish_event(
        "submission.approved",
        &serde_json::json!({ "event": "approved" }),
    )
    .await
    .expect("publish approved");
    q.publish_event("submission.rejected", &event)
        .await
        .expect("publish rejected");
    let got = sms.take(1, Duration::from_secs(5)).await.expect("get");
    assert_eq!(got, vec![("submission.rejected".to_owned(), event)]);
    assert_eq!(
        sms.drain().await.expect("get"),
        vec![],
        "the approved event is not routed to a queue bound for rejections"
    );
    sms.close().await.expect("close");
    q.delete_queues().await.expect("delete");
}

/// A lost connection is made again by the next caller, with the queues declared again.
#[tokio::test]
async fn a_link_reconnects_after_the_connection_is_lost() {
    let config = queue(5).await.config().clone();
    let link = RabbitLink::connect(&amqp(), config).await.expect("link");
    let first = link.get().await.expect("connected");
    first.close().await.expect("close");
    assert!(!link.is_connected().await);
    let second = link.get().await.expect("reconnected");
    assert!(second.is_connected());
    second
        .publish(&job())
        .await
        .expect("publish after reconnect");
    assert_eq!(second.depth(&second.config().name).await.expect("depth"), 1);
    second.delete_queues().await.expect("delete");
}
