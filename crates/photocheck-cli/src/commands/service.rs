//! `serve`, `api` and `worker`: the long-running commands. Settings come from flags, then environment
//! variables (clap reads both), then the `--config` TOML file, then defaults.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, Result};
use clap::Args;
use photocheck_app::{BlobLocation, Options};
use photocheck_core::Profile;
use serde::Deserialize;
use tokio_util::sync::CancellationToken;

/// Settings shared by the three commands.
#[derive(Debug, Args)]
pub struct ServiceArgs {
    /// Settings file (TOML; keys as the flags, with underscores).
    #[arg(long, env = "PHOTOCHECK_CONFIG", value_name = "FILE")]
    config: Option<PathBuf>,
    /// Address to listen on (HTTP).
    #[arg(long, env = "PHOTOCHECK_LISTEN", value_name = "ADDR")]
    listen: Option<String>,
    /// A separate address for the intake API (then --listen serves only the review pages and the
    /// metrics). The intake's service token comes from PHOTOCHECK_INTAKE_TOKEN or the config's
    /// intake_token_file, never from a flag other users could read.
    #[arg(long, env = "PHOTOCHECK_INTAKE_LISTEN", value_name = "ADDR")]
    intake_listen: Option<String>,
    /// Database: sqlite:PATH or postgres://USER@HOST/DB.
    #[arg(long, env = "PHOTOCHECK_DATABASE", value_name = "URL")]
    database: Option<String>,
    /// RabbitMQ: amqp://USER:PASS@HOST:PORT/VHOST.
    #[arg(long, env = "PHOTOCHECK_AMQP", value_name = "URL")]
    amqp: Option<String>,
    /// Blob store shared by every api and worker process: a folder, or s3://BUCKET[/PREFIX] with the
    /// endpoint and credentials in AWS_ENDPOINT, AWS_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY
    /// (AWS_ALLOW_HTTP=true for a plain-http endpoint).
    #[arg(long, env = "PHOTOCHECK_BLOBS", value_name = "DIR|s3://BUCKET")]
    blobs: Option<BlobLocation>,
    /// Work queue name (its retry and dead-letter queues are derived from it).
    #[arg(long, env = "PHOTOCHECK_QUEUE", value_name = "NAME")]
    queue: Option<String>,
    /// Photos checked at once (default: one per CPU).
    #[arg(long, env = "PHOTOCHECK_CONCURRENCY", value_name = "N")]
    concurrency: Option<usize>,
    /// Largest photo accepted, bytes (default 15 MiB).
    #[arg(long, env = "PHOTOCHECK_MAX_UPLOAD_BYTES", value_name = "N")]
    max_upload_bytes: Option<usize>,
}

/// `photocheck serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Folder for the SQLite database, the uploads and the archive copies (created if missing).
    #[arg(
        long,
        env = "PHOTOCHECK_DATA",
        value_name = "DIR",
        default_value = "./photocheck-data"
    )]
    data: PathBuf,
    #[command(flatten)]
    service: ServiceArgs,
}

/// The `--config` file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    listen: Option<String>,
    intake_listen: Option<String>,
    /// A file holding the upload platform's token (first line).
    intake_token_file: Option<PathBuf>,
    /// Intake requests per second per client address (default 50), and the burst (default 100).
    intake_rate_per_sec: Option<f64>,
    intake_burst: Option<f64>,
    database: Option<String>,
    amqp: Option<String>,
    blobs: Option<String>,
    queue: Option<String>,
    events_exchange: Option<String>,
    concurrency: Option<usize>,
    prefetch: Option<u16>,
    max_attempts: Option<u32>,
    retry_delay_secs: Option<u64>,
    max_upload_bytes: Option<usize>,
    /// Working-day calendar file (holidays and make-up days); the built-in one covers 2025-2026.
    calendar: Option<PathBuf>,
    audit_share: Option<f64>,
    review_lease_minutes: Option<i64>,
    session_hours: Option<i64>,
    secure_cookie: Option<bool>,
    sweep_every_secs: Option<u64>,
    /// Not ready below this much free space where the blob folder lives (default 1 GiB).
    min_free_mb: Option<u64>,
    /// Uploads no submission points at are removed after this long (default 60).
    orphan_grace_minutes: Option<u64>,
}

fn read_config(path: Option<&Path>) -> Result<FileConfig> {
    let Some(path) = path else {
        return Ok(FileConfig::default());
    };
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read config {}", path.display()))?;
    toml::from_str(&text).with_context(|| format!("config {}", path.display()))
}

#[derive(Clone, Copy, PartialEq)]
pub enum Mode {
    Serve,
    Api,
    Worker,
}

/// Resolves the settings: flag or environment, then file, then the mode's default.
fn options(mode: Mode, a: ServiceArgs, data: &Path, profile: Profile) -> Result<Options> {
    let f = read_config(a.config.as_deref())?;
    let mut o = Options::embedded(data);
    o.profile = Arc::new(profile);
    let default_listen = match mode {
        Mode::Worker => "127.0.0.1:9090",
        _ => "127.0.0.1:8080",
    };
    o.listen = a
        .listen
        .or(f.listen)
        .unwrap_or_else(|| default_listen.to_owned());
    o.intake_listen = a.intake_listen.or(f.intake_listen);
    o.intake.token = intake_token(f.intake_token_file.as_deref())?;
    if let Some(r) = f.intake_rate_per_sec {
        anyhow::ensure!(r > 0.0, "intake_rate_per_sec must be above 0");
        o.intake.per_client_per_sec = r;
    }
    if let Some(b) = f.intake_burst {
        anyhow::ensure!(b >= 1.0, "intake_burst must be at least 1");
        o.intake.burst = b;
    }
    let database = a.database.or(f.database);
    let blobs = match f.blobs {
        Some(b) if a.blobs.is_none() => Some(b.parse::<BlobLocation>()?),
        _ => a.blobs,
    };
    if mode == Mode::Serve {
        if let Some(db) = database {
            o.database = db;
        }
        if let Some(b) = blobs {
            o.blobs = b;
        }
    } else {
        o.database = database.context(
            "no database: give --database postgres://... or PHOTOCHECK_DATABASE (the embedded mode is `photocheck serve`)",
        )?;
        o.blobs = blobs.context(
            "no blob store: give --blobs DIR or --blobs s3://BUCKET (or PHOTOCHECK_BLOBS), one every api and worker process shares",
        )?;
        o.amqp = a.amqp.or(f.amqp);
    }
    if let Some(q) = a.queue.or(f.queue) {
        o.queue.name = q;
    }
    if let Some(x) = f.events_exchange {
        o.queue.events_exchange = x;
    }
    if let Some(n) = a.concurrency.or(f.concurrency) {
        anyhow::ensure!(n > 0, "concurrency must be at least 1");
        o.concurrency = n;
    }
    // The jobs a worker holds, and as many again waiting in its channel for the next free slot.
    o.queue.prefetch = f.prefetch.unwrap_or_else(|| {
        u16::try_from(2 * o.concurrency * photocheck_worker::JOBS_PER_CHECK).unwrap_or(u16::MAX)
    });
    if let Some(n) = f.max_attempts {
        o.queue.max_attempts = n.max(1);
    }
    if let Some(s) = f.retry_delay_secs {
        o.queue.retry_delay = Duration::from_secs(s);
    }
    if let Some(n) = a.max_upload_bytes.or(f.max_upload_bytes) {
        o.max_upload_bytes = n;
    }
    if let Some(path) = &f.calendar {
        // The error names the file itself.
        o.calendar = Arc::new(photocheck_calendar::Calendar::load(path)?);
    }
    if let Some(share) = f.audit_share {
        anyhow::ensure!(
            (0.0..=1.0).contains(&share),
            "audit_share is a share of approvals, from 0 to 1; got {share}"
        );
        o.audit_share = share;
    }
    if let Some(m) = f.review_lease_minutes {
        anyhow::ensure!(m > 0, "review_lease_minutes must be at least 1");
        o.review_lease = chrono::Duration::minutes(m);
    }
    if let Some(h) = f.session_hours {
        anyhow::ensure!(h > 0, "session_hours must be at least 1");
        o.session_ttl = chrono::Duration::hours(h);
    }
    o.secure_cookie = f.secure_cookie;
    if let Some(s) = f.sweep_every_secs {
        o.sweep_every = Duration::from_secs(s.max(1));
    }
    if let Some(mb) = f.min_free_mb {
        o.min_free_bytes = mb.saturating_mul(1 << 20);
    }
    if let Some(m) = f.orphan_grace_minutes {
        // Never shorter than a request takes to store its photo and then its row.
        anyhow::ensure!(m >= 5, "orphan_grace_minutes must be at least 5");
        o.orphan_grace = Duration::from_secs(m * 60);
    }
    Ok(o)
}

/// The intake's service token: PHOTOCHECK_INTAKE_TOKEN, else the first line of the file.
fn intake_token(file: Option<&Path>) -> Result<Option<String>> {
    let token = match (std::env::var("PHOTOCHECK_INTAKE_TOKEN").ok(), file) {
        (Some(t), _) => t,
        (None, Some(path)) => std::fs::read_to_string(path)
            .with_context(|| format!("cannot read intake_token_file {}", path.display()))?
            .lines()
            .next()
            .unwrap_or("")
            .to_owned(),
        (None, None) => return Ok(None),
    };
    let token = token.trim().to_owned();
    anyhow::ensure!(
        token.len() >= 32,
        "the intake token must be at least 32 characters (e.g. `openssl rand -hex 32`)"
    );
    Ok(Some(token))
}

pub fn serve(args: ServeArgs, profile: Profile) -> Result<()> {
    let o = options(Mode::Serve, args.service, &args.data, profile)?;
    std::fs::create_dir_all(&args.data)
        .with_context(|| format!("cannot create the data folder {}", args.data.display()))?;
    run(|shutdown| photocheck_app::serve(o, shutdown))
}

pub fn api(args: ServiceArgs, profile: Profile) -> Result<()> {
    let o = options(Mode::Api, args, Path::new("."), profile)?;
    run(|shutdown| photocheck_app::run_api(o, shutdown))
}

pub fn worker(args: ServiceArgs, profile: Profile) -> Result<()> {
    let o = options(Mode::Worker, args, Path::new("."), profile)?;
    run(|shutdown| photocheck_app::run_worker(o, shutdown))
}

/// Logging, the runtime, and Ctrl-C / SIGTERM turned into a graceful stop.
fn run<F, Fut>(body: F) -> Result<()>
where
    F: FnOnce(CancellationToken) -> Fut,
    Fut: std::future::Future<Output = Result<()>>,
{
    init_logging();
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(async {
        let shutdown = CancellationToken::new();
        let signals = shutdown.clone();
        tokio::spawn(async move {
            stop_signal().await;
            tracing::info!("stopping: no new work taken, in-flight checks finish");
            signals.cancel();
        });
        body(shutdown).await
    })
}

async fn stop_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = ctrl_c => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = ctrl_c.await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}

/// RUST_LOG picks the level (default info); PHOTOCHECK_LOG_FORMAT=json writes JSON lines.
fn init_logging() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    // Colours only for a person at a terminal, never into log files.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .with_writer(std::io::stderr);
    if std::env::var("PHOTOCHECK_LOG_FORMAT").is_ok_and(|f| f == "json") {
        builder.json().init();
    } else {
        builder.init();
    }
}
