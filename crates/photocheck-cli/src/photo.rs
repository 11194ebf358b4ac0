//! One photo file as the commands handle it: checked (analysed when an overlay is wanted), the overlay
//! written, the JSON line shaped. `check` and `batch` share this so their lines and overlays agree.

use std::collections::HashSet;
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};

use image::ImageFormat;
use photocheck_core::{annotate, archive, Context, Decision, Profile, Report};
use serde::Serialize;

/// A report with the path it was made for: one line of `check --json` and of `batch`.
#[derive(Serialize)]
pub struct Line<'a> {
    pub file: &'a str,
    #[serde(flatten)]
    pub report: &'a Report,
}

/// The outcome of checking one photo file.
pub struct Checked {
    pub report: Report,
    /// Things the user should hear about on stderr; the report stands regardless.
    pub warnings: Vec<String>,
    /// An overlay was asked for and could not be written.
    pub overlay_failed: bool,
}

/// Checks a photo's bytes; with `overlay`, also draws the overlay and writes it there as PNG.
///
/// A panic inside the engine becomes a `review` report with the error attached, so one bad photo
/// neither ends a batch of thousands nor disappears from its results.
pub fn check(
    shown: &str,
    bytes: &[u8],
    profile: &Profile,
    ctx: &Context,
    overlay: Option<&Path>,
) -> Checked {
    let run = AssertUnwindSafe(|| check_unguarded(shown, bytes, profile, ctx, overlay));
    std::panic::catch_unwind(run).unwrap_or_else(|panic| {
        let why = photocheck_core::panic_message(panic.as_ref());
        Checked {
            warnings: vec![format!("the check of {shown} failed: {why}")],
            report: Report::check_failed(&why, profile),
            overlay_failed: false,
        }
    })
}

fn check_unguarded(
    shown: &str,
    bytes: &[u8],
    profile: &Profile,
    ctx: &Context,
    overlay: Option<&Path>,
) -> Checked {
    let Some(overlay) = overlay else {
        return Checked {
            report: photocheck_core::check(bytes, profile, ctx),
            warnings: Vec::new(),
            overlay_failed: false,
        };
    };
    // Only overlays need the intermediate images; `check` drops them at once.
    let (report, analysis) = photocheck_core::analyse(bytes, profile, ctx);
    let mut warnings = Vec::new();
    let mut overlay_failed = false;
    match analysis {
        Some(analysis) => {
            let drawn = annotate::draw(&analysis, &report, profile);
            if let Err(e) = drawn.save_with_format(overlay, ImageFormat::Png) {
                warnings.push(format!("cannot write {}: {e}", overlay.display()));
                overlay_failed = true;
            }
            if report.framed() {
                // What the archive would hold: the crop at archive size, 300 dpi.
                let framed = framed_path(overlay);
                match archive::from_image(&analysis.image, profile) {
                    Ok(copy) => {
                        if let Err(e) = std::fs::write(&framed, &copy.jpeg) {
                            warnings.push(format!("cannot write {}: {e}", framed.display()));
                            overlay_failed = true;
                        }
                    }
                    Err(e) => warnings.push(format!("no framed photo for {shown}: {e}")),
                }
            }
        }
        None => warnings.push(format!(
            "no overlay for {shown}: the image could not be read"
        )),
    }
    Checked {
        report,
        warnings,
        overlay_failed,
    }
}

/// `dir/x.annotated.png` -> `dir/x.framed.jpg`.
fn framed_path(overlay: &Path) -> PathBuf {
    let name = overlay
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let stem = name.strip_suffix(".annotated.png").unwrap_or(&name);
    overlay.with_file_name(format!("{stem}.framed.jpg"))
}

/// The report for a file that could not even be read from disk: rejected, with the error attached, so
/// a batch never drops a file silently.
pub fn unreadable_file(err: &std::io::Error, profile: &Profile) -> Report {
    Report::not_checked(
        Decision::Reject,
        "unreadable-file",
        format!("The file could not be read: {err}"),
        "无法读取文件，请重新上传照片".into(),
        err.to_string(),
        profile,
    )
}

/// The report for a photo the engine failed on: nothing is known about the photo, so a person decides.
/// Where each photo's overlay goes: `dir/<stem>.annotated.png`. When photos share a stem (`a/x.jpg` and
/// `b/x.jpg`, or `x.jpg` and `x.png`) the later ones get their whole file name, then a number, so no
/// overlay overwrites another.
pub fn overlay_paths(dir: &Path, files: &[PathBuf]) -> Vec<PathBuf> {
    let mut taken = HashSet::new();
    files
        .iter()
        .map(|f| {
            let stem = f.file_stem().unwrap_or_else(|| f.as_os_str()).to_owned();
            let name = f.file_name().unwrap_or_else(|| f.as_os_str()).to_owned();
            let mut candidates = [stem, name.clone()].into_iter().chain((2..).map(|n| {
                let mut s = name.clone();
                s.push(format!(".{n}"));
                s
            }));
            let base = candidates
                .find(|c| taken.insert(c.clone()))
                .expect("the numbered candidates never run out");
            let mut file = base;
            file.push(".annotated.png");
            dir.join(file)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlay_paths_never_collide() {
        let files: Vec<PathBuf> = ["a/x.jpg", "b/x.jpg", "x.png", "y.webp", "x.jpg"]
            .iter()
            .map(PathBuf::from)
            .collect();
        let got = overlay_paths(Path::new("out"), &files);
        let want = [
            "out/x.annotated.png",
            "out/x.jpg.annotated.png",
            "out/x.png.annotated.png",
            "out/y.annotated.png",
            "out/x.jpg.2.annotated.png",
        ];
        assert_eq!(got, want.iter().map(PathBuf::from).collect::<Vec<_>>());
    }

    #[test]
    fn unreadable_file_is_a_reject_line_with_the_error() {
        let err = std::io::Error::new(std::io::ErrorKind::PermissionDenied, "denied");
        let report = unreadable_file(&err, &Profile::default_profile());
        let line = serde_json::to_value(Line {
            file: "x.jpg",
            report: &report,
        })
        .expect("serialises");
        assert_eq!(line["decision"], "reject");
        assert_eq!(line["reasons"][0]["code"], "unreadable-file");
        assert_eq!(line["error"]["message"], "denied");
    }

    #[test]
    fn a_failed_check_goes_to_review_with_the_error() {
        let report = Report::check_failed("index out of bounds", &Profile::default_profile());
        assert_eq!(report.decision, Decision::Review);
        assert_eq!(report.reasons[0].code, "check-failed");
        let error = report.error.expect("the error is attached");
        assert_eq!(error.message, "index out of bounds");
    }
}
