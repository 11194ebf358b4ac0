//! The archive copy of an approved photo (GA 482): the judged photo (the upload, or the crop that
//! framing cut from it), upright, resized to the archive size and re-encoded as a JPEG whose file size
//! lies in the archive's byte range.
//!
//! Only approved photos are archived, and approval means the judged photo already has the archive's
//! proportions and head position, with at least its rows: it is only ever scaled down.

use image::codecs::jpeg::{JpegEncoder, PixelDensity};
use image::imageops::{self, FilterType};
use image::{ExtendedColorType, RgbImage};

use crate::intake::{self, IntakeError};
use crate::profile::Profile;

#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    #[error("the upload cannot be read: {0}")]
    Unreadable(#[from] IntakeError),
    #[error("JPEG encoding failed: {0}")]
    Encode(String),
    #[error(
        "no JPEG quality from {min_quality} to 100 gives {min_bytes}-{max_bytes} bytes (smallest {smallest}, largest {largest})"
    )]
    SizeOutOfRange {
        min_quality: u8,
        min_bytes: u64,
        max_bytes: u64,
        smallest: usize,
        largest: usize,
    },
}

/// The archive JPEG and the quality that produced it.
#[derive(Debug, Clone)]
pub struct ArchiveCopy {
    pub jpeg: Vec<u8>,
    pub quality: u8,
    pub width: u32,
    pub height: u32,
}

/// Decodes the upload and renders its archive copy.
pub fn render(bytes: &[u8], profile: &Profile) -> Result<ArchiveCopy, ArchiveError> {
    let decoded = intake::decode(bytes, &profile.intake)?;
    from_image(&decoded.image, profile)
}

/// Renders the archive copy of an upright image: resized to the archive size, then the highest JPEG
/// quality (not below the profile's minimum) whose file fits under the byte limit. The size falls as
/// quality falls, so a binary search over quality finds it in at most 6 encodes.
pub fn from_image(image: &RgbImage, profile: &Profile) -> Result<ArchiveCopy, ArchiveError> {
    let a = &profile.archive;
    let small = imageops::resize(image, a.width_px, a.height_px, FilterType::CatmullRom);
    let encode = |quality: u8| -> Result<Vec<u8>, ArchiveError> {
        let mut out = Vec::with_capacity(a.max_bytes as usize);
        let mut encoder = JpegEncoder::new_with_quality(&mut out, quality);
        encoder.set_pixel_density(PixelDensity::dpi(a.dpi as u16));
        encoder
            .encode(
                small.as_raw(),
                small.width(),
                small.height(),
                ExtendedColorType::Rgb8,
            )
            .map_err(|e| ArchiveError::Encode(e.to_string()))?;
        Ok(out)
    };
    let fits_max = |jpeg: &Vec<u8>| jpeg.len() as u64 <= a.max_bytes;
    let (mut lo, mut hi) = (a.min_jpeg_quality.max(1), 100u8);
    let lowest = encode(lo)?;
    if !fits_max(&lowest) {
        return Err(out_of_range(profile, lowest.len(), encode(hi)?.len()));
    }
    let mut best = (lo, lowest);
    // Invariant: quality `lo` fits; find the highest that does.
    while lo < hi {
        let mid = lo + (hi - lo).div_ceil(2);
        let jpeg = encode(mid)?;
        if fits_max(&jpeg) {
            lo = mid;
            best = (mid, jpeg);
        } else {
            hi = mid - 1;
        }
    }
    let (quality, jpeg) = best;
    if (jpeg.len() as u64) < a.min_bytes {
        return Err(out_of_range(
            profile,
            encode(a.min_jpeg_quality)?.len(),
            jpeg.len(),
        ));
    }
    Ok(ArchiveCopy {
        jpeg,
        quality,
        width: a.width_px,
        height: a.height_px,
    })
}

fn out_of_range(profile: &Profile, smallest: usize, largest: usize) -> ArchiveError {
    ArchiveError::SizeOutOfRange {
        min_quality: profile.archive.min_jpeg_quality,
        min_bytes: profile.archive.min_bytes,
        max_bytes: profile.archive.max_bytes,
        smallest,
        largest,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::Rgb;

    fn textured(w: u32, h: u32) -> RgbImage {
        // A deterministic pattern with detail at several scales, like skin, hair and fabric.
        RgbImage::from_fn(w, h, |x, y| {
            let v = ((x * 7 + y * 13) % 97 + (x * y) % 31 + (x / 9 + y / 5) % 50) as u8;
            Rgb([v.wrapping_add(90), v.wrapping_add(60), v.wrapping_add(40)])
        })
    }

    #[test]
    fn archive_copy_has_the_archive_size_and_fits_the_byte_range() {
        let profile = Profile::default_profile();
        let copy = from_image(&textured(780, 1134), &profile).unwrap();
        assert_eq!((copy.width, copy.height), (260, 378));
        let n = copy.jpeg.len() as u64;
        assert!(
            (profile.archive.min_bytes..=profile.archive.max_bytes).contains(&n),
            "{n} bytes at quality {}",
            copy.quality
        );
        let back = intake::decode(&copy.jpeg, &profile.intake).unwrap();
        assert_eq!((back.width, back.height), (260, 378));
    }

    #[test]
    fn a_flat_image_cannot_reach_the_minimum_size_and_says_so() {
        let profile = Profile::default_profile();
        let flat = RgbImage::from_pixel(260, 378, Rgb([250, 250, 250]));
        let err = from_image(&flat, &profile).unwrap_err();
        assert!(matches!(err, ArchiveError::SizeOutOfRange { .. }), "{err}");
    }
}
