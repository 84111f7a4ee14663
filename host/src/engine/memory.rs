//! How close a container came to its memory limit, so a failure caused by too little memory is
//! named as such instead of looking like a plugin's or a server's bug.

use super::{DockerEngine, EngineError};
use bollard::query_parameters::StatsOptionsBuilder;
use futures_util::StreamExt;

/// A container's memory against its limit (bytes), from `inspect` and one `stats` sample.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MemoryUse {
    /// The kernel's OOM killer ended the container (`State.OOMKilled`).
    pub oom_killed: bool,
    /// Memory in use that the kernel cannot simply drop: usage less the inactive page cache
    /// (`total_inactive_file` on cgroup v1, `inactive_file` on v2), as `docker stats` counts it.
    /// Page cache alone fills any limit and is reclaimed, so it is no sign of starvation. 0 once
    /// the container has stopped.
    pub working_set_bytes: u64,
    /// Its limit (`memory_stats.limit`); 0 when unknown.
    pub limit_bytes: u64,
}

impl MemoryUse {
    /// Killed for memory, or its working set is at least 90% of its limit.
    pub fn at_limit(&self) -> bool {
        self.oom_killed || (self.limit_bytes > 0 && self.working_set_bytes >= self.limit_bytes / 10 * 9)
    }
}

impl DockerEngine {
    /// The memory use of container `id`. Errors: [`EngineError::Api`] when it cannot be inspected.
    pub async fn memory_use(&self, id: &str) -> Result<MemoryUse, EngineError> {
        let inspect = self.docker.inspect_container(id, None).await.map_err(super::api(format!("inspecting container {id}")))?;
        let state = inspect.state.unwrap_or_default();
        let mut out = MemoryUse { oom_killed: state.oom_killed.unwrap_or(false), ..Default::default() };
        if state.running.unwrap_or(false) {
            let opts = StatsOptionsBuilder::new().stream(false).one_shot(true).build();
            if let Some(Ok(bollard::models::ContainerStatsResponse { memory_stats: Some(m), .. })) = self.docker.stats(id, Some(opts)).next().await {
                let stat = |k: &str| m.stats.as_ref().and_then(|s| s.get(k)).copied();
                let inactive = stat("total_inactive_file").or_else(|| stat("inactive_file")).unwrap_or(0);
                out.working_set_bytes = m.usage.unwrap_or(0).saturating_sub(inactive);
                out.limit_bytes = m.limit.unwrap_or(0);
            }
        }
        Ok(out)
    }
}
