//! photocheck-app: the two ways photocheck runs, wired from the parts.
//!
//! - Embedded (`photocheck serve`): API and workers in one process, on SQLite, a local blob folder and
//!   an in-process queue. The database makes it durable: at start, every submission still open goes
//!   back into the queue.
//! - Multi-node (`photocheck api`, `photocheck worker`): separate processes on PostgreSQL and RabbitMQ,
//!   any number of each. The API's sweeper publishes submissions that were stored but never published.
//!
//! Each mode opens the store, the blob store and the queue, registers the metrics of what it runs into
//! one registry, and starts the HTTP side (`photocheck-server`), the worker (`photocheck-worker`) and
//! the sweeper as tasks that stop together.

pub mod modes;
pub mod sweeper;

pub use crate::modes::{redact, run_api, run_worker, serve, Options};
/// Part of [`Options`], so a caller names the blob store without depending on the store crate.
pub use photocheck_store::BlobLocation;
