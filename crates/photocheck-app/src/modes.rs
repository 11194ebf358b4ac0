//! The three long-running commands: `serve` (embedded), `api` and `worker` (multi-node).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context as _};
use photocheck_calendar::Calendar;
use photocheck_core::Profile;
use photocheck_queue::{Job, Queue, QueueConfig};
use photocheck_server::api::{self, AppState};
use photocheck_server::metrics::ApiMetrics;
use photocheck_server::review::{ReviewConfig, ReviewSettings};
use photocheck_server::{intake_gate, serve_http, storage};
use photocheck_store::{BlobLocation, Blobs, Store};
use photocheck_worker::{Metrics, Settings, Worker};
use prometheus_client::registry::Registry;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use crate::sweeper::Sweeper;

/// Resolved settings of a long-running command (flags over environment over config file over
/// defaults; the command line resolves them).
#[derive(Debug, Clone)]
pub struct Options {
    pub listen: String,
    /// The intake API's own address; with it, `listen` serves the review pages and the metrics and
    /// the intake only this one (the upload platform's network reaches nothing else).
    pub intake_listen: Option<String>,
    /// The intake's service token and per-client rate.
    pub intake: intake_gate::IntakePolicy,
    /// A client has this long to send a request's headers; a connection that trickles them (a
    /// byte at a time, to hold sockets open) is closed.
    pub header_read_timeout: Duration,
    /// `sqlite:PATH` or `postgres://...`.
    pub database: String,
    pub amqp: Option<String>,
    /// The blob store: uploads in `uploads/`, archive copies in `archive/`, reviewers' background
    /// overlays in `overlays/` (sub-folders, or key prefixes in the bucket).
    pub blobs: BlobLocation,
    pub queue: QueueConfig,
    pub concurrency: usize,
    pub max_upload_bytes: usize,
    /// Working days, for review deadlines.
    pub calendar: Arc<Calendar>,
    /// Share (0 to 1) of automatic approvals also sent to review as audit items.
    pub audit_share: f64,
    /// How long a reviewer's claim on an item lasts.
    pub review_lease: chrono::Duration,
    /// How long a login lasts.
    pub session_ttl: chrono::Duration,
    /// Mark the session cookie `Secure` (sent over HTTPS only). Default: on unless the server
    /// listens on a loopback address, where a TLS proxy in front of it is what browsers reach.
    pub secure_cookie: Option<bool>,
    /// Password guessing limits.
    pub logins: photocheck_server::review::throttle::LoginPolicy,
    pub sweep_every: Duration,
    /// Below this many free bytes where the blob folder lives, `/readyz` says not ready.
    pub min_free_bytes: u64,
    /// An upload no submission points at is removed once it is this old (an API process that died
    /// between storing the photo and its row leaves one).
    pub orphan_grace: Duration,
    pub profile: Arc<Profile>,
}

impl Options {
    /// Defaults for the embedded mode with its data in `data`.
    pub fn embedded(data: &std::path::Path) -> Options {
        Options {
            listen: "127.0.0.1:8080".to_owned(),
            intake_listen: None,
            intake: intake_gate::IntakePolicy::default(),
            header_read_timeout: Duration::from_secs(10),
            database: format!("sqlite:{}", data.join("photocheck.db").display()),
            amqp: None,
            blobs: BlobLocation::Folder(data.to_owned()),
            queue: QueueConfig::default(),
            concurrency: std::thread::available_parallelism().map_or(2, |n| n.get()),
            max_upload_bytes: 15 * 1024 * 1024,
            calendar: Arc::new(Calendar::builtin()),
            audit_share: 0.02,
            review_lease: chrono::Duration::minutes(10),
            session_ttl: chrono::Duration::hours(10),
            secure_cookie: None,
            logins: photocheck_server::review::throttle::LoginPolicy::default(),
            sweep_every: Duration::from_secs(30),
            min_free_bytes: 1 << 30,
            orphan_grace: Duration::from_secs(3600),
            profile: Arc::new(Profile::default_profile()),
        }
    }
}

struct Parts {
    store: Store,
    uploads: Blobs,
    archive: Blobs,
    overlays: Blobs,
}

/// The HTTP side's state. `registry` holds the process's metrics, the API's registered here;
/// `worker` is the worker in this process, if any, for readiness.
fn state(
    o: &Options,
    p: &Parts,
    queue: Queue,
    mut registry: Registry,
    worker: Option<Arc<Worker>>,
) -> AppState {
    let metrics = Arc::new(ApiMetrics::new(&mut registry));
    let review = ReviewConfig {
        calendar: Arc::clone(&o.calendar),
        lease: o.review_lease,
        session_ttl: o.session_ttl,
        profile: Arc::clone(&o.profile),
        secure_cookie: o.secure_cookie,
        logins: o.logins.clone(),
    };
    AppState {
        store: p.store.clone(),
        uploads: p.uploads.clone(),
        overlays: p.overlays.clone(),
        queue,
        metrics,
        registry: Arc::new(registry),
        max_upload_bytes: o.max_upload_bytes,
        worker_ready: worker.map(|w| {
            let ready: Arc<dyn Fn() -> bool + Send + Sync> = Arc::new(move || w.is_ready());
            ready
        }),
        review: Arc::new(ReviewSettings::new(review, &o.listen)),
        storage: Arc::new(storage::StorageHealth::new(o.min_free_bytes)),
        intake: Arc::new(intake_gate::IntakeGate::new(o.intake.clone())),
    }
}

async fn open_parts(o: &Options) -> anyhow::Result<Parts> {
    let store = Store::connect(&o.database)
        .await
        .with_context(|| format!("opening the database {}", redact(&o.database)))?;
    let uploads = Blobs::open(&o.blobs, "uploads").await?;
    let archive = Blobs::open(&o.blobs, "archive").await?;
    let overlays = Blobs::open(&o.blobs, "overlays").await?;
    Ok(Parts {
        store,
        uploads,
        archive,
        overlays,
    })
}

fn worker(o: &Options, p: &Parts, queue: Queue, registry: &mut Registry) -> Arc<Worker> {
    Arc::new(Worker::new(Settings {
        store: p.store.clone(),
        uploads: p.uploads.clone(),
        archive: p.archive.clone(),
        overlays: p.overlays.clone(),
        profile: Arc::clone(&o.profile),
        queue,
        metrics: Arc::new(Metrics::new(registry)),
        max_attempts: o.queue.max_attempts,
        calendar: Arc::clone(&o.calendar),
        audit_share: o.audit_share,
        checks_at_once: o.concurrency,
    }))
}

fn sweeper(o: &Options, p: &Parts, queue: Queue) -> Sweeper {
    Sweeper {
        store: p.store.clone(),
        uploads: p.uploads.clone(),
        queue,
        every: o.sweep_every,
        min_age: o.sweep_every,
        orphan_grace: o.orphan_grace,
    }
}

async fn listen(addr: &str) -> anyhow::Result<(TcpListener, SocketAddr)> {
    let listener = TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    let local = listener.local_addr()?;
    Ok((listener, local))
}

/// The intake API's own listener, when it has an address of its own.
async fn intake_listener(o: &Options) -> anyhow::Result<Option<TcpListener>> {
    let Some(addr) = &o.intake_listen else {
        return Ok(None);
    };
    let (listener, local) = listen(addr).await?;
    info!(addr = %local, "intake API listening on its own address");
    eprintln!("intake API on http://{local} (review pages and metrics not served there)");
    Ok(Some(listener))
}

/// Every route on `main`; or, with an intake listener, the intake there and the rest on `main`.
async fn serve_routes(
    o: &Options,
    main: TcpListener,
    intake: Option<TcpListener>,
    state: AppState,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let timeout = o.header_read_timeout;
    let Some(intake) = intake else {
        return serve_http(main, api::router(state), timeout, shutdown).await;
    };
    let (pages, intake) = tokio::join!(
        serve_http(
            main,
            api::pages_router(state.clone()),
            timeout,
            shutdown.clone()
        ),
        serve_http(intake, api::intake_router(state), timeout, shutdown.clone()),
    );
    pages.and(intake)
}

/// The embedded mode: API and workers in one process on SQLite, a local folder and an in-process
/// queue. Returns when `shutdown` fires and in-flight checks have finished.
pub async fn serve(o: Options, shutdown: CancellationToken) -> anyhow::Result<()> {
    if !o.database.starts_with("sqlite:") {
        bail!("the embedded mode runs on SQLite; use `photocheck api` and `photocheck worker` for PostgreSQL");
    }
    let parts = open_parts(&o).await?;
    let queue = Queue::embedded(o.queue.clone());
    // What was accepted before a stop and never decided goes back in the queue first.
    let open = parts.store.open_submissions(i64::MAX).await?;
    for id in &open {
        queue.publish(Job::new(*id)).await?;
    }
    let mut registry = Registry::default();
    let worker = worker(&o, &parts, queue.clone(), &mut registry);
    let (listener, addr) = listen(&o.listen).await?;
    info!(%addr, data = %o.blobs, requeued = open.len(), concurrency = o.concurrency, "photocheck serving (embedded)");
    eprintln!(
        "photocheck serving on http://{addr}  (data in {}; {} open submissions queued again; Ctrl-C stops)",
        o.blobs,
        open.len()
    );
    review_pages_hint(&parts.store, addr).await;
    let state = state(
        &o,
        &parts,
        queue.clone(),
        registry,
        Some(Arc::clone(&worker)),
    );
    let intake = intake_listener(&o).await?;
    let work = tokio::spawn(worker.run("embedded".to_owned(), shutdown.clone()));
    let sweep = tokio::spawn(sweeper(&o, &parts, queue).run(shutdown.clone()));
    let http = serve_routes(&o, listener, intake, state, shutdown.clone()).await;
    shutdown.cancel();
    work.await.context("worker task")?;
    sweep.await.context("sweeper task")?;
    http
}

/// Where the review pages are, and how to make the first login when there is none.
async fn review_pages_hint(store: &Store, addr: SocketAddr) {
    match store.has_accounts().await {
        Ok(true) => eprintln!("review pages: http://{addr}/review"),
        Ok(false) => eprintln!(
            "review pages: http://{addr}/review (no logins yet; create one with \
             `photocheck account add NAME --role supervisor`, same --data or --database)"
        ),
        Err(e) => warn!(error = %e, "cannot count review accounts"),
    }
}

/// The multi-node API: accepts submissions into PostgreSQL and RabbitMQ, and sweeps up any stored but
/// never published.
pub async fn run_api(o: Options, shutdown: CancellationToken) -> anyhow::Result<()> {
    let queue = rabbit(&o).await?;
    let parts = open_parts(&o).await?;
    let (listener, addr) = listen(&o.listen).await?;
    info!(%addr, queue = %o.queue.name, "photocheck api listening");
    review_pages_hint(&parts.store, addr).await;
    let intake = intake_listener(&o).await?;
    let state = state(&o, &parts, queue.clone(), Registry::default(), None);
    let sweep = tokio::spawn(sweeper(&o, &parts, queue).run(shutdown.clone()));
    let http = serve_routes(&o, listener, intake, state, shutdown.clone()).await;
    shutdown.cancel();
    sweep.await.context("sweeper task")?;
    http
}

/// A multi-node worker: consumes from RabbitMQ, writes to PostgreSQL, publishes result events; serves
/// only metrics, health and readiness.
pub async fn run_worker(o: Options, shutdown: CancellationToken) -> anyhow::Result<()> {
    let queue = rabbit(&o).await?;
    let parts = open_parts(&o).await?;
    let mut registry = Registry::default();
    let worker = worker(&o, &parts, queue.clone(), &mut registry);
    let (listener, addr) = listen(&o.listen).await?;
    info!(%addr, queue = %o.queue.name, concurrency = o.concurrency, "photocheck worker starting");
    let state = state(&o, &parts, queue, registry, Some(Arc::clone(&worker)));
    let ops = axum::Router::new()
        .merge(api::ops_routes())
        .with_state(state);
    // The ops server outlives the worker's drain only by the moment it takes to stop.
    let ops_stop = CancellationToken::new();
    let ops_task = tokio::spawn(serve_http(
        listener,
        ops,
        o.header_read_timeout,
        ops_stop.clone(),
    ));
    let tag = format!(
        "photocheck-worker-{}-{}",
        std::process::id(),
        uuid::Uuid::new_v4().simple()
    );
    worker.run(tag, shutdown).await;
    ops_stop.cancel();
    ops_task.await.context("ops server task")?
}

async fn rabbit(o: &Options) -> anyhow::Result<Queue> {
    let Some(uri) = &o.amqp else {
        bail!("no RabbitMQ address: give --amqp URL or PHOTOCHECK_AMQP (the embedded mode is `photocheck serve`)");
    };
    Queue::rabbit(uri, o.queue.clone())
        .await
        .with_context(|| format!("connecting to RabbitMQ at {}", redact(uri)))
}

/// A URL without its password, for messages and logs.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            let user = userinfo.split(':').next().unwrap_or("");
            format!("{}{user}:***{}", &url[..scheme + 3], &url[at..])
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn passwords_are_not_shown() {
        assert_eq!(
            super::redact("postgres://app:s3cret@db:5432/x"),
            "postgres://app:***@db:5432/x"
        );
        assert_eq!(super::redact("sqlite:/tmp/x.db"), "sqlite:/tmp/x.db");
    }
}
