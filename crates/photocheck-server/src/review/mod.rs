//! The reviewer and supervisor web pages, served by the same server as the API: log in, work the
//! queue (claim, look, decide by keyboard), watch the deadlines. Every page, photo and mask needs a
//! session; supervisor pages need the supervisor role. Every action is written to the audit log.

pub mod auth;
mod charts;
mod pages;
pub mod stats;
pub mod throttle;

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query, RawForm, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use std::time::Instant;

use chrono::{DateTime, Duration, FixedOffset, Utc};
use photocheck_calendar::Calendar;
use photocheck_core::{Profile, Report};
use photocheck_store::{Account, Refused, ReviewItem, ReviewerDecision, Role};
use photocheck_types::Decision;
use serde::Deserialize;
use tracing::warn;
use uuid::Uuid;

use crate::api::AppState;
use auth::{Reviewer, Session, Supervisor};
use throttle::{Attempt, LoginThrottle, Turned};

/// What the review pages need besides the API's state.
#[derive(Debug, Clone)]
pub struct ReviewSettings {
    pub calendar: Arc<Calendar>,
    pub lease: Duration,
    pub session_ttl: Duration,
    pub profile: Arc<Profile>,
    pub secure_cookie: bool,
    pub logins: Arc<LoginThrottle>,
}

impl ReviewSettings {
    /// `listen` is the address the pages are served on: without a say in `secure_cookie`, the cookie
    /// is `Secure` unless that is a loopback address (a TLS proxy on the same machine).
    pub fn new(c: ReviewConfig, listen: &str) -> ReviewSettings {
        ReviewSettings {
            secure_cookie: c
                .secure_cookie
                .unwrap_or_else(|| !listens_on_loopback(listen)),
            logins: Arc::new(LoginThrottle::new(c.logins)),
            calendar: c.calendar,
            lease: c.lease,
            session_ttl: c.session_ttl,
            profile: c.profile,
        }
    }
}

/// What the review pages are configured with.
#[derive(Debug, Clone)]
pub struct ReviewConfig {
    /// Working days, for deadlines and the supervisor's forecast.
    pub calendar: Arc<Calendar>,
    /// How long a reviewer's claim on an item lasts.
    pub lease: Duration,
    /// How long a login lasts.
    pub session_ttl: Duration,
    /// The profile the stored reports were judged by (for the framed crop).
    pub profile: Arc<Profile>,
    /// Mark the session cookie `Secure`; `None` decides by the listening address.
    pub secure_cookie: Option<bool>,
    /// Password guessing limits.
    pub logins: throttle::LoginPolicy,
}

impl Default for ReviewConfig {
    fn default() -> ReviewConfig {
        ReviewConfig {
            calendar: Arc::new(Calendar::builtin()),
            lease: Duration::minutes(10),
            session_ttl: Duration::hours(10),
            profile: Arc::new(Profile::default_profile()),
            secure_cookie: None,
            logins: throttle::LoginPolicy::default(),
        }
    }
}

/// Whether `listen` (`host:port`) is a loopback address: only a proxy on the same machine reaches it.
fn listens_on_loopback(listen: &str) -> bool {
    let host = listen.rsplit_once(':').map_or(listen, |(h, _)| h);
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(|| async { Redirect::to("/review") }))
        .route("/login", get(login_form).post(login))
        .route("/logout", post(logout))
        .route("/review", get(queue))
        .route("/review/next", post(next))
        .route("/review/items/{id}", get(item))
        .route("/review/items/{id}/claim", post(claim))
        .route("/review/items/{id}/photo", get(photo))
        .route("/review/items/{id}/mask.png", get(mask))
        .route("/review/items/{id}/framed.jpg", get(framed))
        .route("/review/items/{id}/decision", post(decide))
        .route("/review/items/{id}/skip", post(skip))
        .route(
            "/review/assets/review.css",
            get(|| async { asset("text/css", pages::CSS) }),
        )
        .route(
            "/review/assets/review.js",
            get(|| async { asset("text/javascript", pages::JS) }),
        )
        .route("/supervisor", get(supervisor))
        .route("/supervisor/audit", get(audit_log))
        .layer(axum::middleware::from_fn(same_origin_writes))
        .layer(axum::middleware::map_response(private))
}

/// A form posted from another origin (another site, or another port of this host, which
/// `SameSite=Strict` does not tell apart) is refused: a browser names the page a POST comes from in
/// `Origin`, and a page elsewhere cannot forge it. Scripts and tools without a browser send no
/// `Origin` and carry no reviewer's cookie to abuse, so they pass to the session check. A proxy in
/// front may rewrite `Host`; it says the public one in `X-Forwarded-Host`, which a form cannot set.
async fn same_origin_writes(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let method = request.method();
    if method == axum::http::Method::GET || method == axum::http::Method::HEAD {
        return next.run(request).await;
    }
    let headers = request.headers();
    let Some(origin) = headers.get(header::ORIGIN) else {
        return next.run(request).await;
    };
    let origin_host = origin
        .to_str()
        .ok()
        .and_then(|o| o.split_once("://"))
        .map(|(_, host)| host.to_ascii_lowercase());
    let ours = [header::HOST.as_str(), "x-forwarded-host"]
        .into_iter()
        .filter_map(|h| headers.get(h)?.to_str().ok())
        .any(|h| Some(h.trim().to_ascii_lowercase()) == origin_host);
    if ours {
        return next.run(request).await;
    }
    warn!(origin = ?origin, path = %request.uri().path(), "cross-origin form refused");
    PageError(
        StatusCode::FORBIDDEN,
        "请求被拒绝",
        "此操作只能从本系统的页面提交。(Forms are accepted from this site's pages only.)".into(),
    )
    .into_response()
}

/// Personal data is never cached, framed, or mixed with outside scripts.
async fn private(mut response: Response) -> Response {
    let h = response.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'self'; frame-ancestors 'none'; form-action 'self'"),
    );
    // Nothing of a review URL leaves the site; within it, a form's POST carries its true `Origin`
    // (under `no-referrer` browsers send `Origin: null`, which the same-origin check must refuse).
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    response
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    ([(header::CONTENT_TYPE, content_type)], body).into_response()
}

/// An error shown as a page.
pub struct PageError(StatusCode, &'static str, String);

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        (self.0, pages::message_page(self.1, &self.2)).into_response()
    }
}

fn unavailable(e: impl std::fmt::Display) -> PageError {
    warn!(error = %e, "review page failed");
    PageError(
        StatusCode::SERVICE_UNAVAILABLE,
        "暂不可用",
        "数据库或存储暂不可用，请稍后再试。".into(),
    )
}

fn not_found() -> PageError {
    PageError(
        StatusCode::NOT_FOUND,
        "未找到",
        "审核队列中没有此项。".into(),
    )
}

fn zone(state: &AppState, now: DateTime<Utc>) -> FixedOffset {
    state.review.calendar.offset_at(now)
}

fn page(markup: maud::Markup) -> Response {
    Html(markup.into_string()).into_response()
}

#[derive(Deserialize)]
struct LoginQuery {
    next: Option<String>,
}

async fn login_form(State(state): State<AppState>, Query(q): Query<LoginQuery>) -> Response {
    login_page(&state, StatusCode::OK, None, &safe_next(q.next.as_deref()))
}

/// The login form with a fresh CSRF token, and the cookie that carries its twin.
fn login_page(state: &AppState, status: StatusCode, error: Option<&str>, next: &str) -> Response {
    let (token, cookie) = auth::new_login_token(state.review.secure_cookie);
    let mut r = page(pages::login_page(error, next, &token));
    *r.status_mut() = status;
    if let Ok(cookie) = HeaderValue::from_str(&cookie) {
        r.headers_mut().insert(header::SET_COOKIE, cookie);
    }
    r
}

/// The fields of a posted form, in order (repeated names kept).
fn form_fields(body: &[u8]) -> Result<Vec<(String, String)>, PageError> {
    serde_urlencoded::from_bytes(body)
        .map_err(|_| PageError(StatusCode::BAD_REQUEST, "无法提交", "表单无法读取。".into()))
}

/// A state-changing form without this session's CSRF token: forged elsewhere, or from a page
/// older than the session (then reloading the page gives it the current token).
fn forged() -> PageError {
    warn!("form without its session's CSRF token refused");
    PageError(
        StatusCode::FORBIDDEN,
        "请求被拒绝",
        "表单已过期或并非来自本系统的页面，请刷新页面后重试。(The form is stale or was not sent from this site.)".into(),
    )
}

/// The posted form, if it carries the session's CSRF token.
fn our_form(me: &Session, body: &[u8]) -> Result<Vec<(String, String)>, PageError> {
    let fields = form_fields(body)?;
    if me.form_is_ours(&fields) {
        Ok(fields)
    } else {
        Err(forged())
    }
}

/// Only a path on this site: a login link cannot send the reviewer elsewhere, nor put control
/// characters (a header split) or kilobytes into the `Location` it ends in.
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n)
            if n.starts_with('/')
                && !n.starts_with("//")
                && !n.contains('\\')
                && n.len() <= MAX_NEXT_BYTES
                && !n.chars().any(char::is_control) =>
        {
            n.to_owned()
        }
        _ => "/review".to_owned(),
    }
}

/// Longest account name, characters: longer ones are refused before anything is looked up, hashed
/// or written to the audit log.
const MAX_NAME_CHARS: usize = 64;
/// Longest password, bytes: argon2 hashes any length, and a flood of long ones would be its cost.
const MAX_PASSWORD_BYTES: usize = 1024;
/// Longest `next=` path kept, bytes.
const MAX_NEXT_BYTES: usize = 2048;
/// Longest reviewer note, characters.
const MAX_NOTE_CHARS: usize = 2000;

#[derive(Deserialize)]
struct LoginForm {
    name: String,
    password: String,
    next: Option<String>,
}

async fn login(
    State(state): State<AppState>,
    auth::Peer(peer): auth::Peer,
    headers: axum::http::HeaderMap,
    RawForm(body): RawForm,
) -> Result<Response, PageError> {
    let bad_form = || {
        PageError(
            StatusCode::BAD_REQUEST,
            "登录",
            "请填写用户名和密码。".into(),
        )
    };
    let fields = form_fields(&body).map_err(|_| bad_form())?;
    let form: LoginForm = serde_urlencoded::from_bytes(&body).map_err(|_| bad_form())?;
    if !auth::login_token_matches(&headers, &fields) {
        return Ok(login_page(
            &state,
            StatusCode::FORBIDDEN,
            Some("登录页面已过期，请重新登录。"),
            &safe_next(form.next.as_deref()),
        ));
    }
    if form.name.trim().chars().count() > MAX_NAME_CHARS || form.password.len() > MAX_PASSWORD_BYTES
    {
        return Err(PageError(
            StatusCode::BAD_REQUEST,
            "登录",
            format!("用户名最多 {MAX_NAME_CHARS} 个字符，密码最多 {MAX_PASSWORD_BYTES} 字节。"),
        ));
    }
    let next = safe_next(form.next.as_deref());
    let logins = &state.review.logins;
    let attempt = Attempt::new(form.name.trim(), peer);
    // Turned away before anything is looked up, hashed or written to the audit log.
    if let Err(turned) = logins.admit(&attempt, Instant::now()) {
        return Ok(turned_away(&state, turned, &next));
    }
    let slot = match logins.hashing_slot().await {
        Ok(slot) => slot,
        Err(turned) => return Ok(turned_away(&state, turned, &next)),
    };
    let account = state
        .store
        .account(form.name.trim())
        .await
        .map_err(unavailable)?;
    let hash = account.as_ref().map_or_else(
        || auth::decoy_hash().to_owned(),
        |a| a.password_hash.clone(),
    );
    let password = form.password;
    let ok = logins
        .hash(slot, move || auth::verify_password(&password, &hash))
        .await
        .unwrap_or(false);
    let subject = format!("account {}", form.name.trim());
    let Some(account) = account.filter(|_| ok) else {
        logins.failed(&attempt, Instant::now());
        let _ = state
            .store
            .audit(form.name.trim(), "login.failed", &subject, None, None)
            .await;
        return Ok(login_page(
            &state,
            StatusCode::UNAUTHORIZED,
            Some("用户名或密码错误。"),
            &next,
        ));
    };
    logins.succeeded(&attempt);
    let (token, hash) = auth::new_token();
    let ttl = state.review.session_ttl;
    state
        .store
        .create_session(&hash, &account.name, Utc::now() + ttl)
        .await
        .map_err(unavailable)?;
    state
        .store
        .audit(&account.name, "login", &subject, None, None)
        .await
        .map_err(unavailable)?;
    Ok((
        [(
            header::SET_COOKIE,
            auth::session_cookie(&token, ttl.num_seconds(), state.review.secure_cookie),
        )],
        Redirect::to(&next),
    )
        .into_response())
}

/// 429 with `Retry-After`: the login form again, saying how long to wait.
fn turned_away(state: &AppState, turned: Turned, next: &str) -> Response {
    state.metrics.logins_turned_away.inc();
    let secs = turned.retry_after_secs();
    let message = match turned {
        Turned::Locked(_) => format!("登录失败次数过多，请 {secs} 秒后再试。"),
        Turned::Busy => "登录人数过多，请稍后再试。".to_owned(),
    };
    let mut r = login_page(state, StatusCode::TOO_MANY_REQUESTS, Some(&message), next);
    r.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    r
}

async fn logout(
    State(state): State<AppState>,
    headers: axum::http::HeaderMap,
    RawForm(body): RawForm,
) -> Result<Response, PageError> {
    if let Some(token) = auth::cookie_token(&headers) {
        // Another site must not be able to sign a reviewer out in the middle of her work.
        if !auth::form_carries(&auth::csrf_token(&token), &form_fields(&body)?) {
            return Err(forged());
        }
        let hash = auth::token_hash(&token);
        if let Ok(Some(account)) = state.store.session_account(&hash, Utc::now()).await {
            let _ = state
                .store
                .audit(
                    &account.name,
                    "logout",
                    &format!("account {}", account.name),
                    None,
                    None,
                )
                .await;
        }
        let _ = state.store.end_session(&hash).await;
    }
    Ok((
        [(header::SET_COOKIE, auth::cleared_cookie())],
        Redirect::to("/login"),
    )
        .into_response())
}

#[derive(Deserialize)]
struct QueueQuery {
    notice: Option<String>,
    /// Filters: a rule the engine gave a reason under (`eyes_open`), and a channel (`camera`,
    /// `album`, `stored`); empty is all.
    rule: Option<String>,
    channel: Option<String>,
}

async fn queue(
    State(state): State<AppState>,
    Reviewer(me): Reviewer,
    Query(q): Query<QueueQuery>,
) -> Result<Response, PageError> {
    let items = state.store.open_reviews(1000).await.map_err(unavailable)?;
    let now = Utc::now();
    let notice = match q.notice.as_deref() {
        Some("empty") => Some("没有可领取的项目。"),
        Some("decided") => Some("已保存。队列中没有更多可领取的项目。"),
        _ => None,
    };
    let refused = |what: String| PageError(StatusCode::BAD_REQUEST, "无法筛选", what);
    let filter = pages::QueueFilter {
        rule: match q.rule.as_deref() {
            None | Some("") => None,
            Some(name) => Some(
                photocheck_types::RuleId::ALL
                    .into_iter()
                    .find(|r| r.as_str() == name)
                    .ok_or_else(|| refused(format!("未知的检查项：{name}")))?,
            ),
        },
        channel: match q.channel.as_deref() {
            None | Some("") => None,
            Some(c) => Some(c.parse().map_err(|_| refused(format!("未知的渠道：{c}")))?),
        },
    };
    Ok(page(pages::queue_page(
        &me,
        &items,
        &filter,
        now,
        zone(&state, now),
        notice,
    )))
}

/// Claims the next item and opens it.
async fn next(
    State(state): State<AppState>,
    Reviewer(me): Reviewer,
    RawForm(body): RawForm,
) -> Result<Response, PageError> {
    our_form(&me, &body)?;
    claim_and_open(&state, &me, None, "empty").await
}

/// Claims one item (opened from the queue) and shows it again, now with the decision form.
async fn claim(
    State(state): State<AppState>,
    Reviewer(me): Reviewer,
    Path(id): Path<String>,
    RawForm(body): RawForm,
) -> Result<Response, PageError> {
    our_form(&me, &body)?;
    let id = parse_id(&id)?;
    let now = Utc::now();
    let before = state
        .store
        .review_item(id)
        .await
        .map_err(unavailable)?
        .ok_or_else(not_found)?;
    match state
        .store
        .claim(id, &me.name, now + state.review.lease, now)
        .await
        .map_err(unavailable)?
    {
        Ok(item) => {
            if before.claimed_by.as_deref() != Some(me.name.as_str()) {
                audit_claim(&state, &me, &item).await;
            }
            Ok(Redirect::to(&format!("/review/items/{id}")).into_response())
        }
        Err(refused) => Err(PageError(
            StatusCode::CONFLICT,
            "未领取",
            format!("未领取：{}", refused_zh(&refused)),
        )),
    }
}

async fn claim_and_open(
    state: &AppState,
    me: &Account,
    except: Option<Uuid>,
    empty_notice: &str,
) -> Result<Response, PageError> {
    let now = Utc::now();
    let claimed = state
        .store
        .claim_next(&me.name, now + state.review.lease, now, except)
        .await
        .map_err(unavailable)?;
    match claimed {
        Some(item) => {
            audit_claim(state, me, &item).await;
            Ok(Redirect::to(&format!("/review/items/{}", item.submission_id)).into_response())
        }
        None => Ok(Redirect::to(&format!("/review?notice={empty_notice}")).into_response()),
    }
}

async fn audit_claim(state: &AppState, me: &Account, item: &ReviewItem) {
    let _ = state
        .store
        .audit(
            &me.name,
            "review.claim",
            &format!("submission {}", item.submission_id),
            None,
            Some(&serde_json::json!({ "lease_until": item.lease_until })),
        )
        .await;
}

/// Why a claim or decision was refused, in the reviewers' language.
fn refused_zh(refused: &Refused) -> String {
    match refused {
        Refused::NotInQueue => "此项不在审核队列中。".to_owned(),
        Refused::AlreadyDecided(who) => format!("此项已由 {who} 审核。"),
        Refused::HeldBy(who) => format!("{who} 正在处理此项。"),
        Refused::NotClaimed => "你对此项的领取已过期或尚未领取，请重新打开并领取。".to_owned(),
    }
}

fn parse_id(id: &str) -> Result<Uuid, PageError> {
    Uuid::parse_str(id).map_err(|_| not_found())
}

async fn item(
    State(state): State<AppState>,
    Reviewer(me): Reviewer,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    // Looking changes nothing: a claim is a POST (the page's claim button, or N for the next item).
    let id = parse_id(&id)?;
    let now = Utc::now();
    let item = state
        .store
        .review_item(id)
        .await
        .map_err(unavailable)?
        .ok_or_else(not_found)?;
    let held_by = item.held_by_other(&me.name, now).map(str::to_owned);
    let mine = item.reviewed.is_none()
        && item.claimed_by.as_deref() == Some(me.name.as_str())
        && item.lease_until.is_some_and(|until| until > now);
    let notice = held_by.map(|who| format!("{who} 正在处理此项。"));
    let submission = state
        .store
        .get(id)
        .await
        .map_err(unavailable)?
        .ok_or_else(not_found)?;
    let report: Option<Report> = submission
        .result
        .as_ref()
        .and_then(|r| r.report.parse().ok());
    let history: Vec<_> = state
        .store
        .applicant_submissions(&submission.applicant_id, 20)
        .await
        .map_err(unavailable)?
        .into_iter()
        .filter(|s| s.id != id)
        .collect();
    let profile = &state.review.profile;
    Ok(page(pages::item_page(&pages::ItemView {
        session: &me,
        item: &item,
        submission: &submission,
        report: report.as_ref(),
        history: &history,
        mine,
        notice: notice.as_deref(),
        now,
        zone: zone(&state, now),
        due_provisional: state
            .review
            .calendar
            .is_provisional(item.received_at, item.due_at),
        head_mm: (
            profile.rules.head_length.min.unwrap_or(19.0),
            profile.rules.head_length.max.unwrap_or(22.0),
        ),
    })))
}

/// The submission `id` names, if `me` may see its photos: a reviewer those in the review queue, a
/// supervisor any.
async fn viewable(state: &AppState, me: &Account, id: &str) -> Result<Uuid, PageError> {
    let id = parse_id(id)?;
    if me.role != Role::Supervisor
        && state
            .store
            .review_item(id)
            .await
            .map_err(unavailable)?
            .is_none()
    {
        return Err(not_found());
    }
    Ok(id)
}

/// The stored photo of a review item (supervisors: of any submission).
async fn photo_bytes(state: &AppState, me: &Account, id: &str) -> Result<Bytes, PageError> {
    let id = viewable(state, me, id).await?;
    let sub = state
        .store
        .get(id)
        .await
        .map_err(unavailable)?
        .ok_or_else(not_found)?;
    let bytes = state
        .uploads
        .get(&sub.blob_key)
        .await
        .map_err(unavailable)?;
    Ok(Bytes::from(bytes))
}

async fn photo(
    State(state): State<AppState>,
    Reviewer(me): Reviewer,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let bytes = photo_bytes(&state, &me, &id).await?;
    let content_type = match photocheck_core::intake::sniff(&bytes) {
        Ok(photocheck_core::Format::Jpeg) => "image/jpeg",
        Ok(photocheck_core::Format::Png) => "image/png",
        Ok(photocheck_core::Format::Webp) => "image/webp",
        Err(_) => "application/octet-stream",
    };
    Ok(([(header::CONTENT_TYPE, content_type)], bytes).into_response())
}

/// The photo the engine judged, at archive size: the crop framing cut from the upload (what an
/// approval archives), or the upload itself.
async fn framed(
    State(state): State<AppState>,
    Reviewer(me): Reviewer,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let bytes = photo_bytes(&state, &me, &id).await?;
    // The crop the worker decided on, from its stored report: the engine does not run again here.
    let report: Option<Report> = state
        .store
        .get(parse_id(&id)?)
        .await
        .map_err(unavailable)?
        .and_then(|s| s.result)
        .and_then(|r| r.report.parse().ok());
    let profile = Arc::clone(&state.review.profile);
    let jpeg = tokio::task::spawn_blocking(move || {
        let image = photocheck_core::judged_photo(&bytes, report.as_ref()?, &profile)?.ok()?;
        photocheck_core::archive::from_image(&image, &profile)
            .ok()
            .map(|copy| copy.jpeg)
    })
    .await
    .map_err(unavailable)?;
    match jpeg {
        Some(jpeg) => Ok(([(header::CONTENT_TYPE, "image/jpeg")], jpeg).into_response()),
        None => Err(PageError(
            StatusCode::NOT_FOUND,
            "无裁剪照片",
            "无法从此照片生成存档尺寸的照片。".into(),
        )),
    }
}

/// What the engine took for background, as a transparent PNG to lay over the photo: the layer the
/// worker stored when it decided. The engine never runs here: a page view costs a file read.
async fn mask(
    State(state): State<AppState>,
    Reviewer(me): Reviewer,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let uuid = viewable(&state, &me, &id).await?;
    match state
        .overlays
        .get(&photocheck_store::archive_key(uuid))
        .await
    {
        Ok(png) => Ok(([(header::CONTENT_TYPE, "image/png")], png).into_response()),
        Err(photocheck_store::BlobError::NotFound(_)) => Err(PageError(
            StatusCode::NOT_FOUND,
            "无背景图层",
            "引擎未能分割此照片，或此照片在保存图层之前已判定。".into(),
        )),
        Err(e) => Err(unavailable(e)),
    }
}

async fn skip(
    State(state): State<AppState>,
    Reviewer(me): Reviewer,
    Path(id): Path<String>,
    RawForm(body): RawForm,
) -> Result<Response, PageError> {
    our_form(&me, &body)?;
    let id = parse_id(&id)?;
    state
        .store
        .release(id, &me.name)
        .await
        .map_err(unavailable)?;
    let _ = state
        .store
        .audit(
            &me.name,
            "review.skip",
            &format!("submission {id}"),
            None,
            None,
        )
        .await;
    claim_and_open(&state, &me, Some(id), "empty").await
}

/// A reviewer's decision: `decision` (approve or reject), `reason` (repeated codes), `note`.
#[tracing::instrument(skip_all, fields(submission_id, reviewer = %me.name))]
async fn decide(
    State(state): State<AppState>,
    Reviewer(me): Reviewer,
    Path(id): Path<String>,
    RawForm(body): RawForm,
) -> Result<Response, PageError> {
    let fields = our_form(&me, &body)?;
    let id = parse_id(&id)?;
    tracing::Span::current().record("submission_id", tracing::field::display(id));
    let bad = |text: &str| PageError(StatusCode::BAD_REQUEST, "无法提交", text.to_owned());
    let mut decision = None;
    let mut reasons = Vec::new();
    let mut note = None;
    for (k, v) in fields {
        match k.as_str() {
            "decision" if !v.is_empty() => decision = Some(v),
            "reason" => match photocheck_types::reviewer::by_code(&v) {
                Some(r) => reasons.push(r.code.to_owned()),
                None => return Err(bad(&format!("未知的退回原因：{v}"))),
            },
            "note" if v.trim().chars().count() > MAX_NOTE_CHARS => {
                return Err(bad(&format!("备注最多 {MAX_NOTE_CHARS} 个字符。")));
            }
            "note" if !v.trim().is_empty() => note = Some(v.trim().to_owned()),
            _ => {}
        }
    }
    let decision = match decision.as_deref().and_then(Decision::parse) {
        Some(Decision::Approve) if reasons.is_empty() => Decision::Approve,
        Some(Decision::Approve) => {
            return Err(bad("通过时不能选择退回原因；请取消所选原因后再通过。"))
        }
        Some(Decision::Reject) if !reasons.is_empty() => Decision::Reject,
        Some(Decision::Reject) => return Err(bad("退回时请至少选择一个原因。")),
        _ => return Err(bad("请选择通过或退回。")),
    };
    let verdict = ReviewerDecision {
        decision,
        reasons,
        note,
        decided_by: me.name.clone(),
        decided_at: Utc::now(),
    };
    match state
        .store
        .decide_review(id, &verdict)
        .await
        .map_err(unavailable)?
    {
        Ok(()) => {}
        Err(refused) => {
            return Err(PageError(
                StatusCode::CONFLICT,
                "未保存",
                format!("未保存：{}", refused_zh(&refused)),
            ))
        }
    }
    if let Err(e) = send_review_event(&state, id).await {
        // Committed already; the sweeper sends it once the broker is back.
        warn!(%id, error = %e, "review event not sent yet; the sweeper will retry");
    }
    claim_and_open(&state, &me, None, "decided").await
}

async fn send_review_event(state: &AppState, id: Uuid) -> anyhow::Result<()> {
    publish_review_event(&state.store, &state.queue, id).await
}

/// Publishes the result event of a reviewer's decision, in the engine's form, and notes it sent.
pub async fn publish_review_event(
    store: &photocheck_store::Store,
    queue: &photocheck_queue::Queue,
    id: Uuid,
) -> anyhow::Result<()> {
    let sub = store
        .get(id)
        .await?
        .ok_or_else(|| anyhow::anyhow!("no submission {id}"))?;
    let Some(event) = sub.reviewer_event() else {
        anyhow::bail!("submission {id} has no reviewer decision");
    };
    queue.publish_event(&event).await?;
    store.mark_review_event_sent(id).await?;
    Ok(())
}

/// Days of intake and decisions the supervisor's charts show.
pub const ACTIVITY_DAYS: i64 = 7;

/// How long before the calendar file's last day the supervisor page warns.
const CALENDAR_WARNING_DAYS: i64 = 60;

async fn supervisor(
    State(state): State<AppState>,
    Supervisor(me): Supervisor,
) -> Result<Response, PageError> {
    let now = Utc::now();
    let open = state
        .store
        .open_reviews(100_000)
        .await
        .map_err(unavailable)?;
    let decided = state
        .store
        .decided_reviews(now - Duration::days(7))
        .await
        .map_err(unavailable)?;
    let zone = zone(&state, now);
    let mut s = stats::compute(&open, &decided, now, &state.review.calendar);
    s.activity = state
        .store
        .hourly_activity(now - Duration::days(ACTIVITY_DAYS))
        .await
        .map_err(unavailable)?;
    // From 60 days before the calendar file runs out, the supervisor is told to add the next year.
    let calendar_ends = state.review.calendar.last_covered_day().filter(|end| {
        (now + Duration::days(CALENDAR_WARNING_DAYS))
            .with_timezone(&zone)
            .date_naive()
            > *end
    });
    Ok(page(pages::supervisor_page(
        &me,
        &s,
        now,
        zone,
        calendar_ends,
    )))
}

async fn audit_log(
    State(state): State<AppState>,
    Supervisor(me): Supervisor,
) -> Result<Response, PageError> {
    let entries = state.store.audit_log(500).await.map_err(unavailable)?;
    let now = Utc::now();
    Ok(page(pages::audit_page(&me, &entries, zone(&state, now))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_read_in_chinese_around_the_name() {
        for refused in [
            Refused::NotInQueue,
            Refused::AlreadyDecided("wang.fang".into()),
            Refused::HeldBy("wang.fang".into()),
            Refused::NotClaimed,
        ] {
            let text = refused_zh(&refused).replace("wang.fang", "");
            assert!(
                !text.chars().any(|c| c.is_ascii_alphabetic()),
                "{refused:?}: {text}"
            );
        }
    }
}
