//! photocheck-server: the HTTP side, and nothing else. The intake API (submit a photo, read its
//! status), the reviewer and supervisor pages, the operations routes (metrics, health, readiness,
//! the OpenAPI document), and the HTTP loop they are served by. It reads and writes the store and
//! publishes jobs to the queue; it never runs the engine (the worker stored what the pages show).
//! Which of these a process serves, and with what, is the run modes' business (`photocheck-app`).

pub mod api;
pub mod http;
pub mod intake_gate;
pub mod metrics;
pub mod review;
pub mod storage;

pub use crate::http::serve_http;
