//! The operator commands: `up`, `down`, `mount`, `umount`, `logs`, `doctor`, `clean`,
//! `drop-caches`. Parsing lives in `cli/mod.rs`; the work in [`crate::orchestration`].

use super::signals::Signals;
use super::OsArg;
use crate::engine::DockerEngine;
use crate::orchestration::plugins::registry::Registry;
use crate::orchestration::log_lines::LineAssembler;
use crate::orchestration::results::{self, RunDir};
use crate::orchestration::host::host_os;
use crate::orchestration::plan::settings::SettingsSource;
use crate::orchestration::labels::{LABEL_PROFILE, LABEL_RUN, LABEL_SERVICE};
use crate::orchestration::progress::Progress;
use crate::orchestration::teardown::down::DownOptions;
use crate::orchestration::teardown::{self, status::{profiles_up, refuse_when_up}};
use crate::orchestration::up::{self as stack, UpOptions};
use crate::orchestration::doctor as checks;
use crate::orchestration::host::{mounts as host_mount, page_cache};
use crate::orchestration::plan::{self, opt_in, source_build};
use crate::orchestration::teardown::clean as cleaning;
use crate::orchestration::host::mount_command as mount;
use crate::orchestration::{dry_run, redact, run_lock, BenchError};
use crate::runtime::contract::HostOs;
use std::path::PathBuf;

/// Arguments of `up`.
pub struct UpArgs {
    pub profile: String,
    pub keep_on_failure: bool,
    pub mount_dir: Option<String>,
    pub json: bool,
    pub replace: bool,
    pub dry_run: bool,
    pub results_dir: Option<PathBuf>,
    pub with_profiling: bool,
}

fn default_mount_dir(profile: &str) -> String {
    format!("/mnt/benchhost/{profile}")
}

fn absolute_dir(dir: Option<String>, profile: &str) -> String {
    match dir {
        Some(d) => std::path::absolute(&d).map(|p| p.display().to_string()).unwrap_or(d),
        None => default_mount_dir(profile),
    }
}

pub async fn up(registry: &Registry, settings: &SettingsSource, secrets: &[String], args: UpArgs, signals: &Signals) -> Result<(), BenchError> {
    let profile = args.profile.clone();
    registry.find(&profile)?;
    if args.mount_dir.as_deref().is_some_and(|d| d.trim().is_empty()) {
        return Err(BenchError::Usage("--mount-dir is empty\n  hint: give a directory, e.g. --mount-dir /mnt/bench".into()));
    }
    let settings = if args.with_profiling { settings.clone().with_value("BENCH_PROFILING", "1") } else { settings.clone() };
    let globals = settings.global()?;
    let os = host_os();
    for (name, _, _) in opt_in::OPT_IN_SETTINGS {
        settings.flag(name)?;
    }
    let mut plan = plan::plan(registry, &settings, &profile, os).await?;
    opt_in::check(registry, &plan, &settings)?;
    let builds = source_build::apply(registry, &settings, &mut plan)?;
    stack::preflight::check_host_kernel(registry, &plan)?;
    stack::preflight::check_shared_binds(&plan)?;
    let mut opts = UpOptions {
        globals,
        keep_on_failure: args.keep_on_failure,
        run_id: stack::new_run_id(),
        host_os: os,
        mount_dir: absolute_dir(args.mount_dir, &profile),
        results: None,
        secrets: secrets.to_vec(),
    };
    if args.dry_run {
        let engine = DockerEngine::connect().await.ok();
        // The same refusal a real up would give; with --replace, the downs it would do first.
        let mut replaced = Vec::new();
        if let Some(engine) = &engine {
            let up = profiles_up(engine).await?;
            if !args.replace || up.contains_key(&profile) {
                refuse_when_up(engine, &profile).await?;
            }
            for (other, names) in up {
                replaced.push(dry_run::Action {
                    action: "replace",
                    description: format!("down {other} first (--replace), saving its logs: {}", names.join(", ")),
                    request: None,
                });
            }
        }
        let mut actions = dry_run::up_actions(registry, &plan, &opts, &builds, engine.as_ref(), &settings.secret_values(registry.plugins.iter().map(|r| &r.plugin.info), true)).await?;
        actions.splice(0..0, replaced);
        let text = if args.json { serde_json::to_string_pretty(&actions).expect("serialisable") } else { dry_run::render(&actions) };
        out!("{}", redact(&text, secrets).trim_end());
        return Ok(());
    }
    let engine = DockerEngine::connect().await?;
    let _lock = run_lock::acquire(|| say!("waiting for another benchhost up/down/clean to finish...")).await?;
    // Until here nothing exists and a signal ends the process; from here it is handled.
    let mut guard = signals.guard();
    let progress = Progress::new(false);
    if args.replace {
        for (other, _) in profiles_up(&engine).await? {
            if other != profile {
                // Not interruptible: a half-removed profile would be worse than a finished one.
                let report = teardown::down::down(&engine, &other, &DownOptions { results_root: None, secrets: secrets.to_vec() }).await?;
                let logs = report.logs.first().and_then(|f| std::path::Path::new(f).parent()).map(|d| format!("; its logs are in {}", d.display())).unwrap_or_default();
                progress.step(&format!(
                    "replaced {other}: removed {} container(s), {} network(s), {} volume(s){logs} ({:.2}s)",
                    report.containers.len(),
                    report.networks.len(),
                    report.volumes.len(),
                    report.seconds
                ));
                if guard.was_interrupted() {
                    return Err(BenchError::Interrupted);
                }
            }
        }
    }
    refuse_when_up(&engine, &profile).await?;
    let root = results::results_root(args.results_dir.as_deref(), &settings);
    let names: Vec<String> = plan.profiles.iter().map(|p| p.profile.clone()).collect();
    let dir = RunDir::create(&root, &names)?;
    opts.results = Some(dir.clone());
    let started = chrono::Local::now();
    let mut resolved_settings = results::settings_record(registry, &plan, &settings);
    resolved_settings.insert(results::RESULTS_SETTING.to_string(), root.display().to_string());
    let mut record = serde_json::json!({
        "benchhost_version": env!("CARGO_PKG_VERSION"),
        "profile": profile,
        "run_id": opts.run_id,
        "started_at": started.to_rfc3339(),
        "outcome": "running",
        "results_dir": dir.path.display().to_string(),
        "plugins": results::plugins_record(registry, &plan),
        "source_builds": builds,
        "settings": resolved_settings,
        "host": results::host_record(Some(&engine)),
    });
    dir.write_record(&record)?;
    progress.step(&format!(
        "bringing up {profile} (run {}, engine {} API {}; results in {})",
        opts.run_id,
        engine.engine_version,
        engine.api_version,
        dir.path.display()
    ));
    let work = async {
        source_build::build_all(&engine, &builds, &progress).await?;
        stack::up(registry, &engine, &plan, &opts, &progress).await
    };
    let outcome = tokio::select! {
        r = work => r,
        _ = guard.interrupted() => {
            progress.step("interrupted: removing what this run created");
            if let Ok(found) = engine.list_labelled(LABEL_RUN, &opts.run_id).await {
                let _ = dir.save_logs(&engine, &found.containers, secrets).await;
            }
            teardown::remove::remove_run(&engine, &opts.run_id).await;
            Err(BenchError::Interrupted)
        }
    };
    let obj = record.as_object_mut().expect("an object");
    obj.insert("images".into(), results::images_record(&engine, &plan).await);
    obj.insert("steps".into(), serde_json::to_value(progress.steps()).unwrap_or_default());
    obj.insert("seconds".into(), serde_json::json!((progress.elapsed().as_secs_f64() * 1000.0).round() / 1000.0));
    match &outcome {
        Ok(report) => {
            obj.insert("outcome".into(), "ready".into());
            obj.insert("containers".into(), serde_json::json!(report.containers));
            obj.insert("bootstrap_log".into(), serde_json::json!(report.bootstrap_log));
            obj.insert("mount".into(), serde_json::json!(report.mount.as_ref().map(|m| m.display(host_mount::is_root()))));
        }
        Err(e) => {
            obj.insert("outcome".into(), if matches!(e, BenchError::Interrupted) { "interrupted".into() } else { "failed".into() });
            obj.insert("error".into(), redact(&e.to_string(), secrets).into());
            obj.insert("exit_code".into(), e.exit_code().into());
        }
    }
    if let Err(e) = dir.write_record(&record) {
        say!("warning: {e}");
    }
    let report = outcome?;
    if args.json {
        let mut value = serde_json::to_value(&report).expect("serialisable");
        value["results_dir"] = dir.path.display().to_string().into();
        out!("{}", serde_json::to_string_pretty(&value).expect("serialisable"));
    } else {
        say!("{profile} is up in {:.2}s; results in {}", report.seconds, dir.path.display());
        if let Some(m) = &report.mount {
            out!("{}", m.shell_line(host_mount::is_root()));
            if !m.note.is_empty() {
                say!("  note: {}", m.note);
            }
        }
        if report.mount.is_some() {
            say!("  mount it with: benchhost mount {profile}; stop it with: benchhost down {profile}");
        } else {
            say!("  stop it with: benchhost down {profile}");
        }
    }
    Ok(())
}

pub async fn down(registry: &Registry, secrets: &[String], profile: &str, json: bool, results_dir: Option<PathBuf>, dry_run: bool, signals: &Signals) -> Result<(), BenchError> {
    let engine = DockerEngine::connect().await?;
    if dry_run {
        let found = engine.list_labelled(LABEL_PROFILE, profile).await?;
        if found.is_empty() {
            registry.find(profile)?;
        }
        let mounts: Vec<(String, host_mount::Record)> = host_mount::recorded(profile).into_iter().map(|r| (profile.to_string(), r)).collect();
        let actions = dry_run::removal_actions(&found, &mounts, true);
        out!("{}", if json { serde_json::to_string_pretty(&actions).expect("serialisable") } else { dry_run::render(&actions).trim_end().to_string() });
        return Ok(());
    }
    let root = results_dir.map(|d| std::path::absolute(&d).unwrap_or(d));
    let _lock = run_lock::acquire(|| say!("waiting for another benchhost up/down/clean to finish...")).await?;
    // An interrupted down would leave a half-removed stack: it finishes, then says so.
    let guard = signals.guard();
    let report = teardown::down::down(&engine, profile, &DownOptions { results_root: root, secrets: secrets.to_vec() }).await?;
    let nothing = report.containers.is_empty() && report.networks.is_empty() && report.volumes.is_empty();
    if nothing && registry.find(profile).is_err() {
        // A typo is not "nothing to remove": say so (resources of uninstalled plugins are still removed above).
        registry.find(profile)?;
    }
    for n in &report.notes {
        say!("{profile}: {n}");
    }
    if guard.was_interrupted() {
        say!("{profile}: interrupted; finished removing first");
    }
    if json {
        out!("{}", serde_json::to_string_pretty(&report).expect("serialisable"));
    } else if nothing {
        say!("{profile}: nothing to remove");
    } else {
        say!(
            "{profile}: removed {} container(s), {} network(s), {} volume(s) in {:.2}s",
            report.containers.len(),
            report.networks.len(),
            report.volumes.len(),
            report.seconds
        );
        if let Some(first) = report.logs.first() {
            let dir = std::path::Path::new(first).parent().map(|p| p.display().to_string()).unwrap_or_default();
            say!("  saved {} log file(s) in {dir}", report.logs.len());
        }
    }
    Ok(())
}

pub async fn mount(registry: &Registry, settings: &SettingsSource, profile: &str, dir: Option<String>, print: bool, os: Option<OsArg>) -> Result<(), BenchError> {
    let found = registry.find(profile)?;
    let plugin = registry.plugin(found.plugin);
    let os = match os {
        Some(OsArg::Linux) => HostOs::Linux,
        Some(OsArg::Macos) => HostOs::Macos,
        None => host_os(),
    };
    if found.profile.role == crate::runtime::contract::Role::Infrastructure {
        return Err(BenchError::Usage(format!("{profile} is infrastructure (it serves other systems); nothing to mount")));
    }
    if dir.as_deref().is_some_and(|d| d.trim().is_empty()) {
        return Err(BenchError::Usage("--dir is empty\n  hint: give a directory, e.g. --dir /mnt/bench".into()));
    }
    let ctx = settings.context(&plugin.info, profile, os);
    let spec = registry.runtime.mount_options(plugin, &ctx).await?;
    let dir = absolute_dir(dir, profile);
    let cmd = mount::mount_command(&spec, os, &dir).map_err(|message| BenchError::InvalidPluginOutput {
        plugin: plugin.info.name.clone(),
        version: plugin.info.version.clone(),
        operation: "mount-options",
        message,
    })?;
    if print {
        out!("{}", cmd.shell_line(host_mount::is_root()));
        if !cmd.note.is_empty() {
            say!("  note: {}", cmd.note);
        }
        return Ok(());
    }
    if os != host_os() {
        return Err(BenchError::Usage("--os names another OS: that only prints; add --print".into()));
    }
    let engine = DockerEngine::connect().await?;
    let up = engine.list_labelled(LABEL_PROFILE, profile).await?;
    if !up.containers.iter().any(|c| c.state == "running") {
        return Err(BenchError::Usage(format!("{profile} is not up\n  hint: `benchhost up {profile}` first (or `benchhost mount {profile} --print` for the command)")));
    }
    // The directory as the kernel will report it (symlinks and `..` resolved), so umount/down
    // find the mount again; created now, and removed again if the mount fails.
    let created = !std::path::Path::new(&dir).exists();
    if cmd.argv.first().is_some_and(|a| a != "echo") {
        if let Err(e) = std::fs::create_dir_all(&dir) {
            return Err(BenchError::Usage(format!("cannot create the mount directory {dir}: {e}\n  hint: choose another with --dir DIR")));
        }
    }
    let canonical = std::fs::canonicalize(&dir).map(|p| p.display().to_string()).unwrap_or(dir.clone());
    let cmd = mount::mount_command(&spec, os, &canonical).map_err(|message| BenchError::InvalidPluginOutput {
        plugin: plugin.info.name.clone(),
        version: plugin.info.version.clone(),
        operation: "mount-options",
        message,
    })?;
    say!("running: {}", host_mount::display(&host_mount::privileged(&cmd.argv, host_mount::is_root())));
    let note = host_mount::mount_now(profile, &cmd, os, created)?;
    say!("{note}");
    Ok(())
}

pub fn umount(profile: &str, dir: Option<String>, dry_run: bool) -> Result<(), BenchError> {
    let os = host_os();
    let mut records = host_mount::recorded(profile);
    if let Some(d) = dir {
        let wanted = std::fs::canonicalize(&d).map(|p| p.display().to_string()).unwrap_or_else(|_| absolute_dir(Some(d.clone()), profile));
        records.retain(|r| r.dir == wanted);
        if records.is_empty() {
            return Err(BenchError::Usage(format!(
                "benchhost did not mount {profile} on {wanted}, so it leaves it alone\n  hint: `umount {wanted}` yourself if you mounted it"
            )));
        }
    }
    if records.is_empty() {
        say!("{profile}: nothing mounted by benchhost");
        return Ok(());
    }
    for r in records {
        if dry_run {
            out!("{}", host_mount::display(&host_mount::umount_command(&r.dir, os, host_mount::is_root())));
            continue;
        }
        match host_mount::unmount_record(profile, &r, os)? {
            Some(note) => say!("{profile}: {note}"),
            None => say!("{profile}: {} is no longer mounted", r.dir),
        }
    }
    Ok(())
}

pub async fn logs(registry: &Registry, secrets: &[String], profile: &str, service: Option<String>, follow: bool, tail: Option<usize>, signals: &Signals) -> Result<(), BenchError> {
    let mut guard = signals.guard();
    use futures_util::StreamExt;
    let engine = DockerEngine::connect().await?;
    let found = engine.list_labelled(LABEL_PROFILE, profile).await?;
    if found.containers.is_empty() {
        registry.find(profile)?;
        return Err(BenchError::Usage(format!("{profile} is not up: no containers\n  hint: logs of a finished run are in its results directory (logs/)")));
    }
    let mut containers: Vec<_> = found.containers.iter().filter(|c| service.as_ref().is_none_or(|s| c.labels.get(LABEL_SERVICE) == Some(s))).collect();
    if containers.is_empty() {
        let services: Vec<&str> = found.containers.iter().filter_map(|c| c.labels.get(LABEL_SERVICE).map(String::as_str)).collect();
        return Err(BenchError::Usage(format!("{profile} has no service {:?}; its services: {}", service.unwrap_or_default(), services.join(", "))));
    }
    containers.sort_by(|a, b| a.name.cmp(&b.name));
    let prefix = containers.len() > 1;
    let streams = containers.iter().enumerate().map(|(i, c)| {
        let label = c.labels.get(LABEL_SERVICE).cloned().unwrap_or_else(|| c.name.clone());
        engine.logs_stream(&c.id, follow, tail, false).map(move |line| (i, label.clone(), line)).boxed()
    });
    let mut merged = futures_util::stream::select_all(streams);
    // Whole lines per container (a secret cut across frames is still removed).
    let mut assemblers: Vec<LineAssembler> = containers.iter().map(|_| LineAssembler::new(false, secrets)).collect();
    let show = |label: &str, line: &str| {
        let line = line.trim_end_matches('\n');
        if prefix {
            out!("{label:<10} | {line}");
        } else {
            out!("{line}");
        }
    };
    let labels: Vec<String> = containers.iter().map(|c| c.labels.get(LABEL_SERVICE).cloned().unwrap_or_else(|| c.name.clone())).collect();
    let print = async {
        while let Some((i, label, line)) = merged.next().await {
            match line {
                Ok(l) => {
                    for complete in assemblers[i].push(l.stderr, &l.text) {
                        show(&label, &complete);
                    }
                }
                Err(e) => say!("{label}: {e}"),
            }
        }
        for (i, a) in assemblers.iter_mut().enumerate() {
            for rest in a.finish() {
                show(&labels[i], &rest);
            }
        }
    };
    tokio::select! {
        _ = print => {}
        _ = guard.interrupted() => {}
    }
    Ok(())
}

pub async fn doctor(registry: &Registry, settings: &SettingsSource, json: bool) -> Result<(), BenchError> {
    let os = host_os();
    let list = checks::run(registry, settings, os, &results::results_root(None, settings)).await;
    if json {
        out!("{}", serde_json::to_string_pretty(&list).expect("serialisable"));
    } else {
        out!("{}", checks::render(&list, os).trim_end());
    }
    let failed: Vec<&str> = list.iter().filter(|c| c.required && c.status == checks::Status::Fail).map(|c| c.name.as_str()).collect();
    if failed.is_empty() {
        Ok(())
    } else {
        Err(BenchError::HostUnsupported(format!("doctor: required check(s) failed: {}", failed.join(", "))))
    }
}

pub async fn clean(secrets: &[String], images: bool, dry_run: bool, json: bool, signals: &Signals) -> Result<(), BenchError> {
    let engine = DockerEngine::connect().await?;
    if dry_run {
        let (mounts, found, built) = cleaning::targets(&engine, images).await?;
        let mut actions = dry_run::removal_actions(&found, &mounts, true);
        actions.extend(built.iter().map(|i| dry_run::Action {
            action: "remove-image",
            description: format!("remove image {} ({})", i.tags.join(", "), i.id),
            request: None,
        }));
        out!("{}", if json { serde_json::to_string_pretty(&actions).expect("serialisable") } else { dry_run::render(&actions).trim_end().to_string() });
        return Ok(());
    }
    let _lock = run_lock::acquire(|| say!("waiting for another benchhost up/down/clean to finish...")).await?;
    // Like down: once started, clean finishes.
    let _guard = signals.guard();
    let report = cleaning::clean(&engine, images, secrets).await?;
    if json {
        out!("{}", serde_json::to_string_pretty(&report).expect("serialisable"));
    } else {
        for n in report.unmounted.iter().chain(&report.notes) {
            say!("{n}");
        }
        if !report.logs.is_empty() {
            say!("saved {} log file(s) into the runs' results directories", report.logs.len());
        }
        say!(
            "removed {} container(s), {} network(s), {} volume(s){}",
            report.containers.len(),
            report.networks.len(),
            report.volumes.len(),
            if images { format!(", {} image(s)", report.images.len()) } else { String::new() }
        );
    }
    Ok(())
}

pub fn drop_caches(dry_run: bool) -> Result<(), BenchError> {
    let os = host_os();
    if dry_run {
        out!("dry run: these commands would run");
        for c in page_cache::commands(os, host_mount::is_root())? {
            out!("{}", c.join(" "));
        }
        return Ok(());
    }
    say!("{}", page_cache::drop_caches(os)?);
    Ok(())
}
