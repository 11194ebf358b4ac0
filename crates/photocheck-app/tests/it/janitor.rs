//! The sweeper's janitor on a real blob folder and SQLite: uploads no submission points at go once
//! they are older than the grace period, partial files with them; a submission's photo stays.

use std::time::Duration;

use chrono::Utc;
use photocheck_app::sweeper::remove_orphans;
use photocheck_store::{BlobError, BlobLocation, Blobs, Channel, NewSubmission, Store};

#[tokio::test]
async fn the_janitor_removes_uploads_no_submission_points_at() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::connect(&format!(
        "sqlite:{}",
        dir.path().join("photocheck.db").display()
    ))
    .await
    .expect("SQLite");
    let uploads = Blobs::open(&BlobLocation::Folder(dir.path().to_owned()), "uploads")
        .await
        .expect("blobs");
    let kept = uploads.put(b"a submitted photo").await.expect("put");
    store
        .insert_submission(&NewSubmission {
            applicant_id: "JANITOR-1".into(),
            licence_no: None,
            channel: Channel::Album,
            blob_key: kept.clone(),
            received_at: Utc::now(),
        })
        .await
        .expect("insert");
    // An API that died between storing a photo and its row, and a write cut off half way.
    let orphan = uploads.put(b"photo with no row").await.expect("put");
    let partial = dir
        .path()
        .join("uploads")
        .join(format!(".{orphan}.x.partial"));
    std::fs::write(&partial, b"half").expect("partial");

    // Younger than the grace period: kept (its row may be on the way).
    let removed = remove_orphans(&store, &uploads, Duration::from_secs(3600))
        .await
        .expect("janitor");
    assert_eq!(removed, 0);
    assert!(uploads.get(&orphan).await.is_ok());
    tokio::time::sleep(Duration::from_millis(20)).await;
    let removed = remove_orphans(&store, &uploads, Duration::from_millis(10))
        .await
        .expect("janitor");
    assert_eq!(removed, 1);
    assert!(matches!(
        uploads.get(&orphan).await,
        Err(BlobError::NotFound(_))
    ));
    assert!(!partial.exists(), "the partial file is gone too");
    assert!(
        uploads.get(&kept).await.is_ok(),
        "a submission's photo stays"
    );
}
