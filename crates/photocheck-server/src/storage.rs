//! Whether this node can still store what it accepts: free space where the blob folder lives, and
//! whether its last write failed. `/readyz` answers from here, so a load balancer stops sending
//! uploads to a node whose disk is full, and sends them again once a probe write succeeds.

use std::sync::atomic::{AtomicBool, Ordering};

use photocheck_store::Blobs;
use serde_json::{json, Value};
use tracing::warn;

/// The key readiness probes write and remove (a real key: the store accepts only its own form).
const PROBE_KEY: &str = "00000000000000000000000000000000";

pub struct StorageHealth {
    /// Below this many free bytes the node is not ready.
    min_free_bytes: u64,
    /// A write failed and none has succeeded since.
    failing: AtomicBool,
}

impl StorageHealth {
    pub fn new(min_free_bytes: u64) -> StorageHealth {
        StorageHealth {
            min_free_bytes,
            failing: AtomicBool::new(false),
        }
    }

    /// Notes a write's outcome.
    pub fn wrote(&self, ok: bool) {
        let was_failing = self.failing.swap(!ok, Ordering::Relaxed);
        if was_failing == ok {
            if ok {
                warn!("storage writes succeed again");
            } else {
                warn!("a storage write failed; not ready until one succeeds");
            }
        }
    }

    /// The storage part of `/readyz`, and whether it is ready. After a failed write, a probe write
    /// (a few bytes, removed at once) decides whether the store takes writes again.
    pub async fn check(&self, blobs: &Blobs) -> (bool, Value) {
        let free = match blobs.free_bytes().await {
            Ok(free) => free,
            Err(e) => {
                warn!(error = %e, "cannot read the blob folder's free space");
                Some(0)
            }
        };
        if self.failing.load(Ordering::Relaxed) {
            let probed = blobs.put_at(PROBE_KEY, b"probe").await;
            let _ = blobs.delete(PROBE_KEY).await;
            self.wrote(probed.is_ok());
        }
        let failing = self.failing.load(Ordering::Relaxed);
        let space = free.is_none_or(|f| f >= self.min_free_bytes);
        (
            space && !failing,
            json!({
                "ok": space && !failing,
                "free_bytes": free,
                "min_free_bytes": self.min_free_bytes,
                "writes_failing": failing,
            }),
        )
    }
}
