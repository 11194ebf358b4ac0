//! Load for the pipeline benchmark (benches/pipeline.sh):
//!
//! - `pipeline-load schema POSTGRES_URL`: makes a fresh schema and prints its URL;
//! - `pipeline-load run --api URL --database URL [--concurrency C] DIR`: submits every photo in DIR to
//!   the API (C uploads at once), waits until each is decided, and prints throughput and the time from
//!   submit to decision (p50, p99), read from the database the pipeline wrote.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use photocheck_store::Store;
use tokio::sync::Semaphore;
use uuid::Uuid;

fn usage() -> ! {
    eprintln!("usage: pipeline-load schema POSTGRES_URL\n       pipeline-load run --api URL --database URL [--concurrency C] DIR");
    std::process::exit(2)
}

#[tokio::main]
async fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("schema") => {
            let url = args.get(1).unwrap_or_else(|| usage());
            println!(
                "{}",
                photocheck_store::testing::fresh_postgres_schema(url).await?
            );
            Ok(())
        }
        Some("run") => run(&args[1..]).await,
        _ => usage(),
    }
}

async fn run(args: &[String]) -> Result<()> {
    let (mut api, mut database, mut concurrency, mut dir) = (None, None, 8usize, None);
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--api" => api = it.next().cloned(),
            "--database" => database = it.next().cloned(),
            "--concurrency" => concurrency = it.next().context("--concurrency N")?.parse()?,
            other => dir = Some(PathBuf::from(other)),
        }
    }
    let (Some(api), Some(database), Some(dir)) = (api, database, dir) else {
        usage()
    };
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    if files.is_empty() {
        bail!("no photos in {}", dir.display());
    }
    let photos: Vec<Vec<u8>> = files.iter().map(std::fs::read).collect::<Result<_, _>>()?;
    let store = Store::connect(&database).await?;
    let client = reqwest::Client::new();
    let permits = Arc::new(Semaphore::new(concurrency));
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(photos.len());
    for (i, photo) in photos.into_iter().enumerate() {
        let permit = Arc::clone(&permits).acquire_owned().await?;
        let (client, api) = (client.clone(), api.clone());
        tasks.push(tokio::spawn(async move {
            let form = reqwest::multipart::Form::new()
                .part(
                    "photo",
                    reqwest::multipart::Part::bytes(photo).file_name("p.jpg"),
                )
                .text("applicant_id", format!("bench-{i}"))
                .text("channel", "album");
            let response = client
                .post(format!("{api}/v1/submissions"))
                .multipart(form)
                .send()
                .await;
            drop(permit);
            let body: serde_json::Value = response?.error_for_status()?.json().await?;
            let id: Uuid = body["id"].as_str().context("no id")?.parse()?;
            anyhow::Ok(id)
        }));
    }
    let mut ids = Vec::with_capacity(tasks.len());
    for t in tasks {
        ids.push(t.await??);
    }
    let submitted = started.elapsed();
    eprintln!(
        "submitted {} photos in {:.1} s; waiting for decisions",
        ids.len(),
        submitted.as_secs_f64()
    );
    let deadline = Instant::now() + Duration::from_secs(1800);
    while !store.open_submissions(1).await?.is_empty() {
        if Instant::now() > deadline {
            bail!("submissions still open after 30 minutes");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let wall = started.elapsed();
    let mut latencies = Vec::with_capacity(ids.len());
    let (mut first, mut last) = (None, None);
    for id in &ids {
        let s = store.get(*id).await?.context("submission missing")?;
        let Some(r) = s.result else {
            bail!("{id} ended {} without a result: {:?}", s.status, s.failure)
        };
        latencies.push(
            (r.decided_at - s.received_at)
                .num_microseconds()
                .unwrap_or(0) as f64
                / 1000.0,
        );
        first = Some(
            first.map_or(s.received_at, |f: chrono::DateTime<chrono::Utc>| {
                f.min(s.received_at)
            }),
        );
        last = Some(
            last.map_or(r.decided_at, |l: chrono::DateTime<chrono::Utc>| {
                l.max(r.decided_at)
            }),
        );
    }
    latencies.sort_by(f64::total_cmp);
    let q = |p: f64| latencies[((latencies.len() - 1) as f64 * p).round() as usize];
    let span = match (first, last) {
        (Some(f), Some(l)) => (l - f).num_milliseconds() as f64 / 1000.0,
        _ => wall.as_secs_f64(),
    };
    println!(
        "pipeline: {} photos, first receipt to last decision {:.2} s = {:.1} photos/s; submit->decision p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms",
        ids.len(),
        span,
        ids.len() as f64 / span,
        q(0.5),
        q(0.99),
        latencies.last().copied().unwrap_or(0.0)
    );
    Ok(())
}
