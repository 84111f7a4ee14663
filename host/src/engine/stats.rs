//! A container's resource counters from the engine's stats stream (`GET /containers/{id}/stats`,
//! one sample about every second, as `docker stats` reads it), and the use over a span of time
//! worked out from the first and every later sample.
//!
//! CPU % is Docker CLI's formula (`docker/cli` `calculateCPUPercentUnix`): the container's CPU
//! time delta over the host's CPU time delta, times the online CPUs, times 100, so 200 % means
//! two CPUs busy. The working set is usage less the inactive page cache, as in [`super::memory`].
//! Network and block counters are cumulative in the engine; a span's bytes are last − first.

use super::{DockerEngine, EngineError};
use bollard::models::ContainerStatsResponse;
use bollard::query_parameters::StatsOptionsBuilder;
use futures_util::{Stream, StreamExt};

/// One stats sample's counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StatSample {
    /// The container's CPU time so far, ns.
    pub cpu_total_ns: u64,
    /// The host's CPU time so far (all CPUs), ns.
    pub system_cpu_ns: u64,
    pub online_cpus: u32,
    /// Usage less the inactive page cache, bytes.
    pub working_set_bytes: u64,
    /// Summed over the container's interfaces, since it started.
    pub net_rx_bytes: u64,
    pub net_tx_bytes: u64,
    /// Block device bytes read and written since it started (`io_service_bytes_recursive`,
    /// `Read`/`Write` on cgroup v1, `read`/`write` on v2).
    pub blk_read_bytes: u64,
    pub blk_write_bytes: u64,
}

impl StatSample {
    /// The counters of one engine response.
    pub fn from_response(r: &ContainerStatsResponse) -> StatSample {
        let cpu = r.cpu_stats.as_ref();
        let memory = r.memory_stats.as_ref();
        let stat = |k: &str| memory.and_then(|m| m.stats.as_ref()).and_then(|s| s.get(k)).copied();
        let inactive = stat("total_inactive_file").or_else(|| stat("inactive_file")).unwrap_or(0);
        let (mut rx, mut tx) = (0, 0);
        for n in r.networks.iter().flat_map(|m| m.values()) {
            rx += n.rx_bytes.unwrap_or(0);
            tx += n.tx_bytes.unwrap_or(0);
        }
        let (mut read, mut write) = (0, 0);
        for e in r.blkio_stats.iter().flat_map(|b| b.io_service_bytes_recursive.iter().flatten()) {
            match e.op.as_deref().map(str::to_ascii_lowercase).as_deref() {
                Some("read") => read += e.value.unwrap_or(0),
                Some("write") => write += e.value.unwrap_or(0),
                _ => {}
            }
        }
        StatSample {
            cpu_total_ns: cpu.and_then(|c| c.cpu_usage.as_ref()).and_then(|u| u.total_usage).unwrap_or(0),
            system_cpu_ns: cpu.and_then(|c| c.system_cpu_usage).unwrap_or(0),
            online_cpus: cpu.and_then(|c| c.online_cpus).unwrap_or(1).max(1),
            working_set_bytes: memory.and_then(|m| m.usage).unwrap_or(0).saturating_sub(inactive),
            net_rx_bytes: rx,
            net_tx_bytes: tx,
            blk_read_bytes: read,
            blk_write_bytes: write,
        }
    }

    /// CPU use between `earlier` and this sample, in % of one CPU; `None` when the host's CPU
    /// time did not move (the same sample twice).
    pub fn cpu_percent_since(&self, earlier: &StatSample) -> Option<f64> {
        let system = self.system_cpu_ns.checked_sub(earlier.system_cpu_ns).filter(|d| *d > 0)?;
        let container = self.cpu_total_ns.saturating_sub(earlier.cpu_total_ns);
        Some(container as f64 / system as f64 * f64::from(self.online_cpus) * 100.0)
    }
}

/// The use over a span, from its samples in order.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct SpanUse {
    pub cpu_percent_mean: f64,
    pub cpu_percent_max: f64,
    pub memory_peak_bytes: u64,
    pub net_rx_bytes: u64,
    pub net_tx_bytes: u64,
    pub blk_read_bytes: u64,
    pub blk_write_bytes: u64,
    pub samples: u32,
}

impl SpanUse {
    /// Works the span's use out of `samples` (oldest first). The mean CPU is over the whole span
    /// (first to last sample), not a mean of the per-interval figures.
    pub fn of(samples: &[StatSample]) -> SpanUse {
        let (Some(first), Some(last)) = (samples.first(), samples.last()) else { return SpanUse::default() };
        let max = samples.windows(2).filter_map(|w| w[1].cpu_percent_since(&w[0])).fold(0.0, f64::max);
        SpanUse {
            cpu_percent_mean: last.cpu_percent_since(first).unwrap_or(0.0),
            cpu_percent_max: max,
            memory_peak_bytes: samples.iter().map(|s| s.working_set_bytes).max().unwrap_or(0),
            net_rx_bytes: last.net_rx_bytes.saturating_sub(first.net_rx_bytes),
            net_tx_bytes: last.net_tx_bytes.saturating_sub(first.net_tx_bytes),
            blk_read_bytes: last.blk_read_bytes.saturating_sub(first.blk_read_bytes),
            blk_write_bytes: last.blk_write_bytes.saturating_sub(first.blk_write_bytes),
            samples: u32::try_from(samples.len()).unwrap_or(u32::MAX),
        }
    }
}

impl DockerEngine {
    /// The stats stream of container `id`: a sample about every second until the container
    /// stops or the stream is dropped. Errors: [`EngineError::Api`] per failed read.
    pub fn stats_stream(&self, id: &str) -> impl Stream<Item = Result<StatSample, EngineError>> + Send + 'static {
        let opts = StatsOptionsBuilder::new().stream(true).build();
        let what = format!("reading the stats of container {id}");
        self.docker.stats(id, Some(opts)).map(move |r| r.map(|r| StatSample::from_response(&r)).map_err(super::api(what.clone())))
    }

    /// One sample of container `id` now (`one-shot`: the engine answers at once instead of
    /// waiting for its next collection). Errors: [`EngineError::Api`]; the container is gone.
    pub async fn stats_once(&self, id: &str) -> Result<StatSample, EngineError> {
        let opts = StatsOptionsBuilder::new().stream(false).one_shot(true).build();
        match self.docker.stats(id, Some(opts)).next().await {
            Some(r) => r.map(|r| StatSample::from_response(&r)).map_err(super::api(format!("reading the stats of container {id}"))),
            None => Err(EngineError::Api { context: format!("reading the stats of container {id}"), detail: "the engine sent none".into() }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(cpu: u64, sys: u64, ws: u64, rx: u64, wr: u64) -> StatSample {
        StatSample { cpu_total_ns: cpu, system_cpu_ns: sys, online_cpus: 2, working_set_bytes: ws, net_rx_bytes: rx, net_tx_bytes: rx / 2, blk_read_bytes: 0, blk_write_bytes: wr }
    }

    #[test]
    fn a_span_is_worked_out_as_docker_stats_does() {
        // 2 CPUs: the host's CPU time grows by 2 s per wall second.
        let samples = [s(0, 0, 10, 100, 0), s(1_000_000_000, 2_000_000_000, 30, 1100, 50), s(1_500_000_000, 4_000_000_000, 20, 2100, 80)];
        let u = SpanUse::of(&samples);
        // 1 s of 2 s host time × 2 CPUs = 100 %; then 0.5 s → 50 %; overall 1.5/4 × 2 = 75 %.
        assert!((u.cpu_percent_max - 100.0).abs() < 1e-9, "{u:?}");
        assert!((u.cpu_percent_mean - 75.0).abs() < 1e-9, "{u:?}");
        assert_eq!((u.memory_peak_bytes, u.net_rx_bytes, u.net_tx_bytes, u.blk_write_bytes, u.samples), (30, 2000, 1000, 80, 3));
        assert_eq!(SpanUse::of(&[]), SpanUse::default());
        assert_eq!(s(5, 7, 0, 0, 0).cpu_percent_since(&s(5, 7, 0, 0, 0)), None);
    }
}
