//! Human sizes as users write them in `.env` (`512M`, `4g`, `1GiB`, `1073741824`).

/// Parses a size into bytes. Units: none (bytes), `k`/`m`/`g`/`t` with optional `i`/`b`
/// (`K`, `KB`, `KiB` are all 1024). Errors name the value.
///
/// ```ignore
/// assert_eq!(parse_size("256M"), Ok(256 << 20));
/// ```
pub fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit() && c != '.').unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: f64 = num.parse().map_err(|_| format!("{s:?} is not a size (e.g. 512M, 4g, 1GiB)"))?;
    let mult: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        "t" | "tb" | "tib" => 1 << 40,
        other => return Err(format!("{s:?}: unknown size unit {other:?} (use K, M, G or T)")),
    };
    Ok((n * mult as f64) as u64)
}

#[cfg(test)]
mod tests {
    use super::parse_size;
    #[test]
    fn sizes() {
        assert_eq!(parse_size("1GiB"), Ok(1 << 30));
        assert_eq!(parse_size("256M"), Ok(256 << 20));
        assert_eq!(parse_size("4g"), Ok(4 << 30));
        assert_eq!(parse_size("1024"), Ok(1024));
        assert!(parse_size("lots").unwrap_err().contains("lots"));
        assert!(parse_size("3x").unwrap_err().contains("unit"));
    }
}
