//! `photocheck samples export --out DIR`: reviewers' decisions, with the photos they decided on, as a
//! labelled sample set, so thresholds are tuned on real uploads. An approval is a compliant label; a
//! rejection breaks the rules its reasons cover (photocheck_types::reviewer::rules_of), the
//! most direct one as broken and the others as unjudged, since "over- or under-exposed" does not say
//! which of the two.

use std::path::PathBuf;

use anyhow::{Context as _, Result};
use chrono::{DateTime, NaiveDate, Utc};
use clap::Args;
use photocheck_app::{BlobLocation, Options};
use photocheck_core::intake::sniff;
use photocheck_core::{Format, RuleId};
use photocheck_store::{Blobs, Store};
use photocheck_tune::set::{Label, Sample, SampleSet, SetInfo};
use photocheck_types::reviewer::rules_of;
use photocheck_types::Decision;

use super::super::progress_bar;

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Folder to write the photos, labels.csv and set.toml into (must be new or empty).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Data folder of `photocheck serve` (its SQLite database and uploads), when --database and
    /// --blobs are not given.
    #[arg(
        long,
        env = "PHOTOCHECK_DATA",
        value_name = "DIR",
        default_value = "./photocheck-data"
    )]
    pub data: PathBuf,
    /// Database: sqlite:PATH or postgres://USER@HOST/DB.
    #[arg(long, env = "PHOTOCHECK_DATABASE", value_name = "URL")]
    pub database: Option<String>,
    /// Blob store holding the uploads: a folder, or s3://BUCKET[/PREFIX].
    #[arg(long, env = "PHOTOCHECK_BLOBS", value_name = "DIR|s3://BUCKET")]
    pub blobs: Option<BlobLocation>,
    /// Only decisions made on or after this day (YYYY-MM-DD).
    #[arg(long, value_name = "DATE")]
    pub since: Option<NaiveDate>,
}

pub fn run(args: ExportArgs) -> Result<()> {
    if args.out.exists()
        && std::fs::read_dir(&args.out)
            .with_context(|| format!("cannot read {}", args.out.display()))?
            .next()
            .is_some()
    {
        anyhow::bail!(
            "{} is not empty: export into a new folder so no earlier set is mixed in",
            args.out.display()
        );
    }
    let embedded = Options::embedded(&args.data);
    let database = args.database.unwrap_or(embedded.database);
    let blobs = args.blobs.unwrap_or(embedded.blobs);
    let since = args
        .since
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map_or(DateTime::<Utc>::MIN_UTC, |t| t.and_utc());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the runtime")?;
    let samples = runtime.block_on(export(&database, &blobs, since, &args.out))?;
    let info = SetInfo {
        name: args
            .out
            .file_name()
            .map_or("reviewed".into(), |n| n.to_string_lossy().into_owned()),
        description: format!(
            "Reviewer decisions exported from {} on {}",
            photocheck_app::redact(&database),
            Utc::now().format("%Y-%m-%d")
        ),
        photos: None,
        judged: None,
        // Submissions came by every channel; the set has one, so the check's default (album) stands.
        channel: None,
    };
    SampleSet::write_labels(&args.out, &info, &samples)?;
    let rejected = samples.iter().filter(|s| !s.label.compliant).count();
    eprintln!(
        "photocheck: exported {} reviewed photos ({} approved, {} rejected) to {}",
        samples.len(),
        samples.len() - rejected,
        rejected,
        args.out.display()
    );
    Ok(())
}

async fn export(
    database: &str,
    location: &BlobLocation,
    since: DateTime<Utc>,
    out: &std::path::Path,
) -> Result<Vec<Sample>> {
    let store = Store::connect(database)
        .await
        .with_context(|| format!("opening the database {}", photocheck_app::redact(database)))?;
    let uploads = Blobs::open(location, "uploads").await?;
    let decided = store.decided_reviews(since).await?;
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    let bar = progress_bar(decided.len() as u64);
    let mut samples = Vec::with_capacity(decided.len());
    for item in decided {
        let Some(verdict) = item.reviewed else {
            continue;
        };
        let id = item.submission_id;
        let sub = store
            .get(id)
            .await?
            .with_context(|| format!("review {id} has no submission"))?;
        let bytes = uploads
            .get(&sub.blob_key)
            .await
            .with_context(|| format!("the photo of submission {id} (blob {})", sub.blob_key))?;
        let ext = match sniff(&bytes) {
            Ok(Format::Png) => "png",
            Ok(Format::Webp) => "webp",
            _ => "jpg",
        };
        let file = format!("{id}.{ext}");
        let path = out.join(&file);
        std::fs::write(&path, &bytes)
            .with_context(|| format!("cannot write {}", path.display()))?;
        let mut label = label_of(verdict.decision, &verdict.reasons);
        label.source = format!(
            "reviewed by {} at {}{}",
            verdict.decided_by,
            verdict.decided_at.format("%Y-%m-%dT%H:%MZ"),
            if item.audit {
                " (audit of an approval)"
            } else {
                ""
            }
        );
        let mut note = vec![format!("engine: {}", item.engine_decision)];
        if !verdict.reasons.is_empty() {
            note.push(format!("reasons: {}", verdict.reasons.join(" ")));
        }
        note.extend(verdict.note.filter(|n| !n.is_empty()));
        label.note = note.join("; ");
        samples.push(Sample { file, path, label });
        bar.inc(1);
    }
    bar.finish_and_clear();
    Ok(samples)
}

/// The label a reviewer's decision gives.
fn label_of(decision: Decision, reasons: &[String]) -> Label {
    let mut breaks: Vec<RuleId> = Vec::new();
    let mut unjudged: Vec<RuleId> = Vec::new();
    for code in reasons {
        if let Some((first, rest)) = rules_of(code).split_first() {
            breaks.push(*first);
            unjudged.extend(rest);
        }
    }
    breaks.sort();
    breaks.dedup();
    unjudged.sort();
    unjudged.dedup();
    unjudged.retain(|r| !breaks.contains(r));
    Label {
        compliant: decision == Decision::Approve,
        breaks,
        unjudged,
        ..Label::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_become_broken_and_unjudged_rules() {
        let l = label_of(
            Decision::Reject,
            &["exposure".into(), "hat-glasses-mask".into()],
        );
        assert!(!l.compliant);
        assert_eq!(l.breaks, vec![RuleId::Exposure, RuleId::Headwear]);
        assert_eq!(
            l.unjudged,
            vec![
                RuleId::Brightness,
                RuleId::DynamicRange,
                RuleId::Eyewear,
                RuleId::FaceCovering
            ]
        );
        let ok = label_of(Decision::Approve, &[]);
        assert!(ok.compliant && ok.breaks.is_empty());
        // The direct rule of one reason is not unjudged because another reason also covers it.
        let l = label_of(
            Decision::Reject,
            &["uneven-light".into(), "background-not-white".into()],
        );
        assert!(
            l.breaks.contains(&RuleId::Background) && !l.unjudged.contains(&RuleId::Background)
        );
    }
}
