//! The client VM's serial console, line by line: what `tests/vm/init` prints for benchhost
//! (`TOKEN|kind|payload`) told apart from the kernel's own messages, and what the host writes
//! to a session ([`step_command`], [`Outgoing`], [`quit_command`]).
//!
//! Protocol (the guest side is `tests/vm/init`): `TOKEN|ready|UPTIME` when the job starts or
//! the session takes commands (UPTIME: seconds since the guest kernel started), `TOKEN|o|LINE`
//! / `TOKEN|e|LINE` for each line of the job's (a step's) stdout / stderr, `TOKEN|status|N`
//! when it ended, `TOKEN|error|MESSAGE` when init could not run it, `TOKEN|probe|UPTIME` for an
//! accelerator probe. TOKEN is fresh for each run (kernel parameter `benchhost.token=`), so
//! what a job prints on its stdout or stderr cannot pass for these lines: it arrives inside
//! `TOKEN|o|`. The job is trusted, though: it runs as root in the guest, and one that reads the
//! token from `/proc/cmdline` and writes to `/dev/console` itself can forge them. Lines are
//! text: a NUL byte is dropped, and the last line gets a newline.
//!
//! A session (kernel parameter `benchhost.session=1`) reads commands from the console, which
//! init puts into raw mode without echo first, so bytes arrive as the host wrote them (no line
//! editing, no signal characters, no 4095-byte line limit of the canonical mode). The host
//! writes `TOKEN|step|BYTES|SHA256` ([`step_command`]); init answers `TOKEN|send|N` for each
//! piece of at most [`MAX_PIECE`] bytes it wants next and the host writes exactly those N bytes
//! ([`Outgoing`]): nothing travels unasked, so at most one piece is in flight and the guest
//! tty's buffers (4 KiB of the line discipline plus the driver's flip buffers) cannot overflow
//! and drop bytes. When the script is in and its SHA-256 matches, init says `TOKEN|run|UPTIME`,
//! runs it, and ends with its `o`/`e` lines and `TOKEN|status|N`. A malformed command or a
//! damaged script is `TOKEN|error|MESSAGE` (nothing runs). `TOKEN|quit` ([`quit_command`]):
//! sync and power off.

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
    /// A session asks for the next N bytes of the step's script (N ≥ 1).
    Send(usize),
    /// A session's step arrived whole and runs now; seconds the guest had been up.
    Run(f64),
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
        "run" => seconds().map(ConsoleLine::Run).unwrap_or_else(|| ConsoleLine::Noise(line.to_string())),
        "send" => payload.trim().parse::<usize>().ok().filter(|n| *n > 0).map(ConsoleLine::Send).unwrap_or_else(|| ConsoleLine::Noise(line.to_string())),
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

/// The most bytes init asks for at once (`TOKEN|send|N`); `tests/vm/init` says the same.
pub const MAX_PIECE: usize = 65536;

/// The command that starts a step: `TOKEN|step|BYTES|SHA256\n` for `script` (its length in
/// bytes and its SHA-256 in lowercase hex, which init checks before running it).
pub fn step_command(token: &str, script: &[u8]) -> String {
    let sha = crate::text::sha256_hex(script);
    format!("{token}|step|{}|{sha}\n", script.len())
}

/// The command that ends a session: `TOKEN|quit\n`.
pub fn quit_command(token: &str) -> String {
    format!("{token}|quit\n")
}

/// A step's script on its way to the guest: the pieces init asks for, in order.
#[derive(Debug)]
pub struct Outgoing<'a> {
    script: &'a [u8],
    sent: usize,
}

impl<'a> Outgoing<'a> {
    /// Nothing of `script` sent yet.
    pub fn new(script: &'a [u8]) -> Outgoing<'a> {
        Outgoing { script, sent: 0 }
    }

    /// The next `n` bytes, for init's `TOKEN|send|n`. Errors (a protocol violation: the session
    /// cannot go on): `n` is more than [`MAX_PIECE`] or more than what is left to send.
    pub fn piece(&mut self, n: usize) -> Result<&'a [u8], String> {
        let left = self.script.len() - self.sent;
        if n > MAX_PIECE || n > left {
            return Err(format!("init asked for {n} bytes of the step, but {left} are left to send (at most {MAX_PIECE} at once)"));
        }
        let piece = &self.script[self.sent..self.sent + n];
        self.sent += n;
        Ok(piece)
    }

    /// Whether every byte was sent.
    pub fn done(&self) -> bool {
        self.sent == self.script.len()
    }
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
        assert_eq!(parse(t, b"bh0123|send|65536\n"), ConsoleLine::Send(65536));
        assert_eq!(parse(t, b"bh0123|run|12.5\n"), ConsoleLine::Run(12.5));
        assert_eq!(parse(t, b"bh0123|send|0\n"), ConsoleLine::Noise("bh0123|send|0".into()));
        assert_eq!(parse(t, b"bh0123|send|-1\n"), ConsoleLine::Noise("bh0123|send|-1".into()));
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

    #[test]
    fn a_step_is_framed_by_size_and_checksum_and_sent_in_the_pieces_init_asks_for() {
        // sha256("") and sha256("abc"), FIPS 180-2's examples.
        assert_eq!(step_command("bhT", b""), "bhT|step|0|e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n");
        assert_eq!(step_command("bhT", b"abc"), "bhT|step|3|ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\n");
        assert_eq!(quit_command("bhT"), "bhT|quit\n");
        // 300 KiB with a 200 000-byte line, asked for as init does: 64 KiB, …, then the rest.
        let mut script = format!("cat <<'EOF' | wc -c\n{}\nEOF\n", "x".repeat(200_000)).into_bytes();
        script.extend((0..20_000).map(|i| b"0123456789abcdef\n"[i % 17]));
        let mut out = Outgoing::new(&script);
        let mut back = Vec::new();
        let mut left = script.len();
        while left > 0 {
            let n = left.min(MAX_PIECE);
            back.extend_from_slice(out.piece(n).unwrap());
            left -= n;
        }
        assert!(out.done());
        assert_eq!(back, script);
        // Asking past the end or for more than a piece is a protocol violation, said.
        let err = out.piece(1).unwrap_err();
        assert!(err.contains("asked for 1 bytes") && err.contains("0 are left"), "{err}");
        let big = vec![b'#'; MAX_PIECE + 1];
        let err = Outgoing::new(&big).piece(MAX_PIECE + 1).unwrap_err();
        assert!(err.contains("at most 65536 at once"), "{err}");
        assert!(Outgoing::new(b"").done());
    }
}
