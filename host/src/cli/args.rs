//! The command line's schema (clap): every command, flag and help text. Parsing only; see
//! `cli::dispatch` for what each command does.

use clap::{Parser, Subcommand};
use std::path::PathBuf;

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
    /// The client VM: a Debian kernel with the Linux NFS and SMB clients under QEMU (built by
    /// `make vm`), for machines whose own kernel cannot mount the systems.
    Vm {
        #[command(subcommand)]
        command: VmCommand,
    },
    /// Run the benchmark matrix: each system brought up alone, mounted on the client, fio run
    /// for every workload × size × pass × repeat (one JSON result per cell in RUN/raw/), then
    /// taken down; ends with RUN/summary.csv, RUN/report.md and charts. Exit 1 when a cell failed
    /// (it is recorded and the matrix goes on).
    Bench {
        /// Profiles to compare, run one after the other (`local`: no server, the client's own
        /// disk — the ceiling line).
        profiles: Vec<String>,
        /// Workloads (built-in names or paths to your own .fio files); default: every built-in.
        #[arg(long, value_delimiter = ',', value_name = "W,...")]
        workloads: Vec<String>,
        /// Sizes from workloads/sizes.conf (small, medium, large); default: all.
        #[arg(long, value_delimiter = ',', value_name = "S,...")]
        sizes: Vec<String>,
        /// cold (caches dropped between layout and run), warm, or both; default: cold,warm.
        #[arg(long, value_delimiter = ',', value_name = "P,...")]
        passes: Vec<String>,
        /// Runs of every cell (the report shows their median and min–max); default 3.
        #[arg(long, value_name = "N")]
        repeats: Option<u32>,
        /// Seconds each timed workload runs (and the cap of the others); default 30.
        #[arg(long, value_name = "SECONDS")]
        runtime: Option<u32>,
        /// Where fio runs: this machine's kernel (host) or the client VM (vm); default host.
        #[arg(long, value_enum)]
        client: Option<ClientArg>,
        /// The profile the report compares every other against (in %).
        #[arg(long, value_name = "PROFILE")]
        baseline: Option<String>,
        /// Root of the run directory (default: BENCH_RESULTS_DIR, else ./results).
        #[arg(long, value_name = "DIR")]
        results_dir: Option<PathBuf>,
        /// Run the cells of an earlier run that have no complete result (the matrix it recorded).
        #[arg(long, value_name = "RUN_DIR")]
        resume: Option<PathBuf>,
        /// List every cell and action, and run none.
        #[arg(long)]
        dry_run: bool,
        /// Print the final summary (or, with --dry-run, the actions) as JSON on stdout.
        #[arg(long)]
        json: bool,
    },
    /// Rebuild a benchmark run's summary.csv, report.md and charts/*.svg from its raw/ cell
    /// results (what `bench` writes at the end of a matrix).
    Report {
        /// The run directory (it holds raw/<profile>/*.json).
        run_dir: PathBuf,
        /// Show each value's difference in % against this profile's median in the same column.
        #[arg(long, value_name = "PROFILE")]
        baseline: Option<String>,
        /// JSON on stdout: {run_dir, files, warnings, cells, failed}.
        #[arg(long)]
        json: bool,
    },
    /// Show the profiles that are up, with their containers and health.
    Status {
        /// JSON: [{profile, run_id, containers: [{name, service, plugin, state, health}], networks, volumes}].
        #[arg(long)]
        json: bool,
    },
}

impl Command {
    /// Whether the command reads settings (plugins' settings, `BENCH_*`): those that start,
    /// mount or describe systems. The others (listing, status, stopping, cleaning) work with a
    /// `.env` that cannot be read.
    pub fn needs_settings(&self) -> bool {
        matches!(self, Command::Up { .. } | Command::Bench { .. } | Command::Mount { .. } | Command::Doctor { .. } | Command::Compose { .. } | Command::EnvExample { .. })
    }
}

#[derive(Debug, Subcommand)]
pub enum VmCommand {
    /// Boot the client VM, run JOBFILE in it as root with `sh` (the host's 127.0.0.1 is
    /// 10.0.2.2 there), print what the job writes (stdout to stdout, stderr to stderr) and exit
    /// with its status. Exit 124 when the VM does not reach the job or the job does not end in
    /// time (the VM is stopped), 6 when the VM is not built.
    Run {
        /// The shell script to run.
        job: PathBuf,
        /// Seconds the job may run once it started.
        #[arg(long, default_value_t = 600, value_name = "SECONDS")]
        timeout: u64,
        /// Seconds the VM may take to boot to the job (about 5 to 10 under tcg, 1 under kvm).
        #[arg(long, default_value_t = 120, value_name = "SECONDS")]
        boot_timeout: u64,
        /// kvm, tcg, or auto: KVM when a probe boots under it (checked once, then cached), else
        /// tcg (software emulation).
        #[arg(long, value_enum, default_value_t = AccelArg::Auto)]
        accel: AccelArg,
    },
}

/// `--accel` of `vm run`.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum AccelArg {
    Auto,
    Kvm,
    Tcg,
}

/// `--client` of `bench`.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum ClientArg {
    Host,
    Vm,
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
    Install {
        file: PathBuf,
        /// Replace an installed plugin of the same name and version whose contents differ.
        #[arg(long)]
        force: bool,
    },
    /// The installed plugins and whether each still matches its recorded checksum.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Remove an installed plugin by name.
    Remove { name: String },
}
