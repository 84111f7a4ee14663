//! A system deployed afresh between two of its cells: when a cold cell's system cannot empty
//! its own cache in place (its plugin's `empty-cache` failed, as DittoFS v0.29.0's does once
//! overwrites or deletes pin its journal; see the dittofs plugin's doc), the old deployment is
//! unmounted and taken down (`down` removes its containers and volumes), a new one is brought
//! up (a new `up` run directory under `RUN/systems/`) and mounted, and the cell runs again from
//! its layout on. A fresh deployment is cold by construction: nothing was ever cached in it.

use super::attach::{attach, detach, Attached};
use super::client::Client;
use super::system::{bring_up, take_down, System};
use crate::engine::DockerEngine;
use crate::orchestration::commands::Session;
use crate::orchestration::error::BenchError;
use crate::orchestration::progress::say;
use std::path::Path;

/// Why a fresh deployment was not made.
#[derive(Debug)]
pub enum RedeployError {
    /// The old deployment did not go down: the matrix stops (the next system must run alone).
    Down(BenchError),
    /// The new one did not come up or could not be mounted: nothing of either is left up, and
    /// the system's remaining cells fail with this.
    Up(BenchError),
}

/// Replaces `system` (attached to `client` as `attached`) with a fresh deployment of its
/// profile, mounted on `client` the same way; returns it and its attachment.
pub async fn redeploy(session: &Session<'_>, engine: &DockerEngine, client: &mut Client, system: &System, attached: &Attached, systems_root: &Path, scratch: &Path) -> Result<(System, Attached), RedeployError> {
    if let Err(e) = detach(client, Some(system), attached).await {
        say(&format!("warning: {e}"));
    }
    take_down(session, &system.profile).await.map_err(RedeployError::Down)?;
    let new = bring_up(session, engine, &system.profile, systems_root).await.map_err(RedeployError::Up)?;
    match attach(session, client, Some(&new), scratch).await {
        Ok(a) => Ok((new, a)),
        Err(e) => {
            take_down(session, &new.profile).await.map_err(RedeployError::Down)?;
            Err(RedeployError::Up(e))
        }
    }
}
