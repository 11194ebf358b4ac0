//! photocheck-tune: what operators use to decide how strict each rule is. Labelled sample sets (their
//! format and the generators that derive them from source portraits), evaluation of a profile against
//! the labels with the same engine production runs, threshold sweeps, a proposed profile, and the
//! report that shows it all.

pub mod build;
pub mod check;
pub mod compare;
pub mod evaluate;
pub mod metrics;
pub mod report;
pub mod set;
pub mod sweep;
