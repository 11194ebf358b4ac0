//! `photocheck deadline TIME`: when the screening of a submission received at TIME is due, by the
//! working-day calendar (the built-in one, or `--calendar FILE`).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context as _, Result};
use chrono::{DateTime, FixedOffset};
use clap::Args;
use photocheck_calendar::Calendar;

#[derive(Debug, Args)]
pub struct DeadlineArgs {
    /// When the submission was received: RFC 3339 with its offset, such as 2026-02-13T16:00:00+08:00 or
    /// 2026-02-13T08:00:00Z.
    #[arg(value_name = "TIME", value_parser = parse_time)]
    pub received: DateTime<FixedOffset>,
    /// Working-day calendar (TOML) to use instead of the built-in one, e.g. one extended to next year.
    #[arg(long, value_name = "FILE")]
    pub calendar: Option<PathBuf>,
}

pub fn run(args: DeadlineArgs) -> Result<ExitCode> {
    let (calendar, which) = match &args.calendar {
        None => {
            let calendar = Calendar::builtin();
            let years = calendar
                .years()
                .iter()
                .map(i32::to_string)
                .collect::<Vec<_>>();
            let which = format!(
                "the built-in calendar (years {}; give another with --calendar FILE)",
                years.join(", ")
            );
            (calendar, which)
        }
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read calendar {}", path.display()))?;
            let calendar = Calendar::from_toml(&text)
                .with_context(|| format!("calendar {}", path.display()))?;
            (calendar, format!("calendar {}", path.display()))
        }
    };
    match calendar.deadline(args.received) {
        Ok(due) => println!("{}", due.to_rfc3339()),
        // A year without data still gets a deadline, as the worker gives it, marked provisional.
        Err(photocheck_calendar::CalendarError::YearNotCovered(year)) => {
            let due = calendar.due(args.received);
            println!("{}", due.at.to_rfc3339());
            eprintln!(
                "photocheck: provisional: {year} is not in {which}, so this deadline counts only \
                 weekends and the fixed-date holidays (1 January, 1-2 May, 1-3 October); add a \
                 [years.{year}] table with the published schedule to the calendar file"
            );
        }
        Err(e) => {
            return Err(e).with_context(|| {
                format!(
                    "no deadline for {} with {which}",
                    args.received.to_rfc3339()
                )
            })
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn parse_time(text: &str) -> Result<DateTime<FixedOffset>, String> {
    DateTime::parse_from_rfc3339(text).map_err(|e| {
        format!("not an RFC 3339 time with an offset ({e}); for example 2026-02-13T16:00:00+08:00 or 2026-02-13T08:00:00Z")
    })
}
