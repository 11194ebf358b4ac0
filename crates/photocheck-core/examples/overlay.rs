// Throwaway calibration aid (not committed).
use image::Rgb;
fn main() {
    let profile = photocheck_core::Profile::default_profile();
    let ctx = photocheck_core::Context::on(chrono::NaiveDate::from_ymd_opt(2026, 11, 21).unwrap());
    for path in std::env::args().skip(1) {
        let bytes = std::fs::read(&path).unwrap();
        let (rep, an) = photocheck_core::analyse(&bytes, &profile, &ctx);
        let Some(an) = an else { continue };
        let mut img = an.image.clone();
        let (w, h) = img.dimensions();
        if let Some(seg) = &an.segmentation {
            for y in 0..h {
                for x in 0..w {
                    let l = seg.label(x, y);
                    let p = img.get_pixel_mut(x, y);
                    if l == 1 {
                        p.0 = [p[0] / 2, p[1] / 2 + 100, p[2] / 2 + 100];
                    } else if l == 0 {
                        p.0 = [p[0] / 2 + 100, p[1] / 2, p[2] / 2 + 100];
                    }
                }
            }
        }
        let mut hline = |img: &mut image::RgbImage, y: f64, c: [u8; 3]| {
            let y = (y as u32).min(h - 1);
            for x in 0..w {
                img.put_pixel(x, y, Rgb(c));
            }
        };
        if let Some(g) = an.head {
            hline(&mut img, g.crown_y, [255, 0, 0]);
            hline(&mut img, g.chin_y, [0, 0, 255]);
            for x in [g.left_x, g.right_x] {
                let x = (x as u32).min(w - 1);
                for y in 0..h {
                    img.put_pixel(x, y, Rgb([255, 255, 0]));
                }
            }
        }
        for f in &an.faces {
            let (x0, y0, x1, y1) = (
                f.x.max(0.0) as u32,
                f.y.max(0.0) as u32,
                ((f.x + f.w) as u32).min(w - 1),
                ((f.y + f.h) as u32).min(h - 1),
            );
            for x in x0..=x1 {
                img.put_pixel(x, y0, Rgb([0, 255, 0]));
                img.put_pixel(x, y1, Rgb([0, 255, 0]));
            }
            for y in y0..=y1 {
                img.put_pixel(x0, y, Rgb([0, 255, 0]));
                img.put_pixel(x1, y, Rgb([0, 255, 0]));
            }
        }
        let name = std::path::Path::new(&path)
            .file_stem()
            .unwrap()
            .to_string_lossy()
            .to_string();
        let small = image::imageops::resize(
            &img,
            w * 400 / h,
            400,
            image::imageops::FilterType::Triangle,
        );
        small.save(format!("/tmp/ov/{name}.png")).unwrap();
        if let Some(s) = &an.segmentation {
            println!(
                "  ref={:?} face={:?} reliable={}",
                s.reference, s.face_colour, s.reliable
            );
        }
        println!(
            "{name}: {} faces={} hl={:?} hw={:?} chin_edge={:?}",
            rep.decision,
            rep.faces,
            rep.head.map(|h| h.length_mm),
            rep.head.map(|h| h.width_mm),
            rep.head.map(|h| h.chin_from_edge)
        );
    }
}
