//! Face landmarks: MediaPipe's face mesh (468 points) seeded by the rustface box, and its eye model
//! (eyelid contour and iris) on each eye. Everything the looks are measured from.
//!
//! The mesh wants the face upright in a square about 1.5 face-heights wide. The rustface box gives a
//! first crop; when the mesh's own points say the face sits elsewhere, is tilted, or is of another size,
//! a second pass runs on the crop the points give (MediaPipe's tracking does the same between frames).
//! The mesh's eyelid points cannot tell closed eyes from narrow open ones, so the eye model runs on
//! each eye, in a crop 2.3 eye-widths wide along the eye's corners (MediaPipe's iris pipeline).

pub mod blendshapes;
mod convnet;
pub mod crop;
pub mod fit;
pub mod models;

use std::sync::OnceLock;

use image::RgbImage;
use serde::{Deserialize, Serialize};

use crate::detect::FaceBox;
pub use crate::landmarks::crop::Crop;
use crate::landmarks::models::{EYE_SIDE, MESH_SIDE};

/// Mesh indices of the points the measures use (MediaPipe's canonical face mesh numbering; "left" and
/// "right" are as seen in the photo).
pub mod idx {
    /// Eye corners: photo-left eye outer and inner, photo-right eye inner and outer.
    pub const LEFT_EYE_OUTER: usize = 33;
    pub const LEFT_EYE_INNER: usize = 133;
    pub const RIGHT_EYE_INNER: usize = 362;
    pub const RIGHT_EYE_OUTER: usize = 263;
    pub const FOREHEAD_TOP: usize = 10;
    pub const CHIN: usize = 152;
    pub const NOSE_TIP: usize = 1;
    /// The face outline at the level of the eyes (near the ears).
    pub const CHEEK_LEFT: usize = 234;
    pub const CHEEK_RIGHT: usize = 454;
    pub const MOUTH_LEFT: usize = 61;
    pub const MOUTH_RIGHT: usize = 291;
    pub const UPPER_LIP_INNER: usize = 13;
    pub const LOWER_LIP_INNER: usize = 14;
    pub const UPPER_LIP_OUTER: usize = 0;
    pub const LOWER_LIP_OUTER: usize = 17;
    /// Brows, photo-left then photo-right, outer to inner.
    pub const LEFT_BROW: [usize; 5] = [70, 63, 105, 66, 107];
    pub const RIGHT_BROW: [usize; 5] = [300, 293, 334, 296, 336];
}

/// The eye model's first 16 contour points follow the eyelid: 0-8 the lower lid from the outer corner
/// to the inner one, 9-15 the upper lid from outer to inner (MediaPipe's iris-to-mesh mapping).
/// Pairs of (upper, lower) points facing each other across the opening.
const LID_PAIRS: [(usize, usize); 3] = [(11, 3), (12, 4), (13, 5)];
const OUTER_CORNER: usize = 0;
const INNER_CORNER: usize = 8;
const LID_POINTS: usize = 16;

/// The mesh points the eye model's 71 contour points replace, per eye (photo-left eye, then
/// photo-right), as MediaPipe's landmark refinement maps them: the eye model sees the lids and brows
/// at four times the mesh's resolution, and the blendshape model was trained on refined points. The
/// two lists mirror each other point for point on the canonical face.
const EYE_REFINED: [[usize; models::EYE_CONTOUR_POINTS]; 2] = [
    [
        33, 7, 163, 144, 145, 153, 154, 155, 133, 246, 161, 160, 159, 158, 157, 173, 130, 25, 110,
        24, 23, 22, 26, 112, 243, 247, 30, 29, 27, 28, 56, 190, 226, 31, 228, 229, 230, 231, 232,
        233, 244, 113, 225, 224, 223, 222, 221, 189, 35, 124, 46, 53, 52, 65, 143, 111, 117, 118,
        119, 120, 121, 128, 245, 156, 70, 63, 105, 66, 107, 55, 193,
    ],
    [
        263, 249, 390, 373, 374, 380, 381, 382, 362, 466, 388, 387, 386, 385, 384, 398, 359, 255,
        339, 254, 253, 252, 256, 341, 463, 467, 260, 259, 257, 258, 286, 414, 446, 261, 448, 449,
        450, 451, 452, 453, 464, 342, 445, 444, 443, 442, 441, 413, 265, 353, 276, 283, 282, 295,
        372, 340, 346, 347, 348, 349, 350, 357, 465, 383, 300, 293, 334, 296, 336, 285, 417,
    ],
];

/// How many of those points are replaced: the eyelids only. The eye model's brows (its crop's upper
/// edge) read brows lowered on neutral faces, against MediaPipe's own scores.
const REFINED_POINTS: usize = LID_POINTS;

/// A mesh face-presence score below this means the crop holds no face the mesh recognises.
const MIN_PRESENCE: f64 = 0.5;
/// The mesh crop is this many times the face's extent (MediaPipe's landmarks-to-rect scale).
const MESH_SCALE: f64 = 1.5;
/// The rustface box (brows to below the mouth) to the mesh crop side: the face outline is ~1.1 box
/// widths, times the 1.5 above. (Where the mesh's points put the crop, on average over 337 faces, is
/// 0.965 times this side and 0.042 of it lower: a first crop placed there keeps 84 % of first passes
/// instead of 54 %, but a first pass's mesh, not yet upright on the eye line, moves the fitted pose
/// by ~1 degree (sd) and lost pose passes on 14 frontal faces for 7 gained: not done; README, Speed.)
const BOX_TO_CROP: f64 = 1.65;
/// The eye crop is this many eye-corner distances wide.
const EYE_SCALE: f64 = 2.3;
/// A first mesh pass is kept when the crop its points give is this close to the one it ran on
/// (centre and size as shares of the crop side, angle in radians); otherwise the mesh runs again.
const REFINE_TOLERANCE: (f64, f64, f64) = (0.05, 0.1, 0.07);

/// One eye as the eye model saw it, in photo px.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Eye {
    /// The 16 eyelid points (lower lid outer to inner, then upper lid outer to inner).
    pub lids: Vec<[f64; 2]>,
    pub iris: [f64; 2],
    pub iris_radius: f64,
    /// The eye model's five iris points (centre, then the rim), photo px: the blendshape model's input.
    #[serde(default)]
    pub iris_points: Vec<[f64; 2]>,
    /// Lid opening over corner distance (mean of three facing pairs).
    pub aspect: f64,
    /// Iris centre from the middle of the corners, in eye widths, along the eye (positive: to the photo's
    /// right) and across it (positive: down).
    pub gaze: [f64; 2],
}

/// Head orientation in degrees. Yaw: turned (positive: face towards the photo's right); pitch: nodded
/// (positive: chin up), before the profile's bias; roll: tilted (positive: clockwise in the photo).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Pose {
    pub yaw: f64,
    pub pitch: f64,
    pub roll: f64,
}

/// The landmarks of one face, in analysis-image px.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Landmarks {
    /// 468 mesh points: x, y, and z (relative depth, px, smaller is nearer the camera).
    pub mesh: Vec<[f64; 3]>,
    /// The mesh's face-presence score, 0-1.
    pub presence: f64,
    /// Photo-left eye, then photo-right eye; `None` where the eye model could not run.
    pub eyes: [Option<Eye>; 2],
    /// The fitted head pose; `None` when the fit failed (a degenerate mesh).
    pub pose: Option<Pose>,
    /// The head pose by 3DDFA_V2's network, on the crop the mesh defines: the second estimate.
    #[serde(default)]
    pub pose_net: Option<Pose>,
    /// The emotion classifier's probabilities (`models::EMOTIONS` order).
    #[serde(default)]
    pub emotion: Option<Vec<f64>>,
    /// MediaPipe's 52 expression scores, when both eyes were found.
    #[serde(default)]
    pub blendshapes: Option<blendshapes::Blendshapes>,
    /// The crop the mesh ran on last, and how many mesh passes ran.
    pub crop: [f64; 4],
    pub passes: u8,
}

impl Landmarks {
    pub fn point(&self, i: usize) -> [f64; 2] {
        let p = self.mesh[i];
        [p[0], p[1]]
    }

    /// Distance between the eye centres (mid-corners), px: the face's own ruler.
    pub fn eye_distance(&self) -> f64 {
        let l = mid(
            self.point(idx::LEFT_EYE_OUTER),
            self.point(idx::LEFT_EYE_INNER),
        );
        let r = mid(
            self.point(idx::RIGHT_EYE_INNER),
            self.point(idx::RIGHT_EYE_OUTER),
        );
        dist(l, r)
    }
}

/// Locates the landmarks of the face in `face`; `None` when the mesh finds no face there.
pub fn locate(img: &RgbImage, face: &FaceBox) -> Result<Option<Landmarks>, models::ModelError> {
    let side = face.w.max(face.h) * BOX_TO_CROP;
    let mut crop = Crop {
        cx: face.x + face.w / 2.0,
        cy: face.y + face.h / 2.0,
        size: side,
        angle: 0.0,
        mirror: false,
    };
    let mut passes = 0u8;
    let (mesh, presence) = loop {
        let out = models::mesh(&crop.sample(img, MESH_SIDE))?;
        passes += 1;
        let scale = crop.scale_to_photo(MESH_SIDE as f64);
        let mesh: Vec<[f64; 3]> = out
            .points
            .iter()
            .map(|p| {
                let (x, y) = crop.to_photo(f64::from(p[0]), f64::from(p[1]), MESH_SIDE as f64);
                [x, y, f64::from(p[2]) * scale]
            })
            .collect();
        let presence = f64::from(out.presence);
        if presence < MIN_PRESENCE && passes == 1 {
            // A second look from the box alone would see the same; no face the mesh knows is here.
            return Ok(None);
        }
        let next = crop_from_points(&mesh);
        let (dc, ds, da) = REFINE_TOLERANCE;
        let settled = ((next.cx - crop.cx).hypot(next.cy - crop.cy) <= dc * crop.size
            && (next.size / crop.size - 1.0).abs() <= ds
            && angle_diff(next.angle, crop.angle).abs() <= da)
            || passes >= 2;
        if settled {
            if presence < MIN_PRESENCE {
                return Ok(None);
            }
            break (mesh, presence);
        }
        crop = next;
    };
    let mut mesh = mesh;
    let mut eyes = [None, None];
    for (k, (outer, inner, mirror)) in [
        (idx::LEFT_EYE_OUTER, idx::LEFT_EYE_INNER, false),
        (idx::RIGHT_EYE_OUTER, idx::RIGHT_EYE_INNER, true),
    ]
    .into_iter()
    .enumerate()
    {
        if let Some((found, contour)) = eye(img, &mesh, outer, inner, mirror)? {
            // x and y from the eye model; the mesh's depth stays (the eye model's is of its crop).
            for (&i, p) in EYE_REFINED[k].iter().zip(&contour).take(REFINED_POINTS) {
                mesh[i][0] = p[0];
                mesh[i][1] = p[1];
            }
            eyes[k] = Some(found);
        }
    }
    let pose = pose(&mesh);
    let mut found = Landmarks {
        mesh,
        presence,
        eyes,
        pose,
        blendshapes: None,
        pose_net: None,
        emotion: None,
        crop: [crop.cx, crop.cy, crop.size, crop.angle.to_degrees()],
        passes,
    };
    found.blendshapes = blendshapes::score(&found)?;
    Ok(Some(found))
}

impl Landmarks {
    /// The same landmarks in another image of the same scene: `to` maps a point, and lengths scale
    /// by `k` (the new image's px per old px). Angles and scores are the face's own and stay.
    pub fn mapped(&self, to: impl Fn([f64; 2]) -> [f64; 2], k: f64) -> Landmarks {
        let eye = |e: &Eye| Eye {
            lids: e.lids.iter().map(|&p| to(p)).collect(),
            iris: to(e.iris),
            iris_radius: e.iris_radius * k,
            iris_points: e.iris_points.iter().map(|&p| to(p)).collect(),
            ..e.clone()
        };
        let [cx, cy] = to([self.crop[0], self.crop[1]]);
        Landmarks {
            mesh: self
                .mesh
                .iter()
                .map(|p| {
                    let [x, y] = to([p[0], p[1]]);
                    [x, y, p[2] * k]
                })
                .collect(),
            eyes: [
                self.eyes[0].as_ref().map(eye),
                self.eyes[1].as_ref().map(eye),
            ],
            crop: [cx, cy, self.crop[2] * k, self.crop[3]],
            ..self.clone()
        }
    }

    /// Runs 3DDFA_V2's head pose, the second pose estimate, on these landmarks' face. Not part of
    /// `locate`: the engine runs it only where its answer can change the pose's judgement.
    pub fn estimate_pose_net(&mut self, img: &RgbImage) -> Result<(), models::ModelError> {
        self.pose_net = pose_net(img, extent(&self.mesh))?;
        Ok(())
    }

    /// Runs the emotion classifier on these landmarks' face (run only where it can change the
    /// expression's judgement, as `estimate_pose_net`).
    pub fn classify_emotion(&mut self, img: &RgbImage) -> Result<(), models::ModelError> {
        self.emotion = Some(emotion(img, extent(&self.mesh))?);
        Ok(())
    }
}

/// The mesh's bounding box: forehead top to chin, cheek to cheek (x0, y0, x1, y1).
pub fn extent(mesh: &[[f64; 3]]) -> (f64, f64, f64, f64) {
    mesh.iter().fold(
        (f64::MAX, f64::MAX, f64::MIN, f64::MIN),
        |(x0, y0, x1, y1), p| (x0.min(p[0]), y0.min(p[1]), x1.max(p[0]), y1.max(p[1])),
    )
}

/// 3DDFA_V2's head pose on its own crop of the face box: a square 1.58 times the box's mean side,
/// its centre 0.14 of that side below the box's (3DDFA_V2's TDDFA preprocessing). `None` when the
/// camera matrix it gives is degenerate.
pub fn pose_net(
    img: &RgbImage,
    (x0, y0, x1, y1): (f64, f64, f64, f64),
) -> Result<Option<Pose>, models::ModelError> {
    let side = ((x1 - x0) + (y1 - y0)) / 2.0;
    let crop = Crop {
        cx: (x0 + x1) / 2.0,
        cy: (y0 + y1) / 2.0 + 0.14 * side,
        size: 1.58 * side,
        angle: 0.0,
        mirror: false,
    };
    let n = models::HEAD_POSE_SIDE;
    let rgb = crop.sample(img, n);
    // NHWC RGB in [0, 1] to NCHW BGR in 3DDFA's scale.
    let mut input = vec![0f32; 3 * n * n];
    for (i, px) in rgb.chunks_exact(3).enumerate() {
        for (ch, &v) in px.iter().rev().enumerate() {
            input[ch * n * n + i] = (v * 255.0 - 127.5) / 128.0;
        }
    }
    let params = models::head_pose(&input)?;
    let row = |r: usize| {
        let v = [params[4 * r], params[4 * r + 1], params[4 * r + 2]].map(f64::from);
        let norm = (v[0] * v[0] + v[1] * v[1] + v[2] * v[2]).sqrt();
        (norm > 1e-12).then(|| v.map(|c| c / norm))
    };
    let (Some(r1), Some(r2)) = (row(0), row(1)) else {
        return Ok(None);
    };
    let r3 = [
        r1[1] * r2[2] - r1[2] * r2[1],
        r1[2] * r2[0] - r1[0] * r2[2],
        r1[0] * r2[1] - r1[1] * r2[0],
    ];
    // 3DDFA_V2's angles (its crop has y up): yaw positive with the nose to the photo's left, pitch
    // positive chin down, roll positive anticlockwise; all three flip to this crate's senses.
    let yaw = r3[0].clamp(-1.0, 1.0).asin();
    let c = yaw.cos().max(1e-9);
    let pitch = (r3[1] / c).atan2(r3[2] / c);
    let roll = (r2[0] / c).atan2(r1[0] / c);
    Ok(Some(Pose {
        yaw: -yaw.to_degrees(),
        pitch: -pitch.to_degrees(),
        roll: -roll.to_degrees(),
    }))
}

/// The emotion classifier on the face box (forehead to chin), squared up around its centre.
pub fn emotion(
    img: &RgbImage,
    (x0, y0, x1, y1): (f64, f64, f64, f64),
) -> Result<Vec<f64>, models::ModelError> {
    let crop = Crop {
        cx: (x0 + x1) / 2.0,
        cy: (y0 + y1) / 2.0,
        size: (x1 - x0).max(y1 - y0),
        angle: 0.0,
        mirror: false,
    };
    let rgb = crop.sample(img, models::EMOTION_SIDE);
    let grey: Vec<f32> = rgb
        .chunks_exact(3)
        .map(|p| ((0.2989 * p[0] + 0.587 * p[1] + 0.114 * p[2]) - 0.5) * 2.0)
        .collect();
    Ok(models::emotion(&grey)?.into_iter().map(f64::from).collect())
}

/// The mesh crop MediaPipe's tracking would take next: upright along the eye line, centred on the
/// points' extent, 1.5 times its larger side.
fn crop_from_points(mesh: &[[f64; 3]]) -> Crop {
    let l = mesh[idx::LEFT_EYE_OUTER];
    let r = mesh[idx::RIGHT_EYE_OUTER];
    let angle = (r[1] - l[1]).atan2(r[0] - l[0]);
    let (sin, cos) = angle.sin_cos();
    // Extent in the face's own (unrotated) frame.
    let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    for p in mesh {
        let u = p[0] * cos + p[1] * sin;
        let v = -p[0] * sin + p[1] * cos;
        (x0, x1, y0, y1) = (x0.min(u), x1.max(u), y0.min(v), y1.max(v));
    }
    let (uc, vc) = ((x0 + x1) / 2.0, (y0 + y1) / 2.0);
    Crop {
        cx: uc * cos - vc * sin,
        cy: uc * sin + vc * cos,
        size: (x1 - x0).max(y1 - y0) * MESH_SCALE,
        angle,
        mirror: false,
    }
}

/// One eye, and the eye model's 71 contour points (lids, then brows) in photo px.
type EyeFound = (Eye, Vec<[f64; 2]>);

/// Runs the eye model on one eye, given its outer and inner corner in the mesh. The model knows the
/// photo-left eye; the other is mirrored so that its outer corner is on the left too.
fn eye(
    img: &RgbImage,
    mesh: &[[f64; 3]],
    outer: usize,
    inner: usize,
    mirror: bool,
) -> Result<Option<EyeFound>, models::ModelError> {
    let (o, i) = (mesh[outer], mesh[inner]);
    let width = (i[0] - o[0]).hypot(i[1] - o[1]);
    if width < 4.0 {
        return Ok(None);
    }
    // Along the eye from its outer to its inner corner for the photo-left eye; the mirrored crop of the
    // photo-right eye runs from its inner to its outer corner, so that model-left is the outer corner.
    let (a, b) = if mirror { (i, o) } else { (o, i) };
    let crop = Crop {
        cx: (o[0] + i[0]) / 2.0,
        cy: (o[1] + i[1]) / 2.0,
        size: width * EYE_SCALE,
        angle: (b[1] - a[1]).atan2(b[0] - a[0]),
        mirror,
    };
    let out = models::eye(&crop.sample(img, EYE_SIDE))?;
    let side = EYE_SIDE as f64;
    let lid_crop: Vec<[f64; 2]> = out.contour[..LID_POINTS]
        .iter()
        .map(|p| [f64::from(p[0]), f64::from(p[1])])
        .collect();
    let corner_gap = dist(lid_crop[OUTER_CORNER], lid_crop[INNER_CORNER]);
    if corner_gap < 1.0 {
        return Ok(None);
    }
    let opening = LID_PAIRS
        .iter()
        .map(|&(u, l)| dist(lid_crop[u], lid_crop[l]))
        .sum::<f64>()
        / LID_PAIRS.len() as f64;
    let iris_crop = [f64::from(out.iris[0][0]), f64::from(out.iris[0][1])];
    let radius_crop = out.iris[1..]
        .iter()
        .map(|p| dist(iris_crop, [f64::from(p[0]), f64::from(p[1])]))
        .sum::<f64>()
        / (out.iris.len() - 1) as f64;
    // Iris offset in the crop's frame (along the eye, outer to inner; across it, down), then to the
    // photo's left-right sense: the mirrored eye's "inner" direction is the photo's left.
    let centre = mid(lid_crop[OUTER_CORNER], lid_crop[INNER_CORNER]);
    let along = (iris_crop[0] - centre[0]) / corner_gap;
    let across = (iris_crop[1] - centre[1]) / corner_gap;
    let to_photo = |p: [f64; 2]| {
        let (x, y) = crop.to_photo(p[0], p[1], side);
        [x, y]
    };
    let contour = out
        .contour
        .iter()
        .map(|p| to_photo([f64::from(p[0]), f64::from(p[1])]))
        .collect();
    Ok(Some((
        Eye {
            lids: lid_crop.iter().map(|&p| to_photo(p)).collect(),
            iris: to_photo(iris_crop),
            iris_radius: radius_crop * crop.scale_to_photo(side),
            iris_points: out
                .iris
                .iter()
                .map(|p| to_photo([f64::from(p[0]), f64::from(p[1])]))
                .collect(),
            aspect: opening / corner_gap,
            gaze: [if mirror { -along } else { along }, across],
        },
        contour,
    )))
}

/// MediaPipe's canonical face (models/canonical_face.json): 468 points in cm, x to the face's left,
/// y up, z out of the face; and the points its geometry pipeline fits, with their weights.
struct Canonical {
    vertices: Vec<[f64; 3]>,
    basis: Vec<(usize, f64)>,
}

fn canonical() -> &'static Canonical {
    static FACE: OnceLock<Canonical> = OnceLock::new();
    FACE.get_or_init(|| {
        #[derive(serde::Deserialize)]
        struct File {
            vertices: Vec<[f64; 3]>,
            procrustes_landmark_basis: Vec<(usize, f64)>,
        }
        let file: File =
            serde_json::from_str(include_str!("../../../../models/canonical_face.json"))
                .expect("the embedded canonical face parses (tested)");
        Canonical {
            vertices: file.vertices,
            basis: file.procrustes_landmark_basis,
        }
    })
}

/// The head pose of a rigid head: the canonical face fitted to the mesh (scale, rotation, shift;
/// MediaPipe's Procrustes points and weights), read as yaw, pitch and roll. The mesh is the face as
/// its crop shows it, so the angles are against the line from the camera to the face, not the
/// photo's axis: a frontal face high in a phone frame reads frontal. `None` for a degenerate fit.
pub fn pose(mesh: &[[f64; 3]]) -> Option<Pose> {
    let face = canonical();
    let (mut from, mut to, mut weights) = (Vec::new(), Vec::new(), Vec::new());
    for &(i, w) in &face.basis {
        let c = face.vertices.get(i)?;
        // To the mesh's axes: x to the photo's right, y down, z away from the camera.
        from.push([c[0], -c[1], -c[2]]);
        to.push(*mesh.get(i)?);
        weights.push(w);
    }
    let (r, _) = fit::similarity(&from, &to, &weights)?;
    // The face's forward direction (out of the face, towards the camera) and its left-right axis.
    let n = fit::apply(&r, [0.0, 0.0, -1.0]);
    let u = fit::apply(&r, [1.0, 0.0, 0.0]);
    Some(Pose {
        yaw: n[0].atan2(-n[2]).to_degrees(),
        pitch: (-n[1]).atan2(n[0].hypot(n[2])).to_degrees(),
        roll: u[1].atan2(u[0]).to_degrees(),
    })
}

fn angle_diff(a: f64, b: f64) -> f64 {
    let d = (a - b).rem_euclid(std::f64::consts::TAU);
    if d > std::f64::consts::PI {
        d - std::f64::consts::TAU
    } else {
        d
    }
}

pub(crate) fn mid(a: [f64; 2], b: [f64; 2]) -> [f64; 2] {
    [(a[0] + b[0]) / 2.0, (a[1] + b[1]) / 2.0]
}

pub(crate) fn dist(a: [f64; 2], b: [f64; 2]) -> f64 {
    (a[0] - b[0]).hypot(a[1] - b[1])
}
