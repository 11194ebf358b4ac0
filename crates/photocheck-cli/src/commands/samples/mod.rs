//! `photocheck samples`: labelled sample sets for tuning, derived from source portraits (`build`) or
//! exported from reviewers' decisions (`export`). The format is in samples/README.md.

use anyhow::Result;
use clap::Subcommand;

mod build;
mod export;

#[derive(Debug, Subcommand)]
pub enum SamplesCommand {
    /// Derive a labelled set from labelled source portraits by transformations with exact ground truth.
    Build(build::BuildArgs),
    /// Export reviewers' decisions from the database, with their photos, as a labelled set.
    Export(export::ExportArgs),
}

pub fn run(cmd: SamplesCommand) -> Result<()> {
    match cmd {
        SamplesCommand::Build(args) => build::run(args),
        SamplesCommand::Export(args) => export::run(args),
    }
}
