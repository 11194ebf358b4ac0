//! `photocheck account add`: logins for the review pages, password from the environment or stdin.

use std::io::Write;
use std::process::Stdio;

use photocheck_store::{Role, Store};

use crate::{code, photocheck, stderr};

#[tokio::test]
async fn accounts_are_created_with_a_hashed_password_and_weak_ones_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().to_str().expect("UTF-8 path");
    let out = photocheck()
        .args([
            "account",
            "add",
            "li.na",
            "--role",
            "supervisor",
            "--data",
            data,
        ])
        .env("PHOTOCHECK_PASSWORD", "a-good-long-password")
        .output()
        .expect("runs");
    assert_eq!(code(&out), 0, "{}", stderr(&out));

    // From standard input, as a script would pipe it.
    let mut child = photocheck()
        .args([
            "account", "add", "zhao.lei", "--role", "reviewer", "--data", data,
        ])
        .env_remove("PHOTOCHECK_PASSWORD")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("runs");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(b"another-long-password\n")
        .expect("write");
    let out = child.wait_with_output().expect("waits");
    assert_eq!(code(&out), 0, "{}", stderr(&out));

    let out = photocheck()
        .args([
            "account", "add", "short", "--role", "reviewer", "--data", data,
        ])
        .env("PHOTOCHECK_PASSWORD", "short")
        .output()
        .expect("runs");
    assert_ne!(code(&out), 0);
    assert!(
        stderr(&out).contains("at least 10 characters"),
        "{}",
        stderr(&out)
    );

    let store = Store::connect(&format!("sqlite:{}/photocheck.db", data))
        .await
        .expect("store");
    let li = store
        .account("li.na")
        .await
        .expect("read")
        .expect("created");
    assert_eq!(li.role, Role::Supervisor);
    assert!(li.password_hash.starts_with("$argon2id$"), "stored hashed");
    assert_eq!(
        store
            .account("zhao.lei")
            .await
            .expect("read")
            .map(|a| a.role),
        Some(Role::Reviewer)
    );
    assert!(store.account("short").await.expect("read").is_none());
}

#[tokio::test]
async fn accounts_are_listed_disabled_enabled_and_deleted_with_their_sessions() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().to_str().expect("UTF-8 path");
    let run = |args: &[&str]| {
        let mut all = vec!["account"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["--data", data]);
        photocheck()
            .args(&all)
            .env("PHOTOCHECK_PASSWORD", "a-good-long-password")
            .output()
            .expect("runs")
    };
    for (name, role) in [("li.na", "supervisor"), ("zhao.lei", "reviewer")] {
        let out = run(&["add", name, "--role", role]);
        assert_eq!(code(&out), 0, "{}", stderr(&out));
    }
    let store = Store::connect(&format!("sqlite:{data}/photocheck.db"))
        .await
        .expect("store");
    let expires = chrono::Utc::now() + chrono::Duration::hours(1);
    store
        .create_session("token-of-zhao", "zhao.lei", expires)
        .await
        .expect("session");

    let out = run(&["list"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let listed = String::from_utf8_lossy(&out.stdout).into_owned();
    let line = |name: &str| {
        listed
            .lines()
            .find(|l| l.starts_with(name))
            .unwrap_or_else(|| panic!("{name} in {listed}"))
            .to_owned()
    };
    assert!(line("li.na").contains("supervisor") && line("li.na").contains("active"));
    assert!(line("zhao.lei").contains("1 session(s)"), "{listed}");

    // Disabled: the session ends at once and the password no longer opens anything.
    let out = run(&["disable", "zhao.lei"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let now = chrono::Utc::now();
    assert!(store
        .session_account("token-of-zhao", now)
        .await
        .expect("read")
        .is_none());
    assert!(store.account("zhao.lei").await.expect("read").is_none());
    assert!(line_of(&run(&["list"]), "zhao.lei").contains("disabled"));
    // A new password does not let a disabled account in either.
    assert_eq!(code(&run(&["add", "zhao.lei", "--role", "reviewer"])), 0);
    assert!(store.account("zhao.lei").await.expect("read").is_none());
    let out = run(&["enable", "zhao.lei"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(store.account("zhao.lei").await.expect("read").is_some());

    let out = run(&["delete", "zhao.lei"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(!String::from_utf8_lossy(&run(&["list"]).stdout).contains("zhao.lei"));
    let out = run(&["delete", "zhao.lei"]);
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).contains("no account named"),
        "{}",
        stderr(&out)
    );

    let actions: Vec<String> = store
        .audit_log(100)
        .await
        .expect("audit")
        .into_iter()
        .map(|e| e.action)
        .collect();
    for a in ["account.disable", "account.enable", "account.delete"] {
        assert!(actions.iter().any(|x| x == a), "{a} in {actions:?}");
    }
}

fn line_of(out: &std::process::Output, name: &str) -> String {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find(|l| l.starts_with(name))
        .unwrap_or_default()
        .to_owned()
}
