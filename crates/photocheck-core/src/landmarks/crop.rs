//! Square, rotated crops of the photo as model input tensors, and the way back to photo coordinates.
//!
//! MediaPipe's models expect the face (or the eye) upright and centred in a square: the crop is a
//! rotated square in the photo, resampled bilinearly to the model's input size. A crop may reach past
//! the photo's edges; those pixels are black, as in MediaPipe's own cropping.

use image::RgbImage;

/// A square region of the photo, rotated by `angle` (radians, clockwise in image coordinates: y down),
/// optionally mirrored left to right (the eye model only knows one eye).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Crop {
    pub cx: f64,
    pub cy: f64,
    /// Side length in photo px.
    pub size: f64,
    pub angle: f64,
    pub mirror: bool,
}

impl Crop {
    /// Photo coordinates of the point (u, v) of a crop resampled to `side` x `side` (u, v in model px).
    pub fn to_photo(&self, u: f64, v: f64, side: f64) -> (f64, f64) {
        let s = self.size / side;
        let mut dx = (u - side / 2.0) * s;
        let dy = (v - side / 2.0) * s;
        if self.mirror {
            dx = -dx;
        }
        let (sin, cos) = self.angle.sin_cos();
        (self.cx + dx * cos - dy * sin, self.cy + dx * sin + dy * cos)
    }

    /// A length in model px as photo px.
    pub fn scale_to_photo(&self, side: f64) -> f64 {
        self.size / side
    }

    /// The crop resampled to `side` x `side`, as NHWC float values in [0, 1] (row-major, RGB).
    pub fn sample(&self, img: &RgbImage, side: usize) -> Vec<f32> {
        let mut out = Vec::with_capacity(side * side * 3);
        let (w, h) = (img.width() as i64, img.height() as i64);
        let raw = img.as_raw();
        let s = self.size / side as f64;
        let (sin, cos) = self.angle.sin_cos();
        let flip = if self.mirror { -1.0 } else { 1.0 };
        // One step along a crop row moves the photo point by (step_x, step_y).
        let (step_x, step_y) = (flip * s * cos, flip * s * sin);
        let row_len = w as usize * 3;
        for v in 0..side {
            let dy = (v as f64 + 0.5 - side as f64 / 2.0) * s;
            let dx0 = flip * (0.5 - side as f64 / 2.0) * s;
            // Pixel centres sit at integer + 0.5 in photo coordinates.
            let x_start = self.cx + dx0 * cos - dy * sin - 0.5;
            let y_start = self.cy + dx0 * sin + dy * cos - 0.5;
            for u in 0..side {
                let x = x_start + u as f64 * step_x;
                let y = y_start + u as f64 * step_y;
                let (x0, y0) = (x.floor(), y.floor());
                let (fx, fy) = ((x - x0) as f32, (y - y0) as f32);
                let (x0, y0) = (x0 as i64, y0 as i64);
                if x0 >= 0 && y0 >= 0 && x0 + 1 < w && y0 + 1 < h {
                    // All four neighbours inside: no per-pixel bounds tests.
                    let i = y0 as usize * row_len + x0 as usize * 3;
                    let (top, bottom) = (&raw[i..i + 6], &raw[i + row_len..i + row_len + 6]);
                    let (w00, w01) = ((1.0 - fy) * (1.0 - fx), (1.0 - fy) * fx);
                    let (w10, w11) = (fy * (1.0 - fx), fy * fx);
                    for c in 0..3 {
                        let v = w00 * f32::from(top[c])
                            + w01 * f32::from(top[c + 3])
                            + w10 * f32::from(bottom[c])
                            + w11 * f32::from(bottom[c + 3]);
                        out.push(v / 255.0);
                    }
                    continue;
                }
                let mut px = [0f32; 3];
                for (yy, wy) in [(y0, 1.0 - fy), (y0 + 1, fy)] {
                    for (xx, wx) in [(x0, 1.0 - fx), (x0 + 1, fx)] {
                        let wgt = wy * wx;
                        if wgt == 0.0 || xx < 0 || yy < 0 || xx >= w || yy >= h {
                            continue;
                        }
                        let i = ((yy * w + xx) * 3) as usize;
                        for c in 0..3 {
                            px[c] += wgt * raw[i + c] as f32;
                        }
                    }
                }
                out.extend(px.map(|c| c / 255.0));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_point_sampled_comes_back_to_where_it_was() {
        let crop = Crop {
            cx: 100.0,
            cy: 80.0,
            size: 60.0,
            angle: 0.3,
            mirror: true,
        };
        // The crop's centre is the photo point (cx, cy); the crop's left edge is, mirrored, right of it.
        let (x, y) = crop.to_photo(32.0, 32.0, 64.0);
        assert!((x - 100.0).abs() < 1e-9 && (y - 80.0).abs() < 1e-9);
        let (x, _) = crop.to_photo(0.0, 32.0, 64.0);
        assert!(x > 100.0, "mirrored: model-left is photo-right, got {x}");
    }

    #[test]
    fn sampling_reads_the_pixels_under_the_crop() {
        let mut img = RgbImage::from_pixel(40, 40, image::Rgb([0, 0, 0]));
        for y in 0..40 {
            for x in 20..40 {
                img.put_pixel(x, y, image::Rgb([255, 128, 0]));
            }
        }
        let crop = Crop {
            cx: 20.0,
            cy: 20.0,
            size: 20.0,
            angle: 0.0,
            mirror: false,
        };
        let t = crop.sample(&img, 4);
        // Row 0: two dark pixels, then two orange ones.
        assert!(t[0] < 0.01 && t[3] < 0.01);
        assert!((t[6] - 1.0).abs() < 0.01 && (t[7] - 128.0 / 255.0).abs() < 0.01);
        let mirrored = Crop {
            mirror: true,
            ..crop
        }
        .sample(&img, 4);
        assert!((mirrored[0] - 1.0).abs() < 0.01, "mirrored: orange first");
    }

    #[test]
    fn sampling_is_bilinear_inside_and_black_outside() {
        // A gradient photo: bilinear interpolation of a linear ramp is exact.
        let img = RgbImage::from_fn(50, 40, |x, y| {
            image::Rgb([(x * 5) as u8, (y * 6) as u8, 77])
        });
        let crop = Crop {
            cx: 25.3,
            cy: 18.7,
            size: 30.0,
            angle: 0.4,
            mirror: false,
        };
        let side = 16;
        let t = crop.sample(&img, side);
        for v in 0..side {
            for u in 0..side {
                let (x, y) = crop.to_photo(u as f64 + 0.5, v as f64 + 0.5, side as f64);
                let (x, y) = (x - 0.5, y - 0.5);
                let got = &t[(v * side + u) * 3..][..3];
                if x >= 0.0 && y >= 0.0 && x <= 49.0 && y <= 39.0 {
                    assert!((got[0] * 255.0 - 5.0 * x as f32).abs() < 0.01, "{u},{v}");
                    assert!((got[1] * 255.0 - 6.0 * y as f32).abs() < 0.01, "{u},{v}");
                    assert!((got[2] * 255.0 - 77.0).abs() < 0.01, "{u},{v}");
                }
            }
        }
        // Wholly outside the photo: black.
        let outside = Crop { cx: -100.0, ..crop }.sample(&img, 4);
        assert!(outside.iter().all(|&v| v == 0.0));
    }
}
