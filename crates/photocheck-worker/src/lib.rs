//! photocheck-worker: takes a job from the queue, checks the submission's photo off the async runtime,
//! commits the result, routes it, and only then acks.
//!
//! Every step may run twice (a redelivered message, a worker killed after the commit), so each one is
//! idempotent: the result is written once by the store, the archive copy goes under a key derived from
//! the submission id, and the result event is published again when a job finds its result already
//! written (notification services see an event at least once, keyed by the submission id).

pub mod metrics;

use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use photocheck_calendar::Calendar;
use photocheck_core::{archive, Channel, Context, Decision, Profile, Reason, Report, RuleId};
use photocheck_queue::{Delivery, Disposition, Job, Queue};
use photocheck_store::{
    archive_key, BlobError, Blobs, EngineDecision, Recorded, ReviewDue, Status, Store, StoreError,
    StoredReport, Submission,
};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::{debug, error, info, warn};
use uuid::Uuid;

pub use crate::metrics::Metrics;

/// What a worker needs besides its queue.
pub struct Settings {
    pub store: Store,
    /// Uploaded photos.
    pub uploads: Blobs,
    /// Archive copies of approved photos, under the submission id.
    pub archive: Blobs,
    /// What the engine took for background, as a transparent PNG under the submission id, for the
    /// reviewer's page: written at decision time, so the API never runs the engine again.
    pub overlays: Blobs,
    pub profile: Arc<Profile>,
    /// Where jobs come from and result events go.
    pub queue: Queue,
    pub metrics: Arc<Metrics>,
    /// Attempts before a job that keeps failing is given up on (the queue's own limit).
    pub max_attempts: u32,
    /// Working days: a review is due by the deadline this gives for the submission's receipt.
    pub calendar: Arc<Calendar>,
    /// Share (0 to 1) of automatic approvals also sent to review as audit items.
    pub audit_share: f64,
    /// Photos checked at once: the engine is CPU-bound, so one per core.
    pub checks_at_once: usize,
}

/// Jobs held per check slot. A job spends most of its time waiting on the database, the blob store
/// and the broker; holding several per slot keeps the cores checking while others wait.
pub const JOBS_PER_CHECK: usize = 4;

pub struct Worker {
    s: Settings,
    ready: AtomicBool,
    /// One permit per check running on the blocking pool.
    engine: Semaphore,
}

/// Why a job could not be finished.
#[derive(Debug, thiserror::Error)]
enum Failure {
    /// Worth another attempt: the database, blob store or broker may be back.
    #[error("{0}")]
    Transient(String),
    /// Will fail the same way every time.
    #[error("{0}")]
    Permanent(String),
}

impl From<StoreError> for Failure {
    fn from(e: StoreError) -> Failure {
        match e {
            StoreError::NotFound(_) => Failure::Permanent(e.to_string()),
            e => Failure::Transient(format!("database: {e}")),
        }
    }
}

impl From<BlobError> for Failure {
    fn from(e: BlobError) -> Failure {
        match e {
            BlobError::BadKey(_) => Failure::Permanent(e.to_string()),
            e => Failure::Transient(format!("the stored photo cannot be read: {e}")),
        }
    }
}

impl From<photocheck_queue::QueueError> for Failure {
    fn from(e: photocheck_queue::QueueError) -> Failure {
        Failure::Transient(format!("result event not published: {e}"))
    }
}

/// What a finished job did.
enum Done {
    Decided(Decision),
    /// A result was there already (a redelivery); routed again.
    AlreadyDecided(Decision),
    /// Nothing to do: superseded or failed.
    Closed(Status),
}

impl Worker {
    pub fn new(settings: Settings) -> Worker {
        let checks = settings.checks_at_once.max(1);
        Worker {
            s: settings,
            ready: AtomicBool::new(false),
            engine: Semaphore::new(checks),
        }
    }

    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.s.metrics
    }

    /// Taking jobs: the consumer is attached (RabbitMQ) or the queue is open (embedded).
    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Relaxed)
    }

    /// Takes jobs until `shutdown`, [`JOBS_PER_CHECK`] per check slot. On shutdown it stops taking jobs,
    /// finishes (and acks) the ones it holds, and only then lets go of the consumer, so the broker
    /// hands the deliveries that were prefetched but not started to another worker.
    pub async fn run(self: Arc<Self>, tag: String, shutdown: CancellationToken) {
        let concurrency = self.s.checks_at_once.max(1) * JOBS_PER_CHECK;
        let permits = Arc::new(Semaphore::new(concurrency));
        let mut tasks = JoinSet::new();
        let mut backoff = Duration::from_millis(200);
        // The consumer is made again whenever the broker connection is lost.
        while !shutdown.is_cancelled() {
            let mut consumer = match self.s.queue.consume(&tag).await {
                Ok(c) => c,
                Err(e) => {
                    self.ready.store(false, Ordering::Relaxed);
                    warn!(error = %e, retry_in = ?backoff, "cannot consume from the queue");
                    tokio::select! {
                        () = tokio::time::sleep(backoff) => {}
                        () = shutdown.cancelled() => {}
                    }
                    backoff = (backoff * 2).min(Duration::from_secs(10));
                    continue;
                }
            };
            info!(queue = %self.s.queue.config().name, concurrency, "consuming");
            self.ready.store(true, Ordering::Relaxed);
            backoff = Duration::from_millis(200);
            loop {
                let Some(permit) = acquire(&permits, &shutdown).await else {
                    break;
                };
                let next = tokio::select! {
                    d = consumer.next() => d,
                    () = shutdown.cancelled() => break,
                };
                let delivery = match next {
                    Some(Ok(d)) => d,
                    Some(Err(e)) => {
                        warn!(error = %e, "consumer failed; reconnecting");
                        break;
                    }
                    None => {
                        warn!("consumer closed; reconnecting");
                        break;
                    }
                };
                let worker = Arc::clone(&self);
                tasks.spawn(async move {
                    worker.handle(delivery).await;
                    drop(permit);
                });
                reap(&mut tasks);
            }
            self.ready.store(false, Ordering::Relaxed);
            if shutdown.is_cancelled() {
                // Finish what was started while the channel is still open for its acks.
                while tasks.join_next().await.is_some() {}
                if let Err(e) = consumer.close().await {
                    debug!(error = %e, "closing the consumer");
                }
            }
        }
        self.ready.store(false, Ordering::Relaxed);
        while tasks.join_next().await.is_some() {}
        info!("worker stopped; in-flight jobs finished");
    }

    /// One delivery, start to ack.
    pub async fn handle(&self, delivery: Delivery) {
        let job = match delivery.job() {
            Ok(job) => job,
            Err(why) => {
                error!(why, "message is not a job; dead-lettering it");
                self.s.metrics.dead_letters.inc();
                if let Err(e) = delivery.dead_letter().await {
                    warn!(error = %e, "dead-lettering failed; the broker will deliver it again");
                }
                return;
            }
        };
        self.finish(job, delivery).await;
    }

    /// A job, checked, committed, routed and acked (or given back). Its log lines, those of the
    /// check on the blocking pool included, carry the submission id, as the API's do.
    #[tracing::instrument(skip_all, fields(submission_id = %job.submission_id, attempt = job.attempt))]
    async fn finish(&self, job: Job, delivery: Delivery) {
        let id = job.submission_id;
        self.s.metrics.in_flight.inc();
        let outcome = self.process(job, delivery.redelivered()).await;
        self.s.metrics.in_flight.dec();
        match outcome {
            Ok(done) => {
                match &done {
                    Done::Decided(d) => info!(%id, decision = %d, "decided"),
                    Done::AlreadyDecided(d) => {
                        info!(%id, decision = %d, "already decided; routed again")
                    }
                    Done::Closed(status) => info!(%id, %status, "nothing to do"),
                }
                if let Err(e) = delivery.ack().await {
                    // The result is committed: the redelivery will find it and only route it again.
                    warn!(%id, error = %e, "ack failed; the job will come back and find its result");
                }
            }
            Err(failure) => self.give_back(job, delivery, failure).await,
        }
    }

    /// A job that failed: retried while attempts remain, otherwise the submission is marked failed
    /// with the reason and the job dead-lettered.
    async fn give_back(&self, job: Job, delivery: Delivery, failure: Failure) {
        let id = job.submission_id;
        let attempt = job.attempt + 1;
        let last = matches!(failure, Failure::Permanent(_)) || attempt >= self.s.max_attempts;
        if !last {
            match delivery.retry().await {
                Ok(Disposition::Retrying { attempt }) => {
                    self.s.metrics.retries.inc();
                    warn!(%id, attempt, reason = %failure, "job failed; retrying after a delay");
                }
                Ok(Disposition::DeadLettered) => {
                    self.s.metrics.dead_letters.inc();
                    error!(%id, reason = %failure, "job dead-lettered by the queue's own limit");
                }
                Err(e) => {
                    warn!(%id, error = %e, "retry not queued; the broker will deliver the job again")
                }
            }
            return;
        }
        let reason = match failure {
            Failure::Permanent(why) => why,
            Failure::Transient(why) => format!("{why} (gave up after {attempt} attempts)"),
        };
        // The failure is recorded before the message goes: a crash in between redelivers a job whose
        // submission says failed, which is then simply acked. A store that cannot record it (a full
        // disk) keeps the job retrying instead: dropped, it would leave the submission open with
        // nothing left to finish it, and once the store takes writes again the check decides it.
        if let Err(e) = self.s.store.mark_failed(id, &reason).await {
            error!(%id, error = %e, %reason, "cannot mark the submission failed; keeping its job until the store takes writes");
            self.s.metrics.retries.inc();
            if let Err(e) = delivery.put_back().await {
                warn!(%id, error = %e, "job not put back; the broker will deliver it again");
            }
            return;
        }
        self.s.metrics.dead_letters.inc();
        error!(%id, %reason, "submission failed; job dead-lettered");
        if let Err(e) = delivery.dead_letter().await {
            warn!(%id, error = %e, "dead-lettering failed; the job will come back and find the submission failed");
        }
    }

    async fn process(&self, job: Job, redelivered: bool) -> Result<Done, Failure> {
        let id = job.submission_id;
        let sub = self
            .s
            .store
            .get(id)
            .await?
            .ok_or_else(|| Failure::Permanent(format!("no submission {id}")))?;
        match (sub.status, &sub.result) {
            (_, Some(result)) => {
                self.route(&sub).await?;
                return Ok(Done::AlreadyDecided(result.decision));
            }
            (Status::Superseded | Status::Failed, None) => return Ok(Done::Closed(sub.status)),
            _ => {}
        }
        if redelivered || job.attempt > 0 {
            info!(%id, attempt = job.attempt, redelivered, "checking again");
        }
        if !self.s.store.start_processing(id).await? {
            // Decided or closed since we looked.
            return Box::pin(self.process(job, redelivered)).await;
        }
        let bytes = self.s.uploads.get(&sub.blob_key).await?;

        let profile = Arc::clone(&self.s.profile);
        let ctx = Context::on(sub.received_at.date_naive()).via(match sub.channel {
            photocheck_store::Channel::Stored => Channel::Stored,
            photocheck_store::Channel::Camera => Channel::Camera,
            photocheck_store::Channel::Album => Channel::Album,
        });
        let slot = self
            .engine
            .acquire()
            .await
            .map_err(|e| Failure::Transient(format!("no check slot: {e}")))?;
        let started = Instant::now();
        let (report, archive, overlay) = tokio::task::spawn_blocking({
            let span = tracing::Span::current();
            move || span.in_scope(|| check(&bytes, &profile, &ctx))
        })
        .await
        .map_err(|e| Failure::Transient(format!("the check task was lost: {e}")))?;
        drop(slot);
        self.s
            .metrics
            .check_seconds
            .observe(started.elapsed().as_secs_f64());

        let mut decision = EngineDecision {
            decision: report.decision,
            reasons: report.reasons.clone(),
            report: StoredReport::of(&report)
                .map_err(|e| Failure::Permanent(format!("the report cannot be stored: {e}")))?,
            decided_at: Utc::now(),
        };
        if let Some(png) = overlay {
            // A reviewer's aid: without it the page says so, and the decision still stands.
            if let Err(e) = self.s.overlays.put_at(&archive_key(id), &png).await {
                warn!(%id, error = %e, "background overlay not stored");
            }
        }
        match archive {
            Some(Ok(copy)) => self.s.archive.put_at(&archive_key(id), &copy.jpeg).await?,
            Some(Err(e)) => {
                // No approval without its archive copy: a person decides instead. The stored report
                // keeps what the engine found; the decision and its reason say why a person looks.
                warn!(%id, error = %e, "approved photo has no archive copy; sending it to review");
                decision.decision = Decision::Review;
                decision.reasons = vec![Reason {
                    code: "archive-copy-failed".into(),
                    // The archive form (378 x 260 px) is what could not be made.
                    rule: RuleId::Dimensions,
                    message_en: format!("The archive copy could not be made: {e}"),
                    message_zh: "无法生成存档照片，将由人工审核".into(),
                }];
            }
            None => {}
        }
        let review = match decision.decision {
            Decision::Review => Some(ReviewDue {
                due: self.due(&sub),
                audit: false,
            }),
            Decision::Approve if audited(id, self.s.audit_share) => Some(ReviewDue {
                due: self.due(&sub),
                audit: true,
            }),
            _ => None,
        };
        match self.s.store.record_decision(id, &decision, review).await? {
            Recorded::New => {
                self.count(&decision, &sub);
                let due = review.filter(|r| !r.audit).map(|r| r.due);
                let outcome = decision.decision;
                let sub = Submission {
                    due,
                    result: Some(decision),
                    ..sub
                };
                self.route(&sub).await?;
                Ok(Done::Decided(outcome))
            }
            Recorded::AlreadyDecided(existing) => {
                let sub = match self.s.store.get(id).await? {
                    Some(sub) => sub,
                    None => Submission {
                        result: Some(existing.clone()),
                        ..sub
                    },
                };
                self.route(&sub).await?;
                Ok(Done::AlreadyDecided(existing.decision))
            }
            Recorded::Closed(status) => Ok(Done::Closed(status)),
        }
    }

    /// The review deadline on the working-day calendar. When a day it needs lies in a year the
    /// calendar file does not list, the deadline is provisional (weekends and fixed-date holidays
    /// only), logged as a warning and counted: the operator adds the year's published schedule.
    fn due(&self, sub: &Submission) -> DateTime<Utc> {
        let due = self.s.calendar.due(sub.received_at);
        if due.provisional {
            warn!(id = %sub.id, due = %due.at, "provisional review deadline: the calendar file lacks the year");
            self.s.metrics.calendar_gaps.inc();
        }
        due.at.with_timezone(&Utc)
    }

    fn count(&self, decision: &EngineDecision, sub: &Submission) {
        let m = &self.s.metrics;
        m.decisions
            .get_or_create(&metrics::DecisionLabel {
                decision: decision.decision.as_str().to_owned(),
            })
            .inc();
        for r in &decision.reasons {
            m.reasons
                .get_or_create(&metrics::ReasonLabel {
                    reason: r.code.clone(),
                })
                .inc();
        }
        let waited = (Utc::now() - sub.received_at).to_std().unwrap_or_default();
        m.decision_seconds.observe(waited.as_secs_f64());
    }

    /// Tells the notification services. Approved photos already have their archive copy (written
    /// before the decision), and a review is already in the review queue (written with it).
    async fn route(&self, sub: &Submission) -> Result<(), Failure> {
        let Some(event) = sub.engine_event() else {
            return Ok(());
        };
        self.s.queue.publish_event(&event).await?;
        Ok(())
    }
}

/// Waits for a free slot, or `None` on shutdown.
async fn acquire(
    permits: &Arc<Semaphore>,
    shutdown: &CancellationToken,
) -> Option<tokio::sync::OwnedSemaphorePermit> {
    tokio::select! {
        p = Arc::clone(permits).acquire_owned() => p.ok(),
        () = shutdown.cancelled() => None,
    }
}

/// Drops finished tasks so the set does not grow with every job; a panicked task is reported.
fn reap(tasks: &mut JoinSet<()>) {
    while let Some(done) = tasks.try_join_next() {
        if let Err(e) = done {
            error!(error = %e, "a job task panicked; its delivery goes back to the queue");
        }
    }
}

/// Whether an automatic approval is also sampled for review. Decided by the id, so a redelivered job
/// samples the same way; ids are random, so the share holds over many.
fn audited(id: Uuid, share: f64) -> bool {
    let bucket = (id.as_u128() % 10_000) as f64;
    bucket < share.clamp(0.0, 1.0) * 10_000.0
}

/// The engine, guarded: a panic becomes a `review` report. For a photo a person may look at (sent
/// to review, or approved and so possibly audited), also the background overlay as PNG; for an
/// approved photo, also its archive
/// copy, made from the judged photo the check already decoded: the upload, or its framed crop.
fn check(
    bytes: &[u8],
    profile: &Profile,
    ctx: &Context,
) -> (
    Report,
    Option<Result<archive::ArchiveCopy, archive::ArchiveError>>,
    Option<Vec<u8>>,
) {
    let run = AssertUnwindSafe(|| {
        let (report, analysis) = photocheck_core::analyse(bytes, profile, ctx);
        let overlay = match (&report.decision, &analysis) {
            (Decision::Review | Decision::Approve, Some(a)) => {
                photocheck_core::annotate::background_layer(a).and_then(|layer| {
                    let mut png = std::io::Cursor::new(Vec::new());
                    layer
                        .write_to(&mut png, image::ImageFormat::Png)
                        .ok()
                        .map(|()| png.into_inner())
                })
            }
            _ => None,
        };
        let copy = match (&report.decision, analysis) {
            (Decision::Approve, Some(a)) => Some(archive::from_image(&a.image, profile)),
            _ => None,
        };
        (report, copy, overlay)
    });
    std::panic::catch_unwind(run).unwrap_or_else(|panic| {
        let why = photocheck_core::panic_message(panic.as_ref());
        error!(why, "the check panicked; sending the photo to review");
        (Report::check_failed(&why, profile), None, None)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audit_sampling_takes_its_share_and_the_same_ids_every_time() {
        let ids: Vec<Uuid> = (0..20_000).map(|_| Uuid::new_v4()).collect();
        let taken = |share| ids.iter().filter(|id| audited(**id, share)).count();
        assert_eq!(taken(0.0), 0);
        assert_eq!(taken(1.0), ids.len());
        let two_percent = taken(0.02);
        // 400 expected; the binomial spread is about 20.
        assert!((300..=500).contains(&two_percent), "{two_percent}");
        assert!(ids
            .iter()
            .all(|id| audited(*id, 0.02) == audited(*id, 0.02)));
    }
}
