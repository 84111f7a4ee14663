//! What `describe` returns: [`PluginInfo`] with its [`Profile`]s, [`Setting`]s and the
//! capabilities its containers need, each built by name and then field by field.
//!
//! ```ignore
//! PluginInfo::new("mynfs")
//!     .version(env!("CARGO_PKG_VERSION"))
//!     .description("My NFS server")
//!     .profile(Profile::target("mynfs").description("My NFS server over NFSv4.1").protocol(Protocol::Nfs).port(52049))
//!     .setting(Setting::new("MYNFS_IMAGE").default_value("example/mynfs:1.2.3").description("image (pinned)"))
//!     .cap_add("SYS_ADMIN")
//! ```

use crate::{Capabilities, PluginInfo, Profile, Role, Setting};

impl PluginInfo {
    /// A plugin named `name` (`[a-z0-9-]`) with no version, description, profiles, settings or
    /// capabilities yet; chain the builders below.
    pub fn new(name: &str) -> Self {
        PluginInfo {
            name: name.into(),
            version: String::new(),
            description: String::new(),
            profiles: vec![],
            settings: vec![],
            capabilities: Capabilities { privileged: false, cap_add: vec![], devices: vec![], host_binds: vec![], host_kernel: vec![] },
        }
    }
    /// The plugin's version (semver); pass `env!("CARGO_PKG_VERSION")`.
    pub fn version(mut self, version: &str) -> Self {
        self.version = version.into();
        self
    }
    /// One line saying what system this is.
    pub fn description(mut self, description: &str) -> Self {
        self.description = description.into();
        self
    }
    /// Adds a profile (see [`Profile::target`], [`Profile::infrastructure`]).
    pub fn profile(mut self, p: Profile) -> Self {
        self.profiles.push(p);
        self
    }
    /// Declares a setting the plugin reads (see [`Setting::new`], [`Setting::secret`]).
    pub fn setting(mut self, s: Setting) -> Self {
        self.settings.push(s);
        self
    }
    /// Declares a Linux capability the containers add (e.g. `DAC_READ_SEARCH`).
    pub fn cap_add(mut self, cap: &str) -> Self {
        self.capabilities.cap_add.push(cap.into());
        self
    }
    /// Declares that containers run privileged.
    pub fn privileged(mut self) -> Self {
        self.capabilities.privileged = true;
        self
    }
    /// Declares a host device the containers use (e.g. `/dev/fuse`).
    pub fn device(mut self, path: &str) -> Self {
        self.capabilities.devices.push(path.into());
        self
    }
    /// Declares a host path prefix the containers may bind-mount.
    pub fn host_bind(mut self, prefix: &str) -> Self {
        self.capabilities.host_binds.push(prefix.into());
        self
    }
    /// Declares a kernel feature the Docker host must have (`nfsd`, `fuse`); checked before start.
    pub fn host_kernel(mut self, feature: &str) -> Self {
        self.capabilities.host_kernel.push(feature.into());
        self
    }
}

/// The protocol a client uses to reach a profile ([`Profile::protocol`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    /// NFS (any version; the mount options pin it).
    Nfs,
    /// SMB/CIFS.
    Smb,
    /// A FUSE file system the container mounts.
    Fuse,
    /// The S3 API (infrastructure).
    S3,
    /// The PostgreSQL wire protocol (infrastructure).
    Postgres,
    /// Any other protocol, by its lowercase name.
    Other(&'static str),
}

impl Protocol {
    /// The name the contract carries: `nfs`, `smb`, `fuse`, `s3`, `postgres` or the other name.
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Nfs => "nfs",
            Protocol::Smb => "smb",
            Protocol::Fuse => "fuse",
            Protocol::S3 => "s3",
            Protocol::Postgres => "postgres",
            Protocol::Other(name) => name,
        }
    }
}

impl Profile {
    /// A system under test named `name` (`<system>[-<variant>]`); set its description, protocol
    /// and port next.
    ///
    /// ```ignore
    /// Profile::target("mynfs").description("My NFS server over NFSv4.1").protocol(Protocol::Nfs).port(52049)
    /// ```
    pub fn target(name: &str) -> Self {
        Profile { name: name.into(), description: String::new(), protocol: String::new(), role: Role::Target, port: None }
    }
    /// Infrastructure another plugin depends on by this profile name (S3, PostgreSQL).
    pub fn infrastructure(name: &str) -> Self {
        Profile { role: Role::Infrastructure, ..Profile::target(name) }
    }
    /// One line for `benchhost --help` and `list`.
    pub fn description(mut self, description: &str) -> Self {
        self.description = description.into();
        self
    }
    /// The protocol a client uses.
    pub fn protocol(mut self, protocol: Protocol) -> Self {
        self.protocol = protocol.as_str().into();
        self
    }
    /// The main published host port (unique across plugins); a profile without one (a FUSE
    /// mount) leaves it unset.
    pub fn port(mut self, port: u16) -> Self {
        self.port = Some(port);
        self
    }
}

impl Setting {
    /// A setting `name` (`[A-Z][A-Z0-9_]*`) with an empty default and no description yet.
    ///
    /// ```ignore
    /// Setting::new("MYNFS_IMAGE").default_value("example/mynfs:1.2.3").description("Container image (pinned)")
    /// ```
    pub fn new(name: &str) -> Self {
        Setting { name: name.into(), default_value: String::new(), description: String::new(), secret: false }
    }
    /// A setting whose value is never printed, logged or stored in results.
    pub fn secret(name: &str) -> Self {
        Setting { secret: true, ..Setting::new(name) }
    }
    /// The value used when the user does not set it.
    pub fn default_value(mut self, value: &str) -> Self {
        self.default_value = value.into();
        self
    }
    /// One line for `.env.example` and `plugin check`.
    pub fn description(mut self, description: &str) -> Self {
        self.description = description.into();
        self
    }
}
