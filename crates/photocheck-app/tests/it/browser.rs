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

/// The text of the first element `css` selects, as the person sees it.
async fn text_of(client: &Client, css: &str) -> String {
    client
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css} on the page: {e}"))
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

/// An account with its password hashed as the server stores it.
async fn add_account(store: &photocheck_store::Store, name: &str, role: Role, password: &str) {
    let password_hash = hash_password(password).expect("hash");
    let account = Account {
        name: name.into(),
        role,
        password_hash,
    };
    store.put_account(&account, "test").await.expect("account");
}

/// Saves the whole page, however long, for people to look at; the window is put back after.
async fn full_page_screenshot(client: &Client, name: &str) {
    let height = client
        .execute("return document.documentElement.scrollHeight;", vec![])
        .await
        .expect("page height")
        .as_u64()
        .expect("a height");
    client
        .set_window_size(1366, height.clamp(768, 6000) as u32)
        .await
        .expect("resize");
    screenshot(client, name).await;
    client
        .set_window_size(1366, 768)
        .await
        .expect("resize back");
}

/// What [`seed_a_week`] put in the store, for the test to compare the pages with.
struct Seeded {
    open: usize,
    overdue: usize,
    /// Submissions received over the week, the open ones included.
    received: usize,
}

/// A week as the store would hold it: engine rejections hour by hour over the last six days; 25
/// open items, two overdue and the rest due over the next 16 hours (each received a day before
/// its deadline); three decided in the last hour by zhao.lei, and an audited approval he rejected
/// (his four decisions make a pace of four an hour)
/// for headwear.
async fn seed_a_week(store: &photocheck_store::Store) -> Seeded {
    use chrono::{Duration, TimeZone, Utc};
    use photocheck_store::{
        Channel, Decision, EngineDecision, NewSubmission, Reason, ReviewDue, ReviewerDecision,
        StoredReport,
    };
    use photocheck_types::RuleId;

    let calendar = photocheck_calendar::Calendar::builtin();
    let now = Utc::now();
    let zone = calendar.offset_at(now);
    let today = now.with_timezone(&zone).date_naive();
    let reasons = [
        (
            RuleId::EyesOpen,
            "eyes-uncertain",
            "Eyes may be closed",
            "眼睛可能未睁开",
        ),
        (
            RuleId::Background,
            "background-grey",
            "Background is not white",
            "背景不是白色",
        ),
        (
            RuleId::Headwear,
            "headwear-uncertain",
            "Possibly a hat",
            "可能戴帽子",
        ),
        (
            RuleId::Expression,
            "expression-uncertain",
            "Expression may not be neutral",
            "表情可能不自然",
        ),
        (
            RuleId::Lighting,
            "uneven-light",
            "Light is uneven across the face",
            "面部光线不均匀",
        ),
    ];
    let mut k = 0usize;
    let mut add =
        |received_at: chrono::DateTime<Utc>, decision: Decision, review: Option<ReviewDue>| {
            k += 1;
            let (rule, code, en, zh) = reasons[k % reasons.len()];
            let channel = [Channel::Camera, Channel::Album, Channel::Stored][k % 3];
            async move {
                let id = store
                    .insert_submission(&NewSubmission {
                        applicant_id: format!("SEED-{k:03}"),
                        licence_no: None,
                        channel,
                        blob_key: format!("seeded/{k}"),
                        received_at,
                    })
                    .await
                    .expect("insert")
                    .id;
                store
                    .record_decision(
                        id,
                        &EngineDecision {
                            decision,
                            reasons: vec![Reason {
                                code: code.into(),
                                rule,
                                message_en: en.into(),
                                message_zh: zh.into(),
                            }],
                            report: StoredReport::of(&serde_json::json!({})).expect("report"),
                            decided_at: received_at + Duration::seconds(20),
                        },
                        review,
                    )
                    .await
                    .expect("record");
                // Told to the notification services long ago: the sweeper has nothing to send.
                store
                    .mark_published(id, received_at)
                    .await
                    .expect("published");
                id
            }
        };
    let mut received = 0;
    // The past six days: 0-4 rejections an hour from 08:00 to 19:00 local time.
    for day in 1..=6i64 {
        for hour in 8..20u32 {
            let at = zone
                .from_local_datetime(
                    &(today - Duration::days(day))
                        .and_hms_opt(hour, 10, 0)
                        .expect("time"),
                )
                .single()
                .expect("a fixed offset")
                .with_timezone(&Utc);
            for _ in 0..(day as u32 + hour) % 5 {
                add(at, Decision::Reject, None).await;
                received += 1;
            }
        }
    }
    // The backlog, each item received a day before it is due.
    let mut dues = vec![now - Duration::hours(3), now - Duration::minutes(30)];
    dues.extend((1..=23).map(|j| now + Duration::minutes(40 * j)));
    for due in &dues {
        let due_review = Some(ReviewDue {
            due: *due,
            audit: false,
        });
        add(*due - Duration::hours(24), Decision::Review, due_review).await;
        received += 1;
    }
    // zhao.lei's last hour: three items decided on time, and an audited approval he rejected.
    let mut paced = Vec::new();
    for audit in [false, false, false, true] {
        let decision = if audit {
            Decision::Approve
        } else {
            Decision::Review
        };
        let id = add(
            now - Duration::hours(20),
            decision,
            Some(ReviewDue {
                due: now + Duration::hours(4),
                audit,
            }),
        )
        .await;
        received += 1;
        paced.push((id, audit));
    }
    for (j, (id, audit)) in paced.into_iter().enumerate() {
        let at = now - Duration::minutes(40 - 10 * j as i64);
        store
            .claim(
                id,
                "zhao.lei",
                at + Duration::minutes(10),
                at - Duration::minutes(1),
            )
            .await
            .expect("claim")
            .expect("claimed");
        store
            .decide_review(
                id,
                &ReviewerDecision {
                    decision: if audit {
                        Decision::Reject
                    } else {
                        Decision::Approve
                    },
                    reasons: if audit {
                        vec!["hat-glasses-mask".into()]
                    } else {
                        Vec::new()
                    },
                    note: None,
                    decided_by: "zhao.lei".into(),
                    decided_at: at,
                },
            )
            .await
            .expect("decide")
            .expect("decided");
    }
    Seeded {
        open: dues.len(),
        overdue: 2,
        received,
    }
}

#[tokio::test]
async fn a_reviewer_rejects_an_item_with_the_keyboard_only() {
    // A frontal portrait on white, framed, sent from the album without an EXIF capture date: the
    // shipped profile sends an undated album photo to a person (as a camera upload it is approved).
    let Some(photos) = photos_or_skip("a_reviewer_rejects_an_item_with_the_keyboard_only") else {
        return;
    };
    let portrait = photos
        .iter()
        .find(|p| p.ends_with("hivision_demo_white.jpg"))
        .expect("the portrait is among the test photos");
    let photo = std::fs::read(portrait).expect("read photo");
    let stack = Stack::start().await;
    add_account(
        &stack.store,
        "wang.fang",
        Role::Reviewer,
        "review-pass-2026",
    )
    .await;
    add_account(&stack.store, "li.na", Role::Supervisor, "supervise-2026").await;
    // A notification service's queue, to see the reviewer's decision go out.
    let inbox = EventInbox::bind(
        &crate::amqp(),
        &stack.options.queue.events_exchange,
        "submission.rejected",
    )
    .await
    .expect("bind");

    let id = stack.submit_via(&photo, "BROWSER-1", "album").await;
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
    let due = text_of(&client, "#due-today").await;
    assert!(due.contains("今日到期"), "{due}");
    let row = text_of(&client, "table.queue tbody tr").await;
    assert!(
        row.contains("BROWSER-1") && row.contains("相册上传"),
        "{row}"
    );
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
    screenshot(&client, "review-item.png").await;
    let in_view = client
        .execute(
            "const shown = e => { const r = e.getBoundingClientRect(); \
                 return r.top >= 0 && r.bottom <= window.innerHeight && r.height > 0; }; \
             const bar = document.querySelector('#decide').getBoundingClientRect().top; \
             return ['approve', 'reject', 'skip'].every(id => shown(document.getElementById(id))) \
                 && [...document.querySelectorAll('#overlays button')].every(b => \
                     shown(b) && b.getBoundingClientRect().bottom <= bar);",
            vec![],
        )
        .await
        .expect("measure");
    assert_eq!(
        in_view,
        serde_json::json!(true),
        "the decision bar is on screen, the overlay switches above it"
    );
    let text = text_of(&client, "body").await;
    for broken in ["-0.0", "∞", "NaN", "px@ref", "laplacian-var", "deltaE"] {
        assert!(!text.contains(broken), "{broken} on the item page");
    }

    // R without a reason is refused beside the buttons; so is A with a reason ticked.
    press(&client, 'r').await;
    assert!(text_of(&client, "#hint").await.contains("至少选择一个原因"));
    press(&client, '1').await;
    press(&client, 'a').await;
    assert!(text_of(&client, "#hint")
        .await
        .contains("通过时不能选择退回原因"));
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

    // A week's work in the store: the queue shows 20 items and more on one screen, soonest due
    // first.
    let seeded = seed_a_week(&stack.store).await;
    client
        .goto(&format!("{}/review", stack.api))
        .await
        .expect("open");
    let rows = client
        .execute(
            "const rows = [...document.querySelectorAll('table.queue tbody tr')]; \
             return [rows.length, rows.filter(r => { const b = r.getBoundingClientRect(); \
                 return b.top >= 0 && b.bottom <= window.innerHeight; }).length];",
            vec![],
        )
        .await
        .expect("count rows");
    screenshot(&client, "review-queue.png").await;
    assert_eq!(
        rows[0],
        serde_json::json!(seeded.open),
        "every open item has a row"
    );
    assert!(
        rows[1].as_u64().expect("a count") >= 20,
        "rows on the first screen: {rows}"
    );
    let due = text_of(&client, "#due-today").await;
    assert!(
        due.contains(&format!("其中已超时 {} 项", seeded.overdue)),
        "{due}"
    );

    // The supervisor's page.
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
    // The backlog hour by hour, the overdue first: every open item is due by the last hour; the
    // team's pace in the last hour (zhao.lei's four and the reviewer's one) drawn as what it
    // clears by then; the overdue items named.
    let titles = client
        .execute(
            "return [...document.querySelectorAll('#backlog rect.bar title')].map(t => t.textContent);",
            vec![],
        )
        .await
        .expect("read the backlog chart");
    let titles: Vec<&str> = titles
        .as_array()
        .expect("titles")
        .iter()
        .map(|t| t.as_str().expect("text"))
        .collect();
    assert_eq!(titles[0], format!("已超时：{} 件", seeded.overdue));
    assert!(
        (25..=97).contains(&titles.len()),
        "an hour a bar, a day to four: {titles:?}"
    );
    let last = titles.last().expect("a last hour");
    assert!(
        last.contains(&format!("前到期共 {} 件", seeded.open)),
        "{last}"
    );
    let caption = client
        .find(Locator::Css("#backlog"))
        .await
        .expect("the backlog chart")
        .attr("aria-label")
        .await
        .expect("caption")
        .unwrap_or_default();
    assert!(
        caption.contains("每小时 5.0 件") && caption.contains("已有 2 件超时"),
        "{caption}"
    );
    assert!(
        client
            .find(Locator::Css("#backlog polyline.capacity"))
            .await
            .is_ok(),
        "the capacity line"
    );
    // A week of intake hour by hour, adding up to what was received; the engine's shares of each
    // day; the audit error rate of the one reason reviewers found.
    let intake = client
        .execute(
            "const bars = [...document.querySelectorAll('#intake rect.bar title')]; \
             return [bars.length, bars.reduce((n, t) => n + parseInt(t.textContent.match(/收到 (\\d+) 件/)[1]), 0)];",
            vec![],
        )
        .await
        .expect("read the intake chart");
    assert_eq!(
        intake,
        serde_json::json!([168, seeded.received + 1]),
        "intake bars and their sum (the seeded week and the browser's photo)"
    );
    let shares = client
        .execute(
            "return [...document.querySelectorAll('#shares g.column, #shares rect.bar')].length;",
            vec![],
        )
        .await
        .expect("count share bars");
    assert!(
        shares.as_u64().expect("a count") >= 7,
        "a column of shares for each day: {shares}"
    );
    let audit = client
        .execute(
            "return [...document.querySelectorAll('#audit-error-rate rect.bar title')].map(t => t.textContent);",
            vec![],
        )
        .await
        .expect("read the audit chart");
    assert!(
        audit
            .to_string()
            .contains("佩戴帽子、墨镜或口罩（hat-glasses-mask）：1 件，占抽检 100.0%"),
        "{audit}"
    );
    let text = text_of(&client, "body").await;
    for broken in ["-0.0", "∞", "NaN"] {
        assert!(!text.contains(broken), "{broken} on the supervisor page");
    }
    screenshot(&client, "review-supervisor.png").await;
    full_page_screenshot(&client, "review-supervisor-full.png").await;
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
