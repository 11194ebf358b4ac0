//! What one photo costs the check engine, on one thread, over real ID-style photos.
//!
//! - `archive_378x260`: every ID-W and ID-C photo of SOURCES.md as a 260 x 378 JPEG (q90), the size
//!   the platform archives and the common upload size.
//! - `phone_12mp`: three of them blown up to 3024 x 4032 (q92), what a phone camera uploads.
//! - `decode_only`: intake alone on the 12 MP JPEG, DCT-scaled (what `check` does) against a full-size
//!   decode: the bench behind intake's decode-in-the-decoder trick.
//! - `stages`: on the archive photos, each stage of the check timed alone (decode, detect, segment,
//!   mesh and eyes, each newer face model, measures and judging), beside the whole check in the same
//!   run; `runtimes`: every face model on tract and on rten, the measurement behind the choice.
//!
//! Inputs are made from ../shared/photos/raw at start, in memory only. After criterion, a plain summary
//! (median of per-photo medians, timed here with `Instant`) gives the one number a README can quote.
//! Run: `cargo bench -p benches --bench check` (a filter after `--` picks groups, e.g. `-- phone`,
//! or `-- 'stages|runtimes'`).

use std::hint::black_box;
use std::time::{Duration, Instant};

use benches::{archive_jpeg, median_ms, phone_jpeg, photo_dir_or_warn, ID_PHOTOS, PHONE_PHOTOS};
use chrono::NaiveDate;
use criterion::{BenchmarkId, Criterion, SamplingMode};
use image::imageops;
use photocheck_core::{check, intake, Context, Profile};

/// Runs per photo for the summary medians: enough for a stable median, few enough to stay quick.
const SUMMARY_RUNS_ARCHIVE: usize = 30;
const SUMMARY_RUNS_PHONE: usize = 10;

struct Input {
    name: &'static str,
    jpeg: Vec<u8>,
}

fn main() {
    let Some(dir) = photo_dir_or_warn("benches/check.rs") else {
        // Exit 0: a machine without the photos has nothing to measure, which is not a failure.
        return;
    };
    let started = Instant::now();
    let make = |names: &[&'static str], f: fn(&[u8]) -> Result<Vec<u8>, String>| -> Vec<Input> {
        names
            .iter()
            .filter_map(|&name| {
                let made = std::fs::read(dir.join(name))
                    .map_err(|e| e.to_string())
                    .and_then(|b| f(&b));
                match made {
                    Ok(jpeg) => Some(Input { name, jpeg }),
                    Err(e) => {
                        eprintln!("!!!! skipping {name}: {e}");
                        None
                    }
                }
            })
            .collect()
    };
    let archive = if wanted("archive_378x260") || wanted("stages") {
        make(&ID_PHOTOS, archive_jpeg)
    } else {
        Vec::new()
    };
    let phone = if wanted("phone_12mp") || wanted("decode_only") {
        make(&PHONE_PHOTOS, phone_jpeg)
    } else {
        Vec::new()
    };
    eprintln!(
        "inputs made in {:.1} s: {} archive JPEGs (mean {} KB), {} phone JPEGs (mean {} KB)",
        started.elapsed().as_secs_f64(),
        archive.len(),
        mean_kb(&archive),
        phone.len(),
        mean_kb(&phone),
    );

    let profile = Profile::default_profile();
    let ctx = Context::on(NaiveDate::from_ymd_opt(2026, 6, 1).expect("valid date"));

    // Small samples and short windows: ~33 benchmarks must finish in under ~3 minutes on 2 cores, and
    // a check takes milliseconds, so 10 samples over 3 s still time hundreds of runs per photo.
    let mut c = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3))
        .configure_from_args();

    let mut group = c.benchmark_group("archive_378x260");
    for input in &archive {
        group.bench_with_input(BenchmarkId::from_parameter(input.name), input, |b, i| {
            b.iter(|| check(black_box(&i.jpeg), &profile, &ctx))
        });
    }
    group.finish();

    let mut group = c.benchmark_group("phone_12mp");
    // Flat sampling: at ~70 ms a run, criterion's default linear ramp cannot fit 10 samples in 3 s.
    group.sampling_mode(SamplingMode::Flat);
    for input in &phone {
        group.bench_with_input(BenchmarkId::from_parameter(input.name), input, |b, i| {
            b.iter(|| check(black_box(&i.jpeg), &profile, &ctx))
        });
    }
    group.finish();

    if let Some(input) = phone.first() {
        let mut full = profile.intake.clone();
        full.analysis_height = full.max_side;
        let mut group = c.benchmark_group("decode_only");
        group.sampling_mode(SamplingMode::Flat);
        // What `check` pays: libjpeg (mozjpeg) scaling in the IDCT to the analysis size (~500 rows).
        group.bench_function("12mp_dct_scaled", |b| {
            b.iter(|| intake::decode(black_box(&input.jpeg), &profile.intake))
        });
        // Intake with the reduction off: a full-size decode (zune-jpeg, through the image crate).
        group.bench_function("12mp_full", |b| {
            b.iter(|| intake::decode(black_box(&input.jpeg), &full))
        });
        // The alternative to the trick: decode in full, then shrink to the size the measures use.
        let rows = profile.intake.analysis_height;
        group.bench_function("12mp_full_then_resize", |b| {
            b.iter(|| {
                intake::decode(black_box(&input.jpeg), &full).map(|d| {
                    let cols = d.image.width() * rows / d.image.height();
                    imageops::resize(&d.image, cols, rows, imageops::FilterType::Triangle)
                })
            })
        });
        group.finish();
    }
    c.final_summary();

    // The plain summary, timed here so it does not depend on criterion's output format.
    println!();
    if wanted("archive_378x260") {
        summarise(
            "archive_378x260",
            &archive,
            SUMMARY_RUNS_ARCHIVE,
            &profile,
            &ctx,
        );
    }
    if wanted("phone_12mp") {
        summarise("phone_12mp", &phone, SUMMARY_RUNS_PHONE, &profile, &ctx);
    }
    // Beside the archive summary: where its time goes, and each model on both runtimes.
    if wanted("stages") || wanted("archive_378x260") {
        stages(&archive, &profile, &ctx);
    }
    if wanted("runtimes") || wanted("archive_378x260") {
        runtimes();
    }
}

/// Median ms of `runs` calls of `f` (after one warm-up call).
fn time_ms(runs: usize, f: &dyn Fn()) -> f64 {
    f();
    let mut t: Vec<f64> = (0..runs)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    median_ms(&mut t)
}

/// Where an archive photo's time goes: each stage of the check timed alone on every archive photo
/// (median of runs, then the median over photos), beside the whole check in the same run. The face
/// models are timed on the face the mesh found; "measures and judging" is what the whole check
/// spends beyond the stages timed here.
fn stages(inputs: &[Input], profile: &Profile, ctx: &Context) {
    use photocheck_core::landmarks::{self, blendshapes};
    use photocheck_core::{detect, geometry};
    const NAMES: [&str; 10] = [
        "decode",
        "detect",
        "segment",
        "mesh and eyes",
        "blendshapes",
        "canonical-face fit",
        "3DDFA head pose",
        "emotion",
        "measures and judging",
        "whole check",
    ];
    let mut times: [Vec<f64>; NAMES.len()] = Default::default();
    let runs = SUMMARY_RUNS_ARCHIVE;
    for input in inputs {
        let Ok(decoded) = intake::decode(&input.jpeg, &profile.intake) else {
            continue;
        };
        let img = decoded.image;
        let faces = detect::detect(&geometry::to_gray(&img), &profile.detection).faces;
        let Some(face) = faces.first().copied() else {
            continue;
        };
        let Some(lm) = landmarks::locate(&img, &face).ok().flatten() else {
            continue;
        };
        let extent = landmarks::extent(&lm.mesh);
        let mut t = [0.0; NAMES.len()];
        t[0] = time_ms(runs, &|| {
            black_box(intake::decode(black_box(&input.jpeg), &profile.intake).ok());
        });
        t[1] = time_ms(runs, &|| {
            black_box(detect::detect(
                &geometry::to_gray(black_box(&img)),
                &profile.detection,
            ));
        });
        t[2] = time_ms(runs, &|| {
            black_box(geometry::segment(black_box(&img), &face));
        });
        t[4] = time_ms(runs, &|| {
            black_box(blendshapes::score(black_box(&lm)).ok());
        });
        t[5] = time_ms(runs, &|| {
            black_box(landmarks::pose(black_box(&lm.mesh)));
        });
        t[6] = time_ms(runs, &|| {
            black_box(landmarks::pose_net(black_box(&img), extent).ok());
        });
        t[7] = time_ms(runs, &|| {
            black_box(landmarks::emotion(black_box(&img), extent).ok());
        });
        // `locate` runs every face model whose answer the looks need; what the others above do not
        // account for is the mesh and the eye model.
        let located = time_ms(runs, &|| {
            black_box(landmarks::locate(black_box(&img), &face).ok());
        });
        t[9] = time_ms(runs, &|| {
            black_box(check(black_box(&input.jpeg), profile, ctx));
        });
        let models: f64 = t[4..8].iter().sum();
        t[3] = (located - models).max(0.0);
        t[8] = (t[9] - t[..8].iter().sum::<f64>()).max(0.0);
        for (all, v) in times.iter_mut().zip(t) {
            all.push(v);
        }
    }
    if times[0].is_empty() {
        return;
    }
    for (name, all) in NAMES.iter().zip(&mut times) {
        println!(
            "summary stages {name}: median {:.2} ms per archive photo on one thread",
            median_ms(all)
        );
    }
}

/// Every face model on both pure-Rust runtimes, on one fixed input, one after the other: the
/// measurement behind `models::Which::runtime`.
fn runtimes() {
    use photocheck_core::landmarks::models::{run_on, Runtime, Which};
    for which in Which::ALL {
        let len: usize = which.shape().iter().product();
        let input: Vec<f32> = (0..len).map(|i| (i * 7 % 256) as f32 / 255.0).collect();
        let times: Vec<String> = Runtime::ALL
            .into_iter()
            .filter(|runtime| runtime.runs(which))
            .map(|runtime| {
                let ms = time_ms(SUMMARY_RUNS_ARCHIVE, &|| {
                    black_box(run_on(which, runtime, black_box(&input)).ok());
                });
                format!("{runtime:?} {ms:.2} ms")
            })
            .collect();
        let chosen = which.runtime();
        println!(
            "summary runtimes {}: {} (median of {} runs); runs on {chosen:?}",
            which.name(),
            times.join(", "),
            SUMMARY_RUNS_ARCHIVE
        );
    }
}

/// Whether a group can match the filters given on the command line (criterion applies them itself;
/// this only spares making inputs and summaries nobody asked for).
fn wanted(group: &str) -> bool {
    const SWITCHES: [&str; 9] = [
        "--bench",
        "--test",
        "--list",
        "--exact",
        "--noplot",
        "--verbose",
        "--quiet",
        "--ignored",
        "--discard-baseline",
    ];
    let mut filters = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        if !a.starts_with('-') {
            filters.push(a);
        } else if !a.contains('=') && !SWITCHES.contains(&a.as_str()) && a.starts_with("--") {
            args.next(); // the option's value, e.g. --save-baseline NAME
        }
    }
    // Criterion takes one filter, a regex: `stages|runtimes` picks both.
    filters.is_empty()
        || filters
            .iter()
            .flat_map(|f| f.split('|'))
            .any(|f| group.contains(f) || f.starts_with(group))
}

/// Prints the median over photos of each photo's median `check` time.
fn summarise(group: &str, inputs: &[Input], runs: usize, profile: &Profile, ctx: &Context) {
    if inputs.is_empty() {
        return;
    }
    let mut per_photo: Vec<f64> = inputs
        .iter()
        .map(|input| {
            let _ = check(&input.jpeg, profile, ctx); // warm caches
            let mut times: Vec<f64> = (0..runs)
                .map(|_| {
                    let t = Instant::now();
                    black_box(check(black_box(&input.jpeg), profile, ctx));
                    t.elapsed().as_secs_f64() * 1e3
                })
                .collect();
            median_ms(&mut times)
        })
        .collect();
    let (min, max) = per_photo
        .iter()
        .fold((f64::MAX, 0.0f64), |(lo, hi), &v| (lo.min(v), hi.max(v)));
    let median = median_ms(&mut per_photo);
    println!(
        "summary {group}: median {median:.1} ms per photo on one thread \
         (median of per-photo medians; {} photos x {runs} runs; per-photo medians {min:.1}-{max:.1} ms)",
        inputs.len()
    );
}

fn mean_kb(inputs: &[Input]) -> usize {
    let total: usize = inputs.iter().map(|i| i.jpeg.len()).sum();
    total / inputs.len().max(1) / 1024
}
