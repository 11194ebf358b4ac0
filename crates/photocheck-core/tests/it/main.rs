//! Integration tests of the check engine on the real photographs in ../shared/photos/raw (described in
//! ../shared/photos/SOURCES.md). The photos are third-party and never copied into the repository: they
//! are read by relative path at run time, and every test that needs them skips, loudly, when they are
//! missing. Expectations are what a careful human looking at the photo would agree with.

mod framing;
mod frontal;
mod geometry;
mod inputs;
mod photos;
mod rejudge;

use std::collections::BTreeMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::sync::OnceLock;

use chrono::NaiveDate;
use photocheck_core::{check, Context, Profile, Report};

/// The photo folder, relative to this crate: <workspace>/../shared/photos/raw.
fn photo_dir() -> PathBuf {
    shared_photos("raw")
}

/// A folder of ../shared/photos (`raw`, `frontal`), relative to this crate.
fn shared_photos(folder: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/photos")
        .join(folder)
}

/// The photo folder, or `None` after saying loudly that the test is skipped.
fn photos_or_skip(test: &str) -> Option<PathBuf> {
    folder_or_skip(test, photo_dir())
}

/// `dir`, or `None` after saying loudly that the test is skipped.
fn folder_or_skip(test: &str, dir: PathBuf) -> Option<PathBuf> {
    if dir.is_dir() {
        return Some(dir);
    }
    // Under CI (PHOTOCHECK_REQUIRE_PHOTOS set, as .ci/run does) a missing photo folder fails the test:
    // a green run must have looked at the photos.
    assert!(
        std::env::var_os("PHOTOCHECK_REQUIRE_PHOTOS").is_none(),
        "{test}: test photos not found at {}",
        dir.display()
    );
    eprintln!(
        "\n!!!! SKIPPED {test}: test photos not found at {} !!!!\n\
         !!!! (clone the project beside ../shared; CI always has them)   !!!!\n",
        dir.display()
    );
    None
}

/// A fixed "today" so recency never depends on the day the tests run.
fn ctx() -> Context {
    Context::on(NaiveDate::from_ymd_opt(2026, 6, 1).expect("valid date"))
}

fn profile() -> &'static Profile {
    static PROFILE: OnceLock<Profile> = OnceLock::new();
    PROFILE.get_or_init(Profile::default_profile)
}

/// Checks bytes, turning a panic into an `Err` with its message so one bad photo names itself.
fn check_caught(bytes: &[u8]) -> Result<Report, String> {
    catch_unwind(AssertUnwindSafe(|| check(bytes, profile(), &ctx())))
        .map_err(|p| photocheck_core::panic_message(p.as_ref()))
}

/// One row of the SOURCES.md file table.
#[derive(Debug, Clone)]
struct Source {
    file: String,
    category: String,
}

const CATEGORIES: [&str; 7] = ["ID-W", "ID-C", "NC", "SP", "GRP", "NF", "TECH"];

/// The file table of SOURCES.md, parsed at run time: rows `| file | category | ...`.
fn sources(dir: &std::path::Path) -> Vec<Source> {
    let path = dir.join("../SOURCES.md");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    text.lines()
        .filter_map(|line| {
            let mut cells = line.split('|').map(str::trim).skip(1);
            let (file, category) = (cells.next()?, cells.next()?);
            CATEGORIES.contains(&category).then(|| Source {
                file: file.to_owned(),
                category: category.to_owned(),
            })
        })
        .collect()
}

/// File name -> (category, report or panic message).
type Reports = BTreeMap<String, (String, Result<Report, String>)>;

/// Every photo checked once (on all cores), shared by the tests.
fn all_reports(dir: &std::path::Path) -> &'static Reports {
    static REPORTS: OnceLock<Reports> = OnceLock::new();
    REPORTS.get_or_init(|| {
        let list = sources(dir);
        let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
        let chunk = list.len().div_ceil(threads).max(1);
        std::thread::scope(|s| {
            let handles: Vec<_> = list
                .chunks(chunk)
                .map(|part| {
                    s.spawn(move || {
                        part.iter()
                            .map(|src| {
                                let bytes = std::fs::read(dir.join(&src.file))
                                    .unwrap_or_else(|e| panic!("cannot read {}: {e}", src.file));
                                let report = check_caught(&bytes);
                                (src.file.clone(), (src.category.clone(), report))
                            })
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            handles
                .into_iter()
                .flat_map(|h| h.join().expect("checker thread"))
                .collect()
        })
    })
}

/// The report for one photo by file name (checked once, then shared).
fn report(dir: &std::path::Path, file: &str) -> &'static Report {
    match all_reports(dir).get(file) {
        Some((_, Ok(r))) => r,
        Some((_, Err(panic))) => panic!("{file}: check panicked: {panic}"),
        None => panic!("{file} is not in the SOURCES.md table"),
    }
}

/// Reads one photo's bytes.
fn bytes(dir: &std::path::Path, file: &str) -> Vec<u8> {
    std::fs::read(dir.join(file)).unwrap_or_else(|e| panic!("cannot read {file}: {e}"))
}

/// A one-line summary of a report for failure messages.
fn summary(file: &str, r: &Report) -> String {
    let reasons: Vec<&str> = r.reasons.iter().map(|x| x.code.as_str()).collect();
    format!(
        "{file}: {} faces={} {}x{} reasons={reasons:?}",
        r.decision, r.faces, r.width, r.height
    )
}
