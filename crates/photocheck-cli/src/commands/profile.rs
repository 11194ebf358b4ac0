//! `photocheck profile show|list`: the profiles photos are checked against, as TOML.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{bail, Result};
use clap::Subcommand;
use photocheck_core::profile::DEFAULT_PROFILE;
use photocheck_core::Profile;

use super::load_profile;

#[derive(Debug, Subcommand)]
pub enum ProfileCommand {
    /// Print a profile as TOML: a built-in one by name (comments included), else the `--profile` file as
    /// parsed, else the default.
    Show {
        /// Built-in profile name.
        name: Option<String>,
    },
    /// List the built-in profile names, one per line.
    List,
}

pub fn run(cmd: ProfileCommand, file: Option<&Path>) -> Result<ExitCode> {
    match cmd {
        ProfileCommand::Show { name } => {
            let text = match (name, file) {
                (Some(name), _) => builtin_text(&name)?.to_owned(),
                // Parsed and printed back, so the output shows what the engine reads, defaults included.
                (None, Some(file)) => load_profile(Some(file))?.to_toml(),
                (None, None) => builtin_text(DEFAULT_PROFILE)?.to_owned(),
            };
            print!("{text}");
            if !text.ends_with('\n') {
                println!();
            }
        }
        ProfileCommand::List => {
            for name in Profile::builtin_names() {
                println!("{name}");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn builtin_text(name: &str) -> Result<&'static str> {
    match Profile::builtin_text(name) {
        Some(text) => Ok(text),
        None => bail!(
            "no built-in profile named {name:?}; built-in profiles: {}",
            Profile::builtin_names().join(", ")
        ),
    }
}
