//! Photos derived from real portraits with exactly known properties: the head framed at a chosen
//! length and place, the background recoloured, the exposure, sharpness or colour changed, another
//! head pasted in, EXIF facts written as a phone writes them. Tests build their inputs with these, and
//! `photocheck samples build` makes labelled sample sets the same way; nothing made here is saved by
//! the engine. It is a crate of its own so that no production build carries it.

use std::collections::VecDeque;
use std::io::Cursor;

use image::{imageops, DynamicImage, GrayImage, ImageError, ImageFormat, Luma, Rgb, RgbImage};
use imageproc::distance_transform::Norm;
use imageproc::morphology::{dilate, erode};

use photocheck_core::geometry::luma;
use photocheck_core::intake::{self, IntakeError};
use photocheck_core::profile::Intake as IntakeLimits;
use photocheck_core::HeadReport;

/// Printed height of the archive photo, mm: head lengths and offsets are mm of this height.
pub const PHOTO_HEIGHT_MM: f64 = 32.0;
/// The archive height in px that top margins are given in.
pub const REFERENCE_HEIGHT_PX: f64 = 378.0;

/// Where a head is in an upright photo, px. Rows and columns are continuous coordinates: 0 is the
/// top (left) edge of the first row (column), so a frame scaled by `s` moves them by exactly `s`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HeadRows {
    /// Top of the head, hair included.
    pub crown_y: f64,
    pub chin_y: f64,
    /// Head centre column.
    pub centre_x: f64,
}

impl HeadRows {
    pub fn length(&self) -> f64 {
        self.chin_y - self.crown_y
    }

    /// The same head in the photo resized by `sx` across and `sy` down.
    pub fn scaled(&self, sx: f64, sy: f64) -> HeadRows {
        HeadRows {
            crown_y: self.crown_y * sy,
            chin_y: self.chin_y * sy,
            centre_x: self.centre_x * sx,
        }
    }
}

impl From<&HeadReport> for HeadRows {
    fn from(h: &HeadReport) -> HeadRows {
        HeadRows {
            crown_y: h.crown_y,
            chin_y: h.chin_y,
            centre_x: h.centre_x,
        }
    }
}

/// Where a frame puts the head, in the archive photo's own units whatever the output size.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Framing {
    /// Crown to chin, mm of the 32 mm photo height.
    pub head_mm: f64,
    /// Crown below the top edge, px of the 378 px reference height; negative is above the frame.
    pub crown_ref_px: f64,
    /// Head centre minus frame centre, mm; positive is to the right.
    pub offset_mm: f64,
}

impl Framing {
    /// Centred, crown 15 reference px down: the middle of the allowed 10-20 px.
    pub const fn centred(head_mm: f64) -> Framing {
        Framing {
            head_mm,
            crown_ref_px: 15.0,
            offset_mm: 0.0,
        }
    }
}

/// A frame's window onto the photo: the photo point at the frame's top-left corner and the photo px
/// per frame px; and where the head lands in the frame.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Placement {
    pub left: f64,
    pub top: f64,
    pub scale: f64,
    pub head: HeadRows,
}

impl Placement {
    /// Where the frame `(w, h)` leaves a photo `(pw, ph)` (and is padded white): left, top, right,
    /// bottom.
    pub fn leaves(&self, (w, h): (u32, u32), (pw, ph): (u32, u32)) -> [bool; 4] {
        // Up to half a photo px outside only softens the edge pixels; it makes no white band.
        [
            self.left < -0.5,
            self.top < -0.5,
            self.left + w as f64 * self.scale > pw as f64 + 0.5,
            self.top + h as f64 * self.scale > ph as f64 + 0.5,
        ]
    }
}

/// Places a frame of `(w, h)` px (square pixels) around a head at `head` in a photo so that the
/// head is `framing.head_mm` long, its crown and centre where `framing` says.
pub fn place(head: HeadRows, framing: Framing, (w, h): (u32, u32)) -> Placement {
    let mm = h as f64 / PHOTO_HEIGHT_MM;
    let crown_y = framing.crown_ref_px / REFERENCE_HEIGHT_PX * h as f64;
    let out = HeadRows {
        crown_y,
        chin_y: crown_y + framing.head_mm * mm,
        centre_x: w as f64 / 2.0 + framing.offset_mm * mm,
    };
    let scale = head.length() / out.length();
    Placement {
        left: head.centre_x - out.centre_x * scale,
        top: head.crown_y - out.crown_y * scale,
        scale,
        head: out,
    }
}

/// The photo framed as [`place`] says, white where the frame leaves it; and the head in the frame,
/// exact by construction.
pub fn frame(
    photo: &RgbImage,
    head: HeadRows,
    framing: Framing,
    size: (u32, u32),
) -> (RgbImage, HeadRows) {
    let p = place(head, framing, size);
    (resample(photo, (p.left, p.top), p.scale, size), p.head)
}

/// The archive frame around a measured head, so that its head is `head_mm` long and its crown 15
/// reference px (of 378) below the top, centred; white where the frame leaves the photo. `size` is
/// the output in px, (width, height).
pub fn reframe(photo: &RgbImage, head: &HeadReport, head_mm: f64, size: (u32, u32)) -> RgbImage {
    frame(photo, head.into(), Framing::centred(head_mm), size).0
}

/// The window of `photo` starting at `origin` (photo px, continuous) with `scale` photo px per
/// output px, resampled to `(w, h)` with a Lanczos-3 kernel widened when reducing (no aliasing).
/// Outside the photo is white. Written out rather than crop-then-resize so that the window may start
/// between pixels: the ground truth of derived photos depends on it.
fn resample(photo: &RgbImage, origin: (f64, f64), scale: f64, (w, h): (u32, u32)) -> RgbImage {
    let (pw, ph) = (photo.width() as i64, photo.height() as i64);
    let cols = taps(origin.0, scale, w);
    let rows = taps(origin.1, scale, h);
    let first = rows.iter().map(|t| t.start).min().unwrap_or(0);
    let end = rows
        .iter()
        .map(|t| t.start + t.weights.len() as i64)
        .max()
        .unwrap_or(0);
    let stride = w as usize * 3;
    // Horizontal pass over the photo rows the vertical pass reads.
    let mut across = vec![255f32; (end - first).max(0) as usize * stride];
    for (k, y) in (first..end).enumerate() {
        if !(0..ph).contains(&y) {
            continue;
        }
        let row = &mut across[k * stride..(k + 1) * stride];
        for (x, t) in cols.iter().enumerate() {
            let mut acc = [0f32; 3];
            for (i, &wt) in t.weights.iter().enumerate() {
                let sx = t.start + i as i64;
                let p = if (0..pw).contains(&sx) {
                    photo.get_pixel(sx as u32, y as u32).0
                } else {
                    [255; 3]
                };
                for c in 0..3 {
                    acc[c] += wt * p[c] as f32;
                }
            }
            row[x * 3..x * 3 + 3].copy_from_slice(&acc);
        }
    }
    RgbImage::from_fn(w, h, |x, y| {
        let t = &rows[y as usize];
        let mut acc = [0f32; 3];
        for (i, &wt) in t.weights.iter().enumerate() {
            let at = (t.start + i as i64 - first) as usize * stride + x as usize * 3;
            for c in 0..3 {
                acc[c] += wt * across[at + c];
            }
        }
        Rgb(acc.map(|v| v.round().clamp(0.0, 255.0) as u8))
    })
}

/// The photo pixels one output row (column) reads, from `start`, and their weights.
struct Taps {
    start: i64,
    weights: Vec<f32>,
}

fn taps(origin: f64, scale: f64, n: u32) -> Vec<Taps> {
    let stretch = scale.max(1.0);
    let radius = 3.0 * stretch;
    (0..n)
        .map(|i| {
            // Output pixel i covers photo [origin + i*scale, origin + (i+1)*scale); photo pixel j
            // has its centre at j + 0.5.
            let centre = origin + (i as f64 + 0.5) * scale;
            let start = (centre - radius - 0.5).floor() as i64;
            let stop = (centre + radius - 0.5).ceil() as i64;
            let raw: Vec<f64> = (start..=stop)
                .map(|j| lanczos3((j as f64 + 0.5 - centre) / stretch))
                .collect();
            let sum: f64 = raw.iter().sum();
            Taps {
                start,
                weights: raw.iter().map(|v| (v / sum) as f32).collect(),
            }
        })
        .collect()
}

fn lanczos3(x: f64) -> f64 {
    let sinc = |x: f64| {
        if x == 0.0 {
            1.0
        } else {
            let px = std::f64::consts::PI * x;
            px.sin() / px
        }
    };
    if x.abs() < 3.0 {
        sinc(x) * sinc(x / 3.0)
    } else {
        0.0
    }
}

/// The whole photo upright (EXIF orientation applied) at full size, through the intake's limits.
pub fn decode_upright(bytes: &[u8], limits: &IntakeLimits) -> Result<RgbImage, IntakeError> {
    // An analysis height past any accepted side keeps every pixel.
    let full = IntakeLimits {
        analysis_height: limits.max_side,
        ..limits.clone()
    };
    Ok(intake::decode(bytes, &full)?.image)
}

/// Background of a portrait on a light wall: near-white pixels (luma at least 200, channels within
/// 30 of each other) connected to the top, left or right edge, 255 in the mask. The person's outline
/// stops the fill, so a white shirt or the whites of the eyes inside it stay person; the bottom edge
/// cuts through the body, so a white shirt there is no way in either.
pub fn background_mask(image: &RgbImage) -> GrayImage {
    let (w, h) = image.dimensions();
    let open = GrayImage::from_fn(w, h, |x, y| {
        let p = image.get_pixel(x, y).0;
        let spread = p.iter().max().unwrap_or(&0) - p.iter().min().unwrap_or(&0);
        Luma([if luma(p) >= 200 && spread <= 30 {
            255
        } else {
            0
        }])
    });
    // A white collar can touch the wall through a gap a few px wide: the fill runs through the
    // near-white pixels shrunk by `r`, which closes such gaps, and grows back by `r` within them.
    let r = (w.min(h) as f64 * 0.006).round().clamp(1.0, 255.0) as u8;
    let core = erode(&open, Norm::LInf, r);
    let mut mask = dilate(&fill_from_sides(&core), Norm::LInf, r);
    for (m, o) in mask.iter_mut().zip(open.iter()) {
        *m = (*m).min(*o);
    }
    mask
}

/// The set (255) pixels of `open` connected to the top, left or right edge.
fn fill_from_sides(open: &GrayImage) -> GrayImage {
    let (w, h) = open.dimensions();
    let mut filled = GrayImage::new(w, h);
    let mut queue = VecDeque::new();
    let visit = |x: u32, y: u32, filled: &mut GrayImage, queue: &mut VecDeque<(u32, u32)>| {
        if x < w && y < h && filled.get_pixel(x, y)[0] == 0 && open.get_pixel(x, y)[0] > 0 {
            filled.put_pixel(x, y, Luma([255]));
            queue.push_back((x, y));
        }
    };
    for x in 0..w {
        visit(x, 0, &mut filled, &mut queue);
    }
    for y in 0..h {
        visit(0, y, &mut filled, &mut queue);
        visit(w.saturating_sub(1), y, &mut filled, &mut queue);
    }
    while let Some((x, y)) = queue.pop_front() {
        // Wrapping below zero lands past the edge, which `visit` refuses.
        visit(x.wrapping_sub(1), y, &mut filled, &mut queue);
        visit(x + 1, y, &mut filled, &mut queue);
        visit(x, y.wrapping_sub(1), &mut filled, &mut queue);
        visit(x, y + 1, &mut filled, &mut queue);
    }
    filled
}

/// Share of the mask that is set, 0-1.
pub fn mask_share(mask: &GrayImage) -> f64 {
    let set = mask.pixels().filter(|p| p[0] > 0).count();
    set as f64 / (mask.width() as f64 * mask.height() as f64).max(1.0)
}

/// The background (`mask`) repainted `colour`, each pixel keeping its brightness relative to the
/// background's mean, as a wall of that colour would under the same light.
pub fn recolour_background(image: &RgbImage, mask: &GrayImage, colour: [u8; 3]) -> RgbImage {
    let (mut sum, mut n) = ([0f64; 3], 0f64);
    for (p, m) in image.pixels().zip(mask.pixels()) {
        if m[0] > 0 {
            for c in 0..3 {
                sum[c] += p[c] as f64;
            }
            n += 1.0;
        }
    }
    let mean = sum.map(|s| (s / n.max(1.0)).max(1.0));
    let mut out = image.clone();
    for (p, m) in out.pixels_mut().zip(mask.pixels()) {
        if m[0] > 0 {
            for c in 0..3 {
                let v = colour[c] as f64 * p[c] as f64 / mean[c];
                p[c] = v.round().clamp(0.0, 255.0) as u8;
            }
        }
    }
    out
}

/// The background (`mask`) darkened by a ramp across: unchanged at the left edge, by `darkest` (0-1)
/// at the right, like a shadow cast from one side.
pub fn shade_background(image: &RgbImage, mask: &GrayImage, darkest: f64) -> RgbImage {
    let span = (image.width().saturating_sub(1)).max(1) as f64;
    let mut out = image.clone();
    for ((x, _, p), m) in out.enumerate_pixels_mut().zip(mask.pixels()) {
        if m[0] > 0 {
            let f = 1.0 - darkest * x as f64 / span;
            p.0 = p.0.map(|v| (v as f64 * f).round() as u8);
        }
    }
    out
}

/// Every channel multiplied by `factor` and clipped, as a longer or shorter exposure records it.
pub fn scale_exposure(image: &RgbImage, factor: f64) -> RgbImage {
    let mut out = image.clone();
    for v in out.iter_mut() {
        *v = (*v as f64 * factor).round().clamp(0.0, 255.0) as u8;
    }
    out
}

/// Gaussian blur, `sigma` px: an out-of-focus or shaken photo.
pub fn blur(image: &RgbImage, sigma: f32) -> RgbImage {
    imageproc::filter::gaussian_blur_f32(image, sigma)
}

/// Grey (the engine's luma) in all three channels: a black-and-white photo saved as RGB.
pub fn desaturate(image: &RgbImage) -> RgbImage {
    let mut out = image.clone();
    for p in out.pixels_mut() {
        let l = luma(p.0);
        p.0 = [l; 3];
    }
    out
}

/// The pixels to store with EXIF Orientation 6 for `upright` to be shown: Orientation 6 tells a
/// viewer to turn the stored image 90 degrees clockwise, so it is stored turned counter-clockwise.
pub fn stored_for_orientation_6(upright: &RgbImage) -> RgbImage {
    imageops::rotate270(upright)
}

/// Another person's head pasted in front, in the top-left corner of `photo`, three quarters the
/// length of the main head: its crown 5 % of that length below the top and its face just inside the
/// left edge, as far from the main face as a whole face can be. The patch is `other` around
/// `other_head` with 35 % of its head length as margin; only an oval around the head, less its own
/// light background, is pasted, so neither its shoulders nor its wall cover the main face.
pub fn paste_second_head(
    photo: &RgbImage,
    main: HeadRows,
    other: &RgbImage,
    other_head: HeadRows,
) -> RgbImage {
    // Ground truth gives rows, not the outline: a head is about three quarters as wide as long,
    // the face a little over half.
    const HALF_WIDTH: f64 = 0.375;
    const HALF_FACE: f64 = 0.28;
    const MARGIN: f64 = 0.35;
    const INSET: f64 = 0.05;
    // The oval's half axes: the head with a little of its hair beyond the box.
    const OVAL: (f64, f64) = (0.45, 0.58);
    let length = 0.75 * main.length();
    let scale = other_head.length() / length;
    let margin = MARGIN * length;
    let half_width = HALF_WIDTH * length;
    let size = (
        (2.0 * (half_width + margin)).ceil() as u32,
        (length + 2.0 * margin).ceil() as u32,
    );
    let origin = (
        other_head.centre_x - (half_width + margin) * scale,
        other_head.crown_y - margin * scale,
    );
    let patch = resample(other, origin, scale, size);
    let patch_bg = background_mask(&patch);
    // Patch px of the head centre; where the patch's top-left corner lands in the photo.
    let centre = (half_width + margin, margin + length / 2.0);
    let at = (
        (HALF_FACE * length - centre.0).round() as i64,
        (INSET * length - margin).round() as i64,
    );
    let mut out = photo.clone();
    for (x, y, p) in patch.enumerate_pixels() {
        let (ox, oy) = (at.0 + x as i64, at.1 + y as i64);
        let dx = (x as f64 + 0.5 - centre.0) / (OVAL.0 * length);
        let dy = (y as f64 + 0.5 - centre.1) / (OVAL.1 * length);
        if dx * dx + dy * dy <= 1.0
            && patch_bg.get_pixel(x, y)[0] == 0
            && (0..out.width() as i64).contains(&ox)
            && (0..out.height() as i64).contains(&oy)
        {
            out.put_pixel(ox as u32, oy as u32, *p);
        }
    }
    out
}

/// EXIF facts to write into a derived JPEG.
#[derive(Debug, Clone, Copy)]
pub struct ExifTags<'a> {
    /// 1-8, as in the EXIF Orientation tag.
    pub orientation: u16,
    pub software: &'a str,
    /// `YYYY:MM:DD HH:MM:SS`, as DateTimeOriginal holds it.
    pub taken: &'a str,
}

/// A JPEG with an EXIF block holding Orientation, Software and DateTimeOriginal. The pixels are
/// stored as given: the orientation tag says how to turn them, it does not turn them.
pub fn jpeg_with_exif(image: &RgbImage, tags: ExifTags<'_>) -> Result<Vec<u8>, ImageError> {
    let ascii = |s: &str| {
        let mut b = s.as_bytes().to_vec();
        b.push(0);
        if b.len() % 2 == 1 {
            b.push(0);
        }
        b
    };
    let (software, taken) = (ascii(tags.software), ascii(tags.taken));
    let entry = |tag: u16, kind: u16, count: u32, value: u32| {
        let mut e = Vec::with_capacity(12);
        e.extend(tag.to_le_bytes());
        e.extend(kind.to_le_bytes());
        e.extend(count.to_le_bytes());
        e.extend(value.to_le_bytes());
        e
    };
    let len32 = |b: &[u8]| u32::try_from(b.len()).unwrap_or(u32::MAX);
    // Little-endian TIFF: header, IFD0 (3 entries), Software text, Exif IFD (1 entry), date text.
    let ifd0_end = 8 + 2 + 3 * 12 + 4;
    let software_at = ifd0_end;
    let exif_ifd_at = software_at + len32(&software);
    let taken_at = exif_ifd_at + 2 + 12 + 4;
    let mut tiff = b"II*\0".to_vec();
    tiff.extend(8u32.to_le_bytes());
    tiff.extend(3u16.to_le_bytes());
    tiff.extend(entry(0x0112, 3, 1, u32::from(tags.orientation)));
    tiff.extend(entry(0x0131, 2, len32(&software), software_at));
    tiff.extend(entry(0x8769, 4, 1, exif_ifd_at));
    tiff.extend(0u32.to_le_bytes());
    tiff.extend(&software);
    tiff.extend(1u16.to_le_bytes());
    tiff.extend(entry(0x9003, 2, len32(&taken), taken_at));
    tiff.extend(0u32.to_le_bytes());
    tiff.extend(&taken);
    let mut app1 = vec![0xFF, 0xE1];
    let segment_len = u16::try_from(tiff.len() + 8).unwrap_or(u16::MAX);
    app1.extend(segment_len.to_be_bytes());
    app1.extend(b"Exif\0\0");
    app1.extend(tiff);
    let plain = jpeg(image)?;
    // Right after the start-of-image marker, where cameras put it.
    Ok([&plain[..2], &app1[..], &plain[2..]].concat())
}

/// A plain baseline JPEG (the `image` crate's encoder, quality 75).
pub fn jpeg(image: &RgbImage) -> Result<Vec<u8>, ImageError> {
    let mut out = Cursor::new(Vec::new());
    DynamicImage::ImageRgb8(image.clone()).write_to(&mut out, ImageFormat::Jpeg)?;
    Ok(out.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use photocheck_core::profile::Profile;

    const WHITE: Rgb<u8> = Rgb([255, 255, 255]);
    const DARK: Rgb<u8> = Rgb([0, 0, 0]);

    /// White, with a dark rectangle "head": crown and chin are its top and bottom edges. Edge
    /// pixels are shaded by how much of them the rectangle covers, so edges between pixels are
    /// where they are said to be.
    fn portrait(size: (u32, u32), head: HeadRows, half_width: f64) -> RgbImage {
        let overlap = |at: u32, lo: f64, hi: f64| {
            (hi.min(at as f64 + 1.0) - lo.max(at as f64)).clamp(0.0, 1.0)
        };
        RgbImage::from_fn(size.0, size.1, |x, y| {
            let (left, right) = (head.centre_x - half_width, head.centre_x + half_width);
            let cover = overlap(x, left, right) * overlap(y, head.crown_y, head.chin_y);
            Rgb([(255.0 * (1.0 - cover)).round() as u8; 3])
        })
    }

    /// Sub-pixel positions where a profile crosses mid-grey: (falling, rising), pixel centres at i + 0.5.
    fn crossings(values: &[f64]) -> (f64, f64) {
        let mid = 127.5;
        let mut fall = f64::NAN;
        let mut rise = f64::NAN;
        for (i, pair) in values.windows(2).enumerate() {
            let (a, b) = (pair[0], pair[1]);
            if fall.is_nan() && a >= mid && b < mid {
                fall = i as f64 + 0.5 + (a - mid) / (a - b);
            }
            if !fall.is_nan() && a < mid && b >= mid {
                rise = i as f64 + 0.5 + (mid - a) / (b - a);
            }
        }
        (fall, rise)
    }

    fn column(image: &RgbImage, x: u32) -> Vec<f64> {
        (0..image.height())
            .map(|y| image.get_pixel(x, y)[0] as f64)
            .collect()
    }

    fn row(image: &RgbImage, y: u32) -> Vec<f64> {
        (0..image.width())
            .map(|x| image.get_pixel(x, y)[0] as f64)
            .collect()
    }

    #[test]
    fn framing_puts_crown_chin_and_centre_exactly_where_computed() {
        let head = HeadRows {
            crown_y: 150.3,
            chin_y: 390.7,
            centre_x: 210.4,
        };
        let photo = portrait((420, 640), head, 90.0);
        let cases = [
            (Framing::centred(20.5), (520, 756)),
            (Framing::centred(17.0), (260, 378)),
            (Framing::centred(24.0), (520, 756)),
            (
                Framing {
                    head_mm: 20.5,
                    crown_ref_px: 45.0,
                    offset_mm: 3.0,
                },
                (520, 756),
            ),
            (Framing::centred(20.5), (567, 756)),
            // Enlarging: the photo is smaller than the frame.
            (Framing::centred(20.5), (1040, 1512)),
        ];
        for (framing, size) in cases {
            let (framed, got) = frame(&photo, head, framing, size);
            assert_eq!(framed.dimensions(), size);
            let h = size.1 as f64;
            let crown = framing.crown_ref_px / 378.0 * h;
            let want = HeadRows {
                crown_y: crown,
                chin_y: crown + framing.head_mm / 32.0 * h,
                centre_x: size.0 as f64 / 2.0 + framing.offset_mm * h / 32.0,
            };
            assert_eq!(got, want, "{framing:?}");
            let (crown_seen, chin_seen) = crossings(&column(&framed, want.centre_x as u32));
            let (left, right) =
                crossings(&row(&framed, ((want.crown_y + want.chin_y) / 2.0) as u32));
            let centre_seen = (left + right) / 2.0;
            // A fifth of an output px; when enlarging, a tenth of a photo px (the shaded edge
            // pixel of the synthetic photo is itself only that exact). Half a photo px off, the
            // usual pixel-centre slip, fails either way.
            let photo_px = h / 32.0 * framing.head_mm / head.length();
            let tolerance = 0.2f64.max(0.1 * photo_px);
            for (what, seen, truth) in [
                ("crown", crown_seen, want.crown_y),
                ("chin", chin_seen, want.chin_y),
                ("centre", centre_seen, want.centre_x),
            ] {
                assert!(
                    (seen - truth).abs() < tolerance,
                    "{framing:?} {size:?}: {what} seen at {seen:.3}, truth {truth:.3}"
                );
            }
        }
    }

    #[test]
    fn a_frame_past_the_photo_is_padded_white_and_says_where() {
        let head = HeadRows {
            crown_y: 5.0,
            chin_y: 205.0,
            centre_x: 100.0,
        };
        let photo = RgbImage::from_fn(200, 300, |_, _| Rgb([90, 120, 150]));
        let size = (260, 378);
        let p = place(head, Framing::centred(17.0), size);
        assert_eq!(p.leaves(size, (200, 300)), [true, true, true, true]);
        let (framed, _) = frame(&photo, head, Framing::centred(17.0), size);
        assert_eq!(*framed.get_pixel(1, 1), WHITE);
        assert_eq!(*framed.get_pixel(130, 200), Rgb([90, 120, 150]));
        let inside = place(head, Framing::centred(24.0), size);
        assert_eq!(inside.leaves(size, (200, 300)), [false, true, false, false]);
    }

    #[test]
    fn background_mask_excludes_the_person_and_what_it_encloses() {
        let mut image = RgbImage::from_pixel(60, 80, Rgb([245, 246, 244]));
        for y in 20..80 {
            for x in 20..40 {
                image.put_pixel(x, y, Rgb([60, 40, 30]));
            }
        }
        // A white shirt patch inside the person, and a pink wall patch at the edge.
        for y in 50..56 {
            for x in 26..32 {
                image.put_pixel(x, y, WHITE);
            }
        }
        // A white shirt front reaching the bottom edge, and a white collar reaching the wall
        // through a 2 px gap.
        for y in 74..80 {
            for x in 28..32 {
                image.put_pixel(x, y, WHITE);
            }
        }
        for y in 64..70 {
            for x in 26..32 {
                image.put_pixel(x, y, WHITE);
            }
        }
        for y in 66..68 {
            for x in 20..26 {
                image.put_pixel(x, y, WHITE);
            }
        }
        for y in 0..10 {
            for x in 50..60 {
                image.put_pixel(x, y, Rgb([255, 200, 200]));
            }
        }
        let mask = background_mask(&image);
        assert_eq!(mask.get_pixel(0, 0)[0], 255);
        assert_eq!(mask.get_pixel(45, 79)[0], 255);
        assert_eq!(mask.get_pixel(30, 30)[0], 0, "person");
        assert_eq!(mask.get_pixel(28, 52)[0], 0, "white enclosed by the person");
        assert_eq!(mask.get_pixel(55, 5)[0], 0, "coloured");
        assert_eq!(mask.get_pixel(29, 66)[0], 0, "collar touching the wall");
        assert_eq!(mask.get_pixel(21, 66)[0], 0, "the gap itself");
        assert_eq!(mask.get_pixel(30, 79)[0], 0, "shirt at the bottom edge");
        let wall = 60.0 * 80.0 - 20.0 * 60.0 - 100.0;
        assert_eq!(mask_share(&mask), wall / (60.0 * 80.0));
    }

    #[test]
    fn background_edits_touch_only_the_background() {
        let mut image = RgbImage::from_pixel(11, 4, Rgb([250, 250, 250]));
        image.put_pixel(1, 1, Rgb([240, 240, 240]));
        image.put_pixel(5, 2, Rgb([80, 60, 50]));
        let mask = background_mask(&image);
        assert_eq!(mask.get_pixel(5, 2)[0], 0);

        let grey = recolour_background(&image, &mask, [185, 185, 185]);
        // Mean background: (42 x 250 + 240) / 43; each pixel keeps its brightness relative to it.
        let mean: f64 = (42.0 * 250.0 + 240.0) / 43.0;
        assert_eq!(
            grey.get_pixel(0, 0)[0],
            (185.0 * 250.0 / mean).round() as u8
        );
        assert_eq!(
            grey.get_pixel(1, 1)[0],
            (185.0 * 240.0 / mean).round() as u8
        );
        assert_eq!(*grey.get_pixel(5, 2), Rgb([80, 60, 50]));
        let blue = recolour_background(&image, &mask, [170, 200, 240]);
        assert_eq!(*blue.get_pixel(10, 3), Rgb([170, 200, 240]));

        let shaded = shade_background(&image, &mask, 0.35);
        assert_eq!(*shaded.get_pixel(0, 0), Rgb([250, 250, 250]));
        assert_eq!(shaded.get_pixel(10, 0)[0], (250.0f64 * 0.65).round() as u8);
        assert_eq!(
            shaded.get_pixel(4, 0)[0],
            (250.0f64 * (1.0 - 0.14)).round() as u8
        );
        assert_eq!(*shaded.get_pixel(5, 2), Rgb([80, 60, 50]));
    }

    #[test]
    fn exposure_scales_and_clips_every_channel() {
        let image = RgbImage::from_pixel(2, 2, Rgb([100, 200, 40]));
        assert_eq!(
            *scale_exposure(&image, 1.7).get_pixel(1, 1),
            Rgb([170, 255, 68])
        );
        assert_eq!(
            *scale_exposure(&image, 0.35).get_pixel(0, 0),
            Rgb([35, 70, 14])
        );
    }

    #[test]
    fn blur_smooths_an_edge_and_keeps_flat_areas() {
        let image = RgbImage::from_fn(40, 10, |x, _| if x < 20 { DARK } else { WHITE });
        let blurred = blur(&image, 3.0);
        let at = |x| blurred.get_pixel(x, 5)[0];
        assert_eq!(at(0), 0);
        assert!(at(39) >= 254);
        assert!(at(18) > 40 && at(21) < 215, "{} {}", at(18), at(21));
        assert!((at(19) as i32 + at(20) as i32 - 255).abs() <= 2);
    }

    #[test]
    fn desaturate_leaves_grey_of_the_same_luma() {
        let image = RgbImage::from_pixel(3, 3, Rgb([200, 120, 40]));
        let grey = desaturate(&image);
        let l = luma([200, 120, 40]);
        assert_eq!(*grey.get_pixel(2, 2), Rgb([l, l, l]));
    }

    /// Quadrants red, green (top right), blue (bottom left), white: any turn or flip shows.
    fn quadrants(w: u32, h: u32) -> RgbImage {
        RgbImage::from_fn(w, h, |x, y| match (x < w / 2, y < h / 2) {
            (true, true) => Rgb([255, 0, 0]),
            (false, true) => Rgb([0, 255, 0]),
            (true, false) => Rgb([0, 0, 255]),
            (false, false) => WHITE,
        })
    }

    fn close(a: Rgb<u8>, b: Rgb<u8>) -> bool {
        a.0.iter().zip(b.0).all(|(x, y)| x.abs_diff(y) < 40)
    }

    #[test]
    fn orientation_6_pixels_come_back_upright_through_intake() {
        let upright = quadrants(64, 96);
        let stored = stored_for_orientation_6(&upright);
        assert_eq!(stored.dimensions(), (96, 64));
        // Turned counter-clockwise: the upright top-right (green) is the stored top-left.
        assert_eq!(*stored.get_pixel(5, 5), Rgb([0, 255, 0]));
        let bytes = jpeg_with_exif(
            &stored,
            ExifTags {
                orientation: 6,
                software: "photocheck samples build",
                taken: "2026:01:02 09:00:00",
            },
        )
        .unwrap();
        let limits = Profile::default_profile().intake;
        let decoded = intake::decode(&bytes, &limits).unwrap();
        let back = decode_upright(&bytes, &limits).unwrap();
        assert_eq!(decoded.image.dimensions(), (64, 96));
        assert_eq!(back.dimensions(), (64, 96));
        for (x, y) in [(10, 10), (54, 10), (10, 86), (54, 86)] {
            let (want, got) = (*upright.get_pixel(x, y), *back.get_pixel(x, y));
            assert!(close(want, got), "({x}, {y}): {got:?}, want {want:?}");
        }
        // Without the tag the same pixels would be read sideways.
        let plain = decode_upright(&jpeg(&stored).unwrap(), &limits).unwrap();
        assert_eq!(plain.dimensions(), (96, 64));
    }

    #[test]
    fn decode_upright_keeps_every_pixel_of_a_large_photo() {
        let big = quadrants(900, 1600);
        let limits = Profile::default_profile().intake;
        assert!(
            intake::decode(&jpeg(&big).unwrap(), &limits)
                .unwrap()
                .image
                .height()
                < 1600
        );
        assert_eq!(
            decode_upright(&jpeg(&big).unwrap(), &limits)
                .unwrap()
                .dimensions(),
            (900, 1600)
        );
    }

    #[test]
    fn second_head_is_pasted_top_left_at_three_quarters_as_an_oval_without_its_background() {
        let main = HeadRows {
            crown_y: 40.0,
            chin_y: 240.0,
            centre_x: 150.0,
        };
        let photo = portrait((300, 400), main, 75.0);
        let other_head = HeadRows {
            crown_y: 50.0,
            chin_y: 150.0,
            centre_x: 100.0,
        };
        let other = RgbImage::from_fn(200, 300, |x, y| {
            let (cx, cy) = (x as f64 + 0.5, y as f64 + 0.5);
            if cy > 50.0 && cy < 150.0 && (cx - 100.0).abs() < 37.5 {
                Rgb([220, 30, 30])
            } else {
                WHITE
            }
        });
        let out = paste_second_head(&photo, main, &other, other_head);
        let red = |x: u32, y: u32| {
            let p = out.get_pixel(x, y);
            p[0] > 150 && p[1] < 100
        };
        // 0.75 x 200 = 150 px long, crown 7.5 px down; centred 0.28 x 150 = 42 px from the left
        // edge and 112.5 px wide, so its left 14 px are cut off.
        let rows: Vec<u32> = (0..400).filter(|&y| red(42, y)).collect();
        assert!(rows[0].abs_diff(8) <= 1, "{rows:?}");
        assert!(rows.len().abs_diff(150) <= 2, "{rows:?}");
        let cols: Vec<u32> = (0..300).filter(|&x| red(x, 82)).collect();
        assert_eq!(cols[0], 0);
        assert!(cols[cols.len() - 1].abs_diff(97) <= 1, "{cols:?}");
        // Outside the oval the patch's own head is not pasted either.
        assert_eq!(*out.get_pixel(96, 10), WHITE);
        // The other photo's white is not pasted: the main head shows through beside the red one.
        assert_eq!(*out.get_pixel(104, 82), DARK);
        assert_eq!(*out.get_pixel(290, 10), WHITE);
    }
}
