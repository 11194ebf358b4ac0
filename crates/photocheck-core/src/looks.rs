//! The looks, measured from the landmarks and the pixels around them: eyes open, gaze, pose, mouth,
//! expression, eyewear, headwear, face covering and hair over the face.
//!
//! Every value has a physical or anatomical meaning (a ratio of lengths on the face, an angle, a share
//! of skin where skin must show) so one limit serves faces the limits were not fitted on. Colour
//! measures compare the face with its own skin (read where the look in question cannot hide it), never
//! with a fixed skin colour; where that reference is missing or not skin-like (a grey photo, a face
//! covered everywhere) the value is left out and the rule is uncertain: a look passes only on evidence.

use image::RgbImage;
use serde::{Deserialize, Serialize};

use crate::geometry::{luma, Segmentation, BACKGROUND};
use crate::landmarks::{dist, idx, Landmarks};
use crate::measure::{lab, lab_u8};

/// Measured looks of one face. `None`: not measurable on this photo.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct LookMeasures {
    /// Lid opening / eye width of the less open eye (eye model).
    pub eye_aspect: Option<f64>,
    /// Iris centre offset from the eye's middle, eye widths, the mean of both eyes' (x, y).
    pub gaze_x: Option<f64>,
    pub gaze_y: Option<f64>,
    /// Head orientation, degrees (pitch before the profile's bias).
    pub yaw: Option<f64>,
    pub pitch: Option<f64>,
    pub roll: Option<f64>,
    /// The same angles by the second estimate (3DDFA_V2's network), before the profile's offsets.
    #[serde(default)]
    pub net_yaw: Option<f64>,
    #[serde(default)]
    pub net_pitch: Option<f64>,
    #[serde(default)]
    pub net_roll: Option<f64>,
    /// Inner-lip gap / mouth width.
    pub mouth_gap: Option<f64>,
    /// Blendshapes: the larger of mouthSmile and mouthUpperUp, either side (a smile, a grin, a sneer).
    #[serde(default)]
    pub expression_score: Option<f64>,
    /// Blendshape eyeBlink of the more closed eye.
    #[serde(default)]
    pub blink: Option<f64>,
    /// Blendshape jawOpen.
    #[serde(default)]
    pub jaw_open: Option<f64>,
    /// The emotion classifier's probability of `happy`.
    #[serde(default)]
    pub emotion_happy: Option<f64>,
    /// Luminance of the eye openings / the cheeks' (dark lenses bring it down), the darker eye.
    pub eye_luminance: Option<f64>,
    /// Share of clipped pixels over the eyes, % (glare on lenses).
    pub eye_glare_pct: Option<f64>,
    /// Sclera lightness minus iris lightness over the cheeks', the eye with less contrast (an eye
    /// behind a dark or mirrored lens shows no white around a dark iris).
    #[serde(default)]
    pub eye_contrast: Option<f64>,
    /// Share of the band between the forehead top and the crown that is hair or skin, %.
    pub crown_hair_pct: Option<f64>,
    /// Share of the points of nose, lips and chin that show skin or lips, %.
    pub lower_face_skin_pct: Option<f64>,
    /// Share of the forehead above the brows that shows skin, %.
    pub forehead_skin_pct: Option<f64>,
}

/// Sample disc radius as a share of the eye distance.
const DISC: f64 = 0.07;
/// A colour matches the skin reference when its a*b* is this close (CIELAB units)...
const SKIN_AB: f64 = 11.0;
/// ...and its lightness within this ratio of the reference's (shading on a curved face).
const SKIN_L: (f64, f64) = (0.55, 1.35);
/// A reference is skin-like when its chroma is at least this (grey photos and cloth are not) and its
/// hue angle (a*b*, degrees) in this range (skin of every tone sits between red and yellow).
const SKIN_MIN_CHROMA: f64 = 6.0;
const SKIN_HUE: (f64, f64) = (15.0, 85.0);
/// Hair: darker than the skin by this ratio of L, or dark and nearly grey whatever the skin.
const HAIR_DARK_L: f64 = 0.8;
const HAIR_MAX_CHROMA: f64 = 25.0;
/// ...or of the colours hair pigment gives at any lightness (black and browns, auburn, blond, grey,
/// white): nearly grey, or a warm hue (a*b* angle, degrees) at modest chroma.
const HAIR_GREY_CHROMA: f64 = 8.0;
const HAIR_HUE: (f64, f64) = (35.0, 95.0);
const HAIR_WARM_CHROMA: f64 = 32.0;

/// Just below the lower lids (the ring of skin a mask's top edge stays under) and between the
/// eyes: where the skin is read for the lower face. The forehead is no reference for it: a fringe
/// covers it on many faces.
const UNDER_EYE_REF: [usize; 7] = [229, 230, 231, 449, 450, 451, 168];
/// Points on the cheeks below the eyes, where the skin is read for the eyes and the brows.
const CHEEK_REF: [usize; 4] = [50, 280, 101, 330];
/// Nose, the skin around the mouth, the lips and the chin: what a mask or scarf covers.
const LOWER_FACE: [usize; 12] = [1, 4, 164, 0, 17, 18, 199, 175, 205, 425, 57, 287];
/// Lips: matched as skin or lip colour (redder than the skin).
const LIPS: [usize; 2] = [0, 17];

/// The emotion classifier's p(happy), when it ran.
pub(crate) fn emotion_happy(lm: &Landmarks) -> Option<f64> {
    let happy = crate::landmarks::models::EMOTIONS
        .iter()
        .position(|e| *e == "happy")?;
    lm.emotion.as_ref()?.get(happy).copied()
}

/// `seg`, when reliable, keeps the background out of the band above the forehead (the head's dome
/// leaves background in the band's corners, which is neither hair nor cloth).
pub fn measure(
    img: &RgbImage,
    lm: &Landmarks,
    crown_y: Option<f64>,
    seg: Option<&Segmentation>,
) -> LookMeasures {
    let iod = lm.eye_distance();
    let mut m = LookMeasures {
        yaw: lm.pose.map(|p| p.yaw),
        pitch: lm.pose.map(|p| p.pitch),
        roll: lm.pose.map(|p| p.roll),
        net_yaw: lm.pose_net.map(|p| p.yaw),
        net_pitch: lm.pose_net.map(|p| p.pitch),
        net_roll: lm.pose_net.map(|p| p.roll),
        ..LookMeasures::default()
    };
    if let Some(b) = &lm.blendshapes {
        m.expression_score = Some(b.either("mouthSmile").max(b.either("mouthUpperUp")));
        m.blink = Some(b.either("eyeBlink"));
        m.jaw_open = Some(b.get("jawOpen"));
    }
    m.emotion_happy = emotion_happy(lm);
    if iod < 8.0 {
        return m;
    }
    let eyes: Vec<_> = lm.eyes.iter().flatten().collect();
    if eyes.len() == 2 {
        m.eye_aspect = eyes.iter().map(|e| e.aspect).reduce(f64::min);
        m.gaze_x = Some(eyes.iter().map(|e| e.gaze[0]).sum::<f64>() / 2.0);
        m.gaze_y = Some(eyes.iter().map(|e| e.gaze[1]).sum::<f64>() / 2.0);
    }
    // Mouth: the inner lip gap and the corners, in the face's upright frame (the eye line level).
    let (lo, ro) = (
        lm.point(idx::LEFT_EYE_OUTER),
        lm.point(idx::RIGHT_EYE_OUTER),
    );
    let roll = (ro[1] - lo[1]).atan2(ro[0] - lo[0]);
    let up = |p: [f64; 2]| {
        let (s, c) = roll.sin_cos();
        [p[0] * c + p[1] * s, -p[0] * s + p[1] * c]
    };
    let (ml, mr) = (
        up(lm.point(idx::MOUTH_LEFT)),
        up(lm.point(idx::MOUTH_RIGHT)),
    );
    let (ui, li) = (
        up(lm.point(idx::UPPER_LIP_INNER)),
        up(lm.point(idx::LOWER_LIP_INNER)),
    );
    let width = dist(ml, mr);
    if width > 1.0 {
        m.mouth_gap = Some((li[1] - ui[1]).max(0.0) / width);
    }

    let r = (DISC * iod).max(1.5);
    let cheek = reference(img, lm, &CHEEK_REF, r);
    if let Some(cheek) = cheek {
        let eyes = eyes_luminance(img, lm, cheek[0]);
        (m.eye_luminance, m.eye_glare_pct, m.eye_contrast) =
            (eyes.lightness, eyes.glare_pct, eyes.contrast);
    }
    let under_eyes = reference(img, lm, &UNDER_EYE_REF, r);
    if let Some(skin) = under_eyes.filter(|s| skin_like(*s)) {
        let matches = LOWER_FACE
            .iter()
            .filter(|&&i| {
                disc_median(img, lm.point(i), r).is_some_and(|c| {
                    matches_skin(c, skin) || (LIPS.contains(&i) && is_lip(c, skin))
                })
            })
            .count();
        m.lower_face_skin_pct = Some(100.0 * matches as f64 / LOWER_FACE.len() as f64);
    }
    if let Some(skin) = cheek.filter(|s| skin_like(*s)) {
        m.forehead_skin_pct = forehead_skin(img, lm, skin, r);
        m.crown_hair_pct = crown_band(img, lm, skin, crown_y, iod, seg);
    }
    m
}

/// The face's own skin colour (Lab), read on the cheeks below the eyes: `None` when they are out of
/// the photo or not skin-like (a grey photo, a covered face).
pub fn skin_reference(img: &RgbImage, lm: &Landmarks) -> Option<[f64; 3]> {
    let r = (DISC * lm.eye_distance()).max(1.5);
    reference(img, lm, &CHEEK_REF, r).filter(|s| skin_like(*s))
}

/// Median Lab colour over discs around mesh points; `None` outside the photo.
fn reference(img: &RgbImage, lm: &Landmarks, points: &[usize], r: f64) -> Option<[f64; 3]> {
    let mut labs: Vec<[f64; 3]> = points
        .iter()
        .filter_map(|&i| disc_median(img, lm.point(i), r))
        .collect();
    if labs.len() * 2 < points.len() {
        return None;
    }
    Some(median3(&mut labs))
}

fn median3(v: &mut [[f64; 3]]) -> [f64; 3] {
    let mut out = [0.0; 3];
    for (c, o) in out.iter_mut().enumerate() {
        v.sort_by(|a, b| a[c].total_cmp(&b[c]));
        *o = v[v.len() / 2][c];
    }
    out
}

/// Median Lab colour of the pixels within `r` of `p`.
fn disc_median(img: &RgbImage, p: [f64; 2], r: f64) -> Option<[f64; 3]> {
    let mut labs = Vec::new();
    let (x0, x1) = ((p[0] - r).floor().max(0.0), (p[0] + r).ceil());
    let (y0, y1) = ((p[1] - r).floor().max(0.0), (p[1] + r).ceil());
    let (w, h) = (img.width() as f64, img.height() as f64);
    let mut y = y0;
    while y <= y1.min(h - 1.0) {
        let mut x = x0;
        while x <= x1.min(w - 1.0) {
            if (x - p[0]).hypot(y - p[1]) <= r {
                let px = img.get_pixel(x as u32, y as u32).0;
                labs.push(lab_u8(px));
            }
            x += 1.0;
        }
        y += 1.0;
    }
    (!labs.is_empty()).then(|| median3(&mut labs))
}

fn chroma(c: [f64; 3]) -> f64 {
    c[1].hypot(c[2])
}

fn skin_like(c: [f64; 3]) -> bool {
    let hue = c[2].atan2(c[1]).to_degrees();
    chroma(c) >= SKIN_MIN_CHROMA && (SKIN_HUE.0..=SKIN_HUE.1).contains(&hue) && c[0] > 15.0
}

pub(crate) fn matches_skin(c: [f64; 3], skin: [f64; 3]) -> bool {
    let ratio = c[0] / skin[0].max(1.0);
    (c[1] - skin[1]).hypot(c[2] - skin[2]) <= SKIN_AB && (SKIN_L.0..=SKIN_L.1).contains(&ratio)
}

/// Lips: redder than the skin (a* up), hue still between red and yellow-red, not much lighter.
fn is_lip(c: [f64; 3], skin: [f64; 3]) -> bool {
    let hue = c[2].atan2(c[1]).to_degrees();
    c[1] >= skin[1] - 2.0 && (-10.0..=60.0).contains(&hue) && c[0] <= skin[0] * 1.2
}

fn is_hair(c: [f64; 3], skin: [f64; 3]) -> bool {
    let hue = c[2].atan2(c[1]).to_degrees();
    (c[0] <= skin[0] * HAIR_DARK_L && chroma(c) <= HAIR_MAX_CHROMA.max(chroma(skin) * 1.2))
        || (c[0] < 30.0 && chroma(c) <= HAIR_MAX_CHROMA)
        || chroma(c) <= HAIR_GREY_CHROMA
        || (chroma(c) <= HAIR_WARM_CHROMA && (HAIR_HUE.0..=HAIR_HUE.1).contains(&hue))
}

/// What the pixels inside the eye openings show, relative to the cheeks.
#[derive(Default)]
struct EyePixels {
    /// Upper-quartile lightness over the cheeks', the darker eye.
    lightness: Option<f64>,
    /// Share of clipped pixels over both openings, %.
    glare_pct: Option<f64>,
    /// Sclera minus iris lightness over the cheeks', the eye with less contrast.
    contrast: Option<f64>,
}

/// The eye openings' lightness, glare and sclera-iris contrast (both eyes, or nothing).
fn eyes_luminance(img: &RgbImage, lm: &Landmarks, cheek_l: f64) -> EyePixels {
    let eyes: Vec<_> = lm.eyes.iter().flatten().collect();
    if eyes.len() != 2 {
        return EyePixels::default();
    }
    let l_of = |v: u8| lab([f64::from(v); 3])[0] / cheek_l.max(1.0);
    let (mut clipped, mut total) = (0usize, 0usize);
    let mut lightness = f64::INFINITY;
    // One eye without evidence of contrast leaves the pair without it.
    let mut contrast = Some(f64::INFINITY);
    for eye in eyes {
        let pixels = polygon_pixels(img, &eye.lids);
        if pixels.len() < 4 {
            return EyePixels::default();
        }
        clipped += pixels.iter().filter(|p| p.1 >= 250).count();
        total += pixels.len();
        let mut lumas: Vec<u8> = pixels.iter().map(|p| p.1).collect();
        lumas.sort_unstable();
        // The upper quartile: the sclera and the lids, what a dark lens hides first.
        lightness = lightness.min(l_of(lumas[lumas.len() * 3 / 4]));
        // Inside the iris's circle (kept off its rim) against the opening outside it.
        let near = |p: [f64; 2], k: f64| dist(p, eye.iris) <= k * eye.iris_radius;
        let mut iris: Vec<u8> = pixels
            .iter()
            .filter(|p| near(p.0, 0.7))
            .map(|p| p.1)
            .collect();
        let mut sclera: Vec<u8> = pixels
            .iter()
            .filter(|p| !near(p.0, 1.15))
            .map(|p| p.1)
            .collect();
        let eye_contrast = (iris.len() >= 3 && sclera.len() >= 3).then(|| {
            iris.sort_unstable();
            sclera.sort_unstable();
            l_of(sclera[sclera.len() / 2]) - l_of(iris[iris.len() / 2])
        });
        contrast = contrast.zip(eye_contrast).map(|(a, c)| a.min(c));
    }
    EyePixels {
        lightness: Some(lightness),
        glare_pct: (total > 0).then(|| 100.0 * clipped as f64 / total as f64),
        contrast,
    }
}

/// The pixel centres inside a polygon (the eyelid contour) with their luma.
fn polygon_pixels(img: &RgbImage, poly: &[[f64; 2]]) -> Vec<([f64; 2], u8)> {
    let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    for p in poly {
        (x0, x1, y0, y1) = (x0.min(p[0]), x1.max(p[0]), y0.min(p[1]), y1.max(p[1]));
    }
    let mut out = Vec::new();
    let (w, h) = (img.width() as i64, img.height() as i64);
    for y in (y0.floor() as i64).max(0)..=(y1.ceil() as i64).min(h - 1) {
        for x in (x0.floor() as i64).max(0)..=(x1.ceil() as i64).min(w - 1) {
            let c = [x as f64 + 0.5, y as f64 + 0.5];
            if inside(poly, c) {
                out.push((c, luma(img.get_pixel(x as u32, y as u32).0)));
            }
        }
    }
    out
}

fn inside(poly: &[[f64; 2]], p: [f64; 2]) -> bool {
    let mut c = false;
    let n = poly.len();
    for i in 0..n {
        let (a, b) = (poly[i], poly[(i + n - 1) % n]);
        if (a[1] > p[1]) != (b[1] > p[1])
            && p[0] < (b[0] - a[0]) * (p[1] - a[1]) / (b[1] - a[1]) + a[0]
        {
            c = !c;
        }
    }
    c
}

/// The forehead just above the brows (where fringes fall), sampled on a row of discs a third of the
/// way from the brows to the top of the forehead: the share that shows skin.
fn forehead_skin(img: &RgbImage, lm: &Landmarks, skin: [f64; 3], r: f64) -> Option<f64> {
    let top = lm.point(idx::FOREHEAD_TOP);
    let mut n = 0;
    let mut skin_n = 0;
    for brow in [idx::LEFT_BROW, idx::RIGHT_BROW] {
        for &i in &brow[1..] {
            let b = lm.point(i);
            let p = [b[0] + (top[0] - b[0]) * 0.3, b[1] + (top[1] - b[1]) * 0.3];
            let c = disc_median(img, p, r)?;
            n += 1;
            skin_n += usize::from(matches_skin(c, skin));
        }
    }
    Some(100.0 * skin_n as f64 / n as f64)
}

/// The band between the top of the forehead and the crown, across the width of the brows: the share of
/// its pixels that are hair or skin. Without a crown, the band is the height a head's hair usually
/// takes (0.35 eye distances), which a hat's crown fills too.
fn crown_band(
    img: &RgbImage,
    lm: &Landmarks,
    skin: [f64; 3],
    crown_y: Option<f64>,
    iod: f64,
    seg: Option<&Segmentation>,
) -> Option<f64> {
    let top = lm.point(idx::FOREHEAD_TOP);
    let left = lm.point(idx::LEFT_BROW[0]);
    let right = lm.point(idx::RIGHT_BROW[0]);
    let crown = crown_y
        .unwrap_or(top[1] - 0.35 * iod)
        .min(top[1] - 0.1 * iod);
    // Stay a little inside the crown so the background beyond the hair is not sampled.
    let y0 = (crown + 0.08 * iod).max(0.0);
    let y1 = top[1] - 0.05 * iod;
    let (x0, x1) = (left[0].min(right[0]).max(0.0), left[0].max(right[0]));
    if y1 - y0 < 2.0 || x1 - x0 < 4.0 {
        return None;
    }
    let (mut n, mut ok, mut sampled) = (0usize, 0usize, 0usize);
    let step = ((y1 - y0).min(x1 - x0) / 12.0).max(1.0);
    let mut y = y0;
    while y < y1 {
        let mut x = x0;
        while x < x1 {
            let (xi, yi) = (x as u32, y as u32);
            if xi < img.width() && yi < img.height() {
                sampled += 1;
                if seg.is_none_or(|s| s.label(xi, yi) != BACKGROUND) {
                    let c = lab_u8(img.get_pixel(xi, yi).0);
                    n += 1;
                    ok += usize::from(matches_skin(c, skin) || is_hair(c, skin));
                }
            }
            x += step;
        }
        y += step;
    }
    // Mostly background: the head's top was not where the band looked (or a hat the colour of the
    // background was taken for it), so there is nothing to judge.
    (n >= 8 && 2 * n >= sampled).then(|| 100.0 * ok as f64 / n as f64)
}
