// Throwaway: per-stage timing (not committed).
use std::time::Instant;
fn main() {
    let profile = photocheck_core::Profile::default_profile();
    for path in std::env::args().skip(1) {
        let bytes = std::fs::read(&path).unwrap();
        let mut t = [0f64; 8];
        let n = 30;
        for _ in 0..n {
            let s = Instant::now();
            let d = photocheck_core::intake::decode(&bytes, &profile.intake).unwrap();
            t[0] += s.elapsed().as_secs_f64();
            let s = Instant::now();
            let g = photocheck_core::geometry::to_gray(&d.image);
            t[1] += s.elapsed().as_secs_f64();
            let s = Instant::now();
            let det = photocheck_core::detect::detect(&g, &profile.detection);
            t[2] += s.elapsed().as_secs_f64();
            let Some(f) = det.faces.first() else { continue };
            let s = Instant::now();
            let seg = photocheck_core::geometry::segment(&d.image, f);
            t[3] += s.elapsed().as_secs_f64();
            let s = Instant::now();
            let _h = photocheck_core::geometry::head_geometry(&seg, &g, f, &profile.head);
            t[4] += s.elapsed().as_secs_f64();
            let s = Instant::now();
            let _m = photocheck_core::measure::face(&d.image, &g, f, 378);
            t[5] += s.elapsed().as_secs_f64();
            let s = Instant::now();
            let _b = photocheck_core::measure::background(&d.image, &seg, &profile.background);
            t[6] += s.elapsed().as_secs_f64();
            let s = Instant::now();
            let _e = photocheck_core::intake::read_exif(&bytes);
            t[7] += s.elapsed().as_secs_f64();
        }
        let ms: Vec<String> = t
            .iter()
            .map(|v| format!("{:.2}", v * 1000.0 / n as f64))
            .collect();
        println!(
            "{path}: decode {} gray {} detect {} seg {} head {} face {} bg {} exif {}",
            ms[0], ms[1], ms[2], ms[3], ms[4], ms[5], ms[6], ms[7]
        );
    }
}
