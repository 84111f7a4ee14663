//! Operator feedback: timed step lines on stderr (`[  1.23s] image … ready (0.02s)`), each
//! recorded for the run's `run.json`, and indicatif spinners for long waits (image pulls and
//! builds, health waits) that show only when stderr is a terminal.

use std::sync::{Arc, Mutex};

/// Writes one untimed line to stderr for the operator (a note while a command works, e.g.
/// "waiting for another benchhost …"). Never panics: a closed or full stderr (`2>/dev/full`,
/// `2>&1 | head`) must not stop a command halfway through.
pub fn say(line: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "{line}");
}
use std::time::{Duration, Instant};

/// One recorded step.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Step {
    pub step: String,
    /// Seconds since the command began when the step ended.
    pub at_seconds: f64,
    /// Seconds since the previous step ended (the step's own duration).
    pub seconds: f64,
}

/// Progress of one command.
pub struct Progress {
    start: Instant,
    quiet: bool,
    steps: Mutex<Vec<Step>>,
    /// Whether spinners are drawn (stderr is a terminal and not quiet).
    spinners: bool,
    /// The spinner on screen, if any (step lines are printed above it).
    active: Arc<Mutex<Option<indicatif::ProgressBar>>>,
}

impl Progress {
    /// `quiet` prints nothing (steps are still recorded). Spinners appear only when stderr is a
    /// terminal.
    pub fn new(quiet: bool) -> Self {
        use std::io::IsTerminal;
        let spinners = !quiet && std::io::stderr().is_terminal();
        Progress { start: Instant::now(), quiet, steps: Mutex::new(Vec::new()), spinners, active: Arc::new(Mutex::new(None)) }
    }

    /// Prints `[elapsed] msg` and records it as a step.
    pub fn step(&self, msg: &str) {
        let at = self.start.elapsed().as_secs_f64();
        {
            let mut steps = self.steps.lock().unwrap_or_else(|e| e.into_inner());
            let previous = steps.last().map(|s| s.at_seconds).unwrap_or(0.0);
            steps.push(Step { step: msg.to_string(), at_seconds: round_ms(at), seconds: round_ms(at - previous) });
        }
        if self.quiet {
            return;
        }
        let line = format!("[{at:>6.2}s] {msg}");
        // Not eprintln!: it panics when stderr is a closed pipe (`up 2>&1 | head`), and a
        // panic in the middle of `up` would leave its containers behind.
        let print = || {
            use std::io::Write;
            let _ = writeln!(std::io::stderr(), "{line}");
        };
        match self.active.lock().unwrap_or_else(|e| e.into_inner()).as_ref() {
            // Clears the spinner, prints the line, draws the spinner again below it.
            Some(bar) => bar.suspend(print),
            None => print(),
        }
    }

    /// A spinner showing `msg` and the time spent, until the returned guard is dropped (a no-op
    /// when stderr is not a terminal).
    /// One spinner at a time: a new one replaces the one on screen.
    pub fn spinner(&self, msg: &str) -> Spinner {
        if !self.spinners {
            return Spinner { bar: None, active: self.active.clone() };
        }
        let bar = indicatif::ProgressBar::new_spinner();
        bar.set_style(indicatif::ProgressStyle::with_template("{spinner} {msg} ({elapsed})").unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()));
        bar.set_message(msg.to_string());
        bar.enable_steady_tick(Duration::from_millis(120));
        if let Some(old) = self.active.lock().unwrap_or_else(|e| e.into_inner()).replace(bar.clone()) {
            old.finish_and_clear();
        }
        Spinner { bar: Some(bar), active: self.active.clone() }
    }

    pub fn elapsed(&self) -> Duration {
        self.start.elapsed()
    }

    /// Every step so far.
    pub fn steps(&self) -> Vec<Step> {
        self.steps.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

/// A running spinner; cleared when dropped.
pub struct Spinner {
    bar: Option<indicatif::ProgressBar>,
    active: Arc<Mutex<Option<indicatif::ProgressBar>>>,
}

impl Spinner {
    /// Replaces the spinner's message (e.g. the latest pull or build line).
    pub fn message(&self, msg: &str) {
        if let Some(b) = &self.bar {
            b.set_message(msg.chars().take(100).collect::<String>());
        }
    }
}

impl Drop for Spinner {
    fn drop(&mut self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
            let mut active = self.active.lock().unwrap_or_else(|e| e.into_inner());
            if active.as_ref().is_some_and(|a| a.is_finished()) {
                *active = None;
            }
        }
    }
}

fn round_ms(s: f64) -> f64 {
    (s * 1000.0).round() / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_record_their_own_duration() {
        let p = Progress::new(true);
        p.step("one");
        std::thread::sleep(Duration::from_millis(30));
        p.step("two");
        let steps = p.steps();
        assert_eq!(steps.len(), 2);
        assert_eq!(steps[1].step, "two");
        assert!(steps[1].seconds >= 0.03 && steps[1].seconds < 1.0, "{steps:?}");
        assert!((steps[1].at_seconds - steps[0].at_seconds - steps[1].seconds).abs() < 0.002);
    }
}
