//! The calendar data file: what the operator writes each year, parsed and checked in full before any
//! deadline is computed from it.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Datelike, NaiveDate, NaiveTime, Weekday};
use chrono_tz::Tz;
use serde::Deserialize;

use crate::{Calendar, CalendarError, OfficeHours, Rule, Year};

/// The file as written; see `data/cn-working-days.toml` for a commented example.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    /// IANA zone name, such as "Asia/Shanghai".
    timezone: String,
    /// Default: same-time-next-working-day.
    #[serde(default)]
    rule: Rule,
    /// Default: 09:00 to 17:30.
    office_hours: Option<OfficeHoursText>,
    /// Keyed by the year, as in `[years.2026]`.
    years: BTreeMap<String, YearText>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct OfficeHoursText {
    /// "HH:MM", local time.
    start: toml::Value,
    /// "HH:MM", local time.
    end: toml::Value,
}

/// Both lists are required, so a table added as a placeholder cannot pass for a year without holidays.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct YearText {
    /// Days or inclusive ranges that are not working days.
    holidays: Vec<toml::Value>,
    /// Saturdays and Sundays that are working days (调休).
    working_weekends: Vec<toml::Value>,
}

pub(crate) fn parse(text: &str) -> Result<Calendar, CalendarError> {
    let file: File = toml::from_str(text).map_err(|e| CalendarError::Invalid(e.to_string()))?;
    let timezone: Tz = file.timezone.parse().map_err(|_| {
        invalid(format!(
            "timezone: {:?} is not an IANA time zone name (such as \"Asia/Shanghai\")",
            file.timezone
        ))
    })?;
    let office_hours = match file.office_hours {
        None => OfficeHours::default(),
        Some(text) => {
            let start = time("office_hours.start", &text.start)?;
            let end = time("office_hours.end", &text.end)?;
            if start >= end {
                return Err(invalid(format!(
                    "office_hours: start {} is not before end {}",
                    start.format("%H:%M"),
                    end.format("%H:%M")
                )));
            }
            OfficeHours { start, end }
        }
    };
    if file.years.is_empty() {
        return Err(invalid(
            "years: no year listed; add a table such as [years.2026]".into(),
        ));
    }
    let mut years = BTreeMap::new();
    for (key, text) in &file.years {
        let year = year_key(key)?;
        years.insert(year, parse_year(year, text)?);
    }
    Ok(Calendar {
        timezone,
        rule: file.rule,
        office_hours,
        years,
    })
}

fn parse_year(year: i32, text: &YearText) -> Result<Year, CalendarError> {
    let holidays = days(year, "holidays", &text.holidays)?;
    let working_weekends = days(year, "working_weekends", &text.working_weekends)?;
    if let Some(day) = working_weekends.iter().find(|d| !is_weekend(**d)) {
        return Err(invalid(format!(
            "years.{year}.working_weekends: {day} is a {}, not a Saturday or a Sunday",
            day.format("%A")
        )));
    }
    if let Some(day) = holidays.intersection(&working_weekends).next() {
        return Err(invalid(format!(
            "years.{year}: {day} is listed both as a holiday and as a working weekend"
        )));
    }
    Ok(Year {
        holidays,
        working_weekends,
    })
}

/// Every day the list names, ranges expanded.
fn days(
    year: i32,
    field: &str,
    entries: &[toml::Value],
) -> Result<BTreeSet<NaiveDate>, CalendarError> {
    let mut out = BTreeSet::new();
    for entry in entries {
        let entry = &as_text(entry);
        let bad_syntax = || {
            invalid(format!(
                "years.{year}.{field}: {entry:?} is not a date or a range of dates \
                 (write \"YYYY-MM-DD\" or \"YYYY-MM-DD..YYYY-MM-DD\")"
            ))
        };
        let (first, last) = match entry.split_once("..") {
            Some((a, b)) => (
                date(a).ok_or_else(bad_syntax)?,
                date(b).ok_or_else(bad_syntax)?,
            ),
            None => {
                let d = date(entry).ok_or_else(bad_syntax)?;
                (d, d)
            }
        };
        if first.year() != year || last.year() != year {
            return Err(invalid(format!(
                "years.{year}.{field}: {entry:?} is not in {year}"
            )));
        }
        if last < first {
            return Err(invalid(format!(
                "years.{year}.{field}: {entry:?} ends before it starts"
            )));
        }
        // Both ends lie in one year, so this walks at most 366 days.
        out.extend(first.iter_days().take_while(|d| *d <= last));
    }
    Ok(out)
}

fn date(text: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").ok()
}

fn time(field: &str, value: &toml::Value) -> Result<NaiveTime, CalendarError> {
    let text = as_text(value);
    let text = text.trim();
    // Seconds too, because a bare TOML time (`end = 17:30`) reads back as "17:30:00".
    NaiveTime::parse_from_str(text, "%H:%M")
        .or_else(|_| NaiveTime::parse_from_str(text, "%H:%M:%S"))
        .map_err(|_| {
            invalid(format!(
                "{field}: {text:?} is not a time (write \"HH:MM\", such as \"17:30\")"
            ))
        })
}

/// Four digits, so every date the calendar can reach has a successor and prints as `YYYY-MM-DD`.
fn year_key(key: &str) -> Result<i32, CalendarError> {
    match key.parse::<i32>() {
        Ok(year) if key.len() == 4 && key.bytes().all(|b| b.is_ascii_digit()) => Ok(year),
        _ => Err(invalid(format!(
            "years: {key:?} is not a year (write four digits, as in [years.2026])"
        ))),
    }
}

pub(crate) fn is_weekend(day: NaiveDate) -> bool {
    matches!(day.weekday(), Weekday::Sat | Weekday::Sun)
}

/// A value's text, so that bare TOML dates and times (`2026-01-01`, unquoted) are read like quoted ones and
/// anything else is quoted back in the error.
fn as_text(value: &toml::Value) -> String {
    match value {
        toml::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn invalid(message: String) -> CalendarError {
    CalendarError::Invalid(message)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A one-year calendar with the given year table body.
    fn with_year(year: &str, body: &str) -> Result<Calendar, CalendarError> {
        Calendar::from_toml(&format!(
            "timezone = \"Asia/Shanghai\"\n[years.{year}]\n{body}\n"
        ))
    }

    fn message(result: Result<Calendar, CalendarError>) -> String {
        match result {
            Ok(c) => panic!("accepted: {c:?}"),
            Err(e) => e.to_string(),
        }
    }

    fn assert_refused(result: Result<Calendar, CalendarError>, needles: &[&str]) {
        let message = message(result);
        for needle in needles {
            assert!(message.contains(needle), "{needle:?} not in: {message}");
        }
    }

    #[test]
    fn ranges_are_inclusive_and_defaults_apply() {
        let cal = with_year(
            "2025",
            r#"holidays = ["2025-01-28..2025-02-04"]
working_weekends = []"#,
        )
        .unwrap();
        assert_eq!(cal.years[&2025].holidays.len(), 8);
        assert_eq!(cal.rule, Rule::SameTimeNextWorkingDay);
        assert_eq!(cal.office_hours, OfficeHours::default());
        assert_eq!(
            cal.office_hours.end,
            NaiveTime::from_hms_opt(17, 30, 0).unwrap()
        );
    }

    #[test]
    fn bare_toml_dates_and_times_read_like_quoted_ones() {
        let cal = Calendar::from_toml(
            "timezone = \"Asia/Shanghai\"\n[office_hours]\nstart = 08:30\nend = 17:00:00\n\
             [years.2026]\nholidays = [2026-01-01, \"2026-01-02..2026-01-03\"]\nworking_weekends = [2026-01-04]\n",
        )
        .unwrap();
        assert_eq!(cal.years[&2026].holidays.len(), 3);
        assert_eq!(cal.years[&2026].working_weekends.len(), 1);
        assert_eq!(
            cal.office_hours.start,
            NaiveTime::from_hms_opt(8, 30, 0).unwrap()
        );
        assert_eq!(
            cal.office_hours.end,
            NaiveTime::from_hms_opt(17, 0, 0).unwrap()
        );
        assert_refused(
            with_year("2026", "holidays = [20260101]\nworking_weekends = []"),
            &["\"20260101\" is not a date"],
        );
        assert_refused(
            with_year(
                "2026",
                "holidays = [2026-01-01T00:00:00]\nworking_weekends = []",
            ),
            &["\"2026-01-01T00:00:00\" is not a date"],
        );
    }

    #[test]
    fn bad_date_syntax_names_the_offending_text() {
        assert_refused(
            with_year("2025", "holidays = [\"2025-02-30\"]\nworking_weekends = []"),
            &["years.2025.holidays", "\"2025-02-30\"", "YYYY-MM-DD"],
        );
        assert_refused(
            with_year(
                "2025",
                "holidays = [\"2025-01-28...2025-02-04\"]\nworking_weekends = []",
            ),
            &["\"2025-01-28...2025-02-04\""],
        );
        assert_refused(
            with_year(
                "2025",
                "holidays = []\nworking_weekends = [\"26 Jan 2025\"]",
            ),
            &["years.2025.working_weekends", "\"26 Jan 2025\""],
        );
    }

    #[test]
    fn dates_must_lie_in_their_year() {
        assert_refused(
            with_year("2025", "holidays = [\"2026-01-01\"]\nworking_weekends = []"),
            &["\"2026-01-01\" is not in 2025"],
        );
        assert_refused(
            with_year(
                "2025",
                "holidays = [\"2025-12-31..2026-01-03\"]\nworking_weekends = []",
            ),
            &["\"2025-12-31..2026-01-03\" is not in 2025"],
        );
    }

    #[test]
    fn backwards_range_is_refused() {
        assert_refused(
            with_year(
                "2025",
                "holidays = [\"2025-02-04..2025-01-28\"]\nworking_weekends = []",
            ),
            &["ends before it starts"],
        );
    }

    #[test]
    fn working_weekend_on_a_weekday_is_refused() {
        let monday = NaiveDate::from_ymd_opt(2025, 1, 27).unwrap();
        assert_eq!(monday.weekday(), Weekday::Mon);
        assert_refused(
            with_year("2025", "holidays = []\nworking_weekends = [\"2025-01-27\"]"),
            &["2025-01-27 is a Monday, not a Saturday or a Sunday"],
        );
    }

    #[test]
    fn day_both_holiday_and_working_weekend_is_refused() {
        assert_refused(
            with_year(
                "2025",
                "holidays = [\"2025-01-25..2025-01-27\"]\nworking_weekends = [\"2025-01-26\"]",
            ),
            &["2025-01-26 is listed both as a holiday and as a working weekend"],
        );
    }

    #[test]
    fn year_tables_need_both_lists() {
        assert_refused(
            with_year("2027", "holidays = [\"2027-01-01\"]"),
            &["working_weekends"],
        );
        assert_refused(with_year("2027", ""), &["holidays"]);
    }

    #[test]
    fn year_key_must_be_four_digits() {
        assert_refused(
            with_year("25", "holidays = []\nworking_weekends = []"),
            &["\"25\" is not a year"],
        );
        assert_refused(
            with_year("\"+2025\"", "holidays = []\nworking_weekends = []"),
            &["\"+2025\" is not a year"],
        );
    }

    #[test]
    fn a_calendar_needs_a_year() {
        assert_refused(
            Calendar::from_toml("timezone = \"Asia/Shanghai\"\n[years]\n"),
            &["no year listed"],
        );
    }

    #[test]
    fn unknown_fields_are_refused() {
        assert_refused(
            with_year(
                "2025",
                "holidays = []\nworking_weekends = []\nworking_weekend = [\"2025-01-26\"]",
            ),
            &["working_weekend"],
        );
        assert_refused(
            Calendar::from_toml(
                "timezone = \"Asia/Shanghai\"\nzone = \"UTC\"\n[years.2025]\nholidays = []\nworking_weekends = []\n",
            ),
            &["zone"],
        );
    }

    #[test]
    fn unknown_timezone_rule_and_bad_office_hours_are_refused() {
        let year = "[years.2025]\nholidays = []\nworking_weekends = []\n";
        assert_refused(
            Calendar::from_toml(&format!("timezone = \"Asia/Shangai\"\n{year}")),
            &["\"Asia/Shangai\" is not an IANA time zone"],
        );
        assert_refused(
            Calendar::from_toml(&format!(
                "timezone = \"Asia/Shanghai\"\nrule = \"next-working-day\"\n{year}"
            )),
            &["next-working-day", "same-time-next-working-day"],
        );
        assert_refused(
            Calendar::from_toml(&format!(
                "timezone = \"Asia/Shanghai\"\n[office_hours]\nstart = \"09:00\"\nend = \"5pm\"\n{year}"
            )),
            &["office_hours.end", "\"5pm\" is not a time"],
        );
        assert_refused(
            Calendar::from_toml(&format!(
                "timezone = \"Asia/Shanghai\"\n[office_hours]\nstart = \"17:30\"\nend = \"09:00\"\n{year}"
            )),
            &["start 17:30 is not before end 09:00"],
        );
    }

    #[test]
    fn toml_syntax_errors_are_reported() {
        assert_refused(
            Calendar::from_toml("timezone = Asia/Shanghai\n"),
            &["line 1"],
        );
    }
}
