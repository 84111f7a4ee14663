//! A cell's numbers, read from fio's own JSON report (`fio --output-format=json`, fio 3.33's
//! shape: `jobs[]` with `groupid`, `error`, `job options`, and per direction `read`/`write`
//! objects holding `io_bytes`, `bw_bytes` (bytes/s), `iops`, `runtime` (ms), `total_ios` and
//! `clat_ns.percentile` keyed `"50.000000"`, `"95.000000"`, `"99.000000"`, in ns).
//!
//! Definitions (what `summary.csv` and `report.md` show):
//! - A **phase** is one fio reporting group (`groupid`): the jobs of a group run together, the
//!   groups one after another (`stonewall`). Every built-in workload is one group, except
//!   `metadata`, whose `create`, `stat` and `unlink` jobs are three.
//! - **MB/s**: read + write `bw_bytes` summed over the jobs, divided by 10^6 (1 MB = 10^6
//!   bytes, not MiB). **IOPS**: read + write `iops` summed over the jobs. Both are exactly
//!   fio's numbers for a workload of one phase; with several phases they are the phases' total
//!   bytes (I/Os) over the sum of their runtimes. For a metadata workload neither is given:
//!   fio counts each create/stat/unlink as a 4 KiB "read" that moves no data.
//! - **ops/s** (metadata only, i.e. every job uses fio's `filecreate`/`filestat`/`filedelete`
//!   or `dir*` engines): the total operations of all phases over the sum of the phases'
//!   runtimes (fio's `runtime`, ms), so a slow phase weighs as long as it lasted. Each phase's
//!   own ops/s is kept in [`CellMetrics::phases`] (for one phase it equals fio's `iops`).
//! - **Latency** p50/p95/p99, µs: fio's completion latency (`clat_ns`) percentiles. When a cell
//!   has several directions (mixed-rw reads and writes) or phases, each percentile is the
//!   highest of theirs: an upper bound of that percentile over all the cell's I/Os (no more
//!   than 1 % of them took longer than the p99 shown), exact for one direction in one phase.
//!   fio's percentiles come from its log-linear histogram (values within about 1.6 %).
//! - A phase's **seconds** is the longest direction runtime of its jobs.

use serde::Serialize;
use serde_json::Value;

/// Bytes in one MB as every MB/s here counts them (SI: 10^6).
pub const MB: f64 = 1e6;

/// fio's engines whose I/Os are file-system metadata operations, one operation each.
const METADATA_ENGINES: [&str; 6] = ["filecreate", "filestat", "filedelete", "dircreate", "dirstat", "dirdelete"];

/// What a workload's headline number is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Measure {
    /// MB/s: sequential I/O (fio's `rw` not `rand*`).
    Throughput,
    /// IOPS: random I/O (`rw=rand*`).
    Iops,
    /// ops/s: every job a metadata engine.
    Metadata,
}

impl Measure {
    /// `MB/s`, `IOPS` or `ops/s`.
    pub fn unit(self) -> &'static str {
        match self {
            Measure::Throughput => "MB/s",
            Measure::Iops => "IOPS",
            Measure::Metadata => "ops/s",
        }
    }

    /// The value in `unit`, with digits grouped by thousands: MB/s to 0.1, the others whole
    /// (`812.3`, `1 234`).
    pub fn format(self, value: f64) -> String {
        match self {
            Measure::Throughput => grouped(value, 1),
            Measure::Iops | Measure::Metadata => grouped(value, 0),
        }
    }
}

/// Latency percentiles, µs.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Latency {
    pub p50_us: f64,
    pub p95_us: f64,
    pub p99_us: f64,
}

impl Latency {
    /// The higher of each percentile (see the module doc: an upper bound over both sets).
    fn max(self, other: Latency) -> Latency {
        Latency { p50_us: self.p50_us.max(other.p50_us), p95_us: self.p95_us.max(other.p95_us), p99_us: self.p99_us.max(other.p99_us) }
    }
}

/// One fio reporting group (see the module doc).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Phase {
    /// The group's job names, joined by `+` (`create`, `stat`, `unlink` for metadata).
    pub name: String,
    /// Read + write I/Os (metadata: operations).
    pub ios: u64,
    /// Read + write bytes.
    pub bytes: u64,
    /// The longest direction runtime of the group's jobs, seconds.
    pub seconds: f64,
    /// Σ `bw_bytes`, bytes/s.
    pub bw_bytes: f64,
    /// Σ `iops`: fio's I/Os per second.
    pub iops: f64,
    pub latency: Option<Latency>,
}

/// A cell's numbers (see the module doc for each definition).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CellMetrics {
    pub workload: String,
    pub measure: Measure,
    /// MB/s (10^6 bytes/s); `None` for metadata.
    pub mb_per_s: Option<f64>,
    /// `None` for metadata.
    pub iops: Option<f64>,
    /// Metadata only.
    pub ops_per_s: Option<f64>,
    /// `None` when fio reported no percentiles (`clat_percentiles=0`).
    pub latency: Option<Latency>,
    /// Totals over the phases: I/Os, bytes, seconds.
    pub ios: u64,
    pub bytes: u64,
    pub seconds: f64,
    /// In fio's order.
    pub phases: Vec<Phase>,
}

impl CellMetrics {
    /// Reads a cell's numbers from fio's JSON report of `workload` (the name only labels).
    ///
    /// Errors (a sentence naming the job and field): no `jobs` array or an empty one, a job
    /// that fio reports with a non-zero `error` (an errno), a missing or non-numeric field, a
    /// report with no I/O at all.
    pub fn from_fio(workload: &str, fio: &Value) -> Result<CellMetrics, String> {
        let jobs = fio.get("jobs").and_then(Value::as_array).ok_or_else(|| format!("{workload}: fio's JSON has no \"jobs\" array (is it fio's --output-format=json report?)"))?;
        if jobs.is_empty() {
            return Err(format!("{workload}: fio's JSON has no jobs"));
        }
        let global = fio.get("global options");
        let option = |job: &Value, name: &str| -> Option<String> {
            job.get("job options").and_then(|o| o.get(name)).or_else(|| global.and_then(|g| g.get(name))).and_then(Value::as_str).map(str::to_string)
        };
        let metadata = jobs.iter().all(|j| option(j, "ioengine").is_some_and(|e| METADATA_ENGINES.contains(&e.as_str())));
        let random = jobs.iter().any(|j| option(j, "rw").is_some_and(|rw| rw.starts_with("rand")));
        let measure = if metadata { Measure::Metadata } else if random { Measure::Iops } else { Measure::Throughput };

        let mut phases: Vec<(i64, Phase)> = Vec::new();
        // Per phase: whether a direction with I/Os had no percentiles (then the phase has none).
        let mut no_percentiles: Vec<bool> = Vec::new();
        for job in jobs {
            let name = job.get("jobname").and_then(Value::as_str).unwrap_or("?").to_string();
            let error = job.get("error").and_then(Value::as_i64).unwrap_or(0);
            if error != 0 {
                return Err(format!("{workload}: fio job \"{name}\" ended with error {error} ({})", std::io::Error::from_raw_os_error(error as i32)));
            }
            let group = job.get("groupid").and_then(Value::as_i64).unwrap_or(0);
            let index = match phases.iter().position(|(g, _)| *g == group) {
                Some(i) => i,
                None => {
                    phases.push((group, Phase { name: String::new(), ios: 0, bytes: 0, seconds: 0.0, bw_bytes: 0.0, iops: 0.0, latency: None }));
                    no_percentiles.push(false);
                    phases.len() - 1
                }
            };
            let phase = &mut phases[index].1;
            phase.name = if phase.name.is_empty() { name.clone() } else { format!("{}+{name}", phase.name) };
            for dir in ["read", "write"] {
                let d = job.get(dir).ok_or_else(|| format!("{workload}: fio job \"{name}\" has no \"{dir}\" object"))?;
                let ios = uint(d, "total_ios").map_err(|e| format!("{workload}: fio job \"{name}\" {dir}: {e}"))?;
                if ios == 0 {
                    continue;
                }
                let num = |field: &str| number(d, field).map_err(|e| format!("{workload}: fio job \"{name}\" {dir}: {e}"));
                phase.ios = phase.ios.saturating_add(ios);
                phase.bytes = phase.bytes.saturating_add(uint(d, "io_bytes").map_err(|e| format!("{workload}: fio job \"{name}\" {dir}: {e}"))?);
                phase.bw_bytes += num("bw_bytes")?;
                phase.iops += num("iops")?;
                phase.seconds = phase.seconds.max(num("runtime")? / 1000.0);
                match percentiles(d) {
                    Some(l) => phase.latency = Some(phase.latency.map_or(l, |p| p.max(l))),
                    None => no_percentiles[index] = true,
                }
            }
        }
        let phases: Vec<Phase> = phases.into_iter().zip(no_percentiles).map(|((_, p), none)| Phase { latency: if none { None } else { p.latency }, ..p }).collect();
        let ios: u64 = phases.iter().fold(0u64, |a, p| a.saturating_add(p.ios));
        if ios == 0 {
            return Err(format!("{workload}: fio reports no I/O in any job"));
        }
        let bytes: u64 = phases.iter().fold(0u64, |a, p| a.saturating_add(p.bytes));
        let seconds: f64 = phases.iter().map(|p| p.seconds).sum();
        let latency = if phases.iter().all(|p| p.latency.is_some()) { phases.iter().filter_map(|p| p.latency).reduce(Latency::max) } else { None };
        // One phase: fio's own rates; several: totals over the summed runtimes.
        let (bw, rate) = match phases.as_slice() {
            [one] => (Some(one.bw_bytes), Some(one.iops)),
            _ if seconds > 0.0 => (Some(bytes as f64 / seconds), Some(ios as f64 / seconds)),
            _ => (None, None),
        };
        let (mb_per_s, iops, ops_per_s) = if metadata { (None, None, rate) } else { (bw.map(|b| b / MB), rate, None) };
        Ok(CellMetrics { workload: workload.to_string(), measure, mb_per_s, iops, ops_per_s, latency, ios, bytes, seconds, phases })
    }

    /// The headline value: MB/s, IOPS or ops/s as [`CellMetrics::measure`] says.
    pub fn value(&self) -> Option<f64> {
        value_of(self.measure, self.mb_per_s, self.iops, self.ops_per_s)
    }

    /// The cell's number for a progress line: `seq-read 812.3 MB/s`,
    /// `rand-read-4k 1 234 IOPS p99 1.2 ms`, `metadata 3 100 ops/s`.
    pub fn headline(&self) -> String {
        let value = self.value().map_or_else(|| "?".to_string(), |v| self.measure.format(v));
        let mut line = format!("{} {value} {}", self.workload, self.measure.unit());
        if let (Measure::Iops, Some(l)) = (self.measure, self.latency) {
            line.push_str(&format!(" p99 {}", format_us(l.p99_us)));
        }
        line
    }
}

/// The one of MB/s, IOPS and ops/s (numbers or their stats) that `measure` names.
pub fn value_of<T>(measure: Measure, mb_per_s: Option<T>, iops: Option<T>, ops_per_s: Option<T>) -> Option<T> {
    match measure {
        Measure::Throughput => mb_per_s,
        Measure::Iops => iops,
        Measure::Metadata => ops_per_s,
    }
}

/// A latency in µs for people: `850 µs`, `1.2 ms`, `2.35 s`.
pub fn format_us(us: f64) -> String {
    if us < 1000.0 {
        format!("{} µs", grouped(us, 0))
    } else if us < 1_000_000.0 {
        format!("{:.1} ms", us / 1000.0)
    } else {
        format!("{:.2} s", us / 1_000_000.0)
    }
}

/// `value` to `decimals` places, the integer part grouped by thousands with spaces
/// (`1 234.5`).
pub fn grouped(value: f64, decimals: usize) -> String {
    let text = format!("{:.*}", decimals, value.abs());
    let (int, frac) = text.split_once('.').map_or((text.as_str(), None), |(i, f)| (i, Some(f)));
    let mut out = String::new();
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            out.push(' ');
        }
        out.push(c);
    }
    if let Some(f) = frac {
        out.push('.');
        out.push_str(f);
    }
    if value < 0.0 && text.chars().any(|c| c.is_ascii_digit() && c != '0') {
        out.insert(0, '-');
    }
    out
}

/// A non-negative integer field.
fn uint(v: &Value, field: &str) -> Result<u64, String> {
    v.get(field).and_then(Value::as_u64).ok_or_else(|| format!("\"{field}\" is missing or not a non-negative integer"))
}

/// A numeric field.
fn number(v: &Value, field: &str) -> Result<f64, String> {
    v.get(field).and_then(Value::as_f64).ok_or_else(|| format!("\"{field}\" is missing or not a number"))
}

/// p50/p95/p99 of a direction's `clat_ns.percentile`, in µs.
fn percentiles(dir: &Value) -> Option<Latency> {
    let p = dir.get("clat_ns")?.get("percentile")?;
    let at = |key: &str| p.get(key).and_then(Value::as_f64).map(|ns| ns / 1000.0);
    Some(Latency { p50_us: at("50.000000")?, p95_us: at("95.000000")?, p99_us: at("99.000000")? })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// One direction as fio 3.33 writes it (the fields read here), percentiles in ns.
    fn dir(io_bytes: u64, bw_bytes: u64, iops: f64, runtime_ms: u64, ios: u64, p: [u64; 3]) -> Value {
        json!({"io_bytes": io_bytes, "bw_bytes": bw_bytes, "iops": iops, "runtime": runtime_ms, "total_ios": ios,
               "clat_ns": {"N": ios, "percentile": {"1.000000": 10, "50.000000": p[0], "95.000000": p[1], "99.000000": p[2]}}})
    }

    fn idle() -> Value {
        json!({"io_bytes": 0, "bw_bytes": 0, "iops": 0.0, "runtime": 0, "total_ios": 0, "clat_ns": {"N": 0}})
    }

    fn job(name: &str, group: i64, options: Value, read: Value, write: Value) -> Value {
        json!({"jobname": name, "groupid": group, "error": 0, "job options": options, "read": read, "write": write})
    }

    // Numbers from real runs of workloads/*.fio with Debian's fio 3.33 on a local disk
    // (FILE_SIZE=64k NR_FILES=256 SEQ_BLOCK=64k RUNTIME=2 IOENGINE=libaio).

    #[test]
    fn seq_read_is_fios_bw_bytes_in_si_megabytes() {
        let fio = json!({"global options": {"ioengine": "libaio"}, "jobs": [job("seq-read", 0, json!({"rw": "read", "bs": "64k"}),
            dir(16777216, 258111015, 3938.461538, 65, 256, [407552, 3227648, 6914048]), idle())]});
        let m = CellMetrics::from_fio("seq-read", &fio).unwrap();
        assert_eq!(m.measure, Measure::Throughput);
        assert_eq!(m.mb_per_s, Some(258.111015));
        assert_eq!(m.iops, Some(3938.461538));
        assert_eq!(m.ops_per_s, None);
        assert_eq!(m.latency, Some(Latency { p50_us: 407.552, p95_us: 3227.648, p99_us: 6914.048 }));
        assert_eq!((m.ios, m.bytes, m.seconds), (256, 16777216, 0.065));
        assert_eq!(m.headline(), "seq-read 258.1 MB/s");
    }

    #[test]
    fn mixed_rw_sums_both_directions_and_takes_the_higher_percentile() {
        let fio = json!({"global options": {"ioengine": "libaio"}, "jobs": [job("mixed-rw", 0, json!({"rw": "randrw", "rwmixread": "70"}),
            dir(529399808, 190705982, 2909.942363, 2776, 8078, [839680, 4079616, 8093696]),
            dir(229179392, 82557417, 1259.726225, 2776, 3497, [847872, 4227072, 8159232]))]});
        let m = CellMetrics::from_fio("mixed-rw", &fio).unwrap();
        assert_eq!(m.measure, Measure::Iops);
        assert_eq!(m.mb_per_s, Some((190705982.0 + 82557417.0) / 1e6));
        assert_eq!(m.iops, Some(2909.942363 + 1259.726225));
        // Here the writes' percentiles are each the higher.
        assert_eq!(m.latency, Some(Latency { p50_us: 847.872, p95_us: 4227.072, p99_us: 8159.232 }));
        assert_eq!(m.headline(), "mixed-rw 4 170 IOPS p99 8.2 ms");
    }

    #[test]
    fn metadata_is_operations_over_the_phases_summed_runtime() {
        let meta = |engine: &str| json!({"ioengine": engine});
        let fio = json!({"jobs": [
            job("create", 0, meta("filecreate"), dir(1048576, 349525333, 85333.333333, 3, 256, [2160, 2544, 19584]), idle()),
            job("stat", 1, meta("filestat"), dir(1048576, 524288000, 128000.0, 2, 256, [1688, 1928, 2128]), idle()),
            job("unlink", 2, meta("filedelete"), dir(1048576, 1765279, 430.976431, 594, 256, [2023424, 4079616, 5799936]), idle()),
        ]});
        let m = CellMetrics::from_fio("metadata", &fio).unwrap();
        assert_eq!(m.measure, Measure::Metadata);
        assert_eq!((m.mb_per_s, m.iops), (None, None));
        // 3 × 256 operations in 3 + 2 + 594 ms.
        assert!((m.ops_per_s.unwrap() - 768.0 / 0.599).abs() < 1e-9, "{:?}", m.ops_per_s);
        let names: Vec<_> = m.phases.iter().map(|p| (p.name.as_str(), p.iops)).collect();
        assert_eq!(names, [("create", 85333.333333), ("stat", 128000.0), ("unlink", 430.976431)]);
        // The slowest phase's percentiles (unlink's), and create's p99 is not the highest of its.
        assert_eq!(m.latency, Some(Latency { p50_us: 2023.424, p95_us: 4079.616, p99_us: 5799.936 }));
        assert_eq!(m.headline(), "metadata 1 282 ops/s");
    }

    #[test]
    fn bad_reports_are_errors_naming_what() {
        assert!(CellMetrics::from_fio("x", &json!(null)).unwrap_err().contains("no \"jobs\" array"));
        assert!(CellMetrics::from_fio("x", &json!({"jobs": []})).unwrap_err().contains("no jobs"));
        let mut failed = job("seq-read", 0, json!({}), dir(0, 0, 0.0, 0, 0, [0, 0, 0]), idle());
        failed["error"] = json!(5);
        let e = CellMetrics::from_fio("seq-read", &json!({"jobs": [failed]})).unwrap_err();
        assert!(e.contains("\"seq-read\" ended with error 5"), "{e}");
        let idle_only = json!({"jobs": [job("j", 0, json!({}), idle(), idle())]});
        assert!(CellMetrics::from_fio("w", &idle_only).unwrap_err().contains("no I/O"));
        let mut broken = dir(1, 1, 1.0, 1, 1, [1, 1, 1]);
        broken["bw_bytes"] = json!("fast");
        let e = CellMetrics::from_fio("w", &json!({"jobs": [job("j", 0, json!({}), broken, idle())]})).unwrap_err();
        assert!(e.contains("read: \"bw_bytes\" is missing or not a number"), "{e}");
    }

    #[test]
    fn numbers_for_people() {
        assert_eq!(grouped(1234567.891, 1), "1 234 567.9");
        assert_eq!(grouped(812.34, 1), "812.3");
        assert_eq!(grouped(-4.04, 1), "-4.0");
        assert_eq!(grouped(-0.04, 1), "0.0");
        assert_eq!(grouped(999.6, 0), "1 000");
        assert_eq!(format_us(850.2), "850 µs");
        assert_eq!(format_us(1234.0), "1.2 ms");
        assert_eq!(format_us(2_345_678.0), "2.35 s");
    }
}
