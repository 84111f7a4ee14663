//! The engine's stats of every container of the system under test, sampled while fio runs
//! (one sample a second per container, from the engine's stats stream), and what the S3 server
//! received in that time.

use super::cell::{ContainerUse, S3Use};
use crate::engine::{DockerEngine, Labelled, SpanUse, StatSample};
use crate::orchestration::labels::{LABEL_PLUGIN, LABEL_SERVICE};
use futures_util::StreamExt;
use std::sync::{Arc, Mutex};
use tokio::sync::watch;

/// The plugin whose containers are the S3 server benchhost's S3-backed systems use.
pub const S3_PLUGIN: &str = "localstack";

/// One container's samples so far and the task reading its stream.
type Reading = (Labelled, Arc<Mutex<Vec<StatSample>>>, tokio::task::JoinHandle<()>);

/// Sampling in progress (see [`Sampler::start`]).
pub struct Sampler {
    tasks: Vec<Reading>,
    stop: watch::Sender<bool>,
}

impl Sampler {
    /// Takes a first sample of each of `containers` now (the start of the span: the engine
    /// answers a one-shot request at once, where a stream's first sample may come a second
    /// later), then keeps reading their stats streams for the peaks in between.
    pub async fn start(engine: &DockerEngine, containers: &[Labelled]) -> Sampler {
        let first = futures_util::future::join_all(containers.iter().map(|c| engine.stats_once(&c.id))).await;
        let (stop, rx) = watch::channel(false);
        let tasks = containers
            .iter()
            .zip(first)
            .map(|(c, first)| {
                let samples = Arc::new(Mutex::new(first.ok().into_iter().collect::<Vec<_>>()));
                let (into, mut rx, stream) = (samples.clone(), rx.clone(), engine.stats_stream(&c.id));
                let task = tokio::spawn(async move {
                    let mut stream = std::pin::pin!(stream);
                    // The stream's first sample is the engine's last collection, which may be
                    // older than the one-shot start: it is dropped.
                    let mut skipped = false;
                    loop {
                        tokio::select! {
                            next = stream.next() => match next {
                                Some(Ok(_)) if !skipped => skipped = true,
                                Some(Ok(s)) => into.lock().unwrap_or_else(|e| e.into_inner()).push(s),
                                _ => break,
                            },
                            _ = rx.changed() => break,
                        }
                    }
                });
                (c.clone(), samples, task)
            })
            .collect();
        Sampler { tasks, stop }
    }

    /// Ends the sampling and works out each container's use over the span, with the S3 server's
    /// traffic when one of the containers is [`S3_PLUGIN`]'s.
    pub async fn finish(self, engine: &DockerEngine) -> (Vec<ContainerUse>, Option<S3Use>) {
        // One last sample of each, so the span ends when fio did (the stream's is up to 1 s old).
        let last = futures_util::future::join_all(self.tasks.iter().map(|(c, _, _)| engine.stats_once(&c.id))).await;
        let _ = self.stop.send(true);
        let mut uses = Vec::new();
        let mut s3 = None;
        for ((c, samples, task), last) in self.tasks.into_iter().zip(last) {
            let _ = task.await;
            let mut samples = std::mem::take(&mut *samples.lock().unwrap_or_else(|e| e.into_inner()));
            samples.extend(last.ok());
            let span = SpanUse::of(&samples);
            if c.labels.get(LABEL_PLUGIN).is_some_and(|p| p == S3_PLUGIN) {
                s3 = Some(S3Use {
                    source: format!("network counters of {} (the S3 server): request and response bytes, headers included", c.name),
                    requests: None,
                    bytes_in: span.net_rx_bytes,
                    bytes_out: span.net_tx_bytes,
                });
            }
            uses.push(container_use(&c, &span));
        }
        (uses, s3)
    }
}

fn container_use(c: &Labelled, s: &SpanUse) -> ContainerUse {
    ContainerUse {
        container: c.name.clone(),
        service: c.labels.get(LABEL_SERVICE).cloned().unwrap_or_default(),
        cpu_percent_mean: (s.cpu_percent_mean * 10.0).round() / 10.0,
        cpu_percent_max: (s.cpu_percent_max * 10.0).round() / 10.0,
        memory_peak_bytes: s.memory_peak_bytes,
        net_rx_bytes: s.net_rx_bytes,
        net_tx_bytes: s.net_tx_bytes,
        blk_read_bytes: s.blk_read_bytes,
        blk_write_bytes: s.blk_write_bytes,
        samples: s.samples,
    }
}
