//! The engine's stats of every container of the system under test around fio's run (the
//! engine's stats stream: one sample a second per container), and what the S3 server received
//! in that time.
//!
//! The streams run from the system's first cell to its last, so a sample taken before fio
//! starts is at hand without waiting, and a cell waits for the first sample after fio ended
//! while it removes its files. The span's bytes run from the last sample before fio to the first
//! after it (up to a second more than fio on each side, in which the cell does no I/O); CPU %
//! is over the samples inside fio's run when there are two, so idle time does not dilute it.
//! A one-shot request would not help: the engine answers it at its next collection, up to a
//! second later, just as the stream does.

use super::cell::{ContainerUse, S3Use};
use crate::engine::{DockerEngine, Labelled, SpanUse, StatSample};
use crate::orchestration::labels::{LABEL_PLUGIN, LABEL_SERVICE};
use futures_util::StreamExt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// The plugin whose containers are the S3 server benchhost's S3-backed systems use.
pub const S3_PLUGIN: &str = "localstack";

/// How long to wait for a container's first sample after fio (the engine collects every
/// second; a stopped container sends none).
const LAST_SAMPLE_WAIT: Duration = Duration::from_millis(2500);

/// The pause before a stream that ended is opened again.
const STREAM_REOPEN_PAUSE: Duration = Duration::from_millis(250);

/// Samples of one container with the moment each arrived.
type Samples = Arc<Mutex<Vec<(Instant, StatSample)>>>;

/// Sampling in progress (see [`Sampler::start`]).
pub struct Sampler {
    readings: Vec<(Labelled, Samples, tokio::task::JoinHandle<()>)>,
    stop: watch::Sender<bool>,
}

impl Sampler {
    /// Starts reading the stats stream of each of `containers` (returns at once).
    pub fn start(engine: &DockerEngine, containers: &[Labelled]) -> Sampler {
        let (stop, rx) = watch::channel(false);
        let readings = containers
            .iter()
            .map(|c| {
                let samples: Samples = Arc::new(Mutex::new(Vec::new()));
                let (into, mut rx, engine, id) = (samples.clone(), rx.clone(), engine.clone(), c.id.clone());
                let task = tokio::spawn(async move {
                    // A stream ends when its container stops; a container the cold pass
                    // restarted (see `up::cold`) is read again from a new stream.
                    'streams: loop {
                        let mut stream = std::pin::pin!(engine.stats_stream(&id));
                        loop {
                            tokio::select! {
                                next = stream.next() => match next {
                                    Some(Ok(s)) => into.lock().unwrap_or_else(|e| e.into_inner()).push((Instant::now(), s)),
                                    _ => break,
                                },
                                _ = rx.changed() => break 'streams,
                            }
                        }
                        tokio::select! {
                            _ = tokio::time::sleep(STREAM_REOPEN_PAUSE) => {}
                            _ = rx.changed() => break 'streams,
                        }
                    }
                });
                (c.clone(), samples, task)
            })
            .collect();
        Sampler { readings, stop }
    }

    /// Waits (at most [`LAST_SAMPLE_WAIT`]) until every container has a sample, so fio starts
    /// with a baseline (a cell without a layout starts fio right after the streams).
    pub async fn ready(&self) {
        let deadline = Instant::now() + LAST_SAMPLE_WAIT;
        while Instant::now() < deadline && self.readings.iter().any(|(_, s, _)| s.lock().unwrap_or_else(|e| e.into_inner()).is_empty()) {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Waits for each container's first sample after `fio_end` (at most [`LAST_SAMPLE_WAIT`]),
    /// and works out each container's use over fio's run (`fio_start` to `fio_end`), with the
    /// S3 server's traffic when one of them is [`S3_PLUGIN`]'s. Samples older than this span
    /// are dropped (the next cell starts after it).
    pub async fn span(&self, fio_start: Instant, fio_end: Instant) -> (Vec<ContainerUse>, Option<S3Use>) {
        let deadline = Instant::now() + LAST_SAMPLE_WAIT;
        let has_end = |s: &Samples| s.lock().unwrap_or_else(|e| e.into_inner()).iter().any(|(t, _)| *t > fio_end);
        while Instant::now() < deadline && !self.readings.iter().all(|(_, s, _)| has_end(s)) {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let mut uses = Vec::new();
        let mut s3 = None;
        for (c, samples, _) in &self.readings {
            let mut samples = samples.lock().unwrap_or_else(|e| e.into_inner());
            let span = span_of(&samples, fio_start, fio_end);
            // Keep the last sample up to fio's end: the next cell's baseline may be it.
            let keep = samples.iter().rposition(|(t, _)| *t <= fio_end).unwrap_or(0);
            samples.drain(..keep);
            if c.labels.get(LABEL_PLUGIN).is_some_and(|p| p == S3_PLUGIN) {
                s3 = Some(S3Use {
                    source: format!("network counters of {} (the S3 server): request and response bytes, headers included", c.name),
                    requests: None,
                    bytes_in: span.net_rx_bytes,
                    bytes_out: span.net_tx_bytes,
                });
            }
            uses.push(container_use(c, &span));
        }
        (uses, s3)
    }

    /// Ends the streams.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        for (_, _, task) in self.readings {
            let _ = task.await;
        }
    }
}

/// The use over fio's run from timestamped samples: bytes and peaks from the last sample
/// before `start` to the first after `end`; the mean CPU from the samples inside the run when
/// there are at least two, else from the same outer span.
pub fn span_of(samples: &[(Instant, StatSample)], start: Instant, end: Instant) -> SpanUse {
    let first = samples.iter().rposition(|(t, _)| *t <= start).unwrap_or(0);
    let last = samples.iter().position(|(t, _)| *t > end).unwrap_or(samples.len().saturating_sub(1));
    let outer: Vec<StatSample> = samples.get(first..=last).unwrap_or_default().iter().map(|(_, s)| *s).collect();
    let mut span = SpanUse::of(&outer);
    let inner: Vec<StatSample> = samples.iter().filter(|(t, _)| *t > start && *t <= end).map(|(_, s)| *s).collect();
    if inner.len() >= 2 {
        span.cpu_percent_mean = SpanUse::of(&inner).cpu_percent_mean;
    }
    span
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_span_runs_from_the_last_sample_before_fio_to_the_first_after() {
        let t0 = Instant::now();
        let at = |s: u64| t0 + Duration::from_secs(s);
        let s = |rx: u64, cpu: u64, sys: u64| StatSample { cpu_total_ns: cpu, system_cpu_ns: sys, online_cpus: 1, net_rx_bytes: rx, ..Default::default() };
        // Samples at 0..=6 s; fio from 1.5 s to 4.5 s. Bytes move only during fio.
        let samples = vec![(at(0), s(0, 0, 0)), (at(1), s(0, 0, 1000)), (at(2), s(100, 500, 2000)), (at(3), s(200, 1000, 3000)), (at(4), s(300, 1500, 4000)), (at(5), s(400, 1600, 5000)), (at(6), s(400, 1600, 6000))];
        let span = span_of(&samples, t0 + Duration::from_millis(1500), t0 + Duration::from_millis(4500));
        // From the sample at 1 s to the one at 5 s.
        assert_eq!((span.net_rx_bytes, span.samples), (400, 5));
        // CPU from the samples inside (2, 3, 4 s): 1000 ns over 2000 ns = 50 %.
        assert!((span.cpu_percent_mean - 50.0).abs() < 1e-9, "{span:?}");
        assert_eq!(span_of(&[], t0, t0), SpanUse::default());
    }
}
