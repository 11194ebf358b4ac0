//! Every labelled photo checked once, in parallel, by the same engine production runs. Sweeps and
//! proposals then judge these reports again (photocheck_core::rejudge) instead of measuring again.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;

use photocheck_core::{check, panic_message, Context, Profile, Report};
use rayon::prelude::*;

use crate::set::{Label, SampleSet};

/// One labelled photo and the engine's report on it.
#[derive(Debug, Clone)]
pub struct Checked {
    /// `set/file`: unique across the sets of one run.
    pub id: String,
    pub path: PathBuf,
    pub label: Label,
    pub report: Report,
}

#[derive(Debug, thiserror::Error)]
#[error("cannot read {path}: {source}")]
pub struct ReadError {
    pub path: PathBuf,
    pub source: std::io::Error,
}

/// Checks every photo of every set on the current rayon pool; `tick` is called once per photo done.
/// A photo the engine panics on gets the engine's own "check failed" report (it goes to review in
/// production too); a file that cannot be read is an error, since its label would count for nothing.
pub fn check_sets(
    sets: &[SampleSet],
    profile: &Profile,
    ctx: &Context,
    tick: impl Fn() + Sync,
) -> Result<Vec<Checked>, ReadError> {
    let jobs: Vec<(String, PathBuf, &Label, Context)> = sets
        .iter()
        .flat_map(|set| {
            let ctx = set.info.channel.map_or(*ctx, |c| ctx.via(c));
            set.samples.iter().map(move |s| {
                (
                    format!("{}/{}", set.info.name, s.file),
                    s.path.clone(),
                    &s.label,
                    ctx,
                )
            })
        })
        .collect();
    jobs.into_par_iter()
        .map(|(id, path, label, ctx)| {
            let bytes = std::fs::read(&path).map_err(|source| ReadError {
                path: path.clone(),
                source,
            })?;
            let report = check_one(&bytes, profile, &ctx);
            tick();
            Ok(Checked {
                id,
                path,
                label: label.clone(),
                report,
            })
        })
        .collect()
}

/// One photo, with a panic turned into the engine's "check failed" report.
pub fn check_one(bytes: &[u8], profile: &Profile, ctx: &Context) -> Report {
    catch_unwind(AssertUnwindSafe(|| check(bytes, profile, ctx)))
        .unwrap_or_else(|cause| Report::check_failed(&panic_message(cause.as_ref()), profile))
}
