//! Decompression bombs against the decode budget: eight uploads at once, each a few KB that would
//! decode to hundreds of MB, must leave the process's peak memory within the budget the intake
//! states (`intake::DECODE_BUDGET_BYTES` plus the engine's own ~150 MB), not eight times one photo.

use std::io::Write;

use flate2::write::ZlibEncoder;
use flate2::{Compression, Crc};
use photocheck_core::intake::{self, DECODE_BUDGET_BYTES};
use photocheck_core::Profile;

/// A PNG of `w` x `h` 16-bit RGBA pixels, all the same, written row by row: tiny on disk, 8 bytes a
/// pixel decoded.
fn deep_png(w: u32, h: u32) -> Vec<u8> {
    fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        out.extend_from_slice(kind);
        out.extend_from_slice(data);
        let mut crc = Crc::new();
        crc.update(kind);
        crc.update(data);
        out.extend_from_slice(&crc.sum().to_be_bytes());
    }
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&w.to_be_bytes());
    ihdr.extend_from_slice(&h.to_be_bytes());
    ihdr.extend_from_slice(&[16, 6, 0, 0, 0]); // 16-bit, RGBA, deflate, no filter, no interlace
    chunk(&mut out, b"IHDR", &ihdr);
    let mut z = ZlibEncoder::new(Vec::new(), Compression::fast());
    let mut row = vec![0x80u8; 1 + w as usize * 8];
    row[0] = 0; // filter: none
    for _ in 0..h {
        z.write_all(&row).expect("deflate");
    }
    chunk(&mut out, b"IDAT", &z.finish().expect("deflate"));
    chunk(&mut out, b"IEND", &[]);
    out
}

/// The process's peak resident memory so far, bytes.
fn peak_rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM");
    kb * 1024
}

#[test]
fn eight_parallel_bombs_stay_within_the_decode_budget() {
    let limits = Profile::default_profile().intake;
    // 10000 x 10000: refused from the header (1.4 GB to decode), whatever runs beside it.
    let refused = deep_png(10_000, 10_000);
    // 4000 x 4000: 128 MB stored + 48 MB RGB + 64 MB RGBA, within the per-photo limit: decoded,
    // but no more of them at once than the budget holds.
    let accepted = deep_png(4000, 4000);
    println!(
        "bombs: {} KB refused, {} KB accepted",
        refused.len() / 1024,
        accepted.len() / 1024
    );
    let before = peak_rss();
    let outcomes: Vec<_> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..8)
            .map(|i| {
                let bytes = if i % 2 == 0 { &refused } else { &accepted };
                let limits = &limits;
                s.spawn(move || intake::decode(bytes, limits).map(|d| d.image.height()))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("no panic"))
            .collect()
    });
    let peak = peak_rss();
    println!(
        "peak RSS {} MB (before the bombs {} MB; decode budget {} MB)",
        peak >> 20,
        before >> 20,
        DECODE_BUDGET_BYTES >> 20
    );
    for (i, o) in outcomes.iter().enumerate() {
        if i % 2 == 0 {
            let err = o.as_ref().expect_err("the 10000 x 10000 bomb is refused");
            assert_eq!(err.code(), "image-too-large");
        } else {
            assert!(o.is_ok(), "{o:?}");
        }
    }
    // Each accepted decode holds 240 MB at its peak: the 640 MiB budget lets two through at a time
    // (three would be 720 MB), where the four together reach ~900 MB without it. Beside them: threads,
    // the reduced copies and the allocator's slack.
    let one = 4000 * 4000 * (8 + 3 + 4);
    assert!(2 * one <= DECODE_BUDGET_BYTES && 3 * one > DECODE_BUDGET_BYTES);
    assert!(
        peak < before + 2 * one + (128 << 20),
        "peak {} MB",
        peak >> 20
    );
}
