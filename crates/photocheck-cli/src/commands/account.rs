//! `photocheck account add NAME --role reviewer|supervisor`: creates a reviewer or supervisor login,
//! or sets a new role and password for an existing one. The password comes from PHOTOCHECK_PASSWORD
//! or the first line of standard input, never from the command line (where `ps` would show it).
//! `account list`, `disable NAME` (ends its sessions; it cannot log in until `enable NAME`) and
//! `delete NAME` (the audit log and its decisions keep the name). Every change is audited.

use std::io::BufRead;
use std::path::PathBuf;

use anyhow::{bail, Context as _, Result};
use clap::{Args, Subcommand, ValueEnum};
use photocheck_server::review::auth::hash_password;
use photocheck_store::{Account, Role, Store};

#[derive(Debug, Subcommand)]
pub enum AccountCommand {
    /// Create an account, or reset an existing one's role and password.
    Add(AddArgs),
    /// Every account: role, created, disabled, live sessions.
    List(DbArgs),
    /// Stop an account from logging in, and end its sessions now.
    Disable(NameArgs),
    /// Let a disabled account log in again.
    Enable(NameArgs),
    /// Remove an account and its sessions (the audit log keeps its name).
    Delete(NameArgs),
}

#[derive(Debug, Args)]
pub struct DbArgs {
    /// Database: sqlite:PATH or postgres://... (default: the embedded one in --data).
    #[arg(long, env = "PHOTOCHECK_DATABASE", value_name = "URL")]
    database: Option<String>,
    /// The embedded mode's data folder.
    #[arg(
        long,
        env = "PHOTOCHECK_DATA",
        value_name = "DIR",
        default_value = "./photocheck-data"
    )]
    data: PathBuf,
}

#[derive(Debug, Args)]
pub struct NameArgs {
    /// Login name.
    name: String,
    #[command(flatten)]
    db: DbArgs,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum RoleArg {
    Reviewer,
    Supervisor,
}

#[derive(Debug, Args)]
pub struct AddArgs {
    /// Login name.
    name: String,
    #[arg(long, value_enum)]
    role: RoleArg,
    #[command(flatten)]
    db: DbArgs,
}

/// Shortest password accepted.
const MIN_PASSWORD: usize = 10;

/// What the audit log names as the actor of a change made here.
const ACTOR: &str = "photocheck account";

pub fn run(cmd: AccountCommand) -> Result<()> {
    match cmd {
        AccountCommand::Add(a) => add(a),
        AccountCommand::List(db) => {
            with_store(&db, |store| async move {
                let accounts = store.accounts().await?;
                if accounts.is_empty() {
                    println!("no accounts: create one with `photocheck account add NAME --role supervisor`");
                }
                for a in accounts {
                    let state = a.disabled_at.map_or_else(
                        || "active".to_owned(),
                        |t| format!("disabled {}", t.format("%Y-%m-%d %H:%M UTC")),
                    );
                    println!(
                        "{:<24} {:<10} created {}  {:<27} {} session(s)",
                        a.name,
                        a.role,
                        a.created_at.format("%Y-%m-%d"),
                        state,
                        a.sessions
                    );
                }
                Ok(())
            })
        }
        AccountCommand::Disable(n) => change(n, "disabled", |store, name| async move {
            Ok(store.set_account_disabled(&name, true, ACTOR).await?)
        }),
        AccountCommand::Enable(n) => change(n, "enabled", |store, name| async move {
            Ok(store.set_account_disabled(&name, false, ACTOR).await?)
        }),
        AccountCommand::Delete(n) => change(n, "deleted", |store, name| async move {
            Ok(store.delete_account(&name, ACTOR).await?)
        }),
    }
}

/// Runs `body` on the store `db` names, on a runtime of its own.
fn with_store<F, Fut, T>(db: &DbArgs, body: F) -> Result<T>
where
    F: FnOnce(Store) -> Fut,
    Fut: std::future::Future<Output = Result<T>>,
{
    let database = match &db.database {
        Some(url) => url.clone(),
        None => {
            std::fs::create_dir_all(&db.data)
                .with_context(|| format!("cannot create {}", db.data.display()))?;
            format!("sqlite:{}", db.data.join("photocheck.db").display())
        }
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let store = Store::connect(&database).await.with_context(|| {
            format!("opening the database {}", photocheck_app::redact(&database))
        })?;
        body(store).await
    })
}

/// A change to one account by name; an unknown name is an error (exit 2).
fn change<F, Fut>(n: NameArgs, done: &str, body: F) -> Result<()>
where
    F: FnOnce(Store, String) -> Fut,
    Fut: std::future::Future<Output = Result<bool>>,
{
    let name = n.name.trim().to_owned();
    let found = with_store(&n.db, |store| body(store, name.clone()))?;
    if !found {
        bail!("no account named {name:?} (`photocheck account list` shows them)");
    }
    println!("account {name} {done}");
    Ok(())
}

fn add(a: AddArgs) -> Result<()> {
    let name = a.name.trim().to_owned();
    if name.is_empty() || name.len() > 64 || name.chars().any(char::is_whitespace) {
        bail!(
            "account names are 1-64 characters without spaces; got {:?}",
            a.name
        );
    }
    let password = match std::env::var("PHOTOCHECK_PASSWORD") {
        Ok(p) => p,
        Err(_) => {
            eprintln!("password for {name} (one line on standard input):");
            let mut line = String::new();
            std::io::stdin()
                .lock()
                .read_line(&mut line)
                .context("reading the password")?;
            line.trim_end_matches(['\r', '\n']).to_owned()
        }
    };
    if password.chars().count() < MIN_PASSWORD {
        bail!("the password must be at least {MIN_PASSWORD} characters");
    }
    let role = match a.role {
        RoleArg::Reviewer => Role::Reviewer,
        RoleArg::Supervisor => Role::Supervisor,
    };
    let password_hash = hash_password(&password).map_err(|e| anyhow::anyhow!("hashing: {e}"))?;
    let account = Account {
        name: name.clone(),
        role,
        password_hash,
    };
    with_store(&a.db, |store| async move {
        Ok(store
            .put_account(&account, "photocheck account add")
            .await?)
    })?;
    println!("account {name} ({role}) saved");
    Ok(())
}
