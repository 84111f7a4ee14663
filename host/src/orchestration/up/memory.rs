//! A failed `up` whose containers ran out of memory says so and names `BENCH_MEM_LIMIT`: without
//! it, a server the kernel killed at its limit looks like a crash ("exited with code 137") and a
//! bootstrap starved of memory like a plugin's timeout.

use crate::engine::DockerEngine;
use crate::orchestration::error::BenchError;
use crate::orchestration::labels::LABEL_RUN;

/// Whether a failure like `error` can come from too little memory: a container that exited, a
/// wait or a plugin operation that ran out of time. Not a refusal of the engine, a setting, a
/// name or a plugin's output, whatever the memory in use.
pub fn may_be_memory(error: &BenchError) -> bool {
    matches!(error, BenchError::Other(_) | BenchError::Timeout(_) | BenchError::Plugin(_))
}

/// The containers of run `run_id` that were killed for memory or reached at least 90% of their
/// limit, each as `NAME (what happened)`, and whether one was killed; empty when none did or
/// the engine cannot tell.
pub async fn starved(engine: &DockerEngine, run_id: &str) -> (Vec<String>, bool) {
    let Ok(found) = engine.list_labelled(LABEL_RUN, run_id).await else { return (Vec::new(), false) };
    let uses: Vec<_> = futures_util::future::join_all(found.containers.iter().map(|c| engine.memory_use(&c.id))).await;
    let killed = uses.iter().any(|u| u.as_ref().is_ok_and(|u| u.oom_killed));
    let named = found
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
        .collect();
    (named, killed)
}
