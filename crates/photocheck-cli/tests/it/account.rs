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
