//! MediaPipe's blendshape model fed from the mesh and the eye model: 52 scores in [0, 1] for the face's
//! expression (blink, jaw open, smile, press, brows, cheeks...), the evidence eyes_open, mouth_closed and
//! expression are judged from.
//!
//! The model takes 146 points, x and y in photo px: the mesh points below and the ten iris points
//! (468-472: the iris of the eye at mesh points 33/133, centre first; 473-477: the other eye's), the
//! order MediaPipe's face landmarker gives them (`../shared/models/face_blendshapes_io.json`).

use serde::{Deserialize, Serialize};

use crate::landmarks::models::{self, ModelError, BLENDSHAPES};
use crate::landmarks::Landmarks;

/// The points the model reads, in its input order (mesh numbering; from 468 the iris points).
const POINTS: [usize; models::BLENDSHAPE_INPUTS] = [
    0, 1, 4, 5, 6, 7, 8, 10, 13, 14, 17, 21, 33, 37, 39, 40, 46, 52, 53, 54, 55, 58, 61, 63, 65,
    66, 67, 70, 78, 80, 81, 82, 84, 87, 88, 91, 93, 95, 103, 105, 107, 109, 127, 132, 133, 136,
    144, 145, 146, 148, 149, 150, 152, 153, 154, 155, 157, 158, 159, 160, 161, 162, 163, 168, 172,
    173, 176, 178, 181, 185, 191, 195, 197, 234, 246, 249, 251, 263, 267, 269, 270, 276, 282, 283,
    284, 285, 288, 291, 293, 295, 296, 297, 300, 308, 310, 311, 312, 314, 317, 318, 321, 323, 324,
    332, 334, 336, 338, 356, 361, 362, 365, 373, 374, 375, 377, 378, 379, 380, 381, 382, 384, 385,
    386, 387, 388, 389, 390, 397, 398, 400, 402, 405, 409, 415, 454, 466, 468, 469, 470, 471, 472,
    473, 474, 475, 476, 477,
];

/// The scores' names, in the model's output order (ARKit's blendshape names).
pub const NAMES: [&str; BLENDSHAPES] = [
    "_neutral",
    "browDownLeft",
    "browDownRight",
    "browInnerUp",
    "browOuterUpLeft",
    "browOuterUpRight",
    "cheekPuff",
    "cheekSquintLeft",
    "cheekSquintRight",
    "eyeBlinkLeft",
    "eyeBlinkRight",
    "eyeLookDownLeft",
    "eyeLookDownRight",
    "eyeLookInLeft",
    "eyeLookInRight",
    "eyeLookOutLeft",
    "eyeLookOutRight",
    "eyeLookUpLeft",
    "eyeLookUpRight",
    "eyeSquintLeft",
    "eyeSquintRight",
    "eyeWideLeft",
    "eyeWideRight",
    "jawForward",
    "jawLeft",
    "jawOpen",
    "jawRight",
    "mouthClose",
    "mouthDimpleLeft",
    "mouthDimpleRight",
    "mouthFrownLeft",
    "mouthFrownRight",
    "mouthFunnel",
    "mouthLeft",
    "mouthLowerDownLeft",
    "mouthLowerDownRight",
    "mouthPressLeft",
    "mouthPressRight",
    "mouthPucker",
    "mouthRight",
    "mouthRollLower",
    "mouthRollUpper",
    "mouthShrugLower",
    "mouthShrugUpper",
    "mouthSmileLeft",
    "mouthSmileRight",
    "mouthStretchLeft",
    "mouthStretchRight",
    "mouthUpperUpLeft",
    "mouthUpperUpRight",
    "noseSneerLeft",
    "noseSneerRight",
];

/// The 52 scores, by name through [`Blendshapes::get`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Blendshapes(pub Vec<f64>);

impl Blendshapes {
    /// The score named `name`; 0 for a name the model does not have.
    pub fn get(&self, name: &str) -> f64 {
        NAMES
            .iter()
            .position(|n| *n == name)
            .and_then(|i| self.0.get(i))
            .copied()
            .unwrap_or(0.0)
    }

    /// The larger of a left / right pair (`mouthSmile` -> mouthSmileLeft, mouthSmileRight).
    pub fn either(&self, stem: &str) -> f64 {
        self.get(&format!("{stem}Left"))
            .max(self.get(&format!("{stem}Right")))
    }
}

/// The scores of the face in `lm`; `None` without both irises (the model needs all 146 points).
pub fn score(lm: &Landmarks) -> Result<Option<Blendshapes>, ModelError> {
    let [Some(left), Some(right)] = &lm.eyes else {
        return Ok(None);
    };
    let mut points = Vec::with_capacity(POINTS.len());
    for &i in &POINTS {
        let p = match i {
            0..468 => lm.point(i),
            468..473 => left.iris_points[i - 468],
            _ => right.iris_points[i - 473],
        };
        points.push([p[0] as f32, p[1] as f32]);
    }
    let scores = models::blendshapes(&points)?;
    Ok(Some(Blendshapes(
        scores.iter().map(|&s| f64::from(s)).collect(),
    )))
}
