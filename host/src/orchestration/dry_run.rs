//! `--dry-run`: every action a command would take, in order, with the full container
//! requests, and nothing done. Secret values are replaced by `***`.

use crate::orchestration::plan::Plan;
use crate::orchestration::plugins::registry::Registry;
use crate::orchestration::plan::source_build::SourceBuild;
use crate::orchestration::labels::resource_name;
use crate::orchestration::up::container_spec::{container_spec, run_labels};
use crate::orchestration::up::UpOptions;
use crate::engine::{DockerEngine, LabelledResources, MountSource};

/// One action.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Action {
    /// `build`, `image`, `network`, `volume`, `container`, `start`, `wait`, `bootstrap`,
    /// `mount`, `unmount`, `save-logs`, `remove-container`, `remove-network`,
    /// `remove-volume`, `remove-image`.
    pub action: &'static str,
    pub description: String,
    /// The Engine API request, for `container`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request: Option<serde_json::Value>,
}

fn act(action: &'static str, description: String) -> Action {
    Action { action, description, request: None }
}

/// What `up` would do for `plan`. `engine` (when reachable) tells present images from ones to
/// pull; `secret_values` are the user's secret values ([`crate::orchestration::plan::settings::SettingsSource::secrets`]), blanked
/// wherever an environment value equals one.
pub async fn up_actions(
    registry: &Registry,
    plan: &Plan,
    opts: &UpOptions,
    builds: &[SourceBuild],
    engine: Option<&DockerEngine>,
    secret_values: &[String],
) -> Result<Vec<Action>, super::BenchError> {
    let mut actions = Vec::new();
    for b in builds {
        actions.push(act("build", format!("build {} from {} through the Engine API ({}; replaces {})", b.tag, b.context.join("Dockerfile").display(), b.setting, b.replaces)));
    }
    let mut seen = Vec::new();
    for (_, s) in plan.services() {
        if seen.contains(&s.image) || builds.iter().any(|b| b.tag == s.image) {
            continue;
        }
        seen.push(s.image.clone());
        let what = match engine {
            Some(e) => match e.image_info(&s.image).await {
                Ok(Some(info)) => format!("image {}: present ({})", s.image, info.id),
                Ok(None) => format!("image {}: not present, would pull it", s.image),
                Err(err) => format!("image {}: cannot tell ({err})", s.image),
            },
            None => format!("image {}: would check, and pull when missing (engine not reachable now)", s.image),
        };
        actions.push(act("image", what));
    }
    let network = resource_name(&plan.target, "");
    let labels = run_labels(plan, opts);
    actions.push(act("network", format!("create bridge network {network}")));
    for planned in &plan.profiles {
        let plugin = registry.plugin(planned.plugin);
        for service in &planned.services {
            let spec = container_spec(plan, planned, service, &plugin.info.name, &network, &labels, &opts.globals);
            for m in &spec.mounts {
                match &m.source {
                    MountSource::Volume(v) => actions.push(act("volume", match &opts.globals.data_dir {
                        Some(root) => format!(
                            "create directory {} and volume {v} bound to it (mounted at {} in {})",
                            root.join(&plan.target).join(v).display(),
                            m.target,
                            spec.name
                        ),
                        None => format!("create volume {v} (mounted at {} in {})", m.target, spec.name),
                    })),
                    MountSource::Tmpfs => actions.push(act("volume", format!("tmpfs at {} in {}", m.target, spec.name))),
                    _ => {}
                }
            }
            let mut request = spec.request_json();
            blank_secret_env(&mut request, secret_values);
            actions.push(Action { action: "container", description: format!("create container {} from {}", spec.name, spec.image), request: Some(request) });
            actions.push(act("start", format!("start {}", spec.name)));
            let health = if service.healthcheck.is_some() { "its healthcheck (run once by benchhost in the container) passes and " } else { "" };
            actions.push(act(
                "wait",
                format!("wait until {health}plugin {} says {} is ready (up to {}s)", plugin.info.name, service.name, opts.globals.startup_timeout.as_secs()),
            ));
        }
        actions.push(act("bootstrap", format!("bootstrap {} (plugin {} {})", planned.profile, plugin.info.name, plugin.info.version)));
    }
    if let Some(target) = plan.profiles.last().filter(|t| t.role == crate::runtime::contract::Role::Target) {
        let plugin = registry.plugin(target.plugin);
        let spec = registry.runtime.mount_options(plugin, &target.ctx).await?;
        let spec = crate::orchestration::host::mount_command::at_server(&spec, &opts.globals.server_address).unwrap_or(spec);
        if let Ok(m) = crate::orchestration::host::mount_command::mount_command(&spec, opts.host_os, &opts.mount_dir) {
            actions.push(act("mount", format!("print the mount command: {}", m.shell_line(crate::orchestration::host::mounts::is_root()))));
        }
    }
    Ok(actions)
}

/// What `down`/`clean` would remove: `found`, after unmounting `mounts` and saving logs.
pub fn removal_actions(found: &LabelledResources, mounts: &[(String, crate::orchestration::host::mounts::Record)], save_logs: bool) -> Vec<Action> {
    let mut actions: Vec<Action> = mounts
        .iter()
        .map(|(p, r)| act("unmount", format!("unmount {} if it still holds {} ({}), mounted by `benchhost mount {p}`", r.dir, r.source, r.fstype)))
        .collect();
    if save_logs {
        for c in &found.containers {
            if let Some(dir) = c.labels.get(crate::orchestration::results::LABEL_RESULTS) {
                actions.push(act("save-logs", format!("save the logs of {} to {dir}/logs/{}.log", c.name, c.name)));
            }
        }
    }
    actions.extend(found.containers.iter().map(|c| act("remove-container", format!("stop and remove container {} ({})", c.name, c.state))));
    actions.extend(found.networks.iter().map(|n| act("remove-network", format!("remove network {}", n.name))));
    actions.extend(found.volumes.iter().map(|v| act("remove-volume", format!("remove volume {}", v.name))));
    actions
}

/// Replaces environment values equal to a secret value with `***` in a container request.
fn blank_secret_env(request: &mut serde_json::Value, secret_values: &[String]) {
    if let Some(env) = request.pointer_mut("/create/Env").and_then(|e| e.as_array_mut()) {
        for item in env.iter_mut() {
            if let Some((k, v)) = item.as_str().and_then(|s| s.split_once('='))
                && secret_values.iter().any(|s| !s.is_empty() && s == v) {
                    *item = serde_json::Value::String(format!("{k}={}", crate::orchestration::results::REDACTED));
                }
        }
    }
}
