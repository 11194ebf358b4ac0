//! Face detection with rustface (SeetaFace frontal cascade), embedded model, one detector per thread.
//!
//! rustface's pyramid always starts at the size it is handed and its window is 40 px, so the cost follows
//! the pixels given and the smallest face found is ~40 px in that copy. A first pass on a small copy
//! (ID-framed faces are ~60 px there) settles almost every ID photo in a few ms; only when it finds no
//! face of ID size does a second pass look at a larger copy, for small or several faces.

use std::cell::RefCell;
use std::sync::OnceLock;

use image::{imageops, GrayImage};
use serde::{Deserialize, Serialize};

use crate::profile::Detection;

static MODEL_BYTES: &[u8] = include_bytes!(env!("PHOTOCHECK_FACE_MODEL_PATH"));

/// rustface's fixed detection window; smaller images make it panic or underflow.
const WINDOW: u32 = 40;

/// A face box in the coordinates of the image it was reported for.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct FaceBox {
    pub x: f64,
    pub y: f64,
    pub w: f64,
    pub h: f64,
    pub score: f64,
}

impl FaceBox {
    pub fn scaled(&self, s: f64) -> FaceBox {
        FaceBox {
            x: self.x * s,
            y: self.y * s,
            w: self.w * s,
            h: self.h * s,
            score: self.score,
        }
    }
    pub fn centre_x(&self) -> f64 {
        self.x + self.w / 2.0
    }
    pub fn bottom(&self) -> f64 {
        self.y + self.h
    }
}

fn model() -> &'static rustface::Model {
    static MODEL: OnceLock<rustface::Model> = OnceLock::new();
    MODEL.get_or_init(|| {
        rustface::read_model(MODEL_BYTES).expect("the embedded SeetaFace model parses (tested)")
    })
}

thread_local! {
    // rustface detectors keep scratch buffers and are not Sync: one per thread, cloned from the model
    // parsed once.
    static DETECTOR: RefCell<Option<Box<dyn rustface::Detector>>> = const { RefCell::new(None) };
}

/// How thoroughly one pass scans.
#[derive(Debug, Clone, Copy)]
pub struct Scan {
    pub score_threshold: f64,
    pub step: u32,
    pub pyramid_factor: f32,
}

impl Scan {
    /// rustface's own defaults: the thorough scan.
    pub fn thorough(score_threshold: f64) -> Scan {
        Scan {
            score_threshold,
            step: 4,
            pyramid_factor: 0.8,
        }
    }
}

/// Runs the detector on one grayscale image; boxes in that image's coordinates, largest first.
pub fn detect_gray(gray: &GrayImage, scan: Scan) -> Vec<FaceBox> {
    if gray.width() < WINDOW || gray.height() < WINDOW {
        return Vec::new();
    }
    let data = rustface::ImageData::new(gray.as_raw(), gray.width(), gray.height());
    let faces = DETECTOR.with(|cell| {
        let mut slot = cell.borrow_mut();
        let detector = slot.get_or_insert_with(|| {
            let mut d = rustface::create_detector_with_model(model().clone());
            d.set_min_face_size(20);
            d
        });
        // rustface panics on a zero step, a factor outside 0.01..0.99 or a threshold <= 0.
        detector.set_score_thresh(scan.score_threshold.max(f64::MIN_POSITIVE));
        detector.set_slide_window_step(scan.step.max(1), scan.step.max(1));
        detector.set_pyramid_scale_factor(scan.pyramid_factor.clamp(0.1, 0.95));
        detector.detect(&data)
    });
    let mut boxes: Vec<FaceBox> = faces
        .iter()
        .map(|f| {
            let b = f.bbox();
            FaceBox {
                x: b.x() as f64,
                y: b.y() as f64,
                w: b.width() as f64,
                h: b.height() as f64,
                score: f.score(),
            }
        })
        .collect();
    boxes.sort_by(|a, b| b.w.total_cmp(&a.w).then(b.score.total_cmp(&a.score)));
    boxes
}

/// Faces found, in the coordinates of `gray_full`, and which pass found them.
#[derive(Debug, Clone)]
pub struct Detections {
    pub faces: Vec<FaceBox>,
    /// True when the second, larger pass ran.
    pub fine_pass: bool,
}

/// Two-pass detection on the analysis-size grayscale image.
pub fn detect(gray_full: &GrayImage, cfg: &Detection) -> Detections {
    let (w, h) = gray_full.dimensions();
    if w == 0 || h == 0 {
        return Detections {
            faces: Vec::new(),
            fine_pass: false,
        };
    }
    let coarse = resize_to_height(gray_full, cfg.coarse_height.min(h));
    let to_full = h as f64 / coarse.height() as f64;
    let aspect = w as f64 / h as f64;
    let mut quick_faces = Vec::new();
    let id_shaped = (cfg.id_aspect[0]..=cfg.id_aspect[1]).contains(&aspect);
    if id_shaped {
        // Quick pass over the middle of the frame, where a centred portrait's face is: a smaller image
        // means fewer windows for rustface's expensive later stages (benches/check.rs). A face off the
        // middle, or another person beside it, is left to the thorough pass or to the background rules.
        let [fx0, fy0, fx1, fy1] = cfg.coarse_region;
        let (cw, ch) = (coarse.width() as f64, coarse.height() as f64);
        let (x0, y0) = ((fx0 * cw) as u32, (fy0 * ch) as u32);
        let (x1, y1) = (
            ((fx1 * cw) as u32).min(coarse.width()),
            ((fy1 * ch) as u32).min(coarse.height()),
        );
        let middle = imageops::crop_imm(
            &coarse,
            x0,
            y0,
            x1.saturating_sub(x0),
            y1.saturating_sub(y0),
        )
        .to_image();
        let quick = Scan {
            score_threshold: cfg.score_threshold,
            step: cfg.coarse_step,
            pyramid_factor: cfg.coarse_pyramid_factor,
        };
        quick_faces = detect_gray(&middle, quick)
            .iter()
            .map(|f| {
                FaceBox {
                    x: f.x + x0 as f64,
                    y: f.y + y0 as f64,
                    ..*f
                }
                .scaled(to_full)
            })
            .collect();
        if quick_faces
            .first()
            .is_some_and(|f: &FaceBox| f.h >= cfg.id_face_share * h as f64)
        {
            return Detections {
                faces: quick_faces,
                fine_pass: false,
            };
        }
    }
    let longest = w.max(h);
    let mut fine_h = if longest > cfg.fine_max_side {
        ((h as u64 * cfg.fine_max_side as u64) / longest as u64).max(1) as u32
    } else {
        h
    };
    if id_shaped {
        fine_h = fine_h.min(cfg.id_fine_height.max(coarse.height()));
    }
    let thorough = |img: &GrayImage| -> Vec<FaceBox> {
        let s = h as f64 / img.height() as f64;
        detect_gray(img, Scan::thorough(cfg.score_threshold))
            .iter()
            .map(|f| f.scaled(s))
            .collect()
    };
    let mut faces = thorough(&resize_to_height(gray_full, fine_h));
    // rustface is not monotonic in scale: a large face can be missed at the fine size and found on the
    // small copy (openface_clapton1: found at 128 rows, not at 420). Before saying "no face", the quick
    // pass's faces stand, or the small copy is scanned thoroughly too.
    if faces.is_empty() {
        faces = if quick_faces.is_empty() && fine_h != coarse.height() {
            thorough(&coarse)
        } else {
            quick_faces
        };
    }
    Detections {
        faces,
        fine_pass: true,
    }
}

/// A copy `height` rows tall, same aspect. Shrinking averages each output pixel's whole input box:
/// as good as a filter for detection, and several times cheaper than `imageops::resize`.
pub fn resize_to_height(gray: &GrayImage, height: u32) -> GrayImage {
    let (w, h) = gray.dimensions();
    let height = height.max(1);
    if h == height {
        return gray.clone();
    }
    let width = ((w as u64 * height as u64) / h.max(1) as u64).max(1) as u32;
    if height > h || width > w {
        return imageops::resize(gray, width, height, imageops::FilterType::Triangle);
    }
    let bounds = |n: u32, of: u32| -> Vec<(usize, usize)> {
        (0..n as u64)
            .map(|i| {
                (
                    (i * of as u64 / n as u64) as usize,
                    (((i + 1) * of as u64 / n as u64) as usize).max(1),
                )
            })
            .collect()
    };
    let cols = bounds(width, w);
    let rows = bounds(height, h);
    let src = gray.as_raw();
    let mut sums = vec![0u32; w as usize];
    let mut out = Vec::with_capacity(width as usize * height as usize);
    for &(r0, r1) in &rows {
        sums.iter_mut().for_each(|s| *s = 0);
        for row in src.chunks_exact(w as usize).skip(r0).take(r1 - r0) {
            sums.iter_mut().zip(row).for_each(|(s, &p)| *s += p as u32);
        }
        for &(c0, c1) in &cols {
            let total: u32 = sums[c0..c1].iter().sum();
            let count = ((c1 - c0) * (r1 - r0)) as u32;
            out.push(((total + count / 2) / count) as u8);
        }
    }
    GrayImage::from_raw(width, height, out).expect("buffer sized width x height")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiny_and_degenerate_images_do_not_panic() {
        for (w, h) in [(1, 1), (39, 200), (200, 39), (40, 40), (41, 300)] {
            let g = GrayImage::new(w, h);
            assert!(detect_gray(&g, Scan::thorough(2.0)).is_empty(), "{w}x{h}");
        }
        let cfg = crate::profile::Profile::default_profile().detection;
        assert!(detect(&GrayImage::new(0, 0), &cfg).faces.is_empty());
        assert!(detect(&GrayImage::new(3, 500), &cfg).faces.is_empty());
    }

    #[test]
    fn embedded_model_parses() {
        assert!(MODEL_BYTES.len() > 1_000_000);
        let _ = model();
    }
}
