//! make-archive-set DIR [N]: writes N (default 400) archive-size JPEGs (260 x 378, q90) into DIR, the
//! ID-style photos of ../shared/photos/raw repeated, for benches/batch-throughput.sh.
//!
//! DIR should be a temporary folder: the images are made from third-party photos and must never be
//! committed.

use std::path::PathBuf;
use std::process::ExitCode;

use benches::{archive_jpeg, photo_dir_or_warn, ID_PHOTOS};

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let (Some(dir), count) = (args.next(), args.next()) else {
        eprintln!("usage: make-archive-set DIR [N]");
        return ExitCode::from(2);
    };
    let count: usize = match count.as_deref().map_or(Ok(400), str::parse) {
        Ok(n) => n,
        Err(e) => {
            eprintln!("make-archive-set: N must be a number: {e}");
            return ExitCode::from(2);
        }
    };
    let Some(photos) = photo_dir_or_warn("make-archive-set") else {
        return ExitCode::from(3);
    };
    match run(&photos, &PathBuf::from(dir), count) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("make-archive-set: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(photos: &std::path::Path, dir: &std::path::Path, count: usize) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    // Each source is decoded and resized once, then written as many times as the count needs.
    let mut made = Vec::with_capacity(ID_PHOTOS.len());
    for name in ID_PHOTOS {
        let bytes = std::fs::read(photos.join(name)).map_err(|e| format!("{name}: {e}"))?;
        let stem = name.rsplit_once('.').map_or(name, |(s, _)| s);
        made.push((
            stem,
            archive_jpeg(&bytes).map_err(|e| format!("{name}: {e}"))?,
        ));
    }
    for i in 0..count {
        let (stem, jpeg) = &made[i % made.len()];
        let path = dir.join(format!("{i:05}-{stem}.jpg"));
        std::fs::write(&path, jpeg).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    eprintln!(
        "wrote {count} archive-size JPEGs ({} distinct) to {}",
        made.len(),
        dir.display()
    );
    Ok(())
}
