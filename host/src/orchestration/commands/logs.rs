//! `benchhost logs`: a profile's container logs, merged by line (a secret cut across frames is
//! still removed), until they end or, with `follow`, until Ctrl-C.

use super::Session;
use crate::engine::DockerEngine;
use crate::orchestration::error::BenchError;
use crate::orchestration::labels::{LABEL_PROFILE, LABEL_SERVICE};
use crate::orchestration::log_lines::LineAssembler;
use crate::orchestration::progress::say;
use futures_util::StreamExt;

/// What `logs` is asked to show.
#[derive(Clone, Debug, Default)]
pub struct LogsRequest {
    pub profile: String,
    /// Only this service (its `benchhost.service` label); default every container.
    pub service: Option<String>,
    pub follow: bool,
    /// Only the last N lines of each container.
    pub tail: Option<usize>,
}

/// Streams the logs to `show(label, line)` (label: the service, given when more than one
/// container is shown; line without its newline). Errors: the profile is not up (usage, with
/// where a finished run's logs are), no such service (usage, naming the services).
pub async fn logs(session: &Session<'_>, req: LogsRequest, show: impl Fn(Option<&str>, &str)) -> Result<(), BenchError> {
    let mut guard = session.signals.guard();
    let engine = DockerEngine::connect().await?;
    let profile = &req.profile;
    let found = engine.list_labelled(LABEL_PROFILE, profile).await?;
    if found.containers.is_empty() {
        session.registry.find(profile)?;
        return Err(BenchError::Usage(format!("{profile} is not up: no containers\n  hint: logs of a finished run are in its results directory (logs/)")));
    }
    let service = req.service.as_ref();
    let mut containers: Vec<_> = found.containers.iter().filter(|c| service.is_none_or(|s| c.labels.get(LABEL_SERVICE) == Some(s))).collect();
    if containers.is_empty() {
        let services: Vec<&str> = found.containers.iter().filter_map(|c| c.labels.get(LABEL_SERVICE).map(String::as_str)).collect();
        return Err(BenchError::Usage(format!("{profile} has no service {:?}; its services: {}", req.service.clone().unwrap_or_default(), services.join(", "))));
    }
    containers.sort_by(|a, b| a.name.cmp(&b.name));
    let prefix = containers.len() > 1;
    let labels: Vec<String> = containers.iter().map(|c| c.labels.get(LABEL_SERVICE).cloned().unwrap_or_else(|| c.name.clone())).collect();
    let streams = containers.iter().enumerate().map(|(i, c)| engine.logs_stream(&c.id, req.follow, req.tail, false).map(move |line| (i, line)).boxed());
    let mut merged = futures_util::stream::select_all(streams);
    let mut assemblers: Vec<LineAssembler> = containers.iter().map(|_| LineAssembler::new(false, session.secrets)).collect();
    let emit = |i: usize, line: &str| show(prefix.then_some(labels[i].as_str()), line.trim_end_matches('\n'));
    let print = async {
        while let Some((i, line)) = merged.next().await {
            match line {
                Ok(l) => {
                    for complete in assemblers[i].push(l.stderr, &l.text) {
                        emit(i, &complete);
                    }
                }
                Err(e) => say(&format!("{}: {e}", labels[i])),
            }
        }
        for (i, a) in assemblers.iter_mut().enumerate() {
            for rest in a.finish() {
                emit(i, &rest);
            }
        }
    };
    tokio::select! {
        _ = print => {}
        _ = guard.interrupted() => {}
    }
    Ok(())
}
