//! Accounts on both databases: listed with their sessions, disabled (sessions end, no login),
//! enabled, deleted (the audit log keeps the name).

use chrono::{Duration, Utc};
use photocheck_store::{Account, Role, Store};

use crate::{postgres, sqlite};

async fn lifecycle(store: Store) {
    for name in ["anna", "bo"] {
        store
            .put_account(
                &Account {
                    name: name.into(),
                    role: Role::Reviewer,
                    password_hash: "$argon2id$not-a-real-hash".into(),
                },
                "test",
            )
            .await
            .expect("account");
    }
    let now = Utc::now();
    store
        .create_session("t1", "anna", now + Duration::hours(1))
        .await
        .expect("session");
    let listed = store.accounts().await.expect("list");
    assert_eq!(
        listed
            .iter()
            .map(|a| (a.name.as_str(), a.sessions, a.disabled_at.is_none()))
            .collect::<Vec<_>>(),
        [("anna", 1, true), ("bo", 0, true)]
    );
    assert!((listed[0].created_at - now).num_seconds().abs() < 60);

    assert!(store
        .set_account_disabled("anna", true, "test")
        .await
        .expect("disable"));
    assert!(store.account("anna").await.expect("read").is_none());
    assert!(store
        .session_account("t1", now)
        .await
        .expect("read")
        .is_none());
    let anna = &store.accounts().await.expect("list")[0];
    assert_eq!(anna.sessions, 0);
    assert!(anna
        .disabled_at
        .is_some_and(|t| (t - now).num_seconds().abs() < 60));
    assert!(store
        .set_account_disabled("anna", false, "test")
        .await
        .expect("enable"));
    assert!(store.account("anna").await.expect("read").is_some());

    assert!(store.delete_account("bo", "test").await.expect("delete"));
    assert!(!store.delete_account("bo", "test").await.expect("delete"));
    assert!(!store
        .set_account_disabled("nobody", true, "test")
        .await
        .expect("disable"));
    assert_eq!(store.accounts().await.expect("list").len(), 1);
    let log = store.audit_log(50).await.expect("audit");
    assert!(log
        .iter()
        .any(|e| e.action == "account.delete" && e.subject == "account bo"));
}

#[tokio::test]
async fn sqlite_accounts() {
    let (store, _dir) = sqlite().await;
    lifecycle(store).await;
}

#[tokio::test]
async fn postgres_accounts() {
    lifecycle(postgres().await).await;
}
