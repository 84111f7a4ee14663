//! Text helpers shared by every layer: hiding secrets, showing text from a plugin or a server
//! safely on a terminal, and flattening an error's source chain into one line.

/// `s` with control characters other than newline shown as escapes, so text from a plugin
/// cannot move the cursor, clear the screen or fake output lines.
pub fn printable_text(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() && c != '\n' { c.escape_default().to_string() } else { c.to_string() })
        .collect()
}

/// Lower-case hex SHA-256 of `bytes` (64 characters): how plugin files, cached compilations,
/// job files and client-VM steps are identified.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// The shortest secret [`redact`] hides, in characters: a shorter one would blank the same
/// letters in every word (`plan` refuses such a secret instead).
pub const REDACT_MIN: usize = 3;

/// Replaces every occurrence of each secret (3+ characters) in `text` with `***`, longest
/// first, so a secret that contains another (`bench1xyz`, `bench1`) is hidden whole.
pub fn redact(text: &str, secrets: &[String]) -> String {
    let mut ordered: Vec<&String> = secrets.iter().filter(|s| s.chars().count() >= REDACT_MIN).collect();
    ordered.sort_by_key(|s| std::cmp::Reverse(s.len()));
    let mut out = text.to_string();
    for s in ordered {
        out = out.replace(s.as_str(), "***");
    }
    out
}

/// `e` and its sources, joined by `: ` (reqwest hides the useful part in the source chain).
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        let m = c.to_string();
        if !s.contains(&m) {
            s.push_str(": ");
            s.push_str(&m);
        }
        cur = c.source();
    }
    s
}

/// `msg` cut to at most `max` bytes (at a character boundary), saying how many bytes were cut;
/// unchanged when it fits.
pub fn cut(msg: String, max: usize) -> String {
    if msg.len() <= max {
        return msg;
    }
    let mut end = max;
    while !msg.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… ({} more bytes cut)", &msg[..end], msg.len() - end)
}

/// `msg` with every line longer than `max` bytes cut ([`cut`]): an error that quotes a value
/// the user gave (a 10 MB setting, say) stays a few lines on the terminal.
pub fn cut_lines(msg: &str, max: usize) -> String {
    msg.split('\n').map(|line| cut(line.to_string(), max)).collect::<Vec<_>>().join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redact_hides_the_longest_secret_whole() {
        let secrets = vec!["bench1".to_string(), "bench1xyz".to_string(), "ab".to_string()];
        assert_eq!(redact("pw=bench1xyz user=bench1 ab", &secrets), "pw=*** user=*** ab");
    }

    #[test]
    fn cut_keeps_whole_characters() {
        assert_eq!(cut("short".into(), 8), "short");
        assert_eq!(cut("ééé".into(), 3), "é… (4 more bytes cut)");
    }

    #[test]
    fn long_lines_are_cut_and_short_ones_kept() {
        let long = format!("error: X={}\n  hint: h", "a".repeat(10_000));
        let cut = cut_lines(&long, 100);
        assert_eq!(cut.lines().count(), 2);
        assert!(cut.lines().next().unwrap().len() < 140, "{cut}");
        assert!(cut.contains("more bytes cut") && cut.ends_with("\n  hint: h"), "{cut}");
        assert_eq!(cut_lines("a\nb", 100), "a\nb");
    }
}
