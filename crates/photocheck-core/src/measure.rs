//! Measures: each a number, computed on the analysis image, its segmentation and the face box.
//! Sizes are relative to the image height, so they do not change with the upload's resolution.

use image::{imageops, GrayImage, RgbImage};
use serde::{Deserialize, Serialize};

use crate::detect::FaceBox;
use crate::geometry::{core_box, luma, quantile, HeadGeometry, Segmentation, PERSON};
use crate::profile::Background as BackgroundCfg;

/// Background measures, over every pixel that is not the person.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BackgroundMeasures {
    /// Mean colour of the background.
    pub mean_rgb: [f64; 3],
    /// CIE76 colour difference between that mean and white.
    pub delta_e_white: f64,
    /// Luminance standard deviation.
    pub luma_std: f64,
    /// Share of pixels that are not white, %.
    pub non_white_pct: f64,
    /// Share of pixels in shadow (darker than the background's bright level by `shadow_drop`), %.
    pub shadow_pct: f64,
    /// Share of the image that is background, %.
    pub area_pct: f64,
}

pub fn background(
    img: &RgbImage,
    seg: &Segmentation,
    cfg: &BackgroundCfg,
) -> Option<BackgroundMeasures> {
    let mut hist = [0u32; 256];
    let (mut sum, mut n) = ([0u64; 3], 0u64);
    let mut non_white = 0u64;
    // Integer thresholds: a pixel is white when luma >= white_min and chroma <= chroma_max.
    let white_min = cfg.white_luminance.ceil().clamp(0.0, 256.0) as u16;
    let chroma_max = cfg.white_chroma.floor().clamp(0.0, 255.0) as u8;
    for (p, &label) in img.as_raw().chunks_exact(3).zip(&seg.labels) {
        if label == PERSON {
            continue;
        }
        let p = [p[0], p[1], p[2]];
        let l = luma(p);
        hist[l as usize] += 1;
        for c in 0..3 {
            sum[c] += p[c] as u64;
        }
        n += 1;
        let chroma = p[0].max(p[1]).max(p[2]) - p[0].min(p[1]).min(p[2]);
        if (l as u16) < white_min || chroma > chroma_max {
            non_white += 1;
        }
    }
    let total = seg.labels.len() as u64;
    // Below 2 % of the image there is too little background to judge it.
    if n == 0 || n * 50 < total {
        return None;
    }
    let mean = sum.map(|s| s as f64 / n as f64);
    let mean_l: f64 = hist
        .iter()
        .enumerate()
        .map(|(v, &c)| v as f64 * c as f64)
        .sum::<f64>()
        / n as f64;
    let var: f64 = hist
        .iter()
        .enumerate()
        .map(|(v, &c)| (v as f64 - mean_l).powi(2) * c as f64)
        .sum::<f64>()
        / n as f64;
    // The background's own bright level: its 90th percentile, robust to the shadowed part.
    let bright = percentile(&hist, n, 0.90);
    let shadow_below = bright - cfg.shadow_drop;
    let shadow: u64 = hist
        .iter()
        .enumerate()
        .filter(|(v, _)| (*v as f64) < shadow_below)
        .map(|(_, &c)| c as u64)
        .sum();
    Some(BackgroundMeasures {
        mean_rgb: mean,
        delta_e_white: delta_e_white(mean),
        luma_std: var.sqrt(),
        non_white_pct: 100.0 * non_white as f64 / n as f64,
        shadow_pct: 100.0 * shadow as f64 / n as f64,
        area_pct: 100.0 * n as f64 / total as f64,
    })
}

fn percentile(hist: &[u32; 256], n: u64, q: f64) -> f64 {
    quantile(hist, n as usize, q) as f64
}

/// CIE76 difference between an sRGB colour and white (D65).
pub fn delta_e_white(rgb: [f64; 3]) -> f64 {
    let [l, a, b] = lab(rgb);
    ((100.0 - l).powi(2) + a * a + b * b).sqrt()
}

/// CIELAB (D65) of an sRGB colour given as 0-255 channels.
pub fn lab(rgb: [f64; 3]) -> [f64; 3] {
    lab_of_linear(rgb.map(srgb_to_linear))
}

/// `lab` of one 8-bit pixel, for the per-pixel callers (clothing, skin and hair samples): the gamma
/// curve comes from a table of the 256 values `srgb_to_linear` gives. `powf` and `cbrt` per pixel
/// were a quarter of a whole check's time (perf, archive photos).
pub fn lab_u8(px: [u8; 3]) -> [f64; 3] {
    static LINEAR: std::sync::LazyLock<[f64; 256]> =
        std::sync::LazyLock::new(|| std::array::from_fn(|v| srgb_to_linear(v as f64)));
    lab_of_linear(px.map(|c| LINEAR[usize::from(c)]))
}

/// sRGB's transfer curve, 0-255 in, linear 0-1 out.
fn srgb_to_linear(c: f64) -> f64 {
    let c = c / 255.0;
    if c <= 0.04045 {
        c / 12.92
    } else {
        ((c + 0.055) / 1.055).powf(2.4)
    }
}

fn lab_of_linear(lin: [f64; 3]) -> [f64; 3] {
    let x = (0.4124 * lin[0] + 0.3576 * lin[1] + 0.1805 * lin[2]) / 0.95047;
    let y = 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2];
    let z = (0.0193 * lin[0] + 0.1192 * lin[1] + 0.9505 * lin[2]) / 1.08883;
    let f = |t: f64| {
        if t > 0.008856 {
            cube_root(t)
        } else {
            7.787 * t + 16.0 / 116.0
        }
    };
    let (fx, fy, fz) = (f(x), f(y), f(z));
    [116.0 * fy - 16.0, 500.0 * (fx - fy), 200.0 * (fy - fz)]
}

/// The cube root of a positive, finite `t`, to the last bit or two of an f64: a first guess from
/// the exponent (the bits divided by three, within 10 %), then three Halley steps (each triples the
/// correct digits). The library's `cbrt` is a software routine here, several times slower.
fn cube_root(t: f64) -> f64 {
    // Two thirds of the exponent bias: the bias is right again after the division by three.
    const BIAS_THIRDS: u64 = (1023 << 52) / 3 * 2;
    let mut y = f64::from_bits(t.to_bits() / 3 + BIAS_THIRDS);
    for _ in 0..3 {
        let y3 = y * y * y;
        y *= (y3 + 2.0 * t) / (2.0 * y3 + t);
    }
    y
}

/// Measures on the face: exposure, lighting balance, colour and sharpness.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct FaceMeasures {
    /// Share of clipped highlights (luma >= 250), %.
    pub clipped_pct: f64,
    pub mean_luma: f64,
    /// 98th minus 2nd percentile of luma.
    pub dynamic_range: f64,
    /// |left - right| / mean of the two halves' mean luma, %.
    pub balance_pct: f64,
    /// Mean chroma (max - min channel), 0-255.
    pub chroma: f64,
    /// Variance of the 4-neighbour Laplacian at the profile's reference height.
    pub sharpness: f64,
}

pub fn face(
    img: &RgbImage,
    gray: &GrayImage,
    face: &FaceBox,
    reference_height: u32,
) -> Option<FaceMeasures> {
    let (w, h) = img.dimensions();
    let (x0, y0, x1, y1) = core_box(face, w, h);
    if x1 <= x0 + 4 || y1 <= y0 + 4 {
        return None;
    }
    let mid = (x0 + x1) / 2;
    let mut hist = [0u32; 256];
    let (mut left, mut right, mut nl, mut nr) = (0u64, 0u64, 0u64, 0u64);
    let mut chroma = 0u64;
    for y in y0..y1 {
        for x in x0..x1 {
            let p = img.get_pixel(x, y).0;
            let l = luma(p);
            hist[l as usize] += 1;
            chroma += (p.iter().max().copied().unwrap_or(0) - p.iter().min().copied().unwrap_or(0))
                as u64;
            if x < mid {
                left += l as u64;
                nl += 1;
            } else {
                right += l as u64;
                nr += 1;
            }
        }
    }
    let n = nl + nr;
    let clipped: u64 = hist[250..].iter().map(|&c| c as u64).sum();
    let mean = (left + right) as f64 / n as f64;
    let (ml, mr) = (
        left as f64 / nl.max(1) as f64,
        right as f64 / nr.max(1) as f64,
    );
    let balance = if ml + mr > 0.0 {
        200.0 * (ml - mr).abs() / (ml + mr)
    } else {
        0.0
    };
    Some(FaceMeasures {
        clipped_pct: 100.0 * clipped as f64 / n as f64,
        mean_luma: mean,
        dynamic_range: percentile(&hist, n, 0.98) - percentile(&hist, n, 0.02),
        balance_pct: balance,
        chroma: chroma as f64 / n as f64,
        sharpness: sharpness(gray, (x0, y0, x1, y1), reference_height),
    })
}

/// Laplacian variance of a region, after scaling the image to the reference height so that a photo
/// uploaded at 2x or 4x is as sharp as its archive copy would be.
pub fn sharpness(
    gray: &GrayImage,
    (x0, y0, x1, y1): (u32, u32, u32, u32),
    reference_height: u32,
) -> f64 {
    let crop = imageops::crop_imm(gray, x0, y0, x1 - x0, y1 - y0).to_image();
    let s = reference_height as f64 / gray.height() as f64;
    let crop = if s < 0.95 {
        let cw = ((crop.width() as f64 * s).round() as u32).max(3);
        let ch = ((crop.height() as f64 * s).round() as u32).max(3);
        imageops::resize(&crop, cw, ch, imageops::FilterType::Triangle)
    } else {
        crop
    };
    laplacian_variance(&crop)
}

pub fn laplacian_variance(g: &GrayImage) -> f64 {
    let (w, h) = g.dimensions();
    if w < 3 || h < 3 {
        return 0.0;
    }
    let (mut sum, mut sum2, mut n) = (0f64, 0f64, 0f64);
    for y in 1..h - 1 {
        for x in 1..w - 1 {
            let c = g.get_pixel(x, y)[0] as i32;
            let v = g.get_pixel(x - 1, y)[0] as i32
                + g.get_pixel(x + 1, y)[0] as i32
                + g.get_pixel(x, y - 1)[0] as i32
                + g.get_pixel(x, y + 1)[0] as i32
                - 4 * c;
            sum += v as f64;
            sum2 += (v * v) as f64;
            n += 1.0;
        }
    }
    let mean = sum / n;
    sum2 / n - mean * mean
}

/// Median luma of the clothing: person pixels well below the chin, away from the neck and collar,
/// and not the colour of the face's skin (`skin`, Lab, when known): an open neckline or bare
/// shoulders are not the clothes.
pub fn clothing(
    img: &RgbImage,
    gray: &GrayImage,
    seg: &Segmentation,
    head: &HeadGeometry,
    face: &FaceBox,
    skin: Option<[f64; 3]>,
) -> Option<f64> {
    let (w, h) = gray.dimensions();
    let top = (head.chin_y + 0.3 * face.h) as u32;
    if top >= h {
        return None;
    }
    let neck = 0.25 * face.w;
    let mut hist = [0u32; 256];
    let (mut n, mut person) = (0u64, 0u64);
    for y in top..h {
        for x in 0..w {
            if (x as f64 - head.centre_x).abs() < neck || seg.label(x, y) != PERSON {
                continue;
            }
            person += 1;
            if let Some(skin) = skin {
                let c = lab_u8(img.get_pixel(x, y).0);
                if crate::looks::matches_skin(c, skin) {
                    continue;
                }
            }
            hist[gray.get_pixel(x, y)[0] as usize] += 1;
            n += 1;
        }
    }
    // Fewer pixels than a 1 % strip of the image: the clothing is not really in the picture (or it
    // is mostly skin: a bare chest is not dark clothing either, so that is judged on all of it).
    let strip = (w as u64 * h as u64) / 100;
    if person < strip {
        return None;
    }
    if n < strip {
        return clothing(img, gray, seg, head, face, None);
    }
    Some(percentile(&hist, n, 0.5))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geometry::{segment, tests::portrait, to_gray};
    use image::Rgb;

    #[test]
    fn the_fast_cube_root_and_lab_agree_with_the_library() {
        for i in 0..=20_000 {
            let t = 0.008 + i as f64 * (1.2 / 20_000.0);
            let (got, want) = (cube_root(t), t.cbrt());
            assert!(
                (got - want).abs() <= 1e-14 * want,
                "cbrt {t}: {got} vs {want}"
            );
        }
        for v in [0u8, 1, 10, 11, 12, 100, 128, 200, 254, 255] {
            for px in [[v, v, v], [v, 255 - v, 128], [255, v, 0]] {
                let (fast, slow) = (lab_u8(px), lab(px.map(f64::from)));
                let reference = {
                    // The textbook formula with the library's powf and cbrt.
                    let lin = px.map(|c| {
                        let c = c as f64 / 255.0;
                        if c <= 0.04045 {
                            c / 12.92
                        } else {
                            ((c + 0.055) / 1.055).powf(2.4)
                        }
                    });
                    let x = (0.4124 * lin[0] + 0.3576 * lin[1] + 0.1805 * lin[2]) / 0.95047;
                    let y = 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2];
                    let z = (0.0193 * lin[0] + 0.1192 * lin[1] + 0.9505 * lin[2]) / 1.08883;
                    let f = |t: f64| {
                        if t > 0.008856 {
                            t.cbrt()
                        } else {
                            7.787 * t + 16.0 / 116.0
                        }
                    };
                    [
                        116.0 * f(y) - 16.0,
                        500.0 * (f(x) - f(y)),
                        200.0 * (f(y) - f(z)),
                    ]
                };
                for k in 0..3 {
                    assert!(
                        (fast[k] - reference[k]).abs() < 1e-9,
                        "{px:?}: {fast:?} vs {reference:?}"
                    );
                    assert_eq!(fast[k], slow[k], "{px:?}");
                }
            }
        }
        // White is L 100, a and b 0.
        let white = lab_u8([255; 3]);
        assert!((white[0] - 100.0).abs() < 0.05 && white[1].abs() < 0.05 && white[2].abs() < 0.05);
    }

    fn cfg() -> BackgroundCfg {
        crate::profile::Profile::default_profile().background
    }

    #[test]
    fn delta_e_of_white_grey_and_blue() {
        assert!(delta_e_white([255.0, 255.0, 255.0]) < 0.05);
        let grey = delta_e_white([200.0, 200.0, 200.0]);
        assert!((grey - 18.7).abs() < 1.0, "{grey}");
        assert!(delta_e_white([30.0, 60.0, 160.0]) > 60.0);
    }

    #[test]
    fn background_colours_are_measured_on_the_background() {
        let face = FaceBox {
            x: 60.0,
            y: 110.0,
            w: 140.0,
            h: 140.0,
            score: 10.0,
        };
        let white = portrait(260, 378, 15.0, 257.0, 175.0, [250, 250, 250]);
        let m = background(&white, &segment(&white, &face), &cfg()).unwrap();
        assert!(m.delta_e_white < 3.0, "{m:?}");
        assert!(m.non_white_pct < 1.0, "{m:?}");
        let blue = portrait(260, 378, 15.0, 257.0, 175.0, [40, 90, 200]);
        let m = background(&blue, &segment(&blue, &face), &cfg()).unwrap();
        assert!(m.delta_e_white > 40.0, "{m:?}");
        assert!(m.non_white_pct > 95.0, "{m:?}");
    }

    #[test]
    fn a_shadow_on_the_background_is_found() {
        let face = FaceBox {
            x: 60.0,
            y: 110.0,
            w: 140.0,
            h: 140.0,
            score: 10.0,
        };
        let mut img = portrait(260, 378, 15.0, 257.0, 175.0, [250, 250, 250]);
        // A soft shadow band on the right of the head: darkens gradually, as shadows do.
        for y in 0..378 {
            for x in 215..260 {
                let p = img.get_pixel_mut(x, y);
                if p.0 == [250, 250, 250] {
                    let v = 250 - ((x - 215) * 2).min(80) as u8;
                    *p = Rgb([v, v, v]);
                }
            }
        }
        let m = background(&img, &segment(&img, &face), &cfg()).unwrap();
        assert!(m.shadow_pct > 5.0, "{m:?}");
    }

    #[test]
    fn exposure_and_blur_are_measured_on_the_face() {
        let face_box = FaceBox {
            x: 60.0,
            y: 110.0,
            w: 140.0,
            h: 140.0,
            score: 10.0,
        };
        let base = RgbImage::from_fn(260, 378, |x, y| {
            let v = (100 + ((x * 7 + y * 13) % 60)) as u8;
            Rgb([v, v.saturating_sub(20), v.saturating_sub(40)])
        });
        let m = face(&base, &to_gray(&base), &face_box, 378).unwrap();
        assert!(
            m.clipped_pct < 0.01 && m.mean_luma > 90.0 && m.mean_luma < 150.0,
            "{m:?}"
        );
        assert!(m.chroma > 20.0);
        let over = RgbImage::from_fn(260, 378, |x, y| {
            let p = base.get_pixel(x, y).0;
            Rgb(p.map(|c| (c as u32 * 3).min(255) as u8))
        });
        let mo = face(&over, &to_gray(&over), &face_box, 378).unwrap();
        assert!(mo.clipped_pct > 30.0, "{mo:?}");
        let blurred = image::imageops::blur(&base, 3.0);
        let mb = face(&blurred, &to_gray(&blurred), &face_box, 378).unwrap();
        assert!(
            mb.sharpness < m.sharpness / 10.0,
            "{} vs {}",
            mb.sharpness,
            m.sharpness
        );
        let gray = RgbImage::from_fn(260, 378, |x, y| {
            let l = luma(base.get_pixel(x, y).0);
            Rgb([l, l, l])
        });
        assert!(face(&gray, &to_gray(&gray), &face_box, 378).unwrap().chroma < 0.5);
    }

    #[test]
    fn sharpness_does_not_depend_on_upload_size() {
        // The same scene taken at 2x, and its archive-size copy.
        let big = GrayImage::from_fn(520, 756, |x, y| {
            let v = 128.0 + 60.0 * ((x as f64 / 5.0).sin() * (y as f64 / 7.0).cos());
            image::Luma([v as u8])
        });
        let small = imageops::resize(&big, 260, 378, imageops::FilterType::Triangle);
        let a = sharpness(&small, (60, 120, 200, 260), 378);
        let b = sharpness(&big, (120, 240, 400, 520), 378);
        assert!((a - b).abs() / a < 0.25, "{a} vs {b}");
    }

    #[test]
    fn one_sided_light_is_unbalanced() {
        let face_box = FaceBox {
            x: 60.0,
            y: 110.0,
            w: 140.0,
            h: 140.0,
            score: 10.0,
        };
        let img = RgbImage::from_fn(260, 378, |x, _| {
            if x < 130 {
                Rgb([200, 160, 140])
            } else {
                Rgb([110, 80, 70])
            }
        });
        let m = face(&img, &to_gray(&img), &face_box, 378).unwrap();
        assert!(m.balance_pct > 40.0, "{m:?}");
    }
}
