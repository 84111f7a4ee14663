//! Operator feedback: timed step lines on stderr (`[  1.23s] image … ready (0.02s)`), each
//! recorded for the run's `run.json`, and indicatif spinners for long waits (image pulls and
//! builds, health waits) that show only when stderr is a terminal.

use std::sync::Mutex;
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
    bars: Option<indicatif::MultiProgress>,
}

impl Progress {
    /// `quiet` prints nothing (steps are still recorded). Spinners appear only when stderr is a
    /// terminal.
    pub fn new(quiet: bool) -> Self {
        use std::io::IsTerminal;
        let bars = (!quiet && std::io::stderr().is_terminal()).then(indicatif::MultiProgress::new);
        Progress { start: Instant::now(), quiet, steps: Mutex::new(Vec::new()), bars }
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
        match &self.bars {
            Some(bars) => {
                let _ = bars.println(line);
            }
            // Not eprintln!: it panics when stderr is a closed pipe (`up 2>&1 | head`), and a
            // panic in the middle of `up` would leave its containers behind.
            None => {
                use std::io::Write;
                let _ = writeln!(std::io::stderr(), "{line}");
            }
        }
    }

    /// A spinner showing `msg` and the time spent, until the returned guard is dropped (a no-op
    /// when stderr is not a terminal).
    pub fn spinner(&self, msg: &str) -> Spinner {
        let bar = self.bars.as_ref().map(|bars| {
            let bar = bars.add(indicatif::ProgressBar::new_spinner());
            bar.set_style(indicatif::ProgressStyle::with_template("{spinner} {msg} ({elapsed})").unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()));
            bar.set_message(msg.to_string());
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        });
        Spinner { bar }
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
