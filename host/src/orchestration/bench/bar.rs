//! The bar over the whole matrix (drawn only on a terminal), and the lines printed above it.

use crate::orchestration::progress::say;
use std::future::Future;

/// The matrix's bar: `{bar} 3/12 cells, 1m so far, ETA 3m`.
pub struct MatrixBar(indicatif::ProgressBar);

impl MatrixBar {
    /// A bar of `len` cells, drawn on stderr when it is a terminal.
    pub fn new(len: u64) -> MatrixBar {
        let bar = indicatif::ProgressBar::with_draw_target(Some(len), indicatif::ProgressDrawTarget::stderr());
        bar.set_style(indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} cells, {elapsed} so far, ETA {eta}").unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()));
        MatrixBar(bar)
    }

    /// Prints `text` above the bar (or alone when the bar is not drawn).
    pub fn line(&self, text: String) {
        if self.0.is_hidden() {
            say(&text)
        } else {
            self.0.println(text)
        }
    }

    /// Runs `work` with the bar hidden: `up`, a VM boot and a mount print their own steps.
    pub async fn hidden<F: Future>(&self, work: F) -> F::Output {
        self.0.set_draw_target(indicatif::ProgressDrawTarget::hidden());
        let out = work.await;
        self.0.set_draw_target(indicatif::ProgressDrawTarget::stderr());
        out
    }

    /// One more cell has a result.
    pub fn inc(&self) {
        self.0.inc(1);
    }

    /// Removes the bar from the screen.
    pub fn finish(&self) {
        self.0.finish_and_clear();
    }
}
