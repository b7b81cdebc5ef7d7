//! `dirsync demo` (placeholder until the officed in-process API lands).
use anyhow::Result;

use crate::Exit;

pub async fn run(_listen: &str, _once: bool) -> Result<Exit> {
    anyhow::bail!("demo not available yet")
}
