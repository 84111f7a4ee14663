//! `RUN/report.md`: the run for a reader.
//!
//! In order: a title with the run's id and dates; a warning line per setting that differs
//! between compared systems (and per file skipped); the setup (client, systems, the settings and
//! caps every compared system shared, each system's own settings); per workload its chart and a
//! table (rows: systems; columns: size × pass; a cell: the median over repeats with its min–max,
//! **bold** for the best compared system of the column when there are at least two, `+x.x %`
//! against `--baseline`'s median), then its p99 latency table (lower is better) and, for
//! metadata, ops/s per phase; "what the numbers mean", generated from the records; footnotes with
//! each failure's error and log files. `local` (the reference profile) is the last row, marked
//! as the ceiling, and never competes for bold.

use super::load::LoadedCell;
use super::settings::{client_line, SettingsView};
use super::summary::{size_rank, workload_rank, Failure, Group, Stats, REFERENCE_PROFILE};
use crate::orchestration::bench::cell::Pass;
use crate::orchestration::bench::metrics::{grouped, Measure, MB};
use std::collections::BTreeMap;
use std::fmt::Write;

/// What the report is made of.
pub struct Inputs<'a> {
    /// The run directory's name.
    pub run_id: &'a str,
    pub cells: &'a [LoadedCell],
    /// In report order ([`super::summary::groups`]).
    pub groups: &'a [Group],
    /// Systems in report order.
    pub systems: &'a [String],
    pub settings: &'a SettingsView,
    pub baseline: Option<&'a str>,
    /// Workload → its chart, relative to the run directory.
    pub charts: &'a BTreeMap<String, String>,
    /// Files skipped while reading `raw/`.
    pub skipped: &'a [String],
}

/// Which number of a group a table shows, and which way is better.
#[derive(Clone, Copy)]
enum Column {
    Headline,
    P99,
}

/// The whole of `report.md`.
pub fn render(i: &Inputs) -> String {
    let mut md = String::new();
    let notes = Footnotes::of(i.groups);
    title(&mut md, i);
    setup(&mut md, i);
    let _ = writeln!(md, "## Results\n");
    let _ = writeln!(
        md,
        "Each value is the median over a cell's repeats, with the lowest and highest in brackets. **Bold**: the best of the compared systems in that column. `{REFERENCE_PROFILE}` is the ceiling (the client's own disk, no server), shown for reference and never bold.{}\n",
        match i.baseline {
            Some(b) => format!(" Percentages: against `{b}` (the baseline) in the same column."),
            None => String::new(),
        }
    );
    let mut workloads: Vec<&str> = i.groups.iter().map(|g| g.workload.as_str()).collect();
    workloads.sort_by_key(|w| workload_rank(w));
    workloads.dedup();
    for w in workloads {
        let groups: Vec<&Group> = i.groups.iter().filter(|g| g.workload == w).collect();
        workload_section(&mut md, i, w, &groups, &notes);
    }
    meaning(&mut md, i);
    notes.write(&mut md);
    md
}

fn title(md: &mut String, i: &Inputs) {
    let _ = writeln!(md, "# Benchmark run {}\n", i.run_id);
    let started = i.cells.iter().map(|c| c.result.record.started_at.as_str()).filter(|s| !s.is_empty()).min();
    let ended = i.cells.iter().map(|c| c.result.record.ended_at.as_str()).filter(|s| !s.is_empty()).max();
    let failed = i.cells.iter().filter(|c| c.metrics.is_err()).count();
    let systems: Vec<String> = i.systems.iter().map(|s| system_label(s, i.baseline)).collect();
    let _ = writeln!(
        md,
        "{}{} cells ({failed} failed) of {} system(s): {}.\n",
        match (started, ended) {
            (Some(s), Some(e)) => format!("From {s} to {e}: "),
            _ => String::new(),
        },
        i.cells.len(),
        i.systems.len(),
        systems.join(", ")
    );
    for w in i.settings.warnings.iter().chain(i.skipped) {
        let _ = writeln!(md, "> **Warning:** {}\n", one_line(w));
    }
}

fn setup(md: &mut String, i: &Inputs) {
    let _ = writeln!(md, "## Setup\n");
    let mut clients: Vec<String> = i.cells.iter().map(|c| client_line(&c.result.record.client)).collect();
    clients.sort();
    clients.dedup();
    let _ = writeln!(md, "Client: {}.\n", clients.join("; "));
    let _ = writeln!(md, "| system | plugin | images | mounted at (each cell in its own directory there) |\n|---|---|---|---|");
    for s in i.systems {
        let Some(c) = i.cells.iter().find(|c| c.system() == s) else { continue };
        let r = &c.result.record;
        let plugin = r.plugin.as_ref().map_or_else(|| "none".to_string(), |p| format!("{} {} (sha256 {})", p.name, p.version, short(&p.sha256)));
        let images: Vec<String> = r.images.iter().map(|im| format!("{}: `{}` ({})", im.service, im.image, short(&im.id))).collect();
        let images = if images.is_empty() { "none".to_string() } else { images.join(", ") };
        // A cell works in `<mount>/benchhost-<cell>`: the mount is what tells systems apart.
        let base = std::path::Path::new(&r.directory).parent().map(|p| p.display().to_string()).unwrap_or_default();
        let directory = if r.directory.is_empty() { "–".to_string() } else { code(&base) };
        let _ = writeln!(md, "| {} | {} | {} | {directory} |", cell(&system_label(s, i.baseline)), cell(&plugin), cell(&images));
    }
    md.push('\n');
    if !i.settings.shared.is_empty() {
        let _ = writeln!(md, "### Settings and caps every compared system shared\n\n| setting | value |\n|---|---|");
        for (k, v) in &i.settings.shared {
            let _ = writeln!(md, "| `{}` | {} |", cell(k), code(v));
        }
        md.push('\n');
    }
    if !i.settings.own.is_empty() {
        let _ = writeln!(md, "### Settings of some systems only\n");
        for (system, settings) in &i.settings.own {
            let list: Vec<String> = settings.iter().map(|(k, v)| code(&format!("{k}={v}"))).collect();
            let _ = writeln!(md, "- {system}: {}", list.join(", "));
        }
        md.push('\n');
    }
}

/// A workload's chart, tables and phases.
fn workload_section(md: &mut String, i: &Inputs, workload: &str, groups: &[&Group], notes: &Footnotes) {
    let measure = groups.iter().find_map(|g| g.measure);
    let unit = measure.map_or("", Measure::unit);
    let _ = writeln!(md, "### {workload}{}\n", if unit.is_empty() { String::new() } else { format!(": {unit}, higher is better") });
    if let Some(chart) = i.charts.get(workload) {
        let _ = writeln!(md, "![{workload}: {unit} per system]({chart})\n");
    }
    let mut columns: Vec<(&str, Pass)> = groups.iter().map(|g| (g.size.as_str(), g.pass)).collect();
    columns.sort_by_key(|(s, p)| (size_rank(s), *p));
    columns.dedup();
    let format: &dyn Fn(f64) -> String = &|v| measure.map_or_else(|| grouped(v, 1), |m| m.format(v));
    table(md, i, groups, &columns, Column::Headline, format, notes);
    if groups.iter().any(|g| g.p99_us.is_some()) {
        let _ = writeln!(md, "p99 completion latency, µs (lower is better):\n");
        table(md, i, groups, &columns, Column::P99, &|v| grouped(v, 0), notes);
    }
    if measure == Some(Measure::Metadata) && groups.iter().any(|g| !g.phases.is_empty()) {
        let _ = writeln!(md, "ops/s per phase (medians):\n");
        header(md, &columns);
        for s in i.systems {
            let row: Vec<String> = columns
                .iter()
                .map(|(size, pass)| {
                    let g = groups.iter().find(|g| &g.system == s && g.size == *size && g.pass == *pass);
                    g.map_or_else(|| "–".to_string(), |g| g.phases.iter().map(|(name, st)| format!("{name} {}", grouped(st.median, 0))).collect::<Vec<_>>().join(" · "))
                })
                .collect();
            if groups.iter().any(|g| &g.system == s) {
                let _ = writeln!(md, "| {} | {} |", cell(&system_label(s, i.baseline)), row.join(" | "));
            }
        }
        md.push('\n');
    }
}

fn header(md: &mut String, columns: &[(&str, Pass)]) {
    let names: Vec<String> = columns.iter().map(|(s, p)| format!("{s} · {}", p.name())).collect();
    let _ = writeln!(md, "| system | {} |\n|---|{}", names.join(" | "), "---|".repeat(columns.len()));
}

/// One table: a row per system, a column per (size, pass).
fn table(md: &mut String, i: &Inputs, groups: &[&Group], columns: &[(&str, Pass)], what: Column, format: &dyn Fn(f64) -> String, notes: &Footnotes) {
    header(md, columns);
    let stats = |g: &Group| match what {
        Column::Headline => g.headline(),
        Column::P99 => g.p99_us,
    };
    let better = |a: f64, b: f64| match what {
        Column::Headline => a > b,
        Column::P99 => a < b,
    };
    // Per column: the best compared value, when two or more compete and not all are alike.
    let best: Vec<Option<f64>> = columns
        .iter()
        .map(|(size, pass)| {
            let values: Vec<f64> = groups.iter().filter(|g| g.system != REFERENCE_PROFILE && g.size == *size && g.pass == *pass).filter_map(|g| stats(g)).map(|s| s.median).collect();
            let best = values.iter().copied().reduce(|a, b| if better(b, a) { b } else { a })?;
            (values.len() >= 2 && values.iter().any(|v| *v != best)).then_some(best)
        })
        .collect();
    for s in i.systems {
        if !groups.iter().any(|g| &g.system == s) {
            continue;
        }
        let mut row = Vec::new();
        for (c, (size, pass)) in columns.iter().enumerate() {
            let find = |system: &str| groups.iter().find(|g| g.system == system && g.size == *size && g.pass == *pass).copied();
            let Some(g) = find(s) else {
                row.push("–".to_string());
                continue;
            };
            let note = notes.reference(g);
            let Some(st) = stats(g) else {
                row.push(if g.ok == 0 { format!("failed{note}") } else { "n/a".to_string() });
                continue;
            };
            let mut text = value_text(st, format, s != REFERENCE_PROFILE && best[c] == Some(st.median));
            if let Some(b) = i.baseline.filter(|b| b != s).and_then(find).and_then(&stats).filter(|b| b.median != 0.0) {
                let _ = write!(text, " {:+.1} %", (st.median / b.median - 1.0) * 100.0);
            }
            if !g.failures.is_empty() {
                let _ = write!(text, "; {} of {} failed{note}", g.failures.len(), g.failures.len() + g.ok);
            }
            row.push(text);
        }
        let _ = writeln!(md, "| {} | {} |", cell(&system_label(s, i.baseline)), row.join(" | "));
    }
    md.push('\n');
}

/// `**812.3** (790.1–830.0)`; one repeat, or all repeats alike at this precision: the value
/// alone.
fn value_text(s: Stats, format: &dyn Fn(f64) -> String, bold: bool) -> String {
    let v = format(s.median);
    let (min, max) = (format(s.min), format(s.max));
    let mut text = if bold { format!("**{v}**") } else { v };
    if s.n > 1 && min != max {
        let _ = write!(text, " ({min}–{max})");
    }
    text
}

/// "What the numbers mean", from the records.
fn meaning(md: &mut String, i: &Inputs) {
    let _ = writeln!(md, "## What the numbers mean\n");
    let mut clients: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    for s in i.systems {
        for c in i.cells.iter().filter(|c| c.system() == s) {
            let who = clients.entry(client_line(&c.result.record.client)).or_default();
            if !who.contains(&c.system()) {
                who.push(c.system());
            }
        }
    }
    for (line, who) in &clients {
        let _ = writeln!(md, "- **Client**: fio ran on {line} for {}.", who.join(", "));
    }
    if i.cells.iter().any(|c| c.result.record.client.accel.as_deref() == Some("tcg")) {
        let _ = writeln!(md, "  The client VM ran under software emulation (tcg): the client's own CPU time inflates latency and caps throughput; compare the systems with each other, not with numbers from other machines.");
    }
    let mut caches: BTreeMap<(Pass, String), Vec<&str>> = BTreeMap::new();
    for c in i.systems.iter().flat_map(|s| i.cells.iter().filter(move |c| c.system() == s)) {
        let s = &c.result.record.cache;
        let text = format!("client page cache: {}; server page cache: {}; the system's own cache: {}", s.client_page_cache, s.server_page_cache, s.system_cache);
        let who = caches.entry((c.result.cell.pass, text)).or_default();
        if !who.contains(&c.system()) {
            who.push(c.system());
        }
    }
    for ((pass, text), who) in &caches {
        let _ = writeln!(md, "- **{} pass** ({}): {text}.", pass.name(), who.join(", "));
    }
    let mut sizes: Vec<&str> = i.cells.iter().map(|c| c.result.cell.size.as_str()).collect();
    sizes.sort_by_key(|s| size_rank(s));
    sizes.dedup();
    for size in sizes {
        if let Some(c) = i.cells.iter().find(|c| c.result.cell.size == size) {
            let p = &c.result.record.params;
            let get = |k: &str| p.get(k).map_or("?", String::as_str);
            let _ = writeln!(md, "- **{size}**: {} file(s) of {} (fio units: k = 1024 bytes), sequential workloads in {} blocks.", get("NR_FILES"), get("FILE_SIZE"), get("SEQ_BLOCK"));
        }
    }
    let mut runtimes: Vec<&str> = i.cells.iter().filter_map(|c| c.result.record.params.get("RUNTIME").map(String::as_str)).collect();
    runtimes.sort_unstable();
    runtimes.dedup();
    let measured = Stats::of(i.cells.iter().filter_map(|c| c.metrics.as_ref().ok().map(|m| m.seconds)));
    let _ = writeln!(
        md,
        "- **Runtime**: RUNTIME = {} s: the time-based workloads (random and mixed I/O) run that long, the others end when their files are done, capped at it.{}",
        if runtimes.is_empty() { "?".to_string() } else { runtimes.join(", ") },
        measured.map_or_else(String::new, |m| format!(" fio measured {:.2}–{:.2} s of I/O per cell.", m.min, m.max))
    );
    let mut repeats: Vec<usize> = i.groups.iter().map(|g| g.ok + g.failures.len()).collect();
    repeats.sort_unstable();
    repeats.dedup();
    let repeats: Vec<String> = repeats.iter().map(usize::to_string).collect();
    let _ = writeln!(md, "- **Repeats**: {} per cell; the median is shown, a median of an even count being the mean of the middle two.", repeats.join(" or "));
    let _ = writeln!(
        md,
        "- **MB/s**: fio's read + write bandwidth (`bw_bytes`) summed over the workload's jobs, 1 MB = {} bytes. **IOPS**: fio's read + write I/Os per second. **ops/s** (metadata): the create, stat and unlink operations over the time the three phases took together.",
        grouped(MB, 0)
    );
    let _ = writeln!(
        md,
        "- **Latency**: fio's completion latency (`clat`) percentiles; with reads and writes (or several phases) the higher of their percentiles, so no more than 1 % of all I/Os took longer than the p99 shown."
    );
    let _ = writeln!(md, "- **Resources** (in `summary.csv`): each system's containers' CPU %, peak memory, network and block bytes during fio, summed over its containers, from the Docker engine's stats; S3 bytes from the S3 server.");
    if let Some(c) = i.cells.iter().find(|c| c.system() == REFERENCE_PROFILE) {
        let base = std::path::Path::new(&c.result.record.directory).parent().map(|p| p.display().to_string()).unwrap_or_default();
        let _ = writeln!(md, "- **{REFERENCE_PROFILE}**: fio in the client's own directory `{base}`, no server and no network: the ceiling a network file system can approach.");
    }
    md.push('\n');
}

/// A footnote per group with failures.
struct Footnotes<'a> {
    groups: Vec<&'a Group>,
}

impl<'a> Footnotes<'a> {
    fn of(groups: &'a [Group]) -> Footnotes<'a> {
        Footnotes { groups: groups.iter().filter(|g| !g.failures.is_empty()).collect() }
    }

    /// `[^fN]` for a group with failures, else nothing.
    fn reference(&self, g: &Group) -> String {
        let key = |x: &Group| (x.system.clone(), x.workload.clone(), x.size.clone(), x.pass);
        self.groups.iter().position(|f| key(f) == key(g)).map_or_else(String::new, |n| format!("[^f{}]", n + 1))
    }

    /// Each group's note: its failed repeats, those with the same error and logs together.
    fn write(&self, md: &mut String) {
        for (n, g) in self.groups.iter().enumerate() {
            let mut alike: Vec<(&str, &[String], Vec<&Failure>)> = Vec::new();
            for f in &g.failures {
                match alike.iter_mut().find(|(e, l, _)| *e == f.error && *l == f.logs.as_slice()) {
                    Some((_, _, fs)) => fs.push(f),
                    None => alike.push((&f.error, &f.logs, vec![f])),
                }
            }
            let parts: Vec<String> = alike
                .iter()
                .map(|(error, logs, fs)| {
                    let repeats: Vec<String> = fs.iter().map(|f| format!("#{}", f.repeat)).collect();
                    let results: Vec<String> = fs.iter().map(|f| format!("`{}`", f.result)).collect();
                    let logs = if logs.is_empty() { String::new() } else { format!("; logs: {}", logs.iter().map(|l| format!("`{l}`")).collect::<Vec<_>>().join(", ")) };
                    format!("repeat {}: {} (result: {}{logs})", repeats.join(", "), one_line(error), results.join(", "))
                })
                .collect();
            let _ = writeln!(md, "[^f{}]: {} {}/{}/{} failed, {}.", n + 1, g.system, g.workload, g.size, g.pass.name(), parts.join("; "));
        }
    }
}

/// `ganesha (baseline)`, `local (ceiling)`.
fn system_label(system: &str, baseline: Option<&str>) -> String {
    match (system == REFERENCE_PROFILE, Some(system) == baseline) {
        (true, true) => format!("{system} (ceiling, baseline)"),
        (true, false) => format!("{system} (ceiling)"),
        (false, true) => format!("{system} (baseline)"),
        (false, false) => system.to_string(),
    }
}

/// The first 12 hex digits of a digest (`sha256:` dropped).
fn short(digest: &str) -> String {
    digest.trim_start_matches("sha256:").chars().take(12).collect()
}

/// Text on one line.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Text safe in a table cell (one line, `|` escaped).
fn cell(text: &str) -> String {
    one_line(text).replace('|', "\\|")
}

/// A code span holding `text` exactly (backticks in it get a longer fence), safe in a table.
fn code(text: &str) -> String {
    let text = cell(text);
    if text.contains('`') {
        format!("`` {text} ``")
    } else {
        format!("`{text}`")
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixture::{failed, ok};
    use super::super::{settings, summary};
    use super::*;

    fn report(cells: &[LoadedCell], baseline: Option<&str>) -> String {
        let groups = summary::groups(cells, baseline);
        let systems = summary::system_order(cells.iter().map(LoadedCell::system), baseline);
        let view = settings::compare(cells);
        let charts = BTreeMap::from([("seq-read".to_string(), "charts/seq-read.svg".to_string())]);
        render(&Inputs { run_id: "run-1", cells, groups: &groups, systems: &systems, settings: &view, baseline, charts: &charts, skipped: &[] })
    }

    #[test]
    fn the_best_compared_value_is_bold_with_percent_against_the_baseline_and_local_as_ceiling() {
        let cells = [
            ok("a", "small", Pass::Cold, 1, 100.0, &[]),
            ok("a", "small", Pass::Cold, 2, 120.0, &[]),
            ok("b", "small", Pass::Cold, 1, 150.0, &[]),
            ok("local", "small", Pass::Cold, 1, 400.0, &[]),
        ];
        let md = report(&cells, Some("a"));
        assert!(md.starts_with("# Benchmark run run-1\n"), "{md}");
        assert!(md.contains("| system | small · cold |\n|---|---|\n"), "{md}");
        assert!(md.contains("| a (baseline) | 110.0 (100.0–120.0) |\n"), "{md}");
        assert!(md.contains("| b | **150.0** +36.4 % |\n"), "{md}");
        // local is higher still, yet never bold: it is the ceiling, not a competitor.
        assert!(md.contains("| local (ceiling) | 400.0 +263.6 % |\n"), "{md}");
        // p99 (fixture: 2000 µs + the MB/s): lower is better, so a's is bold.
        assert!(md.contains("| a (baseline) | **2 110** (2 100–2 120) |\n"), "{md}");
        assert!(md.contains("| b | 2 150 +1.9 % |\n"), "{md}");
        assert!(md.contains("![seq-read: MB/s per system](charts/seq-read.svg)"), "{md}");
        assert!(md.contains("- **small**: 256 file(s) of 64k"), "{md}");
        assert!(md.contains("- **Runtime**: RUNTIME = 5 s"), "{md}");
        assert!(!md.contains("Warning"), "{md}");
    }

    #[test]
    fn no_bold_for_a_lone_system_or_a_tie_and_no_percent_without_baseline() {
        let md = report(&[ok("a", "small", Pass::Warm, 1, 100.0, &[]), ok("local", "small", Pass::Warm, 1, 50.0, &[])], None);
        assert!(md.contains("| a | 100.0 |\n| local (ceiling) | 50.0 |\n"), "{md}");
        let md = report(&[ok("a", "small", Pass::Warm, 1, 100.0, &[]), ok("b", "small", Pass::Warm, 1, 100.0, &[])], None);
        assert!(md.contains("| a | 100.0 |\n| b | 100.0 |\n"), "{md}");
        assert!(!md.contains("**1"), "{md}");
    }

    #[test]
    fn failed_cells_are_shown_failed_with_a_footnote_giving_error_and_logs() {
        let cells = [
            ok("a", "small", Pass::Cold, 1, 100.0, &[]),
            failed("b", "small", Pass::Cold, 1, "fio exited with status 1:\nInput/output error"),
            failed("b", "small", Pass::Cold, 2, "fio exited with status 1:\nInput/output error"),
            ok("c", "small", Pass::Cold, 1, 90.0, &[]),
            failed("c", "small", Pass::Cold, 2, "the system died"),
        ];
        let md = report(&cells, Some("a"));
        assert!(md.contains("| b | failed[^f1] |\n"), "{md}");
        assert!(md.contains("| c | 90.0 -10.0 %; 1 of 2 failed[^f2] |\n"), "{md}");
        assert!(
            md.contains("[^f1]: b seq-read/small/cold failed, repeat #1, #2: fio exited with status 1: Input/output error (result: `raw/b/seq-read__small__cold__r1.json`, `raw/b/seq-read__small__cold__r2.json`; logs: `logs/b/server.log`).\n"),
            "{md}"
        );
        assert!(md.contains("[^f2]: c seq-read/small/cold failed, repeat #2: the system died (result: `raw/c/seq-read__small__cold__r2.json`; logs: `logs/c/server.log`).\n"), "{md}");
        assert!(md.contains("5 cells (3 failed) of 3 system(s): a (baseline), b, c."), "{md}");
    }

    #[test]
    fn shared_settings_are_listed_and_a_differing_one_is_a_warning_line() {
        let a = [("BENCH_CPU_LIMIT", "2"), ("BENCH_CACHE_SIZE", "1g"), ("S3_SECRET_KEY", "***")];
        let b = [("BENCH_CPU_LIMIT", "2"), ("BENCH_CACHE_SIZE", "2g"), ("S3_SECRET_KEY", "***")];
        let md = report(&[ok("a", "small", Pass::Cold, 1, 1.0, &a), ok("b", "small", Pass::Cold, 1, 2.0, &b)], None);
        assert!(md.contains("| `BENCH_CPU_LIMIT` | `2` |\n| `S3_SECRET_KEY` | `***` |\n"), "{md}");
        assert!(md.contains("> **Warning:** BENCH_CACHE_SIZE differs between the compared systems: `1g` (a), `2g` (b); their numbers were not measured on the same terms\n"), "{md}");
    }

    #[test]
    fn markdown_text_is_escaped_for_tables_and_code_spans() {
        assert_eq!(cell("a|b\nc"), "a\\|b c");
        assert_eq!(code("x`y"), "`` x`y ``");
        assert_eq!(short("sha256:0123456789abcdef"), "0123456789ab");
    }
}
