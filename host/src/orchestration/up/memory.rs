//! A failed `up` whose containers ran out of memory says so and names `BENCH_MEM_LIMIT`: without
//! it, a server the kernel killed at its limit looks like a crash ("exited with code 137") and a
//! bootstrap starved of memory like a plugin's timeout.

use crate::engine::DockerEngine;
use crate::orchestration::labels::LABEL_RUN;

/// The containers of run `run_id` that were killed for memory or reached at least 90% of their
/// limit, each as `NAME (what happened)`; empty when none did or the engine cannot tell.
pub async fn starved(engine: &DockerEngine, run_id: &str) -> Vec<String> {
    let Ok(found) = engine.list_labelled(LABEL_RUN, run_id).await else { return Vec::new() };
    let uses = futures_util::future::join_all(found.containers.iter().map(|c| engine.memory_use(&c.id))).await;
    found
        .containers
        .iter()
        .zip(uses)
        .filter_map(|(c, used)| {
            let used = used.ok().filter(|u| u.at_limit())?;
            let what = if used.oom_killed {
                "killed by the kernel for lack of memory".to_string()
            } else if used.limit_bytes > 0 {
                format!("{} of its {} MiB limit in use", used.working_set_bytes.min(used.limit_bytes) >> 20, used.limit_bytes >> 20)
            } else {
                "reached its memory limit".to_string()
            };
            Some(format!("{} ({what})", c.name))
        })
        .collect()
}
