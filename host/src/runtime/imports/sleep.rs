//! `sleep(ms)`: a pause, capped by what is left of the operation's budget.

use super::super::state::Imports;

impl Imports {
    /// Sleeps `ms` milliseconds or until the operation's budget is spent, whichever is sooner.
    pub(in super::super) async fn sleep(&self, ms: u32) {
        tokio::time::sleep(self.bounded(ms)).await;
    }
}
