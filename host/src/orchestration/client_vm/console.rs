//! The client VM's serial console, line by line: what `tests/vm/init` prints for benchhost
//! (`TOKEN|kind|payload`) told apart from the kernel's own messages.
//!
//! Protocol (the guest side is `tests/vm/init`): `TOKEN|ready|UPTIME` when the job starts
//! (UPTIME: seconds since the guest kernel started), `TOKEN|o|LINE` / `TOKEN|e|LINE` for each
//! line of the job's stdout / stderr, `TOKEN|status|N` when it ended, `TOKEN|error|MESSAGE` when
//! init could not run it, `TOKEN|probe|UPTIME` for an accelerator probe. TOKEN is fresh for
//! each run (kernel parameter `benchhost.token=`), so what a job prints on its stdout or stderr
//! cannot pass for these lines: it arrives inside `TOKEN|o|`. The job is trusted, though: it
//! runs as root in the guest, and one that reads the token from `/proc/cmdline` and writes to
//! `/dev/console` itself can forge them. Lines are text: a NUL byte is dropped, and the last
//! line gets a newline.

/// One line of the console, classified.
#[derive(Clone, Debug, PartialEq)]
pub enum ConsoleLine {
    /// The job starts; seconds the guest kernel had been up.
    Ready(f64),
    /// A line of the job's stdout (without its newline).
    Stdout(String),
    /// A line of the job's stderr (without its newline).
    Stderr(String),
    /// The job's exit status (0–255).
    Status(i32),
    /// init could not run the job (a module that did not load, no network, no job).
    Error(String),
    /// An accelerator probe's guest reached init; seconds it had been up.
    Probe(f64),
    /// Anything else: the kernel's messages, init's own output before the job.
    Noise(String),
}

/// Classifies one console line (bytes as read, `\r\n` or `\n` ended) for `token`.
pub fn parse(token: &str, raw: &[u8]) -> ConsoleLine {
    let text = String::from_utf8_lossy(raw);
    let line = text.trim_end_matches(['\n', '\r']);
    let Some(rest) = line.strip_prefix(token).and_then(|r| r.strip_prefix('|')) else {
        return ConsoleLine::Noise(line.to_string());
    };
    let (kind, payload) = rest.split_once('|').unwrap_or((rest, ""));
    let seconds = || payload.trim().parse::<f64>().ok();
    match kind {
        "o" => ConsoleLine::Stdout(payload.to_string()),
        "e" => ConsoleLine::Stderr(payload.to_string()),
        "ready" => seconds().map(ConsoleLine::Ready).unwrap_or_else(|| ConsoleLine::Noise(line.to_string())),
        "probe" => seconds().map(ConsoleLine::Probe).unwrap_or_else(|| ConsoleLine::Noise(line.to_string())),
        "status" => payload.trim().parse::<i32>().map(ConsoleLine::Status).unwrap_or_else(|_| ConsoleLine::Noise(line.to_string())),
        "error" => ConsoleLine::Error(payload.to_string()),
        _ => ConsoleLine::Noise(line.to_string()),
    }
}

/// A fresh token for one run: 16 hex digits from the process's random hasher keys, the time
/// and the pid (not a secret; it only has to differ from anything a job prints).
pub fn fresh_token() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0));
    h.write_u32(std::process::id());
    format!("bh{:016x}", h.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_of_the_token_are_classified_and_the_rest_is_noise() {
        let t = "bh0123";
        assert_eq!(parse(t, b"bh0123|ready|6.80\r\n"), ConsoleLine::Ready(6.8));
        assert_eq!(parse(t, b"bh0123|o|hello | world\r\n"), ConsoleLine::Stdout("hello | world".into()));
        assert_eq!(parse(t, b"bh0123|o|\r\n"), ConsoleLine::Stdout(String::new()));
        assert_eq!(parse(t, b"bh0123|e|oops\n"), ConsoleLine::Stderr("oops".into()));
        assert_eq!(parse(t, b"bh0123|status|3\r\n"), ConsoleLine::Status(3));
        assert_eq!(parse(t, b"bh0123|error|modprobe cifs failed\r\n"), ConsoleLine::Error("modprobe cifs failed".into()));
        assert_eq!(parse(t, b"bh0123|probe|0.91\r\n"), ConsoleLine::Probe(0.91));
        assert_eq!(parse(t, b"[    6.85] reboot: Power down\r\n"), ConsoleLine::Noise("[    6.85] reboot: Power down".into()));
    }

    #[test]
    fn a_job_cannot_forge_a_status_and_bad_payloads_are_noise() {
        let t = "bh0123";
        // What the job printed arrives inside o|: it stays output.
        assert_eq!(parse(t, b"bh0123|o|bh0123|status|0\r\n"), ConsoleLine::Stdout("bh0123|status|0".into()));
        assert_eq!(parse(t, b"benchhost-vm|status|0\r\n"), ConsoleLine::Noise("benchhost-vm|status|0".into()));
        assert_eq!(parse(t, b"bh0123|status|x\r\n"), ConsoleLine::Noise("bh0123|status|x".into()));
        assert_eq!(parse(t, b"bh01234|o|x\r\n"), ConsoleLine::Noise("bh01234|o|x".into()));
        assert_eq!(parse(t, b"bh0123|o|caf\xc3\xa9 \xff\r\n"), ConsoleLine::Stdout("café \u{fffd}".into()));
    }

    #[test]
    fn tokens_differ() {
        let a = fresh_token();
        assert_eq!(a.len(), 18);
        assert_ne!(a, fresh_token());
    }
}
