//! Placeholder until the report lands: the headline of a cell from fio's JSON.

/// `812.3 MB/s` (bandwidth over every job, 10^6 bytes).
pub fn headline(workload: &str, fio: &serde_json::Value) -> String {
    let jobs = fio["jobs"].as_array().cloned().unwrap_or_default();
    let bw: f64 = jobs.iter().map(|j| j["read"]["bw_bytes"].as_f64().unwrap_or(0.0) + j["write"]["bw_bytes"].as_f64().unwrap_or(0.0)).sum();
    format!("{workload} {:.1} MB/s", bw / 1e6)
}
