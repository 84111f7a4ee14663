//! Every label benchhost puts on what it creates, in one place. The engine is asked for
//! resources by these labels (`status`, `down`, `clean`, the interrupt sweep), so a name here is
//! part of how earlier runs are found: change one only with a migration.

/// On everything benchhost creates: `true`.
pub const LABEL_MANAGED: &str = "benchhost.managed";
/// The profile `up` was given (the target, also on its dependencies' resources).
pub const LABEL_PROFILE: &str = "benchhost.profile";
/// The id of the `up` run that created the resource (the interrupt sweep removes by it).
pub const LABEL_RUN: &str = "benchhost.run-id";
/// On containers: the plugin that declared the service.
pub const LABEL_PLUGIN: &str = "benchhost.plugin";
/// On containers: the service name within its plugin.
pub const LABEL_SERVICE: &str = "benchhost.service";
/// `target` or `infrastructure`: `down` stops systems under test before what they depend on.
pub const LABEL_ROLE: &str = "benchhost.role";
/// Host paths bind-mounted with propagation (`:`-separated), checked for stale FUSE mounts by `down`.
pub const LABEL_SHARED_BINDS: &str = "benchhost.shared-binds";
/// On a volume made under `BENCH_DATA_DIR`: the directory that holds its data, which `down`
/// and `clean` remove with it.
pub const LABEL_DATA_DIR: &str = "benchhost.data-dir";
/// On every container: the absolute path of its run's results directory.
pub const LABEL_RESULTS: &str = "benchhost.results";
/// On containers whose service declares a healthcheck: the argv benchhost execs in the
/// container to run it (`up` once, `status` each time it is asked; Docker runs none), as a JSON
/// array of strings: `["CMD", a, b]` becomes `[a, b]`, `["CMD-SHELL", s]` becomes
/// `["/bin/sh", "-c", s]`, Docker's own translations. See [`crate::orchestration::health`].
pub const LABEL_HEALTHCHECK: &str = "benchhost.healthcheck";
/// Beside [`LABEL_HEALTHCHECK`]: how long the test may take, in milliseconds (the plugin's
/// healthcheck timeout).
pub const LABEL_HEALTHCHECK_TIMEOUT: &str = "benchhost.healthcheck-timeout-ms";
/// On images built from source (`<PLUGIN>_SRC`): the checkout's path.
pub const LABEL_SOURCE: &str = "benchhost.source";

/// Docker resource names of a profile: `benchhost-<profile>[-<suffix>]`.
pub fn resource_name(profile: &str, suffix: &str) -> String {
    if suffix.is_empty() { format!("benchhost-{profile}") } else { format!("benchhost-{profile}-{suffix}") }
}
