//! The multi-node pipeline in one test process: `run_api` and `run_worker` on PostgreSQL and RabbitMQ,
//! driven over HTTP like the platform drives it.

use std::collections::HashSet;
use std::path::PathBuf;
use std::time::Duration;

use photocheck_app::Options;
use photocheck_queue::testing::EventInbox;
use photocheck_queue::{Job, RabbitQueue};
use photocheck_store::{Blobs, Channel, NewSubmission, Status, Store};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::{free_port, multi_node, photos_or_skip, wait_for};

/// An API and a worker running on their own schema and queues.
pub struct Stack {
    pub options: Options,
    pub api: String,
    worker_ops: String,
    pub store: Store,
    shutdown: CancellationToken,
    tasks: Vec<tokio::task::JoinHandle<anyhow::Result<()>>>,
    _blobs: tempfile::TempDir,
}

impl Stack {
    pub async fn start() -> Stack {
        let blobs = tempfile::tempdir().expect("temp dir");
        let mut options = multi_node(blobs.path()).await;
        let shutdown = CancellationToken::new();
        let api_port = free_port();
        let worker_port = free_port();
        options.listen = format!("127.0.0.1:{api_port}");
        let api = tokio::spawn(photocheck_app::run_api(options.clone(), shutdown.clone()));
        let mut worker_options = options.clone();
        worker_options.listen = format!("127.0.0.1:{worker_port}");
        let worker = tokio::spawn(photocheck_app::run_worker(worker_options, shutdown.clone()));
        let store = Store::connect(&options.database).await.expect("store");
        let stack = Stack {
            api: format!("http://127.0.0.1:{api_port}"),
            worker_ops: format!("http://127.0.0.1:{worker_port}"),
            options,
            store,
            shutdown,
            tasks: vec![api, worker],
            _blobs: blobs,
        };
        let client = reqwest::Client::new();
        for base in [&stack.api, &stack.worker_ops] {
            let url = format!("{base}/readyz");
            wait_for(20, &url, || async {
                let r = client.get(&url).send().await.ok()?;
                r.status().is_success().then_some(())
            })
            .await;
        }
        stack
    }

    pub async fn submit(&self, photo: &[u8], applicant: &str) -> Uuid {
        self.submit_via(photo, applicant, "camera").await
    }

    /// Submits through a given channel (`camera`, `album`, `stored`).
    pub async fn submit_via(&self, photo: &[u8], applicant: &str, channel: &str) -> Uuid {
        let form = reqwest::multipart::Form::new()
            .part(
                "photo",
                reqwest::multipart::Part::bytes(photo.to_vec()).file_name("photo.jpg"),
            )
            .text("applicant_id", applicant.to_owned())
            .text("channel", channel.to_owned());
        let response = reqwest::Client::new()
            .post(format!("{}/v1/submissions", self.api))
            .multipart(form)
            .send()
            .await
            .expect("submit");
        assert_eq!(response.status(), reqwest::StatusCode::ACCEPTED);
        let body: serde_json::Value = response.json().await.expect("JSON");
        body["id"].as_str().expect("id").parse().expect("uuid")
    }

    pub async fn status(&self, id: Uuid) -> serde_json::Value {
        reqwest::get(format!("{}/v1/submissions/{id}", self.api))
            .await
            .expect("status")
            .json()
            .await
            .expect("JSON")
    }

    /// Waits until the submission leaves queued/processing; returns its status body.
    pub async fn settled(&self, id: Uuid) -> serde_json::Value {
        wait_for(60, &format!("submission {id} to settle"), || async {
            let s = self.status(id).await;
            matches!(s["status"].as_str(), Some("decided" | "failed")).then_some(s)
        })
        .await
    }

    async fn queue(&self) -> RabbitQueue {
        RabbitQueue::connect(&crate::amqp(), self.options.queue.clone())
            .await
            .expect("RabbitMQ")
    }

    pub async fn stop(self) {
        self.shutdown.cancel();
        for t in self.tasks {
            t.await.expect("task").expect("clean stop");
        }
        let q = RabbitQueue::connect(&crate::amqp(), self.options.queue.clone())
            .await
            .expect("RabbitMQ");
        q.delete_queues().await.expect("delete queues");
    }
}

pub fn some_photos(n: usize) -> Option<Vec<(PathBuf, Vec<u8>)>> {
    let files = photos_or_skip("pipeline")?;
    Some(
        files
            .into_iter()
            .step_by(7)
            .take(n)
            .map(|f| {
                let bytes = std::fs::read(&f).expect("read photo");
                (f, bytes)
            })
            .collect(),
    )
}

#[tokio::test]
async fn every_submission_is_decided_once_and_its_event_published() {
    let Some(photos) = some_photos(8) else { return };
    let stack = Stack::start().await;
    // A notification service's queue, bound to every result event.
    let inbox = EventInbox::bind(
        &crate::amqp(),
        &stack.options.queue.events_exchange,
        "submission.*",
    )
    .await
    .expect("bind");

    let mut ids = Vec::new();
    for (i, (_, bytes)) in photos.iter().enumerate() {
        ids.push(stack.submit(bytes, &format!("P-{i}")).await);
    }
    for (id, (file, _)) in ids.iter().zip(&photos) {
        let s = stack.settled(*id).await;
        assert_eq!(s["status"], "decided", "{}: {s}", file.display());
        let decision = s["decision"].as_str().expect("decision");
        assert!(["approve", "review", "reject"].contains(&decision), "{s}");
        if decision == "review" {
            let due: chrono::DateTime<chrono::Utc> =
                s["due"].as_str().expect("due").parse().expect("time");
            let received: chrono::DateTime<chrono::Utc> = s["received_at"]
                .as_str()
                .expect("received")
                .parse()
                .expect("time");
            // Provisional once the calendar file runs out of years; the same either way.
            let deadline = stack.options.calendar.due(received);
            assert_eq!(due, deadline.at, "due by the working-day calendar: {s}");
            assert_eq!(s["due_provisional"], deadline.provisional, "{s}");
        } else {
            assert!(s["due"].is_null(), "{s}");
        }
        if decision == "reject" {
            assert!(
                s["reasons"][0]["message_zh"]
                    .as_str()
                    .is_some_and(|m| !m.is_empty()),
                "a rejection says why, in Chinese: {s}"
            );
        }
    }

    // The same message delivered again: still one result.
    let queue = stack.queue().await;
    queue
        .publish(&Job::new(ids[0]))
        .await
        .expect("publish again");
    wait_for(20, "the duplicate to be consumed", || async {
        (queue.depth(&stack.options.queue.name).await.ok()? == 0).then_some(())
    })
    .await;
    // Its event may be published again (at least once); give the worker a moment to finish it.
    tokio::time::sleep(Duration::from_millis(500)).await;
    for id in &ids {
        let decided = stack
            .store
            .events(*id)
            .await
            .expect("events")
            .iter()
            .filter(|e| e.kind == "decided")
            .count();
        assert_eq!(decided, 1, "submission {id}");
    }

    // Every submission's event reached the notification queue, with its decision.
    let mut seen = HashSet::new();
    for (key, event) in inbox.drain().await.expect("events") {
        assert!(key.starts_with("submission."), "{event}");
        seen.insert(event["submission_id"].as_str().expect("id").to_owned());
    }
    let want: HashSet<String> = ids.iter().map(Uuid::to_string).collect();
    assert_eq!(seen, want);

    let metrics = reqwest::get(format!("{}/metrics", stack.worker_ops))
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    let decisions: f64 = metrics
        .lines()
        .filter(|l| l.starts_with("photocheck_decisions_total{"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum();
    assert_eq!(decisions, ids.len() as f64, "{metrics}");
    inbox.close().await.expect("close");
    stack.stop().await;
}

/// The stored photo cannot be read: retried a bounded number of times, dead-lettered, and the
/// submission is marked failed with the reason.
#[tokio::test]
async fn a_poison_message_is_retried_then_dead_lettered_and_the_submission_failed() {
    let stack = Stack::start().await;
    let id = stack
        .store
        .insert_submission(&NewSubmission {
            applicant_id: "POISON".into(),
            licence_no: None,
            channel: Channel::Album,
            // A key the blob store could have made, with nothing stored under it.
            blob_key: Uuid::new_v4().simple().to_string(),
            received_at: chrono::Utc::now(),
        })
        .await
        .expect("insert")
        .id;
    let queue = stack.queue().await;
    queue.publish(&Job::new(id)).await.expect("publish");
    stack
        .store
        .mark_published(id, chrono::Utc::now())
        .await
        .expect("mark");
    let s = stack.settled(id).await;
    assert_eq!(s["status"], "failed", "{s}");
    let failure = s["failure"].as_str().expect("a reason");
    assert!(
        failure.contains("cannot be read") && failure.contains("3 attempts"),
        "{failure}"
    );
    let dead = stack.options.queue.dead_queue();
    wait_for(10, "the dead letter", || async {
        (queue.depth(&dead).await.ok()? == 1).then_some(())
    })
    .await;
    let stored = stack.store.get(id).await.expect("get").expect("present");
    assert_eq!((stored.status, stored.result), (Status::Failed, None));
    stack.stop().await;
}

/// Stored but never published (the API died between the two): the sweeper publishes it.
#[tokio::test]
async fn the_sweeper_publishes_what_was_stored_but_never_published() {
    let Some(photos) = some_photos(1) else { return };
    let stack = Stack::start().await;
    let uploads = Blobs::open(&stack.options.blobs, "uploads")
        .await
        .expect("blobs");
    let blob_key = uploads.put(&photos[0].1).await.expect("put");
    let id = stack
        .store
        .insert_submission(&NewSubmission {
            applicant_id: "SWEPT".into(),
            licence_no: None,
            channel: Channel::Stored,
            blob_key,
            received_at: chrono::Utc::now(),
        })
        .await
        .expect("insert")
        .id;
    let s = stack.settled(id).await;
    assert_eq!(s["status"], "decided", "{s}");
    let stored = stack.store.get(id).await.expect("get").expect("present");
    assert!(
        stored.published_at.is_some(),
        "the sweeper marks what it publishes"
    );
    stack.stop().await;
}
