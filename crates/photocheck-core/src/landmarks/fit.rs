//! Weighted similarity fit of one point set onto another (scale, rotation, translation), for the head
//! pose: MediaPipe's canonical face fitted to the mesh the way its geometry pipeline does, so the pose
//! is that of a whole rigid head rather than of two lines drawn across the face.
//!
//! The rotation is Horn's closed form: the unit quaternion maximising the weighted correlation is the
//! eigenvector of the largest eigenvalue of a symmetric 4 x 4 matrix (found by Jacobi sweeps, which
//! converge for every symmetric matrix), so no SVD and no linear-algebra crate are needed.

pub type Mat3 = [[f64; 3]; 3];

/// The rotation `r` (row-major, applied as `r * p`) and scale that best map `from` onto `to`:
/// minimises the weighted sum of `|s r (from_i - cf) - (to_i - ct)|^2`. `None` when the points are
/// degenerate (fewer than three with weight, or all weight on one point).
pub fn similarity(from: &[[f64; 3]], to: &[[f64; 3]], weights: &[f64]) -> Option<(Mat3, f64)> {
    let total: f64 = weights.iter().sum();
    if from.len() != to.len() || from.len() != weights.len() || from.len() < 3 || total <= 0.0 {
        return None;
    }
    let centroid = |pts: &[[f64; 3]]| {
        let mut c = [0.0; 3];
        for (p, w) in pts.iter().zip(weights) {
            for k in 0..3 {
                c[k] += w * p[k] / total;
            }
        }
        c
    };
    let (cf, ct) = (centroid(from), centroid(to));
    // Cross-covariance m[a][b] = sum w (from_a)(to_b), and the spread of `from` for the scale.
    let mut m = [[0.0; 3]; 3];
    let mut spread = 0.0;
    for ((f, t), w) in from.iter().zip(to).zip(weights) {
        let a = [f[0] - cf[0], f[1] - cf[1], f[2] - cf[2]];
        let b = [t[0] - ct[0], t[1] - ct[1], t[2] - ct[2]];
        for i in 0..3 {
            for j in 0..3 {
                m[i][j] += w * a[i] * b[j];
            }
        }
        spread += w * (a[0] * a[0] + a[1] * a[1] + a[2] * a[2]);
    }
    if spread <= 1e-12 {
        return None;
    }
    let [[sxx, sxy, sxz], [syx, syy, syz], [szx, szy, szz]] = m;
    let n = [
        [sxx + syy + szz, syz - szy, szx - sxz, sxy - syx],
        [syz - szy, sxx - syy - szz, sxy + syx, szx + sxz],
        [szx - sxz, sxy + syx, -sxx + syy - szz, syz + szy],
        [sxy - syx, szx + sxz, syz + szy, -sxx - syy + szz],
    ];
    let (values, vectors) = jacobi4(n);
    let best = (0..4).max_by(|&a, &b| values[a].total_cmp(&values[b]))?;
    let q = [
        vectors[0][best],
        vectors[1][best],
        vectors[2][best],
        vectors[3][best],
    ];
    let r = rotation(q);
    // Scale: the correlation the rotation achieves over the spread of `from`.
    let mut corr = 0.0;
    for i in 0..3 {
        for j in 0..3 {
            corr += r[j][i] * m[i][j];
        }
    }
    Some((r, corr / spread))
}

/// Rotation matrix of a unit quaternion (w, x, y, z).
fn rotation(q: [f64; 4]) -> Mat3 {
    let norm = q.iter().map(|v| v * v).sum::<f64>().sqrt().max(1e-300);
    let [w, x, y, z] = q.map(|v| v / norm);
    [
        [
            w * w + x * x - y * y - z * z,
            2.0 * (x * y - w * z),
            2.0 * (x * z + w * y),
        ],
        [
            2.0 * (x * y + w * z),
            w * w - x * x + y * y - z * z,
            2.0 * (y * z - w * x),
        ],
        [
            2.0 * (x * z - w * y),
            2.0 * (y * z + w * x),
            w * w - x * x - y * y + z * z,
        ],
    ]
}

/// Eigenvalues and eigenvectors (columns) of a symmetric 4 x 4 matrix by cyclic Jacobi rotations.
fn jacobi4(mut a: [[f64; 4]; 4]) -> ([f64; 4], [[f64; 4]; 4]) {
    let mut v = [[0.0; 4]; 4];
    for (i, row) in v.iter_mut().enumerate() {
        row[i] = 1.0;
    }
    for _ in 0..50 {
        let off: f64 = (0..4)
            .flat_map(|i| (0..4).filter(move |&j| j != i).map(move |j| (i, j)))
            .map(|(i, j)| a[i][j] * a[i][j])
            .sum();
        if off < 1e-22 {
            break;
        }
        for p in 0..3 {
            for q in p + 1..4 {
                if a[p][q].abs() < 1e-300 {
                    continue;
                }
                let theta = (a[q][q] - a[p][p]) / (2.0 * a[p][q]);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let t = if theta == 0.0 { 1.0 } else { t };
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                for row in a.iter_mut() {
                    let (akp, akq) = (row[p], row[q]);
                    row[p] = c * akp - s * akq;
                    row[q] = s * akp + c * akq;
                }
                let (rp, rq) = (a[p], a[q]);
                a[p] = std::array::from_fn(|k| c * rp[k] - s * rq[k]);
                a[q] = std::array::from_fn(|k| s * rp[k] + c * rq[k]);
                for row in v.iter_mut() {
                    let (vp, vq) = (row[p], row[q]);
                    row[p] = c * vp - s * vq;
                    row[q] = s * vp + c * vq;
                }
            }
        }
    }
    ([a[0][0], a[1][1], a[2][2], a[3][3]], v)
}

pub fn apply(r: &Mat3, p: [f64; 3]) -> [f64; 3] {
    [
        r[0][0] * p[0] + r[0][1] * p[1] + r[0][2] * p[2],
        r[1][0] * p[0] + r[1][1] * p[1] + r[1][2] * p[2],
        r[2][0] * p[0] + r[2][1] * p[1] + r[2][2] * p[2],
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rot_y(deg: f64) -> Mat3 {
        let (s, c) = deg.to_radians().sin_cos();
        [[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]]
    }

    fn rot_x(deg: f64) -> Mat3 {
        let (s, c) = deg.to_radians().sin_cos();
        [[1.0, 0.0, 0.0], [0.0, c, -s], [0.0, s, c]]
    }

    fn mul(a: &Mat3, b: &Mat3) -> Mat3 {
        let mut m = [[0.0; 3]; 3];
        for i in 0..3 {
            for j in 0..3 {
                m[i][j] = (0..3).map(|k| a[i][k] * b[k][j]).sum();
            }
        }
        m
    }

    #[test]
    fn a_rotated_scaled_and_moved_cloud_gives_back_its_rotation_and_scale() {
        let from: Vec<[f64; 3]> = (0..40)
            .map(|i| {
                let t = f64::from(i);
                [
                    (t * 0.7).sin() * 5.0,
                    (t * 1.3).cos() * 7.0,
                    (t * 0.37).sin() * 3.0,
                ]
            })
            .collect();
        let truth = mul(&rot_y(12.0), &rot_x(-7.0));
        let to: Vec<[f64; 3]> = from
            .iter()
            .map(|&p| {
                let q = apply(&truth, p);
                [2.5 * q[0] + 100.0, 2.5 * q[1] - 40.0, 2.5 * q[2] + 3.0]
            })
            .collect();
        let weights = vec![1.0; from.len()];
        let (r, s) = similarity(&from, &to, &weights).expect("a fit");
        assert!((s - 2.5).abs() < 1e-9, "scale {s}");
        for i in 0..3 {
            for j in 0..3 {
                assert!((r[i][j] - truth[i][j]).abs() < 1e-9, "{r:?}");
            }
        }
    }

    #[test]
    fn degenerate_points_give_no_fit() {
        let p = [[1.0, 2.0, 3.0]; 5];
        assert!(similarity(&p, &p, &[1.0; 5]).is_none());
        assert!(similarity(&p[..2], &p[..2], &[1.0; 2]).is_none());
    }
}
