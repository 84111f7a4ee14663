//! What the compared systems were measured with, and where it differs.
//!
//! The compared systems are every system of the run but the reference profile (`local` has no
//! containers, so caps and cache sizes do not apply to it). From the cells' records:
//! - **shared**: a setting every compared system has, with one value in all their cells;
//! - **own**: a setting only some of them have (a plugin's own settings), per system;
//! - **warnings**: a setting with different values between compared systems (any value one
//!   system had in any cell that another did not have), a `BENCH_*`
//!   setting (benchhost's, the same for every system by design) that some have and others do
//!   not, a setting or fio parameter whose value changed between a system's cells (a resumed run
//!   with another `.env`), different fio parameters for the same size, a workload whose job file
//!   changed between cells, and cells run on different clients (kind, kernel, fio).
//!
//! Values are shown as the records hold them: secrets are `***` there.

use super::load::LoadedCell;
use super::summary::{system_order, REFERENCE_PROFILE};
use std::collections::BTreeMap;

/// The settings view of a run (see the module doc).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SettingsView {
    /// `(name, value)`, by name.
    pub shared: Vec<(String, String)>,
    /// Per compared system (in report order): its settings that are not shared.
    pub own: Vec<(String, Vec<(String, String)>)>,
    /// One sentence each.
    pub warnings: Vec<String>,
}

/// Value → the systems (or cells) that have it.
type Seen = BTreeMap<String, Vec<String>>;

/// Compares the records of `cells` (see the module doc).
pub fn compare(all: &[LoadedCell]) -> SettingsView {
    // A cell that never ran (its system did not come up) records no settings, job or client:
    // only cells that ran are compared.
    let ran: Vec<LoadedCell> = all.iter().filter(|c| c.result.status == crate::orchestration::bench::cell::CellStatus::Ok || !c.result.record.params.is_empty()).cloned().collect();
    let cells = &ran[..];
    let mut view = SettingsView::default();
    let systems: Vec<String> = system_order(cells.iter().map(LoadedCell::system), None).into_iter().filter(|s| s != REFERENCE_PROFILE).collect();
    // Per system, per setting: value → labels of the cells that had it.
    let mut per_system: BTreeMap<&str, BTreeMap<&str, Seen>> = BTreeMap::new();
    for c in cells {
        let values = per_system.entry(c.system()).or_default();
        for (k, v) in &c.result.record.settings {
            values.entry(k).or_default().entry(v.clone()).or_default().push(c.result.cell.label());
        }
    }
    for (system, settings) in &per_system {
        for (key, seen) in settings {
            if seen.len() > 1 {
                view.warnings.push(format!("{system}'s cells were measured with different {key}: {}", listing(seen, true)));
            }
        }
    }
    // Across compared systems: every value each had.
    let mut across: BTreeMap<&str, Seen> = BTreeMap::new();
    for system in &systems {
        for (key, seen) in per_system.get(system.as_str()).into_iter().flatten() {
            for value in seen.keys() {
                across.entry(key).or_default().entry(value.clone()).or_default().push(system.clone());
            }
        }
    }
    let mut own: BTreeMap<&str, Vec<(String, String)>> = BTreeMap::new();
    for (key, seen) in &across {
        let holders = seen.values().next().map_or(0, Vec::len);
        if seen.len() > 1 {
            view.warnings.push(format!("{key} differs between the compared systems: {}; their numbers were not measured on the same terms", listing(seen, false)));
        } else if holders == systems.len() {
            if let Some(value) = seen.keys().next() {
                view.shared.push((key.to_string(), value.clone()));
            }
            continue;
        } else if crate::orchestration::plan::settings::GLOBAL_SETTINGS.iter().any(|(g, _, _)| g == key) {
            // A global setting applies to every system, so each records it; a shared plugin
            // setting (BENCH_CACHE_SIZE) is only recorded by the systems that have it.
            let with: Vec<&str> = seen.values().flatten().map(String::as_str).collect();
            view.warnings.push(format!("{key} is recorded for {} only, not for the other compared systems", with.join(", ")));
        }
        for (value, holders) in seen {
            for h in holders {
                own.entry(h.as_str()).or_default().push((key.to_string(), value.clone()));
            }
        }
    }
    view.own = systems.iter().filter_map(|s| own.remove(s.as_str()).map(|v| (s.clone(), v))).collect();
    view.warnings.extend(parameters(cells));
    view.warnings.extend(clients(cells));
    view
}

/// Warnings about fio parameters per size and job files per workload that differ between cells.
fn parameters(cells: &[LoadedCell]) -> Vec<String> {
    let mut params: BTreeMap<(&str, &str), Seen> = BTreeMap::new();
    let mut jobs: BTreeMap<&str, Seen> = BTreeMap::new();
    for c in cells {
        let r = &c.result;
        for (k, v) in &r.record.params {
            // BENCH_DIR is where each system is mounted, RANDSEED one per cell (the same cell
            // of every system has the same): different by design.
            if k != "BENCH_DIR" && k != "RANDSEED" {
                params.entry((r.cell.size.as_str(), k.as_str())).or_default().entry(v.clone()).or_default().push(c.system().to_string());
            }
        }
        jobs.entry(r.cell.workload.as_str()).or_default().entry(r.record.workload_sha256.clone()).or_default().push(c.system().to_string());
    }
    let mut out = Vec::new();
    for ((size, key), seen) in &params {
        if seen.len() > 1 {
            out.push(format!("fio parameter {key} differs between cells of size {size}: {}", listing(seen, true)));
        }
    }
    for (workload, seen) in &jobs {
        if seen.len() > 1 {
            let short: Seen = seen.iter().map(|(sha, who)| (sha.chars().take(12).collect(), who.clone())).collect();
            out.push(format!("workload {workload}'s job file differs between cells (sha256 {})", listing(&short, true)));
        }
    }
    out
}

/// A warning when cells ran on different clients.
fn clients(cells: &[LoadedCell]) -> Option<String> {
    let mut seen = Seen::new();
    for c in cells {
        seen.entry(client_line(&c.result.record.client)).or_default().push(c.system().to_string());
    }
    (seen.len() > 1).then(|| format!("the cells ran on different clients: {}", listing(&seen, true)))
}

/// `host, kernel 6.1.0-28-amd64, fio-3.33` (`vm (kvm), …` for the client VM).
pub fn client_line(c: &crate::orchestration::bench::cell::ClientRef) -> String {
    let kind = match &c.accel {
        Some(a) => format!("{} ({a})", c.kind),
        None => c.kind.clone(),
    };
    format!("{kind}, kernel {}, {}", c.kernel, c.fio_version)
}

/// `a (x, y), b (z)`: each value and who had it; `counted` shows the number of holders
/// instead of their names when a list has more than three distinct names.
fn listing(seen: &Seen, counted: bool) -> String {
    seen.iter()
        .map(|(value, who)| {
            let mut names: Vec<&str> = who.iter().map(String::as_str).collect();
            names.sort_unstable();
            names.dedup();
            let who = if counted && names.len() > 3 { format!("{} cells", who.len()) } else { names.join(", ") };
            format!("`{value}` ({who})")
        })
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::super::fixture::ok;
    use super::*;
    use crate::orchestration::bench::cell::Pass;

    fn kv(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn shared_own_and_differing_settings_without_the_reference_profile() {
        let cells = [
            ok("a", "small", Pass::Cold, 1, 1.0, &[("BENCH_CPU_LIMIT", "2"), ("BENCH_CACHE_SIZE", "1g"), ("S3_SECRET_KEY", "***"), ("A_ONLY", "x")]),
            ok("b", "small", Pass::Cold, 1, 1.0, &[("BENCH_CPU_LIMIT", "2"), ("BENCH_CACHE_SIZE", "2g"), ("S3_SECRET_KEY", "***")]),
            // local's caps do not apply to it: never compared.
            ok("local", "small", Pass::Cold, 1, 1.0, &[("BENCH_CPU_LIMIT", "8")]),
        ];
        let view = compare(&cells);
        assert_eq!(view.shared, kv(&[("BENCH_CPU_LIMIT", "2"), ("S3_SECRET_KEY", "***")]));
        assert_eq!(view.own, [("a".to_string(), kv(&[("A_ONLY", "x"), ("BENCH_CACHE_SIZE", "1g")])), ("b".to_string(), kv(&[("BENCH_CACHE_SIZE", "2g")]))]);
        assert_eq!(view.warnings, ["BENCH_CACHE_SIZE differs between the compared systems: `1g` (a), `2g` (b); their numbers were not measured on the same terms"]);
    }

    #[test]
    fn a_bench_setting_some_lack_a_changed_setting_and_other_clients_are_warnings() {
        let mut cells = vec![
            ok("a", "small", Pass::Cold, 1, 1.0, &[("BENCH_MEM_LIMIT", "4g"), ("BENCH_TMPFS", "1")]),
            ok("a", "small", Pass::Cold, 2, 1.0, &[("BENCH_MEM_LIMIT", "8g"), ("BENCH_TMPFS", "1")]),
            ok("b", "small", Pass::Cold, 1, 1.0, &[("BENCH_MEM_LIMIT", "4g")]),
        ];
        cells[2].result.record.client.kernel = "6.12.0-other".into();
        cells[2].result.record.params.insert("RUNTIME".into(), "30".into());
        let w = compare(&cells).warnings;
        assert!(w.contains(&"a's cells were measured with different BENCH_MEM_LIMIT: `4g` (a seq-read/small/cold #1), `8g` (a seq-read/small/cold #2)".to_string()), "{w:#?}");
        assert!(w.contains(&"BENCH_TMPFS is recorded for a only, not for the other compared systems".to_string()), "{w:#?}");
        assert!(w.contains(&"fio parameter RUNTIME differs between cells of size small: `30` (b), `5` (a)".to_string()), "{w:#?}");
        assert!(w.contains(&"the cells ran on different clients: `host, kernel 6.1.0-test, fio-3.33` (a), `host, kernel 6.12.0-other, fio-3.33` (b)".to_string()), "{w:#?}");
        // a had a value b never had: the systems differ too.
        assert!(w.contains(&"BENCH_MEM_LIMIT differs between the compared systems: `4g` (a, b), `8g` (a); their numbers were not measured on the same terms".to_string()), "{w:#?}");
    }
}
