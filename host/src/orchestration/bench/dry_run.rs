//! `bench --dry-run`: every action of the matrix, in order, none taken.

use super::cell::Pass;
use super::matrix::{Matrix, LOCAL};
use super::workloads::{fio_env, Workload};

/// One line per action: per system its `up`, the mount on the client, each cell's layout,
/// cache drops and fio run, the unmount and `down`; then the report.
pub fn actions(m: &Matrix, workloads: &[Workload]) -> Vec<String> {
    let mut out = vec![format!(
        "run {} cells: {} system(s) × {} workload(s) × {} size(s) × {} pass(es) × {} repeat(s), {} s each, fio on the {} client (I/O engine {})",
        m.cells().len(),
        m.profiles.len(),
        m.workloads.len(),
        m.sizes.len(),
        m.passes.len(),
        m.repeats,
        m.runtime,
        m.client.name(),
        m.ioengine
    )];
    for profile in &m.profiles {
        if profile == LOCAL {
            out.push(format!("{LOCAL}: no server; the cells run in a directory on the client's own disk (a tmpfs with BENCH_TMPFS=1)"));
        } else {
            out.push(format!("up {profile} (as `benchhost up {profile}`; its run directory under RUN/systems/)"));
            out.push(format!("mount {profile} on the {} client with the mount command `up` prints", m.client.name()));
        }
        for cell in m.cells_of(profile) {
            let w = workloads.iter().find(|w| w.name == cell.workload);
            let size = m.size(&cell.size);
            let (Some(w), Some(size)) = (w, size) else { continue };
            let dir = format!("<mount>/benchhost-{}", cell.file_name().trim_end_matches(".json"));
            let env = fio_env(&size, &dir, m.runtime, &m.ioengine, cell.seed());
            let env: Vec<String> = env.iter().map(|(k, v)| format!("{k}={v}")).collect();
            let mut steps = vec![format!("mkdir {dir}")];
            if w.lays_out_files() {
                steps.push(format!("fio --create_only=1 {}", w.file));
            }
            if cell.pass == Pass::Cold {
                if profile != LOCAL {
                    steps.push(format!("empty {profile}'s own cache (its plugin's empty-cache; the client unmounted around any restart it asks for)"));
                }
                steps.push(if profile == LOCAL { "drop the client's page cache".into() } else { "drop the client's and the servers' page caches".into() });
            }
            let sampled = if profile == LOCAL { "" } else { " (the engine's stats of its containers sampled)" };
            steps.push(format!("fio --output-format=json {} with {}{sampled}", w.file, env.join(" ")));
            steps.push(format!("rm -r {dir}; write RUN/raw/{profile}/{}", cell.file_name()));
            out.push(format!("cell {}: {}", cell.label(), steps.join("; ")));
        }
        if profile != LOCAL {
            out.push(format!("umount {profile}; down {profile} (its logs saved)"));
        }
    }
    out.push("write RUN/summary.csv, RUN/report.md and RUN/charts/<workload>.svg".into());
    out
}
