//! Turns a plugin's [`MountSpec`] into the mount command for the host OS. Arguments are kept
//! as a vector (never a shell string) and quoted only for display.

use crate::runtime::contract::{HostOs, MountSpec};

/// A mount command: `argv` to run (with `sudo` when not root) and how it reads.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct MountCommand {
    pub argv: Vec<String>,
    /// Directory the user mounts on.
    pub dir: String,
    pub note: String,
}

impl MountCommand {
    /// What `up` prints on stdout: one line safe to `eval`, every part shell-quoted:
    /// `mkdir -p DIR && [sudo] mount ...`, or a comment for a FUSE mount that already exists.
    pub fn shell_line(&self, as_root: bool) -> String {
        if self.argv.first().is_some_and(|a| a == "echo") {
            format!("# FUSE: already mounted at {}", shell_quote(&self.dir))
        } else {
            format!("mkdir -p {} && {}", shell_quote(&self.dir), self.display(as_root))
        }
    }

    /// The command as a copy-pasteable line (`sudo` prefixed when `as_root` is false).
    pub fn display(&self, as_root: bool) -> String {
        let mut parts: Vec<String> = Vec::new();
        if !as_root && self.argv.first().is_some_and(|a| a != "echo") {
            parts.push("sudo".into());
        }
        parts.extend(self.argv.iter().map(|a| shell_quote(a)));
        parts.join(" ")
    }
}

/// The mount command for `spec` on `os`, mounting on `dir`. Errors name the protocol.
pub fn mount_command(spec: &MountSpec, os: crate::runtime::contract::HostOs, dir: &str) -> Result<MountCommand, String> {
    let texts = std::iter::once(("source", &spec.source)).chain(std::iter::once(("note", &spec.note))).chain(spec.options.iter().map(|o| ("options", o)));
    for (field, value) in texts {
        if value.chars().any(|c| c.is_control()) {
            return Err(format!("mount-spec {field} {value:?} contains control characters"));
        }
    }
    if let Some(o) = spec.options.iter().find(|o| o.is_empty() || o.contains(',')) {
        return Err(format!("mount-spec option {o:?} must be one non-empty option without ','"));
    }
    if spec.protocol == "fuse" && (!spec.source.starts_with('/') || spec.source.split('/').any(|c| c == "..")) {
        return Err(format!("mount-spec source {:?} of a FUSE mount must be an absolute path without '..'", spec.source));
    }
    let opts = spec.options.join(",");
    let mut argv: Vec<String> = match (spec.protocol.as_str(), os) {
        ("nfs", _) => vec!["mount".into(), "-t".into(), "nfs".into()],
        ("smb", HostOs::Macos) => vec!["mount_smbfs".into()],
        ("smb", _) => vec!["mount".into(), "-t".into(), "cifs".into()],
        ("fuse", _) => {
            return Ok(MountCommand {
                argv: vec!["echo".into(), format!("already mounted at {}", spec.source)],
                dir: spec.source.clone(),
                note: spec.note.clone(),
            })
        }
        (other, _) => return Err(format!("mount protocol {other:?} is not one of nfs, smb, fuse")),
    };
    if !opts.is_empty() {
        argv.push("-o".into());
        argv.push(opts);
    }
    argv.push(spec.source.clone());
    argv.push(dir.into());
    Ok(MountCommand { argv, dir: dir.into(), note: spec.note.clone() })
}

/// `spec` with the server in its source replaced by `server`, the address clients reach the
/// published ports at (`BENCH_SERVER_ADDRESS`): plugins name the server as this machine sees
/// it (`127.0.0.1`), which is wrong inside a VM (QEMU's user network shows the host as
/// 10.0.2.2) or on another machine. NFS `host:/path` (`[v6]:/path`), SMB `//host/share` and
/// `//user@host:port/share` (macOS); a FUSE path is left alone. An IPv6 `server` is bracketed
/// (`[::1]:/export`, RFC 3986 authority). Errors: a source of neither shape.
pub fn at_server(spec: &MountSpec, server: &str) -> Result<MountSpec, String> {
    let host = if server.contains(':') { format!("[{server}]") } else { server.to_string() };
    let source = match spec.protocol.as_str() {
        "nfs" => {
            let path = match spec.source.strip_prefix('[') {
                Some(rest) => rest.split_once("]:").map(|(_, path)| path),
                None => spec.source.split_once(':').map(|(_, path)| path),
            };
            match path {
                Some(path) if path.starts_with('/') => format!("{host}:{path}"),
                _ => return Err(format!("mount-spec source {:?} of an NFS mount must be host:/path", spec.source)),
            }
        }
        "smb" => {
            let rest = spec.source.strip_prefix("//").ok_or_else(|| format!("mount-spec source {:?} of an SMB mount must be //host/share", spec.source))?;
            let (authority, share) = rest.split_once('/').ok_or_else(|| format!("mount-spec source {:?} of an SMB mount must be //host/share", spec.source))?;
            let (user, host_port) = match authority.rsplit_once('@') {
                Some((user, hp)) => (format!("{user}@"), hp),
                None => (String::new(), authority),
            };
            let port = match host_port.strip_prefix('[') {
                Some(v6) => v6.split_once(']').map(|(_, after)| after).unwrap_or_default(),
                None => host_port.find(':').map(|i| &host_port[i..]).unwrap_or_default(),
            };
            format!("//{user}{host}{port}/{share}")
        }
        _ => spec.source.clone(),
    };
    Ok(MountSpec { source, ..spec.clone() })
}

/// Quotes `s` for a POSIX shell (as is when it holds only safe characters).
pub fn shell_quote(s: &str) -> String {
    if !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || "-_./:=,@%+".contains(c)) {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(protocol: &str, source: &str, options: &[&str]) -> MountSpec {
        MountSpec { protocol: protocol.into(), source: source.into(), options: options.iter().map(|s| s.to_string()).collect(), note: String::new() }
    }

    #[test]
    fn nfs_on_linux_and_macos() {
        let s = spec("nfs", "127.0.0.1:/export", &["vers=4.1", "tcp", "port=22049"]);
        let c = mount_command(&s, HostOs::Linux, "/mnt/x").unwrap();
        assert_eq!(c.display(false), "sudo mount -t nfs -o vers=4.1,tcp,port=22049 127.0.0.1:/export /mnt/x");
        assert_eq!(c.display(true), "mount -t nfs -o vers=4.1,tcp,port=22049 127.0.0.1:/export /mnt/x");
        let s = spec("smb", "//127.0.0.1/export", &["port=22445"]);
        assert_eq!(mount_command(&s, HostOs::Macos, "/mnt/y").unwrap().argv[0], "mount_smbfs");
        assert_eq!(mount_command(&s, HostOs::Linux, "/mnt/y").unwrap().argv[..3], ["mount", "-t", "cifs"]);
    }

    #[test]
    fn hostile_values_stay_single_arguments() {
        let s = spec("nfs", "h:/e; rm -rf /", &["vers=4.1"]);
        let c = mount_command(&s, HostOs::Linux, "/mnt/x").unwrap();
        assert_eq!(c.argv[5], "h:/e; rm -rf /");
        assert!(c.display(true).contains("'h:/e; rm -rf /'"));
        assert!(mount_command(&spec("9p", "x", &[]), HostOs::Linux, "/m").unwrap_err().contains("9p"));
        // Nothing a plugin returns can add a line to what `eval "$(benchhost up ...)"` runs.
        assert!(mount_command(&spec("fuse", "/x\ntouch /tmp/p", &[]), HostOs::Linux, "/m").unwrap_err().contains("control characters"));
        assert!(mount_command(&spec("fuse", "relative", &[]), HostOs::Linux, "/m").unwrap_err().contains("absolute"));
        assert!(mount_command(&spec("nfs", "h:/e", &["a,b"]), HostOs::Linux, "/m").unwrap_err().contains("without ','"));
        let c = mount_command(&s, HostOs::Linux, "/tmp/a b;touch x").unwrap();
        assert_eq!(c.shell_line(true), "mkdir -p '/tmp/a b;touch x' && mount -t nfs -o vers=4.1 'h:/e; rm -rf /' '/tmp/a b;touch x'");
        let f = mount_command(&spec("fuse", "/mnt/j k", &[]), HostOs::Linux, "/ignored").unwrap();
        assert_eq!(f.shell_line(true), "# FUSE: already mounted at '/mnt/j k'");
    }

    #[test]
    fn the_server_is_the_address_clients_reach() {
        let nfs = spec("nfs", "127.0.0.1:/export", &["vers=4.1"]);
        assert_eq!(at_server(&nfs, "10.0.2.2").unwrap().source, "10.0.2.2:/export");
        assert_eq!(at_server(&nfs, "::1").unwrap().source, "[::1]:/export");
        assert_eq!(at_server(&spec("nfs", "[::1]:/", &[]), "nas.lan").unwrap().source, "nas.lan:/");
        assert_eq!(at_server(&spec("smb", "//127.0.0.1/export", &[]), "10.0.2.2").unwrap().source, "//10.0.2.2/export");
        assert_eq!(at_server(&spec("smb", "//bench@127.0.0.1:22445/export", &[]), "10.0.2.2").unwrap().source, "//bench@10.0.2.2:22445/export");
        assert_eq!(at_server(&spec("fuse", "/tmp/bench-juicefs", &[]), "10.0.2.2").unwrap().source, "/tmp/bench-juicefs");
        assert_eq!(at_server(&nfs, "10.0.2.2").unwrap().options, ["vers=4.1"]);
        assert!(at_server(&spec("nfs", "export", &[]), "h").unwrap_err().contains("host:/path"));
        assert!(at_server(&spec("smb", "127.0.0.1/export", &[]), "h").unwrap_err().contains("//host/share"));
    }
}
