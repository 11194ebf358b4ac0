//! The HTTP side's Prometheus metrics. They are registered into the process's one registry, beside
//! those of a worker in the same process, and `/metrics` shows the whole registry.

use prometheus_client::encoding::text::encode;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct QueueLabel {
    pub queue: String,
}

pub struct ApiMetrics {
    /// Submissions accepted by the API.
    pub submissions: Counter,
    /// Jobs waiting, by queue; set when scraped.
    pub queue_depth: Family<QueueLabel, Gauge>,
    /// Logins answered 429: locked out after failures, or every password-hashing slot busy.
    pub logins_turned_away: Counter,
    /// Intake requests answered 429: a client over its rate.
    pub intake_turned_away: Counter,
}

impl ApiMetrics {
    /// The metrics, registered into `registry`.
    pub fn new(registry: &mut Registry) -> ApiMetrics {
        let m = ApiMetrics {
            submissions: Counter::default(),
            queue_depth: Family::default(),
            logins_turned_away: Counter::default(),
            intake_turned_away: Counter::default(),
        };
        registry.register(
            "photocheck_submissions",
            "Submissions accepted by the API",
            m.submissions.clone(),
        );
        registry.register(
            "photocheck_queue_depth",
            "Jobs waiting in a queue",
            m.queue_depth.clone(),
        );
        registry.register(
            "photocheck_logins_turned_away",
            "Logins answered 429: too many failures, or every password-hashing slot busy",
            m.logins_turned_away.clone(),
        );
        registry.register(
            "photocheck_intake_turned_away",
            "Intake API requests answered 429 because the client was over its rate",
            m.intake_turned_away.clone(),
        );
        m
    }

    pub fn set_depth(&self, queue: &str, depth: i64) {
        self.queue_depth
            .get_or_create(&QueueLabel {
                queue: queue.to_owned(),
            })
            .set(depth);
    }
}

/// The Prometheus text exposition of everything in `registry`.
pub fn exposition(registry: &Registry) -> String {
    let mut out = String::new();
    // Writing into a String cannot fail.
    let _ = encode(&mut out, registry);
    out
}
