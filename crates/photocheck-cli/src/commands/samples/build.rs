//! `photocheck samples build --from SET --out DIR` (being written: issue 5).

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;

#[derive(Debug, Args)]
pub struct BuildArgs {
    /// The labelled source set (its photos with crown_y, chin_y and centre_x are the sources).
    #[arg(long, value_name = "SET")]
    pub from: PathBuf,
    /// Folder to write the derived photos, labels.csv and set.toml into.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
}

pub fn run(args: BuildArgs) -> Result<()> {
    anyhow::bail!(
        "samples build is not written yet ({} -> {})",
        args.from.display(),
        args.out.display()
    )
}
