//! The run record, `run.json` in a run's results directory: one [`RunRecord`] owns it from the
//! start of `up` to `down`. `up` writes it before anything is created (`outcome: running`) and
//! again when it ends (`ready`, `failed` or `interrupted`, with the steps, images, containers,
//! mount command or error); `down` and `clean` add a `down` entry. Secret settings are written
//! as `***`.

use crate::engine::DockerEngine;
use crate::orchestration::error::BenchError;
use crate::orchestration::host::mounts::is_root;
use crate::orchestration::plan::settings::SettingsSource;
use crate::orchestration::plan::source_build::SourceBuild;
use crate::orchestration::plan::Plan;
use crate::orchestration::plugins::registry::{Origin, Registry};
use crate::orchestration::progress::Progress;
use crate::orchestration::results::{RunDir, REDACTED, RESULTS_SETTING};
use crate::orchestration::host::mount_command::MountCommand;
use std::collections::BTreeMap;
use std::path::Path;

/// A stack that came up, as its record keeps it.
pub struct UpEnd<'a> {
    pub containers: &'a [String],
    /// What the plugins logged while bootstrapping.
    pub bootstrap_log: &'a [String],
    pub mount: Option<&'a MountCommand>,
}

/// A run's `run.json`, held as JSON so that `down` keeps whatever an earlier benchhost wrote.
pub struct RunRecord {
    dir: RunDir,
    value: serde_json::Value,
}

/// What a run record is started from: the run and what it resolved.
pub struct RunStart<'a> {
    pub registry: &'a Registry,
    pub plan: &'a Plan,
    pub settings: &'a SettingsSource,
    /// The results root the run's directory is in.
    pub root: &'a Path,
    pub builds: &'a [SourceBuild],
    pub engine: &'a DockerEngine,
    pub run_id: &'a str,
}

impl RunRecord {
    /// Writes the record of a run that starts now (`outcome: running`) into `dir`.
    pub fn start(dir: &RunDir, run: &RunStart<'_>) -> Result<RunRecord, BenchError> {
        let mut resolved_settings = settings_record(run.registry, run.plan, run.settings);
        resolved_settings.insert(RESULTS_SETTING.to_string(), run.root.display().to_string());
        let value = serde_json::json!({
            "benchhost_version": env!("CARGO_PKG_VERSION"),
            "profile": run.plan.target,
            "run_id": run.run_id,
            "started_at": chrono::Local::now().to_rfc3339(),
            "outcome": "running",
            "results_dir": dir.path.display().to_string(),
            "plugins": plugins_record(run.registry, run.plan),
            "source_builds": run.builds,
            "settings": resolved_settings,
            "host": host_record(Some(run.engine)),
        });
        let record = RunRecord { dir: dir.clone(), value };
        record.write()?;
        Ok(record)
    }

    /// Records how `up` ended: images as present now, the steps and time taken, and the ready
    /// stack (containers, bootstrap log, mount command) or the error (secrets redacted) with its
    /// exit code. A record that cannot be written is a warning on stderr, not a failure.
    pub async fn finish_up(&mut self, engine: &DockerEngine, plan: &Plan, progress: &Progress, outcome: Result<UpEnd<'_>, &BenchError>, secrets: &[String]) {
        let images = images_record(engine, plan).await;
        let obj = self.value.as_object_mut().expect("a run record is an object");
        obj.insert("images".into(), images);
        obj.insert("steps".into(), serde_json::to_value(progress.steps()).unwrap_or_default());
        obj.insert("seconds".into(), serde_json::json!((progress.elapsed().as_secs_f64() * 1000.0).round() / 1000.0));
        match outcome {
            Ok(ready) => {
                obj.insert("outcome".into(), "ready".into());
                obj.insert("containers".into(), serde_json::json!(ready.containers));
                obj.insert("bootstrap_log".into(), serde_json::json!(ready.bootstrap_log));
                obj.insert("mount".into(), serde_json::json!(ready.mount.map(|m| m.display(is_root()))));
            }
            Err(e) => {
                obj.insert("outcome".into(), if matches!(e, BenchError::Interrupted) { "interrupted".into() } else { "failed".into() });
                obj.insert("error".into(), crate::orchestration::redact(&e.to_string(), secrets).into());
                obj.insert("exit_code".into(), e.exit_code().into());
            }
        }
        if let Err(e) = self.write() {
            crate::orchestration::progress::say(&format!("warning: {e}"));
        }
    }

    /// Adds the `down` entry (`down`'s or `clean`'s `entry`) to the record of the run whose
    /// directory labels its resources (`label`), written where `down` saves the logs
    /// ([`RunDir::for_down`]): with `down --results-dir` the record moves along. A record that
    /// cannot be written is logged as a warning.
    pub fn add_down(label: &str, root_override: Option<&Path>, entry: serde_json::Value) {
        let dir = RunDir::for_down(label, root_override);
        let mut record = RunRecord { dir: RunDir { path: label.into() }, value: serde_json::json!({}) };
        record.value = record.read();
        if let Some(obj) = record.value.as_object_mut() {
            obj.insert("down".into(), entry);
        }
        record.dir = dir;
        if let Err(e) = record.write() {
            tracing::warn!("{e}");
        }
    }

    fn path(&self) -> std::path::PathBuf {
        self.dir.path.join("run.json")
    }

    /// Writes `run.json` (pretty JSON).
    /// Writes `run.json` whole or not at all: into `run.json.tmp`, then renamed over it, so a
    /// full disk leaves the last complete record (or none), never a cut or empty one.
    fn write(&self) -> Result<(), BenchError> {
        let text = serde_json::to_string_pretty(&self.value).expect("JSON values serialise");
        crate::orchestration::results::write_whole(&self.path(), (text + "\n").as_bytes()).map_err(|e| {
            BenchError::Usage(format!(
                "cannot write the run record {}: {e}\n  hint: free space there, or choose another results root with --results-dir DIR or {RESULTS_SETTING}",
                self.path().display()
            ))
        })
    }

    /// `run.json` as JSON, or an empty object when it is missing or unreadable.
    fn read(&self) -> serde_json::Value {
        std::fs::read_to_string(self.path()).ok().and_then(|t| serde_json::from_str(&t).ok()).unwrap_or_else(|| serde_json::json!({}))
    }
}

/// Host facts for the run record.
pub fn host_record(engine: Option<&DockerEngine>) -> serde_json::Value {
    let kernel = rustix::system::uname();
    serde_json::json!({
        "os": std::env::consts::OS,
        "arch": std::env::consts::ARCH,
        "kernel": kernel.release().to_string_lossy(),
        "hostname": kernel.nodename().to_string_lossy(),
        "cpus": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
        "docker_engine_version": engine.map(|e| e.engine_version.clone()),
        "docker_api_version": engine.map(|e| e.api_version.clone()),
    })
}

/// The plugins of `plan`: name, version, source and SHA-256 of the component.
pub fn plugins_record(registry: &Registry, plan: &Plan) -> serde_json::Value {
    let mut seen = Vec::new();
    for p in &plan.profiles {
        if !seen.contains(&p.plugin) {
            seen.push(p.plugin);
        }
    }
    seen.iter()
        .map(|&i| {
            let r = &registry.plugins[i];
            serde_json::json!({
                "name": r.plugin.info.name,
                "version": r.plugin.info.version,
                "sha256": r.sha256,
                "source": match &r.origin { Origin::BuiltIn => "built-in".to_string(), Origin::File(f) => f.display().to_string() },
                "profiles": plan.profiles.iter().filter(|p| p.plugin == i).map(|p| p.profile.clone()).collect::<Vec<_>>(),
            })
        })
        .collect()
}

/// Every setting the run resolved: each plan profile's declared settings (value or default)
/// plus the global `BENCH_*` ones. Settings declared secret are written as `***`.
pub fn settings_record(registry: &Registry, plan: &Plan, settings: &SettingsSource) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for p in &plan.profiles {
        let info = &registry.plugins[p.plugin].plugin.info;
        for (name, value) in &p.ctx.settings {
            let secret = info.settings.iter().any(|s| &s.name == name && s.secret);
            out.insert(name.clone(), if secret { REDACTED.to_string() } else { value.clone() });
        }
    }
    for (name, default) in crate::orchestration::plan::settings::GLOBAL_SETTINGS.iter().map(|g| (g.0, g.1)) {
        out.insert(name.to_string(), settings.get(name).unwrap_or(default).to_string());
    }
    // The address the mount command names, as resolved (its default depends on the bind address).
    if let Ok(globals) = settings.global() {
        out.insert("BENCH_SERVER_ADDRESS".to_string(), globals.server_address);
    }
    out
}

/// Image id, digests and architecture of every service of `plan` (as present now).
pub async fn images_record(engine: &DockerEngine, plan: &Plan) -> serde_json::Value {
    let mut out = Vec::new();
    for (p, s) in plan.services() {
        let info = engine.image_info(&s.image).await.ok().flatten();
        out.push(serde_json::json!({
            "profile": p.profile,
            "service": s.name,
            "image": s.image,
            "id": info.as_ref().map(|i| i.id.clone()),
            "digests": info.as_ref().map(|i| i.digests.clone()).unwrap_or_default(),
            "architecture": info.as_ref().map(|i| i.architecture.clone()),
        }));
    }
    serde_json::Value::Array(out)
}
