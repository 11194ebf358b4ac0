//! `photocheck batch DIR`: checks every photo in a directory in parallel (rayon, one detector per thread
//! inside the engine), writes one JSON line per file in file-name order, and sums up on stderr.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::Instant;

use anyhow::{Context as _, Result};
use clap::Args;
use photocheck_core::{Channel, Context, Decision, Profile};

use super::{create_overlay_dir, exit_status, progress_bar, today};
use crate::photo::{self, Line};

#[derive(Debug, Args)]
pub struct BatchArgs {
    /// Directory of photos; every file in it is checked (not recursive, hidden files skipped), the
    /// format recognised by content.
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,
    /// Where the JSON lines go; standard output when not given.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Write an overlay of each photo's measures to DIR/<file stem>.annotated.png, and each framed
    /// photo at archive size to DIR/<file stem>.framed.jpg.
    #[arg(long, value_name = "DIR")]
    pub annotate: Option<PathBuf>,
    /// Photos checked at once; default: one per CPU core.
    #[arg(long, value_name = "N")]
    pub jobs: Option<NonZeroUsize>,
    /// How the photos came: camera, album (EXIF capture date decides their age) or stored.
    #[arg(long, default_value = "album", value_name = "CHANNEL")]
    pub channel: Channel,
}

/// What the writer and the summary need from one photo; the JSON is made on the worker thread so only
/// text waits in memory for its turn.
struct Done {
    json: String,
    decision: Decision,
    codes: Vec<String>,
    warnings: Vec<String>,
    overlay_failed: bool,
}

pub fn run(args: BatchArgs, profile: &Profile) -> Result<ExitCode> {
    let started = Instant::now();
    let (mut files, skipped) = list(&args.dir)?;
    // Opened before any work so a bad output path fails at once.
    let sink: Box<dyn Write> = match &args.out {
        Some(p) => {
            let f = File::create(p).with_context(|| format!("cannot create {}", p.display()))?;
            // Results written into the photo directory are not a photo (and were just truncated).
            if let Ok(out) = std::fs::canonicalize(p) {
                files.retain(|path| std::fs::canonicalize(path).map_or(true, |c| c != out));
            }
            Box::new(f)
        }
        None => Box::new(std::io::stdout().lock()),
    };
    for s in &skipped {
        eprintln!("photocheck: skipping {}: not a regular file", s.display());
    }
    if files.is_empty() {
        eprintln!("photocheck: no files in {}", args.dir.display());
    }
    let overlays = match &args.annotate {
        Some(dir) => {
            create_overlay_dir(dir)?;
            Some(photo::overlay_paths(dir, &files))
        }
        None => None,
    };
    let mut sink = BufWriter::new(sink);
    // Plain threads, not a rayon pool: the engine's rten models run on rten's own pool, and a rayon
    // worker waiting for another pool runs its own queue meanwhile (landmarks::models).
    let threads = args.jobs.map_or_else(
        || std::thread::available_parallelism().map_or(1, NonZeroUsize::get),
        NonZeroUsize::get,
    );
    let bar = progress_bar(files.len() as u64);
    let ctx = today().via(args.channel);

    let mut summary = Summary::default();
    let mut any_overlay_failed = false;
    let (tx, rx) = mpsc::channel::<(usize, Done)>();
    let next_file = AtomicUsize::new(0);
    let written: Result<()> = std::thread::scope(|scope| {
        let (files, overlays, ctx, next_file) = (&files, &overlays, &ctx, &next_file);
        for _ in 0..threads {
            let tx = tx.clone();
            scope.spawn(move || loop {
                let i = next_file.fetch_add(1, Ordering::Relaxed);
                let Some(path) = files.get(i) else { break };
                let overlay = overlays.as_ref().map(|o| o[i].as_path());
                // Sending fails only once the writer has given up (its error is reported);
                // stopping the remaining checks is all there is to do.
                if tx
                    .send((i, check_one(path, profile, ctx, overlay)))
                    .is_err()
                {
                    break;
                }
            });
        }
        drop(tx);
        // Lines leave in file-name order whatever order the photos finish in.
        let mut pending = BTreeMap::new();
        let mut next = 0;
        for (i, done) in rx {
            pending.insert(i, done);
            while let Some(done) = pending.remove(&next) {
                for w in &done.warnings {
                    bar.suspend(|| eprintln!("photocheck: {w}"));
                }
                any_overlay_failed |= done.overlay_failed;
                sink.write_all(done.json.as_bytes())
                    .context("cannot write results")?;
                summary.add(&done);
                bar.inc(1);
                next += 1;
            }
        }
        Ok(())
    });
    written?;
    sink.flush().context("cannot write results")?;
    bar.finish_and_clear();
    eprint!(
        "{}",
        summary.render(started.elapsed().as_secs_f64(), threads)
    );
    Ok(exit_status(
        any_overlay_failed,
        summary.count(Decision::Approve) == summary.total,
    ))
}

/// The files to check in `dir`, sorted by name, and the non-files skipped. Hidden files and directories
/// are left out without a word; other special files (sockets, FIFOs) are named, since reading them could
/// block.
fn list(dir: &Path) -> Result<(Vec<PathBuf>, Vec<PathBuf>)> {
    let entries = std::fs::read_dir(dir)
        .with_context(|| format!("cannot read directory {}", dir.display()))?;
    let mut files = Vec::new();
    let mut skipped = Vec::new();
    for entry in entries {
        let entry = entry.with_context(|| format!("cannot read directory {}", dir.display()))?;
        if entry.file_name().as_encoded_bytes().starts_with(b".") {
            continue;
        }
        let path = entry.path();
        // Follows symlinks; a broken one stays in the list and becomes a reject line with its error.
        match std::fs::metadata(&path) {
            Ok(m) if m.is_dir() => {}
            Ok(m) if !m.is_file() => skipped.push(path),
            _ => files.push(path),
        }
    }
    files.sort();
    Ok((files, skipped))
}

fn check_one(path: &Path, profile: &Profile, ctx: &Context, overlay: Option<&Path>) -> Done {
    let shown = path.to_string_lossy();
    let checked = match std::fs::read(path) {
        Ok(bytes) => photo::check(&shown, &bytes, profile, ctx, overlay),
        Err(e) => photo::Checked {
            report: photo::unreadable_file(&e, profile),
            warnings: vec![format!("cannot read {shown}: {e}")],
            overlay_failed: false,
        },
    };
    let report = &checked.report;
    let mut json = serde_json::to_string(&Line {
        file: &shown,
        report,
    })
    .expect("a report always serialises");
    json.push('\n');
    Done {
        json,
        decision: report.decision,
        codes: report.reasons.iter().map(|r| r.code.clone()).collect(),
        warnings: checked.warnings,
        overlay_failed: checked.overlay_failed,
    }
}

/// A bar on stderr when a person watches it; nothing when stderr is a file or a pipe.
/// Counts for the closing summary.
#[derive(Default)]
struct Summary {
    total: usize,
    decisions: BTreeMap<Decision, usize>,
    reasons: BTreeMap<String, usize>,
}

impl Summary {
    fn add(&mut self, done: &Done) {
        self.total += 1;
        *self.decisions.entry(done.decision).or_default() += 1;
        for code in &done.codes {
            *self.reasons.entry(code.clone()).or_default() += 1;
        }
    }

    fn count(&self, d: Decision) -> usize {
        self.decisions.get(&d).copied().unwrap_or(0)
    }

    fn render(&self, seconds: f64, threads: usize) -> String {
        use std::fmt::Write as _;
        let mut s = String::new();
        let rate = if seconds > 0.0 {
            self.total as f64 / seconds
        } else {
            0.0
        };
        let _ = writeln!(
            s,
            "{} photos in {seconds:.2} s ({rate:.1} photos/s, {threads} threads)",
            self.total
        );
        for d in [Decision::Approve, Decision::Review, Decision::Reject] {
            let _ = writeln!(s, "  {:<8} {:>6}", d.as_str(), self.count(d));
        }
        if !self.reasons.is_empty() {
            let mut reasons: Vec<(&String, &usize)> = self.reasons.iter().collect();
            // Most frequent first; ties by code so the summary is stable.
            reasons.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
            let width = reasons.iter().map(|(c, _)| c.len()).max().unwrap_or(0);
            let _ = writeln!(s, "reasons:");
            for (code, n) in reasons {
                let _ = writeln!(s, "  {code:<width$} {n:>6}");
            }
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn done(decision: Decision, codes: &[&str]) -> Done {
        Done {
            json: String::new(),
            decision,
            codes: codes.iter().map(|c| c.to_string()).collect(),
            warnings: Vec::new(),
            overlay_failed: false,
        }
    }

    #[test]
    fn summary_orders_reasons_by_count() {
        let mut s = Summary::default();
        s.add(&done(Decision::Review, &["check-eyes-open", "blurred"]));
        s.add(&done(Decision::Review, &["check-eyes-open"]));
        s.add(&done(Decision::Reject, &["no-face"]));
        s.add(&done(Decision::Approve, &[]));
        let text = s.render(2.0, 2);
        assert!(
            text.starts_with("4 photos in 2.00 s (2.0 photos/s, 2 threads)"),
            "{text}"
        );
        let eyes = text.find("check-eyes-open").expect("listed");
        let blurred = text.find("blurred").expect("listed");
        let no_face = text.find("no-face").expect("listed");
        assert!(eyes < blurred && blurred < no_face, "{text}");
        assert!(text.contains("review        2"), "{text}");
    }
}
