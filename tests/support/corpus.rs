//! The hostile plugin corpus (`tests/fixtures/`, one crate per theme) as the tests see it:
//! where each component is, and what the host must answer to each invalid output.

use super::artifacts;
use std::path::PathBuf;

/// The component file of fixture crate `name` (e.g. `bad-image`); the first call builds the
/// corpus ([`artifacts::fixtures_dir`]).
pub fn fixture_path(name: &str) -> PathBuf {
    let path = artifacts::fixtures_dir().join(format!("benchhost_fixture_{}.wasm", name.replace('-', "_")));
    assert!(path.is_file(), "fixture {} is missing", path.display());
    path
}

/// The built component of `tests/fixtures-current/<name>` (a fixture of the SDK's own contract
/// version), e.g. `current_fixture_path("fake-cache")`.
pub fn current_fixture_path(name: &str) -> PathBuf {
    let path = artifacts::current_fixtures_dir().join(format!("benchhost_fixture_{}.wasm", name.replace('-', "_")));
    assert!(path.is_file(), "fixture {} is missing", path.display());
    path
}

/// `(origin, bytes)` of fixture `name`'s component, e.g. `fixture_component("hostile")`: what
/// `PluginRuntime::load` takes.
pub fn fixture_component(name: &str) -> (String, Vec<u8>) {
    let path = fixture_path(name);
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("reading fixture {}: {e}", path.display()));
    (path.display().to_string(), bytes)
}

/// Fixtures that load (their `describe` is valid) but whose profiles misbehave later.
pub const LOADABLE: &[&str] = &[
    "bad-deps", "bad-env", "bad-healthcheck", "bad-image", "bad-mount", "bad-names", "bad-ports", "bad-process", "faults",
    "foreign-reach", "hostile", "huge-output", "leaky", "memory-hog", "needs-grant", "panic-ops", "path-escape", "spin",
    "undeclared", "wasi-escape",
];

/// Fixtures that must not load: `(fixture, parts of the warning after "skipped a plugin...: ")`.
pub const UNLOADABLE: &[(&str, &[&str])] = &[
    ("panic-describe", &["plugin \"benchhost_fixture_panic_describe.wasm\" ? describe: trapped: the plugin panicked", "describe refused to describe"]),
    ("unsupported-import", &["? load: ", "needs test:extra/thing which this benchhost does not provide"]),
    ("loop-describe", &["plugin \"benchhost_fixture_loop_describe.wasm\" ? describe: timed out after 5s"]),
    ("wit-next", &["? load: ", "is built for benchhost plugin API 0.4.0; this benchhost supports 0.1.0–0.3.x; rebuild it with a matching benchhost-plugin-sdk"]),
    ("wit-major", &["? load: ", "is built for benchhost plugin API 9.0.0"]),
    ("missing-exports", &["? load: ", "does not export the benchhost:plugin/plugin@0.1.0 interface", "hint: implement every function"]),
    ("not-a-plugin", &["? load: ", "is not a benchhost plugin"]),
    ("core-module", &["? load: ", "is a core WebAssembly module, not a component; build it with `cargo build --target wasm32-wasip2`"]),
    ("greedy-settings", &["plugin \"greedy-settings\" 0.1.0 describe: setting \"GITHUB_TOKEN\" is outside what a third-party plugin may read"]),
];

/// `(fixture, version, profile, message)` for every profile of the validation fixtures: `up` of
/// each must fail while planning with `BenchError::InvalidPluginOutput` (exit 3), before anything
/// exists, with exactly `plugin "<fixture>" <version> compose-service: <message>`.
pub const INVALID_OUTPUT: &[(&str, &str, &str, &str)] = &[
    ("bad-names", "1.0.0", "name-invalid", r#"service name "App_1" is invalid (use 1-48 of [a-z0-9-], starting with a letter or digit)"#),
    ("bad-names", "1.0.0", "name-dup", r#"service name "app" appears twice"#),
    ("bad-names", "1.0.0", "name-volume", r#"service "app": volumes[0] name "../escape" is invalid (use [a-z0-9-])"#),
    ("bad-names", "1.0.0", "name-long", r#"service name "nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn" is invalid (use 1-48 of [a-z0-9-], starting with a letter or digit)"#),
    ("bad-names", "1.0.0", "name-none", "returned no services"),
    ("bad-image", "0.1.0", "image-unpinned", r#"service "app": image "busybox" is not pinned; give a tag or digest (repo:tag or repo@sha256:...)"#),
    ("bad-image", "0.1.0", "image-upper", r#"service "app": image "Evil/Busybox:1" is not a valid repository name (lowercase letters, digits, '.', '_', '-')"#),
    ("bad-image", "0.1.0", "image-digest", r#"service "app": image "busybox@sha256:1234" has a malformed digest (want @sha256:<64 lowercase hex>)"#),
    ("bad-image", "0.1.0", "image-flag", r#"service "app": image "busybox:1 --privileged" is not an image reference"#),
    ("bad-image", "0.1.0", "image-empty", r#"service "app": image "" is not an image reference"#),
    ("bad-env", "0.1.0", "env-equals", r#"service "app": environment variable "A=B" has '=' or a NUL byte in its name"#),
    ("bad-env", "0.1.0", "env-empty", r#"service "app": environment variable "" has an empty name"#),
    ("bad-env", "0.1.0", "env-nul-key", r#"service "app": environment variable "A\0B" has '=' or a NUL byte in its name"#),
    ("bad-env", "0.1.0", "env-nul-value", r#"service "app": environment variable "OK" has a NUL byte in its value"#),
    ("bad-env", "0.1.0", "env-space", r#"service "app": environment variable name "MY VAR" may only hold letters, digits, '_', '.', '-'"#),
    ("bad-ports", "0.1.0", "port-zero", r#"service "app": ports[0] maps 0 -> 31701; port 0 is not allowed"#),
    ("bad-ports", "0.1.0", "port-host-zero", r#"service "app": ports[0] maps 2049 -> 0; port 0 is not allowed"#),
    ("bad-ports", "0.1.0", "port-dup", r#"service "b" publishes host port 31703, already published by a (port-dup)"#),
    ("bad-ports", "0.1.0", "port-claimed", r#"service "app" publishes host port 22049, which plugin ganesha claims for profile ganesha"#),
    ("path-escape", "0.1.0", "path-target-dotdot", r#"service "app": volumes[0].target "/data/../../etc" must be an absolute path without '..'"#),
    ("path-escape", "0.1.0", "path-target-relative", r#"service "app": volumes[0].target "data" must be an absolute path without '..'"#),
    ("path-escape", "0.1.0", "path-target-root", r#"service "app": volumes[0].target "/" is "/" or mounted twice"#),
    ("path-escape", "0.1.0", "path-target-twice", r#"service "app": volumes[1].target "/data/" is "/" or mounted twice"#),
    ("path-escape", "0.1.0", "path-file-dotdot", r#"service "app": files[0].path "/etc/../../root/.ssh/authorized_keys" must be an absolute file path without '..'"#),
    ("path-escape", "0.1.0", "path-file-relative", r#"service "app": files[0].path "etc/passwd" must be an absolute file path without '..'"#),
    ("path-escape", "0.1.0", "path-file-dir", r#"service "app": files[0].path "/etc/" must be an absolute file path without '..'"#),
    ("path-escape", "0.1.0", "path-file-mode", r#"service "app": files[0].mode 0o17777 is not a file mode"#),
    ("path-escape", "0.1.0", "path-bind-undeclared", r#"service "app": volumes[0] binds host path "/etc", which the plugin did not declare in its host-binds capability"#),
    ("path-escape", "0.1.0", "path-bind-dotdot", r#"service "app": volumes[0] host path "/tmp/benchhost-fixture/../../etc" must be absolute without '..'"#),
    ("path-escape", "0.1.0", "path-bind-prefix", r#"service "app": volumes[0] binds host path "/tmp/benchhost-fixture-evil", which the plugin did not declare in its host-binds capability"#),
    ("path-escape", "0.1.0", "path-bind-shared", r#"service "app": volumes[0] binds host path "/", which the plugin did not declare in its host-binds capability"#),
    ("bad-process", "0.1.0", "cmd-nul", r#"service "app": command[2] "a\0b" has a NUL byte"#),
    ("bad-process", "0.1.0", "cmd-empty", r#"service "app": command [] is empty (leave it unset to use the image's)"#),
    ("bad-process", "0.1.0", "entrypoint-empty", r#"service "app": entrypoint[0] (the program to run) is empty"#),
    ("bad-process", "0.1.0", "user-inject", r#"service "app": user "root; rm -rf /" must be name|uid[:group|gid]"#),
    ("bad-process", "0.1.0", "signal-inject", r#"service "app": stop-signal "SIGTERM; reboot" is not a signal name (SIGTERM) or number"#),
    ("bad-healthcheck", "0.1.0", "hc-fast", r#"service "app": healthcheck interval (1 ms) and timeout (1000 ms) must be at least 100 ms"#),
    ("bad-healthcheck", "0.1.0", "hc-timeout", r#"service "app": healthcheck interval (1000 ms) and timeout (0 ms) must be at least 100 ms"#),
    ("bad-healthcheck", "0.1.0", "hc-empty", r#"service "app": healthcheck.test ["CMD"] must be ["CMD", program, args...], ["CMD-SHELL", "command"] or ["NONE"]"#),
    ("bad-healthcheck", "0.1.0", "hc-shape", r#"service "app": healthcheck.test ["SHELL", "true"] must be ["CMD", program, args...], ["CMD-SHELL", "command"] or ["NONE"]"#),
    ("bad-healthcheck", "0.1.0", "hc-none-args", r#"service "app": healthcheck.test ["NONE", "true"] must be ["CMD", program, args...], ["CMD-SHELL", "command"] or ["NONE"]"#),
    ("bad-healthcheck", "0.1.0", "hc-nul", r#"service "app": healthcheck.test ["CMD", "tr\0ue"] must be ["CMD", program, args...], ["CMD-SHELL", "command"] or ["NONE"]"#),
    ("bad-deps", "0.1.0", "deps-unknown", r#"service "app" depends on "nowhere", which is neither one of its services nor a known infrastructure profile"#),
    ("bad-deps", "0.1.0", "deps-cycle", "services depend on each other in a cycle: a, b, c"),
    ("bad-deps", "0.1.0", "deps-self", "services depend on each other in a cycle: app"),
    ("bad-deps", "0.1.0", "deps-target", r#"service "app" depends on "ganesha", a system under test; only infrastructure profiles can be dependencies"#),
    ("undeclared", "0.1.0", "undeclared-priv", r#"service "app" asks for privileged mode, which the plugin did not declare"#),
    ("undeclared", "0.1.0", "undeclared-cap", r#"service "app" adds capability "SYS_ADMIN", which the plugin did not declare"#),
    ("undeclared", "0.1.0", "undeclared-device", r#"service "app" needs device "/dev/fuse", which the plugin did not declare"#),
    ("undeclared", "0.1.0", "undeclared-bind", r#"service "app": volumes[0] binds host path "/", which the plugin did not declare in its host-binds capability"#),
    ("huge-output", "0.1.0", "huge-env", r#"service "app": environment variable "HUGE" is longer than the 128 KiB a process may receive in one variable"#),
    ("huge-output", "0.1.0", "huge-command", r#"service "app": command[1] is 1048576 bytes, more than the 128 KiB one argument may have"#),
    ("huge-output", "0.1.0", "huge-services", "returned 500 services (at most 32 per profile)"),
    ("huge-output", "0.1.0", "huge-file", r#"service "app": files[0] "/etc/huge.conf" has 33554432 bytes (a config file may have at most 1048576)"#),
];
