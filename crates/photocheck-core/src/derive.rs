//! Photos derived from real portraits with exactly known properties: the head framed at a chosen
//! length, EXIF facts written as a phone writes them. Tests build their inputs with these, and the
//! labelled sample sets for tuning are made the same way; nothing made here is saved by the engine.

use std::io::Cursor;

use image::{imageops, DynamicImage, ImageError, ImageFormat, Rgb, RgbImage};

use crate::HeadReport;

/// The archive frame (22:32) around a measured head, so that its head is `head_mm` long and its
/// crown 15 reference px (of 378) below the top, centred; white where the frame leaves the photo.
/// `size` is the output in px, (width, height).
pub fn reframe(photo: &RgbImage, head: &HeadReport, head_mm: f64, (w, h): (u32, u32)) -> RgbImage {
    let frame_h = head.length_px * 32.0 / head_mm;
    let frame_w = frame_h * 22.0 / 32.0;
    let top = head.crown_y - 15.0 / 378.0 * frame_h;
    let left = head.centre_x - frame_w / 2.0;
    let mut canvas = RgbImage::from_pixel(frame_w as u32, frame_h as u32, Rgb([255, 255, 255]));
    imageops::overlay(&mut canvas, photo, -left as i64, -top as i64);
    imageops::resize(&canvas, w, h, imageops::FilterType::Lanczos3)
}

/// EXIF facts to write into a derived JPEG.
#[derive(Debug, Clone, Copy)]
pub struct ExifTags<'a> {
    /// 1-8, as in the EXIF Orientation tag.
    pub orientation: u16,
    pub software: &'a str,
    /// `YYYY:MM:DD HH:MM:SS`, as DateTimeOriginal holds it.
    pub taken: &'a str,
}

/// A JPEG with an EXIF block holding Orientation, Software and DateTimeOriginal. The pixels are
/// stored as given: the orientation tag says how to turn them, it does not turn them.
pub fn jpeg_with_exif(image: &RgbImage, tags: ExifTags<'_>) -> Result<Vec<u8>, ImageError> {
    let ascii = |s: &str| {
        let mut b = s.as_bytes().to_vec();
        b.push(0);
        if b.len() % 2 == 1 {
            b.push(0);
        }
        b
    };
    let (software, taken) = (ascii(tags.software), ascii(tags.taken));
    let entry = |tag: u16, kind: u16, count: u32, value: u32| {
        let mut e = Vec::with_capacity(12);
        e.extend(tag.to_le_bytes());
        e.extend(kind.to_le_bytes());
        e.extend(count.to_le_bytes());
        e.extend(value.to_le_bytes());
        e
    };
    let len32 = |b: &[u8]| u32::try_from(b.len()).unwrap_or(u32::MAX);
    // Little-endian TIFF: header, IFD0 (3 entries), Software text, Exif IFD (1 entry), date text.
    let ifd0_end = 8 + 2 + 3 * 12 + 4;
    let software_at = ifd0_end;
    let exif_ifd_at = software_at + len32(&software);
    let taken_at = exif_ifd_at + 2 + 12 + 4;
    let mut tiff = b"II*\0".to_vec();
    tiff.extend(8u32.to_le_bytes());
    tiff.extend(3u16.to_le_bytes());
    tiff.extend(entry(0x0112, 3, 1, u32::from(tags.orientation)));
    tiff.extend(entry(0x0131, 2, len32(&software), software_at));
    tiff.extend(entry(0x8769, 4, 1, exif_ifd_at));
    tiff.extend(0u32.to_le_bytes());
    tiff.extend(&software);
    tiff.extend(1u16.to_le_bytes());
    tiff.extend(entry(0x9003, 2, len32(&taken), taken_at));
    tiff.extend(0u32.to_le_bytes());
    tiff.extend(&taken);
    let mut app1 = vec![0xFF, 0xE1];
    let segment_len = u16::try_from(tiff.len() + 8).unwrap_or(u16::MAX);
    app1.extend(segment_len.to_be_bytes());
    app1.extend(b"Exif\0\0");
    app1.extend(tiff);
    let plain = jpeg(image)?;
    // Right after the start-of-image marker, where cameras put it.
    Ok([&plain[..2], &app1[..], &plain[2..]].concat())
}

/// A plain baseline JPEG (the `image` crate's encoder, quality 75).
pub fn jpeg(image: &RgbImage) -> Result<Vec<u8>, ImageError> {
    let mut out = Cursor::new(Vec::new());
    DynamicImage::ImageRgb8(image.clone()).write_to(&mut out, ImageFormat::Jpeg)?;
    Ok(out.into_inner())
}
