//! The intake API on an address of its own, as the upload platform reaches it: only with the
//! platform's token, at a bounded rate per client, and never holding a connection for a client
//! that trickles its headers. A real `photocheck serve` on loopback, spoken to over TCP.

use std::time::Duration;

use reqwest::StatusCode;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_util::sync::CancellationToken;

use crate::{free_port, wait_for};

const TOKEN: &str = "0123456789abcdef0123456789abcdef-upload-platform";

fn blank_jpeg() -> Vec<u8> {
    photocheck_synth::jpeg(&image::RgbImage::from_pixel(
        260,
        378,
        image::Rgb([250, 250, 250]),
    ))
    .expect("jpeg")
}

#[tokio::test]
async fn the_intake_on_its_own_address_needs_the_token_limits_each_client_and_drops_slow_headers() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (pages_port, intake_port) = (free_port(), free_port());
    let mut o = photocheck_app::Options::embedded(dir.path());
    o.listen = format!("127.0.0.1:{pages_port}");
    o.intake_listen = Some(format!("127.0.0.1:{intake_port}"));
    o.intake.token = Some(TOKEN.into());
    o.intake.per_client_per_sec = 0.5;
    o.intake.burst = 4.0;
    o.header_read_timeout = Duration::from_secs(1);
    let shutdown = CancellationToken::new();
    let server = tokio::spawn(photocheck_app::serve(o, shutdown.clone()));
    let (pages, intake) = (
        format!("http://127.0.0.1:{pages_port}"),
        format!("http://127.0.0.1:{intake_port}"),
    );
    let http = reqwest::Client::new();
    wait_for(30, "the intake address to answer", || async {
        http.get(format!("{intake}/healthz")).send().await.ok()
    })
    .await;

    let submit = |token: Option<&str>| {
        let mut request = http
            .post(format!(
                "{intake}/v1/submissions?applicant_id=INTAKE-1&channel=album"
            ))
            .header("content-type", "image/jpeg")
            .body(blank_jpeg());
        if let Some(t) = token {
            request = request.bearer_auth(t);
        }
        request.send()
    };
    // No token, a wrong one: 401, and nothing uses up the client's rate.
    for token in [None, Some("not-the-token"), Some("")] {
        for _ in 0..3 {
            let r = submit(token).await.expect("send");
            assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{token:?}");
            assert_eq!(r.headers()["www-authenticate"], "Bearer");
        }
    }
    let r = submit(Some(TOKEN)).await.expect("send");
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    let id = r.json::<serde_json::Value>().await.expect("json")["id"]
        .as_str()
        .expect("id")
        .to_owned();

    // Each address serves its own routes only.
    for (base, path, expected) in [
        (&intake, "/review".to_owned(), StatusCode::NOT_FOUND),
        (&intake, "/metrics".to_owned(), StatusCode::NOT_FOUND),
        (&intake, "/readyz".to_owned(), StatusCode::OK),
        (
            &pages,
            format!("/v1/submissions/{id}"),
            StatusCode::NOT_FOUND,
        ),
        (&pages, "/metrics".to_owned(), StatusCode::OK),
    ] {
        let r = http.get(format!("{base}{path}")).send().await.expect("get");
        assert_eq!(r.status(), expected, "{base}{path}");
    }
    // One registry per process: the API's metrics and the embedded worker's on one page.
    let metrics = http
        .get(format!("{pages}/metrics"))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    for metric in [
        "photocheck_submissions_total 1",
        "photocheck_check_seconds_bucket",
        "photocheck_dead_letters_total",
    ] {
        assert!(
            metrics.contains(metric),
            "{metric} missing from:\n{metrics}"
        );
    }

    // The burst is 4 (one used by the upload): three more reads, then 429 with a wait.
    let status = || {
        http.get(format!("{intake}/v1/submissions/{id}"))
            .bearer_auth(TOKEN)
            .send()
    };
    for _ in 0..3 {
        assert_eq!(status().await.expect("get").status(), StatusCode::OK);
    }
    let r = status().await.expect("get");
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    let wait: u64 = r.headers()["retry-after"]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("seconds");
    assert!((1..=2).contains(&wait), "{wait}");

    // Headers trickled in: the connection is closed, not held.
    let mut slow = tokio::net::TcpStream::connect(("127.0.0.1", intake_port))
        .await
        .expect("connect");
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .await
        .expect("write");
    let mut buf = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(20), slow.read_to_end(&mut buf))
        .await
        .expect("the server closes the connection well within 20 s");
    assert!(
        read.is_err()
            || buf.is_empty()
            || String::from_utf8_lossy(&buf).starts_with("HTTP/1.1 408"),
        "closed without answering a request it never got: {:?}",
        String::from_utf8_lossy(&buf)
    );

    shutdown.cancel();
    server.await.expect("join").expect("serve stops cleanly");
}
