//! `benchhost status`: which engine, and the profiles that are up on it, with their containers
//! and health (each running container's healthcheck run once, now).

use crate::engine::DockerEngine;
use crate::orchestration::error::BenchError;
pub use crate::orchestration::teardown::status::{ContainerInfo, ProfileStatus};

/// What `status` found.
#[derive(Clone, Debug)]
pub struct StatusReport {
    /// The engine asked: `engine <version> API <api> at <url> (<what named it>)`.
    pub engine: String,
    /// Every profile with benchhost resources on that engine.
    pub profiles: Vec<ProfileStatus>,
    /// Runs an earlier command could not remove because the engine stopped answering, written
    /// down for the next `up`, `down` or `clean` against it to remove (`teardown::unfinished`).
    pub unfinished: Vec<crate::orchestration::teardown::unfinished::Unfinished>,
}

/// Every profile with benchhost resources on the engine, with each container's health now.
pub async fn status() -> Result<StatusReport, BenchError> {
    let engine = DockerEngine::connect().await?;
    let profiles = crate::orchestration::teardown::status::status(&engine).await?;
    let unfinished = crate::orchestration::teardown::unfinished::recorded(&engine);
    Ok(StatusReport { engine: engine.describe(), profiles, unfinished })
}
