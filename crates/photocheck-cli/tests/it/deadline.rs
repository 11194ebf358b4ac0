//! `photocheck deadline`.

use std::ffi::OsStr;

use tempfile::TempDir;

use super::*;

fn deadline(args: &[&str]) -> Output {
    let mut all = vec![OsStr::new("deadline")];
    all.extend(args.iter().map(OsStr::new));
    run(&all)
}

#[test]
fn prints_the_deadline_as_one_rfc3339_line() {
    // Friday before the Spring Festival 2026; Saturday the 14th is a make-up working day.
    let out = deadline(&["2026-02-13T16:00:00+08:00"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "2026-02-14T16:00:00+08:00\n"
    );
}

#[test]
fn utc_input_is_answered_in_shanghai_time() {
    let out = deadline(&["2025-11-21T02:15:00Z"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "2025-11-24T10:15:00+08:00\n"
    );
}

#[test]
fn a_year_not_in_the_calendar_gets_a_provisional_deadline_naming_the_year() {
    // Thursday 2026-12-31: the next working day is in 2027, which the built-in calendar lacks. New
    // Year's Day is a holiday in any year, so the provisional answer is Monday 4 January.
    let out = deadline(&["2026-12-31T10:00:00+08:00"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "2027-01-04T10:00:00+08:00\n"
    );
    let err = stderr(&out);
    assert!(err.contains("provisional: 2027 is not in"), "{err}");
    assert!(err.contains("[years.2027]"), "{err}");
    assert!(err.contains("--calendar"), "{err}");
}

#[test]
fn malformed_time_exits_2_with_an_example() {
    let out = deadline(&["2026-02-13 16:00"]);
    assert_eq!(code(&out), 2);
    assert!(out.stdout.is_empty());
    let err = stderr(&out);
    assert!(err.contains("2026-02-13 16:00"), "{err}");
    assert!(err.contains("2026-02-13T16:00:00+08:00"), "{err}");
}

#[test]
fn calendar_file_extends_the_years() {
    let tmp = TempDir::new().expect("temp dir");
    let path = file(
        tmp.path(),
        "calendar.toml",
        br#"timezone = "Asia/Shanghai"
[years.2026]
holidays = []
working_weekends = []
[years.2027]
holidays = ["2027-01-01"]
working_weekends = []
"#,
    );
    let out = deadline(&[
        "2026-12-31T10:00:00+08:00",
        "--calendar",
        path.to_str().expect("a UTF-8 temp path"),
    ]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    // Friday 2027-01-01 is a holiday in this file, so Monday the 4th.
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "2027-01-04T10:00:00+08:00\n"
    );
}

#[test]
fn invalid_calendar_file_exits_2_naming_the_file_and_the_fault() {
    let tmp = TempDir::new().expect("temp dir");
    let path = file(
        tmp.path(),
        "calendar.toml",
        br#"timezone = "Asia/Shanghai"
[years.2026]
holidays = []
working_weekends = ["2026-01-05"]
"#,
    );
    let out = deadline(&[
        "2026-01-05T10:00:00+08:00",
        "--calendar",
        path.to_str().expect("a UTF-8 temp path"),
    ]);
    assert_eq!(code(&out), 2);
    let err = stderr(&out);
    assert!(err.contains("calendar.toml"), "{err}");
    assert!(err.contains("2026-01-05 is a Monday"), "{err}");
}
