//! The HTTP intake API: submit a photo, read a submission's status, and the operations routes
//! (OpenAPI description, Prometheus metrics, health, readiness). Every error answers JSON that says what
//! is wrong: `{"error": {"code": "...", "message": "..."}}`.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::multipart::MultipartError;
use axum::extract::{DefaultBodyLimit, FromRequest, Multipart, Path, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::Utc;
use photocheck_core::intake;
use photocheck_queue::{Job, Queue};
use photocheck_store::{Blobs, Channel, NewSubmission, Status, Store};
use prometheus_client::registry::Registry;
use serde::Deserialize;
use serde_json::json;
use tracing::{info, warn};
use uuid::Uuid;

use crate::metrics::ApiMetrics;

/// What the handlers share.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub uploads: Blobs,
    /// The background overlays the worker stored at decision time.
    pub overlays: Blobs,
    /// Where accepted submissions are queued.
    pub queue: Queue,
    pub metrics: Arc<ApiMetrics>,
    /// The process's metrics (these and those of a worker beside them), for `/metrics`.
    pub registry: Arc<Registry>,
    /// Largest photo accepted, bytes.
    pub max_upload_bytes: usize,
    /// Whether the worker in this process is taking jobs (embedded mode, and a worker's own ops
    /// routes), for readiness; `None` where no worker runs.
    pub worker_ready: Option<Arc<dyn Fn() -> bool + Send + Sync>>,
    pub review: Arc<crate::review::ReviewSettings>,
    /// Free space and failed writes of the blob store, for readiness.
    pub storage: Arc<crate::storage::StorageHealth>,
    /// The intake's service token and per-client rate.
    pub intake: Arc<crate::intake_gate::IntakeGate>,
}

/// Every route on one address: the intake API, the review pages and the operations routes.
pub fn router(state: AppState) -> Router {
    finish(
        intake_routes(&state)
            .merge(ops_routes())
            .merge(crate::review::routes()),
        state,
    )
}

/// The intake API alone, for its own address (`intake_listen`): the upload platform reaches it,
/// and nothing else.
pub fn intake_router(state: AppState) -> Router {
    finish(intake_routes(&state).merge(probe_routes()), state)
}

/// The review pages and the operations routes, without the intake API.
pub fn pages_router(state: AppState) -> Router {
    finish(ops_routes().merge(crate::review::routes()), state)
}

/// The intake routes, behind the service token and the per-client rate.
fn intake_routes(state: &AppState) -> Router<AppState> {
    Router::new()
        .route("/v1/submissions", post(submit))
        .route("/v1/submissions/{id}", get(status))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::intake_gate::gate,
        ))
        .route("/openapi.json", get(openapi))
}

/// The fallback, the body limit and the headers every answer gets.
fn finish(routes: Router<AppState>, state: AppState) -> Router {
    // Multipart framing and the text fields add a little to the photo itself.
    let limit = state.max_upload_bytes + 64 * 1024;
    routes
        .fallback(|| async {
            ApiError::new(
                StatusCode::NOT_FOUND,
                "no-such-route",
                "no such route; see /openapi.json",
            )
        })
        .layer(DefaultBodyLimit::max(limit))
        .layer(axum::middleware::map_response(nosniff))
        .with_state(state)
}

/// Every answer is served as the type it says: a browser never guesses that an uploaded photo or a
/// JSON error is HTML or script.
async fn nosniff(mut response: Response) -> Response {
    response.headers_mut().insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

/// Metrics, health and readiness: also all a multi-node worker serves.
pub fn ops_routes() -> Router<AppState> {
    probe_routes().route("/metrics", get(metrics))
}

/// Health and readiness, for a load balancer: also on the intake's own address, which does not
/// show the metrics.
fn probe_routes() -> Router<AppState> {
    Router::new()
        .route(
            "/healthz",
            get(|| async { Json(json!({ "status": "ok" })) }),
        )
        .route("/readyz", get(readyz))
}

/// An error answer.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl ApiError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
        }
    }
    fn bad(code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, code, message)
    }
    fn internal(what: &str, e: impl std::fmt::Display) -> ApiError {
        warn!(error = %e, what, "request failed");
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            format!("{what} failed; try again shortly"),
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({ "error": { "code": self.code, "message": self.message } });
        (self.status, Json(body)).into_response()
    }
}

fn too_large(limit: usize) -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "too-large",
        format!("the request is larger than the {limit}-byte photo limit"),
    )
}

fn multipart_error(e: MultipartError, limit: usize) -> ApiError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        return too_large(limit);
    }
    ApiError::bad(
        "bad-multipart",
        format!("the multipart body cannot be read: {}", e.body_text()),
    )
}

/// How long a submission's body may take to arrive: 15 MB at 128 KB/s.
const BODY_READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(120);

/// Text fields of a submission, from the multipart form or the query string of a raw upload.
#[derive(Debug, Default, Deserialize)]
struct Fields {
    applicant_id: Option<String>,
    channel: Option<String>,
    licence_no: Option<String>,
}

/// `POST /v1/submissions`: multipart (`photo`, `applicant_id`, `channel`, optional `licence_no`), or the
/// photo as the raw body (`Content-Type: image/jpeg`, `image/png` or `image/webp`) with the fields in
/// the query string.
#[tracing::instrument(skip_all, fields(submission_id))]
async fn submit(State(state): State<AppState>, request: Request) -> Result<Response, ApiError> {
    let limit = state.max_upload_bytes;
    let content_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let read = async {
        if content_type.starts_with("multipart/form-data") {
            // Fields in both places would leave one of them silently unread.
            if request.uri().query().is_some_and(|q| !q.is_empty()) {
                return Err(ApiError::bad(
                    "query-with-multipart",
                    "a multipart upload carries its fields in the form; the query string is only \
                     for a photo sent as the raw body",
                ));
            }
            read_multipart(request, limit).await
        } else {
            let query = request.uri().query().unwrap_or("").to_owned();
            let fields: Fields = serde_urlencoded(&query)?;
            let body = Bytes::from_request(request, &())
                .await
                .map_err(|e| match e.status() {
                    StatusCode::PAYLOAD_TOO_LARGE => too_large(limit),
                    _ => ApiError::bad("bad-body", e.body_text()),
                })?;
            Ok((fields, Some(body)))
        }
    };
    let (fields, photo) = if content_type.starts_with("multipart/form-data")
        || content_type.starts_with("image/")
        || content_type == "application/octet-stream"
    {
        // A body trickled in to hold the connection is cut off; nothing is stored before it is whole.
        tokio::time::timeout(BODY_READ_TIMEOUT, read)
            .await
            .map_err(|_| {
                ApiError::new(
                    StatusCode::REQUEST_TIMEOUT,
                    "too-slow",
                    format!(
                        "the photo did not arrive within {} s",
                        BODY_READ_TIMEOUT.as_secs()
                    ),
                )
            })??
    } else {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported-content-type",
            format!(
                "send multipart/form-data with a `photo` field, or the photo itself as image/jpeg, image/png or image/webp (got {:?})",
                content_type
            ),
        ));
    };

    let applicant_id = required_text(fields.applicant_id, "applicant_id", 64)?;
    let channel: Channel = required_text(fields.channel, "channel", 16)?
        .parse()
        .map_err(|_| {
            ApiError::bad(
                "bad-channel",
                "channel must be one of stored, camera, album",
            )
        })?;
    let licence_no = match fields.licence_no {
        Some(l) if l.trim().is_empty() => None,
        Some(l) => Some(required_text(Some(l), "licence_no", 64)?),
        None => None,
    };
    let photo = photo.ok_or_else(|| {
        ApiError::bad(
            "missing-photo",
            "the `photo` field (the image file) is missing",
        )
    })?;
    if photo.is_empty() {
        return Err(ApiError::bad("empty-photo", "the photo is empty"));
    }
    if photo.len() > limit {
        return Err(too_large(limit));
    }
    // Refuse what is not a photo at all now, while the applicant's app can still say so; a photo that
    // is readable but wrong gets its decision from the check.
    if let Err(e) = intake::sniff(&photo) {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported-photo",
            e.messages().0,
        ));
    }

    let stored = state.uploads.put(&photo).await;
    state.storage.wrote(stored.is_ok());
    let blob_key = stored.map_err(|e| ApiError::internal("storing the photo", e))?;
    let inserted = match state
        .store
        .insert_submission(&NewSubmission {
            applicant_id,
            licence_no,
            channel,
            blob_key: blob_key.clone(),
            received_at: Utc::now(),
        })
        .await
    {
        Ok(inserted) => inserted,
        Err(e) => {
            state.storage.wrote(false);
            // Refused, so nothing of the photo stays (the janitor removes it if this fails too).
            if let Err(e) = state.uploads.delete(&blob_key).await {
                warn!(error = %e, "upload of a refused submission not removed; the janitor will");
            }
            return Err(ApiError::internal("storing the submission", e));
        }
    };
    let id = inserted.id;
    // From here on the request's log lines name the submission, as the worker's will.
    tracing::Span::current().record("submission_id", tracing::field::display(id));
    state.metrics.submissions.inc();
    info!(%id, superseded = ?inserted.superseded, bytes = photo.len(), "submission accepted");
    // Stored is accepted: if the queue is down now, the sweeper publishes it later.
    match state.queue.publish(Job::new(id)).await {
        Ok(()) => {
            if state.queue.durable() {
                if let Err(e) = state.store.mark_published(id, Utc::now()).await {
                    warn!(%id, error = %e, "published but not marked; the sweeper will publish it again");
                }
            }
        }
        Err(e) => warn!(%id, error = %e, "not published now; the sweeper will publish it"),
    }
    let location = format!("/v1/submissions/{id}");
    Ok((
        StatusCode::ACCEPTED,
        [(header::LOCATION, location)],
        Json(json!({ "id": id, "status": Status::Queued })),
    )
        .into_response())
}

fn serde_urlencoded(query: &str) -> Result<Fields, ApiError> {
    axum::extract::Query::<Fields>::try_from_uri(
        &format!("/?{query}")
            .parse()
            .map_err(|_| ApiError::bad("bad-query", "the query string cannot be read"))?,
    )
    .map(|q| q.0)
    .map_err(|e| ApiError::bad("bad-query", e.body_text()))
}

async fn read_multipart(
    request: Request,
    limit: usize,
) -> Result<(Fields, Option<Bytes>), ApiError> {
    let mut form = Multipart::from_request(request, &())
        .await
        .map_err(|e| ApiError::bad("bad-multipart", e.body_text()))?;
    let mut fields = Fields::default();
    let mut photo = None;
    while let Some(field) = form
        .next_field()
        .await
        .map_err(|e| multipart_error(e, limit))?
    {
        let name = field.name().unwrap_or("").to_owned();
        match name.as_str() {
            "photo" => photo = Some(field.bytes().await.map_err(|e| multipart_error(e, limit))?),
            "applicant_id" | "channel" | "licence_no" => {
                let text = field.text().await.map_err(|e| multipart_error(e, limit))?;
                let slot = match name.as_str() {
                    "applicant_id" => &mut fields.applicant_id,
                    "channel" => &mut fields.channel,
                    _ => &mut fields.licence_no,
                };
                *slot = Some(text);
            }
            other => {
                return Err(ApiError::bad(
                    "unknown-field",
                    format!(
                    "unknown field {other:?}; expected photo, applicant_id, channel, licence_no"
                ),
                ))
            }
        }
    }
    Ok((fields, photo))
}

fn required_text(value: Option<String>, name: &str, max: usize) -> Result<String, ApiError> {
    let value = value.map(|v| v.trim().to_owned()).unwrap_or_default();
    if value.is_empty() {
        return Err(ApiError::bad(
            "missing-field",
            format!("the `{name}` field is missing or empty"),
        ));
    }
    if value.chars().count() > max || value.chars().any(char::is_control) {
        return Err(ApiError::bad(
            "bad-field",
            format!("`{name}` must be at most {max} characters, without control characters"),
        ));
    }
    Ok(value)
}

/// `GET /v1/submissions/{id}`.
#[tracing::instrument(skip_all, fields(submission_id))]
async fn status(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = Uuid::parse_str(&id)
        .map_err(|_| ApiError::bad("bad-id", format!("{id:?} is not a submission id (a UUID)")))?;
    tracing::Span::current().record("submission_id", tracing::field::display(id));
    let sub = state
        .store
        .get(id)
        .await
        .map_err(|e| ApiError::internal("reading the submission", e))?
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::NOT_FOUND,
                "unknown-submission",
                format!("no submission {id}"),
            )
        })?;
    // A reviewer's decision, once made, is the answer; until then the engine's.
    let event = sub.reviewer_event().or_else(|| sub.engine_event());
    let (decision, reasons) = match event {
        Some(e) => (Some(e.decision), e.reasons),
        None => (None, Vec::new()),
    };
    let waiting = sub.final_decision() == Some(photocheck_types::Decision::Review);
    let mut body = json!({
        "id": sub.id,
        "status": sub.status,
        "decision": decision,
        "reasons": reasons,
        "due": if waiting { sub.due } else { None },
        "received_at": sub.received_at,
    });
    // A deadline in a year the calendar file lacks counts only weekends and fixed-date holidays.
    if let Some(due) = sub.due.filter(|_| waiting) {
        body["due_provisional"] = json!(state.review.calendar.is_provisional(sub.received_at, due));
    }
    if let Some(failure) = &sub.failure {
        body["failure"] = json!(failure);
    }
    if let Some(by) = sub.superseded_by {
        body["superseded_by"] = json!(by);
    }
    Ok(Json(body).into_response())
}

async fn openapi() -> impl IntoResponse {
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json"),
    );
    (headers, include_str!("openapi.json"))
}

async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    for (queue, depth) in state.queue.depths().await {
        state.metrics.set_depth(&queue, depth);
    }
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        crate::metrics::exposition(&state.registry),
    )
}

/// Ready when the database answers, the queue is reachable, and (embedded) the worker is taking jobs.
async fn readyz(State(state): State<AppState>) -> Response {
    let database = state.store.ping().await.is_ok();
    let queue = state.queue.is_ready().await;
    let worker = state.worker_ready.as_ref().is_none_or(|ready| ready());
    let (storage, storage_detail) = state.storage.check(&state.uploads).await;
    let body = json!({
        "database": database,
        "queue": queue,
        "worker": worker,
        "storage": storage_detail,
    });
    let status = if database && queue && worker && storage {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(body)).into_response()
}
