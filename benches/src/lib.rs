//! Inputs for the benchmarks, shared by benches/check.rs and the `make-archive-set` tool: the test
//! photos' location and the archive-size (260 x 378) and phone-size (3024 x 4032) JPEGs made from them.
//!
//! The photos are third-party (../shared/photos/SOURCES.md): they are read by relative path at run time,
//! and the images made from them live in memory or in a temporary folder, never in the repository.

use std::io::Cursor;
use std::path::PathBuf;

use image::codecs::jpeg::JpegEncoder;
use image::imageops::{self, FilterType};
use image::RgbImage;
use photocheck_core::Profile;

/// The ID-style portraits of SOURCES.md: categories ID-W (white to light-grey background) and ID-C
/// (coloured, grey or beige background). Listed here rather than parsed so the benchmark's input set
/// only changes when this list does.
pub const ID_PHOTOS: [&str; 29] = [
    // ID-W
    "deepface_img11.jpg",
    "deepface_img13.jpg",
    "deepface_img18.jpg",
    "deepface_img30.jpg",
    "deepface_img33.jpg",
    "deepface_img7.jpg",
    "facenet_paul_rudd.jpg",
    "facerec_alex_img1.jpg",
    "hivision_demo_white.jpg",
    "hivision_old_test4.jpg",
    "hivision_test0.jpg",
    "hivision_test3.jpg",
    "idphoto_sample1.png",
    "idphoto_sample2.png",
    "idphoto_sample3.png",
    "idphoto_sample4.png",
    // ID-C
    "compreface_009_C.jpg",
    "compreface_face3.jpg",
    "deepface_img12.jpg",
    "deepface_img24.jpg",
    "facerec_alex_lacamoire1.jpg",
    "hivision_demo_blue.jpg",
    "hivision_demo_grey.jpg",
    "hivision_demo_red.jpg",
    "hivision_old_test2.jpg",
    "hivision_old_test3.jpg",
    "hivision_test4.jpg",
    "openface_carell.jpg",
    "seeta_NF_200020_003.jpg",
];

/// The photos blown up to phone size: a white, a coloured and a grey ID-style background.
pub const PHONE_PHOTOS: [&str; 3] = [
    "hivision_old_test4.jpg",
    "compreface_face3.jpg",
    "hivision_demo_grey.jpg",
];

/// The archive form (GA 482-2012): 260 wide x 378 high, JPEG quality 90.
pub const ARCHIVE_SIZE: (u32, u32) = (260, 378);
pub const ARCHIVE_QUALITY: u8 = 90;
/// A 12 MP phone photo held upright: 3024 wide x 4032 high, JPEG quality 92.
pub const PHONE_SIZE: (u32, u32) = (3024, 4032);
pub const PHONE_QUALITY: u8 = 92;

/// ../shared/photos/raw beside the workspace.
pub fn photo_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/photos/raw")
}

/// The photo folder, or `None` after saying loudly why there is nothing to measure.
pub fn photo_dir_or_warn(what: &str) -> Option<PathBuf> {
    let dir = photo_dir();
    if dir.is_dir() {
        return Some(dir);
    }
    eprintln!(
        "\n!!!! {what}: test photos not found at {} !!!!\n\
         !!!! clone the project beside ../shared (CI always has them); nothing measured !!!!\n",
        dir.display()
    );
    None
}

/// Decodes a photo at full size through the engine's one door for untrusted bytes (limits, EXIF
/// orientation), with the analysis reduction switched off.
pub fn decode_full(bytes: &[u8]) -> Result<RgbImage, String> {
    let mut intake = Profile::default_profile().intake;
    intake.analysis_height = intake.max_side;
    photocheck_core::intake::decode(bytes, &intake)
        .map(|d| d.image)
        .map_err(|e| e.to_string())
}

/// Cuts the largest centred `w:h` window out of `image` and resizes it to `w x h`.
pub fn crop_resize(image: &RgbImage, (w, h): (u32, u32), filter: FilterType) -> RgbImage {
    let (iw, ih) = image.dimensions();
    // Compare iw/ih with w/h without rounding: the side that is too long is cut.
    let (cw, ch) = if iw as u64 * h as u64 > ih as u64 * w as u64 {
        ((ih as u64 * w as u64 / h as u64) as u32, ih)
    } else {
        (iw, (iw as u64 * h as u64 / w as u64) as u32)
    };
    let cropped = imageops::crop_imm(image, (iw - cw) / 2, (ih - ch) / 2, cw, ch).to_image();
    imageops::resize(&cropped, w, h, filter)
}

/// Encodes as baseline JPEG at `quality`.
pub fn jpeg(image: &RgbImage, quality: u8) -> Result<Vec<u8>, String> {
    let mut out = Cursor::new(Vec::new());
    JpegEncoder::new_with_quality(&mut out, quality)
        .encode_image(image)
        .map_err(|e| e.to_string())?;
    Ok(out.into_inner())
}

/// The archive-size JPEG of a photo: centre crop to 22:32, Lanczos3 down to 260 x 378, quality 90.
pub fn archive_jpeg(bytes: &[u8]) -> Result<Vec<u8>, String> {
    let image = decode_full(bytes)?;
    jpeg(
        &crop_resize(&image, ARCHIVE_SIZE, FilterType::Lanczos3),
        ARCHIVE_QUALITY,
    )
}

/// A phone-size JPEG of a photo: centre crop to 3:4, Catmull-Rom up to 3024 x 4032, quality 92.
pub fn phone_jpeg(bytes: &[u8]) -> Result<Vec<u8>, String> {
    let image = decode_full(bytes)?;
    jpeg(
        &crop_resize(&image, PHONE_SIZE, FilterType::CatmullRom),
        PHONE_QUALITY,
    )
}

/// Median of some durations in ms (sorted in place).
pub fn median_ms(samples: &mut [f64]) -> f64 {
    samples.sort_by(f64::total_cmp);
    let n = samples.len();
    match n {
        0 => f64::NAN,
        _ if n % 2 == 1 => samples[n / 2],
        _ => (samples[n / 2 - 1] + samples[n / 2]) / 2.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crop_keeps_the_target_aspect_and_centre() {
        // A 400 x 300 landscape: the 22:32 window is 206 x 300, centred.
        let image = RgbImage::from_fn(400, 300, |x, _| image::Rgb([(x / 2) as u8, 0, 0]));
        let out = crop_resize(&image, ARCHIVE_SIZE, FilterType::Triangle);
        assert_eq!(out.dimensions(), ARCHIVE_SIZE);
        let mid = out.get_pixel(130, 189)[0] as i32;
        assert!((mid - 100).abs() <= 2, "centre column kept: {mid}");
    }

    #[test]
    fn median_of_even_and_odd_counts() {
        assert_eq!(median_ms(&mut [3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median_ms(&mut [4.0, 1.0, 3.0, 2.0]), 2.5);
    }
}
