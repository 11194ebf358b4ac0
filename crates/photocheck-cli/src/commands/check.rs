//! `photocheck check FILE...`: checks photos one after another and prints a table per photo, or one
//! JSON line per photo in the order given (`--json`); `--annotate DIR` also writes overlays.

use std::fmt::Write as _;
use std::io::{IsTerminal, Write as _};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context as _, Result};
use clap::Args;
use photocheck_core::{Channel, Decision, Format, Profile, Report, RuleResult, Status};

use super::{create_overlay_dir, exit_status, today};
use crate::photo::{self, Line};

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Photos to check (JPEG, PNG or WebP, recognised by content).
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// One JSON object per photo per line, in the order given.
    #[arg(long)]
    pub json: bool,
    /// Write an overlay of each photo's measures to DIR/<file stem>.annotated.png (with the upload
    /// and its crop beside it when the photo was framed) and the framed photo, at archive size, to
    /// DIR/<file stem>.framed.jpg.
    #[arg(long, value_name = "DIR")]
    pub annotate: Option<PathBuf>,
    /// How the photos came: camera (taken in the app: recent by definition), album (its EXIF
    /// capture date decides its age) or stored.
    #[arg(long, default_value = "album", value_name = "CHANNEL")]
    pub channel: Channel,
}

pub fn run(args: CheckArgs, profile: &Profile) -> Result<ExitCode> {
    let ctx = today().via(args.channel);
    let overlays = match &args.annotate {
        Some(dir) => {
            create_overlay_dir(dir)?;
            Some(photo::overlay_paths(dir, &args.files))
        }
        None => None,
    };
    let colour = !args.json && std::io::stdout().is_terminal() && colour_allowed();
    let mut out = std::io::stdout().lock();
    let mut all_approved = true;
    let mut unreadable_path = false;
    for (i, path) in args.files.iter().enumerate() {
        let shown = path.to_string_lossy();
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) => {
                eprintln!("photocheck: cannot read {shown}: {e}");
                unreadable_path = true;
                continue;
            }
        };
        let overlay = overlays.as_ref().map(|o| o[i].as_path());
        let checked = photo::check(&shown, &bytes, profile, &ctx, overlay);
        for w in &checked.warnings {
            eprintln!("photocheck: {w}");
        }
        unreadable_path |= checked.overlay_failed;
        all_approved &= checked.report.decision == Decision::Approve;
        let text = if args.json {
            let line = Line {
                file: &shown,
                report: &checked.report,
            };
            serde_json::to_string(&line)? + "\n"
        } else {
            // A blank line between photos.
            let gap = if i > 0 { "\n" } else { "" };
            format!("{gap}{}", table(&shown, &checked.report, colour))
        };
        out.write_all(text.as_bytes())
            .context("cannot write to stdout")?;
    }
    out.flush().context("cannot write to stdout")?;
    Ok(exit_status(unreadable_path, all_approved))
}

/// Colour unless the user opted out (https://no-color.org).
fn colour_allowed() -> bool {
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// The readable report of one photo: a header, one aligned row per rule, the decision and its reasons
/// in English and Chinese. `colour` adds ANSI colours to statuses and the decision.
fn table(file: &str, r: &Report, colour: bool) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "{file}");
    let mut facts = Vec::new();
    if let Some(f) = r.format {
        facts.push(format_name(f).to_owned());
    }
    if r.width > 0 {
        facts.push(format!("{} x {} px", r.width, r.height));
        facts.push(format!("{} face(s)", r.faces));
    }
    facts.push(format!("{:.1} ms", r.timing_ms));
    facts.push(format!("profile {}", r.profile));
    let _ = writeln!(s, "  {}", facts.join(", "));
    if let Some(f) = &r.framing {
        let _ = writeln!(s, "  {}", framing_line(f));
    }

    if !r.rules.is_empty() {
        const HEADER: [&str; 6] = ["rule", "status", "measured", "unit", "limits", "note"];
        let rows: Vec<[String; 6]> = r.rules.iter().map(row).collect();
        let mut width = HEADER.map(str::len);
        for cells in &rows {
            for (w, c) in width.iter_mut().zip(cells) {
                *w = (*w).max(c.chars().count());
            }
        }
        let header = HEADER.map(str::to_owned);
        let _ = writeln!(s, "{}", render(&header, &width, None));
        for (cells, rule) in rows.iter().zip(&r.rules) {
            let paint = colour.then(|| status_colour(rule));
            let _ = writeln!(s, "{}", render(cells, &width, paint));
        }
    }

    let decision = r.decision.as_str();
    let decision = if colour {
        paint(decision, decision_colour(r.decision))
    } else {
        decision.to_owned()
    };
    let _ = writeln!(s, "  decision: {decision}");
    let code_width = r.reasons.iter().map(|x| x.code.len()).max().unwrap_or(0);
    for reason in &r.reasons {
        let _ = writeln!(s, "    {:<code_width$}  {}", reason.code, reason.message_en);
        let _ = writeln!(s, "    {:<code_width$}  {}", "", reason.message_zh);
    }
    if !r.not_checked.is_empty() {
        let names: Vec<String> = r.not_checked.iter().map(|n| n.rule.to_string()).collect();
        let _ = writeln!(
            s,
            "  not checked: {} (audits catch these)",
            names.join(", ")
        );
    }
    s
}

/// How the judged photo relates to the upload, and the head before and after framing.
fn framing_line(f: &photocheck_core::FramingReport) -> String {
    let c = &f.crop;
    match (f.mode, &f.before) {
        (photocheck_core::framing::Mode::Framed, Some(b)) => format!(
            "framed: crop {:.0},{:.0} {:.0} x {:.0} px of the upload, {:.3} archive px per px; head {} x {} mm before",
            c.x, c.y, c.w, c.h, f.scale, num(b.length_mm), num(b.width_mm)
        ),
        _ => "as submitted".to_owned(),
    }
}

fn row(x: &RuleResult) -> [String; 6] {
    let limits = match (x.min, x.max) {
        (Some(a), Some(b)) if a == b => num(a),
        (Some(a), Some(b)) => format!("{}..{}", num(a), num(b)),
        (Some(a), None) => format!(">= {}", num(a)),
        (None, Some(b)) => format!("<= {}", num(b)),
        (None, None) => String::new(),
    };
    [
        x.rule.to_string(),
        x.status.to_string(),
        x.value.map(num).unwrap_or_else(|| "-".into()),
        x.unit.clone(),
        limits,
        x.note.clone().unwrap_or_default(),
    ]
}

/// One table line: measured right-aligned, the rest left-aligned; padding is added before colouring so
/// escape codes do not upset the alignment.
fn render(cells: &[String; 6], width: &[usize; 6], status_paint: Option<&str>) -> String {
    let mut line = String::from("  ");
    for (i, (cell, &w)) in cells.iter().zip(width).enumerate() {
        let padded = if i == 2 {
            format!("{cell:>w$}")
        } else {
            format!("{cell:<w$}")
        };
        match (i, status_paint) {
            (1, Some(code)) => line.push_str(&paint(&padded, code)),
            _ => line.push_str(&padded),
        }
        line.push_str("  ");
    }
    line.trim_end().to_owned()
}

/// Numbers as a reviewer reads them: two decimals where messages use one.
fn num(v: f64) -> String {
    photocheck_core::messages::format_number(v, 2)
}

fn format_name(f: Format) -> &'static str {
    match f {
        Format::Jpeg => "JPEG",
        Format::Png => "PNG",
        Format::Webp => "WebP",
    }
}

fn status_colour(r: &RuleResult) -> &'static str {
    match r.status {
        Status::Pass => GREEN,
        Status::Uncertain => AMBER,
        Status::Fail if r.unusable => BOLD_RED,
        Status::Fail => RED,
    }
}

fn decision_colour(d: Decision) -> &'static str {
    match d {
        Decision::Approve => GREEN,
        Decision::Review => AMBER,
        Decision::Reject => BOLD_RED,
    }
}

const GREEN: &str = "32";
const AMBER: &str = "33";
const RED: &str = "31";
const BOLD_RED: &str = "1;31";

fn paint(text: &str, sgr: &str) -> String {
    format!("\x1b[{sgr}m{text}\x1b[0m")
}

#[cfg(test)]
mod tests {
    use photocheck_core::{Context, Profile};

    use super::*;

    fn report() -> Report {
        let png = {
            let img = image::RgbImage::from_pixel(260, 378, image::Rgb([255, 255, 255]));
            let mut c = std::io::Cursor::new(Vec::new());
            img.write_to(&mut c, image::ImageFormat::Png)
                .expect("png encodes");
            c.into_inner()
        };
        let ctx = Context::on(chrono::NaiveDate::from_ymd_opt(2025, 6, 1).expect("valid date"));
        photocheck_core::check(&png, &Profile::default_profile(), &ctx)
    }

    #[test]
    fn table_columns_line_up() {
        let r = report();
        let text = table("white.png", &r, false);
        let rows: Vec<&str> = text
            .lines()
            .filter(|l| {
                r.rules
                    .iter()
                    .any(|x| l.starts_with(&format!("  {} ", x.rule)))
            })
            .collect();
        assert_eq!(rows.len(), r.rules.len(), "{text}");
        // The status column starts at the same place on every row.
        let header = text
            .lines()
            .find(|l| l.starts_with("  rule "))
            .expect("a header row");
        let at = header.find("status").expect("status column");
        for l in &rows {
            let status = &l[at..];
            assert!(
                ["pass", "fail", "uncertain"]
                    .iter()
                    .any(|s| status.starts_with(s)),
                "{l}"
            );
        }
        assert!(
            text.contains(&format!("decision: {}", r.decision)),
            "{text}"
        );
        for reason in &r.reasons {
            assert!(text.contains(&reason.message_zh), "{text}");
        }
        assert!(!text.contains('\x1b'));
    }

    #[test]
    fn colour_only_when_asked() {
        let r = report();
        assert!(table("white.png", &r, true).contains("\x1b[1;31mreject\x1b[0m"));
    }
}
