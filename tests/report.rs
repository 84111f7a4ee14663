//! `benchhost report RUN_DIR` on cell results made from real fio runs: the host's fio runs two
//! of `workloads/*.fio` (seq-read and metadata, tiny) in temp directories standing for three
//! systems, the test writes each run's JSON into a cell result file as `bench` would, and the
//! report built from them is checked against fio's own numbers.

use crate::support::docker::{benchhost, text};
use crate::support::repo_root;
use benchhost::orchestration::bench::cell::{CacheState, CellId, CellRecord, CellResult, CellStatus, ClientRef, ContainerUse, Pass, SCHEMA};
use benchhost::orchestration::bench::metrics::Measure;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

/// A value no file or output of the report may contain: the "real" secret behind `***`.
const SECRET: &str = "report-test-secret-9f8e7d";

/// The host's fio version, or `None` (skip) when fio is missing and real parts are not required.
fn fio_or_skip(test: &str) -> Option<String> {
    match Command::new("fio").arg("--version").output() {
        Ok(out) if out.status.success() => Some(text(&out.stdout).trim().to_string()),
        _ if std::env::var("BENCHHOST_REQUIRE_DOCKER").is_ok_and(|v| v == "1") => panic!("{test}: fio is not installed (tests/setup.sh installs it), and BENCHHOST_REQUIRE_DOCKER=1"),
        _ => {
            eprintln!("SKIPPED {test}: fio is not installed (apt-get install fio)");
            None
        }
    }
}

/// fio's JSON report of `workload` run in `dir` with the tiny parameters.
fn run_fio(workload: &str, dir: &Path, params: &BTreeMap<String, String>) -> Value {
    let out = Command::new("fio")
        .arg("--output-format=json")
        .arg(repo_root().join("workloads").join(format!("{workload}.fio")))
        .envs(params)
        .env("BENCH_DIR", dir)
        .output()
        .expect("running fio");
    assert!(out.status.success(), "fio {workload}: {}", text(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("fio {workload}'s JSON: {e}\n{}", text(&out.stdout)))
}

/// read + write `bw_bytes` over fio's jobs, in MB/s (10^6).
fn mb_per_s(fio: &Value) -> f64 {
    fio["jobs"].as_array().unwrap().iter().map(|j| j["read"]["bw_bytes"].as_f64().unwrap() + j["write"]["bw_bytes"].as_f64().unwrap()).sum::<f64>() / 1e6
}

/// The result file of one cell, as `bench` writes it.
fn write_cell(run: &Path, id: CellId, fio: Value, settings: &[(&str, &str)], params: &BTreeMap<String, String>, fio_version: &str) {
    let local = id.profile == "local";
    let record = CellRecord {
        run: run.file_name().unwrap().to_string_lossy().into_owned(),
        benchhost_version: "test".into(),
        settings: settings.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        client: ClientRef { kind: "host".into(), kernel: "test-kernel".into(), fio_version: fio_version.into(), accel: None },
        directory: format!("/tmp/{}", id.profile),
        workload_file: format!("workloads/{}.fio", id.workload),
        workload_sha256: "0".repeat(64),
        params: params.clone(),
        cache: CacheState { client_page_cache: "kept".into(), server_page_cache: if local { "none" } else { "kept" }.into(), system_cache: if local { "none" } else { "kept" }.into() },
        started_at: "2026-01-02T03:04:05+00:00".into(),
        ended_at: "2026-01-02T03:04:09+00:00".into(),
        ..CellRecord::default()
    };
    let resources = if local {
        Vec::new()
    } else {
        vec![ContainerUse { container: format!("benchhost-{}-server", id.profile), service: "server".into(), cpu_percent_mean: 12.5, memory_peak_bytes: 64 << 20, samples: 3, ..ContainerUse::default() }]
    };
    let dir = run.join("raw").join(&id.profile);
    std::fs::create_dir_all(&dir).unwrap();
    let result = CellResult { schema: SCHEMA.into(), cell: id.clone(), status: CellStatus::Ok, error: None, logs: Vec::new(), record, resources, s3: None, fio };
    std::fs::write(dir.join(id.file_name()), serde_json::to_string_pretty(&result).unwrap()).unwrap();
}

/// summary.csv as rows of column → value.
pub fn csv_rows(path: &Path) -> Vec<BTreeMap<String, String>> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    // No value here holds a comma or a quote (the only error is on no row).
    lines.map(|l| header.iter().map(|h| h.to_string()).zip(l.split(',').map(str::to_string)).collect()).collect()
}

fn row<'a>(rows: &'a [BTreeMap<String, String>], system: &str, workload: &str) -> &'a BTreeMap<String, String> {
    rows.iter().find(|r| r["system"] == system && r["workload"] == workload).unwrap_or_else(|| panic!("no row {system}/{workload} in {rows:#?}"))
}

#[test]
fn report_from_real_fio_results_matches_fios_numbers_bolds_the_best_and_keeps_secrets_out() {
    let test = "report_from_real_fio_results_matches_fios_numbers_bolds_the_best_and_keeps_secrets_out";
    let Some(fio_version) = fio_or_skip(test) else { return };
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("2026-01-02_030405");
    let params: BTreeMap<String, String> = [("FILE_SIZE", "64k"), ("NR_FILES", "16"), ("SEQ_BLOCK", "64k"), ("RUNTIME", "1"), ("IOENGINE", "libaio")].iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    let settings = [("BENCH_CPU_LIMIT", "2"), ("BENCH_MEM_LIMIT", "4g"), ("S3_SECRET_KEY", "***")];
    // seq-read: alpha twice (a median of two), beta and local once; metadata: each once.
    let mut seq_read: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
    for (system, repeats) in [("alpha", 2), ("beta", 1), ("local", 1)] {
        let dir = tmp.path().join(format!("mnt-{system}"));
        std::fs::create_dir_all(&dir).unwrap();
        for (workload, n) in [("seq-read", repeats), ("metadata", 1)] {
            for repeat in 1..=n {
                // Each cell its own fio seed, as `bench` gives it (the report must not call
                // the differing RANDSEED a parameter difference).
                let mut params = params.clone();
                params.insert("RANDSEED".into(), CellId { profile: system.into(), workload: workload.into(), size: "small".into(), pass: Pass::Warm, repeat }.seed().to_string());
                let fio = run_fio(workload, &dir, &params);
                if workload == "seq-read" {
                    seq_read.entry(system).or_default().push(mb_per_s(&fio));
                }
                let id = CellId { profile: system.into(), workload: workload.into(), size: "small".into(), pass: Pass::Warm, repeat };
                write_cell(&run, id, fio, if system == "local" { &[] } else { &settings }, &params, &fio_version);
            }
        }
    }
    // A result being written is never read.
    std::fs::write(run.join("raw/beta/seq-read__small__warm__r2.json.tmp"), "{").unwrap();

    let run_arg = run.to_str().unwrap();
    let out = benchhost(&["report", run_arg, "--baseline", "alpha"], &[("S3_SECRET_KEY", SECRET), ("AWS_SECRET_ACCESS_KEY", SECRET)]);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(out.status.success(), "{stderr}");
    let written: Vec<&str> = stdout.lines().collect();
    let expect: Vec<String> = ["summary.csv", "charts/metadata.svg", "charts/seq-read.svg", "report.md"].iter().map(|f| run.join(f).display().to_string()).collect();
    assert_eq!(written, expect, "{stderr}");
    assert!(!stderr.contains("warning"), "{stderr}");

    // summary.csv: MB/s is fio's bw_bytes / 10^6 (alpha: the mean of its two repeats).
    let rows = csv_rows(&run.join("summary.csv"));
    assert_eq!(rows.len(), 6, "{rows:#?}");
    let csv_mb = |system: &str| row(&rows, system, "seq-read")["mb_s_median"].parse::<f64>().unwrap();
    let alpha = (seq_read["alpha"][0] + seq_read["alpha"][1]) / 2.0;
    let (beta, local) = (seq_read["beta"][0], seq_read["local"][0]);
    for (system, fio_mb) in [("alpha", alpha), ("beta", beta), ("local", local)] {
        assert!((csv_mb(system) - fio_mb).abs() < 1e-6, "{system}: summary.csv {} MB/s, fio {fio_mb}", csv_mb(system));
    }
    let a = row(&rows, "alpha", "seq-read");
    assert_eq!((a["status"].as_str(), a["repeats"].as_str(), a["measure"].as_str()), ("ok", "2", "MB/s"));
    let (lo, hi) = (seq_read["alpha"][0].min(seq_read["alpha"][1]), seq_read["alpha"][0].max(seq_read["alpha"][1]));
    assert!((a["mb_s_min"].parse::<f64>().unwrap() - lo).abs() < 1e-6 && (a["mb_s_max"].parse::<f64>().unwrap() - hi).abs() < 1e-6, "{a:?}");
    assert_eq!((a["cpu_percent_mean"].as_str(), a["memory_peak_bytes"].as_str()), ("12.5", "67108864"));
    let m = row(&rows, "beta", "metadata");
    assert_eq!((m["measure"].as_str(), m["mb_s_median"].as_str()), ("ops/s", ""));
    assert!(m["ops_s_median"].parse::<f64>().unwrap() > 0.0, "{m:?}");
    assert!(m["phases_ops_s"].starts_with("create=") && m["phases_ops_s"].contains(";stat=") && m["phases_ops_s"].contains(";unlink="), "{m:?}");
    assert_eq!(row(&rows, "local", "seq-read")["cpu_percent_mean"], "");

    // report.md: the seq-read table, the better of alpha and beta in bold, beta's % against alpha.
    let md = std::fs::read_to_string(run.join("report.md")).unwrap();
    assert!(md.starts_with("# Benchmark run 2026-01-02_030405\n"), "{md}");
    let table = md.split("### seq-read: MB/s, higher is better").nth(1).unwrap_or_else(|| panic!("no seq-read table in\n{md}"));
    assert!(table.contains("| system | small · warm |\n|---|---|\n"), "{md}");
    let fmt = |v: f64| Measure::Throughput.format(v);
    // fio's clock makes ties common on files this small: a tie bolds neither.
    let (alpha_text, beta_text) = if alpha == beta {
        (fmt(alpha), fmt(beta))
    } else if alpha > beta {
        (format!("**{}**", fmt(alpha)), fmt(beta))
    } else {
        (fmt(alpha), format!("**{}**", fmt(beta)))
    };
    assert!(table.contains(&format!("| alpha (baseline) | {alpha_text}")), "alpha's cell is not {alpha_text}:\n{md}");
    assert!(table.contains(&format!("| beta | {beta_text} {:+.1} % |", (beta / alpha - 1.0) * 100.0)), "beta's cell:\n{md}");
    assert!(table.contains(&format!("| local (ceiling) | {} ", fmt(local))), "{md}");
    assert!(md.contains("![seq-read: MB/s per system](charts/seq-read.svg)") && md.contains("![metadata: ops/s per system](charts/metadata.svg)"), "{md}");
    assert!(md.contains("| `BENCH_CPU_LIMIT` | `2` |") && md.contains("| `S3_SECRET_KEY` | `***` |"), "{md}");
    assert!(md.contains(&format!("Client: host, kernel test-kernel, {fio_version}.")), "{md}");

    // The charts: the systems and the unit as SVG text.
    for (chart, unit) in [("seq-read", "MB/s"), ("metadata", "ops/s")] {
        let svg = std::fs::read_to_string(run.join(format!("charts/{chart}.svg"))).unwrap();
        for t in ["alpha (baseline)", "beta", "local (ceiling)", unit, "small · warm"] {
            assert!(svg.contains(t), "{chart}.svg lacks {t:?}");
        }
    }

    // The secret behind `***` is nowhere, though the report ran with it in its environment.
    for f in &expect {
        assert!(!std::fs::read_to_string(f).unwrap().contains(SECRET), "{f} holds the secret");
    }
    assert!(!stdout.contains(SECRET) && !stderr.contains(SECRET));

    // --json: the same files, and counts.
    let out = benchhost(&["report", run_arg, "--json"], &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!((json["cells"].as_u64(), json["failed"].as_u64()), (Some(7), Some(0)), "{json}");
    assert_eq!(json["files"].as_array().map(Vec::len), Some(4), "{json}");
}

#[test]
fn report_of_a_directory_without_results_exits_2_with_a_hint() {
    let tmp = tempfile::tempdir().unwrap();
    let out = benchhost(&["report", tmp.path().to_str().unwrap()], &[]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(err.contains("has no raw/ directory of cell results") && err.contains("hint: give a run directory that `benchhost bench` wrote"), "{err}");
    let out = benchhost(&["report", "/nonexistent/run"], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("/nonexistent/run is not a directory"));
    std::fs::create_dir_all(tmp.path().join("raw/alpha")).unwrap();
    std::fs::write(tmp.path().join("raw/alpha/seq-read__small__warm__r1.json"), "not json").unwrap();
    let out = benchhost(&["report", tmp.path().to_str().unwrap()], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("skipped raw/alpha/seq-read__small__warm__r1.json: not JSON"), "{}", text(&out.stderr));
}
