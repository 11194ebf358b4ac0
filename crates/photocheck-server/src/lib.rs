//! photocheck-server: the HTTP API and the wiring of the two ways photocheck runs.
//!
//! - Embedded (`photocheck serve`): API and workers in one process, on SQLite, a local blob folder and
//!   an in-process queue. The database makes it durable: at start, every submission still open goes
//!   back into the queue.
//! - Multi-node (`photocheck api`, `photocheck worker`): separate processes on PostgreSQL and RabbitMQ,
//!   any number of each. The API's sweeper publishes submissions that were stored but never published.

pub mod api;
pub mod intake_gate;
pub mod modes;
pub mod review;
pub mod storage;
pub mod sweeper;

pub use crate::modes::{run_api, run_worker, serve, Options};
/// Part of [`Options`], so a caller names the blob store without depending on the store crate.
pub use photocheck_store::BlobLocation;
