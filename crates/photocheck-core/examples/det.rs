use std::time::Instant;
fn main() {
    let mut profile = photocheck_core::Profile::default_profile();
    profile.detection.coarse_height = std::env::var("CH")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(150);
    let mut total = 0.0;
    let mut n = 0;
    let mut found = 0;
    let mut fine = 0;
    for path in std::env::args().skip(1) {
        let bytes = std::fs::read(&path).unwrap();
        let d = photocheck_core::intake::decode(&bytes, &profile.intake).unwrap();
        let g = photocheck_core::geometry::to_gray(&d.image);
        let s = Instant::now();
        let mut det = None;
        for _ in 0..10 {
            det = Some(photocheck_core::detect::detect(&g, &profile.detection));
        }
        total += s.elapsed().as_secs_f64() / 10.0;
        n += 1;
        let det = det.unwrap();
        if !det.faces.is_empty() {
            found += 1;
        }
        if det.fine_pass {
            fine += 1;
            println!("fine pass: {path} {:?}", det.faces.first());
        }
    }
    println!(
        "mean {:.2} ms over {n}, found {found}, fine {fine}",
        total * 1000.0 / n as f64
    );
}
