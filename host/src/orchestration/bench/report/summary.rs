//! The cells of a run grouped by (system, workload, size, pass), their repeats reduced to
//! median, min and max, and `RUN/summary.csv`.
//!
//! `summary.csv` has one row per group (the repeats of one cell), columns ([`Row`]):
//! - `system`, `workload`, `size`, `pass`; `status`: `ok` (every repeat ok), `partial` (some
//!   failed) or `failed` (all failed); `repeats` (ok repeats, those the numbers come from),
//!   `failed` (failed repeats); `measure`: the workload's headline unit (`MB/s`, `IOPS`,
//!   `ops/s`).
//! - `mb_s_median|min|max` (10^6 bytes/s), `iops_median|min|max`, `ops_s_median|min|max`
//!   (metadata), `lat_p50_us`, `lat_p95_us`, `lat_p99_us` (medians over repeats); `phases_ops_s`:
//!   metadata's per-phase ops/s medians, `create=…;stat=…;unlink=…`. Definitions:
//!   [`crate::orchestration::bench::metrics`].
//! - Per system, summed over its containers, then the median over repeats: `cpu_percent_mean`
//!   (% of one CPU), `net_rx_bytes`, `net_tx_bytes` (traffic between two of the system's
//!   containers counts at both), `blk_read_bytes`, `blk_write_bytes`; `memory_peak_bytes`: the
//!   highest over repeats of the sum of the containers' peaks (an upper bound of the system's
//!   peak). Empty where no container was measured (`local`).
//! - `s3_bytes_in`, `s3_bytes_out`, `s3_requests`: what the S3 server received and sent
//!   (medians), empty for systems without S3.
//! - `error`, `logs`: the first failed repeat's error (secrets as `***`, as the cell file has
//!   it) and its log files, `;`-separated.
//!
//! A median of an even count is the mean of the two middle values. Empty means "not
//! applicable or not measured", never 0.

use super::load::LoadedCell;
use crate::orchestration::bench::cell::Pass;
use crate::orchestration::bench::metrics::{value_of, Measure};
use serde::Serialize;

/// The reference profile: the client's own disk, the ceiling line, never competing for "best".
pub const REFERENCE_PROFILE: &str = "local";

/// Built-in workloads in the order the report shows them; others follow by name.
const WORKLOAD_ORDER: [&str; 6] = ["metadata", "seq-write", "seq-read", "rand-read-4k", "rand-write-4k", "mixed-rw"];
/// `workloads/sizes.conf`'s sizes in their order; others follow by name.
const SIZE_ORDER: [&str; 3] = ["small", "medium", "large"];

/// Median, lowest and highest of a group's values, and how many there were.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Stats {
    pub median: f64,
    pub min: f64,
    pub max: f64,
    pub n: usize,
}

impl Stats {
    /// `None` for no values; NaNs are left out.
    pub fn of(values: impl IntoIterator<Item = f64>) -> Option<Stats> {
        let mut v: Vec<f64> = values.into_iter().filter(|x| !x.is_nan()).collect();
        if v.is_empty() {
            return None;
        }
        v.sort_by(f64::total_cmp);
        let n = v.len();
        let median = if n % 2 == 1 { v[n / 2] } else { (v[n / 2 - 1] + v[n / 2]) / 2.0 };
        Some(Stats { median, min: v[0], max: v[n - 1], n })
    }
}

/// A failed repeat.
#[derive(Clone, Debug)]
pub struct Failure {
    /// The cell's label (`ganesha seq-read/small/cold #2`) and repeat number.
    pub label: String,
    pub repeat: u32,
    pub error: String,
    /// The result file and the cell's log files, relative to the run directory.
    pub result: String,
    pub logs: Vec<String>,
}

/// The repeats of one cell (see the module doc for each value).
#[derive(Clone, Debug)]
pub struct Group {
    pub system: String,
    pub workload: String,
    pub size: String,
    pub pass: Pass,
    /// From the ok repeats; `None` when every repeat failed.
    pub measure: Option<Measure>,
    pub ok: usize,
    pub failures: Vec<Failure>,
    pub mb_per_s: Option<Stats>,
    pub iops: Option<Stats>,
    pub ops_per_s: Option<Stats>,
    pub p50_us: Option<Stats>,
    pub p95_us: Option<Stats>,
    pub p99_us: Option<Stats>,
    /// Metadata: each phase's ops/s over repeats, in fio's order.
    pub phases: Vec<(String, Stats)>,
    pub cpu_percent: Option<Stats>,
    pub memory_peak_bytes: Option<u64>,
    pub net_rx_bytes: Option<Stats>,
    pub net_tx_bytes: Option<Stats>,
    pub blk_read_bytes: Option<Stats>,
    pub blk_write_bytes: Option<Stats>,
    pub s3_bytes_in: Option<Stats>,
    pub s3_bytes_out: Option<Stats>,
    pub s3_requests: Option<Stats>,
}

impl Group {
    /// The headline number's stats (MB/s, IOPS or ops/s, as the workload's measure says).
    pub fn headline(&self) -> Option<Stats> {
        value_of(self.measure?, self.mb_per_s, self.iops, self.ops_per_s)
    }

    /// `ok`, `partial` or `failed`.
    pub fn status(&self) -> &'static str {
        match (self.ok, self.failures.len()) {
            (_, 0) => "ok",
            (0, _) => "failed",
            _ => "partial",
        }
    }
}

/// Groups `cells` by (system, workload, size, pass), in report order: workloads, sizes and
/// passes as [`workload_rank`] and [`size_rank`] sort them, systems by [`system_order`].
pub fn groups(cells: &[LoadedCell], baseline: Option<&str>) -> Vec<Group> {
    let mut keys: Vec<(String, String, String, Pass)> = Vec::new();
    for c in cells {
        let id = &c.result.cell;
        let key = (c.system().to_string(), id.workload.clone(), id.size.clone(), id.pass);
        if !keys.contains(&key) {
            keys.push(key);
        }
    }
    let systems = system_order(cells.iter().map(LoadedCell::system), baseline);
    keys.sort_by(|a, b| {
        (workload_rank(&a.1), size_rank(&a.2), a.3, systems.iter().position(|s| *s == a.0))
            .cmp(&(workload_rank(&b.1), size_rank(&b.2), b.3, systems.iter().position(|s| *s == b.0)))
    });
    keys.into_iter()
        .map(|(system, workload, size, pass)| {
            let members: Vec<&LoadedCell> =
                cells.iter().filter(|c| c.system() == system && c.result.cell.workload == workload && c.result.cell.size == size && c.result.cell.pass == pass).collect();
            group(system, workload, size, pass, &members)
        })
        .collect()
}

/// The systems of a run in report order: the baseline first, then by name, the reference
/// profile last.
pub fn system_order<'a>(systems: impl IntoIterator<Item = &'a str>, baseline: Option<&str>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for s in systems {
        if !out.iter().any(|o| o == s) {
            out.push(s.to_string());
        }
    }
    out.sort_by_key(|s| (Some(s.as_str()) != baseline, s == REFERENCE_PROFILE, s.clone()));
    out
}

/// Sort key of a workload: built-ins in [`WORKLOAD_ORDER`], then the rest by name.
pub fn workload_rank(w: &str) -> (usize, String) {
    (WORKLOAD_ORDER.iter().position(|k| *k == w).unwrap_or(WORKLOAD_ORDER.len()), w.to_string())
}

/// Sort key of a size: `small`, `medium`, `large`, then the rest by name.
pub fn size_rank(s: &str) -> (usize, String) {
    (SIZE_ORDER.iter().position(|k| *k == s).unwrap_or(SIZE_ORDER.len()), s.to_string())
}

fn group(system: String, workload: String, size: String, pass: Pass, members: &[&LoadedCell]) -> Group {
    let ok: Vec<_> = members.iter().filter_map(|c| c.metrics.as_ref().ok().map(|m| (*c, m))).collect();
    let failures = members
        .iter()
        .filter_map(|c| {
            let error = c.metrics.as_ref().err()?;
            Some(Failure { label: c.result.cell.label(), repeat: c.result.cell.repeat, error: error.clone(), result: c.path.display().to_string(), logs: c.result.logs.clone() })
        })
        .collect();
    let stat = |f: &dyn Fn(&crate::orchestration::bench::metrics::CellMetrics) -> Option<f64>| Stats::of(ok.iter().filter_map(|(_, m)| f(m)));
    let mut phases: Vec<(String, Stats)> = Vec::new();
    // Metadata: each phase's ops/s (its operations over its runtime) over the repeats.
    if let Some((_, first)) = ok.first().filter(|(_, m)| m.measure == Measure::Metadata) {
        for p in &first.phases {
            let rates = ok.iter().filter_map(|(_, m)| m.phases.iter().find(|q| q.name == p.name)).filter(|q| q.seconds > 0.0).map(|q| q.ios as f64 / q.seconds);
            if let Some(s) = Stats::of(rates) {
                phases.push((p.name.clone(), s));
            }
        }
    }
    // Resources: per repeat, summed over the system's containers (none measured: no value).
    let sum = |f: &dyn Fn(&crate::orchestration::bench::cell::ContainerUse) -> f64| {
        Stats::of(ok.iter().filter(|(c, _)| !c.result.resources.is_empty()).map(|(c, _)| c.result.resources.iter().map(f).sum::<f64>()))
    };
    let s3 = |f: &dyn Fn(&crate::orchestration::bench::cell::S3Use) -> Option<f64>| Stats::of(ok.iter().filter_map(|(c, _)| c.result.s3.as_ref().and_then(f)));
    Group {
        measure: ok.first().map(|(_, m)| m.measure),
        ok: ok.len(),
        failures,
        mb_per_s: stat(&|m| m.mb_per_s),
        iops: stat(&|m| m.iops),
        ops_per_s: stat(&|m| m.ops_per_s),
        p50_us: stat(&|m| m.latency.map(|l| l.p50_us)),
        p95_us: stat(&|m| m.latency.map(|l| l.p95_us)),
        p99_us: stat(&|m| m.latency.map(|l| l.p99_us)),
        phases,
        cpu_percent: sum(&|u| u.cpu_percent_mean),
        memory_peak_bytes: sum(&|u| u.memory_peak_bytes as f64).map(|s| s.max as u64),
        net_rx_bytes: sum(&|u| u.net_rx_bytes as f64),
        net_tx_bytes: sum(&|u| u.net_tx_bytes as f64),
        blk_read_bytes: sum(&|u| u.blk_read_bytes as f64),
        blk_write_bytes: sum(&|u| u.blk_write_bytes as f64),
        s3_bytes_in: s3(&|s| Some(s.bytes_in as f64)),
        s3_bytes_out: s3(&|s| Some(s.bytes_out as f64)),
        s3_requests: s3(&|s| s.requests.map(|r| r as f64)),
        system,
        workload,
        size,
        pass,
    }
}

/// One line of `summary.csv` (the columns, in order: see the module doc).
#[derive(Debug, Serialize)]
pub struct Row {
    pub system: String,
    pub workload: String,
    pub size: String,
    pub pass: &'static str,
    pub status: &'static str,
    pub repeats: usize,
    pub failed: usize,
    pub measure: Option<&'static str>,
    pub mb_s_median: Option<f64>,
    pub mb_s_min: Option<f64>,
    pub mb_s_max: Option<f64>,
    pub iops_median: Option<f64>,
    pub iops_min: Option<f64>,
    pub iops_max: Option<f64>,
    pub ops_s_median: Option<f64>,
    pub ops_s_min: Option<f64>,
    pub ops_s_max: Option<f64>,
    pub lat_p50_us: Option<f64>,
    pub lat_p95_us: Option<f64>,
    pub lat_p99_us: Option<f64>,
    pub phases_ops_s: String,
    pub cpu_percent_mean: Option<f64>,
    pub memory_peak_bytes: Option<u64>,
    pub net_rx_bytes: Option<u64>,
    pub net_tx_bytes: Option<u64>,
    pub blk_read_bytes: Option<u64>,
    pub blk_write_bytes: Option<u64>,
    pub s3_bytes_in: Option<u64>,
    pub s3_bytes_out: Option<u64>,
    pub s3_requests: Option<u64>,
    pub error: String,
    pub logs: String,
}

impl Row {
    /// The row of a group. Floats are rounded to 6 decimals (MB/s from fio's integer `bw_bytes`
    /// stays exact), byte counts to whole bytes.
    pub fn of(g: &Group) -> Row {
        let r = |x: f64| (x * 1e6).round() / 1e6;
        let med = |s: Option<Stats>| s.map(|s| r(s.median));
        let min = |s: Option<Stats>| s.map(|s| r(s.min));
        let max = |s: Option<Stats>| s.map(|s| r(s.max));
        let bytes = |s: Option<Stats>| s.map(|s| s.median.round() as u64);
        let first = g.failures.first();
        Row {
            system: g.system.clone(),
            workload: g.workload.clone(),
            size: g.size.clone(),
            pass: g.pass.name(),
            status: g.status(),
            repeats: g.ok,
            failed: g.failures.len(),
            measure: g.measure.map(Measure::unit),
            mb_s_median: med(g.mb_per_s),
            mb_s_min: min(g.mb_per_s),
            mb_s_max: max(g.mb_per_s),
            iops_median: med(g.iops),
            iops_min: min(g.iops),
            iops_max: max(g.iops),
            ops_s_median: med(g.ops_per_s),
            ops_s_min: min(g.ops_per_s),
            ops_s_max: max(g.ops_per_s),
            lat_p50_us: med(g.p50_us),
            lat_p95_us: med(g.p95_us),
            lat_p99_us: med(g.p99_us),
            phases_ops_s: g.phases.iter().map(|(name, s)| format!("{name}={}", r(s.median))).collect::<Vec<_>>().join(";"),
            cpu_percent_mean: med(g.cpu_percent),
            memory_peak_bytes: g.memory_peak_bytes,
            net_rx_bytes: bytes(g.net_rx_bytes),
            net_tx_bytes: bytes(g.net_tx_bytes),
            blk_read_bytes: bytes(g.blk_read_bytes),
            blk_write_bytes: bytes(g.blk_write_bytes),
            s3_bytes_in: bytes(g.s3_bytes_in),
            s3_bytes_out: bytes(g.s3_bytes_out),
            s3_requests: bytes(g.s3_requests),
            error: first.map(|f| f.error.clone()).unwrap_or_default(),
            logs: first.map(|f| f.logs.join(";")).unwrap_or_default(),
        }
    }
}

/// The text of `summary.csv`: a header and one [`Row`] per group.
///
/// Errors: the csv writer's, naming the row (none expected: every field is plain data).
pub fn csv_text(groups: &[Group]) -> Result<Vec<u8>, String> {
    let mut w = csv::Writer::from_writer(Vec::new());
    for g in groups {
        w.serialize(Row::of(g)).map_err(|e| format!("summary.csv, row {} {}/{}/{}: {e}", g.system, g.workload, g.size, g.pass.name()))?;
    }
    w.into_inner().map_err(|e| format!("summary.csv: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_min_max() {
        assert_eq!(Stats::of([3.0, 1.0, 2.0]), Some(Stats { median: 2.0, min: 1.0, max: 3.0, n: 3 }));
        assert_eq!(Stats::of([4.0, 1.0, 2.0, 10.0]), Some(Stats { median: 3.0, min: 1.0, max: 10.0, n: 4 }));
        assert_eq!(Stats::of([7.5]), Some(Stats { median: 7.5, min: 7.5, max: 7.5, n: 1 }));
        assert_eq!(Stats::of([f64::NAN, 2.0]).map(|s| s.n), Some(1));
        assert_eq!(Stats::of(Vec::new()), None);
    }

    #[test]
    fn repeats_reduce_to_median_min_max_and_failures_to_rows() {
        use super::super::fixture::{failed, ok};
        let cells = vec![
            ok("a", "small", Pass::Cold, 1, 100.0, &[]),
            ok("a", "small", Pass::Cold, 2, 300.0, &[]),
            ok("a", "small", Pass::Cold, 3, 200.0, &[]),
            failed("b", "small", Pass::Cold, 1, "fio exited with status 1"),
            ok("c", "small", Pass::Cold, 1, 50.0, &[]),
            failed("c", "small", Pass::Cold, 2, "timed out"),
        ];
        let groups = groups(&cells, None);
        let names: Vec<_> = groups.iter().map(|g| (g.system.as_str(), g.status(), g.ok, g.failures.len())).collect();
        assert_eq!(names, [("a", "ok", 3, 0), ("b", "failed", 0, 1), ("c", "partial", 1, 1)]);
        assert_eq!(groups[0].mb_per_s, Some(Stats { median: 200.0, min: 100.0, max: 300.0, n: 3 }));
        assert_eq!(groups[0].headline(), groups[0].mb_per_s);
        let a = Row::of(&groups[0]);
        assert_eq!((a.mb_s_median, a.mb_s_min, a.mb_s_max, a.iops_median), (Some(200.0), Some(100.0), Some(300.0), Some(3000.0)));
        assert_eq!((a.lat_p99_us, a.cpu_percent_mean, a.memory_peak_bytes), (Some(2200.0), None, None));
        let b = Row::of(&groups[1]);
        assert_eq!((b.status, b.repeats, b.failed, b.mb_s_median, b.measure), ("failed", 0, 1, None, None));
        assert_eq!((b.error.as_str(), b.logs.as_str()), ("fio exited with status 1", "logs/b/server.log"));
        let csv = String::from_utf8(csv_text(&groups).unwrap()).unwrap();
        let lines: Vec<&str> = csv.lines().collect();
        assert!(lines[0].starts_with("system,workload,size,pass,status,repeats,failed,measure,mb_s_median,mb_s_min,mb_s_max,iops_median"), "{}", lines[0]);
        assert!(lines[1].starts_with("a,seq-read,small,cold,ok,3,0,MB/s,200.0,100.0,300.0,3000.0,1500.0,4500.0,,,,1.0,2.0,2200.0,"), "{}", lines[1]);
        assert!(lines[2].starts_with("b,seq-read,small,cold,failed,0,1,,,,"), "{}", lines[2]);
        assert!(lines[2].ends_with(",fio exited with status 1,logs/b/server.log"), "{}", lines[2]);
        assert_eq!(lines.len(), 4);
    }

    #[test]
    fn resources_are_summed_over_containers_then_reduced_over_repeats() {
        use super::super::fixture::ok;
        use crate::orchestration::bench::cell::{ContainerUse, S3Use};
        let mut cells = vec![ok("a", "small", Pass::Warm, 1, 10.0, &[]), ok("a", "small", Pass::Warm, 2, 10.0, &[])];
        for (i, c) in cells.iter_mut().enumerate() {
            let k = i as u64 + 1;
            let u = |cpu: f64, mem: u64| ContainerUse { cpu_percent_mean: cpu, memory_peak_bytes: mem, net_rx_bytes: 100 * k, net_tx_bytes: 10, ..ContainerUse::default() };
            c.result.resources = vec![u(50.0 * k as f64, 1000 * k), u(10.0, 5)];
            c.result.s3 = Some(S3Use { source: "test".into(), requests: Some(3 * k), bytes_in: 1000 * k, bytes_out: 0 });
        }
        let row = Row::of(&groups(&cells, None)[0]);
        // CPU: 60 and 110 → median 85; memory: the higher sum, 2005; rx: 200 and 400 → 300.
        assert_eq!((row.cpu_percent_mean, row.memory_peak_bytes, row.net_rx_bytes, row.net_tx_bytes), (Some(85.0), Some(2005), Some(300), Some(20)));
        assert_eq!((row.s3_bytes_in, row.s3_bytes_out, row.s3_requests), (Some(1500), Some(0), Some(5)));
    }

    #[test]
    fn systems_baseline_first_reference_last() {
        let order = system_order(["local", "juicefs", "ganesha", "dittofs-badger-s3", "ganesha"], Some("juicefs"));
        assert_eq!(order, ["juicefs", "dittofs-badger-s3", "ganesha", "local"]);
        assert_eq!(system_order(["local", "b", "a"], None), ["a", "b", "local"]);
        assert!(workload_rank("metadata") < workload_rank("seq-write"));
        assert!(workload_rank("mixed-rw") < workload_rank("my-own"));
        assert!(size_rank("medium") < size_rank("large") && size_rank("large") < size_rank("huge"));
    }
}
