//! A reviewer at work, in headless Chromium driven through chromedriver on a 1366 x 768 screen: log
//! in, take the next item, reject it with a reason, all by keyboard; the decision bar is on screen
//! without scrolling, a refused key is explained beside it, the decision is stored and its event
//! published. Screenshots of the queue and the item page are left in the test's temporary target
//! folder for people to look at.

use std::process::{Child, Command, Stdio};

use fantoccini::actions::{InputSource, KeyAction, KeyActions};
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use photocheck_queue::testing::EventInbox;
use photocheck_server::review::auth::hash_password;
use photocheck_store::{Account, Role};

use crate::pipeline::Stack;
use crate::{free_port, photos_or_skip, wait_for};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// chromedriver on a port of its own, killed when the test ends.
struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn browser() -> (Driver, Client) {
    let port = free_port();
    let child = Command::new(CHROMEDRIVER)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| {
            panic!("{CHROMEDRIVER} is needed (Debian packages chromium and chromium-driver; bash .ci/run installs them): {e}")
        });
    let driver = Driver(child);
    let url = format!("http://127.0.0.1:{port}");
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({
            "binary": CHROMIUM,
            "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                     "--disable-component-update", "--disable-sync", "--window-size=1366,768", "--lang=zh-CN"],
        }),
    );
    let client = wait_for(20, "chromedriver to start a session", || {
        let caps = caps.clone();
        let url = url.clone();
        async move {
            ClientBuilder::new(HttpConnector::new())
                .capabilities(caps)
                .connect(&url)
                .await
                .ok()
        }
    })
    .await;
    (driver, client)
}

/// Presses one key on whatever has focus, as a person at the keyboard does.
async fn press(client: &Client, key: char) {
    let keys = KeyActions::new("keyboard".into())
        .then(KeyAction::Down { value: key })
        .then(KeyAction::Up { value: key });
    client.perform_actions(keys).await.expect("key press");
}

/// Opens `path`, is sent to the login page, and logs in by typing only: the name field has focus,
/// Tab moves to the password, Enter submits; back on `path` after.
async fn open_as(client: &Client, base: &str, path: &str, name: &str, password: &str) {
    client.goto(&format!("{base}{path}")).await.expect("open");
    wait_for_path(client, "/login").await;
    client
        .find(Locator::Css("input:focus"))
        .await
        .expect("the name field has focus")
        .send_keys(&format!("{name}\u{E004}{password}\u{E007}"))
        .await
        .expect("type");
    wait_for_path(client, path).await;
}

/// The inline hint beside the decision buttons.
async fn hint(client: &Client) -> String {
    client
        .find(Locator::Id("hint"))
        .await
        .expect("hint")
        .text()
        .await
        .expect("text")
}

/// Saves what the browser shows, for people to look at.
async fn screenshot(client: &Client, name: &str) {
    let shot = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    std::fs::write(&shot, client.screenshot().await.expect("screenshot")).expect("save");
    eprintln!("screenshot: {}", shot.display());
}

async fn wait_for_path(client: &Client, prefix: &str) -> String {
    wait_for(20, &format!("the browser to reach {prefix}"), || async {
        let url = client.current_url().await.ok()?;
        let full = format!(
            "{}{}",
            url.path(),
            url.query().map(|q| format!("?{q}")).unwrap_or_default()
        );
        full.starts_with(prefix).then_some(full)
    })
    .await
}

#[tokio::test]
async fn a_reviewer_rejects_an_item_with_the_keyboard_only() {
    // A frontal portrait on white: framed, its geometry passes and only its looks are in doubt (any
    // photo would do, as long as a person has to look at it).
    let Some(photos) = photos_or_skip("a_reviewer_rejects_an_item_with_the_keyboard_only") else {
        return;
    };
    let portrait = photos
        .iter()
        .find(|p| p.ends_with("hivision_demo_white.jpg"))
        .expect("the portrait is among the test photos");
    let photo = std::fs::read(portrait).expect("read photo");
    let stack = Stack::start().await;
    stack
        .store
        .put_account(
            &Account {
                name: "wang.fang".into(),
                role: Role::Reviewer,
                password_hash: hash_password("review-pass-2026").expect("hash"),
            },
            "test",
        )
        .await
        .expect("account");
    stack
        .store
        .put_account(
            &Account {
                name: "li.na".into(),
                role: Role::Supervisor,
                password_hash: hash_password("supervise-2026").expect("hash"),
            },
            "test",
        )
        .await
        .expect("account");
    // A notification service's queue, to see the reviewer's decision go out.
    let inbox = EventInbox::bind(
        &crate::amqp(),
        &stack.options.queue.events_exchange,
        "submission.rejected",
    )
    .await
    .expect("bind");

    let id = stack.submit(&photo, "BROWSER-1").await;
    let settled = stack.settled(id).await;
    assert_eq!(
        settled["decision"], "review",
        "the default profile sends it to a person: {settled}"
    );

    let (_driver, client) = browser().await;
    open_as(
        &client,
        &stack.api,
        "/review",
        "wang.fang",
        "review-pass-2026",
    )
    .await;
    let due = client
        .find(Locator::Id("due-today"))
        .await
        .expect("the count due today")
        .text()
        .await
        .expect("text");
    assert!(due.contains("今日到期"), "{due}");
    let row = client
        .find(Locator::Css("table.queue tbody tr"))
        .await
        .expect("the item's row")
        .text()
        .await
        .expect("text");
    assert!(
        row.contains("BROWSER-1") && row.contains("现场拍照"),
        "{row}"
    );
    screenshot(&client, "review-queue.png").await;
    press(&client, 'n').await;
    let item = wait_for_path(&client, "/review/items/").await;
    assert!(item.ends_with(&id.to_string()), "{item}");
    client
        .find(Locator::Css("#decide"))
        .await
        .expect("the decision form");
    // The portrait is not of the licence photo's shape: the page shows the crop the worker judged,
    // cut from the upload by its stored rectangle, at the archive's real size.
    let framed = wait_for(10, "the framed photo to load", || async {
        let size = client
            .execute(
                "const i = document.querySelector('#framed img'); \
                 return i && i.complete && i.naturalWidth ? [i.naturalWidth, i.naturalHeight] : null;",
                vec![],
            )
            .await
            .ok()?;
        (!size.is_null()).then_some(size)
    })
    .await;
    assert_eq!(framed, serde_json::json!([260, 378]), "the framed photo");
    // The background overlay is the one the worker stored when it decided (the API runs no engine).
    let mask = client
        .execute(
            "return fetch(arguments[0]).then(r => r.status);",
            vec![serde_json::json!(format!("/review/items/{id}/mask.png"))],
        )
        .await
        .expect("fetch the overlay");
    assert_eq!(mask, serde_json::json!(200), "the stored overlay is served");
    // On a 1366 x 768 screen the decision buttons are in view without scrolling, and the page
    // shows no broken numbers.
    let in_view = client
        .execute(
            "return ['approve', 'reject', 'skip'].every(id => { \
                 const r = document.getElementById(id).getBoundingClientRect(); \
                 return r.top >= 0 && r.bottom <= window.innerHeight && r.height > 0; });",
            vec![],
        )
        .await
        .expect("measure");
    assert_eq!(
        in_view,
        serde_json::json!(true),
        "the decision bar is on screen"
    );
    let text = client
        .find(Locator::Css("body"))
        .await
        .expect("body")
        .text()
        .await
        .expect("text");
    for broken in ["-0.0", "∞", "NaN", "px@ref", "laplacian-var", "deltaE"] {
        assert!(!text.contains(broken), "{broken} on the item page");
    }
    screenshot(&client, "review-item.png").await;

    // R without a reason is refused beside the buttons; so is A with a reason ticked.
    press(&client, 'r').await;
    assert!(hint(&client).await.contains("至少选择一个原因"));
    press(&client, '1').await;
    press(&client, 'a').await;
    assert!(hint(&client).await.contains("通过时不能选择退回原因"));
    assert!(
        wait_for_path(&client, "/review/items/")
            .await
            .ends_with(&id.to_string()),
        "a refused key leaves the reviewer on the item"
    );
    // The decision itself: R, then the next item (here: none left) is on screen.
    let started = std::time::Instant::now();
    press(&client, 'r').await;
    wait_for_path(&client, "/review?notice=decided").await;
    eprintln!(
        "reject by keyboard: {} ms from R to the next page",
        started.elapsed().as_millis()
    );

    // The supervisor's page: the backlog chart (overdue, today, four more days, later) and no
    // false alarm with nobody else reviewing.
    client
        .find(Locator::Css("header form button"))
        .await
        .expect("the logout button")
        .click()
        .await
        .expect("log out");
    wait_for_path(&client, "/login").await;
    open_as(
        &client,
        &stack.api,
        "/supervisor",
        "li.na",
        "supervise-2026",
    )
    .await;
    let bars = client
        .execute(
            "return document.querySelectorAll('#backlog rect.bar').length;",
            vec![],
        )
        .await
        .expect("count bars");
    assert_eq!(bars, serde_json::json!(7), "the backlog chart's bars");
    // A week of intake hour by hour, and the engine's shares of each day (today's decision among
    // them: three parts in today's column).
    let counts = client
        .execute(
            "return [document.querySelectorAll('#intake rect.bar').length, \
                     document.querySelectorAll('#shares rect.bar').length];",
            vec![],
        )
        .await
        .expect("count bars");
    assert_eq!(
        counts,
        serde_json::json!([168, 3]),
        "intake and shares bars"
    );
    let text = client
        .find(Locator::Css("body"))
        .await
        .expect("body")
        .text()
        .await
        .expect("text");
    for broken in ["-0.0", "∞", "NaN"] {
        assert!(!text.contains(broken), "{broken} on the supervisor page");
    }
    screenshot(&client, "review-supervisor.png").await;
    client.close().await.expect("close");

    let s = stack.store.get(id).await.expect("get").expect("stored");
    let reviewed = s.reviewed.expect("the reviewer's decision is stored");
    assert_eq!(reviewed.decision, photocheck_types::Decision::Reject);
    assert_eq!(reviewed.reasons, vec!["background-not-white".to_owned()]);
    assert_eq!(reviewed.decided_by, "wang.fang");
    let status = stack.status(id).await;
    assert_eq!(status["decision"], "reject", "{status}");
    assert_eq!(
        status["reasons"][0]["message_zh"], "背景不是白色",
        "{status}"
    );

    let events = inbox
        .take(1, std::time::Duration::from_secs(10))
        .await
        .expect("events");
    let (_, body) = events.first().expect("the rejected event");
    assert_eq!(body["submission_id"], id.to_string());
    assert_eq!(body["event_id"], format!("{id}/reviewer"), "{body}");
    assert_eq!(body["decided_by"], "wang.fang");
    assert_eq!(body["reasons"][0]["code"], "background-not-white");
    let log = stack.store.audit_log(20).await.expect("audit");
    for action in ["login", "review.claim", "review.reject"] {
        assert!(
            log.iter()
                .any(|e| e.action == action && e.actor == "wang.fang"),
            "{action} audited"
        );
    }
    inbox.close().await.expect("close");
    stack.stop().await;
}
