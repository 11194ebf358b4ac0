//! Who may see what: every review page, photo and action refuses a request with no session, a forged
//! or expired one, or the wrong role; a reviewer and a supervisor get through where they should.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{header, Request, StatusCode};
use axum::response::Response;
use chrono::{Duration, Utc};
use photocheck_server::api::{router, AppState};
use photocheck_server::review::auth::{csrf_token, hash_password, session_cookie, token_hash};
use photocheck_server::review::throttle::LoginPolicy;
use photocheck_server::review::{ReviewConfig, ReviewSettings};
use photocheck_store::{Account, Channel, NewSubmission, ReviewDue, Role};
use tower::ServiceExt;

use crate::api::{api, Api};

async fn call(
    api: &Api,
    method: &str,
    path: &str,
    cookie: Option<&str>,
    accept: &str,
    body: &str,
) -> (StatusCode, Reply) {
    let mut request = Request::builder()
        .method(method)
        .uri(path)
        .header(header::ACCEPT, accept)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    if let Some(c) = cookie {
        request = request.header(header::COOKIE, c);
    }
    let response = router(api.state.clone())
        .oneshot(request.body(Body::from(body.to_owned())).expect("request"))
        .await
        .expect("response");
    let location = response
        .headers()
        .get(header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let cookie = response
        .headers()
        .get(header::SET_COOKIE)
        .and_then(|v| v.to_str().ok())
        .and_then(|c| c.split(';').next())
        .map(str::to_owned);
    let nosniff = response
        .headers()
        .get(header::X_CONTENT_TYPE_OPTIONS)
        .is_some_and(|v| v == "nosniff");
    (
        response.status(),
        Reply {
            location,
            cookie,
            nosniff,
        },
    )
}

struct Reply {
    location: Option<String>,
    cookie: Option<String>,
    /// `X-Content-Type-Options: nosniff` was sent.
    nosniff: bool,
}

impl Reply {
    fn to_login(&self) -> bool {
        self.location
            .as_deref()
            .is_some_and(|l| l.starts_with("/login"))
    }
}

/// The login form's CSRF pair: its cookie and the field that must echo it.
const LOGIN_PAIR: (&str, &str) = ("photocheck_login=t0ken", "_csrf=t0ken");

async fn login(api: &Api, name: &str, password: &str) -> (StatusCode, Reply) {
    call(
        api,
        "POST",
        "/login",
        Some(LOGIN_PAIR.0),
        "text/html",
        &format!(
            "name={name}&password={password}&next=%2Freview&{}",
            LOGIN_PAIR.1
        ),
    )
    .await
}

/// The CSRF field of the session in `cookie` (`photocheck_session=…`), as a form body.
fn csrf_of(cookie: &str) -> String {
    let token = cookie.split_once('=').map_or("", |(_, t)| t);
    format!("_csrf={}", csrf_token(token))
}

fn cookie_of(reply: Reply) -> String {
    reply.cookie.expect("a session cookie")
}

/// Let through: a page, a redirect elsewhere than the login, or an answer about the request itself
/// (an empty decision form is 400, a blank photo has no background mask, 404, an item the other
/// account holds cannot be claimed, 409).
fn allowed(status: StatusCode, reply: &Reply) -> bool {
    match status {
        StatusCode::OK | StatusCode::BAD_REQUEST | StatusCode::NOT_FOUND | StatusCode::CONFLICT => {
            true
        }
        StatusCode::SEE_OTHER => !reply.to_login(),
        _ => false,
    }
}

#[tokio::test]
async fn every_review_route_refuses_strangers_and_the_wrong_role() {
    let api = api().await;
    let store = &api.state.store;
    for (name, role) in [("anna", Role::Reviewer), ("sam", Role::Supervisor)] {
        store
            .put_account(
                &Account {
                    name: name.into(),
                    role,
                    password_hash: hash_password("a-long-password").expect("hash"),
                },
                "test",
            )
            .await
            .expect("account");
    }
    let id = queued_item(&api).await;

    let (status, reply) = login(&api, "anna", "wrong-password").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(
        !reply
            .cookie
            .is_some_and(|c| c.starts_with("photocheck_session")),
        "no session for a wrong password"
    );
    let (status, _) = login(&api, "nobody", "a-long-password").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, reply) = login(&api, "anna", "a-long-password").await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(reply.location.as_deref(), Some("/review"));
    let reviewer = cookie_of(reply);
    let supervisor = cookie_of(login(&api, "sam", "a-long-password").await.1);
    // A session that ran out.
    store
        .create_session(
            &token_hash("stale"),
            "sam",
            Utc::now() - Duration::minutes(1),
        )
        .await
        .expect("session");
    let expired = session_cookie("stale", 60, false);
    let expired = expired.split(';').next().expect("cookie").to_owned();

    let routes: [(&str, String, bool); 11] = [
        ("GET", "/review".into(), false),
        ("POST", "/review/next".into(), false),
        ("GET", format!("/review/items/{id}"), false),
        ("POST", format!("/review/items/{id}/claim"), false),
        ("GET", format!("/review/items/{id}/photo"), false),
        ("GET", format!("/review/items/{id}/mask.png"), false),
        ("GET", format!("/review/items/{id}/framed.jpg"), false),
        ("POST", format!("/review/items/{id}/skip"), false),
        ("POST", format!("/review/items/{id}/decision"), false),
        ("GET", "/supervisor".into(), true),
        ("GET", "/supervisor/audit".into(), true),
    ];
    for (method, path, supervisors_only) in &routes {
        for cookie in [
            None,
            Some("photocheck_session=forged"),
            Some(expired.as_str()),
        ] {
            let (status, reply) = call(&api, method, path, cookie, "text/html", "").await;
            assert_eq!(
                status,
                StatusCode::SEE_OTHER,
                "{method} {path} with {cookie:?}"
            );
            assert!(
                reply
                    .location
                    .as_deref()
                    .is_some_and(|l| l.starts_with("/login?next=")),
                "{path}: {:?}",
                reply.location
            );
            let (status, _) = call(&api, method, path, cookie, "image/avif,image/*", "").await;
            assert_eq!(
                status,
                StatusCode::UNAUTHORIZED,
                "{method} {path} as an image, with {cookie:?}"
            );
        }
        let (status, reply) = call(
            &api,
            method,
            path,
            Some(&reviewer),
            "text/html",
            &csrf_of(&reviewer),
        )
        .await;
        if *supervisors_only {
            assert_eq!(status, StatusCode::FORBIDDEN, "reviewer at {path}");
        } else {
            assert!(
                allowed(status, &reply),
                "reviewer at {path}: {status} {:?}",
                reply.location
            );
        }
        let (status, reply) = call(
            &api,
            method,
            path,
            Some(&supervisor),
            "text/html",
            &csrf_of(&supervisor),
        )
        .await;
        assert!(
            allowed(status, &reply),
            "supervisor at {path}: {status} {:?}",
            reply.location
        );
    }
    // The photo itself, signed in.
    let (status, _) = call(
        &api,
        "GET",
        &format!("/review/items/{id}/photo"),
        Some(&reviewer),
        "image/*",
        "",
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    // Logged out: the same cookie opens nothing.
    let (status, _) = call(
        &api,
        "POST",
        "/logout",
        Some(&reviewer),
        "text/html",
        &csrf_of(&reviewer),
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (status, reply) = call(&api, "GET", "/review", Some(&reviewer), "text/html", "").await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(reply.to_login());
    let actions: Vec<String> = store
        .audit_log(50)
        .await
        .expect("audit")
        .into_iter()
        .map(|e| e.action)
        .collect();
    for a in ["login.failed", "login", "logout", "review.claim"] {
        assert!(actions.iter().any(|x| x == a), "{a} in {actions:?}");
    }

    // Oversized fields are refused before anything is looked up, hashed or logged.
    let logged = store.audit_log(500).await.expect("audit").len();
    let huge_name = "x".repeat(10_000);
    let (status, _) = login(&api, &huge_name, "a-long-password").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = login(&api, "anna", &"p".repeat(100_000)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        store.audit_log(500).await.expect("audit").len(),
        logged,
        "nothing written for an oversized login"
    );
    // A next= with a header split or another site falls back to the queue.
    let (_, reply) = call(
        &api,
        "POST",
        "/login",
        Some(LOGIN_PAIR.0),
        "text/html",
        &format!(
            "name=anna&password=a-long-password&next=%2Freview%0D%0ASet-Cookie%3A+x%3D1&{}",
            LOGIN_PAIR.1
        ),
    )
    .await;
    assert_eq!(reply.location.as_deref(), Some("/review"));
    assert!(reply.nosniff, "X-Content-Type-Options on every answer");
    let (status, reply) = call(&api, "GET", "/no/such/route", None, "application/json", "").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(reply.nosniff, "X-Content-Type-Options on errors too");
}

/// A blank photo the engine sent to review, due in a day.
async fn queued_item(api: &Api) -> uuid::Uuid {
    let store = &api.state.store;
    let photo = photocheck_synth::jpeg(&image::RgbImage::from_pixel(
        260,
        378,
        image::Rgb([250, 250, 250]),
    ))
    .expect("jpeg");
    let blob_key = api.state.uploads.put(&photo).await.expect("blob");
    let id = store
        .insert_submission(&NewSubmission {
            applicant_id: "ACCESS-1".into(),
            licence_no: None,
            channel: Channel::Camera,
            blob_key,
            received_at: Utc::now(),
        })
        .await
        .expect("insert")
        .id;
    store
        .record_decision(
            id,
            &photocheck_store::EngineDecision {
                decision: photocheck_store::Decision::Review,
                reasons: Vec::new(),
                report: photocheck_store::StoredReport::of(&serde_json::json!({})).expect("report"),
                decided_at: Utc::now(),
            },
            Some(ReviewDue {
                due: Utc::now() + Duration::hours(24),
                audit: false,
            }),
        )
        .await
        .expect("record");
    id
}

/// The reviewer anna, password "a-long-password".
async fn add_anna(store: &photocheck_store::Store) {
    store
        .put_account(
            &Account {
                name: "anna".into(),
                role: Role::Reviewer,
                password_hash: hash_password("a-long-password").expect("hash"),
            },
            "test",
        )
        .await
        .expect("account");
}

/// A wrong-login call from `from`.
async fn login_from(state: &AppState, from: [u8; 4], name: &str, password: &str) -> Response {
    let mut request = Request::post("/login")
        .header(header::ACCEPT, "text/html")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::COOKIE, LOGIN_PAIR.0)
        .body(Body::from(format!(
            "name={name}&password={password}&{}",
            LOGIN_PAIR.1
        )))
        .expect("request");
    request
        .extensions_mut()
        .insert(ConnectInfo(SocketAddr::from((from, 40000))));
    router(state.clone())
        .oneshot(request)
        .await
        .expect("response")
}

#[tokio::test]
async fn password_guessing_is_locked_out_and_a_flood_waits_in_a_short_line() {
    let api = api().await;
    let config = ReviewConfig {
        logins: LoginPolicy {
            hashing_slots: 2,
            hashing_queue: 4,
            ..LoginPolicy::default()
        },
        ..ReviewConfig::default()
    };
    let mut state = api.state.clone();
    state.review = Arc::new(ReviewSettings::new(config, "127.0.0.1:8080"));
    let store = &state.store;
    add_anna(store).await;

    // Five typos from one address are free; the sixth locks the pair, and then even the right
    // password is turned away with a wait, before anything is hashed or logged.
    for _ in 0..6 {
        let r = login_from(&state, [10, 0, 0, 1], "anna", "guess").await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    }
    let logged = store.audit_log(500).await.expect("audit").len();
    let r = login_from(&state, [10, 0, 0, 1], "anna", "a-long-password").await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = r.headers()[header::RETRY_AFTER]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("seconds");
    assert!((1..=2).contains(&retry), "first lock 2 s, got {retry}");
    assert_eq!(store.audit_log(500).await.expect("audit").len(), logged);
    // The reviewer at her own desk is not affected.
    let r = login_from(&state, [10, 0, 0, 2], "anna", "a-long-password").await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);

    // 48 guesses at once from 48 addresses: two hash, four wait, the rest are told to come back;
    // none fails otherwise, and the reviewer gets in right after.
    let mut flood = tokio::task::JoinSet::new();
    for i in 0..48u8 {
        let state = state.clone();
        flood.spawn(async move {
            login_from(&state, [10, 1, 0, i], &format!("user{i}"), "guess")
                .await
                .status()
        });
    }
    let statuses = flood.join_all().await;
    let busy = statuses
        .iter()
        .filter(|s| **s == StatusCode::TOO_MANY_REQUESTS)
        .count();
    let checked = statuses
        .iter()
        .filter(|s| **s == StatusCode::UNAUTHORIZED)
        .count();
    assert_eq!(busy + checked, 48, "{statuses:?}");
    assert!(
        checked >= 6 && busy > 0,
        "checked {checked}, turned away {busy}"
    );
    let r = login_from(&state, [10, 0, 0, 3], "anna", "a-long-password").await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let metrics = photocheck_server::metrics::exposition(&state.registry);
    assert!(
        metrics.contains("photocheck_logins_turned_away_total"),
        "{metrics}"
    );
}

#[tokio::test]
async fn a_form_posted_from_another_origin_is_refused_before_it_does_anything() {
    let api = api().await;
    let state = api.state.clone();
    add_anna(&state.store).await;
    let post = |origin: Option<&str>, forwarded: Option<&str>| {
        let mut request = Request::post("/login")
            .header(header::HOST, "review.example:8080")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::COOKIE, LOGIN_PAIR.0);
        if let Some(o) = origin {
            request = request.header(header::ORIGIN, o);
        }
        if let Some(f) = forwarded {
            request = request.header("x-forwarded-host", f);
        }
        let request = request
            .body(Body::from(format!(
                "name=anna&password=a-long-password&{}",
                LOGIN_PAIR.1
            )))
            .expect("request");
        let state = state.clone();
        async move {
            router(state)
                .oneshot(request)
                .await
                .expect("response")
                .status()
        }
    };
    let logged = state.store.audit_log(50).await.expect("audit").len();
    // Another port of the same host, another site, and a page with no origin to name.
    for origin in ["http://review.example:9999", "https://evil.example", "null"] {
        assert_eq!(
            post(Some(origin), None).await,
            StatusCode::FORBIDDEN,
            "{origin}"
        );
    }
    assert_eq!(
        state.store.audit_log(50).await.expect("audit").len(),
        logged,
        "a refused form does nothing, not even a login"
    );
    // The site's own page, one behind a proxy that names the public host, and a script.
    assert_eq!(
        post(Some("http://review.example:8080"), None).await,
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        post(
            Some("https://photos.gov.example"),
            Some("photos.gov.example")
        )
        .await,
        StatusCode::SEE_OTHER
    );
    assert_eq!(post(None, None).await, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn state_changes_need_a_post_carrying_the_session_token() {
    let api = api().await;
    let store = &api.state.store;
    add_anna(store).await;
    let id = queued_item(&api).await;
    let anna = cookie_of(login(&api, "anna", "a-long-password").await.1);
    let claimed_by = || async {
        store
            .review_item(id)
            .await
            .expect("item")
            .expect("queued")
            .claimed_by
    };

    // Looking claims nothing; the old GET actions are gone.
    let (status, _) = call(
        &api,
        "GET",
        &format!("/review/items/{id}"),
        Some(&anna),
        "text/html",
        "",
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(claimed_by().await, None, "opening an item claims nothing");
    for path in [
        "/review/next".to_owned(),
        format!("/review/items/{id}/skip"),
    ] {
        let (status, _) = call(&api, "GET", &path, Some(&anna), "text/html", "").await;
        assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED, "GET {path}");
    }

    // A form with no token, or another session's, is refused and changes nothing.
    let (_, other) = login(&api, "anna", "a-long-password").await;
    let other_token = csrf_of(&cookie_of(other));
    let decision = "decision=reject&reason=background-not-white";
    for token in ["", "_csrf=", "_csrf=forged", other_token.as_str()] {
        for (path, body) in [
            (format!("/review/items/{id}/claim"), token.to_owned()),
            ("/review/next".to_owned(), token.to_owned()),
            (
                format!("/review/items/{id}/decision"),
                format!("{decision}&{token}"),
            ),
            ("/logout".to_owned(), token.to_owned()),
        ] {
            let (status, _) = call(&api, "POST", &path, Some(&anna), "text/html", &body).await;
            assert_eq!(status, StatusCode::FORBIDDEN, "POST {path} with {token:?}");
        }
    }
    assert_eq!(claimed_by().await, None);
    assert!(store
        .get(id)
        .await
        .expect("get")
        .expect("stored")
        .reviewed
        .is_none());
    let (status, _) = call(&api, "GET", "/review", Some(&anna), "text/html", "").await;
    assert_eq!(status, StatusCode::OK, "still signed in");
    // A login form without the token its page was given.
    let (status, reply) = call(
        &api,
        "POST",
        "/login",
        Some("photocheck_login=one"),
        "text/html",
        "name=anna&password=a-long-password&_csrf=another",
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(!reply
        .cookie
        .is_some_and(|c| c.starts_with("photocheck_session")));

    // With the token: claim, then decide.
    let mine = csrf_of(&anna);
    let (status, reply) = call(
        &api,
        "POST",
        &format!("/review/items/{id}/claim"),
        Some(&anna),
        "text/html",
        &mine,
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(reply.location, Some(format!("/review/items/{id}")));
    assert_eq!(claimed_by().await.as_deref(), Some("anna"));
    let (status, _) = call(
        &api,
        "POST",
        &format!("/review/items/{id}/decision"),
        Some(&anna),
        "text/html",
        &format!("{decision}&{mine}"),
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let reviewed = store.get(id).await.expect("get").expect("stored").reviewed;
    assert_eq!(reviewed.expect("decided").decided_by, "anna");
}

#[tokio::test]
async fn the_queue_filters_say_what_they_do_not_know() {
    let api = api().await;
    add_anna(&api.state.store).await;
    queued_item(&api).await;
    let (status, reply) = login(&api, "anna", "a-long-password").await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let cookie = cookie_of(reply);
    for (path, expected) in [
        ("/review?rule=&channel=", StatusCode::OK),
        ("/review?rule=eyes_open&channel=camera", StatusCode::OK),
        ("/review?rule=no_such_rule", StatusCode::BAD_REQUEST),
        ("/review?channel=fax", StatusCode::BAD_REQUEST),
    ] {
        let (status, _) = call(&api, "GET", path, Some(&cookie), "text/html", "").await;
        assert_eq!(status, expected, "{path}");
    }
}
