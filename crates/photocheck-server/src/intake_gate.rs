//! Who may call the intake API, and how often. The upload platform proves itself with a service
//! token (`Authorization: Bearer …`), separate from reviewer logins; every client address has a
//! token bucket, so one caller in a loop cannot take the node from the rest (429 with
//! `Retry-After`).
//!
//! Buckets live in this process: behind N API nodes a client gets N times the rate.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;
use sha2::{Digest, Sha256};
use tracing::warn;

use crate::api::AppState;

/// The intake's limits.
#[derive(Debug, Clone)]
pub struct IntakePolicy {
    /// The token the upload platform sends; `None` leaves the intake open (a private network, or
    /// the embedded mode on one machine).
    pub token: Option<String>,
    /// Requests per second one client address may make, on average.
    pub per_client_per_sec: f64,
    /// Requests one client may make at once after a quiet spell.
    pub burst: f64,
    /// Client addresses remembered; beyond these, the ones with full buckets are forgotten first.
    pub max_clients: usize,
}

impl Default for IntakePolicy {
    fn default() -> IntakePolicy {
        IntakePolicy {
            token: None,
            // A node checks 10-30 photos a second; one client may use all of it, not ten times it.
            per_client_per_sec: 50.0,
            burst: 100.0,
            max_clients: 100_000,
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

pub struct IntakeGate {
    /// SHA-256 of the token: compared in constant time, and never kept in the clear.
    token: Option<[u8; 32]>,
    policy: IntakePolicy,
    buckets: Mutex<HashMap<Option<IpAddr>, Bucket>>,
}

impl IntakeGate {
    pub fn new(policy: IntakePolicy) -> IntakeGate {
        IntakeGate {
            token: policy.token.as_deref().map(|t| Sha256::digest(t).into()),
            policy,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Whether the request's `Authorization` carries the token (always, when none is set).
    fn authorised(&self, request: &Request) -> bool {
        let Some(expected) = &self.token else {
            return true;
        };
        let given = request
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or("");
        let given: [u8; 32] = Sha256::digest(given.trim()).into();
        given
            .iter()
            .zip(expected)
            .fold(0u8, |diff, (a, b)| diff | (a ^ b))
            == 0
    }

    /// Takes one request from the client's bucket, or says how long until one is there.
    pub fn admit(&self, client: Option<IpAddr>, now: Instant) -> Result<(), Duration> {
        let (rate, burst) = (self.policy.per_client_per_sec, self.policy.burst);
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if buckets.len() >= self.policy.max_clients && !buckets.contains_key(&client) {
            // Forget the clients whose buckets have refilled: they lose nothing by it.
            buckets.retain(|_, b| b.tokens + now.duration_since(b.at).as_secs_f64() * rate < burst);
            if buckets.len() >= self.policy.max_clients {
                return Err(Duration::from_secs(1));
            }
        }
        let bucket = buckets.entry(client).or_insert(Bucket {
            tokens: burst,
            at: now,
        });
        let tokens =
            (bucket.tokens + now.duration_since(bucket.at).as_secs_f64() * rate).min(burst);
        bucket.at = now;
        if tokens >= 1.0 {
            bucket.tokens = tokens - 1.0;
            Ok(())
        } else {
            bucket.tokens = tokens;
            Err(Duration::from_secs_f64((1.0 - tokens) / rate))
        }
    }
}

/// The intake routes' gate: the token first (a stranger does not use up a client's rate), then
/// the client's bucket.
pub async fn gate(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let gate = &state.intake;
    if !gate.authorised(&request) {
        let mut r = (
            StatusCode::UNAUTHORIZED,
            Json(json!({ "error": {
                "code": "unauthorized",
                "message": "the intake API needs the upload platform's token: Authorization: Bearer TOKEN",
            }})),
        )
            .into_response();
        r.headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        return r;
    }
    let client = request
        .extensions()
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip());
    if let Err(wait) = gate.admit(client, Instant::now()) {
        state.metrics.intake_turned_away.inc();
        warn!(client = ?client, "intake rate limit reached");
        let secs = wait.as_secs().max(1);
        let mut r = (
            StatusCode::TOO_MANY_REQUESTS,
            Json(json!({ "error": {
                "code": "rate-limited",
                "message": format!("too many requests from this client; try again in {secs} s"),
            }})),
        )
            .into_response();
        r.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        return r;
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_gets_its_burst_then_its_rate_and_others_are_unaffected() {
        let gate = IntakeGate::new(IntakePolicy {
            per_client_per_sec: 10.0,
            burst: 5.0,
            ..IntakePolicy::default()
        });
        let (a, b) = (
            Some(IpAddr::from([10, 0, 0, 1])),
            Some(IpAddr::from([10, 0, 0, 2])),
        );
        let t0 = Instant::now();
        for _ in 0..5 {
            assert!(gate.admit(a, t0).is_ok());
        }
        let wait = gate.admit(a, t0).expect_err("the burst is spent");
        assert!(wait <= Duration::from_millis(100), "{wait:?}");
        assert!(gate.admit(b, t0).is_ok(), "another client is not held back");
        // A tenth of a second later, one more.
        let later = t0 + Duration::from_millis(100);
        assert!(gate.admit(a, later).is_ok());
        assert!(gate.admit(a, later).is_err());
    }

    #[test]
    fn the_table_of_clients_stays_bounded() {
        let gate = IntakeGate::new(IntakePolicy {
            max_clients: 100,
            ..IntakePolicy::default()
        });
        let t0 = Instant::now();
        for i in 0..1000u32 {
            let _ = gate.admit(Some(IpAddr::from(i.to_be_bytes())), t0);
        }
        assert!(gate.buckets.lock().expect("lock").len() <= 100);
        // Refilled buckets are forgotten to make room.
        let later = t0 + Duration::from_secs(10);
        assert!(gate
            .admit(Some(IpAddr::from([192, 168, 0, 1])), later)
            .is_ok());
    }
}
