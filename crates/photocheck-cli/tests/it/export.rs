//! `photocheck samples export`: reviewers' decisions in the embedded store come out as a labelled set
//! that the tuning command can load, with the photos byte for byte.

use chrono::{Duration, Utc};
use photocheck_store::{
    BlobLocation, Blobs, Channel, Decision, EngineDecision, NewSubmission, Reason, ReviewDue,
    ReviewerDecision, Store, StoredReport,
};
use photocheck_tune::set::SampleSet;
use photocheck_types::RuleId;

use crate::{code, run, stderr};

async fn reviewed(
    store: &Store,
    uploads: &Blobs,
    shade: u8,
    verdict: &str,
    reasons: &[&str],
) -> Vec<u8> {
    let img = image::RgbImage::from_pixel(260, 378, image::Rgb([shade, shade, 250]));
    let mut bytes = std::io::Cursor::new(Vec::new());
    img.write_to(&mut bytes, image::ImageFormat::Jpeg)
        .expect("jpeg");
    let bytes = bytes.into_inner();
    let key = uploads.put(&bytes).await.expect("stored");
    let id = store
        .insert_submission(&NewSubmission {
            applicant_id: format!("A-{shade}"),
            licence_no: None,
            channel: Channel::Camera,
            blob_key: key,
            received_at: Utc::now() - Duration::minutes(30),
        })
        .await
        .expect("insert")
        .id;
    let engine = EngineDecision {
        decision: Decision::Review,
        reasons: vec![Reason {
            code: "check-eyes-open".into(),
            rule: RuleId::EyesOpen,
            message_en: "A reviewer checks that the eyes are open".into(),
            message_zh: "需人工确认双眼睁开".into(),
        }],
        report: StoredReport::of(&serde_json::json!({ "decision": "review" })).expect("report"),
        decided_at: Utc::now() - Duration::minutes(20),
    };
    let due = ReviewDue {
        due: Utc::now() + Duration::hours(8),
        audit: false,
    };
    store
        .record_decision(id, &engine, Some(due))
        .await
        .expect("recorded");
    let now = Utc::now();
    store
        .claim(id, "wang.fang", now + Duration::minutes(10), now)
        .await
        .expect("claim")
        .expect("claimed");
    let d = ReviewerDecision {
        decision: Decision::parse(verdict).expect("a decision name"),
        reasons: reasons.iter().map(|r| (*r).to_owned()).collect(),
        note: Some("looked twice".into()),
        decided_by: "wang.fang".into(),
        decided_at: Utc::now(),
    };
    store
        .decide_review(id, &d)
        .await
        .expect("decide")
        .expect("decided");
    bytes
}

#[test]
fn reviewer_decisions_export_as_a_labelled_set_with_their_photos() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("data");
    std::fs::create_dir_all(&data).expect("data dir");
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let (approved, rejected) = runtime.block_on(async {
        let store = Store::connect(&format!("sqlite:{}", data.join("photocheck.db").display()))
            .await
            .expect("store");
        let uploads = Blobs::open(&BlobLocation::Folder(data.clone()), "uploads")
            .await
            .expect("blobs");
        let a = reviewed(&store, &uploads, 240, "approve", &[]).await;
        let r = reviewed(
            &store,
            &uploads,
            120,
            "reject",
            &["background-not-white", "exposure"],
        )
        .await;
        (a, r)
    });

    let out = tmp.path().join("reviewed");
    let o = run(&[
        "samples".as_ref(),
        "export".as_ref(),
        "--data".as_ref(),
        data.as_os_str(),
        "--out".as_ref(),
        out.as_os_str(),
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(
        stderr(&o).contains("exported 2 reviewed photos (1 approved, 1 rejected)"),
        "{}",
        stderr(&o)
    );

    let set = SampleSet::load(&out).expect("the export loads as a sample set");
    assert_eq!(set.info.name, "reviewed");
    assert_eq!(set.samples.len(), 2);
    let ok = set
        .samples
        .iter()
        .find(|s| s.label.compliant)
        .expect("the approval");
    assert_eq!(std::fs::read(&ok.path).expect("photo"), approved);
    let bad = set
        .samples
        .iter()
        .find(|s| !s.label.compliant)
        .expect("the rejection");
    assert_eq!(std::fs::read(&bad.path).expect("photo"), rejected);
    use photocheck_core::RuleId::*;
    assert_eq!(bad.label.breaks, vec![Background, Exposure]);
    assert!(
        bad.label.unjudged.contains(&Brightness) && bad.label.unjudged.contains(&BackgroundShadow)
    );
    assert!(
        bad.label.source.contains("wang.fang"),
        "{}",
        bad.label.source
    );
    assert!(
        bad.label.note.contains("looked twice"),
        "{}",
        bad.label.note
    );

    // A second export into the same folder is refused rather than mixed in.
    let again = run(&[
        "samples".as_ref(),
        "export".as_ref(),
        "--data".as_ref(),
        data.as_os_str(),
        "--out".as_ref(),
        out.as_os_str(),
    ]);
    assert_eq!(code(&again), 2, "{}", stderr(&again));
    assert!(stderr(&again).contains("not empty"), "{}", stderr(&again));
}
