//! What `mount_options` returns: a [`MountSpec`] per client OS, with helpers that pin the
//! protocol version the same way for every system (like-for-like comparisons).
//!
//! ```ignore
//! Ok(MountSpec::nfs41(ctx.host_os, "127.0.0.1:/export", 52049).note("exported by MyNFS"))
//! ```
//!
//! The host part of a source is this machine as the plugin sees it; benchhost replaces it with
//! `BENCH_SERVER_ADDRESS`, the address the client reaches the published ports at.
//!
//! ```ignore
//! Ok(MountSpec::fuse("/tmp/bench-myfs").note("FUSE-mounted by the container"))
//! ```

use crate::{HostOs, MountSpec};

impl MountSpec {
    /// A mount of `protocol` (`nfs`, `smb`, `fuse`) from `source`, with no options or note.
    pub fn new(protocol: &str, source: &str) -> Self {
        MountSpec { protocol: protocol.into(), source: source.into(), options: vec![], note: String::new() }
    }
    /// An NFS mount of `source` (`host:/path`); add `-o` options with [`MountSpec::options`].
    pub fn nfs(source: &str) -> Self {
        MountSpec::new("nfs", source)
    }
    /// An SMB mount of `source` (`//host/share`).
    pub fn smb(source: &str) -> Self {
        MountSpec::new("smb", source)
    }
    /// A FUSE file system the container already mounted at host path `path`.
    pub fn fuse(path: &str) -> Self {
        MountSpec::new("fuse", path)
    }
    /// Appends `-o` options, in order.
    pub fn options(mut self, options: &[&str]) -> Self {
        self.options.extend(options.iter().map(|s| s.to_string()));
        self
    }
    /// Adds `text` to the note for the user, after `; ` when there is one already (the
    /// pinned-version helpers below start it with the version).
    pub fn note(mut self, text: &str) -> Self {
        self.note = if self.note.is_empty() { text.into() } else { format!("{}; {text}", self.note) };
        self
    }

    /// An NFS mount pinned to NFSv4.1 on Linux, and to NFSv4.0 with `resvport` on macOS (which
    /// has no NFSv4.1 client), at `host_port`. The note says which.
    pub fn nfs41(os: HostOs, source: &str, host_port: u16) -> Self {
        let port = format!("port={host_port}");
        match os {
            HostOs::Macos => MountSpec::nfs(source).options(&["vers=4", "tcp", &port, "resvport"]).note("NFSv4.0 (macOS has no NFSv4.1 client)"),
            _ => MountSpec::nfs(source).options(&["vers=4.1", "tcp", &port]).note("NFSv4.1 pinned"),
        }
    }

    /// An NFSv3 mount of a server that serves MOUNT on its NFS port `host_port` and has no
    /// lock manager (`vers=3`, `mountport=`, `nolock`, and `resvport` on macOS); no note.
    pub fn nfs3(os: HostOs, source: &str, host_port: u16) -> Self {
        let (port, mountport) = (format!("port={host_port}"), format!("mountport={host_port}"));
        let spec = MountSpec::nfs(source).options(&["vers=3", "tcp", &port, &mountport, "nolock"]);
        if os == HostOs::Macos { spec.options(&["resvport"]) } else { spec }
    }

    /// An SMB 3.0 mount of `share` on 127.0.0.1:`host_port` as `user`: on macOS the user and
    /// port are in the source (`//user@127.0.0.1:port/share`, mount_smbfs takes no such
    /// options), elsewhere they are options (`port=`, `vers=3.0`, `username=`); no note.
    /// The password is never part of it: the mount helper asks for it.
    pub fn smb3(os: HostOs, share: &str, host_port: u16, user: &str) -> Self {
        match os {
            HostOs::Macos => MountSpec::smb(&format!("//{user}@127.0.0.1:{host_port}/{share}")),
            _ => MountSpec::smb(&format!("//127.0.0.1/{share}")).options(&[&format!("port={host_port}"), "vers=3.0", &format!("username={user}")]),
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::{HostOs, MountSpec};

    #[test]
    fn pinned_versions_lead_the_note() {
        let m = MountSpec::nfs41(HostOs::Linux, "127.0.0.1:/export", 22049).note("served by X");
        assert_eq!((m.options.join(","), m.note.as_str()), ("vers=4.1,tcp,port=22049".into(), "NFSv4.1 pinned; served by X"));
        let m = MountSpec::nfs41(HostOs::Macos, "127.0.0.1:/export", 22049);
        assert_eq!(m.options.join(","), "vers=4,tcp,port=22049,resvport");
        let m = MountSpec::nfs3(HostOs::Macos, "127.0.0.1:/", 42049);
        assert_eq!((m.options.join(","), m.note.as_str()), ("vers=3,tcp,port=42049,mountport=42049,nolock,resvport".into(), ""));
        let m = MountSpec::smb3(HostOs::Linux, "export", 22445, "bench");
        assert_eq!((m.source.as_str(), m.options.join(",")), ("//127.0.0.1/export", "port=22445,vers=3.0,username=bench".into()));
        let m = MountSpec::smb3(HostOs::Macos, "export", 22445, "bench");
        assert_eq!((m.source.as_str(), m.options.len()), ("//bench@127.0.0.1:22445/export", 0));
    }
}
