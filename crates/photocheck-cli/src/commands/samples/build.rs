//! `photocheck samples build --from SET --out DIR`: derives a labelled set from labelled source
//! portraits (photocheck_tune::build does the work), with a progress bar and a summary per
//! transformation.

use std::collections::BTreeMap;
use std::num::NonZeroUsize;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context as _, Result};
use chrono::NaiveDate;
use clap::builder::PossibleValuesParser;
use clap::Args;
use photocheck_tune::build::{self, BuildOptions, BuildSummary};
use photocheck_tune::set::SampleSet;

use crate::commands::{progress_bar, today};

#[derive(Debug, Args)]
pub struct BuildArgs {
    /// The labelled source set (its photos with crown_y, chin_y and centre_x are the sources).
    #[arg(long, value_name = "SET")]
    pub from: PathBuf,
    /// Folder to write the derived photos, labels.csv and set.toml into; must be new or empty.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Size of the derived photos, px (22:32, at least 378 tall); default twice the archive photo.
    #[arg(long, value_name = "WxH", default_value = "520x756", value_parser = parse_size)]
    pub size: (u32, u32),
    /// Capture date written to EXIF DateTimeOriginal (YYYY-MM-DD); default 30 days before today.
    #[arg(long, value_name = "DATE")]
    pub taken: Option<NaiveDate>,
    /// Name of the set in set.toml; default the --out folder's name.
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
    /// Make only these transformations (comma-separated); default all.
    #[arg(
        long,
        value_name = "NAME,...",
        value_delimiter = ',',
        value_parser = PossibleValuesParser::new(build::TRANSFORMS.iter().map(|t| t.name)),
    )]
    pub only: Vec<String>,
    /// Sources worked on at once; default: one per CPU core.
    #[arg(long, value_name = "N")]
    pub jobs: Option<NonZeroUsize>,
}

fn parse_size(text: &str) -> Result<(u32, u32), String> {
    let parse = |s: &str| s.trim().parse::<u32>().ok().filter(|&v| v > 0);
    text.split_once(['x', 'X'])
        .and_then(|(w, h)| Some((parse(w)?, parse(h)?)))
        .ok_or_else(|| format!("{text:?} is not WIDTHxHEIGHT in px, e.g. 520x756"))
}

pub fn run(args: BuildArgs) -> Result<()> {
    let started = Instant::now();
    let from = SampleSet::load(&args.from)?;
    let today = today().today;
    let mut options = BuildOptions::new(args.out.clone(), today);
    options.size = args.size;
    if let Some(taken) = args.taken {
        options.taken = taken;
    }
    options.name = args.name;
    options.only = (!args.only.is_empty()).then_some(args.only);

    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(args.jobs.map_or(0, NonZeroUsize::get))
        .build()
        .context("cannot start the worker threads")?;
    let threads = pool.current_num_threads();
    // The length is known once the sources are read; the build reports it with each photo.
    let bar = progress_bar(0);
    let summary = pool.install(|| {
        // One call per photo made or skipped; threads may report their counts out of order.
        build::build(&from, &options, |_, total| {
            bar.set_length(total as u64);
            bar.inc(1);
        })
    });
    bar.finish_and_clear();
    let summary = summary?;
    print!(
        "{}",
        render(
            &summary,
            &args.out,
            started.elapsed().as_secs_f64(),
            threads
        )
    );
    Ok(())
}

fn render(s: &BuildSummary, out: &std::path::Path, seconds: f64, threads: usize) -> String {
    use std::fmt::Write as _;
    let mut text = String::new();
    let rate = if seconds > 0.0 {
        s.photos as f64 / seconds
    } else {
        0.0
    };
    let _ = writeln!(
        text,
        "{} photos ({} labelled compliant) from {} sources into {} in {seconds:.2} s \
         ({rate:.1} photos/s, {threads} threads)",
        s.photos,
        s.compliant,
        s.sources,
        out.display()
    );
    if let Some(first) = s.without_geometry.first() {
        let _ = writeln!(
            text,
            "{} source photos skipped: no crown_y, chin_y and centre_x in their labels (first: {first})",
            s.without_geometry.len()
        );
    }
    let width = s.transforms.iter().map(|t| t.name.len()).max().unwrap_or(0);
    for t in &s.transforms {
        let _ = write!(text, "  {:<width$} {:>5}", t.name, t.written);
        if !t.skipped.is_empty() {
            let mut whys: BTreeMap<&str, usize> = BTreeMap::new();
            for (_, why) in &t.skipped {
                *whys.entry(why).or_default() += 1;
            }
            let whys: Vec<String> = whys.iter().map(|(why, n)| format!("{why}: {n}")).collect();
            let _ = write!(text, "  skipped {} ({})", t.skipped.len(), whys.join("; "));
        }
        text.push('\n');
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn size_is_width_by_height() {
        assert_eq!(parse_size("520x756"), Ok((520, 756)));
        assert_eq!(parse_size("260X378"), Ok((260, 378)));
        for bad in ["520", "0x756", "ax756", "520x"] {
            assert!(parse_size(bad).is_err(), "{bad}");
        }
    }
}
