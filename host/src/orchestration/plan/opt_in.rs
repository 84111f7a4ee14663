//! Settings that only some systems honour (`BENCH_WAL_ENABLED`, `BENCH_PROFILING` /
//! `up --with-profiling`). A system receives one only if its plugin declares it; setting one
//! for a system that does not is refused rather than silently ignored, because a benchmark
//! run that claims "WAL off" must really have had it off.

use crate::orchestration::error::BenchError;
use crate::orchestration::plan::Plan;
use crate::orchestration::plugins::registry::Registry;
use crate::orchestration::plan::settings::SettingsSource;

/// `(setting, how the user sets it, whether `0` is a request too)`. `BENCH_WAL_ENABLED=0`
/// asks for something (write-back); `BENCH_PROFILING=0` is the default everywhere.
pub const OPT_IN_SETTINGS: &[(&str, &str, bool)] =
    &[("BENCH_WAL_ENABLED", "BENCH_WAL_ENABLED", true), ("BENCH_PROFILING", "--with-profiling (BENCH_PROFILING)", false)];

/// Refuses (usage error) an opt-in setting that is set but not a yes/no value, or that the
/// target profile's plugin does not declare; the error names the systems that do.
pub fn check(registry: &Registry, plan: &Plan, settings: &SettingsSource) -> Result<(), BenchError> {
    let Some(target) = plan.profiles.last() else { return Ok(()) };
    let info = &registry.plugins[target.plugin].plugin.info;
    for (name, how, zero_asks) in OPT_IN_SETTINGS {
        let Some(value) = settings.flag(name)? else { continue };
        if !value && !zero_asks {
            continue;
        }
        if info.settings.iter().any(|s| s.name == *name) {
            continue;
        }
        let honoured: Vec<String> = registry
            .plugins
            .iter()
            .filter(|r| r.plugin.info.settings.iter().any(|s| s.name == *name))
            .map(|r| r.plugin.info.name.clone())
            .collect();
        return Err(BenchError::Usage(format!(
            "{how}={} means nothing for profile {} (plugin {} {} has no such switch); systems that honour it: {}\n  hint: {} for this profile",
            if value { "1" } else { "0" },
            target.profile,
            info.name,
            info.version,
            if honoured.is_empty() { "none".to_string() } else { honoured.join(", ") },
            if *name == "BENCH_PROFILING" { "drop --with-profiling (and unset BENCH_PROFILING)".to_string() } else { format!("unset {name}") }
        )));
    }
    Ok(())
}
