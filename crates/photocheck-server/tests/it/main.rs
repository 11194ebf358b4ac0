//! The HTTP side on its own, against real parts: the intake API, the review pages and the operations
//! routes served by `router` over SQLite and a blob folder in a temporary folder, with the
//! in-process queue. The run modes that put it together with a worker are tested in `photocheck-app`.
//! Photos come from ../shared/photos/raw; tests that need them say so loudly when they are missing.

mod access;
mod api;

use std::path::PathBuf;

/// The test photos, or `None` after saying loudly that the test is skipped.
pub fn photos_or_skip(test: &str) -> Option<Vec<PathBuf>> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/photos/raw");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        // Under CI (PHOTOCHECK_REQUIRE_PHOTOS set, as .ci/run does) a missing photo folder fails the test:
        // a green run must have looked at the photos.
        assert!(
            std::env::var_os("PHOTOCHECK_REQUIRE_PHOTOS").is_none(),
            "{test}: no test photos at {}",
            dir.display()
        );
        eprintln!(
            "SKIPPED {test}: no test photos at {} (CI always has them)",
            dir.display()
        );
        return None;
    };
    let mut files: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    files.sort();
    Some(files)
}
