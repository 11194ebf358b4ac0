//! Logins: argon2id password hashes, random session tokens in an HttpOnly, SameSite=Strict cookie
//! (the database keeps only their SHA-256), the extractors that let a handler run only for a
//! signed-in reviewer or supervisor, and the CSRF tokens every state-changing form carries.

use argon2::password_hash::{PasswordHash, PasswordHasher, SaltString};
use argon2::Argon2;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Utc;
use photocheck_store::{Account, Role};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::api::AppState;

pub const COOKIE: &str = "photocheck_session";
/// The login form's own CSRF cookie: before a session exists, the form proves it came from this
/// site by echoing a random value only this site's page was given (a double-submit token).
pub const LOGIN_COOKIE: &str = "photocheck_login";
/// The form field every state-changing form carries its CSRF token in.
pub const CSRF_FIELD: &str = "_csrf";

/// An argon2id hash (PHC string) of `password` with a fresh random salt.
pub fn hash_password(password: &str) -> Result<String, String> {
    let salt = SaltString::encode_b64(Uuid::new_v4().as_bytes()).map_err(|e| e.to_string())?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| e.to_string())
}

/// Whether `password` matches the stored hash. Slow on purpose (argon2); call it off the runtime.
/// The 19 MiB argon2 works in is allocated once per thread and reused: allocated afresh for every
/// check, glibc kept each freed block and a login flood grew the server by ~19 MB a guess.
pub fn verify_password(password: &str, hash: &str) -> bool {
    thread_local! {
        static BLOCKS: std::cell::RefCell<Vec<argon2::Block>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    let Ok(h) = PasswordHash::new(hash) else {
        return false;
    };
    let (Some(expected), Some(salt)) = (h.hash, h.salt) else {
        return false;
    };
    let (Ok(algorithm), Ok(params)) = (
        argon2::Algorithm::try_from(h.algorithm),
        argon2::Params::try_from(&h),
    ) else {
        return false;
    };
    let version = h
        .version
        .and_then(|v| argon2::Version::try_from(v).ok())
        .unwrap_or_default();
    let mut salt_bytes = [0u8; 64];
    let Ok(salt) = salt.decode_b64(&mut salt_bytes) else {
        return false;
    };
    let mut out = vec![0u8; expected.len()];
    let blocks = params.block_count();
    let computed = BLOCKS.with_borrow_mut(|memory| {
        if memory.len() != blocks {
            *memory = vec![argon2::Block::default(); blocks];
        }
        Argon2::new(algorithm, version, params)
            .hash_password_into_with_memory(password.as_bytes(), salt, &mut out, &mut memory[..])
            .is_ok()
    });
    // Every byte compared whatever the first difference: the time says nothing of the hash.
    computed
        && out
            .iter()
            .zip(expected.as_bytes())
            .fold(0u8, |diff, (a, b)| diff | (a ^ b))
            == 0
}

/// A hash nobody's password matches, verified when the account does not exist so that a wrong name
/// takes as long as a wrong password and does not reveal which names exist.
pub fn decoy_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| hash_password(&Uuid::new_v4().to_string()).unwrap_or_default())
}

/// A new session token (two v4 UUIDs: 244 random bits) and the hash the database keeps.
pub fn new_token() -> (String, String) {
    let token = format!("{}{}", Uuid::new_v4().simple(), Uuid::new_v4().simple());
    let hash = token_hash(&token);
    (token, hash)
}

pub fn token_hash(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

pub fn session_cookie(token: &str, max_age_secs: i64, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age_secs}{secure}")
}

pub fn cleared_cookie() -> String {
    format!("{COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0")
}

pub fn cookie_token(headers: &HeaderMap) -> Option<String> {
    cookie(headers, COOKIE)
}

fn cookie(headers: &HeaderMap, wanted: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(name, _)| *name == wanted)
        .map(|(_, value)| value.to_owned())
}

/// A session's CSRF token: derived from the session token (which lives only in an HttpOnly cookie),
/// so a page on another site can neither read nor compute it, and it ends with the session.
pub fn csrf_token(session_token: &str) -> String {
    token_hash(&format!("photocheck-csrf\0{session_token}"))
}

/// A fresh login-form token and the cookie that carries its twin (1 hour, the login path only).
pub fn new_login_token(secure: bool) -> (String, String) {
    let token = Uuid::new_v4().simple().to_string();
    let secure = if secure { "; Secure" } else { "" };
    let cookie = format!(
        "{LOGIN_COOKIE}={token}; Path=/login; HttpOnly; SameSite=Strict; Max-Age=3600{secure}"
    );
    (token, cookie)
}

/// Whether a login form's token matches its cookie.
pub fn login_token_matches(headers: &HeaderMap, fields: &[(String, String)]) -> bool {
    cookie(headers, LOGIN_COOKIE).is_some_and(|c| !c.is_empty() && same(&c, form_csrf(fields)))
}

/// Whether a posted form carries `csrf` in its CSRF field.
pub fn form_carries(csrf: &str, fields: &[(String, String)]) -> bool {
    same(csrf, form_csrf(fields))
}

fn form_csrf(fields: &[(String, String)]) -> &str {
    fields
        .iter()
        .find(|(k, _)| k == CSRF_FIELD)
        .map_or("", |(_, v)| v.as_str())
}

/// Equal strings, compared in time that does not depend on where they differ.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |diff, (x, y)| diff | (x ^ y))
            == 0
}

/// The peer's address, when the server was started with connect info (tests calling the router
/// directly have none, and count as one unknown address).
pub struct Peer(pub Option<std::net::IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for Peer {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Peer(
            parts
                .extensions
                .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
                .map(|c| c.0.ip()),
        ))
    }
}

/// Refusal: a browser page goes to the login form; anything else (a photo, a script) gets 401.
pub enum Refusal {
    NotSignedIn { page: bool, next: String },
    WrongRole,
    Unavailable,
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        match self {
            Refusal::NotSignedIn { page: true, next } => {
                let next: String =
                    serde_urlencoded::to_string([("next", next)]).unwrap_or_default();
                Redirect::to(&format!("/login?{next}")).into_response()
            }
            Refusal::NotSignedIn { page: false, .. } => {
                (StatusCode::UNAUTHORIZED, "请先登录 (sign in first)").into_response()
            }
            Refusal::WrongRole => (
                StatusCode::FORBIDDEN,
                super::pages::message_page("无权访问", "此页面仅限主管访问。(Supervisors only.)"),
            )
                .into_response(),
            Refusal::Unavailable => (
                StatusCode::SERVICE_UNAVAILABLE,
                "数据库暂不可用，请稍后再试",
            )
                .into_response(),
        }
    }
}

/// A signed-in account and its session's CSRF token (pages put it in every form they render).
pub struct Session {
    pub account: Account,
    pub csrf: String,
}

impl Session {
    /// Whether a posted form carries this session's CSRF token.
    pub fn form_is_ours(&self, fields: &[(String, String)]) -> bool {
        form_carries(&self.csrf, fields)
    }
}

impl std::ops::Deref for Session {
    type Target = Account;

    fn deref(&self) -> &Account {
        &self.account
    }
}

async fn signed_in(parts: &Parts, state: &AppState) -> Result<Session, Refusal> {
    let page = parts
        .headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("text/html"));
    // After the login, back to the page asked for; a form posted with an expired session cannot be
    // replayed by a redirect (it is a POST), so that one goes to the queue.
    let next = match parts.uri.path_and_query() {
        Some(p) if parts.method == axum::http::Method::GET => p.to_string(),
        _ => "/review".to_owned(),
    };
    let refused = || Refusal::NotSignedIn {
        page,
        next: next.clone(),
    };
    let token = cookie_token(&parts.headers).ok_or_else(refused)?;
    let account = state
        .store
        .session_account(&token_hash(&token), Utc::now())
        .await
        .map_err(|_| Refusal::Unavailable)?
        .ok_or_else(refused)?;
    Ok(Session {
        account,
        csrf: csrf_token(&token),
    })
}

/// A signed-in reviewer or supervisor: both work the queue.
pub struct Reviewer(pub Session);

/// A signed-in supervisor.
pub struct Supervisor(pub Session);

impl FromRequestParts<AppState> for Reviewer {
    type Rejection = Refusal;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Refusal> {
        signed_in(parts, state).await.map(Reviewer)
    }
}

impl FromRequestParts<AppState> for Supervisor {
    type Rejection = Refusal;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Refusal> {
        let account = signed_in(parts, state).await?;
        if account.role != Role::Supervisor {
            return Err(Refusal::WrongRole);
        }
        Ok(Supervisor(account))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_verify_only_against_their_own_hash() {
        let hash = hash_password("correct horse").expect("hash");
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password("correct horse", &hash));
        assert!(!verify_password("correct hors", &hash));
        assert!(!verify_password("correct horse", "not a hash"));
        assert_ne!(
            hash,
            hash_password("correct horse").expect("hash"),
            "salted"
        );
    }

    #[test]
    fn the_session_cookie_is_found_among_others() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            "a=1; photocheck_session=abc; b=2".parse().expect("header"),
        );
        assert_eq!(cookie_token(&headers).as_deref(), Some("abc"));
        assert_eq!(token_hash("abc").len(), 64);
    }
}
