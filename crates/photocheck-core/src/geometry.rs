//! Separating the person from the background, and the head geometry measured on that separation:
//! crown (top of the hair), chin, head width and horizontal centre.
//!
//! The background is grown from the image border (top edge, and the sides down to the face), accepting a
//! pixel when it is close in colour to its neighbour, within a bounded distance of the border's median
//! colour and closer to it than to the face's colour, so gradients and vignettes are followed while
//! hair, skin and clothing stop the growth. Soft shadows (the wall's tone, darker, changing slowly) are
//! followed too, so they are measured as background in shadow rather than taken for the person. The
//! person is the non-background component that holds the face; anything else not background is an object
//! on the background.

use image::{GrayImage, RgbImage};
use serde::{Deserialize, Serialize};

use crate::detect::FaceBox;
use crate::profile::Head;

pub const BACKGROUND: u8 = 1;
pub const PERSON: u8 = 2;
/// Neither background nor the person: an object, pattern or another person on the background.
pub const OTHER: u8 = 0;

/// Per-pixel labels of the analysis image.
#[derive(Debug, Clone)]
pub struct Segmentation {
    pub width: u32,
    pub height: u32,
    pub labels: Vec<u8>,
    /// Median colour of the border seeds: the background's reference colour.
    pub reference: [f64; 3],
    /// Median colour of the face core.
    pub face_colour: [f64; 3],
    /// False when the background growth ran into the face: the geometry cannot be trusted.
    pub reliable: bool,
}

impl Segmentation {
    #[inline]
    pub fn label(&self, x: u32, y: u32) -> u8 {
        self.labels[(y * self.width + x) as usize]
    }
}

/// Head geometry in analysis-image px.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct HeadGeometry {
    /// Top of the hair.
    pub crown_y: f64,
    pub chin_y: f64,
    pub left_x: f64,
    pub right_x: f64,
    /// Horizontal centre of the head.
    pub centre_x: f64,
    /// The crown reached the top edge: the head may be cut off.
    pub crown_at_edge: bool,
    /// The chin was placed from evidence (the mesh's chin point or a clear edge), not only from the
    /// face box.
    pub chin_from_edge: bool,
    /// Where the chin came from.
    #[serde(default)]
    pub chin_from: ChinSource,
}

/// How the chin was placed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ChinSource {
    /// The face mesh's chin point (landmark 152): on the shipped labels its error is a third of the
    /// edge search's at the 90th percentile (0.57 against 1.61 mm).
    Mesh,
    /// The strongest jaw-line edge near where the face box puts the chin.
    Edge,
    /// Neither: where the face box puts the chin.
    #[default]
    FaceBox,
}

impl HeadGeometry {
    /// Puts the chin at the mesh's chin point when that lies where the face box allows a chin
    /// (`chin_search`), so a mesh fitted to something else cannot move it anywhere.
    pub fn with_mesh_chin(mut self, mesh_chin_y: f64, face: &FaceBox, cfg: &Head) -> Self {
        let (lo, hi) = (
            face.y + cfg.chin_search[0] * face.h,
            face.y + cfg.chin_search[1] * face.h,
        );
        if (lo..=hi).contains(&mesh_chin_y) && mesh_chin_y > self.crown_y {
            self.chin_y = mesh_chin_y;
            self.chin_from_edge = true;
            self.chin_from = ChinSource::Mesh;
        }
        self
    }

    pub fn length(&self) -> f64 {
        self.chin_y - self.crown_y
    }
    pub fn width(&self) -> f64 {
        self.right_x - self.left_x
    }
}

/// Rec. 709 luma, the brightness every measure uses.
#[inline]
pub fn luma(p: [u8; 3]) -> u8 {
    ((2126 * p[0] as u32 + 7152 * p[1] as u32 + 722 * p[2] as u32 + 5000) / 10000) as u8
}

pub fn to_gray(img: &RgbImage) -> GrayImage {
    let mut g = GrayImage::new(img.width(), img.height());
    for (o, p) in g.iter_mut().zip(img.as_raw().chunks_exact(3)) {
        *o = luma([p[0], p[1], p[2]]);
    }
    g
}

#[inline]
fn dist2(a: &[u8], b: [f64; 3]) -> f64 {
    let dr = a[0] as f64 - b[0];
    let dg = a[1] as f64 - b[1];
    let db = a[2] as f64 - b[2];
    dr * dr + dg * dg + db * db
}

#[inline]
fn step(a: &[u8], b: &[u8]) -> u8 {
    a[0].abs_diff(b[0])
        .max(a[1].abs_diff(b[1]))
        .max(a[2].abs_diff(b[2]))
}

/// Largest colour change between neighbouring background pixels (max over channels).
const LOCAL_STEP: u8 = 14;
/// A shadow darkens the wall gradually: at most this much from one pixel to the next. Hair edges,
/// even grey hair on white, change faster at analysis size.
const SHADOW_STEP: u8 = 6;

const WALL: u8 = 1;
const SHADOW: u8 = 2;
/// The frame around the fill grids: never background, never person.
const FRAME: u8 = 3;
const UNCLASSIFIED: u8 = 0xFF;

/// The wall's own tone, darkened to no less than half its brightness: background in shadow.
/// (Chromaticity within 0.02 of the wall's, compared without division.)
#[inline]
fn in_shadow(p: [i32; 3], wall: [i32; 3], wall_sum: i32) -> bool {
    let sum = p[0] + p[1] + p[2];
    if wall_sum < 3 || 2 * sum < wall_sum || sum > wall_sum + 15 {
        return false;
    }
    let tolerance = sum * wall_sum;
    (0..3).all(|c| 50 * (p[c] * wall_sum - wall[c] * sum).abs() < tolerance)
}

#[inline]
fn dist2_i(a: [i32; 3], b: [i32; 3]) -> i32 {
    let (r, g, bl) = (a[0] - b[0], a[1] - b[1], a[2] - b[2]);
    r * r + g * g + bl * bl
}

/// Labels background, person and other pixels.
pub fn segment(img: &RgbImage, face: &FaceBox) -> Segmentation {
    let (w, h) = img.dimensions();
    let px = img.as_raw();
    let n = (w * h) as usize;
    let band = (h / 60).max(2).min(h);
    let seed_bottom = (face.bottom() as u32).clamp(band, h);

    // Reference colour: channel medians over the seed pixels.
    let mut seeds: Vec<[u8; 3]> = Vec::new();
    let mut take = |x: u32, y: u32| {
        let i = ((y * w + x) * 3) as usize;
        seeds.push([px[i], px[i + 1], px[i + 2]]);
    };
    for y in 0..seed_bottom {
        if y < band {
            (0..w).for_each(|x| take(x, y));
        } else {
            (0..band.min(w)).for_each(|x| take(x, y));
            (w.saturating_sub(band).max(band.min(w))..w).for_each(|x| take(x, y));
        }
    }
    let reference = channel_medians(seeds.iter().copied());
    // How far seeds stray from the reference sets how far the growth may go: a flat white wall allows
    // little, a vignette more; never so much that skin or hair on white is taken. (Third quartile of
    // the whole-number distances; at most 442 in RGB.)
    let mut spread_hist = [0u32; 443];
    for p in &seeds {
        spread_hist[(dist2(p, reference).sqrt() as usize).min(442)] += 1;
    }
    let spread = quantile(&spread_hist, seeds.len(), 0.75) as f64;
    let limit = (spread * 2.0 + 25.0).clamp(25.0, 60.0);
    let limit2 = limit * limit;
    // The face's own colour: a pixel closer to it than to the background is never background, which
    // keeps the growth out of pale skin on a light grey wall.
    let face_ref = face_colour(img, face);

    // Colour classes (integer arithmetic): bit 1 wall-like colour, bit 2 the wall's tone in shadow. The
    // grids carry a one-pixel frame labelled FRAME so the fills need neither bounds checks nor
    // divisions (benches/check.rs).
    let reference_i = reference.map(|c| c as i32);
    let face_i = face_ref.map(|c| c as i32);
    let limit2_i = limit2 as i32;
    let wall_sum = reference_i[0] + reference_i[1] + reference_i[2];
    let (pw, ph) = (w as usize + 2, h as usize + 2);
    let mut labels = vec![FRAME; pw * ph];
    for y in 0..h as usize {
        labels[(y + 1) * pw + 1..(y + 1) * pw + 1 + w as usize].fill(OTHER);
    }
    // The pixel behind a grid cell: both indices travel together, so neither is ever divided.
    let colour = |p: usize| [px[p * 3], px[p * 3 + 1], px[p * 3 + 2]];
    // Colours are classified when the fill first reaches them: most of the person never is.
    let mut kinds = vec![UNCLASSIFIED; pw * ph];
    let mut kind_of = |i: usize, c: [u8; 3]| -> u8 {
        if kinds[i] == UNCLASSIFIED {
            let pi = [c[0] as i32, c[1] as i32, c[2] as i32];
            let d_wall = dist2_i(pi, reference_i);
            let mut kind = 0;
            if d_wall <= limit2_i && d_wall < dist2_i(pi, face_i) {
                kind |= WALL;
            }
            if in_shadow(pi, reference_i, wall_sum) {
                kind |= SHADOW;
            }
            kinds[i] = kind;
        }
        kinds[i]
    };
    let at = |x: u32, y: u32| ((y as usize + 1) * pw + x as usize + 1, (y * w + x) as usize);
    let wu = w as usize;
    let neighbours = |(i, p): (usize, usize)| {
        [
            (i - 1, p.wrapping_sub(1)),
            (i + 1, p + 1),
            (i - pw, p.wrapping_sub(wu)),
            (i + pw, p + wu),
        ]
    };

    // A stack, not a queue: the fill order does not matter and a Vec is cheaper.
    let mut stack: Vec<(usize, usize)> = Vec::new();
    let mut seed = |x: u32, y: u32, labels: &mut Vec<u8>| {
        let (i, p) = at(x, y);
        if labels[i] == OTHER && kind_of(i, colour(p)) & WALL != 0 {
            labels[i] = BACKGROUND;
            stack.push((i, p));
        }
    };
    for y in 0..seed_bottom {
        if y < band {
            (0..w).for_each(|x| seed(x, y, &mut labels));
        } else {
            (0..band.min(w)).for_each(|x| seed(x, y, &mut labels));
            (w.saturating_sub(band)..w).for_each(|x| seed(x, y, &mut labels));
        }
    }
    while let Some(cell) = stack.pop() {
        let here = colour(cell.1);
        for (j, q) in neighbours(cell) {
            // A FRAME cell stops here, before its (wrapped) pixel index is used.
            if labels[j] != OTHER {
                continue;
            }
            let there = colour(q);
            let d = step(&here, &there);
            if d > LOCAL_STEP {
                continue;
            }
            let kind = kind_of(j, there);
            if kind & WALL != 0 || (kind & SHADOW != 0 && d <= SHADOW_STEP) {
                labels[j] = BACKGROUND;
                stack.push((j, q));
            }
        }
    }

    // The person: the non-background component holding the face core. A scanline fill: each seed
    // claims its whole run in the row, then seeds the runs above and below it (several times fewer
    // stack operations than a pixel fill; benches/check.rs).
    let core = core_box(face, w, h);
    let (mut core_px, mut core_bg) = (0usize, 0usize);
    let mut seeds: Vec<usize> = Vec::new();
    for y in core.1..core.3 {
        for x in core.0..core.2 {
            core_px += 1;
            let (i, _) = at(x, y);
            match labels[i] {
                BACKGROUND => core_bg += 1,
                OTHER => seeds.push(i),
                _ => {}
            }
        }
    }
    while let Some(i) = seeds.pop() {
        if labels[i] != OTHER {
            continue;
        }
        let (mut l, mut r) = (i, i);
        while labels[l - 1] == OTHER {
            l -= 1;
        }
        while labels[r + 1] == OTHER {
            r += 1;
        }
        labels[l..=r].fill(PERSON);
        for row in [l - pw, l + pw] {
            let mut in_run = false;
            for (k, &label) in labels[row..=row + (r - l)].iter().enumerate() {
                let open = label == OTHER;
                if open && !in_run {
                    seeds.push(row + k);
                }
                in_run = open;
            }
        }
    }
    let labels: Vec<u8> = labels
        .chunks_exact(pw)
        .skip(1)
        .take(h as usize)
        .flat_map(|row| &row[1..pw - 1])
        .copied()
        .collect();
    // Trust the separation when it stayed out of the face and found some background at all (a frame
    // filled by faces, or a wall the growth could not follow, has none).
    let background_px = labels.iter().filter(|&&l| l == BACKGROUND).count();
    let reliable =
        core_px > 0 && (core_bg as f64) < 0.1 * core_px as f64 && background_px * 50 >= n;
    Segmentation {
        width: w,
        height: h,
        labels,
        reference,
        face_colour: face_ref,
        reliable,
    }
}

/// Median colour of the face core.
pub fn face_colour(img: &RgbImage, face: &FaceBox) -> [f64; 3] {
    let (x0, y0, x1, y1) = core_box(face, img.width(), img.height());
    channel_medians((y0..y1).flat_map(|y| (x0..x1).map(move |x| img.get_pixel(x, y).0)))
}

/// Per-channel medians, by histogram (white when there are no pixels).
fn channel_medians(pixels: impl Iterator<Item = [u8; 3]>) -> [f64; 3] {
    let mut hist = [[0u32; 256]; 3];
    let mut n = 0;
    for p in pixels {
        for c in 0..3 {
            hist[c][p[c] as usize] += 1;
        }
        n += 1;
    }
    if n == 0 {
        return [255.0; 3];
    }
    hist.map(|h| quantile(&h, n, 0.5) as f64)
}

/// The smallest bin at which the running count passes `q` of `n`.
pub(crate) fn quantile(hist: &[u32], n: usize, q: f64) -> usize {
    let target = (n as f64 * q) as u64;
    let mut acc = 0u64;
    for (v, &c) in hist.iter().enumerate() {
        acc += c as u64;
        if acc > target {
            return v;
        }
    }
    hist.len().saturating_sub(1)
}

/// The inner part of the face box (x0, y0, x1, y1), clipped: certainly face, whatever the pose.
pub fn core_box(face: &FaceBox, w: u32, h: u32) -> (u32, u32, u32, u32) {
    let clip = |v: f64, hi: u32| (v.max(0.0) as u32).min(hi);
    (
        clip(face.x + 0.2 * face.w, w),
        clip(face.y + 0.15 * face.h, h),
        clip(face.x + 0.8 * face.w, w),
        clip(face.y + 0.9 * face.h, h),
    )
}

/// Crown, chin and width of the head.
pub fn head_geometry(
    seg: &Segmentation,
    gray: &GrayImage,
    face: &FaceBox,
    cfg: &Head,
) -> Option<HeadGeometry> {
    let (w, h) = (seg.width, seg.height);
    if w < 8 || h < 8 || face.w < 4.0 {
        return None;
    }
    let cx = face.centre_x().clamp(0.0, (w - 1) as f64);

    // Crown: walk up from the forehead while the band over the face is mostly person; hair may thin
    // out for a row or two, so a short gap is allowed.
    let x0 = (cx - 0.3 * face.w).max(0.0) as u32;
    let x1 = ((cx + 0.3 * face.w) as u32).min(w - 1).max(x0);
    let needed = ((x1 - x0 + 1) as f64 * 0.2).max(1.0) as usize;
    let start = ((face.y + 0.15 * face.h).max(0.0) as u32).min(h - 1);
    let gap = (h / 50).max(2);
    let mut crown = start;
    let mut misses = 0;
    let mut y = start as i64;
    while y >= 0 {
        let yy = y as u32;
        let count = (x0..=x1).filter(|&x| seg.label(x, yy) == PERSON).count();
        if count >= needed {
            crown = yy;
            misses = 0;
        } else {
            misses += 1;
            if misses > gap {
                break;
            }
        }
        y -= 1;
    }
    let crown_at_edge = crown == 0;

    // Chin: the strongest bright-above / dark-below edge under the mouth, in the middle of the face,
    // weighted towards the position the face box predicts.
    let prior = face.y + cfg.chin_prior * face.h;
    let lo = ((face.y + cfg.chin_search[0] * face.h).max(2.0) as u32).min(h.saturating_sub(3));
    let hi = ((face.y + cfg.chin_search[1] * face.h) as u32).min(h.saturating_sub(3));
    let cx0 = (cx - 0.15 * face.w).max(0.0) as u32;
    let cx1 = ((cx + 0.15 * face.w) as u32).min(w - 1).max(cx0);
    let row_mean = |y: u32| -> f64 {
        let sum: u32 = (cx0..=cx1).map(|x| gray.get_pixel(x, y)[0] as u32).sum();
        sum as f64 / (cx1 - cx0 + 1) as f64
    };
    let mut best: Option<(f64, u32, f64)> = None;
    let sigma = 0.12 * face.h;
    for y in lo..=hi.max(lo) {
        if y < 2 || y + 2 >= h {
            continue;
        }
        let above = (row_mean(y - 2) + row_mean(y - 1)) / 2.0;
        let below = (row_mean(y + 1) + row_mean(y + 2)) / 2.0;
        let edge = above - below;
        let d = (y as f64 - prior) / sigma;
        let score = edge * (-0.5 * d * d).exp();
        if best.is_none_or(|(s, _, _)| score > s) {
            best = Some((score, y, edge));
        }
    }
    // An edge of this many grey levels (about 3 % of full scale) is a jaw line, not noise.
    const CLEAR_EDGE: f64 = 8.0;
    let (chin_y, chin_from_edge, chin_from) = match best {
        Some((_, y, edge)) if edge >= CLEAR_EDGE => (y as f64, true, ChinSource::Edge),
        _ => (prior.min((h - 1) as f64), false, ChinSource::FaceBox),
    };

    // Width and centre: the person run through the face centre, at forehead-to-nose rows (ear level).
    let r0 = (face.y + 0.2 * face.h).max(0.0) as u32;
    let r1 = ((face.y + 0.55 * face.h) as u32).min(h - 1);
    let cxi = cx as u32;
    let mut widths = Vec::new();
    let mut mids = Vec::new();
    for y in r0..=r1.max(r0).min(h - 1) {
        if seg.label(cxi, y) != PERSON {
            continue;
        }
        let mut l = cxi;
        while l > 0 && seg.label(l - 1, y) == PERSON {
            l -= 1;
        }
        let mut r = cxi;
        while r + 1 < w && seg.label(r + 1, y) == PERSON {
            r += 1;
        }
        widths.push((l, r + 1));
        mids.push((l + r + 1) as f64 / 2.0);
    }
    if widths.is_empty() {
        return None;
    }
    // The narrowest quarter: hair falling beside the face widens the lower rows, the head does not.
    widths.sort_by_key(|(l, r)| r - l);
    let (left, right) = widths[widths.len() / 4];
    let (left, right) = (left as f64, right as f64);
    mids.sort_unstable_by(f64::total_cmp);
    let centre_x = mids[mids.len() / 2];
    Some(HeadGeometry {
        crown_y: crown as f64,
        chin_y,
        left_x: left,
        right_x: right,
        centre_x,
        crown_at_edge,
        chin_from_edge,
        chin_from,
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use image::Rgb;

    /// A synthetic portrait: white background, dark hair ellipse, skin face ellipse, dark shoulders,
    /// with a known crown and chin.
    pub fn portrait(w: u32, h: u32, crown: f64, chin: f64, head_w: f64, bg: [u8; 3]) -> RgbImage {
        let cx = w as f64 / 2.0;
        let head_h = chin - crown;
        let cy = crown + head_h / 2.0;
        RgbImage::from_fn(w, h, |x, y| {
            let (xf, yf) = (x as f64 + 0.5, y as f64 + 0.5);
            let dx = (xf - cx) / (head_w / 2.0);
            let dy = (yf - cy) / (head_h / 2.0);
            let in_head = dx * dx + dy * dy <= 1.0;
            let face_cy = crown + head_h * 0.58;
            let fdx = (xf - cx) / (head_w * 0.42);
            let fdy = (yf - face_cy) / (head_h * 0.42);
            if in_head && fdx * fdx + fdy * fdy <= 1.0 {
                // Skin, slightly darker towards the jaw like a real face.
                let shade = (30.0 * (yf - face_cy).max(0.0) / (head_h * 0.42)) as u8;
                Rgb([225 - shade, 180 - shade, 155 - shade])
            } else if in_head {
                Rgb([40, 30, 25])
            } else if yf > chin + head_h * 0.08
                && (xf - cx).abs() < head_w * (0.25 + (yf - chin) / head_h * 2.0)
            {
                Rgb([30, 30, 40])
            } else if yf > chin && (xf - cx).abs() < head_w * 0.2 {
                Rgb([150, 110, 95])
            } else {
                Rgb(bg)
            }
        })
    }

    #[test]
    fn crown_and_width_follow_the_silhouette() {
        let img = portrait(260, 378, 15.0, 257.0, 175.0, [255, 255, 255]);
        let face = FaceBox {
            x: 130.0 - 70.0,
            y: 100.0,
            w: 140.0,
            h: 140.0,
            score: 10.0,
        };
        let seg = segment(&img, &face);
        assert!(seg.reliable);
        let g = to_gray(&img);
        let head = head_geometry(
            &seg,
            &g,
            &face,
            &crate::profile::Profile::default_profile().head,
        )
        .unwrap();
        assert!((head.crown_y - 15.0).abs() <= 1.5, "crown {}", head.crown_y);
        assert!(
            (head.width() - 175.0).abs() <= 8.0,
            "width {}",
            head.width()
        );
        assert!(
            (head.centre_x - 130.0).abs() <= 2.0,
            "centre {}",
            head.centre_x
        );
        assert!(!head.crown_at_edge);
    }

    #[test]
    fn known_head_lengths_are_measured() {
        let cfg = crate::profile::Profile::default_profile().head;
        for (crown, chin) in [(15.0, 240.0), (20.0, 262.0), (12.0, 226.0), (40.0, 200.0)] {
            let img = portrait(
                260,
                378,
                crown,
                chin,
                0.72 * (chin - crown),
                [250, 250, 250],
            );
            // A face box where rustface puts one: brows to below the mouth.
            let h = 0.58 * (chin - crown);
            let face = FaceBox {
                x: 130.0 - h / 2.0,
                y: chin - cfg.chin_prior * h,
                w: h,
                h,
                score: 10.0,
            };
            let seg = segment(&img, &face);
            let head = head_geometry(&seg, &to_gray(&img), &face, &cfg).unwrap();
            let truth = chin - crown;
            assert!(
                (head.length() - truth).abs() <= 4.0,
                "{crown}-{chin}: measured {}",
                head.length()
            );
            assert!(head.chin_from_edge, "{crown}-{chin}");
        }
    }

    #[test]
    fn crown_at_the_top_edge_is_flagged() {
        let img = portrait(260, 378, -30.0, 230.0, 190.0, [250, 250, 250]);
        let face = FaceBox {
            x: 55.0,
            y: 80.0,
            w: 150.0,
            h: 150.0,
            score: 10.0,
        };
        let seg = segment(&img, &face);
        let head = head_geometry(
            &seg,
            &to_gray(&img),
            &face,
            &crate::profile::Profile::default_profile().head,
        )
        .unwrap();
        assert!(head.crown_at_edge);
    }

    #[test]
    fn growth_stops_where_the_colour_leaves_the_wall_even_gradually() {
        // A white wall with two soft-edged blobs whose colour ramps 3 levels a pixel from white to dark
        // grey (left) and to blue (right): the growth may follow a ramp only while it is wall-like.
        let img = RgbImage::from_fn(400, 300, |x, y| {
            if (180..220).contains(&x) && y >= 240 {
                return Rgb([200, 150, 120]); // the face
            }
            let ramp = |cx: f64| {
                let r = ((x as f64 - cx).powi(2) + (y as f64 - 120.0).powi(2)).sqrt();
                ((100.0 - r) * 3.0).clamp(0.0, 215.0) as u8
            };
            let (grey, blue) = (ramp(100.0), ramp(300.0));
            Rgb([255 - grey - blue, 255 - grey - blue, 255 - grey])
        });
        let face = FaceBox {
            x: 190.0,
            y: 250.0,
            w: 20.0,
            h: 20.0,
            score: 10.0,
        };
        let seg = segment(&img, &face);
        assert_eq!(seg.label(200, 20), BACKGROUND);
        assert_eq!(seg.label(100, 20), BACKGROUND, "outside the grey blob");
        assert_ne!(
            seg.label(100, 120),
            BACKGROUND,
            "grey blob centre {:?}",
            img.get_pixel(100, 120)
        );
        assert_ne!(
            seg.label(300, 120),
            BACKGROUND,
            "blue blob centre {:?}",
            img.get_pixel(300, 120)
        );
    }

    #[test]
    fn coloured_background_is_still_background() {
        let img = portrait(260, 378, 30.0, 250.0, 170.0, [60, 90, 160]);
        let face = FaceBox {
            x: 60.0,
            y: 110.0,
            w: 140.0,
            h: 140.0,
            score: 10.0,
        };
        let seg = segment(&img, &face);
        assert_eq!(seg.label(5, 5), BACKGROUND);
        assert_eq!(seg.label(130, 200), PERSON);
        assert!((seg.reference[2] - 160.0).abs() < 1.0);
    }
}
