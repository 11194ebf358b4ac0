//! The worker's Prometheus metrics, registered into the process's one registry (the process serves
//! it on `/metrics`).

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

pub struct Metrics {
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
    pub in_flight: Gauge,
    /// Review deadlines computed provisionally because the calendar file lacks their year.
    pub calendar_gaps: Counter,
}

impl Metrics {
    /// The metrics, registered into `registry`.
    pub fn new(registry: &mut Registry) -> Metrics {
        let m = Metrics {
            // 1 ms to ~16 s: an archive photo takes ~5 ms, a 12 MP one ~25 ms.
            check_seconds: Histogram::new(exponential_buckets(0.001, 2.0, 15)),
            // 10 ms to ~36 h: a queue backlog takes much longer than a check.
            decision_seconds: Histogram::new(exponential_buckets(0.01, 2.0, 18)),
            decisions: Family::default(),
            reasons: Family::default(),
            retries: Counter::default(),
            dead_letters: Counter::default(),
            in_flight: Gauge::default(),
            calendar_gaps: Counter::default(),
        };
        registry.register(
            "photocheck_check_seconds",
            "Time the check engine takes per photo",
            m.check_seconds.clone(),
        );
        registry.register(
            "photocheck_decision_seconds",
            "Time from receipt to the committed decision",
            m.decision_seconds.clone(),
        );
        registry.register(
            "photocheck_decisions",
            "Decisions written, by outcome",
            m.decisions.clone(),
        );
        registry.register(
            "photocheck_reasons",
            "Reasons given with decisions, by code",
            m.reasons.clone(),
        );
        registry.register(
            "photocheck_retries",
            "Jobs sent back for another attempt after a transient failure",
            m.retries.clone(),
        );
        registry.register(
            "photocheck_dead_letters",
            "Jobs given up on; their submissions are marked failed",
            m.dead_letters.clone(),
        );
        registry.register(
            "photocheck_jobs_in_flight",
            "Jobs this process is working on",
            m.in_flight.clone(),
        );
        registry.register(
            "photocheck_calendar_gaps",
            "Review deadlines computed provisionally because the working-day calendar has no data for their year",
            m.calendar_gaps.clone(),
        );
        m
    }
}
