//! SIGINT/SIGTERM for the whole process, installed before anything can be created.
//!
//! Outside a guarded section a signal ends the process at once with exit 130 (nothing of
//! benchhost's exists yet, or a read-only command is running). Inside one (`up`, `down`,
//! `clean`, `logs --follow`), the command is told instead, so it can remove what it created
//! (`up`) or finish removing (`down`, `clean`) before exiting.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;
use tokio::sync::watch;

static GUARDED: AtomicUsize = AtomicUsize::new(0);
/// Whether a guarded section has ended: what the command changed is done, so a later signal
/// must not claim that nothing was created.
static FINISHED_WORK: AtomicBool = AtomicBool::new(false);
/// What a signal outside a guarded section interrupted, before the command changed anything
/// (see [`before_work`]).
static BEFORE_WORK: Mutex<&str> = Mutex::new("before anything was created");
/// Said on stderr for each signal while a guarded section finishes what it must (see
/// [`Guard::notice`]), so a user pressing Ctrl-C again knows why benchhost has not exited.
static NOTICE: Mutex<Option<String>> = Mutex::new(None);

/// How a signal before the command's guarded section is reported: `interrupted (<what>)`;
/// `down` and `clean` say "before anything was removed". Default: "before anything was created".
pub fn before_work(what: &'static str) {
    *BEFORE_WORK.lock().unwrap_or_else(|e| e.into_inner()) = what;
}

/// Prints the guarded section's notice for a signal it will not act on at once.
fn say_notice() {
    if let Some(notice) = NOTICE.lock().unwrap_or_else(|e| e.into_inner()).as_deref() {
        crate::orchestration::progress::say(&format!("benchhost: {notice}"));
    }
}

/// The signal listener: [`Signals::install`] once, then [`Signals::guard`] around work that
/// must not be cut short.
#[derive(Clone)]
pub struct Signals {
    rx: watch::Receiver<u32>,
}

impl Signals {
    /// Installs the SIGINT and SIGTERM handlers (from now on the default "die at once" no
    /// longer applies) and spawns the task that dispatches them.
    pub fn install() -> Signals {
        let (tx, rx) = watch::channel(0u32);
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            let streams = (signal(SignalKind::interrupt()), signal(SignalKind::terminate()));
            if let (Ok(mut int), Ok(mut term)) = streams {
                tokio::spawn(async move {
                    loop {
                        tokio::select! {
                            _ = int.recv() => {}
                            _ = term.recv() => {}
                        }
                        if GUARDED.load(Ordering::SeqCst) == 0 {
                            exit_unguarded();
                        }
                        say_notice();
                        tx.send_modify(|n| *n += 1);
                    }
                });
            }
        }
        #[cfg(not(unix))]
        {
            tokio::spawn(async move {
                while tokio::signal::ctrl_c().await.is_ok() {
                    if GUARDED.load(Ordering::SeqCst) == 0 {
                        exit_unguarded();
                    }
                    say_notice();
                    tx.send_modify(|n| *n += 1);
                }
            });
        }
        Signals { rx }
    }

    /// While the returned guard lives, signals are delivered to [`Guard::interrupted`]
    /// instead of ending the process.
    pub fn guard(&self) -> Guard {
        GUARDED.fetch_add(1, Ordering::SeqCst);
        let mut rx = self.rx.clone();
        rx.mark_unchanged();
        Guard { rx }
    }
}

/// Ends the process for a signal outside a guarded section: nothing needs undoing.
fn exit_unguarded() -> ! {
    use std::io::Write;
    if FINISHED_WORK.load(Ordering::SeqCst) {
        let _ = writeln!(std::io::stderr(), "error: interrupted after the command had finished its work (what it printed above holds)");
    } else {
        let before = *BEFORE_WORK.lock().unwrap_or_else(|e| e.into_inner());
        let _ = writeln!(std::io::stderr(), "error: interrupted ({before})");
    }
    std::process::exit(130);
}

/// A guarded section (see [`Signals::guard`]).
pub struct Guard {
    rx: watch::Receiver<u32>,
}

impl Guard {
    /// Resolves at the next SIGINT/SIGTERM.
    pub async fn interrupted(&mut self) {
        if self.rx.changed().await.is_err() {
            std::future::pending::<()>().await;
        }
    }

    /// Whether a signal arrived since the guard was taken.
    pub fn was_interrupted(&self) -> bool {
        self.rx.has_changed().unwrap_or(false)
    }

    /// From now on, each signal prints `benchhost: <notice>` (e.g. that cleanup is running and
    /// how long it may take) instead of passing in silence; cleared when the guard ends.
    pub fn notice(&self, notice: String) {
        *NOTICE.lock().unwrap_or_else(|e| e.into_inner()) = Some(notice);
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        *NOTICE.lock().unwrap_or_else(|e| e.into_inner()) = None;
        FINISHED_WORK.store(true, Ordering::SeqCst);
        GUARDED.fetch_sub(1, Ordering::SeqCst);
    }
}
