//! The Prometheus metrics of the API and the workers, in one registry per process.

use prometheus_client::encoding::text::encode;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DecisionLabel {
    pub decision: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReasonLabel {
    pub reason: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct QueueLabel {
    pub queue: String,
}

pub struct Metrics {
    registry: Registry,
    /// Submissions accepted by the API.
    pub submissions: Counter,
    /// Engine time per photo, seconds.
    pub check_seconds: Histogram,
    /// Time from receipt to the committed decision, seconds.
    pub decision_seconds: Histogram,
    /// Decisions written, by outcome (a redelivered job is not counted twice).
    pub decisions: Family<DecisionLabel, Counter>,
    /// Reasons given with those decisions, by code.
    pub reasons: Family<ReasonLabel, Counter>,
    pub retries: Counter,
    pub dead_letters: Counter,
    /// Jobs waiting, by queue; set when scraped.
    pub queue_depth: Family<QueueLabel, Gauge>,
    pub in_flight: Gauge,
    /// Review deadlines computed provisionally because the calendar file lacks their year.
    pub calendar_gaps: Counter,
    /// Logins answered 429: locked out after failures, or every password-hashing slot busy.
    pub logins_turned_away: Counter,
    /// Intake requests answered 429: a client over its rate.
    pub intake_turned_away: Counter,
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::default();
        let submissions = Counter::default();
        registry.register(
            "photocheck_submissions",
            "Submissions accepted by the API",
            submissions.clone(),
        );
        // 1 ms to ~16 s: an archive photo takes ~5 ms, a 12 MP one ~25 ms, a queue backlog much longer.
        let check_seconds = Histogram::new(exponential_buckets(0.001, 2.0, 15));
        registry.register(
            "photocheck_check_seconds",
            "Time the check engine takes per photo",
            check_seconds.clone(),
        );
        let decision_seconds = Histogram::new(exponential_buckets(0.01, 2.0, 18));
        registry.register(
            "photocheck_decision_seconds",
            "Time from receipt to the committed decision",
            decision_seconds.clone(),
        );
        let decisions = Family::<DecisionLabel, Counter>::default();
        registry.register(
            "photocheck_decisions",
            "Decisions written, by outcome",
            decisions.clone(),
        );
        let reasons = Family::<ReasonLabel, Counter>::default();
        registry.register(
            "photocheck_reasons",
            "Reasons given with decisions, by code",
            reasons.clone(),
        );
        let retries = Counter::default();
        registry.register(
            "photocheck_retries",
            "Jobs sent back for another attempt after a transient failure",
            retries.clone(),
        );
        let dead_letters = Counter::default();
        registry.register(
            "photocheck_dead_letters",
            "Jobs given up on; their submissions are marked failed",
            dead_letters.clone(),
        );
        let queue_depth = Family::<QueueLabel, Gauge>::default();
        registry.register(
            "photocheck_queue_depth",
            "Jobs waiting in a queue",
            queue_depth.clone(),
        );
        let in_flight = Gauge::default();
        registry.register(
            "photocheck_jobs_in_flight",
            "Jobs this process is working on",
            in_flight.clone(),
        );
        let calendar_gaps = Counter::default();
        registry.register(
            "photocheck_calendar_gaps",
            "Review deadlines computed provisionally because the working-day calendar has no data for their year",
            calendar_gaps.clone(),
        );
        let logins_turned_away = Counter::default();
        registry.register(
            "photocheck_logins_turned_away",
            "Logins answered 429: too many failures, or every password-hashing slot busy",
            logins_turned_away.clone(),
        );
        let intake_turned_away = Counter::default();
        registry.register(
            "photocheck_intake_turned_away",
            "Intake API requests answered 429 because the client was over its rate",
            intake_turned_away.clone(),
        );
        Metrics {
            registry,
            submissions,
            check_seconds,
            decision_seconds,
            decisions,
            reasons,
            retries,
            dead_letters,
            queue_depth,
            in_flight,
            calendar_gaps,
            logins_turned_away,
            intake_turned_away,
        }
    }

    pub fn set_depth(&self, queue: &str, depth: i64) {
        self.queue_depth
            .get_or_create(&QueueLabel {
                queue: queue.to_owned(),
            })
            .set(depth);
    }

    /// The Prometheus text exposition.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = encode(&mut out, &self.registry);
        out
    }
}

impl Default for Metrics {
    fn default() -> Metrics {
        Metrics::new()
    }
}
