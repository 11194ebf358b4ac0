//! What `photocheck tune --out DIR` writes: report.html (numbers, plots, misjudged photos with their
//! overlays), summary.json and tuned-profile.toml. The thumbnails are drawn from the sample photos, so
//! the folder is for the operator's machine, never for the repository.

mod html;
pub mod plots;

use std::path::{Path, PathBuf};

use image::{imageops, DynamicImage, ImageFormat};
use photocheck_core::{analyse, annotate, Context, Profile};
use rayon::prelude::*;

use crate::check::Checked;
use crate::evaluate::Tuning;

/// Misjudged photos drawn in the report at most; the JSON lists them all.
pub const MAX_THUMBNAILS: usize = 60;

#[derive(Debug, thiserror::Error)]
#[error("cannot write {path}: {source}")]
pub struct WriteError {
    pub path: PathBuf,
    pub source: std::io::Error,
}

/// The files written, for the command to print.
pub struct Written {
    pub report: PathBuf,
    pub summary: PathBuf,
    pub profile: PathBuf,
    pub thumbnails: usize,
}

pub fn write(
    dir: &Path,
    tuning: &Tuning,
    photos: &[Checked],
    profile: &Profile,
    ctx: &Context,
) -> Result<Written, WriteError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| WriteError { path, source }
    };
    let thumbs_dir = dir.join("misjudged");
    std::fs::create_dir_all(&thumbs_dir).map_err(io(&thumbs_dir))?;
    let thumbs: Vec<Option<String>> = tuning
        .summary
        .misjudged
        .par_iter()
        .take(MAX_THUMBNAILS)
        .enumerate()
        .map(|(n, m)| {
            let name = format!("{n:03}.jpg");
            thumbnail(&photos[m.photo], profile, ctx, &thumbs_dir.join(&name))
                .then(|| format!("misjudged/{name}"))
        })
        .collect();

    let summary_path = dir.join("summary.json");
    let json = serde_json::to_string_pretty(&tuning.summary).map_err(|e| WriteError {
        path: summary_path.clone(),
        source: std::io::Error::other(e),
    })?;
    std::fs::write(&summary_path, json + "\n").map_err(io(&summary_path))?;

    let profile_path = dir.join("tuned-profile.toml");
    std::fs::write(&profile_path, tuned_profile_text(tuning)).map_err(io(&profile_path))?;

    let report_path = dir.join("report.html");
    let page = html::page(tuning, profile, &thumbs);
    std::fs::write(&report_path, page).map_err(io(&report_path))?;
    Ok(Written {
        report: report_path,
        summary: summary_path,
        profile: profile_path,
        thumbnails: thumbs.iter().flatten().count(),
    })
}

/// The proposed profile as TOML, headed by what changed and on what evidence.
pub fn tuned_profile_text(tuning: &Tuning) -> String {
    let s = &tuning.summary;
    let mut head = format!(
        "# Proposed by `photocheck tune` on {} from {} labelled photos ({}), starting from profile {:?}.\n\
         # Starting profile: {} false approvals, automation {:.1} %, review {:.1} %, {} wrong rejections.\n\
         # This profile:     {} false approvals, automation {:.1} %, review {:.1} %, {} wrong rejections.\n",
        s.today,
        s.photos,
        s.sets.iter().map(|x| x.name.as_str()).collect::<Vec<_>>().join(", "),
        s.profile,
        s.false_approvals,
        s.automation_rate * 100.0,
        s.review_rate * 100.0,
        s.wrong_rejections,
        s.proposed.false_approvals,
        s.proposed.automation_rate * 100.0,
        s.proposed.review_rate * 100.0,
        s.proposed.wrong_rejections,
    );
    if s.proposed_changes.is_empty() {
        head.push_str("# No change: no limit does better on this set.\n");
    } else {
        head.push_str("# Changes:\n");
        for c in &s.proposed_changes {
            head.push_str(&format!("#   {}: {} -> {}\n", c.key, c.from, c.to));
        }
    }
    head.push_str("# Review the report before shipping it: a set only shows what it contains.\n\n");
    head + &tuning.proposal.profile.to_toml()
}

/// The photo with the engine's overlay, 260 px tall; false when it cannot be drawn or written (the
/// report then shows the entry without a picture).
fn thumbnail(photo: &Checked, profile: &Profile, ctx: &Context, path: &Path) -> bool {
    let Ok(bytes) = std::fs::read(&photo.path) else {
        return false;
    };
    let drawn = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let (report, analysis) = analyse(&bytes, profile, ctx);
        analysis.map(|a| annotate::draw(&a, &report, profile))
    }));
    let Ok(Some(img)) = drawn else {
        return false;
    };
    let h = 260u32;
    let w = ((img.width() as f64 * h as f64 / img.height().max(1) as f64).round() as u32).max(1);
    let small = imageops::resize(&img, w, h, imageops::FilterType::Triangle);
    DynamicImage::ImageRgb8(small)
        .save_with_format(path, ImageFormat::Jpeg)
        .is_ok()
}
