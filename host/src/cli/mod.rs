//! The command line: parse (clap, [`args`]), call one command of
//! [`crate::orchestration::commands`], render its report as text or JSON ([`render`]), map
//! errors to exit codes. Start-up (plugins, settings, tracing) is here too. Depends on
//! [`crate::orchestration`] and [`crate::text`] only.

use crate::orchestration::commands::{self, Session};
use crate::orchestration::host::HostOs;
use crate::orchestration::interrupt::Signals;
use crate::orchestration::plan::settings::SettingsSource;
use crate::orchestration::plugins::registry::Registry;
use crate::orchestration::{redact, BenchError};
use crate::text::{cut_lines, printable_text};

/// The longest line of an error shown on stderr, in bytes; the rest of a longer one (a huge
/// value quoted back) is cut and counted.
const ERROR_LINE_MAX: usize = 10 << 10;

/// An error's text as stderr shows it: control characters escaped, long lines cut.
fn shown(text: &str) -> String {
    printable_text(&cut_lines(text, ERROR_LINE_MAX))
}
use clap::{CommandFactory, FromArgMatches};

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

pub mod args;
pub mod render;

pub use args::{AccelArg, ClientArg, Cli, Command, OsArg, PluginCommand, VmCommand};
pub use commands::list::ListEntry;

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
    let signals = Signals::install();
    let registry = match Registry::start().await {
        Ok(r) => r,
        Err(e) => {
            say!("error: {}", shown(&e.to_string()));
            return e.exit_code();
        }
    };
    let width = help_width();
    let help = format!("Profiles:\n{}\n\nSettings come from the environment and ./.env; see README.md.", registry.profile_table(Some(width)));
    let matches = match Cli::command().term_width(width).after_help(help).try_get_matches() {
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
        // Commands that start nothing still work without the file's settings (a broken .env
        // must not keep anyone from `status`, `down` or `clean`).
        // A named --env-file that is not there stays an error.
        Err(e) if !cli.command.needs_settings() && cli.env_file.as_ref().is_none_or(|f| f.exists()) => {
            say!("warning: {}\n  (its settings are not used; {} needs none)", shown(&e.to_string()), matches.subcommand_name().unwrap_or("this command"));
            SettingsSource::environment_only().with_allow(&cli.allow)
        }
        Err(e) => {
            say!("error: {}", shown(&e.to_string()));
            return e.exit_code();
        }
    };
    let secrets = settings.secrets(registry.plugins.iter().map(|p| &p.plugin.info));
    registry.set_redactions(&secrets);
    let session = Session { registry: &registry, settings: &settings, secrets: &secrets, signals: &signals };
    match dispatch(cli.command, &session).await {
        Ok(code) => code,
        Err(e) => {
            say!("error: {}", shown(&redact(&e.to_string(), &secrets)));
            if let Some(hint) = e.hint() {
                say!("  hint: {}", printable_text(&hint));
            }
            e.exit_code()
        }
    }
}


/// Calls the command `command` names and renders its report; the process exit code (0 except
/// for `vm run`, which ends with its job's status).
async fn dispatch(command: Command, session: &Session<'_>) -> Result<i32, BenchError> {
    let registry = session.registry;
    let done = match command {
        Command::Vm { command: VmCommand::Run { job, timeout, boot_timeout, accel } } => {
            use crate::orchestration::client_vm::AccelRequest;
            let accel = match accel {
                AccelArg::Auto => AccelRequest::Auto,
                AccelArg::Kvm => AccelRequest::Kvm,
                AccelArg::Tcg => AccelRequest::Tcg,
            };
            let req = commands::vm::VmRunRequest { job, timeout_seconds: timeout, boot_timeout_seconds: boot_timeout, accel };
            let report = commands::vm::run(session, req, render::vm_line).await?;
            return Ok(render::vm_run(&report));
        }
        Command::Bench { profiles, workloads, sizes, passes, repeats, runtime, client, baseline, results_dir, resume, dry_run, json } => {
            use crate::orchestration::bench::{self, matrix::ClientKind};
            let client = client.map(|c| match c {
                ClientArg::Host => ClientKind::Host,
                ClientArg::Vm => ClientKind::Vm,
            });
            let req = bench::BenchRequest { profiles, workloads, sizes, passes, repeats, runtime, client, baseline, results_dir, resume, dry_run };
            return render::bench(&bench::bench(session, req).await?, json);
        }
        Command::List { json } => render::list(&commands::list::list(registry), json),
        Command::Up { profile, keep_on_failure, mount_dir, json, replace, dry_run, results_dir, with_profiling } => {
            let req = commands::up::UpRequest { profile: profile.clone(), keep_on_failure, mount_dir, replace, dry_run, results_dir, with_profiling };
            render::up(&profile, &commands::up::up(session, req).await?, json, session.secrets)
        }
        Command::Down { profile, json, results_dir, dry_run } => render::down(&profile, &commands::down::down(session, &profile, results_dir, dry_run).await?, json),
        Command::Mount { profile, dir, print, os } => {
            let os = os.map(|o| match o {
                OsArg::Linux => HostOs::Linux,
                OsArg::Macos => HostOs::Macos,
            });
            render::mount(&commands::mount::mount(session, &profile, dir, print, os).await?)
        }
        Command::Umount { profile, dir, dry_run } => render::umount(&profile, &commands::mount::umount(&profile, dir, dry_run)?),
        Command::Logs { profile, service, follow, tail } => {
            let req = commands::logs::LogsRequest { profile, service, follow, tail };
            commands::logs::logs(session, req, render::log_line).await
        }
        Command::Doctor { json } => {
            let report = commands::doctor::doctor(registry, session.settings).await;
            render::doctor(&report, json);
            report.verdict()
        }
        Command::Clean { images, dry_run, json } => render::clean(&commands::clean::clean(session, images, dry_run).await?, images, json),
        Command::DropCaches { dry_run } => render::drop_caches(&commands::drop_caches::drop_caches(dry_run)?),
        Command::Compose { output, check } => render::written(&commands::compose::compose(registry, &output, check).await?),
        Command::EnvExample { output, check } => render::written(&commands::compose::env_example(registry, &output, check)?),
        Command::Plugin { command } => plugin_command(registry, command).await,
        Command::Status { json } => render::status(&commands::status::status().await?, json),
        Command::Report { run_dir, baseline, json } => render::report(&crate::orchestration::bench::report::rebuild(&run_dir, baseline.as_deref())?, json),
    };
    done.map(|()| 0)
}

/// The `plugin` subcommands.
async fn plugin_command(registry: &Registry, command: PluginCommand) -> Result<(), BenchError> {
    use commands::plugin;
    match command {
        PluginCommand::New { name, dir, sdk, port } => render::scaffolded(&plugin::new(registry, &name, dir, sdk, port)?),
        PluginCommand::Check { file, json } => {
            let report = plugin::check(&file).await?;
            render::plugin_check(&report, json);
            plugin::verdict(&report)?;
            say!("ok: every profile plans and validates");
            Ok(())
        }
        PluginCommand::Install { file, force } => render::installed(&plugin::add(&file, force).await?),
        PluginCommand::List { json } => render::plugin_list(&plugin::list()?, json),
        PluginCommand::Remove { name } => {
            let file = plugin::remove(&name)?;
            say!("removed {}", file.display());
            Ok(())
        }
    }
}

/// The width `--help` is wrapped at: the terminal's, else `COLUMNS`, else 100 (what clap would
/// pick; set explicitly so the profile table and clap agree).
fn help_width() -> usize {
    terminal_size::terminal_size()
        .map(|(w, _)| usize::from(w.0))
        .or_else(|| std::env::var("COLUMNS").ok().and_then(|c| c.parse().ok()))
        .filter(|w| *w >= 40)
        .unwrap_or(100)
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
