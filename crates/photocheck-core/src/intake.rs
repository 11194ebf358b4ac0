//! Intake: the one door for untrusted bytes. Recognises the format by content, checks byte and pixel
//! limits from the header before decoding anything, decodes (JPEG reduced in the decoder by DCT scaling
//! when the measures do not need every pixel), applies the EXIF orientation, and records EXIF facts.

use std::borrow::Cow;
use std::io::Cursor;
use std::panic::AssertUnwindSafe;

use chrono::NaiveDateTime;
use image::{imageops, DynamicImage, ImageDecoder, ImageFormat, ImageReader, RgbImage};
use serde::{Deserialize, Serialize};

use crate::profile::Intake as IntakeLimits;

/// Image formats accepted, recognised by their first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Jpeg,
    Png,
    Webp,
}

/// Why an upload could not be read. Each has a stable code and a message the applicant can act on.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum IntakeError {
    #[error("the file is empty")]
    Empty,
    #[error("the file is {bytes} bytes; the limit is {max}")]
    FileTooLarge { bytes: u64, max: u64 },
    #[error("not a JPEG, PNG or WebP image ({found})")]
    UnsupportedFormat { found: String },
    #[error("the image is {width} x {height} px; the limit is {max_side} px a side and {max_pixels} px in all")]
    TooManyPixels {
        width: u32,
        height: u32,
        max_side: u32,
        max_pixels: u64,
    },
    /// The pixels fit the limits, but the format cannot be decoded at reduced size and its full
    /// pixels (deep colour, alpha, progressive coding) would take more memory than one photo may.
    #[error("the image is {width} x {height} px stored as {stored}: decoding it needs {needs_mb} MB, the limit is {max_mb} MB")]
    TooCostlyToDecode {
        width: u32,
        height: u32,
        stored: String,
        needs_mb: u64,
        max_mb: u64,
    },
    #[error("the image could not be decoded: {0}")]
    Corrupt(String),
    #[error("the file ends before the end of the image (an interrupted upload or copy)")]
    Truncated,
}

impl IntakeError {
    pub fn code(&self) -> &'static str {
        match self {
            IntakeError::Empty => "empty-file",
            IntakeError::FileTooLarge { .. } => "file-too-large",
            IntakeError::UnsupportedFormat { .. } => "unsupported-format",
            IntakeError::TooManyPixels { .. } | IntakeError::TooCostlyToDecode { .. } => {
                "image-too-large"
            }
            IntakeError::Corrupt(_) => "unreadable-image",
            IntakeError::Truncated => "truncated-image",
        }
    }

    /// The applicant-facing (English, Chinese) messages.
    pub fn messages(&self) -> (String, String) {
        let zh = match self {
            IntakeError::Empty => "文件为空，请重新上传照片".to_owned(),
            IntakeError::FileTooLarge { max, .. } => {
                format!("文件过大，最大 {} MB", max / (1024 * 1024))
            }
            IntakeError::UnsupportedFormat { .. } => {
                "文件不是 JPEG、PNG 或 WebP 格式的图片，请导出为 JPEG 后上传".to_owned()
            }
            IntakeError::TooManyPixels { .. } => "图片尺寸过大，请上传普通照片".to_owned(),
            IntakeError::TooCostlyToDecode { .. } => {
                "图片尺寸或色深过大，请上传手机相机拍摄的普通 JPEG 照片".to_owned()
            }
            IntakeError::Corrupt(_) => "图片已损坏或不完整，无法读取，请重新上传".to_owned(),
            IntakeError::Truncated => {
                "图片文件不完整（上传或复制被中断），请重新上传完整的照片".to_owned()
            }
        };
        (format!("The photo cannot be read: {self}"), zh)
    }
}

/// Facts from EXIF, as far as the file has them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ExifFacts {
    /// The EXIF orientation tag (1-8), applied before anything else.
    pub orientation: Option<u16>,
    /// DateTimeOriginal (or DateTime when that is missing), camera local time.
    pub captured: Option<NaiveDateTime>,
    /// The Software tag: the program that last wrote the file.
    pub software: Option<String>,
    /// Camera make and model.
    pub camera: Option<String>,
}

/// A decoded, upright image and what was learnt on the way.
#[derive(Debug, Clone)]
pub struct Decoded {
    /// Upright pixels at analysis size (between `analysis_height` and twice it, or the original when smaller).
    pub image: RgbImage,
    pub format: Format,
    /// Upright size of the original, px.
    pub width: u32,
    pub height: u32,
    pub exif: ExifFacts,
    /// The source had an alpha channel (composited onto white).
    pub had_alpha: bool,
    /// The source was stored as grayscale.
    pub stored_gray: bool,
    /// Bits per channel of the source.
    pub bit_depth: u8,
    /// A JPEG large enough to be decoded at 1/8, decoded at 1/4 instead, upright (`image` is it
    /// halved): the crop a phone photo is framed to usually needs that resolution, and keeping it
    /// spares decoding the file again (each decode of a 12 MP photo is ~15 ms of Huffman decoding
    /// whatever the reduction: benches/check.rs, `decode_only`). Four times `image`'s pixels.
    pub finer: Option<Finer>,
}

/// The 1/4 decode of a JPEG whose analysis image is its 1/8 reduction.
#[derive(Debug, Clone)]
pub struct Finer {
    pub image: RgbImage,
    upright_h: u32,
}

impl Decoded {
    /// The upright image `decode` would give under an `analysis_height` of `rows`, from the finer
    /// decode already made: itself at 1/4, halved at 1/8 (as `image` is). `None` when that decode
    /// would be at another reduction.
    pub fn decoded_for(&self, rows: u32) -> Option<Cow<'_, RgbImage>> {
        let f = self.finer.as_ref()?;
        if f.upright_h < rows.saturating_mul(2) {
            return None;
        }
        match jpeg_eighths(f.upright_h, rows) {
            2 => Some(Cow::Borrowed(&f.image)),
            1 => Some(Cow::Owned(halve(&f.image))),
            _ => None,
        }
    }

    /// Original px per analysis px.
    pub fn scale_to_original(&self) -> f64 {
        self.height as f64 / self.image.height() as f64
    }
}

/// Recognises the format from the first bytes.
pub fn sniff(bytes: &[u8]) -> Result<Format, IntakeError> {
    if bytes.is_empty() {
        return Err(IntakeError::Empty);
    }
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        return Ok(Format::Jpeg);
    }
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        return Ok(Format::Png);
    }
    if bytes.len() >= 12 && &bytes[0..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        return Ok(Format::Webp);
    }
    let found = match bytes {
        b if b.starts_with(b"GIF8") => "GIF",
        b if b.starts_with(b"BM") => "BMP",
        b if b.len() >= 12
            && &b[4..8] == b"ftyp"
            && matches!(&b[8..12], b"heic" | b"heix" | b"mif1" | b"msf1") =>
        {
            "HEIC"
        }
        b if b.starts_with(b"II*\0") || b.starts_with(b"MM\0*") => "TIFF",
        b if b.starts_with(b"%PDF") => "PDF",
        _ => "unrecognised content",
    };
    Err(IntakeError::UnsupportedFormat {
        found: found.to_owned(),
    })
}

/// Decodes untrusted bytes under `limits`. Never panics on bad input.
pub fn decode(bytes: &[u8], limits: &IntakeLimits) -> Result<Decoded, IntakeError> {
    if bytes.len() as u64 > limits.max_bytes {
        return Err(IntakeError::FileTooLarge {
            bytes: bytes.len() as u64,
            max: limits.max_bytes,
        });
    }
    let format = sniff(bytes)?;
    let exif = read_exif(bytes);
    let orientation = exif
        .orientation
        .and_then(|o| image::metadata::Orientation::from_exif(o as u8));
    let swaps_axes = matches!(exif.orientation, Some(5..=8));
    // The memory this decode will take, from the header: refused past the per-photo limit, and
    // held against the process's budget until the full-size pixels are gone.
    let cost = decode_cost(bytes, format, limits, swaps_axes)?;
    if cost.bytes > limits.max_decode_bytes {
        return Err(IntakeError::TooCostlyToDecode {
            width: cost.width,
            height: cost.height,
            stored: cost.stored,
            needs_mb: cost.bytes.div_ceil(MB),
            max_mb: limits.max_decode_bytes / MB,
        });
    }
    let _held = DecodeBudget::global().reserve(cost.bytes);

    let (mut image, stored_w, stored_h, had_alpha, stored_gray, bit_depth, finer) = match format {
        // libjpeg and zune-jpeg both fill a cut-off scan with grey and carry on: judged, that grey
        // would pass for a background or a shirt. A JPEG whose scan never reaches its end is refused.
        Format::Jpeg if jpeg_is_truncated(bytes) => return Err(IntakeError::Truncated),
        Format::Jpeg => decode_jpeg(bytes, limits, swaps_axes)?,
        Format::Png | Format::Webp => decode_other(bytes, format, limits)?,
    };
    if let Some(o) = orientation {
        let mut dynamic = DynamicImage::ImageRgb8(image);
        dynamic.apply_orientation(o);
        image = dynamic.into_rgb8();
    }
    let (width, height) = if swaps_axes {
        (stored_h, stored_w)
    } else {
        (stored_w, stored_h)
    };
    let (image, finer) = match finer {
        Some(upright_h) => (halve(&image), Some(Finer { image, upright_h })),
        None => (image, None),
    };
    let image = reduce_to_analysis_size(image, limits.analysis_height);
    Ok(Decoded {
        image,
        format,
        width,
        height,
        exif,
        had_alpha,
        stored_gray,
        bit_depth,
        finer,
    })
}

/// Half the size, each pixel the mean of a 2 x 2 block (rounded; an odd last row or column is
/// averaged over the pixels it has). Halving a 1/4 DCT-scaled decode gives the 1/8 one to the
/// rounding: the mean of a 2 x 2 reduced IDCT is its block's DC term, which is all a 1/8 decode is.
fn halve(image: &RgbImage) -> RgbImage {
    let (w, h) = image.dimensions();
    let (hw, hh) = (w.div_ceil(2), h.div_ceil(2));
    let raw = image.as_raw();
    let row_len = w as usize * 3;
    let mut out = Vec::with_capacity(hw as usize * hh as usize * 3);
    for y in 0..hh as usize {
        let r0 = &raw[2 * y * row_len..][..row_len];
        let r1 = if 2 * y + 1 < h as usize {
            &raw[(2 * y + 1) * row_len..][..row_len]
        } else {
            r0
        };
        let pairs = w as usize / 2 * 6;
        for (a, b) in r0[..pairs].chunks_exact(6).zip(r1[..pairs].chunks_exact(6)) {
            let mean = |c: usize| {
                let sum =
                    u16::from(a[c]) + u16::from(a[c + 3]) + u16::from(b[c]) + u16::from(b[c + 3]);
                ((sum + 2) / 4) as u8
            };
            out.extend_from_slice(&[mean(0), mean(1), mean(2)]);
        }
        if w % 2 == 1 {
            let (a, b) = (&r0[pairs..], &r1[pairs..]);
            let mean = |c: usize| (u16::from(a[c]) + u16::from(b[c])).div_ceil(2) as u8;
            out.extend_from_slice(&[mean(0), mean(1), mean(2)]);
        }
    }
    RgbImage::from_raw(hw, hh, out).expect("hw x hh x 3 values")
}

fn check_dimensions(width: u32, height: u32, limits: &IntakeLimits) -> Result<(), IntakeError> {
    if width == 0 || height == 0 {
        return Err(IntakeError::Corrupt(format!(
            "the header gives a size of {width} x {height}"
        )));
    }
    if width > limits.max_side
        || height > limits.max_side
        || width as u64 * height as u64 > limits.max_pixels
    {
        return Err(IntakeError::TooManyPixels {
            width,
            height,
            max_side: limits.max_side,
            max_pixels: limits.max_pixels,
        });
    }
    Ok(())
}

/// Pixels, stored width and height, alpha, grey, bit depth, and for a JPEG decoded at 1/4 where
/// the analysis needs 1/8 (`Decoded::finer`), the upright height.
type Raw = (RgbImage, u32, u32, bool, bool, u8, Option<u32>);

/// Whether a JPEG's image data is cut off: its segments lead to a start of scan, and no end-of-image
/// marker follows. Inside the entropy-coded data a 0xFF byte is always followed by 0x00 or a restart
/// marker, so the first FF D9 after the scan header is the end of the image; what follows it (a
/// phone's motion-photo video, say) does not matter. Headers that do not reach a scan are left to the
/// decoder, which refuses them.
fn jpeg_is_truncated(bytes: &[u8]) -> bool {
    let mut i = 2; // after SOI
    loop {
        let Some(&[0xFF, marker]) = bytes.get(i..i + 2) else {
            return false;
        };
        match marker {
            // Fill bytes before a marker.
            0xFF => i += 1,
            // Markers without a length.
            0x01 | 0xD0..=0xD8 => i += 2,
            0xD9 => return false,
            _ => {
                let Some(&[hi, lo]) = bytes.get(i + 2..i + 4) else {
                    return false;
                };
                let end = i + 2 + usize::from(u16::from_be_bytes([hi, lo]));
                if marker == 0xDA {
                    let data = bytes.get(end..).unwrap_or_default();
                    return !data.windows(2).any(|w| w == [0xFF, 0xD9]);
                }
                i = end;
            }
        }
    }
}

/// JPEG through libjpeg (mozjpeg), whose IDCT scales by 1/2, 1/4 or 1/8 while decoding: a 12 MP phone
/// photo is decoded straight to ~500 rows in ~13 ms, where the pure-Rust decoders need 33-75 ms whatever
/// the output size (benches/check.rs, "phone_12mp" and "decode_only").
fn decode_jpeg(bytes: &[u8], limits: &IntakeLimits, swaps_axes: bool) -> Result<Raw, IntakeError> {
    // libjpeg reports errors by unwinding through mozjpeg's error manager (without the panic hook):
    // caught here, a corrupt upload is a reason, never a crash.
    std::panic::catch_unwind(AssertUnwindSafe(|| {
        decode_jpeg_scaled(bytes, limits, swaps_axes)
    }))
    .unwrap_or_else(|cause| Err(IntakeError::Corrupt(crate::panic_message(cause.as_ref()))))
}

fn decode_jpeg_scaled(
    bytes: &[u8],
    limits: &IntakeLimits,
    swaps_axes: bool,
) -> Result<Raw, IntakeError> {
    let corrupt = |e: std::io::Error| IntakeError::Corrupt(e.to_string());
    let mut decoder = mozjpeg::Decompress::new_mem(bytes).map_err(corrupt)?;
    let (w, h) = (decoder.width() as u32, decoder.height() as u32);
    check_dimensions(w, h, limits)?;
    // The upright height is the stored width when the orientation turns the image by 90 degrees.
    let upright_h = if swaps_axes { w } else { h };
    let source = decoder.color_space();
    let cmyk = matches!(
        source,
        mozjpeg::ColorSpace::JCS_CMYK | mozjpeg::ColorSpace::JCS_YCCK
    );
    if upright_h < limits.analysis_height.saturating_mul(2) || cmyk {
        // No reduction possible: zune-jpeg decodes a 378 x 260 JPEG faster than libjpeg's setup costs,
        // and it converts CMYK, which libjpeg does not.
        return decode_jpeg_full(bytes, limits, w, h);
    }
    // At the strongest reduction (1/8: each pixel the mean of an 8 x 8 block, the DC term alone)
    // the file is decoded at 1/4 instead, which `decode` halves for the analysis (the mean of a
    // 2 x 2 block of the 1/4 decode is that same DC term, to the rounding) and keeps for the crop
    // (`Decoded::finer`). Milder reductions are not: a 1/2 or 1/4 decode keeps frequencies a box
    // average of a finer one does not, and the landmarks moved with them (tried: the frontal faces'
    // looks passed less often).
    let eighths = jpeg_eighths(upright_h, limits.analysis_height);
    let finer = eighths == 1;
    decoder.scale(if finer { 2 } else { eighths as u8 });
    let mut started = decoder.rgb().map_err(corrupt)?;
    let (dw, dh) = (started.width() as u32, started.height() as u32);
    let pixels: Vec<[u8; 3]> = started.read_scanlines().map_err(corrupt)?;
    // A truncated file has already been filled in by libjpeg (with a warning), and its end-of-image
    // complaint adds nothing the pixels do not show.
    let _ = started.finish();
    if pixels.len() != dw as usize * dh as usize {
        return Err(IntakeError::Corrupt(
            "decoded pixel count does not match the header".into(),
        ));
    }
    let image = RgbImage::from_raw(dw, dh, pixels.into_iter().flatten().collect())
        .ok_or_else(|| IntakeError::Corrupt("decoded buffer has the wrong size".into()))?;
    let gray = source == mozjpeg::ColorSpace::JCS_GRAYSCALE;
    Ok((image, w, h, false, gray, 8, finer.then_some(upright_h)))
}

/// The strongest DCT reduction (in eighths) that keeps at least `analysis_height` rows.
fn jpeg_eighths(upright_h: u32, analysis_height: u32) -> u32 {
    let mut eighths = 8u32;
    while eighths > 1 && upright_h * (eighths / 2) / 8 >= analysis_height {
        eighths /= 2;
    }
    eighths
}

fn decode_jpeg_full(
    bytes: &[u8],
    limits: &IntakeLimits,
    w: u32,
    h: u32,
) -> Result<Raw, IntakeError> {
    let corrupt = |e: image::ImageError| IntakeError::Corrupt(e.to_string());
    let mut decoder = ImageReader::with_format(Cursor::new(bytes), ImageFormat::Jpeg)
        .into_decoder()
        .map_err(corrupt)?;
    decoder
        .set_limits(decoder_limits(limits))
        .map_err(corrupt)?;
    let colour = decoder.color_type();
    let image = DynamicImage::from_decoder(decoder).map_err(corrupt)?;
    let gray = !colour.has_color();
    Ok((image.into_rgb8(), w, h, false, gray, 8, None))
}

fn decoder_limits(limits: &IntakeLimits) -> image::Limits {
    let mut l = image::Limits::default();
    l.max_image_width = Some(limits.max_side);
    l.max_image_height = Some(limits.max_side);
    // 16-bit RGBA is 8 bytes a pixel, plus the 8-bit copy made after decoding.
    l.max_alloc = Some(limits.max_pixels.saturating_mul(12));
    l
}

/// PNG and WebP through the image crate, with its allocation limit set.
fn decode_other(bytes: &[u8], format: Format, limits: &IntakeLimits) -> Result<Raw, IntakeError> {
    let fmt = if format == Format::Png {
        ImageFormat::Png
    } else {
        ImageFormat::WebP
    };
    // `decode_cost` has checked the size from the header already.
    let corrupt = |e: image::ImageError| IntakeError::Corrupt(e.to_string());
    let reader = ImageReader::with_format(Cursor::new(bytes), fmt);
    let mut decoder = reader.into_decoder().map_err(corrupt)?;
    let (w, h) = decoder.dimensions();
    decoder
        .set_limits(decoder_limits(limits))
        .map_err(corrupt)?;
    let colour = decoder.color_type();
    let dynamic = DynamicImage::from_decoder(decoder).map_err(corrupt)?;
    let had_alpha = colour.has_alpha();
    let gray = !colour.has_color();
    let depth = (colour.bits_per_pixel() / colour.channel_count() as u16) as u8;
    let image = if had_alpha {
        flatten_on_white(&dynamic)
    } else {
        dynamic.into_rgb8()
    };
    Ok((image, w, h, had_alpha, gray, depth, None))
}

/// Width and height from a PNG's IHDR chunk, which the format requires to come first.
fn png_header_size(bytes: &[u8]) -> Result<(u32, u32), IntakeError> {
    if bytes.len() < 24 || &bytes[12..16] != b"IHDR" {
        return Err(IntakeError::Corrupt("PNG without an IHDR header".into()));
    }
    let be = |i: usize| u32::from_be_bytes([bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]]);
    Ok((be(16), be(20)))
}

const MB: u64 = 1024 * 1024;

/// What a decode will allocate, by the header.
struct DecodeCost {
    width: u32,
    height: u32,
    /// How the pixels are stored, for the refusal: "16-bit RGBA", "progressive JPEG".
    stored: String,
    bytes: u64,
}

/// The bytes a decode allocates at its peak: the decoder's own buffer (every pixel at its stored
/// depth, or a progressive JPEG's coefficients, two bytes per sample at full size whatever the
/// reduction), the 8-bit RGB copy, and for alpha the RGBA copy it is flattened from. Dimensions
/// past the pixel limits are refused here, before any decoder allocates.
fn decode_cost(
    bytes: &[u8],
    format: Format,
    limits: &IntakeLimits,
    swaps_axes: bool,
) -> Result<DecodeCost, IntakeError> {
    let (w, h, stored, decoder_bytes, alpha) = match format {
        Format::Jpeg => {
            let Some(frame) = jpeg_frame(bytes) else {
                // No frame header: the decoder refuses it before allocating pixels.
                return Ok(DecodeCost {
                    width: 0,
                    height: 0,
                    stored: "JPEG".into(),
                    bytes: 0,
                });
            };
            check_dimensions(frame.width, frame.height, limits)?;
            let px = u64::from(frame.width) * u64::from(frame.height);
            let upright_h = if swaps_axes {
                frame.width
            } else {
                frame.height
            };
            let comps = u64::from(frame.components);
            // The full-size path (small or CMYK) decodes every pixel; the scaled one 1/e² of them.
            let out = if upright_h < limits.analysis_height.saturating_mul(2) || comps == 4 {
                px * comps.max(3)
            } else {
                // At 1/4 where the analysis needs only 1/8 (decode_jpeg_scaled).
                let e = u64::from(jpeg_eighths(upright_h, limits.analysis_height).max(2));
                px * e * e / 64 * 3
            };
            let coefficients = if frame.progressive { px * comps * 2 } else { 0 };
            let stored = if frame.progressive {
                "progressive JPEG"
            } else {
                "JPEG"
            };
            (
                frame.width,
                frame.height,
                stored.to_owned(),
                out + coefficients,
                false,
            )
        }
        Format::Png | Format::Webp => {
            if format == Format::Png {
                // The decoder reads past IHDR before it reports a size; the limits come first.
                let (w, h) = png_header_size(bytes)?;
                check_dimensions(w, h, limits)?;
            }
            let fmt = if format == Format::Png {
                ImageFormat::Png
            } else {
                ImageFormat::WebP
            };
            let decoder = ImageReader::with_format(Cursor::new(bytes), fmt)
                .into_decoder()
                .map_err(|e| IntakeError::Corrupt(e.to_string()))?;
            let (w, h) = decoder.dimensions();
            check_dimensions(w, h, limits)?;
            let colour = decoder.color_type();
            let depth = colour.bits_per_pixel() / u16::from(colour.channel_count());
            let stored = format!(
                "{depth}-bit {}",
                match (colour.has_color(), colour.has_alpha()) {
                    (true, true) => "RGBA",
                    (true, false) => "RGB",
                    (false, true) => "grey with alpha",
                    (false, false) => "grey",
                }
            );
            (w, h, stored, decoder.total_bytes(), colour.has_alpha())
        }
    };
    let px = u64::from(w) * u64::from(h);
    let copies = match format {
        Format::Jpeg => decoder_bytes,
        _ => decoder_bytes + px * 3 + if alpha { px * 4 } else { 0 },
    };
    Ok(DecodeCost {
        width: w,
        height: h,
        stored,
        bytes: copies,
    })
}

/// A JPEG's frame header: size, components, and whether it is progressive (SOF2 and the other
/// progressive frames, which keep every coefficient until the last scan).
struct JpegFrame {
    width: u32,
    height: u32,
    components: u8,
    progressive: bool,
}

fn jpeg_frame(bytes: &[u8]) -> Option<JpegFrame> {
    let mut i = 2; // after SOI
    loop {
        let &[0xFF, marker] = bytes.get(i..i + 2)? else {
            return None;
        };
        match marker {
            0xFF => i += 1,
            0x01 | 0xD0..=0xD9 => i += 2,
            // Start of frame: every SOFn but DHT (C4), JPG (C8) and DAC (CC).
            0xC0..=0xCF if !matches!(marker, 0xC4 | 0xC8 | 0xCC) => {
                let f = bytes.get(i + 4..i + 10)?;
                return Some(JpegFrame {
                    height: u32::from(u16::from_be_bytes([f[1], f[2]])),
                    width: u32::from(u16::from_be_bytes([f[3], f[4]])),
                    components: f[5],
                    progressive: matches!(marker, 0xC2 | 0xC6 | 0xCA | 0xCE),
                });
            }
            0xDA => return None,
            _ => {
                let &[hi, lo] = bytes.get(i + 2..i + 4)? else {
                    return None;
                };
                i += 2 + usize::from(u16::from_be_bytes([hi, lo]));
            }
        }
    }
}

/// Memory for decoding, shared by every check in the process: a decode waits until its cost fits,
/// so N photos checked at once never hold more than the budget in full-size pixels however large
/// each is. Beside it the process needs ~150 MB for the models and the rest of the engine.
pub struct DecodeBudget {
    total: u64,
    used: std::sync::Mutex<u64>,
    freed: std::sync::Condvar,
}

/// The process's budget: two photos at the per-photo limit of the shipped profile (320 MB) at once.
pub const DECODE_BUDGET_BYTES: u64 = 640 * MB;

impl DecodeBudget {
    pub fn new(total: u64) -> DecodeBudget {
        DecodeBudget {
            total,
            used: std::sync::Mutex::new(0),
            freed: std::sync::Condvar::new(),
        }
    }

    pub fn global() -> &'static DecodeBudget {
        static BUDGET: std::sync::OnceLock<DecodeBudget> = std::sync::OnceLock::new();
        BUDGET.get_or_init(|| DecodeBudget::new(DECODE_BUDGET_BYTES))
    }

    /// Blocks until `bytes` fit (a cost beyond the whole budget waits for it to be empty), then
    /// holds them until the guard is dropped. Call it from a blocking thread, never a runtime's.
    pub fn reserve(&self, bytes: u64) -> Reserved<'_> {
        let bytes = bytes.min(self.total);
        let mut used = self.used.lock().unwrap_or_else(|p| p.into_inner());
        while *used + bytes > self.total {
            used = self.freed.wait(used).unwrap_or_else(|p| p.into_inner());
        }
        *used += bytes;
        Reserved {
            budget: self,
            bytes,
        }
    }

    /// Bytes held now.
    pub fn in_use(&self) -> u64 {
        *self.used.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Memory held in a [`DecodeBudget`] until dropped.
pub struct Reserved<'a> {
    budget: &'a DecodeBudget,
    bytes: u64,
}

impl Drop for Reserved<'_> {
    fn drop(&mut self) {
        let mut used = self.budget.used.lock().unwrap_or_else(|p| p.into_inner());
        *used -= self.bytes;
        self.budget.freed.notify_all();
    }
}

/// Transparent pixels become white: an ID photo cut out of its background is seen on white paper.
fn flatten_on_white(image: &DynamicImage) -> RgbImage {
    let rgba = image.to_rgba8();
    let mut out = RgbImage::new(rgba.width(), rgba.height());
    for (o, p) in out.pixels_mut().zip(rgba.pixels()) {
        let a = p[3] as u32;
        for c in 0..3 {
            o[c] = ((p[c] as u32 * a + 255 * (255 - a) + 127) / 255) as u8;
        }
    }
    out
}

/// Keeps the analysis copy between `target` and twice `target` rows tall.
pub(crate) fn reduce_to_analysis_size(image: RgbImage, target: u32) -> RgbImage {
    if image.height() <= target.saturating_mul(2) {
        return image;
    }
    let w = ((image.width() as u64 * target as u64) / image.height() as u64).max(1) as u32;
    imageops::resize(&image, w, target, imageops::FilterType::Triangle)
}

/// EXIF facts; a missing or malformed EXIF block just leaves them empty.
pub fn read_exif(bytes: &[u8]) -> ExifFacts {
    let Ok(exif) = exif::Reader::new().read_from_container(&mut Cursor::new(bytes)) else {
        return ExifFacts::default();
    };
    let text = |tag| {
        exif.get_field(tag, exif::In::PRIMARY)
            .and_then(|f| match &f.value {
                exif::Value::Ascii(parts) => parts
                    .first()
                    .map(|s| {
                        String::from_utf8_lossy(s)
                            .trim()
                            .trim_end_matches('\0')
                            .to_owned()
                    })
                    .filter(|s| !s.is_empty()),
                _ => None,
            })
    };
    let orientation = exif
        .get_field(exif::Tag::Orientation, exif::In::PRIMARY)
        .and_then(|f| f.value.get_uint(0))
        .and_then(|v| u16::try_from(v).ok())
        .filter(|v| (1..=8).contains(v));
    let captured = [
        exif::Tag::DateTimeOriginal,
        exif::Tag::DateTimeDigitized,
        exif::Tag::DateTime,
    ]
    .into_iter()
    .find_map(|tag| {
        text(tag).and_then(|s| NaiveDateTime::parse_from_str(&s, "%Y:%m:%d %H:%M:%S").ok())
    });
    let camera = match (text(exif::Tag::Make), text(exif::Tag::Model)) {
        (Some(make), Some(model)) => Some(format!("{make} {model}")),
        (a, b) => a.or(b),
    };
    ExifFacts {
        orientation,
        captured,
        software: text(exif::Tag::Software),
        camera,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::Profile;

    fn limits() -> IntakeLimits {
        Profile::default_profile().intake
    }

    fn encode(image: DynamicImage, format: ImageFormat) -> Vec<u8> {
        let mut out = Cursor::new(Vec::new());
        image.write_to(&mut out, format).unwrap();
        out.into_inner()
    }

    fn gradient(w: u32, h: u32) -> RgbImage {
        RgbImage::from_fn(w, h, |x, y| {
            image::Rgb([(x % 256) as u8, (y % 256) as u8, 128])
        })
    }

    #[test]
    fn format_is_recognised_by_content_not_name() {
        let png = encode(DynamicImage::ImageRgb8(gradient(20, 30)), ImageFormat::Png);
        assert_eq!(sniff(&png), Ok(Format::Png));
        let jpg = encode(DynamicImage::ImageRgb8(gradient(20, 30)), ImageFormat::Jpeg);
        assert_eq!(sniff(&jpg), Ok(Format::Jpeg));
        let d = decode(&png, &limits()).unwrap();
        assert_eq!((d.width, d.height, d.format), (20, 30, Format::Png));
    }

    #[test]
    fn empty_garbage_and_truncated_files_get_reasons() {
        assert_eq!(decode(&[], &limits()).unwrap_err(), IntakeError::Empty);
        let err = decode(b"hello, this is not an image at all", &limits()).unwrap_err();
        assert_eq!(err.code(), "unsupported-format");
        let gif = decode(b"GIF89a\x01\x00\x01\x00", &limits()).unwrap_err();
        assert!(gif.to_string().contains("GIF"), "{gif}");
        let jpg = encode(
            DynamicImage::ImageRgb8(gradient(200, 300)),
            ImageFormat::Jpeg,
        );
        assert!(decode(&jpg, &limits()).is_ok());
        // Cut inside the headers: unreadable; cut inside the image data: truncated. Never a grey
        // fill judged as if it were the photo.
        for cut in [3, 20] {
            let e = decode(&jpg[..cut], &limits()).unwrap_err();
            assert_eq!(e.code(), "unreadable-image", "cut {cut}: {e}");
        }
        for cut in [jpg.len() / 3, jpg.len() - 10, jpg.len() - 1] {
            let e = decode(&jpg[..cut], &limits()).unwrap_err();
            assert_eq!(e, IntakeError::Truncated, "cut {cut}");
            assert_eq!(e.code(), "truncated-image");
        }
        // Whatever follows the end of the image (a motion photo's video) does not make it truncated.
        let mut trailer = jpg.clone();
        trailer.extend_from_slice(&[0x00, 0x00, 0x00, 0x18, b'f', b't', b'y', b'p', 0xFF, 0xD8]);
        assert!(decode(&trailer, &limits()).is_ok());
        let png = encode(
            DynamicImage::ImageRgb8(gradient(200, 300)),
            ImageFormat::Png,
        );
        let err = decode(&png[..png.len() / 2], &limits()).unwrap_err();
        assert_eq!(err.code(), "unreadable-image");
    }

    #[test]
    fn exif_orientation_date_and_software_are_read() {
        // Stored landscape, tagged "rotate 90 degrees clockwise": upright it is portrait.
        let stored = RgbImage::from_fn(300, 200, |x, _| {
            if x < 150 {
                image::Rgb([255, 0, 0])
            } else {
                image::Rgb([0, 0, 255])
            }
        });
        let bytes = photocheck_synth::jpeg_with_exif(
            &stored,
            photocheck_synth::ExifTags {
                orientation: 6,
                software: "Adobe Photoshop 2026",
                taken: "2026:01:02 03:04:05",
            },
        )
        .unwrap();
        let d = decode(&bytes, &limits()).unwrap();
        assert_eq!(d.exif.orientation, Some(6));
        assert_eq!(d.exif.software.as_deref(), Some("Adobe Photoshop 2026"));
        assert_eq!(
            d.exif.captured.map(|t| t.to_string()).as_deref(),
            Some("2026-01-02 03:04:05")
        );
        assert_eq!((d.width, d.height), (200, 300));
        assert_eq!(d.image.dimensions(), (200, 300));
        // The stored left half (red) is the upright top after a clockwise turn.
        let top = d.image.get_pixel(100, 20);
        assert!(top[0] > 200 && top[2] < 60, "top {top:?}");
    }

    #[test]
    fn huge_png_is_refused_from_the_header() {
        // A valid PNG header and IHDR claiming 50 000 x 50 000, with no pixel data behind it.
        let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
        let mut ihdr = b"IHDR".to_vec();
        ihdr.extend(50_000u32.to_be_bytes());
        ihdr.extend(50_000u32.to_be_bytes());
        ihdr.extend([8, 2, 0, 0, 0]);
        png.extend(13u32.to_be_bytes());
        png.extend(&ihdr);
        png.extend(crc32(&ihdr).to_be_bytes());
        let err = decode(&png, &limits()).unwrap_err();
        assert_eq!(err.code(), "image-too-large", "{err}");
    }

    #[test]
    fn file_size_limit_is_checked_first() {
        let mut l = limits();
        l.max_bytes = 10;
        assert_eq!(
            decode(&[0xFF; 11], &l).unwrap_err().code(),
            "file-too-large"
        );
    }

    #[test]
    fn sixteen_bit_alpha_palette_and_gray_are_decoded() {
        let w = 40;
        let h = 60;
        let rgb16 = image::ImageBuffer::<image::Rgb<u16>, _>::from_fn(w, h, |x, _| {
            image::Rgb([x as u16 * 1000, 20000, 65535])
        });
        let d = decode(
            &encode(DynamicImage::ImageRgb16(rgb16), ImageFormat::Png),
            &limits(),
        )
        .unwrap();
        assert_eq!(d.bit_depth, 16);
        assert_eq!(d.image.get_pixel(0, 0)[2], 255);

        let rgba = image::RgbaImage::from_fn(w, h, |x, _| {
            image::Rgba([0, 0, 0, if x < 20 { 0 } else { 255 }])
        });
        let d = decode(
            &encode(DynamicImage::ImageRgba8(rgba), ImageFormat::Png),
            &limits(),
        )
        .unwrap();
        assert!(d.had_alpha);
        assert_eq!(
            d.image.get_pixel(5, 5).0,
            [255, 255, 255],
            "transparent becomes white"
        );
        assert_eq!(d.image.get_pixel(30, 5).0, [0, 0, 0]);

        let gray = image::GrayImage::from_fn(w, h, |x, _| image::Luma([x as u8 * 4]));
        let d = decode(
            &encode(DynamicImage::ImageLuma8(gray.clone()), ImageFormat::Png),
            &limits(),
        )
        .unwrap();
        assert!(d.stored_gray);
        let d = decode(
            &encode(DynamicImage::ImageLuma8(gray), ImageFormat::Jpeg),
            &limits(),
        )
        .unwrap();
        assert!(d.stored_gray);
    }

    #[test]
    fn large_jpeg_is_reduced_in_the_decoder() {
        let jpg = encode(
            DynamicImage::ImageRgb8(gradient(1600, 2400)),
            ImageFormat::Jpeg,
        );
        let d = decode(&jpg, &limits()).unwrap();
        assert_eq!((d.width, d.height), (1600, 2400));
        assert!(
            d.image.height() >= 378 && d.image.height() <= 756,
            "{}",
            d.image.height()
        );
        assert!((d.scale_to_original() - 2400.0 / d.image.height() as f64).abs() < 1e-9);
    }

    fn crc32(data: &[u8]) -> u32 {
        let mut crc = 0xFFFF_FFFFu32;
        for &b in data {
            crc ^= b as u32;
            for _ in 0..8 {
                crc = if crc & 1 != 0 {
                    (crc >> 1) ^ 0xEDB8_8320
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }
}

#[cfg(test)]
mod budget_tests {
    use std::sync::Arc;
    use std::time::Duration;

    use image::{ImageBuffer, Rgba};

    use super::*;
    use crate::profile::Profile;

    fn limits_mb(mb: u64) -> IntakeLimits {
        IntakeLimits {
            max_decode_bytes: mb * MB,
            ..Profile::default_profile().intake
        }
    }

    fn png(image: DynamicImage) -> Vec<u8> {
        let mut out = Cursor::new(Vec::new());
        image.write_to(&mut out, ImageFormat::Png).unwrap();
        out.into_inner()
    }

    fn jpeg(w: u32, h: u32, progressive: bool) -> Vec<u8> {
        let mut c = mozjpeg::Compress::new(mozjpeg::ColorSpace::JCS_RGB);
        c.set_size(w as usize, h as usize);
        if progressive {
            c.set_progressive_mode();
        } else {
            // mozjpeg codes progressively unless told otherwise; cameras write baseline.
            c.set_fastest_defaults();
        }
        let mut started = c.start_compress(Vec::new()).unwrap();
        started
            .write_scanlines(&vec![128u8; (w * h * 3) as usize])
            .unwrap();
        started.finish().unwrap()
    }

    #[test]
    fn deep_colour_with_alpha_is_refused_by_the_memory_it_needs_not_its_pixel_count() {
        // 1500 x 1500 16-bit RGBA: 18 MB stored, plus 6.75 MB RGB and 9 MB RGBA copies (33 MiB in
        // all). Well within the pixel limits, and a few KB as a file.
        let deep = png(DynamicImage::ImageRgba16(ImageBuffer::from_pixel(
            1500,
            1500,
            Rgba([40000u16, 30000, 20000, 65535]),
        )));
        assert!(deep.len() < 100_000, "{} bytes", deep.len());
        let err = decode(&deep, &limits_mb(30)).unwrap_err();
        assert_eq!(err.code(), "image-too-large");
        let IntakeError::TooCostlyToDecode {
            stored, needs_mb, ..
        } = &err
        else {
            panic!("{err:?}")
        };
        assert_eq!((stored.as_str(), *needs_mb), ("16-bit RGBA", 33));
        assert!(
            err.messages().0.contains("1500 x 1500"),
            "{}",
            err.messages().0
        );
        // The same pixels as 8-bit RGB fit.
        let plain = png(DynamicImage::ImageRgb8(RgbImage::from_pixel(
            1500,
            1500,
            image::Rgb([160, 120, 80]),
        )));
        assert!(decode(&plain, &limits_mb(30)).is_ok());
    }

    #[test]
    fn a_progressive_jpeg_counts_its_full_size_coefficients_a_baseline_one_only_its_reduced_output()
    {
        // 3000 x 2000: 36 MB of coefficients when progressive; reduced by 1/4 when baseline.
        let progressive = jpeg(3000, 2000, true);
        let baseline = jpeg(3000, 2000, false);
        assert!(jpeg_frame(&progressive).unwrap().progressive);
        assert!(!jpeg_frame(&baseline).unwrap().progressive);
        let err = decode(&progressive, &limits_mb(20)).unwrap_err();
        assert!(
            matches!(&err, IntakeError::TooCostlyToDecode { stored, .. } if stored == "progressive JPEG"),
            "{err:?}"
        );
        let d = decode(&baseline, &limits_mb(20)).unwrap();
        assert_eq!((d.width, d.height), (3000, 2000));
        assert!(decode(&progressive, &limits_mb(64)).is_ok());
    }

    #[test]
    fn the_process_budget_makes_a_decode_wait_until_memory_is_freed() {
        let budget = Arc::new(DecodeBudget::new(100));
        let first = budget.reserve(70);
        let waiter = {
            let budget = Arc::clone(&budget);
            std::thread::spawn(move || {
                let _held = budget.reserve(50);
                budget.in_use()
            })
        };
        std::thread::sleep(Duration::from_millis(50));
        assert_eq!(budget.in_use(), 70, "the second decode waits");
        drop(first);
        assert_eq!(waiter.join().unwrap(), 50);
        assert_eq!(budget.in_use(), 0);
        // A cost past the whole budget waits for it to be empty, then runs alone.
        assert_eq!(budget.reserve(500).bytes, 100);
    }

    #[test]
    fn halving_averages_blocks_and_keeps_odd_edges() {
        for (w, h) in [(4, 4), (5, 3), (1, 1), (3, 6)] {
            let img = RgbImage::from_fn(w, h, |x, y| {
                image::Rgb([(x * 40) as u8, (y * 40) as u8, 200])
            });
            let half = halve(&img);
            assert_eq!(half.dimensions(), (w.div_ceil(2), h.div_ceil(2)));
            // The first block: the mean of columns 0-1 and rows 0-1 (where they exist).
            let want_x = if w > 1 { 20 } else { 0 };
            let want_y = if h > 1 { 20 } else { 0 };
            assert_eq!(half.get_pixel(0, 0).0, [want_x, want_y, 200], "{w} x {h}");
            // The last column of an odd width is itself.
            if w % 2 == 1 {
                assert_eq!(
                    half.get_pixel(half.width() - 1, 0).0[0],
                    ((w - 1) * 40) as u8
                );
            }
        }
    }
}
