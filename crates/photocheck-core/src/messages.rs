//! Applicant-facing messages, English and Chinese, for every reason code. Each says what was measured
//! and what is required, so the applicant knows what to change.

use crate::rules::RuleResult;

/// (English, Chinese) message for a reason code on a rule result.
pub fn describe(code: &str, r: &RuleResult) -> (String, String) {
    if let Some(doubt) = doubt(r) {
        return doubt;
    }
    let v = r.value;
    let (en_unit, zh_unit) = units(&r.unit);
    let measured_en = match v {
        Some(v) => format!("measured {}{en_unit}", num(v)),
        None => "could not be measured".to_owned(),
    };
    let measured_zh = match v {
        Some(v) => format!("测得 {}{zh_unit}", num(v)),
        None => "无法测量".to_owned(),
    };
    let req_en = required(r, en_unit, "-");
    let req_zh = required(r, zh_unit, "–");
    let with = |en: &str, zh: &str| {
        (
            format!(
                "{en}: {measured_en}{}",
                req_en
                    .as_ref()
                    .map(|q| format!(", required {q}"))
                    .unwrap_or_default()
            ),
            format!(
                "{zh}：{measured_zh}{}",
                req_zh
                    .as_ref()
                    .map(|q| format!("，要求 {q}"))
                    .unwrap_or_default()
            ),
        )
    };
    let plain = |en: &str, zh: &str| (en.to_owned(), zh.to_owned());
    match code {
        "wrong-aspect-ratio" => with(
            "Photo proportions are wrong; crop it to 22 x 32 mm (width x height)",
            "照片比例不符合要求，请裁剪为宽 22 毫米、高 32 毫米",
        ),
        "resolution-too-low" => with(
            "Photo resolution is too low; upload a larger original",
            "照片分辨率过低，请上传更大的原图",
        ),
        "not-colour" => with(
            "Photo is not in colour; upload a colour photo",
            "照片不是彩色照片，请上传彩色照片",
        ),
        "no-face" => plain(
            "No face was found; upload a frontal portrait of yourself",
            "未检测到人脸，请上传本人正面免冠照片",
        ),
        "several-faces" => (
            format!(
                "More than one person is in the photo ({} faces); only you may be in it",
                num(v.unwrap_or(0.0))
            ),
            format!(
                "照片中有多人（检测到 {} 张人脸），照片中只能有本人",
                num(v.unwrap_or(0.0))
            ),
        ),
        "head-too-small" => with(
            "Head is too small; move closer or crop tighter",
            "头部尺寸偏小",
        ),
        "head-too-large" => with("Head is too large; step back or crop wider", "头部尺寸偏大"),
        "head-too-narrow" => with("Head is too narrow in the frame", "头部宽度偏小"),
        "head-too-wide" => with("Head is too wide in the frame", "头部宽度偏大"),
        "head-not-measurable" => (
            format!(
                "Head size could not be measured ({})",
                r.note.as_deref().unwrap_or("no clear outline")
            ),
            "无法测量头部尺寸，请使用白色背景、完整拍到头顶和下巴".to_owned(),
        ),
        "background-not-measurable" => plain(
            "The background could not be measured (too little of it in the picture)",
            "无法测量背景（照片中背景过少），请在白色背景前拍摄上半身照片",
        ),
        "face-not-measurable" => plain("The face is too small to measure", "面部过小，无法测量"),
        "clothing-not-measurable" => plain(
            "Shoulders and clothing are not in the picture",
            "照片中未拍到肩部和服装，请拍摄上半身照片",
        ),
        "head-off-centre" => with(
            "Head is not centred; centre it left to right",
            "头部位置不正，请使头部左右居中",
        ),
        "head-too-high" => with(
            "Top of the head is too close to the top edge",
            "头顶距照片上沿过近",
        ),
        "head-too-low" => with(
            "Top of the head is too far below the top edge",
            "头顶距照片上沿过远",
        ),
        "needs-headroom" => plain(
            "The top of your head is too close to the top of the photo; take it again with space above the head",
            "头顶离照片上沿太近，请重新拍摄并在头顶上方留出空间",
        ),
        "needs-shoulders" => plain(
            "The photo ends too close below your chin; take it again showing your shoulders",
            "照片下沿离下巴太近，请重新拍摄并露出双肩",
        ),
        "needs-centring" => plain(
            "Your head is too close to the side of the photo; take it again with your head in the middle",
            "头部太靠近照片侧边，请重新拍摄并使头部位于画面中间",
        ),
        "move-back" => plain(
            "Your head fills too much of the photo; move the camera further back and take it again",
            "头部在照片中占比过大，请让相机离远一些重新拍摄",
        ),
        "move-closer" => plain(
            "Your head is too small in the photo; move the camera closer and take it again",
            "头部在照片中占比过小，请让相机靠近一些重新拍摄",
        ),
        "too-few-pixels" => plain(
            "The photo has too few pixels; take it with the phone's camera at full resolution, not a screenshot or a compressed copy",
            "照片像素不足，请使用手机相机以原始分辨率拍摄，不要使用截图或压缩后的图片",
        ),
        "framing-not-possible" => plain(
            "The photo cannot be cropped to the licence format",
            "照片无法裁剪为驾驶证照片规格",
        ),
        "background-not-white" => with(
            "Background is not white; use a plain white background",
            "背景不是白色，请使用纯白色背景",
        ),
        "background-uneven" => with("Background is not evenly lit", "背景亮度不均匀"),
        "background-cluttered" => with(
            "Background has objects or patterns on it; use a plain white wall",
            "背景有杂物或图案，请使用纯白色背景",
        ),
        "background-shadow" => with("There are shadows on the background", "背景上有阴影"),
        "overexposed" => with(
            "Face is overexposed (washed-out highlights)",
            "照片过曝，面部高光溢出",
        ),
        "too-bright" => with("Face is too bright", "面部过亮"),
        "too-dark" => with(
            "Face is too dark; take the photo in more light",
            "面部过暗，请在光线充足处拍摄",
        ),
        "low-contrast" => with("Face has too little contrast", "面部对比度过低"),
        "uneven-lighting" => with(
            "Light on the face is uneven (one side darker)",
            "面部光线不均匀，一侧偏暗",
        ),
        "blurred" => with(
            "Photo is blurred; hold the camera still and focus on the face",
            "照片模糊，请对焦面部并保持稳定",
        ),
        "clothing-too-light" => with(
            "Clothing is too light; wear dark clothes that contrast with the white background",
            "服装颜色过浅，请穿深色衣服",
        ),
        "photo-too-old" => with(
            "Photo was taken too long ago; use a photo from the last 6 months",
            "照片拍摄时间过早，请使用近 6 个月内的照片",
        ),
        "capture-date-unknown" => (
            format!(
                "The date the photo was taken is unknown ({})",
                r.note.as_deref().unwrap_or("no EXIF date")
            ),
            "无法确认拍摄日期（照片须为近 6 个月内拍摄）".to_owned(),
        ),
        "edited-with-software" => (
            format!(
                "Photo was saved by editing software ({}); photos must not be retouched",
                r.note.as_deref().unwrap_or("unknown")
            ),
            format!(
                "照片经过修图软件处理（{}），不得修图",
                r.note.as_deref().unwrap_or("未知")
            ),
        ),
        "eyes-closed" => with(
            "Eyes look closed or half closed; keep both eyes open",
            "眼睛闭合或半闭，请双眼自然睁开",
        ),
        "looking-away" => with(
            "Eyes are not looking at the camera; look straight into the lens",
            "眼睛未平视镜头，请直视镜头",
        ),
        "head-turned" => with(
            "Head is turned or tilted; face the camera squarely with the head upright",
            "头部偏转或倾斜，请正对镜头、头部端正",
        ),
        "mouth-open" => with("Mouth is open; close your lips", "嘴巴张开，请自然闭合嘴唇"),
        "expression-not-neutral" => with(
            "Expression is not neutral (smile or grimace); keep a natural, relaxed face",
            "表情不自然（微笑或做表情），请保持自然表情",
        ),
        "dark-glasses" => with(
            "Eyes are hidden by dark or tinted glasses; take off sunglasses",
            "眼睛被墨镜或有色眼镜遮挡，请摘下墨镜",
        ),
        "glare-on-glasses" => with(
            "Light reflects on the glasses over the eyes; tilt the glasses or take them off",
            "眼镜反光遮挡眼睛，请调整角度或摘下眼镜",
        ),
        "eyes-not-visible" => plain(
            "The eyes could not be seen clearly; make sure nothing covers them",
            "无法看清眼睛，请确保眼睛无遮挡",
        ),
        "headwear" => with(
            "Something is worn on the head (hat, cap, scarf or hood); take it off",
            "头部有帽子、头巾或兜帽等遮挡，请摘除",
        ),
        "head-top-not-visible" => plain(
            "The top of the head could not be checked for a hat",
            "无法确认头部是否佩戴帽子",
        ),
        "face-covered" => with(
            "Nose, mouth or chin are covered (mask, scarf or hand); show the whole face",
            "口鼻或下巴被遮挡（口罩、围巾或手），请露出完整面部",
        ),
        "face-not-visible" => plain(
            "The lower face could not be checked (nose, mouth, chin)",
            "无法确认口鼻和下巴是否被遮挡",
        ),
        "hair-over-face" => with(
            "Hair covers the forehead or eyebrows; keep hair off the face",
            "头发遮挡额头或眉毛，请将头发梳离面部",
        ),
        "forehead-not-visible" => plain(
            "The forehead and eyebrows could not be checked",
            "无法确认额头和眉毛是否被遮挡",
        ),
        "face-features-not-found" => plain(
            "Eyes, nose and mouth could not be located; face the camera in good light",
            "无法定位眼睛、鼻子和嘴，请在光线充足处正对镜头拍摄",
        ),
        "check-ears" => plain(
            "Not checked automatically: ears not covered by hair",
            "未自动检查：双耳是否被头发遮挡",
        ),
        "check-jewellery" => plain(
            "Not checked automatically: no jewellery or ornaments",
            "未自动检查：是否佩戴首饰",
        ),
        "check-uniform" => plain(
            "Not checked automatically: no uniform",
            "未自动检查：是否穿着制式服装",
        ),
        "check-makeup" => plain(
            "Not checked automatically: no heavy make-up",
            "未自动检查：是否浓妆",
        ),
        other => (
            format!("Rule {} did not pass ({other})", r.rule),
            format!("规则 {} 未通过（{other}）", r.rule),
        ),
    }
}

/// The message for a rule that is uncertain although its value lies inside its limits: quoting the
/// value and the limit would read as a pass, so it says what could not be confirmed and why (another
/// look stops it, or the value is too close to a limit to be sure).
fn doubt(r: &RuleResult) -> Option<(String, String)> {
    let v = r.value?;
    let inside = r.min.is_none_or(|lo| v >= lo) && r.max.is_none_or(|hi| v <= hi);
    if r.status != crate::rules::Status::Uncertain || !inside {
        return None;
    }
    let what = r.rule.as_str().replace('_', " ");
    let name_zh = crate::rules::RuleInfo::spec(r.rule).name_zh;
    if let Some(note) = r.note.as_deref() {
        let zh = note_zh(note).unwrap_or("原因见测量值");
        return Some((
            format!("{what} could not be confirmed: {note}"),
            format!("{name_zh}无法确认：{zh}"),
        ));
    }
    // The nearer limit is the one the value is too close to.
    let limit = match (r.min, r.max) {
        (Some(lo), Some(hi)) => Some(if v - lo < hi - v { lo } else { hi }),
        (lo, hi) => lo.or(hi),
    }?;
    let (en_unit, zh_unit) = units(&r.unit);
    Some((
        format!(
            "{what}: measured {}{en_unit}, too close to the limit {}{en_unit} to be sure",
            num(v),
            num(limit)
        ),
        format!(
            "{name_zh}：测得 {}{zh_unit}，与限值 {}{zh_unit} 过于接近，无法确定",
            num(v),
            num(limit)
        ),
    ))
}

/// The Chinese of the notes the engine gives when one measure stops another from passing.
pub fn note_zh(note: &str) -> Option<&'static str> {
    Some(match note {
        "top of the head is at the top edge" => "头顶贴近照片上沿，头部可能超出画面",
        "no clear chin edge; chin placed from the face box" => "下巴边缘不清晰，按人脸框估计",
        "more than one person: whose looks these are cannot be told" => {
            "照片中不止一人，无法判断是谁的面部特征"
        }
        "the head is turned: the face cannot be judged on this photo" => {
            "头部偏转，无法在此照片上判断面部"
        }
        "the head is not frontal: the gaze cannot be told" => "头部未正对镜头，无法确认视线",
        "the head is not frontal: the expression cannot be told" => "头部未正对镜头，无法确认表情",
        "the head is not frontal: its top cannot be judged" => "头部未正对镜头，无法判断头顶",
        "the eyelids look lowered (blink score)" => "眼睑似乎下垂（眨眼评分）",
        "the jaw looks open" => "下颌似乎张开",
        "the mouth is not closed" => "嘴未闭合",
        "the emotion classifier reads a smile" => "表情模型判断为微笑",
        "glare over the eyes" => "眼部有反光",
        "the head pose has one estimate, not two" => "头部姿态只有一个估计，无法确认",
        "the eyes look dark (tinted lenses?)" => "眼部偏暗（可能为有色镜片）",
        _ => return None,
    })
}

fn units(unit: &str) -> (&'static str, &'static str) {
    match unit {
        "mm" => (" mm", " 毫米"),
        "deg" => ("°", "°"),
        "%" => (" %", "%"),
        "px" | "px@ref" => (" px", " 像素"),
        "days" => (" days", " 天"),
        "faces" => ("", ""),
        _ => ("", ""),
    }
}

fn required(r: &RuleResult, unit: &str, dash: &str) -> Option<String> {
    match (r.min, r.max) {
        (Some(lo), Some(hi)) => Some(format!("{}{dash}{}{unit}", num(lo), num(hi))),
        (Some(lo), None) => Some(format!(">= {}{unit}", num(lo))),
        (None, Some(hi)) => Some(format!("<= {}{unit}", num(hi))),
        (None, None) => None,
    }
}

/// A number as people write it: integers without decimals, values under 1 with three, others with
/// `decimals` (messages use one, the CLI table two).
pub fn format_number(v: f64, decimals: usize) -> String {
    if v.fract() == 0.0 && v.abs() < 1e12 {
        format!("{v:.0}")
    } else if v.abs() < 1.0 {
        format!("{v:.3}")
    } else {
        format!("{v:.decimals$}")
    }
}

fn num(v: f64) -> String {
    format_number(v, 1)
}

#[cfg(test)]
mod tests {
    use crate::profile::Limit;
    use crate::rules::{RuleId, RuleResult};

    #[test]
    fn head_too_small_reads_as_the_issue_asks() {
        let l = Limit {
            min: Some(19.0),
            max: Some(22.0),
            margin: 0.4,
            ..Limit::default()
        };
        let r = RuleResult::measured(RuleId::HeadLength, 17.6, &l);
        let reason = r.reason().unwrap();
        assert_eq!(reason.code, "head-too-small");
        assert_eq!(
            reason.message_zh,
            "头部尺寸偏小：测得 17.6 毫米，要求 19–22 毫米"
        );
        assert!(
            reason
                .message_en
                .contains("measured 17.6 mm, required 19-22 mm"),
            "{}",
            reason.message_en
        );
    }

    #[test]
    fn an_uncertain_value_inside_its_limits_never_reads_as_a_pass() {
        let headwear = Limit {
            min: Some(85.0),
            margin: 7.0,
            ..Limit::default()
        };
        // Too close to the limit: says so, with both numbers, and not "required >= 85".
        let r = RuleResult::measured(RuleId::Headwear, 91.9, &headwear);
        let reason = r.reason().unwrap();
        assert_eq!(
            reason.message_zh,
            "帽子头巾：测得 91.9%，与限值 85% 过于接近，无法确定"
        );
        assert!(
            !reason.message_en.contains("required"),
            "{}",
            reason.message_en
        );
        // Another look stops it: the message names that look, in both languages.
        let gaze = Limit {
            max: Some(0.06),
            margin: 0.02,
            ..Limit::default()
        };
        let mut r = RuleResult::measured(RuleId::Gaze, 0.03, &gaze);
        r.status = crate::rules::Status::Uncertain;
        r.code = Some("looking-away".into());
        r.note = Some("the head is not frontal: the gaze cannot be told".into());
        let reason = r.reason().unwrap();
        assert_eq!(
            reason.message_zh,
            "视线无法确认：头部未正对镜头，无法确认视线"
        );
        assert!(reason.message_en.contains("could not be confirmed"));
        // A value outside the limits still says what was measured and what is required.
        let r = RuleResult::measured(RuleId::Gaze, 0.07, &gaze);
        assert!(r.reason().unwrap().message_zh.contains("要求 <= 0.060"));
    }
}
