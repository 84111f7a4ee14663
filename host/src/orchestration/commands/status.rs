//! `benchhost status`: the profiles that are up, with their containers and health.

use crate::engine::DockerEngine;
use crate::orchestration::error::BenchError;
pub use crate::orchestration::teardown::status::{ContainerInfo, ProfileStatus};

/// Every profile with benchhost resources on the engine.
pub async fn status() -> Result<Vec<ProfileStatus>, BenchError> {
    let engine = DockerEngine::connect().await?;
    crate::orchestration::teardown::status::status(&engine).await
}
