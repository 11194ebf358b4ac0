//! Requests against the real router on SQLite, the embedded queue and a blob folder: good submissions
//! are stored and queued, bad ones get a clear 4xx with a JSON error and leave nothing behind.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use photocheck_queue::{Queue, QueueConfig};
use photocheck_server::api::{router, AppState};
use photocheck_server::metrics::ApiMetrics;
use photocheck_server::review::{ReviewConfig, ReviewSettings};
use photocheck_store::{BlobLocation, Blobs, Status, Store};
use tower::ServiceExt;
use uuid::Uuid;

const BOUNDARY: &str = "photocheck-test-boundary";
const LIMIT: usize = 100_000;

pub struct Api {
    pub state: AppState,
    /// The data folder: the database, and the uploads in `uploads/`.
    pub dir: tempfile::TempDir,
}

pub async fn api() -> Api {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite:{}", dir.path().join("photocheck.db").display());
    let mut registry = prometheus_client::registry::Registry::default();
    let state = AppState {
        store: Store::connect(&url).await.expect("SQLite"),
        uploads: Blobs::open(&BlobLocation::Folder(dir.path().to_owned()), "uploads")
            .await
            .expect("blobs"),
        overlays: Blobs::open(&BlobLocation::Folder(dir.path().to_owned()), "overlays")
            .await
            .expect("blobs"),
        queue: Queue::embedded(QueueConfig::default()),
        metrics: Arc::new(ApiMetrics::new(&mut registry)),
        registry: Arc::new(registry),
        max_upload_bytes: LIMIT,
        worker_ready: None,
        review: Arc::new(ReviewSettings::new(
            ReviewConfig::default(),
            "127.0.0.1:8080",
        )),
        storage: Arc::new(photocheck_server::storage::StorageHealth::new(0)),
        intake: Arc::new(photocheck_server::intake_gate::IntakeGate::new(
            Default::default(),
        )),
    };
    Api { state, dir }
}

impl Api {
    /// Jobs waiting in the in-process queue.
    async fn queued(&self) -> i64 {
        self.state.queue.depths().await.iter().map(|(_, n)| n).sum()
    }
}

/// A multipart body from (name, content) parts; `photo` parts are sent as a file.
fn multipart(parts: &[(&str, &[u8])]) -> Request<Body> {
    multipart_to("/v1/submissions", parts)
}

fn multipart_to(uri: &str, parts: &[(&str, &[u8])]) -> Request<Body> {
    let mut body = Vec::new();
    for (name, content) in parts {
        body.extend_from_slice(format!("--{BOUNDARY}\r\n").as_bytes());
        if *name == "photo" {
            body.extend_from_slice(
                b"Content-Disposition: form-data; name=\"photo\"; filename=\"p.jpg\"\r\nContent-Type: image/jpeg\r\n\r\n",
            );
        } else {
            body.extend_from_slice(
                format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n").as_bytes(),
            );
        }
        body.extend_from_slice(content);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    Request::post(uri)
        .header(
            "content-type",
            format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .body(Body::from(body))
        .expect("request")
}

async fn send(api: &Api, request: Request<Body>) -> (StatusCode, serde_json::Value) {
    let response = router(api.state.clone())
        .oneshot(request)
        .await
        .expect("response");
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .expect("body");
    let json = serde_json::from_slice(&bytes).unwrap_or_else(|e| {
        panic!(
            "{status}: not JSON ({e}): {}",
            String::from_utf8_lossy(&bytes)
        )
    });
    (status, json)
}

/// A small real JPEG: the smallest test photo.
fn small_photo() -> Option<Vec<u8>> {
    let files = crate::photos_or_skip("api tests with a real photo")?;
    files
        .iter()
        .filter(|f| f.extension().is_some_and(|e| e == "jpg"))
        .filter_map(|f| std::fs::read(f).ok())
        .filter(|b| b.len() < LIMIT)
        .min_by_key(Vec::len)
}

#[tokio::test]
async fn a_submission_is_stored_queued_and_readable() {
    let Some(photo) = small_photo() else { return };
    let api = api().await;
    let (status, body) = send(
        &api,
        multipart(&[
            ("photo", &photo),
            ("applicant_id", b"A-100"),
            ("channel", b"camera"),
            ("licence_no", b"110101199001011234"),
        ]),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let id: Uuid = body["id"].as_str().expect("id").parse().expect("uuid");
    assert_eq!(api.queued().await, 1, "queued for a worker");
    let stored = api.state.store.get(id).await.expect("get").expect("stored");
    assert_eq!(stored.status, Status::Queued);
    assert_eq!(
        api.state.uploads.get(&stored.blob_key).await.expect("blob"),
        photo
    );

    let (status, body) = send(
        &api,
        Request::get(format!("/v1/submissions/{id}"))
            .body(Body::empty())
            .expect("request"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["status"], "queued");
    assert_eq!(body["decision"], serde_json::Value::Null);
    assert_eq!(body["reasons"], serde_json::json!([]));
    assert_eq!(body["due"], serde_json::Value::Null);

    // The same photo as a raw body with the fields in the query string.
    let raw = Request::post("/v1/submissions?applicant_id=A-101&channel=album")
        .header("content-type", "image/jpeg")
        .body(Body::from(photo))
        .expect("request");
    let (status, body) = send(&api, raw).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert_eq!(api.queued().await, 2);
}

#[tokio::test]
async fn bad_requests_get_clear_4xx_and_store_nothing() {
    let api = api().await;
    let jpeg_magic: &[u8] = &[0xFF, 0xD8, 0xFF, 0xE0, 0, 16, b'J', b'F', b'I', b'F', 0];
    let big = vec![0u8; LIMIT + 200_000];
    let cases: Vec<(&str, Request<Body>, StatusCode, &str)> = vec![
        (
            // The query would be silently unread: which applicant was meant is not guessed.
            "fields in the query of a multipart upload",
            multipart_to(
                "/v1/submissions?applicant_id=B",
                &[
                    ("photo", jpeg_magic),
                    ("applicant_id", b"A"),
                    ("channel", b"camera"),
                ],
            ),
            StatusCode::BAD_REQUEST,
            "query-with-multipart",
        ),
        (
            "no applicant",
            multipart(&[("photo", jpeg_magic), ("channel", b"camera")]),
            StatusCode::BAD_REQUEST,
            "missing-field",
        ),
        (
            "no channel",
            multipart(&[("photo", jpeg_magic), ("applicant_id", b"A")]),
            StatusCode::BAD_REQUEST,
            "missing-field",
        ),
        (
            "no photo",
            multipart(&[("applicant_id", b"A"), ("channel", b"camera")]),
            StatusCode::BAD_REQUEST,
            "missing-photo",
        ),
        (
            "unknown channel",
            multipart(&[
                ("photo", jpeg_magic),
                ("applicant_id", b"A"),
                ("channel", b"fax"),
            ]),
            StatusCode::BAD_REQUEST,
            "bad-channel",
        ),
        (
            "applicant id too long",
            multipart(&[
                ("photo", jpeg_magic),
                ("applicant_id", &[b'x'; 65]),
                ("channel", b"camera"),
            ]),
            StatusCode::BAD_REQUEST,
            "bad-field",
        ),
        (
            "unknown field",
            multipart(&[
                ("photo", jpeg_magic),
                ("applicant_id", b"A"),
                ("channel", b"camera"),
                ("age", b"40"),
            ]),
            StatusCode::BAD_REQUEST,
            "unknown-field",
        ),
        (
            "empty photo",
            multipart(&[
                ("photo", b""),
                ("applicant_id", b"A"),
                ("channel", b"camera"),
            ]),
            StatusCode::BAD_REQUEST,
            "empty-photo",
        ),
        (
            "not a photo",
            multipart(&[
                ("photo", b"%PDF-1.7 not a photo"),
                ("applicant_id", b"A"),
                ("channel", b"camera"),
            ]),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported-photo",
        ),
        (
            "oversized",
            multipart(&[
                ("photo", &big),
                ("applicant_id", b"A"),
                ("channel", b"camera"),
            ]),
            StatusCode::PAYLOAD_TOO_LARGE,
            "too-large",
        ),
        (
            "oversized raw body",
            Request::post("/v1/submissions?applicant_id=A&channel=camera")
                .header("content-type", "image/jpeg")
                .body(Body::from(big.clone()))
                .expect("request"),
            StatusCode::PAYLOAD_TOO_LARGE,
            "too-large",
        ),
        (
            "form fields as JSON",
            Request::post("/v1/submissions")
                .header("content-type", "application/json")
                .body(Body::from(r#"{"applicant_id":"A"}"#))
                .expect("request"),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported-content-type",
        ),
        (
            "raw body without its fields",
            Request::post("/v1/submissions")
                .header("content-type", "image/jpeg")
                .body(Body::from(jpeg_magic.to_vec()))
                .expect("request"),
            StatusCode::BAD_REQUEST,
            "missing-field",
        ),
        (
            "broken multipart",
            Request::post("/v1/submissions")
                .header(
                    "content-type",
                    format!("multipart/form-data; boundary={BOUNDARY}"),
                )
                .body(Body::from("--nonsense"))
                .expect("request"),
            StatusCode::BAD_REQUEST,
            "bad-multipart",
        ),
        (
            "unknown id",
            Request::get(format!("/v1/submissions/{}", Uuid::new_v4()))
                .body(Body::empty())
                .expect("request"),
            StatusCode::NOT_FOUND,
            "unknown-submission",
        ),
        (
            "id that is not a UUID",
            Request::get("/v1/submissions/12345")
                .body(Body::empty())
                .expect("request"),
            StatusCode::BAD_REQUEST,
            "bad-id",
        ),
        (
            "unknown route",
            Request::get("/v2/everything")
                .body(Body::empty())
                .expect("request"),
            StatusCode::NOT_FOUND,
            "no-such-route",
        ),
    ];
    for (what, request, status, code) in cases {
        let (got, body) = send(&api, request).await;
        assert_eq!(
            (got, body["error"]["code"].as_str()),
            (status, Some(code)),
            "{what}: {body}"
        );
        assert!(
            body["error"]["message"]
                .as_str()
                .is_some_and(|m| m.len() > 10),
            "{what}: the message says what is wrong: {body}"
        );
    }
    assert_eq!(api.queued().await, 0, "nothing queued");
    assert!(
        api.state
            .store
            .open_submissions(10)
            .await
            .expect("open")
            .is_empty(),
        "nothing stored"
    );
}

#[tokio::test]
async fn operations_routes_answer() {
    let api = api().await;
    for (path, needle) in [
        ("/healthz", "ok"),
        ("/readyz", "database"),
        ("/openapi.json", "/v1/submissions/{id}"),
    ] {
        let (status, body) = send(
            &api,
            Request::get(path).body(Body::empty()).expect("request"),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
        assert!(body.to_string().contains(needle), "{path}: {body}");
    }
    let response = router(api.state.clone())
        .oneshot(
            Request::get("/metrics")
                .body(Body::empty())
                .expect("request"),
        )
        .await
        .expect("response");
    assert_eq!(response.status(), StatusCode::OK);
    let text = String::from_utf8(
        axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .expect("body")
            .to_vec(),
    )
    .expect("UTF-8");
    // The HTTP side's own; a worker's sit beside them when one runs in the process.
    for metric in [
        "photocheck_submissions_total",
        "photocheck_queue_depth{queue=\"embedded\"} 0",
        "photocheck_logins_turned_away_total",
        "photocheck_intake_turned_away_total",
    ] {
        assert!(text.contains(metric), "{metric} missing from:\n{text}");
    }
}

async fn readyz(api: &Api) -> (StatusCode, serde_json::Value) {
    send(
        api,
        Request::get("/readyz")
            .body(Body::empty())
            .expect("request"),
    )
    .await
}

fn blank_submission(applicant: &str) -> Request<Body> {
    let photo = photocheck_synth::jpeg(&image::RgbImage::from_pixel(
        260,
        378,
        image::Rgb([250, 250, 250]),
    ))
    .expect("jpeg");
    Request::post(format!(
        "/v1/submissions?applicant_id={applicant}&channel=album"
    ))
    .header("content-type", "image/jpeg")
    .body(Body::from(photo))
    .expect("request")
}

#[tokio::test]
async fn a_store_that_cannot_write_refuses_keeps_nothing_and_recovers() {
    let api = api().await;
    let uploads = api.dir.path().join("uploads");
    assert_eq!(readyz(&api).await.0, StatusCode::OK);

    // The upload folder stops taking files (a file stands where the folder was: as a full disk,
    // every write fails, whoever the process runs as).
    std::fs::remove_dir_all(&uploads).expect("remove uploads");
    std::fs::write(&uploads, b"not a folder").expect("block uploads");
    let (status, body) = send(&api, blank_submission("DISK-1")).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert!(
        api.state
            .store
            .open_submissions(10)
            .await
            .expect("open")
            .is_empty(),
        "no row for a photo that was not stored"
    );
    let (status, body) = readyz(&api).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["storage"]["writes_failing"], true, "{body}");

    // Space is back: readiness probes a write, and uploads are taken again.
    std::fs::remove_file(&uploads).expect("unblock");
    std::fs::create_dir(&uploads).expect("uploads again");
    let (status, body) = readyz(&api).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["storage"]["writes_failing"], false, "{body}");
    let (status, body) = send(&api, blank_submission("DISK-2")).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let left: Vec<_> = std::fs::read_dir(&uploads)
        .expect("list")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert_eq!(
        left.len(),
        1,
        "the accepted photo and no probe or partial file: {left:?}"
    );

    // Too little free space is not ready either, and says how much there is.
    let mut short = Api { ..api };
    short.state.storage = Arc::new(photocheck_server::storage::StorageHealth::new(u64::MAX));
    let (status, body) = readyz(&short).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert!(
        body["storage"]["free_bytes"]
            .as_u64()
            .is_some_and(|f| f > 0),
        "{body}"
    );
}
