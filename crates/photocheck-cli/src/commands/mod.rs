//! The command tree, dispatch, exit statuses, and what the subcommands share (profile loading, today).

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context as _, Result};
use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use photocheck_core::{Context, Profile};

mod account;
mod batch;
mod check;
mod deadline;
mod profile;
mod samples;
mod service;
mod tune;

/// Every photo approved.
pub const EXIT_APPROVED: u8 = 0;
/// At least one photo sent to review or rejected.
pub const EXIT_FLAGGED: u8 = 1;
/// Usage errors, paths that cannot be read (or overlays that cannot be written).
pub const EXIT_USAGE: u8 = 2;

#[derive(Debug, Parser)]
#[command(
    name = "photocheck",
    version,
    about = "Screens identity photos for the electronic driving licence"
)]
pub struct Cli {
    /// Profile file (TOML) to use instead of the built-in default.
    #[arg(long, global = true, value_name = "FILE")]
    pub profile: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check photos and print a table (or JSON lines) per photo.
    Check(check::CheckArgs),
    /// Check every photo in a directory in parallel and write JSON lines.
    Batch(batch::BatchArgs),
    /// Show or list profiles.
    #[command(subcommand)]
    Profile(profile::ProfileCommand),
    /// Run the API and the workers in one process on SQLite and a local folder (no services needed).
    Serve(service::ServeArgs),
    /// Run the HTTP intake API on PostgreSQL and RabbitMQ (multi-node).
    Api(service::ServiceArgs),
    /// Run a queue worker on PostgreSQL and RabbitMQ (multi-node; start as many as the load needs).
    Worker(service::ServiceArgs),
    /// Print when the screening of a submission received at a given time is due (working days only).
    Deadline(deadline::DeadlineArgs),
    /// Manage reviewer and supervisor logins for the review pages.
    #[command(subcommand)]
    Account(account::AccountCommand),
    /// Check labelled sample sets against a profile: decisions, per-rule statistics, threshold
    /// sweeps, a proposed profile and an HTML report.
    Tune(tune::TuneArgs),
    /// Which labelled photos change decision between two profiles, and why.
    Compare(tune::CompareArgs),
    /// Build or export labelled sample sets for threshold tuning.
    #[command(subcommand)]
    Samples(samples::SamplesCommand),
}

pub fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Check(args) => check::run(args, &load_profile(cli.profile.as_deref())?),
        Command::Batch(args) => batch::run(args, &load_profile(cli.profile.as_deref())?),
        Command::Profile(cmd) => profile::run(cmd, cli.profile.as_deref()),
        Command::Serve(args) => {
            service::serve(args, load_profile(cli.profile.as_deref())?).map(|()| ExitCode::SUCCESS)
        }
        Command::Api(args) => {
            service::api(args, load_profile(cli.profile.as_deref())?).map(|()| ExitCode::SUCCESS)
        }
        Command::Worker(args) => {
            service::worker(args, load_profile(cli.profile.as_deref())?).map(|()| ExitCode::SUCCESS)
        }
        Command::Deadline(args) => deadline::run(args),
        Command::Account(cmd) => account::run(cmd).map(|()| ExitCode::SUCCESS),
        Command::Tune(args) => tune::tune(args, &load_profile(cli.profile.as_deref())?),
        Command::Compare(args) => tune::compare(args),
        Command::Samples(cmd) => samples::run(cmd).map(|()| ExitCode::SUCCESS),
    }
}

/// The profile file given with `--profile`, or the built-in default.
pub fn load_profile(path: Option<&Path>) -> Result<Profile> {
    match path {
        None => Ok(Profile::default_profile()),
        Some(p) => {
            let text = std::fs::read_to_string(p)
                .with_context(|| format!("cannot read profile {}", p.display()))?;
            Profile::from_toml(&text).with_context(|| format!("profile {}", p.display()))
        }
    }
}

/// The date photos are checked against (their age), in the local time zone, as applicants see it.
pub fn today() -> Context {
    Context::on(chrono::Local::now().date_naive())
}

/// The exit status for a run: unreadable paths first, then whether everything was approved.
pub fn exit_status(any_unreadable: bool, all_approved: bool) -> ExitCode {
    ExitCode::from(if any_unreadable {
        EXIT_USAGE
    } else if all_approved {
        EXIT_APPROVED
    } else {
        EXIT_FLAGGED
    })
}

/// A progress bar on stderr when it is a terminal (hidden otherwise, so logs and pipes stay clean).
pub fn progress_bar(len: u64) -> ProgressBar {
    let target = if std::io::stderr().is_terminal() {
        ProgressDrawTarget::stderr()
    } else {
        ProgressDrawTarget::hidden()
    };
    let style = ProgressStyle::with_template(
        "{elapsed_precise} [{wide_bar}] {pos}/{len} {per_sec} eta {eta}",
    )
    .expect("the template is valid");
    ProgressBar::with_draw_target(Some(len), target).with_style(style)
}

/// Creates the overlay directory up front, so a bad path fails before any photo is checked.
pub fn create_overlay_dir(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir)
        .with_context(|| format!("cannot create annotation directory {}", dir.display()))
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn verify_cli() {
        Cli::command().debug_assert();
    }
}
