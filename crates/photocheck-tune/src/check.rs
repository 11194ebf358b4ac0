//! Every labelled photo checked once, in parallel, by the same engine production runs. Sweeps and
//! proposals then judge these reports again (photocheck_core::rejudge) instead of measuring again.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use photocheck_core::{check, panic_message, Context, Profile, Report};

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

/// Checks every photo of every set on as many threads as the current rayon pool has (plain threads:
/// the engine's rten models run on pools of their own, and a rayon worker waiting for another pool
/// runs its own queue meanwhile); `tick` is called once per photo done. Reports come in the sets'
/// order. A photo the engine panics on gets the engine's own "check failed" report (it goes to
/// review in production too); a file that cannot be read is an error, since its label would count
/// for nothing.
pub fn check_sets(
    sets: &[SampleSet],
    profile: &Profile,
    ctx: &Context,
    tick: impl Fn() + Sync,
) -> Result<Vec<Checked>, ReadError> {
    let jobs: Vec<(String, &PathBuf, &Label, Context)> = sets
        .iter()
        .flat_map(|set| {
            let ctx = set.info.channel.map_or(*ctx, |c| ctx.via(c));
            set.samples.iter().map(move |s| {
                (
                    format!("{}/{}", set.info.name, s.file),
                    &s.path,
                    &s.label,
                    ctx,
                )
            })
        })
        .collect();
    let next = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let one = |(id, path, label, ctx): &(String, &PathBuf, &Label, Context)| {
        let bytes = std::fs::read(path).map_err(|source| ReadError {
            path: (*path).clone(),
            source,
        })?;
        let report = check_one(&bytes, profile, ctx);
        tick();
        Ok(Checked {
            id: id.clone(),
            path: (*path).clone(),
            label: (*label).clone(),
            report,
        })
    };
    let mut done: Vec<(usize, Result<Checked, ReadError>)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..rayon::current_num_threads().max(1))
            .map(|_| {
                scope.spawn(|| {
                    let mut mine = Vec::new();
                    while !failed.load(Ordering::Relaxed) {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(job) = jobs.get(i) else { break };
                        let result = one(job);
                        failed.fetch_or(result.is_err(), Ordering::Relaxed);
                        mine.push((i, result));
                    }
                    mine
                })
            })
            .collect();
        workers
            .into_iter()
            // A worker panics only outside the engine (which check_one guards): pass it on.
            .flat_map(|w| w.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    });
    done.sort_by_key(|(i, _)| *i);
    done.into_iter().map(|(_, r)| r).collect()
}

/// One photo, with a panic turned into the engine's "check failed" report.
pub fn check_one(bytes: &[u8], profile: &Profile, ctx: &Context) -> Report {
    catch_unwind(AssertUnwindSafe(|| check(bytes, profile, ctx)))
        .unwrap_or_else(|cause| Report::check_failed(&panic_message(cause.as_ref()), profile))
}
