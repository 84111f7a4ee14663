//! Command line: parsing (clap), output formats and exit codes. Depends on
//! [`crate::orchestration`] only.

use crate::orchestration::registry::{Origin, Registry};
use crate::engine::DockerEngine;
use crate::orchestration::settings::SettingsSource;
use crate::orchestration::stack;
use crate::orchestration::{compose, plugins, redact, BenchError};
use crate::runtime::contract::Role;
use crate::runtime::{printable_text, PluginRuntime, RuntimeOptions};
use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use std::path::PathBuf;

/// `println!` that ends the process quietly when stdout is closed (`benchhost list | head`)
/// instead of panicking on the broken pipe.
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write;
        if let Err(e) = writeln!(std::io::stdout(), $($arg)*) {
            if e.kind() == std::io::ErrorKind::BrokenPipe {
                std::process::exit(0);
            }
        }
    }};
}

/// `eprintln!` that never panics: a closed or full stderr (`2>/dev/full`, `2>&1 | head`) must
/// not kill a command halfway through (exit 101, mount line unprinted, containers left).
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write;
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}

mod operate;
mod signals;

/// Brings up storage systems (DittoFS and its competitors) in Docker for fair, repeatable
/// benchmarks. Each system is a sandboxed WebAssembly plugin.
#[derive(Debug, Parser)]
#[command(name = "benchhost", version, propagate_version = true)]
pub struct Cli {
    /// More logs (-v: debug, including every host import a plugin makes).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Read settings from this file instead of ./.env (the process environment still wins).
    #[arg(long, global = true, value_name = "FILE")]
    pub env_file: Option<PathBuf>,
    /// Grant a third-party plugin a capability it declares: PLUGIN:privileged,
    /// PLUGIN:cap-add:NAME, PLUGIN:device:PATH, PLUGIN:host-bind:PATH or PLUGIN:all (repeatable;
    /// also BENCHHOST_ALLOW, comma-separated).
    #[arg(long, global = true, value_name = "PLUGIN:CAPABILITY")]
    pub allow: Vec<String>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// List every profile of every plugin.
    List {
        /// JSON: [{profile, plugin, plugin_version, role, protocol, port, description}].
        #[arg(long)]
        json: bool,
    },
    /// Start a profile (and the infrastructure it depends on), wait until it answers,
    /// provision it, and print the mount command.
    Up {
        /// A profile from `benchhost list`.
        profile: String,
        /// Keep the containers when `up` fails, for debugging (remove them with `down`).
        #[arg(long)]
        keep_on_failure: bool,
        /// Directory the printed mount command mounts on.
        #[arg(long, value_name = "DIR")]
        mount_dir: Option<String>,
        /// Print the final report (or, with --dry-run, the actions) as JSON on stdout.
        #[arg(long)]
        json: bool,
        /// Take the engine over: `down` whatever other profile is up first (benchhost runs one
        /// system at a time, so they do not compete for CPU, memory and disk).
        #[arg(long)]
        replace: bool,
        /// Print every action `up` would take (image pulls/builds, network, volumes, each
        /// container's full Engine API request, bootstrap, mount command) and take none.
        #[arg(long)]
        dry_run: bool,
        /// Root of the run's results directory (default: BENCH_RESULTS_DIR, else ./results).
        #[arg(long, value_name = "DIR")]
        results_dir: Option<PathBuf>,
        /// Turn on the system's profiler (sets BENCH_PROFILING=1; DittoFS: pprof on the API port
        /// and Prometheus metrics on 9090). Refused for systems that have none.
        #[arg(long)]
        with_profiling: bool,
    },
    /// Unmount, save every container's logs into the run's results, then stop and remove
    /// everything `up` created for a profile (containers, network, volumes).
    Down {
        profile: String,
        /// Print what was removed as JSON.
        #[arg(long)]
        json: bool,
        /// Save the logs under DIR/<run> instead of the run's own results directory.
        #[arg(long, value_name = "DIR")]
        results_dir: Option<PathBuf>,
        /// Print what would be unmounted, saved and removed, and do none of it.
        #[arg(long)]
        dry_run: bool,
    },
    /// Mount a profile that is up on this machine (runs the mount command, with sudo only when
    /// not root), or print the command.
    Mount {
        profile: String,
        /// Directory to mount on (default: /mnt/benchhost/<profile>).
        #[arg(long, value_name = "DIR")]
        dir: Option<String>,
        /// Print the command instead of running it.
        #[arg(long, alias = "dry-run")]
        print: bool,
        /// The OS to print the command for (default: this one).
        #[arg(long, value_enum)]
        os: Option<OsArg>,
    },
    /// Unmount what `benchhost mount` mounted for a profile.
    Umount {
        profile: String,
        /// Only this directory (default: every directory mounted for the profile).
        #[arg(long, value_name = "DIR")]
        dir: Option<String>,
        /// Print the commands instead of running them.
        #[arg(long)]
        dry_run: bool,
    },
    /// Show a profile's container logs.
    Logs {
        profile: String,
        /// Only this service (e.g. `postgres`); default: every container of the profile.
        service: Option<String>,
        /// Keep printing new lines until Ctrl-C.
        #[arg(short, long)]
        follow: bool,
        /// Only the last N lines of each container.
        #[arg(long, value_name = "N")]
        tail: Option<usize>,
    },
    /// Check the machine's prerequisites (Docker, Compose, fio, mount helpers, FUSE, nfsd,
    /// free ports, disk space, architecture) with install hints. Exit 0 when the required
    /// ones pass.
    Doctor {
        #[arg(long)]
        json: bool,
    },
    /// Remove everything benchhost created, from any run: unmount, then every labelled
    /// container, network and volume.
    Clean {
        /// Also remove the images benchhost built (`<PLUGIN>_SRC` builds; never pulled images).
        #[arg(long)]
        images: bool,
        /// Print what would be removed and remove nothing.
        #[arg(long)]
        dry_run: bool,
        #[arg(long)]
        json: bool,
    },
    /// Flush the host's page cache between runs (Linux: sync + /proc/sys/vm/drop_caches;
    /// macOS: sync + purge).
    DropCaches {
        /// Print the commands and run none.
        #[arg(long)]
        dry_run: bool,
    },
    /// Render docker-compose.yml from the plugins (a Compose profile per benchhost profile).
    Compose {
        /// Where to write it (`-`: standard output).
        #[arg(long, default_value = "docker-compose.yml", value_name = "FILE")]
        output: PathBuf,
        /// Do not write; fail (exit 1) when FILE differs from what would be rendered.
        #[arg(long)]
        check: bool,
    },
    /// Render .env.example from the settings every plugin declares.
    EnvExample {
        /// Where to write it (`-`: standard output).
        #[arg(long, default_value = ".env.example", value_name = "FILE")]
        output: PathBuf,
        /// Do not write; fail (exit 1) when FILE differs from what would be rendered.
        #[arg(long)]
        check: bool,
    },
    /// Write, check, install, list and remove third-party plugins.
    Plugin {
        #[command(subcommand)]
        command: PluginCommand,
    },
    /// Show the profiles that are up, with their containers and health.
    Status {
        /// JSON: [{profile, run_id, containers: [{name, service, plugin, state, health}], networks, volumes}].
        #[arg(long)]
        json: bool,
    },
}

/// `--os` of `mount`.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum OsArg {
    Linux,
    Macos,
}

#[derive(Debug, Subcommand)]
pub enum PluginCommand {
    /// Write a new standalone plugin crate (a working NFS example to adapt).
    New {
        /// Plugin and profile name, e.g. `mynfs` ([a-z][a-z0-9-]*).
        name: String,
        /// Directory to create (default: ./<name>).
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
        /// The guest SDK crate to depend on (default: a copy of the SDK this benchhost was built
        /// with, written into the new crate as benchhost-plugin-sdk/).
        #[arg(long, value_name = "PATH")]
        sdk: Option<PathBuf>,
        /// Host port the example publishes (must be unique across plugins).
        #[arg(long, default_value_t = 52049)]
        port: u16,
    },
    /// Load a plugin, show what it declares, and validate every profile as `up` would.
    Check {
        file: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// Check a plugin, then copy it into the per-user plugin directory (checksum recorded).
    Install { file: PathBuf },
    /// The installed plugins and whether each still matches its recorded checksum.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Remove an installed plugin by name.
    Remove { name: String },
}

/// One row of `list --json`.
#[derive(Debug, serde::Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct ListEntry {
    pub profile: String,
    pub plugin: String,
    pub plugin_version: String,
    /// `target` (a system under test) or `infrastructure`.
    pub role: String,
    pub protocol: String,
    pub port: Option<u16>,
    pub description: String,
    /// `built-in` or the plugin file's path.
    pub source: String,
}

/// Runs the command line; returns the process exit code.
pub fn main() -> i32 {
    let rt = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            say!("error: starting the async runtime: {e}");
            return 1;
        }
    };
    rt.block_on(run())
}

async fn run() -> i32 {
    // First: from here on a signal either ends the process (nothing created yet) or is handled.
    let signals = signals::Signals::install();
    let runtime = match PluginRuntime::new(RuntimeOptions::from_env()) {
        Ok(r) => r,
        Err(e) => {
            say!("error: {e:#}");
            return 1;
        }
    };
    let registry = match Registry::load(runtime).await {
        Ok(r) => r,
        Err(e) => {
            say!("error: {e}");
            return e.exit_code();
        }
    };
    let help = format!("Profiles:\n{}\n\nSettings come from the environment and ./.env; see README.md.", registry.profile_table());
    let matches = match Cli::command().after_help(help).try_get_matches() {
        Ok(m) => m,
        Err(e) => {
            let _ = e.print();
            return e.exit_code();
        }
    };
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return e.exit_code();
        }
    };
    init_tracing(cli.verbose);
    for e in &registry.load_errors {
        say!("warning: skipped a plugin that failed to load: {}", printable_text(&e.to_string()));
    }
    for c in &registry.conflicts {
        say!("warning: skipped a plugin: {}", printable_text(c));
    }
    let settings = match SettingsSource::load(cli.env_file.as_deref()) {
        Ok(s) => s.with_allow(&cli.allow),
        Err(e) => {
            say!("error: {e}");
            return e.exit_code();
        }
    };
    let secrets = settings.secrets(registry.plugins.iter().map(|p| &p.plugin.info));
    registry.runtime.set_redactions(secrets.clone());
    match dispatch(cli.command, &registry, &settings, &secrets, &signals).await {
        Ok(()) => 0,
        Err(e) => {
            say!("error: {}", printable_text(&redact(&e.to_string(), &secrets)));
            if let Some(hint) = e.hint() {
                say!("  hint: {}", printable_text(&hint));
            }
            e.exit_code()
        }
    }
}

fn init_tracing(verbose: u8) {
    // bollard and hyper stay at info even at -vv: their debug logs carry request bodies,
    // including containers' environment (secrets).
    let level = match verbose {
        0 => "warn",
        1 => "benchhost=debug,info",
        _ => "debug,bollard=info,hyper=info,hyper_util=info,reqwest=info",
    };
    let mut filter = tracing_subscriber::EnvFilter::try_from_env("BENCHHOST_LOG").unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    // Whatever BENCHHOST_LOG says: the HTTP layers' debug logs carry request bodies, and so
    // containers' environments (secrets).
    for quiet in ["bollard=info", "hyper=info", "hyper_util=info", "reqwest=info", "h2=info"] {
        if let Ok(d) = quiet.parse() {
            filter = filter.add_directive(d);
        }
    }
    use std::io::IsTerminal;
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false)
        .try_init();
}

async fn dispatch(command: Command, registry: &Registry, settings: &SettingsSource, secrets: &[String], signals: &signals::Signals) -> Result<(), BenchError> {
    match command {
        Command::List { json } => {
            let entries = list_entries(registry);
            if json {
                out!("{}", serde_json::to_string_pretty(&entries).expect("serialisable"));
            } else {
                for e in &entries {
                    let port = e.port.map(|p| p.to_string()).unwrap_or_else(|| "-".into());
                    let third = if e.source == "built-in" { "" } else { " [third-party]" };
                    out!("{:<20} {:<14} {:<8} {:>6}  {}{third}", e.profile, e.role, e.protocol, port, e.description);
                }
            }
            Ok(())
        }
        Command::Up { profile, keep_on_failure, mount_dir, json, replace, dry_run, results_dir, with_profiling } => {
            let args = operate::UpArgs { profile, keep_on_failure, mount_dir, json, replace, dry_run, results_dir, with_profiling };
            operate::up(registry, settings, secrets, args, signals).await
        }
        Command::Down { profile, json, results_dir, dry_run } => operate::down(registry, secrets, &profile, json, results_dir, dry_run, signals).await,
        Command::Mount { profile, dir, print, os } => operate::mount(registry, settings, &profile, dir, print, os).await,
        Command::Umount { profile, dir, dry_run } => operate::umount(&profile, dir, dry_run),
        Command::Logs { profile, service, follow, tail } => operate::logs(registry, secrets, &profile, service, follow, tail, signals).await,
        Command::Doctor { json } => operate::doctor(registry, settings, json).await,
        Command::Clean { images, dry_run, json } => operate::clean(secrets, images, dry_run, json, signals).await,
        Command::DropCaches { dry_run } => operate::drop_caches(dry_run),
        Command::Compose { output, check } => {
            let text = compose::render_compose(registry).await?;
            write_or_check(&output, &text, check, "benchhost compose")
        }
        Command::EnvExample { output, check } => write_or_check(&output, &compose::render_env_example(registry), check, "benchhost env-example"),
        Command::Plugin { command } => plugin_command(command).await,
        Command::Status { json } => {
            let engine = DockerEngine::connect().await?;
            let status = stack::status(&engine).await?;
            if json {
                out!("{}", serde_json::to_string_pretty(&status).expect("serialisable"));
            } else if status.is_empty() {
                out!("nothing is up");
            } else {
                for p in &status {
                    out!("{} (run {})", p.profile, p.run_id);
                    for c in &p.containers {
                        out!("  {:<36} {:<10} {}", c.name, c.state, c.health.as_deref().unwrap_or("-"));
                    }
                    if !p.networks.is_empty() || !p.volumes.is_empty() {
                        out!("  networks: {}; volumes: {}", p.networks.join(", "), if p.volumes.is_empty() { "-".into() } else { p.volumes.join(", ") });
                    }
                }
            }
            Ok(())
        }
    }
}

async fn plugin_command(command: PluginCommand) -> Result<(), BenchError> {
    match command {
        PluginCommand::New { name, dir, sdk, port } => {
            let dir = dir.unwrap_or_else(|| PathBuf::from(&name));
            let files = plugins::scaffold(&name, &dir, sdk.as_deref(), port)?;
            for f in &files {
                say!("wrote {}", f.display());
            }
            let krate = format!("benchhost_plugin_{}", name.replace('-', "_"));
            out!("cd {} && cargo build --release --target wasm32-wasip2", dir.display());
            out!("benchhost plugin check target/wasm32-wasip2/release/{krate}.wasm");
            out!("benchhost plugin install target/wasm32-wasip2/release/{krate}.wasm");
            out!("benchhost up {name} --allow {name}:cap-add:DAC_READ_SEARCH --allow {name}:cap-add:SYS_ADMIN");
            Ok(())
        }
        PluginCommand::Check { file, json } => {
            let report = plugins::check(&file).await?;
            if json {
                out!("{}", serde_json::to_string_pretty(&report).expect("serialisable"));
            } else {
                out!("plugin {} {} (API {})", report.name, report.version, report.api_version);
                out!("profiles:\n{}", bullets(&report.profiles));
                out!("settings:\n{}", bullets(&report.settings));
                out!("capabilities:\n{}", bullets(&report.capabilities));
                if !report.grants_needed.is_empty() {
                    out!("to run it, grant (after reviewing it): {}", report.grants_needed.join(" "));
                }
            }
            if report.problems.is_empty() {
                say!("ok: every profile plans and validates");
                Ok(())
            } else {
                Err(BenchError::InvalidPluginOutput {
                    plugin: report.name.clone(),
                    version: report.version.clone(),
                    operation: "check",
                    message: format!("{} problem(s):\n{}", report.problems.len(), bullets(&report.problems)),
                })
            }
        }
        PluginCommand::Install { file } => {
            let (report, installed) = plugins::install(&file).await?;
            say!("installed {} {} as {} (sha256 {})", report.name, report.version, installed.file.display(), installed.sha256);
            say!("profiles: {}", report.profiles.iter().map(|p| p.split(' ').next().unwrap_or("")).collect::<Vec<_>>().join(", "));
            Ok(())
        }
        PluginCommand::List { json } => {
            let list = plugins::installed()?;
            if json {
                out!("{}", serde_json::to_string_pretty(&list).expect("serialisable"));
            } else if list.is_empty() {
                out!("no third-party plugins installed");
            } else {
                for p in &list {
                    let state = if p.unchanged { "ok" } else { "CHANGED since install" };
                    out!("{:<20} {}  {state}", p.name, p.file.display());
                }
            }
            Ok(())
        }
        PluginCommand::Remove { name } => {
            let file = plugins::remove(&name)?;
            say!("removed {}", file.display());
            Ok(())
        }
    }
}

fn bullets(items: &[String]) -> String {
    if items.is_empty() {
        return "  (none)".into();
    }
    items.iter().map(|i| format!("  - {i}")).collect::<Vec<_>>().join("\n")
}

/// Writes `text` to `path`, or with `check` compares them and fails when they differ.
fn write_or_check(path: &std::path::Path, text: &str, check: bool, command: &str) -> Result<(), BenchError> {
    if path == std::path::Path::new("-") && !check {
        out!("{}", text.trim_end());
        return Ok(());
    }
    if check {
        let Ok(current) = std::fs::read_to_string(path) else {
            return Err(BenchError::Other(format!("{} does not exist (run this in the benchhost checkout, or pass --output FILE); create it with `{command}`", path.display())));
        };
        if current != text {
            return Err(BenchError::Other(format!("{} is stale: it differs from what the plugins render; regenerate it with `{command}`", path.display())));
        }
        say!("{} is up to date", path.display());
        return Ok(());
    }
    std::fs::write(path, text).map_err(|e| BenchError::Other(format!("writing {}: {e}", path.display())))?;
    say!("wrote {}", path.display());
    Ok(())
}

/// `list` rows for every profile.
pub fn list_entries(registry: &Registry) -> Vec<ListEntry> {
    registry
        .profiles()
        .into_iter()
        .map(|p| {
            let r = &registry.plugins[p.plugin];
            ListEntry {
                profile: p.profile.name.clone(),
                plugin: r.plugin.info.name.clone(),
                plugin_version: r.plugin.info.version.clone(),
                role: match p.profile.role {
                    Role::Target => "target".into(),
                    Role::Infrastructure => "infrastructure".into(),
                },
                protocol: p.profile.protocol.clone(),
                port: p.profile.port,
                description: p.profile.description.clone(),
                source: match &r.origin {
                    Origin::BuiltIn => "built-in".into(),
                    Origin::File(f) => f.display().to_string(),
                },
            }
        })
        .collect()
}
