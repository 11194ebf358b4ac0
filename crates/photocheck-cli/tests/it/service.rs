//! The long-running commands as real processes, killed and restarted the hard way: `serve` killed with
//! SIGKILL mid-batch, a `worker` killed mid-job, RabbitMQ restarted under load. Every accepted
//! submission must end with exactly one result.

use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::Duration;

use chrono::Utc;
use photocheck_core::{Context, Profile};
use photocheck_queue::testing::EventInbox;
use photocheck_store::archive_key;
use photocheck_store::{testing, Status, Store};
use photocheck_store::{BlobError, Blobs, S3Blobs};
use photocheck_synth as derive;
use uuid::Uuid;

use crate::{photocheck, real_photos};

const POSTGRES: &str = "postgres://postgres@127.0.0.1:5432/test";
const AMQP: &str = "amqp://guest:guest@127.0.0.1:5672/%2f";

fn env_or(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_owned())
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// A running `photocheck` process, killed (SIGKILL) if the test ends without stopping it.
struct Proc {
    child: Child,
    log: PathBuf,
}

impl Proc {
    fn start(args: &[&str], envs: &[(&str, String)], log: PathBuf) -> Proc {
        let file = std::fs::File::create(&log).expect("log file");
        let child = photocheck()
            .args(args)
            .envs(envs.iter().map(|(k, v)| (*k, v.as_str())))
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(file)
            .spawn()
            .expect("photocheck starts");
        Proc { child, log }
    }

    /// SIGKILL: no cleanup, no acks, no flush.
    fn kill_hard(&mut self) {
        self.child.kill().expect("kill");
        self.child.wait().expect("reaped");
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn wait_ready(base: &str, proc: &Proc) {
    let client = reqwest::Client::new();
    for _ in 0..200 {
        if let Ok(r) = client.get(format!("{base}/readyz")).send().await {
            if r.status().is_success() {
                return;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{base} never became ready; its log:\n{}", proc.log());
}

async fn submit(base: &str, photo: &[u8], applicant: &str) -> Uuid {
    let form = reqwest::multipart::Form::new()
        .part(
            "photo",
            reqwest::multipart::Part::bytes(photo.to_vec()).file_name("photo.jpg"),
        )
        .text("applicant_id", applicant.to_owned())
        .text("channel", "album");
    let response = reqwest::Client::new()
        .post(format!("{base}/v1/submissions"))
        .multipart(form)
        .send()
        .await
        .expect("submit");
    assert_eq!(response.status(), reqwest::StatusCode::ACCEPTED);
    let body: serde_json::Value = response.json().await.expect("JSON");
    body["id"].as_str().expect("id").parse().expect("uuid")
}

/// `n` real photos, the larger ones first so checks take a while.
fn photos(n: usize) -> Option<Vec<Vec<u8>>> {
    let dir = real_photos()?;
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("photos")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    files.sort_by_key(|f| std::cmp::Reverse(std::fs::metadata(f).map_or(0, |m| m.len())));
    Some(
        files
            .iter()
            .cycle()
            .take(n)
            .map(|f| std::fs::read(f).expect("read photo"))
            .collect(),
    )
}

/// Waits until none of `ids` is queued or processing, then checks each has exactly one result and
/// one `decided` event.
async fn all_decided_once(store: &Store, ids: &[Uuid], secs: u64, logs: &dyn Fn() -> String) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    loop {
        let open = store.open_submissions(i64::MAX).await.expect("open");
        let open: Vec<_> = open.iter().filter(|id| ids.contains(id)).collect();
        if open.is_empty() {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{} submissions still open after {secs} s; logs:\n{}",
            open.len(),
            logs()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    for id in ids {
        let s = store.get(*id).await.expect("get").expect("stored");
        assert_eq!(s.status, Status::Decided, "{id}: {:?}", s.failure);
        assert!(s.result.is_some(), "{id}");
        let decided = store
            .events(*id)
            .await
            .expect("events")
            .iter()
            .filter(|e| e.kind == "decided")
            .count();
        assert_eq!(decided, 1, "{id}");
    }
}

#[tokio::test]
async fn embedded_mode_finishes_every_submission_after_a_kill_9() {
    let Some(photos) = photos(24) else { return };
    let data = tempfile::tempdir().expect("temp dir");
    let data_arg = data.path().to_str().expect("UTF-8 path").to_owned();
    let start = |n: u32| {
        let port = free_port();
        let proc = Proc::start(
            &[
                "serve",
                "--data",
                &data_arg,
                "--listen",
                &format!("127.0.0.1:{port}"),
                "--concurrency",
                "1",
            ],
            &[],
            data.path().join(format!("serve-{n}.log")),
        );
        (format!("http://127.0.0.1:{port}"), proc)
    };
    let (base, mut first) = start(1);
    wait_ready(&base, &first).await;
    let submissions = photos.iter().enumerate().map(|(i, p)| {
        let base = base.clone();
        async move { submit(&base, p, &format!("E-{i}")).await }
    });
    let ids: Vec<Uuid> = futures_util::future::join_all(submissions).await;
    first.kill_hard();

    let (base, second) = start(2);
    wait_ready(&base, &second).await;
    let log = second.log();
    let requeued: usize = log
        .split(" open submissions queued again")
        .next()
        .and_then(|l| l.rsplit("; ").next())
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("the restart says what it queued again:\n{log}"));
    assert!(
        requeued > 0,
        "the kill came after every check had finished; nothing was tested"
    );
    let store = Store::connect(&format!(
        "sqlite:{}",
        data.path().join("photocheck.db").display()
    ))
    .await
    .expect("store");
    all_decided_once(&store, &ids, 120, &|| second.log()).await;
}

/// Settings for a multi-node process: the flags' environment variables and a config file.
struct Node {
    envs: Vec<(&'static str, String)>,
    store: Store,
    queue: String,
    amqp: String,
    dir: tempfile::TempDir,
}

/// Where a node keeps its photos.
enum BlobsAt {
    Folder,
    /// A bucket of its own on the test S3 server.
    S3,
}

impl Node {
    async fn new() -> Node {
        Node::with_blobs(BlobsAt::Folder).await
    }

    async fn with_blobs(blobs: BlobsAt) -> Node {
        Node::on(blobs, env_or("PHOTOCHECK_TEST_AMQP", AMQP)).await
    }

    /// A node on the broker at `amqp`.
    async fn on(blobs: BlobsAt, amqp: String) -> Node {
        let dir = tempfile::tempdir().expect("temp dir");
        let database = photocheck_store::testing::fresh_postgres_schema(&env_or(
            "PHOTOCHECK_TEST_POSTGRES",
            POSTGRES,
        ))
        .await
        .expect("PostgreSQL is needed (bash .ci/run starts it)");
        let queue = format!("photocheck-test-{}", Uuid::new_v4().simple());
        let config = dir.path().join("photocheck.toml");
        std::fs::write(
            &config,
            format!(
                "events_exchange = \"{queue}.results\"\nretry_delay_secs = 1\nsweep_every_secs = 1\nmax_attempts = 5\n"
            ),
        )
        .expect("config");
        let mut envs = vec![
            ("PHOTOCHECK_DATABASE", database.clone()),
            ("PHOTOCHECK_AMQP", amqp.clone()),
            ("PHOTOCHECK_QUEUE", queue.clone()),
            ("PHOTOCHECK_CONFIG", config.display().to_string()),
        ];
        match blobs {
            BlobsAt::Folder => envs.push((
                "PHOTOCHECK_BLOBS",
                dir.path().join("blobs").display().to_string(),
            )),
            BlobsAt::S3 => {
                let endpoint = testing::s3_endpoint();
                let bucket = testing::fresh_s3_bucket(&endpoint)
                    .await
                    .unwrap_or_else(|e| {
                        panic!("an S3-compatible server is needed (bash .ci/run starts one): {e}")
                    });
                envs.push(("PHOTOCHECK_BLOBS", format!("s3://{bucket}/node")));
                envs.extend(testing::test_s3_env(&endpoint));
            }
        }
        Node {
            envs,
            store: Store::connect(&database).await.expect("store"),
            queue,
            amqp,
            dir,
        }
    }

    fn start(&self, command: &str, name: &str, extra: &[&str]) -> (String, Proc) {
        let port = free_port();
        let mut args = vec![command, "--listen"];
        let listen = format!("127.0.0.1:{port}");
        args.push(&listen);
        args.extend_from_slice(extra);
        let proc = Proc::start(
            &args,
            &self.envs,
            self.dir.path().join(format!("{name}.log")),
        );
        (format!("http://127.0.0.1:{port}"), proc)
    }

    async fn cleanup(&self) {
        let mut config = photocheck_queue::QueueConfig::named(&self.queue);
        config.events_exchange = format!("{}.results", self.queue);
        if let Ok(q) = photocheck_queue::RabbitQueue::connect(&self.amqp, config).await {
            let _ = q.delete_queues().await;
        }
    }
}

#[tokio::test]
async fn a_worker_killed_mid_job_leaves_every_submission_decided_once() {
    let Some(photos) = photos(20) else { return };
    let node = Node::new().await;
    let (api, api_proc) = node.start("api", "api", &[]);
    wait_ready(&api, &api_proc).await;
    let (ops, mut first) = node.start("worker", "worker-1", &["--concurrency", "1"]);
    wait_ready(&ops, &first).await;
    let mut ids = Vec::new();
    for (i, p) in photos.iter().enumerate() {
        ids.push(submit(&api, p, &format!("W-{i}")).await);
    }
    // Kill the worker once it has decided something and still has work in hand.
    let mut waited = 0;
    loop {
        let open = node
            .store
            .open_submissions(i64::MAX)
            .await
            .expect("open")
            .len();
        if open < ids.len() {
            assert!(
                open > 0,
                "every check finished before the kill; nothing was tested"
            );
            break;
        }
        waited += 1;
        assert!(
            waited < 300,
            "the worker decided nothing; its log:\n{}",
            first.log()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    first.kill_hard();
    let (ops, second) = node.start("worker", "worker-2", &["--concurrency", "2"]);
    wait_ready(&ops, &second).await;
    all_decided_once(&node.store, &ids, 120, &|| second.log()).await;
    node.cleanup().await;
}

/// A RabbitMQ node of the test's own: its own AMQP and distribution ports, data folder and Erlang
/// cookie (in its own HOME), so stopping it touches neither the other tests' broker nor whatever
/// broker the machine runs. Stopped when dropped, even when the test fails.
struct PrivateBroker {
    dir: tempfile::TempDir,
    port: u16,
    dist_port: u16,
    child: Option<Child>,
}

impl PrivateBroker {
    /// The server and control scripts: Debian's unwrapped ones (its /usr/sbin wrappers switch to
    /// the `rabbitmq` user and the shared node), else whatever is on PATH.
    fn tool(name: &str) -> PathBuf {
        let debian = Path::new("/usr/lib/rabbitmq/bin").join(name);
        if debian.exists() {
            debian
        } else {
            PathBuf::from(name)
        }
    }

    async fn start() -> PrivateBroker {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join("enabled_plugins"), "[].\n").expect("plugins file");
        let mut broker = PrivateBroker {
            dir,
            port: free_port(),
            dist_port: free_port(),
            child: None,
        };
        broker.boot().await;
        broker
    }

    fn node(&self) -> String {
        format!("photocheck-test-{}@localhost", self.port)
    }

    fn env(&self) -> Vec<(&'static str, String)> {
        let d = self.dir.path();
        vec![
            ("HOME", d.display().to_string()),
            ("RABBITMQ_NODENAME", self.node()),
            ("RABBITMQ_NODE_PORT", self.port.to_string()),
            ("RABBITMQ_DIST_PORT", self.dist_port.to_string()),
            (
                "RABBITMQ_MNESIA_BASE",
                d.join("mnesia").display().to_string(),
            ),
            ("RABBITMQ_LOG_BASE", d.join("log").display().to_string()),
            (
                "RABBITMQ_ENABLED_PLUGINS_FILE",
                d.join("enabled_plugins").display().to_string(),
            ),
            (
                "RABBITMQ_CONFIG_FILE",
                d.join("rabbitmq").display().to_string(),
            ),
            (
                "RABBITMQ_ADVANCED_CONFIG_FILE",
                d.join("advanced.config").display().to_string(),
            ),
        ]
    }

    fn url(&self) -> String {
        format!("amqp://guest:guest@127.0.0.1:{}/%2f", self.port)
    }

    /// Starts the node on its data folder (again, after a stop) and waits for its AMQP port.
    async fn boot(&mut self) {
        let log = std::fs::File::create(self.dir.path().join("server.log")).expect("log file");
        use std::os::unix::process::CommandExt as _;
        let child = std::process::Command::new(Self::tool("rabbitmq-server"))
            .envs(self.env())
            // A group of its own: the Erlang VM under the script goes with it whatever happens.
            .process_group(0)
            .current_dir(self.dir.path())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("rabbitmq-server starts (RabbitMQ is installed on this project's machines)");
        self.child = Some(child);
        for _ in 0..600 {
            if tokio::net::TcpStream::connect(("127.0.0.1", self.port))
                .await
                .is_ok()
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!(
            "the private RabbitMQ node did not listen within 60 s:\n{}",
            std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
        );
    }

    /// Stops the node the way an operator restarting it does, then waits for its process.
    fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        let _ = std::process::Command::new(Self::tool("rabbitmqctl"))
            .envs(self.env())
            .args(["-n", &self.node(), "stop"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let _ = std::process::Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", child.id())])
            .stderr(Stdio::null())
            .status();
        let _ = child.wait();
    }
}

impl Drop for PrivateBroker {
    fn drop(&mut self) {
        self.stop();
    }
}

#[tokio::test]
async fn workers_and_the_api_carry_on_after_a_broker_restart_under_load() {
    let Some(photos) = photos(40) else { return };
    let mut broker = PrivateBroker::start().await;
    let node = Node::on(BlobsAt::Folder, broker.url()).await;
    let (api, api_proc) = node.start("api", "api", &[]);
    wait_ready(&api, &api_proc).await;
    let (ops, worker) = node.start("worker", "worker", &["--concurrency", "2"]);
    wait_ready(&ops, &worker).await;

    let mut ids = Vec::new();
    for (i, p) in photos[..20].iter().enumerate() {
        ids.push(submit(&api, p, &format!("R-{i}")).await);
    }
    broker.stop();
    // Submissions while the broker is down are stored and accepted; the sweeper publishes them.
    for (i, p) in photos[20..30].iter().enumerate() {
        ids.push(submit(&api, p, &format!("R-down-{i}")).await);
    }
    broker.boot().await;
    for (i, p) in photos[30..].iter().enumerate() {
        ids.push(submit(&api, p, &format!("R-after-{i}")).await);
    }
    let logs = || format!("api:\n{}\nworker:\n{}", api_proc.log(), worker.log());
    all_decided_once(&node.store, &ids, 120, &logs).await;
    let worker_log = worker.log();
    assert!(
        worker_log.contains("reconnecting") || worker_log.contains("cannot consume"),
        "the worker noticed the restart:\n{worker_log}"
    );
    node.cleanup().await;
}

/// The approve path end to end on the multi-node stack with S3 blobs: a compliant portrait (a real
/// one framed at 21.2 mm, dated today) is approved, its GA 482 archive copy lands in the bucket and a
/// `submission.approved` event goes out; a photo with no face is rejected with its reasons. The
/// profile leaves the looks (eyes, glasses, hat, expression) to the engine, which the default
/// profile never does, so that an approval is possible at all.
#[tokio::test]
async fn an_approved_photo_gets_its_archive_copy_in_s3_and_an_approved_event() {
    let Some(dir) = real_photos() else { return };
    let node = Node::with_blobs(BlobsAt::S3).await;
    let default = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../photocheck-core/profiles/cn-driving-licence.toml"),
    )
    .expect("the shipped profile");
    // The shipped profile approves nothing on the labelled sets yet: its look limits leave this
    // portrait's head, turned by 3 degrees, uncertain (slightly turned heads labelled broken read
    // 2.1-4.6). This test is about the approval path, not the looks: judge them without margins or
    // lower limits, so this one good portrait can pass.
    let mut table: toml::Table = default.parse().expect("the shipped profile is TOML");
    table["attributes"]["block"] = toml::Value::Array(Vec::new());
    for look in [
        "eyes_open",
        "gaze",
        "pose",
        "mouth_closed",
        "expression",
        "eyewear",
        "headwear",
        "face_covering",
        "hair_over_face",
    ] {
        let rule = table["rules"][look]
            .as_table_mut()
            .unwrap_or_else(|| panic!("the shipped profile has [rules.{look}]"));
        rule.insert("margin".into(), toml::Value::Float(0.0));
        if rule.get("min").and_then(toml::Value::as_float) > Some(0.0) {
            rule.insert("min".into(), toml::Value::Float(0.0));
        }
    }
    let relaxed = node.dir.path().join("relaxed.toml");
    std::fs::write(&relaxed, table.to_string()).expect("profile");
    let profile =
        Profile::from_toml(&std::fs::read_to_string(&relaxed).expect("read")).expect("profile");

    let source = std::fs::read(dir.join("hivision_demo_white.jpg")).expect("portrait");
    let head = photocheck_core::check(&source, &profile, &Context::on(Utc::now().date_naive()))
        .head
        .expect("the portrait has a measured head");
    // A phone camera's 3:4 frame with the head a third of its height: the engine must cut the
    // licence photo out of it.
    let (framed, _) = derive::frame(
        // Full size: the head was measured in the original's pixels.
        &image::ImageReader::new(std::io::Cursor::new(&source))
            .with_guessed_format()
            .expect("sniff")
            .decode()
            .expect("decode")
            .to_rgb8(),
        derive::HeadRows::from(&head),
        derive::Framing {
            head_mm: 0.33 * 32.0,
            crown_ref_px: 0.12 * 378.0,
            offset_mm: 0.0,
        },
        (900, 1200),
    );
    let today = Utc::now().format("%Y:%m:%d 09:00:00").to_string();
    let compliant = derive::jpeg_with_exif(
        &framed,
        derive::ExifTags {
            orientation: 1,
            software: "iOS 18.1",
            taken: &today,
        },
    )
    .expect("encode");
    let no_face = std::fs::read(dir.join("dlib_dogs.jpg")).expect("photo");

    let relaxed_arg = relaxed.to_str().expect("UTF-8 path");
    let (api, api_proc) = node.start("api", "api", &["--profile", relaxed_arg]);
    wait_ready(&api, &api_proc).await;
    let (ops, worker) = node.start("worker", "worker", &["--profile", relaxed_arg]);
    wait_ready(&ops, &worker).await;
    let inbox = EventInbox::bind(
        &env_or("PHOTOCHECK_TEST_AMQP", AMQP),
        &format!("{}.results", node.queue),
        "submission.*",
    )
    .await
    .expect("bind");

    let approved = submit(&api, &compliant, "A-1").await;
    let rejected = submit(&api, &no_face, "A-2").await;
    let logs = || format!("api:\n{}\nworker:\n{}", api_proc.log(), worker.log());
    all_decided_once(&node.store, &[approved, rejected], 60, &logs).await;

    let status = |id: Uuid| {
        let api = api.clone();
        async move {
            reqwest::get(format!("{api}/v1/submissions/{id}"))
                .await
                .expect("status")
                .json::<serde_json::Value>()
                .await
                .expect("JSON")
        }
    };
    let a = status(approved).await;
    assert_eq!(a["decision"], "approve", "{a}\n{}", logs());
    assert_eq!(a["reasons"], serde_json::json!([]), "{a}");
    assert!(a["due"].is_null(), "{a}");
    let r = status(rejected).await;
    assert_eq!(r["decision"], "reject", "{r}");
    assert!(
        r["reasons"][0]["message_zh"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "{r}"
    );

    // The archive copy, read straight from the bucket: GA 482 size, 300 dpi, 14-30 KB.
    let bucket = node
        .envs
        .iter()
        .find(|(k, _)| *k == "PHOTOCHECK_BLOBS")
        .expect("blobs")
        .1
        .clone();
    let bucket = bucket.trim_start_matches("s3://").trim_end_matches("/node");
    let archive = Blobs::S3(
        S3Blobs::connect(
            testing::s3_builder(&testing::s3_endpoint(), bucket),
            "node/archive",
        )
        .await
        .expect("bucket"),
    );
    let copy = archive
        .get(&archive_key(approved))
        .await
        .expect("the archive copy is in the bucket");
    assert!(
        (14 * 1024..=30 * 1024).contains(&copy.len()),
        "{} bytes",
        copy.len()
    );
    let decoded = photocheck_core::intake::decode(&copy, &profile.intake).expect("a JPEG");
    assert_eq!((decoded.width, decoded.height), (260, 378));
    // JFIF APP0: density unit 1 (dots per inch), 300 x 300.
    assert_eq!(&copy[6..11], b"JFIF\0");
    assert_eq!(&copy[13..18], &[1, 1, 44, 1, 44]);
    // It is the crop, not the phone frame squeezed: its head measures the licence size.
    let again = photocheck_core::check(&copy, &profile, &Context::on(Utc::now().date_naive()));
    let length = again.head.expect("a head in the archive copy").length_mm;
    assert!((19.0..=22.0).contains(&length), "archive head {length} mm");
    assert!(
        matches!(
            archive.get(&archive_key(rejected)).await,
            Err(BlobError::NotFound(_))
        ),
        "a rejected photo has no archive copy"
    );

    let mut events = inbox
        .take(2, Duration::from_secs(30))
        .await
        .expect("events");
    assert_eq!(events.len(), 2, "{events:?}");
    events.sort_by_key(|(key, _)| key.clone());
    assert_eq!(events[0].0, "submission.approved");
    assert_eq!(events[0].1["submission_id"], approved.to_string());
    assert_eq!(events[0].1["event_id"], format!("{approved}/engine"));
    assert_eq!(events[0].1["decision"], "approve");
    assert_eq!(events[0].1["framing"]["mode"], "framed", "{}", events[0].1);
    assert!(events[0].1["not_checked"].is_array(), "{}", events[0].1);
    assert_eq!(events[1].0, "submission.rejected");
    assert_eq!(events[1].1["submission_id"], rejected.to_string());
    assert!(
        events[1].1["reasons"]
            .as_array()
            .is_some_and(|r| !r.is_empty()),
        "{}",
        events[1].1
    );
    node.cleanup().await;
}
