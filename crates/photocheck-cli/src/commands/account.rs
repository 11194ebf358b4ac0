//! `photocheck account add NAME --role reviewer|supervisor`: creates a reviewer or supervisor login,
//! or sets a new role and password for an existing one. The password comes from PHOTOCHECK_PASSWORD
//! or the first line of standard input, never from the command line (where `ps` would show it).

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

/// Shortest password accepted.
const MIN_PASSWORD: usize = 10;

pub fn run(cmd: AccountCommand) -> Result<()> {
    let AccountCommand::Add(a) = cmd;
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
    let database = match a.database {
        Some(url) => url,
        None => {
            std::fs::create_dir_all(&a.data)
                .with_context(|| format!("cannot create {}", a.data.display()))?;
            format!("sqlite:{}", a.data.join("photocheck.db").display())
        }
    };
    let password_hash = hash_password(&password).map_err(|e| anyhow::anyhow!("hashing: {e}"))?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let store = Store::connect(&database).await.with_context(|| {
            format!(
                "opening the database {}",
                photocheck_server::modes::redact(&database)
            )
        })?;
        store
            .put_account(
                &Account {
                    name: name.clone(),
                    role,
                    password_hash,
                },
                "photocheck account add",
            )
            .await?;
        anyhow::Ok(())
    })?;
    println!("account {name} ({role}) saved");
    Ok(())
}
