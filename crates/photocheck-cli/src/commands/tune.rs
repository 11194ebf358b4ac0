//! `photocheck tune SAMPLES...` and `photocheck compare A B SAMPLES...`: a profile against labelled
//! sample sets. Every photo is checked in parallel with a progress bar; tune then sweeps each limit,
//! proposes a profile and writes the report.

use photocheck_core::RuleInfo as _;
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context as _, Result};
use chrono::NaiveDate;
use clap::Args;
use photocheck_core::{Context, Profile};
use photocheck_tune::check::{check_sets, Checked};
use photocheck_tune::evaluate::{evaluate, Outcome};
use photocheck_tune::set::SampleSet;
use photocheck_tune::{compare, report};

use super::{load_profile, progress_bar, EXIT_APPROVED, EXIT_FLAGGED};

/// What tune and compare share: the sets, the day, the threads.
#[derive(Debug, Args)]
pub struct SetArgs {
    /// Sample sets: folders holding labels.csv (see samples/README.md); several are pooled.
    #[arg(value_name = "SAMPLES", required = true)]
    pub sets: Vec<PathBuf>,
    /// The day photo ages are counted from (YYYY-MM-DD); default: today.
    #[arg(long, value_name = "DATE")]
    pub today: Option<NaiveDate>,
    /// Photos checked at once; default: one per CPU core.
    #[arg(long, value_name = "N")]
    pub jobs: Option<NonZeroUsize>,
}

#[derive(Debug, Args)]
pub struct TuneArgs {
    #[command(flatten)]
    pub sets: SetArgs,
    /// Write report.html, summary.json and tuned-profile.toml (and misjudged/ thumbnails) here.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Print summary.json to standard output instead of the text summary.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct CompareArgs {
    /// The profile now (TOML file, or the name of a built-in profile).
    #[arg(value_name = "A")]
    pub a: PathBuf,
    /// The profile to compare it with.
    #[arg(value_name = "B")]
    pub b: PathBuf,
    #[command(flatten)]
    pub sets: SetArgs,
    /// Print the comparison as JSON.
    #[arg(long)]
    pub json: bool,
}

/// The looks' confusion matrices: a look labelled broken must never pass, so that column comes first.
fn print_looks(rules: &[photocheck_tune::metrics::RuleStats]) {
    println!("looks (labelled broken: pass / uncertain / fail | labelled kept: pass / uncertain / fail, share passed)");
    for r in rules
        .iter()
        .filter(|r| r.rule.kind() == photocheck_core::rules::Kind::Look)
    {
        let (b, k) = (&r.broken, &r.kept);
        let judged = k.pass + k.uncertain + k.fail;
        let share = if judged == 0 {
            "-".to_owned()
        } else {
            format!("{:.0} %", 100.0 * k.pass as f64 / judged as f64)
        };
        println!(
            "  {:<15} broken {:>4} / {:>4} / {:>4} | kept {:>4} / {:>4} / {:>4}  {share}",
            r.rule.as_str(),
            b.pass,
            b.uncertain,
            b.fail,
            k.pass,
            k.uncertain,
            k.fail
        );
    }
}

/// Exit 0 when the profile approves no non-compliant photo, 1 when it does (so a pipeline can stop a
/// profile change), 2 for errors.
pub fn tune(args: TuneArgs, profile: &Profile) -> Result<ExitCode> {
    let started = Instant::now();
    let sets = load_sets(&args.sets.sets)?;
    if let Some(out) = &args.out {
        std::fs::create_dir_all(out)
            .with_context(|| format!("cannot create report folder {}", out.display()))?;
    }
    let ctx = Context::on(args.sets.today.unwrap_or_else(|| super::today().today));
    let pool = pool(args.sets.jobs)?;
    let photos = pool.install(|| check_all(&sets, profile, &ctx, "checking"))?;
    let tuning = pool.install(|| evaluate(&sets, &photos, profile, ctx.today));
    let s = &tuning.summary;
    if args.json {
        println!("{}", serde_json::to_string_pretty(s)?);
    } else {
        print_outcome("profile", &s.outcome());
        print_outcome("proposed", &s.proposed);
        if let Some(e) = &s.head_length_error_mm {
            println!(
                "head length error: median {:.2} mm, max {:.2} mm over {} photos with ground truth",
                e.median, e.max, e.photos
            );
        }
        if let Some(e) = &s.framed_head_length_error_mm {
            println!(
                "framed head length error: median {:.2} mm, max {:.2} mm over {} framed photos",
                e.median, e.max, e.photos
            );
        }
        for c in &s.proposed_changes {
            println!("proposed: {} {} -> {}", c.key, c.from, c.to);
        }
        print_looks(&s.rules);
    }
    if let Some(out) = &args.out {
        let written = pool.install(|| report::write(out, &tuning, &photos, profile, &ctx))?;
        eprintln!(
            "photocheck: wrote {}, {}, {} ({} thumbnails)",
            written.report.display(),
            written.summary.display(),
            written.profile.display(),
            written.thumbnails
        );
    }
    eprintln!(
        "photocheck: {} photos in {:.1} s",
        photos.len(),
        started.elapsed().as_secs_f64()
    );
    Ok(ExitCode::from(if s.false_approvals == 0 {
        EXIT_APPROVED
    } else {
        EXIT_FLAGGED
    }))
}

pub fn compare(args: CompareArgs) -> Result<ExitCode> {
    let (pa, pb) = (profile_arg(&args.a)?, profile_arg(&args.b)?);
    let sets = load_sets(&args.sets.sets)?;
    let ctx = Context::on(args.sets.today.unwrap_or_else(|| super::today().today));
    let pool = pool(args.sets.jobs)?;
    let a = pool.install(|| check_all(&sets, &pa, &ctx, "profile A"))?;
    let b = pool.install(|| check_all(&sets, &pb, &ctx, "profile B"))?;
    let cmp = compare::compare(&a, &b, &pa, &pb);
    if args.json {
        println!("{}", serde_json::to_string_pretty(&cmp)?);
        return Ok(ExitCode::SUCCESS);
    }
    print_outcome(&format!("A {}", args.a.display()), &cmp.a);
    print_outcome(&format!("B {}", args.b.display()), &cmp.b);
    println!(
        "{} of {} photos change decision",
        cmp.changes.len(),
        a.len()
    );
    for c in &cmp.changes {
        let why: Vec<String> = c
            .rules
            .iter()
            .map(|r| {
                let show = |s: Option<photocheck_core::Status>, v: Option<f64>| {
                    format!(
                        "{}{}",
                        s.map_or("absent".into(), |s| s.to_string()),
                        v.map_or(String::new(), |v| format!(" ({v})"))
                    )
                };
                format!(
                    "{} {} -> {}",
                    r.rule,
                    show(r.from, r.value_a),
                    show(r.to, r.value_b)
                )
            })
            .collect();
        println!(
            "{:<6} {} {} -> {}  [{}]  {}",
            if c.better { "better" } else { "worse" },
            c.id,
            c.from,
            c.to,
            if c.compliant {
                "compliant"
            } else {
                "non-compliant"
            },
            why.join("; ")
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn print_outcome(name: &str, o: &Outcome) {
    println!(
        "{name}: {} photos ({} compliant): {} false approvals, automation {:.1} %, review {:.1} %, \
         {} wrong rejections (approved {} of which {} framed, reviewed {}, rejected {})",
        o.decisions.photos,
        o.decisions.compliant,
        o.false_approvals,
        o.automation_rate * 100.0,
        o.review_rate * 100.0,
        o.wrong_rejections,
        o.decisions.approved,
        o.decisions.framed_approvals,
        o.decisions.reviewed,
        o.decisions.rejected,
    );
}

fn load_sets(paths: &[PathBuf]) -> Result<Vec<SampleSet>> {
    let sets = paths
        .iter()
        .map(|p| SampleSet::load(p).map_err(anyhow::Error::from))
        .collect::<Result<Vec<_>>>()?;
    let mut names: Vec<&str> = sets.iter().map(|s| s.info.name.as_str()).collect();
    names.sort_unstable();
    if let Some(w) = names.windows(2).find(|w| w[0] == w[1]) {
        anyhow::bail!(
            "two sample sets are named {:?}: give one a different name in its set.toml",
            w[0]
        );
    }
    Ok(sets)
}

/// A profile file, or a built-in profile's name.
fn profile_arg(arg: &Path) -> Result<Profile> {
    if !arg.exists() {
        if let Some(name) = arg.to_str() {
            if Profile::builtin_text(name).is_some() {
                return Ok(Profile::builtin(name)?);
            }
        }
    }
    load_profile(Some(arg))
}

fn pool(jobs: Option<NonZeroUsize>) -> Result<rayon::ThreadPool> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(jobs.map_or(0, NonZeroUsize::get))
        .build()
        .context("cannot start the worker threads")
}

fn check_all(
    sets: &[SampleSet],
    profile: &Profile,
    ctx: &Context,
    what: &str,
) -> Result<Vec<Checked>> {
    let total: usize = sets.iter().map(|s| s.samples.len()).sum();
    let bar = progress_bar(total as u64).with_message(what.to_owned());
    let photos = check_sets(sets, profile, ctx, || bar.inc(1))?;
    bar.finish_and_clear();
    Ok(photos)
}
