//! `photocheck samples export --out DIR` (being written: issue 5).

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Folder to write the photos, labels.csv and set.toml into.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
}

pub fn run(args: ExportArgs) -> Result<()> {
    anyhow::bail!("samples export is not written yet ({})", args.out.display())
}
