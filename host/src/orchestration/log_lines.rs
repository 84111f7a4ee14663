//! Whole log lines from the engine's frames, with secrets removed.
//!
//! The engine splits a line longer than 16 KiB into several frames (and, with timestamps, puts
//! a timestamp in front of each piece). Redacting frame by frame would miss a secret cut in
//! two, so [`LineAssembler`] joins the pieces of each stream (stdout, stderr) back into lines
//! first, then redacts each whole line. A line is bounded: past [`MAX_LINE`] bytes it is
//! emitted as is (redacted).

/// The longest line kept whole, in bytes (1 MiB).
pub const MAX_LINE: usize = 1 << 20;

/// Joins frames into lines, per stream.
pub struct LineAssembler {
    timestamps: bool,
    secrets: Vec<String>,
    pending: [String; 2],
}

impl LineAssembler {
    /// `timestamps`: frames start with `<time> ` (the engine's `timestamps=true`); the time of
    /// a line's continuation pieces is dropped.
    pub fn new(timestamps: bool, secrets: &[String]) -> Self {
        LineAssembler { timestamps, secrets: secrets.to_vec(), pending: [String::new(), String::new()] }
    }

    /// Adds one frame of `stderr` or stdout; returns the lines it completed (each ending in
    /// `\n`, secrets replaced by `***`).
    pub fn push(&mut self, stderr: bool, frame: &str) -> Vec<String> {
        let pending = &mut self.pending[stderr as usize];
        let piece = if self.timestamps && !pending.is_empty() { frame.split_once(' ').map(|(_, rest)| rest).unwrap_or(frame) } else { frame };
        pending.push_str(piece);
        let mut lines = Vec::new();
        while let Some(end) = pending.find('\n') {
            let line: String = pending.drain(..=end).collect();
            lines.push(crate::text::redact(&line, &self.secrets));
        }
        if pending.len() > MAX_LINE {
            let line = std::mem::take(pending) + "\n";
            lines.push(crate::text::redact(&line, &self.secrets));
        }
        lines
    }

    /// What is left (a last line without a newline), redacted.
    pub fn finish(&mut self) -> Vec<String> {
        self.pending
            .iter_mut()
            .filter(|p| !p.is_empty())
            .map(|p| crate::text::redact(&(std::mem::take(p) + "\n"), &self.secrets))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_split_across_frames_is_still_removed() {
        let mut a = LineAssembler::new(true, &["SambaSekr1t".to_string()]);
        assert!(a.push(false, "2026-11-30T01:00:00.1Z aaaaSamb").is_empty());
        let lines = a.push(false, "2026-11-30T01:00:00.2Z aSekr1t tail\n");
        assert_eq!(lines, ["2026-11-30T01:00:00.1Z aaaa*** tail\n"]);
    }

    #[test]
    fn streams_are_joined_separately_and_leftovers_flushed() {
        let mut a = LineAssembler::new(false, &[]);
        assert!(a.push(false, "out-").is_empty());
        assert_eq!(a.push(true, "err line\n"), ["err line\n"]);
        assert_eq!(a.push(false, "line\nnext"), ["out-line\n"]);
        assert_eq!(a.finish(), ["next\n"]);
    }

    #[test]
    fn an_endless_line_is_cut_at_the_bound() {
        let mut a = LineAssembler::new(false, &[]);
        let big = "x".repeat(MAX_LINE + 1);
        let lines = a.push(false, &big);
        assert_eq!(lines.len(), 1);
        assert_eq!(lines[0].len(), MAX_LINE + 2);
    }
}
