//! `benchhost status`: the profiles that are up, with their containers and health (each
//! running container's healthcheck run once, now).

use crate::engine::DockerEngine;
use crate::orchestration::error::BenchError;
pub use crate::orchestration::teardown::status::{ContainerInfo, ProfileStatus};

/// Every profile with benchhost resources on the engine, with each container's health now.
pub async fn status() -> Result<Vec<ProfileStatus>, BenchError> {
    let engine = DockerEngine::connect().await?;
    crate::orchestration::teardown::status::status(&engine).await
}
