//! Integration tests: run the built `photocheck` binary on photos generated into temporary directories
//! (and on one real photo from ../shared/photos/raw when that folder is there).

mod account;
mod batch;
mod check;
mod deadline;
mod export;
mod profile;
mod samples;
mod service;
mod tune;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

/// The binary under test.
pub fn photocheck() -> Command {
    Command::new(env!("CARGO_BIN_EXE_photocheck"))
}

/// Runs `photocheck` with `args`; the output, whatever the exit status.
pub fn run(args: &[&std::ffi::OsStr]) -> Output {
    photocheck()
        .args(args)
        .output()
        .expect("the photocheck binary runs")
}

pub fn code(out: &Output) -> i32 {
    out.status.code().expect("photocheck exits, not killed")
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A plain white 260 x 378 PNG: decodes, but holds no face.
pub fn white_png(dir: &Path, name: &str) -> PathBuf {
    let path = dir.join(name);
    image::RgbImage::from_pixel(260, 378, image::Rgb([255, 255, 255]))
        .save_with_format(&path, image::ImageFormat::Png)
        .expect("the test PNG is written");
    path
}

/// A file with `contents` (garbage, or nothing at all).
pub fn file(dir: &Path, name: &str, contents: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, contents).expect("the test file is written");
    path
}

/// Every line of JSON output, parsed.
pub fn json_lines(text: &[u8]) -> Vec<Value> {
    String::from_utf8_lossy(text)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

/// Decodes a PNG the binary wrote (our own output, so not through the engine's intake).
pub fn decode_png(path: &Path) -> image::RgbImage {
    image::ImageReader::open(path)
        .expect("the overlay exists")
        .with_guessed_format()
        .expect("the overlay is readable")
        .decode()
        .expect("the overlay decodes")
        .to_rgb8()
}

/// The shared folder of real photos, or `None` (said loudly) when this checkout has none.
pub fn real_photos() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/photos/raw");
    if dir.is_dir() {
        Some(dir)
    } else {
        // Under CI (PHOTOCHECK_REQUIRE_PHOTOS set, as .ci/run does) a missing photo folder fails the test:
        // a green run must have looked at the photos.
        assert!(
            std::env::var_os("PHOTOCHECK_REQUIRE_PHOTOS").is_none(),
            "real photos not found at {}",
            dir.display()
        );
        eprintln!(
            "\n!!!!! SKIPPED: real photos not found at {} (CI always has them) !!!!!\n",
            dir.display()
        );
        None
    }
}
