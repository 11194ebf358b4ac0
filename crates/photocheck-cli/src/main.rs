//! `photocheck`: the one binary. Subcommands: check, batch, profile, serve, api, worker, deadline.

mod commands;
mod photo;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = commands::Cli::parse();
    match commands::run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("photocheck: {e:#}");
            ExitCode::from(commands::EXIT_USAGE)
        }
    }
}
