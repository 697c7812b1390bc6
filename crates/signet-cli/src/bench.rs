//! `signet bench`: see BENCHMARKS.md.

#[derive(clap::Args, Debug)]
pub struct BenchArgs {}

pub async fn run(_args: BenchArgs) -> anyhow::Result<()> {
    anyhow::bail!("not built yet")
}
