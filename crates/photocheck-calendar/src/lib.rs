//! photocheck-calendar: which days are working days (public holidays and the make-up working weekends,
//! 调休, from a data file the operator extends each year) and when a submission's screening is due.
//!
//! Pure and synchronous; the only I/O is [`Calendar::load`], which reads a data file. A date in a year the
//! file does not list is an error for [`Calendar::deadline`] ([`CalendarError::YearNotCovered`]), because
//! the holidays of a year are only known once the State Council announces them. A service that must
//! still give every submission a deadline asks [`Calendar::due`], which falls back to a provisional rule
//! for such a year (weekends and the fixed-date statutory holidays) and says that it did.

mod file;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use chrono::{
    DateTime, Datelike, FixedOffset, LocalResult, NaiveDate, NaiveTime, Offset, TimeDelta,
    TimeZone, Utc,
};
use chrono_tz::Tz;
use serde::Deserialize;

/// The built-in data file (mainland China, 2025 and 2026), comments included.
pub const BUILTIN: &str = include_str!("../data/cn-working-days.toml");

#[derive(Debug, thiserror::Error)]
pub enum CalendarError {
    /// A day the computation had to look at lies in a year the data file does not list.
    #[error(
        "{0} is not in the working-day calendar: add a [years.{0}] table with that year's holidays and \
         make-up working days to the calendar data file"
    )]
    YearNotCovered(i32),
    #[error("cannot read calendar file {}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The data file does not parse or breaks a rule; the message quotes the offending text.
    #[error("calendar is not valid: {0}")]
    Invalid(String),
}

/// Working days in one time zone for the years a data file lists, and the deadline rule.
#[derive(Debug, Clone)]
pub struct Calendar {
    timezone: Tz,
    rule: Rule,
    office_hours: OfficeHours,
    years: BTreeMap<i32, Year>,
}

/// How a deadline follows from the time a submission is received. A named enum, so the data file says
/// which rule it means and another rule can be added without changing what existing files mean.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
enum Rule {
    /// Received on a working day: the same local clock time on the next working day. Received on any
    /// other day: the end of office hours on the first working day after it.
    #[default]
    SameTimeNextWorkingDay,
}

/// How far ahead [`Calendar::office_hours_between`] counts.
pub const MAX_PLANNING_DAYS: usize = 366;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct OfficeHours {
    /// Not used by [`Rule::SameTimeNextWorkingDay`]; the start of the hours a team works to clear
    /// the backlog ([`Calendar::office_hours_between`]).
    start: NaiveTime,
    end: NaiveTime,
}

impl Default for OfficeHours {
    fn default() -> Self {
        OfficeHours {
            start: NaiveTime::MIN + TimeDelta::hours(9),
            end: NaiveTime::MIN + TimeDelta::hours(17) + TimeDelta::minutes(30),
        }
    }
}

/// One year's exceptions to "Monday to Friday"; validated to be disjoint and in the year.
#[derive(Debug, Clone)]
struct Year {
    holidays: BTreeSet<NaiveDate>,
    working_weekends: BTreeSet<NaiveDate>,
}

impl Calendar {
    /// The built-in calendar ([`BUILTIN`]).
    pub fn builtin() -> Calendar {
        Self::from_toml(BUILTIN).expect("the built-in calendar is valid (tested)")
    }

    /// Parses and validates a data file's text.
    pub fn from_toml(text: &str) -> Result<Calendar, CalendarError> {
        file::parse(text)
    }

    /// Reads, parses and validates a data file.
    pub fn load(path: impl AsRef<Path>) -> Result<Calendar, CalendarError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| CalendarError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::from_toml(&text)
    }

    /// The calendar zone's offset from UTC at `t`, for showing times as the office reads them.
    pub fn offset_at(&self, t: DateTime<Utc>) -> FixedOffset {
        t.with_timezone(&self.timezone).fixed_offset().timezone()
    }

    /// The years the calendar covers, ascending.
    pub fn years(&self) -> Vec<i32> {
        self.years.keys().copied().collect()
    }

    /// The last day the data file covers (31 December of its latest year): from there on deadlines
    /// are provisional, so operators are warned well before it.
    pub fn last_covered_day(&self) -> Option<NaiveDate> {
        let year = *self.years.keys().next_back()?;
        NaiveDate::from_ymd_opt(year, 12, 31)
    }

    /// Whether a deadline for a receipt at `received`, due at `due`, was provisional: either day lies in
    /// a year the data file does not list (read in the calendar's zone).
    pub fn is_provisional(&self, received: DateTime<Utc>, due: DateTime<Utc>) -> bool {
        [received, due].iter().any(|t| {
            let year = t.with_timezone(&self.timezone).year();
            !self.years.contains_key(&year)
        })
    }

    /// Monday to Friday and not a holiday, or a weekend day listed as a make-up working day.
    pub fn is_working_day(&self, day: NaiveDate) -> Result<bool, CalendarError> {
        self.working(day, Fallback::Refuse)
    }

    /// The first working day after `day`.
    pub fn next_working_day(&self, day: NaiveDate) -> Result<NaiveDate, CalendarError> {
        self.next_working(day, Fallback::Refuse)
    }

    /// Office hours on working days between two instants: the time a team working office hours has
    /// to clear what is due at `to` (the supervisor's projection of the backlog). Days in a year the
    /// data file does not list follow the provisional rule, as [`Calendar::due`] does. At most
    /// [`MAX_PLANNING_DAYS`] days are looked at, so a far deadline costs no more than that.
    pub fn office_hours_between(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> f64 {
        if to <= from {
            return 0.0;
        }
        let first = from.with_timezone(&self.timezone).date_naive();
        let last = to.with_timezone(&self.timezone).date_naive();
        let mut seconds = 0i64;
        for day in first
            .iter_days()
            .take_while(|d| *d <= last)
            .take(MAX_PLANNING_DAYS)
        {
            if !self.working(day, Fallback::Provisional).unwrap_or(false) {
                continue;
            }
            let open = self
                .at(day, self.office_hours.start)
                .with_timezone(&Utc)
                .max(from);
            let close = self
                .at(day, self.office_hours.end)
                .with_timezone(&Utc)
                .min(to);
            seconds += (close - open).num_seconds().max(0);
        }
        seconds as f64 / 3600.0
    }

    fn working(&self, day: NaiveDate, fallback: Fallback) -> Result<bool, CalendarError> {
        let Some(year) = self.years.get(&day.year()) else {
            return match fallback {
                Fallback::Refuse => Err(CalendarError::YearNotCovered(day.year())),
                Fallback::Provisional => Ok(provisionally_working(day)),
            };
        };
        Ok(if file::is_weekend(day) {
            year.working_weekends.contains(&day)
        } else {
            !year.holidays.contains(&day)
        })
    }

    fn next_working(&self, day: NaiveDate, fallback: Fallback) -> Result<NaiveDate, CalendarError> {
        let mut next = day;
        loop {
            // Only past year 262143 is there no next day, and no four-digit year table reaches that.
            next = next
                .succ_opt()
                .ok_or(CalendarError::YearNotCovered(next.year() + 1))?;
            if self.working(next, fallback)? {
                return Ok(next);
            }
        }
    }

    /// The deadline as [`Calendar::deadline`] gives it, or, when a day it needs lies in a year the
    /// data file does not list, the deadline by the provisional rule for that year, marked as such.
    /// Never an error: a submission always gets a deadline a reviewer can work to.
    pub fn due<Z: TimeZone>(&self, received: DateTime<Z>) -> Due {
        match self.deadline_with(received.clone(), Fallback::Refuse) {
            Ok(at) => Due {
                at,
                provisional: false,
            },
            Err(_) => Due {
                // Every day has a provisional answer, and there is always a next weekday.
                at: self
                    .deadline_with(received.clone(), Fallback::Provisional)
                    .unwrap_or_else(|_| received.fixed_offset()),
                provisional: true,
            },
        }
    }

    /// When the screening of a submission received at `received` is due, in the calendar's zone.
    ///
    /// `received` is first read as a local date and clock time in the calendar's zone. Received on a
    /// working day: the same clock time on the next working day. That holds outside office hours too, as
    /// the rule is written: Monday 22:45 is due Tuesday 22:45, not at Tuesday's closing. Received on a
    /// weekend or holiday: the end of office hours on the first working day after it.
    ///
    /// Errors with [`CalendarError::YearNotCovered`] when the received date or any day scanned forward lies
    /// in a year the calendar does not list.
    pub fn deadline<Z: TimeZone>(
        &self,
        received: DateTime<Z>,
    ) -> Result<DateTime<FixedOffset>, CalendarError> {
        self.deadline_with(received, Fallback::Refuse)
    }

    fn deadline_with<Z: TimeZone>(
        &self,
        received: DateTime<Z>,
        fallback: Fallback,
    ) -> Result<DateTime<FixedOffset>, CalendarError> {
        let local = received.with_timezone(&self.timezone);
        let day = local.date_naive();
        let due = match self.rule {
            Rule::SameTimeNextWorkingDay => {
                // The received day first, so a submission in an unlisted year names that year.
                let clock = if self.working(day, fallback)? {
                    local.time()
                } else {
                    self.office_hours.end
                };
                self.at(self.next_working(day, fallback)?, clock)
            }
        };
        Ok(due.fixed_offset())
    }

    /// The instant a local date and clock time denote, for zones that shift their clocks.
    fn at(&self, day: NaiveDate, clock: NaiveTime) -> DateTime<Tz> {
        let naive = day.and_time(clock);
        match self.timezone.from_local_datetime(&naive) {
            LocalResult::Single(t) => t,
            // The clock time happens twice as summer time ends: the first, as iCalendar (RFC 5545) reads
            // it, so the deadline is never later than the rule promises.
            LocalResult::Ambiguous(first, _) => first,
            // The clock time is skipped as summer time starts: read it with the offset in force before the
            // gap, as iCalendar (RFC 5545) does, so 02:30 in a 02:00 -> 03:00 gap becomes 03:30.
            LocalResult::None => {
                let before = self
                    .timezone
                    .offset_from_utc_datetime(&(naive - TimeDelta::days(1)))
                    .fix();
                Utc.from_utc_datetime(&(naive - before))
                    .with_timezone(&self.timezone)
            }
        }
    }
}

/// A deadline, and whether it rests on the published schedule or on the provisional rule for a year
/// the data file does not list yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Due {
    pub at: DateTime<FixedOffset>,
    /// A day it depends on lies in a year without data: it may move once the year's schedule is added.
    pub provisional: bool,
}

/// What a computation does with a day in a year the data file does not list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fallback {
    Refuse,
    Provisional,
}

/// The statutory holidays on fixed Gregorian dates (the State Council's holiday regulations as revised
/// for 2025): New Year's Day, Labour Day (1-2 May) and National Day (1-3 October). The others follow the
/// lunar calendar or a solar term, and the make-up working weekends are set each year, so none of them
/// can be known before the year's schedule is published.
const FIXED_DATE_HOLIDAYS: [(u32, u32); 6] = [(1, 1), (5, 1), (5, 2), (10, 1), (10, 2), (10, 3)];

/// The provisional rule for a year without data: Monday to Friday, except the fixed-date holidays.
fn provisionally_working(day: NaiveDate) -> bool {
    !file::is_weekend(day) && !FIXED_DATE_HOLIDAYS.contains(&(day.month(), day.day()))
}

#[cfg(test)]
mod tests {
    use chrono::Weekday;

    use super::*;

    fn date(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
    }

    fn time(text: &str) -> DateTime<FixedOffset> {
        DateTime::parse_from_rfc3339(text).unwrap()
    }

    /// The deadline from the built-in calendar, as RFC 3339.
    fn deadline(received: &str) -> String {
        Calendar::builtin()
            .deadline(time(received))
            .unwrap()
            .to_rfc3339()
    }

    fn weekday(rfc3339_or_date: &str) -> Weekday {
        match DateTime::parse_from_rfc3339(rfc3339_or_date) {
            Ok(t) => t.weekday(),
            Err(_) => date(rfc3339_or_date).weekday(),
        }
    }

    fn working(day: &str) -> bool {
        Calendar::builtin().is_working_day(date(day)).unwrap()
    }

    #[test]
    fn builtin_calendar_is_valid_and_covers_2025_and_2026() {
        let cal = Calendar::builtin();
        assert_eq!(cal.years(), [2025, 2026]);
        assert_eq!(cal.timezone, chrono_tz::Asia::Shanghai);
        assert_eq!(cal.rule, Rule::SameTimeNextWorkingDay);
        assert_eq!(cal.office_hours.end.format("%H:%M").to_string(), "17:30");
        assert_eq!(cal.office_hours, OfficeHours::default());
        let holidays = |y: i32| cal.years[&y].holidays.len();
        assert_eq!(holidays(2025), 1 + 8 + 3 + 5 + 3 + 8);
        assert_eq!(holidays(2026), 3 + 9 + 3 + 5 + 3 + 3 + 7);
    }

    #[test]
    fn builtin_make_up_days_fall_on_the_weekdays_the_data_file_says() {
        for (day, expected) in [
            ("2025-01-26", Weekday::Sun),
            ("2025-02-08", Weekday::Sat),
            ("2025-04-27", Weekday::Sun),
            ("2025-09-28", Weekday::Sun),
            ("2025-10-11", Weekday::Sat),
            ("2026-01-04", Weekday::Sun),
            ("2026-02-14", Weekday::Sat),
            ("2026-02-28", Weekday::Sat),
            ("2026-05-09", Weekday::Sat),
            ("2026-09-20", Weekday::Sun),
            ("2026-10-10", Weekday::Sat),
        ] {
            assert_eq!(weekday(day), expected, "{day}");
            assert!(working(day), "{day}");
        }
    }

    #[test]
    fn working_days() {
        assert!(working("2025-11-21")); // a plain Friday
        assert!(!working("2025-11-22")); // a plain Saturday
        assert!(!working("2025-10-08")); // Wednesday in the National Day holiday
        assert!(!working("2026-01-03")); // a holiday that is also a Saturday
        assert!(working("2026-01-04")); // 调休 Sunday
        assert_eq!(weekday("2025-10-08"), Weekday::Wed);
        assert_eq!(weekday("2026-01-03"), Weekday::Sat);
    }

    #[test]
    fn office_hours_count_working_days_only_and_go_on_provisionally_past_the_data() {
        let cal = Calendar::builtin();
        let hours =
            |from: &str, to: &str| cal.office_hours_between(time(from).to_utc(), time(to).to_utc());
        // Within one day, and from before opening to after closing.
        assert_eq!(
            hours("2026-12-07T10:00:00+08:00", "2026-12-07T12:30:00+08:00"),
            2.5
        );
        assert_eq!(
            hours("2026-12-07T06:00:00+08:00", "2026-12-07T22:00:00+08:00"),
            8.5
        );
        // Friday evening to Monday 10:00: the weekend counts nothing.
        assert_eq!(
            hours("2026-12-11T16:00:00+08:00", "2026-12-14T10:00:00+08:00"),
            2.5
        );
        // The National Day week counts nothing, its make-up Saturday counts a day.
        assert_eq!(
            hours("2026-09-30T17:30:00+08:00", "2026-10-10T17:30:00+08:00"),
            3.0 * 8.5
        );
        // Into 2027 (not in the data): New Year's Day is off by the provisional rule.
        assert_eq!(
            hours("2026-12-31T17:30:00+08:00", "2027-01-04T10:00:00+08:00"),
            1.0
        );
        assert_eq!(
            hours("2026-12-07T12:00:00+08:00", "2026-12-07T10:00:00+08:00"),
            0.0
        );
    }

    #[test]
    fn across_a_weekend() {
        assert_eq!(weekday("2025-11-21"), Weekday::Fri);
        assert_eq!(weekday("2025-11-24"), Weekday::Mon);
        assert_eq!(
            deadline("2025-11-21T10:15:00+08:00"),
            "2025-11-24T10:15:00+08:00"
        );
    }

    #[test]
    fn into_a_make_up_saturday_before_spring_festival_2026() {
        assert_eq!(weekday("2026-02-13"), Weekday::Fri);
        assert_eq!(weekday("2026-02-14"), Weekday::Sat);
        assert_eq!(
            deadline("2026-02-13T16:00:00+08:00"),
            "2026-02-14T16:00:00+08:00"
        );
    }

    #[test]
    fn from_a_make_up_saturday_across_spring_festival_2026() {
        assert_eq!(weekday("2026-02-24"), Weekday::Tue);
        assert_eq!(
            deadline("2026-02-14T16:00:00+08:00"),
            "2026-02-24T16:00:00+08:00"
        );
    }

    #[test]
    fn on_and_into_a_make_up_sunday() {
        assert_eq!(weekday("2025-09-26"), Weekday::Fri);
        assert_eq!(weekday("2025-09-28"), Weekday::Sun);
        assert_eq!(weekday("2025-09-29"), Weekday::Mon);
        assert_eq!(
            deadline("2025-09-26T15:00:00+08:00"),
            "2025-09-28T15:00:00+08:00"
        );
        assert_eq!(
            deadline("2025-09-28T15:00:00+08:00"),
            "2025-09-29T15:00:00+08:00"
        );
    }

    #[test]
    fn across_new_year_2026_into_a_make_up_sunday() {
        assert_eq!(weekday("2025-12-31"), Weekday::Wed);
        assert_eq!(weekday("2026-01-04"), Weekday::Sun);
        assert_eq!(
            deadline("2025-12-31T11:20:00+08:00"),
            "2026-01-04T11:20:00+08:00"
        );
    }

    #[test]
    fn received_on_a_holiday_is_due_at_the_end_of_office_hours() {
        assert_eq!(weekday("2026-10-03"), Weekday::Sat);
        assert_eq!(weekday("2026-10-08"), Weekday::Thu);
        assert_eq!(
            deadline("2026-10-03T12:00:00+08:00"),
            "2026-10-08T17:30:00+08:00"
        );
    }

    #[test]
    fn received_on_a_plain_saturday_is_due_monday_at_the_end_of_office_hours() {
        assert_eq!(weekday("2025-11-22"), Weekday::Sat);
        assert_eq!(weekday("2025-11-24"), Weekday::Mon);
        assert_eq!(
            deadline("2025-11-22T09:45:00+08:00"),
            "2025-11-24T17:30:00+08:00"
        );
    }

    #[test]
    fn received_after_office_hours_keeps_the_clock_time() {
        assert_eq!(weekday("2025-11-24"), Weekday::Mon);
        assert_eq!(
            deadline("2025-11-24T22:45:00+08:00"),
            "2025-11-25T22:45:00+08:00"
        );
    }

    #[test]
    fn utc_input_is_read_as_shanghai_time() {
        // 23:30 UTC on Friday is 07:30 on the make-up Saturday in Shanghai.
        let received = Utc.with_ymd_and_hms(2026, 2, 13, 23, 30, 0).unwrap();
        assert_eq!(received.weekday(), Weekday::Fri);
        let due = Calendar::builtin().deadline(received).unwrap();
        assert_eq!(due.to_rfc3339(), "2026-02-24T07:30:00+08:00");
        assert_eq!(
            deadline("2026-02-13T23:30:00Z"),
            "2026-02-24T07:30:00+08:00"
        );
    }

    #[test]
    fn fractions_of_a_second_are_kept() {
        assert_eq!(
            deadline("2025-11-21T10:15:30.250+08:00"),
            "2025-11-24T10:15:30.250+08:00"
        );
    }

    #[test]
    fn a_year_not_in_the_calendar_is_an_error() {
        let cal = Calendar::builtin();
        let err = cal.deadline(time("2024-06-03T10:00:00+08:00")).unwrap_err();
        assert!(
            matches!(err, CalendarError::YearNotCovered(2024)),
            "{err:?}"
        );
        assert!(err.to_string().contains("[years.2024]"), "{err}");
        // 2024-12-31 is a Tuesday, and its next working day is in 2025, but the received day counts.
        assert!(matches!(
            cal.deadline(time("2024-12-31T10:00:00+08:00")),
            Err(CalendarError::YearNotCovered(2024))
        ));
        assert!(matches!(
            cal.is_working_day(date("2027-03-01")),
            Err(CalendarError::YearNotCovered(2027))
        ));
    }

    #[test]
    fn a_deadline_spilling_into_a_year_not_in_the_calendar_is_an_error() {
        assert_eq!(weekday("2026-12-31"), Weekday::Thu);
        let err = Calendar::builtin()
            .deadline(time("2026-12-31T10:00:00+08:00"))
            .unwrap_err();
        assert!(
            matches!(err, CalendarError::YearNotCovered(2027)),
            "{err:?}"
        );
        // The day before still fits.
        assert_eq!(
            deadline("2026-12-30T10:00:00+08:00"),
            "2026-12-31T10:00:00+08:00"
        );
    }

    #[test]
    fn received_in_utc_on_the_last_evening_of_a_covered_year_is_in_the_next() {
        // 2026-12-31T18:00Z is 2027-01-01 02:00 in Shanghai.
        assert!(matches!(
            Calendar::builtin().deadline(time("2026-12-31T18:00:00Z")),
            Err(CalendarError::YearNotCovered(2027))
        ));
    }

    #[test]
    fn load_reads_a_file_and_names_a_missing_one() {
        let dir = tempfile::TempDir::new().unwrap();
        let path = dir.path().join("calendar.toml");
        std::fs::write(
            &path,
            "timezone = \"Asia/Shanghai\"\n[years.2027]\nholidays = [\"2027-01-01\"]\nworking_weekends = []\n",
        )
        .unwrap();
        let cal = Calendar::load(&path).unwrap();
        assert_eq!(cal.years(), [2027]);
        assert!(!cal.is_working_day(date("2027-01-01")).unwrap());
        let missing = dir.path().join("missing.toml");
        let err = Calendar::load(&missing).unwrap_err();
        assert!(err.to_string().contains("missing.toml"), "{err}");
    }

    #[test]
    fn skipped_and_repeated_clock_times_in_a_zone_with_summer_time() {
        // Europe/Berlin: clocks go 02:00 -> 03:00 on Sunday 2026-03-29 and 03:00 -> 02:00 on Sunday
        // 2026-10-25; those weekends are declared working so the deadlines land on them.
        assert_eq!(weekday("2026-03-29"), Weekday::Sun);
        assert_eq!(weekday("2026-10-25"), Weekday::Sun);
        let cal = Calendar::from_toml(
            r#"timezone = "Europe/Berlin"
[years.2026]
holidays = []
working_weekends = ["2026-03-28..2026-03-29", "2026-10-24..2026-10-25"]
"#,
        )
        .unwrap();
        let due = |t: &str| cal.deadline(time(t)).unwrap().to_rfc3339();
        assert_eq!(
            due("2026-03-28T02:30:00+01:00"),
            "2026-03-29T03:30:00+02:00"
        );
        assert_eq!(
            due("2026-10-24T02:30:00+02:00"),
            "2026-10-25T02:30:00+02:00"
        );
    }

    #[test]
    fn a_year_without_data_gets_a_provisional_deadline_never_none() {
        let cal = Calendar::builtin();
        assert_eq!(cal.last_covered_day(), Some(date("2026-12-31")));
        // Within the data: the published schedule, not provisional.
        let due = cal.due(time("2026-12-30T10:00:00+08:00"));
        assert_eq!(due.at.to_rfc3339(), "2026-12-31T10:00:00+08:00");
        assert!(!due.provisional);
        // Thursday 31 December 2026: Friday 1 January 2027 is New Year's Day, a fixed-date holiday in
        // any year, so the provisional next working day is Monday 4 January.
        assert!(cal.deadline(time("2026-12-31T10:00:00+08:00")).is_err());
        let due = cal.due(time("2026-12-31T10:00:00+08:00"));
        assert_eq!(due.at.to_rfc3339(), "2027-01-04T10:00:00+08:00");
        assert!(due.provisional);
        // National Day 2027 (Friday 1 October): received Thursday 30 September, due on Monday 4
        // October, after the fixed holidays and the weekend; the published schedule may well extend
        // the holiday, which is why the deadline is provisional.
        let due = cal.due(time("2027-09-30T09:00:00+08:00"));
        assert_eq!(due.at.to_rfc3339(), "2027-10-04T09:00:00+08:00");
        assert!(due.provisional);
        // Received on a Saturday without data: the end of office hours on the Monday.
        let due = cal.due(time("2027-03-06T11:00:00+08:00"));
        assert_eq!(due.at.to_rfc3339(), "2027-03-08T17:30:00+08:00");
        // What the pages and the API tell from a stored receipt and deadline.
        let utc = |t: &str| time(t).with_timezone(&Utc);
        assert!(cal.is_provisional(
            utc("2026-12-31T10:00:00+08:00"),
            utc("2027-01-04T10:00:00+08:00")
        ));
        assert!(!cal.is_provisional(
            utc("2026-12-30T10:00:00+08:00"),
            utc("2026-12-31T10:00:00+08:00")
        ));
        // 1 January 00:30 in Shanghai is still 2026 in UTC: the calendar's zone decides.
        assert!(cal.is_provisional(
            utc("2026-12-31T12:00:00+08:00"),
            utc("2027-01-01T00:30:00+08:00")
        ));
    }
}
