//! Text and JSON forms of every command's report: stdout carries what a script consumes (the
//! mount command, JSON, listings), stderr what a person reads (summaries, notes, hints).

use crate::orchestration::bench::report::ReportFiles;
use crate::orchestration::commands::clean::CleanOutcome;
use crate::orchestration::commands::compose::Written;
use crate::orchestration::commands::doctor::{Check, DoctorReport, Status};
use crate::orchestration::commands::down::DownOutcome;
use crate::orchestration::commands::drop_caches::DropCachesOutcome;
use crate::orchestration::commands::list::ListEntry;
use crate::orchestration::commands::mount::{MountOutcome, UmountReport};
use crate::orchestration::commands::plugin::{bullets, CheckReport, Installed, Scaffolded};
use crate::orchestration::commands::status::StatusReport;
use crate::orchestration::client_vm::{JobLine, JobReport};
use crate::orchestration::commands::up::UpOutcome;
use crate::orchestration::dry_run::Action;
use crate::orchestration::host::mounts::is_root;
use crate::orchestration::{redact, BenchError};
use crate::orchestration::host::HostOs;

/// Pretty JSON of a report (every report type serialises).
fn json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string_pretty(value).expect("serialisable")
}

/// `list`: one aligned row per profile, or JSON.
pub fn list(entries: &[ListEntry], as_json: bool) -> Result<(), BenchError> {
    if as_json {
        out!("{}", json(&entries));
        return Ok(());
    }
    for e in entries {
        let port = e.port.map(|p| p.to_string()).unwrap_or_else(|| "-".into());
        let third = if e.source == "built-in" { "" } else { " [third-party]" };
        out!("{:<20} {:<14} {:<8} {:>6}  {}{third}", e.profile, e.role, e.protocol, port, e.description);
    }
    Ok(())
}

/// `up`: the dry run's actions (secrets redacted), or the mount command on stdout and the
/// summary on stderr; with `as_json`, the report plus `results_dir`.
pub fn up(profile: &str, outcome: &UpOutcome, as_json: bool, secrets: &[String]) -> Result<(), BenchError> {
    let done = match outcome {
        UpOutcome::DryRun(actions) => {
            let text = if as_json { json(actions) } else { dry_run(actions) };
            out!("{}", redact(&text, secrets).trim_end());
            return Ok(());
        }
        UpOutcome::Up(done) => done,
    };
    let report = &done.report;
    if as_json {
        let mut value = serde_json::to_value(report).expect("serialisable");
        value["results_dir"] = done.results_dir.display().to_string().into();
        out!("{}", json(&value));
        return Ok(());
    }
    say!("{profile} is up in {:.2}s; results in {}", report.seconds, done.results_dir.display());
    if let Some(m) = &report.mount {
        out!("{}", m.shell_line(is_root()));
        if !m.note.is_empty() {
            say!("  note: {}", m.note);
        }
        say!("  mount it with: benchhost mount {profile}; stop it with: benchhost down {profile}");
    } else {
        say!("  stop it with: benchhost down {profile}");
    }
    Ok(())
}

/// `down`: the dry run's actions, or notes and the removal summary (JSON: the report).
pub fn down(profile: &str, outcome: &DownOutcome, as_json: bool) -> Result<(), BenchError> {
    let done = match outcome {
        DownOutcome::DryRun(actions) => return actions_out(actions, as_json),
        DownOutcome::Done(done) => done,
    };
    let report = &done.report;
    for n in &report.notes {
        say!("{profile}: {n}");
    }
    if done.interrupted {
        say!("{profile}: interrupted; finished removing first");
    }
    if as_json {
        out!("{}", json(report));
    } else if done.nothing {
        say!("{profile}: nothing to remove");
    } else {
        say!("{profile}: {}", removed(report.containers.len(), report.networks.len(), report.volumes.len(), &format!(" in {:.2}s", report.seconds)));
        if let Some(first) = report.logs.first() {
            let dir = std::path::Path::new(first).parent().map(|p| p.display().to_string()).unwrap_or_default();
            say!("  saved {} log file(s) in {dir}", report.logs.len());
        }
    }
    Ok(())
}

/// "removed N container(s), N network(s), N volume(s)" plus `rest`.
fn removed(containers: usize, networks: usize, volumes: usize, rest: &str) -> String {
    format!("removed {containers} container(s), {networks} network(s), {volumes} volume(s){rest}")
}

/// `mount`: the command (stdout) and its note, or what mounting said.
pub fn mount(outcome: &MountOutcome) -> Result<(), BenchError> {
    match outcome {
        MountOutcome::Printed(cmd) => {
            out!("{}", cmd.shell_line(is_root()));
            if !cmd.note.is_empty() {
                say!("  note: {}", cmd.note);
            }
        }
        MountOutcome::Mounted { note } => say!("{note}"),
    }
    Ok(())
}

/// `umount`: the dry run's commands, or that nothing was mounted.
pub fn umount(profile: &str, report: &UmountReport) -> Result<(), BenchError> {
    if report.nothing {
        say!("{profile}: nothing mounted by benchhost");
    }
    for c in &report.commands {
        out!("{c}");
    }
    Ok(())
}

/// `logs`: one line, prefixed by its service when several containers are shown.
pub fn log_line(label: Option<&str>, line: &str) {
    match label {
        Some(label) => out!("{label:<10} | {line}"),
        None => out!("{line}"),
    }
}

/// `vm run`: one line of the job, as it comes (stdout to stdout, stderr to stderr).
pub fn vm_line(line: JobLine) {
    match line {
        JobLine::Stdout(l) => out!("{l}"),
        JobLine::Stderr(l) => say!("{l}"),
    }
}

/// `vm run`: the timings on stderr; returns the job's status, the process's exit code.
pub fn vm_run(report: &JobReport) -> i32 {
    say!(
        "client VM: booted to the job in {:.1} s (guest uptime {:.1} s, {}), job ran {:.1} s, exit status {}",
        report.boot_seconds,
        report.guest_boot_seconds,
        report.accel.accel.name(),
        report.job_seconds,
        report.status
    );
    report.status
}

/// `doctor`: the checks as text or JSON.
pub fn doctor(report: &DoctorReport, as_json: bool) {
    if as_json {
        out!("{}", json(&report.checks));
    } else {
        out!("{}", doctor_text(&report.checks, report.os).trim_end());
    }
}

/// `clean`: the dry run's actions, or what was unmounted, noted and removed.
pub fn clean(outcome: &CleanOutcome, images: bool, as_json: bool) -> Result<(), BenchError> {
    let report = match outcome {
        CleanOutcome::DryRun(actions) => return actions_out(actions, as_json),
        CleanOutcome::Done(report) => report,
    };
    if as_json {
        out!("{}", json(report));
        return Ok(());
    }
    for n in report.unmounted.iter().chain(&report.notes) {
        say!("{n}");
    }
    if !report.logs.is_empty() {
        say!("saved {} log file(s) into the runs' results directories", report.logs.len());
    }
    let images = if images { format!(", {} image(s)", report.images.len()) } else { String::new() };
    say!("{}", removed(report.containers.len(), report.networks.len(), report.volumes.len(), &images));
    Ok(())
}

/// `drop-caches`: the commands of a dry run, or what was done.
pub fn drop_caches(outcome: &DropCachesOutcome) -> Result<(), BenchError> {
    match outcome {
        DropCachesOutcome::DryRun(commands) => {
            out!("dry run: these commands would run");
            for c in commands {
                out!("{}", c.join(" "));
            }
        }
        DropCachesOutcome::Done(what) => say!("{what}"),
    }
    Ok(())
}

/// `compose`, `env-example`: the text, or what was written or checked.
pub fn written(w: &Written) -> Result<(), BenchError> {
    match w {
        Written::Text(text) => out!("{}", text.trim_end()),
        Written::Wrote(path) => say!("wrote {}", path.display()),
        Written::UpToDate(path) => say!("{} is up to date", path.display()),
    }
    Ok(())
}

/// `report`: the files written on stdout, one a line (JSON: the whole [`ReportFiles`]); the
/// warnings and a summary line on stderr.
pub fn report(files: &ReportFiles, as_json: bool) -> Result<(), BenchError> {
    for w in &files.warnings {
        say!("warning: {}", crate::text::printable_text(w));
    }
    if as_json {
        out!("{}", json(files));
        return Ok(());
    }
    for f in &files.files {
        out!("{}", f.display());
    }
    say!("report of {} cell(s) ({} failed) in {}", files.cells, files.failed, files.run_dir.join("report.md").display());
    Ok(())
}

/// `status`: the engine, then each profile with its containers and health; or the profiles as
/// JSON (an array, as before the engine line).
pub fn status(report: &StatusReport, as_json: bool) -> Result<(), BenchError> {
    if as_json {
        out!("{}", json(&report.profiles));
        return Ok(());
    }
    out!("{}", report.engine);
    if report.profiles.is_empty() {
        out!("nothing is up");
    } else {
        for p in &report.profiles {
            out!("{} (run {})", p.profile, p.run_id);
            for c in &p.containers {
                let health = match (&c.health, &c.health_output) {
                    (Some(h), Some(why)) => format!("{h}: {why}"),
                    (Some(h), None) => h.clone(),
                    (None, _) => "-".into(),
                };
                out!("  {:<36} {:<10} {health}", c.name, c.state);
            }
            if !p.networks.is_empty() || !p.volumes.is_empty() {
                out!("  networks: {}; volumes: {}", p.networks.join(", "), if p.volumes.is_empty() { "-".into() } else { p.volumes.join(", ") });
            }
        }
    }
    for u in &report.unfinished {
        out!("unfinished: run {} ({}) could not be removed when the engine at {} stopped answering; the next `benchhost up`, `down` or `clean` against this engine removes what it left", u.run_id, u.profile, u.engine);
    }
    Ok(())
}

/// `plugin new`: the files written (stderr) and the next commands (stdout).
pub fn scaffolded(s: &Scaffolded) -> Result<(), BenchError> {
    for f in &s.files {
        say!("wrote {}", f.display());
    }
    for line in &s.next {
        out!("{line}");
    }
    Ok(())
}

/// `plugin check`: what the plugin declares, or JSON.
pub fn plugin_check(report: &CheckReport, as_json: bool) {
    if as_json {
        out!("{}", json(report));
        return;
    }
    out!("plugin {} {} (API {})", report.name, report.version, report.api_version);
    out!("profiles:\n{}", bullets(&report.profiles));
    out!("settings:\n{}", bullets(&report.settings));
    out!("capabilities:\n{}", bullets(&report.capabilities));
    if !report.grants_needed.is_empty() {
        out!("to run it, grant (after reviewing it): {}", report.grants_needed.join(" "));
    }
}

/// `plugin install`: where it went and its profiles.
pub fn installed((report, installed): &(CheckReport, Installed)) -> Result<(), BenchError> {
    say!("installed {} {} as {} (sha256 {})", report.name, report.version, installed.file.display(), installed.sha256);
    match installed.replaced.as_deref() {
        Some(old) if old.ends_with("(identical)") => say!("  this file was installed already; nothing changed"),
        Some(old) => say!("  replaced the installed {} {old}", report.name),
        None => {}
    }
    say!("profiles: {}", report.profiles.iter().map(|p| p.split(' ').next().unwrap_or("")).collect::<Vec<_>>().join(", "));
    Ok(())
}

/// `plugin list`: each installed plugin and whether it changed since install, or JSON.
pub fn plugin_list(list: &[Installed], as_json: bool) -> Result<(), BenchError> {
    if as_json {
        out!("{}", json(&list));
    } else if list.is_empty() {
        out!("no third-party plugins installed");
    } else {
        for p in list {
            let state = if p.unchanged { "ok" } else { "CHANGED since install" };
            out!("{:<20} {}  {state}", p.name, p.file.display());
        }
    }
    Ok(())
}

/// A dry run's actions on stdout, as text or JSON.
fn actions_out(actions: &[Action], as_json: bool) -> Result<(), BenchError> {
    out!("{}", if as_json { json(&actions) } else { dry_run(actions).trim_end().to_string() });
    Ok(())
}

/// Text form of a dry run: one numbered line per action; container requests as indented JSON.
pub fn dry_run(actions: &[Action]) -> String {
    if actions.is_empty() {
        return "dry run: nothing to do\n".into();
    }
    let mut out = String::from("dry run: nothing was changed; this is what would happen\n");
    for (i, a) in actions.iter().enumerate() {
        out.push_str(&format!("{:>3}. {}\n", i + 1, a.description));
        if let Some(r) = &a.request {
            let json = serde_json::to_string_pretty(r).unwrap_or_default();
            for line in json.lines() {
                out.push_str(&format!("       {line}\n"));
            }
        }
    }
    out
}

/// Text form: `  OK    name  detail` lines plus hints, and a summary.
pub fn doctor_text(checks: &[Check], os: HostOs) -> String {
    let os_name = match os {
        HostOs::Linux => "linux",
        HostOs::Macos => "macos",
        HostOs::Other => std::env::consts::OS,
    };
    let mut out = format!("benchhost doctor ({os_name}, {})\n", std::env::consts::ARCH);
    let width = checks.iter().map(|c| c.name.len()).max().unwrap_or(10);
    for c in checks {
        let status = match c.status {
            Status::Ok => "OK",
            Status::Warn => "WARN",
            Status::Fail => "FAIL",
        };
        out.push_str(&format!("  {status:<5} {:<width$}  {}\n", c.name, c.detail));
        if !c.hint.is_empty() {
            out.push_str(&format!("  {:<5} {:<width$}  hint: {}\n", "", "", c.hint));
        }
    }
    let failed: Vec<&str> = checks.iter().filter(|c| c.required && c.status == Status::Fail).map(|c| c.name.as_str()).collect();
    let warned = checks.iter().filter(|c| c.status != Status::Ok).count();
    if failed.is_empty() {
        out.push_str(&format!("required checks pass ({warned} warning(s))\n"));
    } else {
        out.push_str(&format!("required checks failed: {}\n", failed.join(", ")));
    }
    out
}

/// `bench`'s end: the actions (dry run), or what ran and where the results are; the exit code
/// (1 when a cell failed).
pub fn bench(outcome: &crate::orchestration::bench::BenchOutcome, as_json: bool) -> Result<i32, BenchError> {
    use crate::orchestration::bench::BenchOutcome;
    let report = match outcome {
        BenchOutcome::DryRun(actions) => {
            if as_json {
                out!("{}", json(actions));
            } else {
                for a in actions {
                    out!("{a}");
                }
            }
            return Ok(0);
        }
        BenchOutcome::Done(report) => report,
    };
    if as_json {
        out!("{}", json(report));
    } else {
        say!(
            "{} cell(s) run, {} failed{}, in {:.1} s ({:.1} s in cells); results in {}",
            report.ran,
            report.failed.len(),
            if report.already_done > 0 { format!(", {} done before", report.already_done) } else { String::new() },
            report.seconds,
            report.cell_seconds,
            report.run_dir.display()
        );
        for (cell, error) in &report.failed {
            say!("  failed: {cell}: {error}");
        }
        if let Some(files) = &report.report {
            for w in &files.warnings {
                say!("warning: {w}");
            }
            say!("report: {}", report.run_dir.join("report.md").display());
        }
    }
    Ok(if report.failed.is_empty() { 0 } else { 1 })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::orchestration::commands::doctor::check;

    #[test]
    fn render_shows_hints_and_the_verdict() {
        let checks = vec![
            check("docker engine", Status::Ok, true, "Docker 20.10", "never shown"),
            check("fio", Status::Warn, false, "fio not found", "apt-get install fio"),
        ];
        let text = doctor_text(&checks, HostOs::Linux);
        assert!(text.contains("OK    docker engine"), "{text}");
        assert!(!text.contains("never shown"));
        assert!(text.contains("hint: apt-get install fio"));
        assert!(text.ends_with("required checks pass (1 warning(s))\n"), "{text}");
        let failed = doctor_text(&[check("disk space", Status::Fail, true, "0.1 GiB", "free some")], HostOs::Linux);
        assert!(failed.contains("required checks failed: disk space"), "{failed}");
    }
}
