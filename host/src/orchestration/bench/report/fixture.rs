//! Cell results built in memory for the report's unit tests: a one-job sequential-read fio
//! report of a given MB/s (the shape fio 3.33 writes, only the fields the report reads).

use super::load::LoadedCell;
use crate::orchestration::bench::cell::{CellId, CellRecord, CellResult, CellStatus, ClientRef, Pass, SCHEMA};
use crate::orchestration::bench::metrics::CellMetrics;
use serde_json::json;

/// fio's report of one job reading at `mb_per_s` (10^6 bytes/s), p99 `p99_us`.
pub fn fio_read(mb_per_s: f64, p99_us: f64) -> serde_json::Value {
    let bw = (mb_per_s * 1e6).round() as u64;
    json!({"fio version": "fio-3.33", "jobs": [{"jobname": "seq-read", "groupid": 0, "error": 0, "job options": {"rw": "read"},
        "read": {"io_bytes": bw, "bw_bytes": bw, "iops": mb_per_s * 15.0, "runtime": 1000, "total_ios": 100,
                 "clat_ns": {"percentile": {"50.000000": 1000, "95.000000": 2000, "99.000000": (p99_us * 1000.0) as u64}}},
        "write": {"io_bytes": 0, "bw_bytes": 0, "iops": 0.0, "runtime": 0, "total_ios": 0}}]})
}

/// An ok seq-read cell of `system` at `mb_per_s`, with `settings`.
pub fn ok(system: &str, size: &str, pass: Pass, repeat: u32, mb_per_s: f64, settings: &[(&str, &str)]) -> LoadedCell {
    loaded(result(system, size, pass, repeat, CellStatus::Ok, fio_read(mb_per_s, 2000.0 + mb_per_s), settings))
}

/// A failed seq-read cell of `system` with `error` and one log file.
pub fn failed(system: &str, size: &str, pass: Pass, repeat: u32, error: &str) -> LoadedCell {
    let mut r = result(system, size, pass, repeat, CellStatus::Failed, serde_json::Value::Null, &[]);
    r.error = Some(error.to_string());
    r.logs = vec![format!("logs/{system}/server.log")];
    loaded(r)
}

fn result(system: &str, size: &str, pass: Pass, repeat: u32, status: CellStatus, fio: serde_json::Value, settings: &[(&str, &str)]) -> CellResult {
    let cell = CellId { profile: system.into(), workload: "seq-read".into(), size: size.into(), pass, repeat };
    let record = CellRecord {
        run: "2026-01-02_030405".into(),
        settings: settings.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        client: ClientRef { kind: "host".into(), kernel: "6.1.0-test".into(), fio_version: "fio-3.33".into(), accel: None },
        params: [("RUNTIME", "5"), ("FILE_SIZE", "64k"), ("NR_FILES", "256"), ("SEQ_BLOCK", "64k")].iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        started_at: "2026-01-02T03:04:05+00:00".into(),
        ended_at: "2026-01-02T03:14:05+00:00".into(),
        ..CellRecord::default()
    };
    CellResult { schema: SCHEMA.into(), cell, status, error: None, logs: Vec::new(), record, resources: Vec::new(), s3: None, fio }
}

fn loaded(result: CellResult) -> LoadedCell {
    let metrics = match result.status {
        CellStatus::Ok => CellMetrics::from_fio(&result.cell.workload, &result.fio),
        CellStatus::Failed => Err(result.error.clone().unwrap_or_default()),
    };
    let path = format!("raw/{}/{}", result.cell.profile, result.cell.file_name()).into();
    LoadedCell { path, result, metrics }
}
