//! The worker on one job at a time, deterministically: the in-process queue, SQLite and a blob
//! folder (the embedded mode's real parts), each delivery handed to `Worker::handle` by the test.
//! A job is processed once; a redelivery of a decided job changes nothing; a job that fails for a
//! while is retried, then given up on with its reason; a job that can never succeed is
//! dead-lettered at once.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use photocheck_calendar::Calendar;
use photocheck_core::{Decision, Profile};
use photocheck_queue::{Consumer, Delivery, Job, Queue, QueueConfig};
use photocheck_store::{BlobLocation, Blobs, Channel, NewSubmission, Status, Store};
use photocheck_worker::{Metrics, Settings, Worker};
use prometheus_client::registry::Registry;
use uuid::Uuid;

const MAX_ATTEMPTS: u32 = 3;

struct Bench {
    worker: Worker,
    queue: Queue,
    consumer: tokio::sync::Mutex<Consumer>,
    store: Store,
    uploads: Blobs,
    overlays: Blobs,
    metrics: Arc<Metrics>,
    registry: Registry,
    _dir: tempfile::TempDir,
}

async fn bench() -> Bench {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::connect(&format!(
        "sqlite:{}",
        dir.path().join("photocheck.db").display()
    ))
    .await
    .expect("SQLite");
    let at = BlobLocation::Folder(dir.path().to_owned());
    let uploads = Blobs::open(&at, "uploads").await.expect("uploads");
    let mut registry = Registry::default();
    let metrics = Arc::new(Metrics::new(&mut registry));
    let overlays = Blobs::open(&at, "overlays").await.expect("overlays");
    let queue = Queue::embedded(QueueConfig {
        max_attempts: MAX_ATTEMPTS,
        retry_delay: Duration::from_millis(10),
        ..QueueConfig::default()
    });
    let consumer = tokio::sync::Mutex::new(queue.consume("test").await.expect("consumer"));
    let worker = Worker::new(Settings {
        store: store.clone(),
        uploads: uploads.clone(),
        archive: Blobs::open(&at, "archive").await.expect("archive"),
        overlays: overlays.clone(),
        profile: Arc::new(Profile::default_profile()),
        queue: queue.clone(),
        metrics: Arc::clone(&metrics),
        max_attempts: MAX_ATTEMPTS,
        calendar: Arc::new(Calendar::builtin()),
        audit_share: 0.0,
        checks_at_once: 1,
    });
    Bench {
        worker,
        queue,
        consumer,
        store,
        uploads,
        overlays,
        metrics,
        registry,
        _dir: dir,
    }
}

impl Bench {
    /// A submission of these bytes.
    async fn submit_photo(&self, photo: &[u8]) -> Uuid {
        let key = self.uploads.put(photo).await.expect("upload");
        self.submit(Some(&key)).await
    }

    /// A submission of a blank photo (no face: the engine rejects it), or of `blob_key` as given.
    async fn submit(&self, blob_key: Option<&str>) -> Uuid {
        let blob_key = match blob_key {
            Some(k) => k.to_owned(),
            None => {
                let blank = photocheck_synth::jpeg(&image::RgbImage::from_pixel(
                    260,
                    378,
                    image::Rgb([250, 250, 250]),
                ))
                .expect("jpeg");
                self.uploads.put(&blank).await.expect("upload")
            }
        };
        self.store
            .insert_submission(&NewSubmission {
                applicant_id: format!("W-{}", Uuid::new_v4().simple()),
                licence_no: None,
                channel: Channel::Album,
                blob_key,
                received_at: Utc::now(),
            })
            .await
            .expect("insert")
            .id
    }

    async fn next(&self) -> Delivery {
        let mut consumer = self.consumer.lock().await;
        tokio::time::timeout(Duration::from_secs(5), consumer.next())
            .await
            .expect("a job within 5 s")
            .expect("queue open")
            .expect("a delivery")
    }

    /// Takes the next delivery and lets the worker handle it to the end (ack, retry or dead letter).
    async fn handle_next(&self) -> Job {
        let delivery = self.next().await;
        let job = delivery.job().expect("a job");
        self.worker.handle(delivery).await;
        job
    }

    /// Jobs waiting in the queue (not those waiting out a retry delay).
    async fn queued(&self) -> i64 {
        self.queue.depths().await.iter().map(|(_, n)| n).sum()
    }

    /// Jobs the worker gave up on, by its own count.
    fn dead_letters(&self) -> u64 {
        self.metrics.dead_letters.get()
    }

    async fn decided_events(&self, id: Uuid) -> usize {
        self.store
            .events(id)
            .await
            .expect("events")
            .iter()
            .filter(|e| e.kind == "decided")
            .count()
    }

    fn metric(&self, name: &str) -> String {
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &self.registry).expect("exposition");
        text.lines()
            .filter(|l| l.starts_with(name))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

#[tokio::test]
async fn a_job_is_processed_once_and_a_redelivery_changes_nothing() {
    let b = bench().await;
    let id = b.submit(None).await;
    b.queue.publish(Job::new(id)).await.expect("queued");
    b.handle_next().await;
    let s = b.store.get(id).await.expect("get").expect("stored");
    assert_eq!(s.status, Status::Decided);
    let result = s.result.expect("a result");
    assert_eq!(
        result.decision,
        Decision::Reject,
        "a blank photo has no face"
    );
    assert_eq!(b.queued().await, 0, "acked, not queued again");
    assert!(
        b.overlays
            .get(&photocheck_store::archive_key(id))
            .await
            .is_err(),
        "no overlay for a rejection nobody reviews"
    );
    assert_eq!(b.decided_events(id).await, 1);

    // The broker delivers it again (a worker died before its ack): the stored result stands.
    b.queue.publish(Job::new(id)).await.expect("queued");
    b.handle_next().await;
    let again = b.store.get(id).await.expect("get").expect("stored");
    assert_eq!(again.result.expect("result").decided_at, result.decided_at);
    assert_eq!(b.decided_events(id).await, 1, "still one decision");
    assert_eq!(b.queued().await, 0);
    assert_eq!(b.dead_letters(), 0);
    assert!(
        b.metric("photocheck_decisions_total").contains("} 1"),
        "counted once: {}",
        b.metric("photocheck_decisions_total")
    );
}

#[tokio::test]
async fn a_job_that_keeps_failing_is_retried_then_given_up_with_its_reason() {
    let b = bench().await;
    // Its photo is missing from the blob store: a transient failure (a store that may come back).
    let id = b.submit(Some("0123456789abcdef0123456789abcdef")).await;
    b.queue.publish(Job::new(id)).await.expect("queued");
    let mut attempts = Vec::new();
    for _ in 0..MAX_ATTEMPTS {
        attempts.push(b.handle_next().await.attempt);
        let s = b.store.get(id).await.expect("get").expect("stored");
        assert!(s.result.is_none());
    }
    assert_eq!(attempts, [0, 1, 2], "each retry is the next attempt");
    let s = b.store.get(id).await.expect("get").expect("stored");
    assert_eq!(s.status, Status::Failed);
    let failure = s.failure.expect("the reason is kept");
    assert!(
        failure.contains("cannot be read") && failure.contains("gave up after 3 attempts"),
        "{failure}"
    );
    assert_eq!(b.dead_letters(), 1);
    assert_eq!(b.queued().await, 0);
    assert!(
        b.metric("photocheck_retries_total").ends_with(" 2"),
        "{}",
        b.metric("photocheck_retries_total")
    );
}

#[tokio::test]
async fn a_job_that_can_never_succeed_is_dead_lettered_at_once() {
    let b = bench().await;
    // No such submission: nothing to retry for.
    b.queue
        .publish(Job::new(Uuid::new_v4()))
        .await
        .expect("queued");
    let job = b.handle_next().await;
    assert_eq!(job.attempt, 0);
    assert_eq!(b.dead_letters(), 1);
    assert_eq!(b.queued().await, 0);
    // Nor does it come back after the retry delay.
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(b.queued().await, 0);
}

#[tokio::test]
async fn a_photo_sent_to_review_gets_its_background_overlay_stored() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/photos/raw/hivision_demo_white.jpg");
    let Ok(photo) = std::fs::read(&path) else {
        assert!(
            std::env::var_os("PHOTOCHECK_REQUIRE_PHOTOS").is_none(),
            "no test photo at {}",
            path.display()
        );
        eprintln!(
            "SKIPPED: no test photo at {} (CI always has it)",
            path.display()
        );
        return;
    };
    let b = bench().await;
    let id = b.submit_photo(&photo).await;
    b.queue.publish(Job::new(id)).await.expect("queued");
    b.handle_next().await;
    let s = b.store.get(id).await.expect("get").expect("stored");
    assert_eq!(s.result.expect("result").decision, Decision::Review);
    let png = b
        .overlays
        .get(&photocheck_store::archive_key(id))
        .await
        .expect("the overlay is stored with the decision");
    // Our own PNG, so no intake limits: decoded as it is, alpha included.
    let layer =
        image::ImageReader::with_format(std::io::Cursor::new(&png), image::ImageFormat::Png)
            .decode()
            .expect("a PNG")
            .to_rgba8();
    let clear = layer.pixels().filter(|p| p[3] == 0).count();
    let tinted = layer.pixels().filter(|p| p[3] == 255).count();
    let all = layer.pixels().count();
    // The person is left clear, the background tinted: both are a real share of the photo.
    assert!(
        clear > all / 10 && tinted > all / 10,
        "clear {clear}, tinted {tinted} of {all}"
    );
}
