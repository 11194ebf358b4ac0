//! A full disk, for real: `photocheck serve` with its data (SQLite, uploads, overlays) on a small
//! tmpfs, fed photos until the disk refuses them, then given room again. Every upload it accepted
//! is decided without a restart, no status answer ever goes backwards, readiness says "not ready"
//! while the disk is full and "ready" once it is not, and a refused upload leaves no row.
//!
//! Mounting needs root (CI runs as root); elsewhere the test says SKIPPED.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use reqwest::StatusCode;
use tokio_util::sync::CancellationToken;

use crate::{free_port, wait_for};

/// A tmpfs mounted for the test, unmounted when dropped.
struct SmallDisk(PathBuf);

impl SmallDisk {
    fn mount(at: &Path, size: &str) -> Option<SmallDisk> {
        std::fs::create_dir_all(at).ok()?;
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(at)
            .status()
            .is_ok_and(|s| s.success());
        ok.then(|| SmallDisk(at.to_owned()))
    }

    fn grow(&self, size: &str) {
        let ok = Command::new("mount")
            .args(["-o", &format!("remount,size={size}")])
            .arg(&self.0)
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "remount {} to {size}", self.0.display());
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// A photo of noise (no face: rejected fast), about 150 KB as JPEG, different for each `seed`.
fn noise_jpeg(seed: u32) -> Vec<u8> {
    let mut state = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
    let image = image::RgbImage::from_fn(480, 640, |_, _| {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        let [a, b, c, _] = state.to_le_bytes();
        image::Rgb([a, b, c])
    });
    photocheck_synth::jpeg(&image).expect("jpeg")
}

/// How far along a status is; it may only grow.
fn rank(status: &str) -> u8 {
    match status {
        "queued" => 0,
        "processing" => 1,
        _ => 2,
    }
}

#[tokio::test]
async fn a_full_disk_refuses_uploads_loses_none_and_recovers_without_a_restart() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    let Some(disk) = SmallDisk::mount(&data, "4m") else {
        eprintln!("SKIPPED a_full_disk_…: cannot mount a tmpfs here (needs root; CI runs as root)");
        return;
    };
    let port = free_port();
    let mut o = photocheck_app::Options::embedded(&data);
    o.listen = format!("127.0.0.1:{port}");
    o.min_free_bytes = 512 * 1024;
    o.queue.retry_delay = Duration::from_millis(200);
    o.concurrency = 1;
    let shutdown = CancellationToken::new();
    let server = tokio::spawn(photocheck_app::serve(o, shutdown.clone()));
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    wait_for(30, "the server to answer", || async {
        http.get(format!("{base}/healthz")).send().await.ok()
    })
    .await;

    // Upload until the disk refuses: every answer is 202 or a clear 503, never anything else.
    let mut accepted = Vec::new();
    let mut refused = 0;
    for i in 0..60u32 {
        let r = http
            .post(format!(
                "{base}/v1/submissions?applicant_id=DISK-{i}&channel=album"
            ))
            .header("content-type", "image/jpeg")
            .body(noise_jpeg(i))
            .send()
            .await
            .expect("an answer");
        match r.status() {
            StatusCode::ACCEPTED => {
                let body: serde_json::Value = r.json().await.expect("json");
                accepted.push(body["id"].as_str().expect("id").to_owned());
            }
            StatusCode::SERVICE_UNAVAILABLE => refused += 1,
            other => panic!("upload {i}: {other} {}", r.text().await.unwrap_or_default()),
        }
    }
    assert!(
        refused > 0,
        "the 4 MB disk never filled: accepted {}",
        accepted.len()
    );
    assert!(!accepted.is_empty(), "nothing was accepted at all");
    let r = http
        .get(format!("{base}/readyz"))
        .send()
        .await
        .expect("readyz");
    assert_eq!(
        r.status(),
        StatusCode::SERVICE_UNAVAILABLE,
        "not ready on a full disk"
    );

    // Every status read while the disk is full and after: never backwards.
    let mut seen: HashMap<String, u8> = HashMap::new();
    let mut watch = |id: &str, status: &str| {
        let now = rank(status);
        let before = seen.insert(id.to_owned(), now).unwrap_or(0);
        assert!(
            now >= before,
            "{id} went from rank {before} back to {status}"
        );
    };
    for id in &accepted {
        let s: serde_json::Value = http
            .get(format!("{base}/v1/submissions/{id}"))
            .send()
            .await
            .expect("status")
            .json()
            .await
            .expect("json");
        watch(id, s["status"].as_str().unwrap_or("?"));
    }

    // Room again: ready without a restart, and every accepted upload gets its decision.
    disk.grow("64m");
    wait_for(30, "readiness to come back", || async {
        let r = http.get(format!("{base}/readyz")).send().await.ok()?;
        (r.status() == StatusCode::OK).then_some(())
    })
    .await;
    for id in &accepted {
        let status = wait_for(120, "every accepted upload to be decided", || async {
            let s: serde_json::Value = http
                .get(format!("{base}/v1/submissions/{id}"))
                .send()
                .await
                .ok()?
                .json()
                .await
                .ok()?;
            let status = s["status"].as_str()?.to_owned();
            (status == "decided").then_some(status)
        })
        .await;
        watch(id, &status);
    }
    // A refused upload left no row: the database holds exactly the accepted ones.
    let store = photocheck_store::Store::connect(&format!(
        "sqlite:{}",
        data.join("photocheck.db").display()
    ))
    .await
    .expect("the database");
    let mut rows = 0;
    for i in 0..60u32 {
        rows += store
            .applicant_submissions(&format!("DISK-{i}"), 5)
            .await
            .expect("rows")
            .len();
    }
    assert_eq!(
        rows,
        accepted.len(),
        "one row per accepted upload, none for a refused one"
    );
    eprintln!(
        "full disk: {} uploads accepted and all decided, {refused} refused with 503",
        accepted.len()
    );
    shutdown.cancel();
    server.await.expect("join").expect("serve stops cleanly");
    drop(disk);
}
