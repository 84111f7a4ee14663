//! `/proc/self/mountinfo`: the mounts of this machine, parsed in one place for every caller
//! (shared-bind checks, stale FUSE mounts, what `benchhost mount` finds at a directory).
//! Format: proc(5), "/proc/pid/mountinfo".

/// One line of `/proc/self/mountinfo`.
#[derive(Debug, PartialEq, Eq)]
pub struct MountInfo {
    /// Where it is mounted, unescaped (`\040` is a space).
    pub mount_point: String,
    /// Whether the mount propagates as shared (`shared:N` among the optional fields).
    pub shared: bool,
    /// Filesystem type, e.g. `nfs4`, `fuse.juicefs`.
    pub fstype: String,
    /// What is mounted (`server:/export`, `//host/share`), unescaped.
    pub source: String,
}

/// Parses the text of a mountinfo file; lines that do not parse are skipped.
pub fn parse_mountinfo(text: &str) -> Vec<MountInfo> {
    text.lines()
        .filter_map(|l| {
            let (pre, post) = l.split_once(" - ")?;
            let f: Vec<&str> = pre.split(' ').collect();
            let mount_point = unescape(f.get(4)?);
            let shared = f.iter().skip(6).any(|o| o.starts_with("shared:"));
            let mut post = post.split(' ');
            let fstype = post.next()?.to_string();
            let source = unescape(post.next().unwrap_or_default());
            Some(MountInfo { mount_point, shared, fstype, source })
        })
        .collect()
}

/// This process's mounts (`/proc/self/mountinfo`), or `None` where there is no such file
/// (not Linux).
pub fn this_machine() -> Option<Vec<MountInfo>> {
    std::fs::read_to_string("/proc/self/mountinfo").ok().map(|t| parse_mountinfo(&t))
}

/// The mount holding `path` (the longest mount point that is a prefix of it).
pub fn mount_of<'a>(mounts: &'a [MountInfo], path: &str) -> Option<&'a MountInfo> {
    mounts
        .iter()
        .filter(|m| path == m.mount_point || m.mount_point == "/" || path.starts_with(&format!("{}/", m.mount_point)))
        .max_by_key(|m| m.mount_point.len())
}

/// mountinfo escapes space, tab, newline and backslash as `\ooo` (octal).
pub fn unescape(s: &str) -> String {
    let mut out = String::new();
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\\' {
            let code: String = chars.by_ref().take(3).collect();
            match u8::from_str_radix(&code, 8) {
                Ok(b) => out.push(b as char),
                Err(_) => {
                    out.push('\\');
                    out.push_str(&code);
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod mountinfo_tests {
    use super::*;

    #[test]
    fn shared_mounts_are_recognised_by_longest_prefix() {
        let text = "22 1 0:21 / / rw,relatime - overlay overlay rw\n\
                    30 22 0:40 / /srv/jfs rw,relatime shared:5 - ext4 /dev/vda rw\n\
                    31 30 0:41 / /srv/jfs/mnt rw master:5 - fuse.juicefs JuiceFS:x rw\n";
        let m = parse_mountinfo(text);
        assert_eq!(m.len(), 3);
        assert!(!mount_of(&m, "/tmp/x").unwrap().shared);
        assert!(mount_of(&m, "/srv/jfs").unwrap().shared);
        assert_eq!(mount_of(&m, "/srv/jfs/mnt").unwrap().fstype, "fuse.juicefs");
        assert_eq!(mount_of(&m, "/srv/jfsother").unwrap().mount_point, "/");
    }
}
