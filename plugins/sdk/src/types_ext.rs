//! Constructors and builder methods for the contract's records, so a plugin reads like a
//! compose file instead of a wall of struct literals.

use crate::{
    Capabilities, ConfigFile, Context, Dependency, DependencyCondition, Healthcheck, MountSpec,
    PluginInfo, PortMapping, Profile, Role, Service, Setting, Transport, Volume, VolumeSource,
};

impl Context {
    /// The resolved value of a declared setting, or `""` when the plugin did not declare it
    /// (the host only passes declared settings).
    ///
    /// ```ignore
    /// let image = ctx.setting("MYNFS_IMAGE"); // the user's value, or the declared default
    /// ```
    pub fn setting(&self, name: &str) -> &str {
        self.settings
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    }

    /// `Err` naming the profile and the plugin's profiles when `ctx.profile` is not in `known`.
    pub fn check_profile(&self, known: &[&str]) -> Result<(), String> {
        if known.contains(&self.profile.as_str()) {
            Ok(())
        } else {
            Err(format!("unknown profile {:?} (this plugin has: {})", self.profile, known.join(", ")))
        }
    }

    /// Whether the declared setting `S3_ENDPOINT` points at the `localstack` infrastructure
    /// profile, i.e. the system must depend on it (any other endpoint is a real S3 provider).
    pub fn uses_localstack(&self) -> bool {
        self.setting("S3_ENDPOINT").contains("://localstack:")
    }

    /// A declared yes/no setting (`1`/`true`/`yes`/`on`, `0`/`false`/`no`/`off`); `None` when
    /// empty (the system's own default). The error names the setting and the value.
    pub fn setting_flag(&self, name: &str) -> Result<Option<bool>, String> {
        match self.setting(name).trim().to_ascii_lowercase().as_str() {
            "" => Ok(None),
            "1" | "true" | "yes" | "on" => Ok(Some(true)),
            "0" | "false" | "no" | "off" => Ok(Some(false)),
            other => Err(format!("setting {name}={other:?} is not a yes/no value; use 1 or 0")),
        }
    }

    /// A declared setting parsed as a number; the error names the setting and the value.
    pub fn setting_u64(&self, name: &str) -> Result<u64, String> {
        let v = self.setting(name);
        v.trim()
            .parse()
            .map_err(|_| format!("setting {name}={v:?} is not a whole number"))
    }
}

impl PluginInfo {
    /// A plugin with no profiles, settings or capabilities yet; chain the builders below.
    ///
    /// ```ignore
    /// PluginInfo::new("mynfs", env!("CARGO_PKG_VERSION"), "My NFS server")
    ///     .profile(Profile::target("mynfs", "My NFS server over NFSv4.1", "nfs", Some(52049)))
    ///     .setting(Setting::new("MYNFS_IMAGE", "example/mynfs:1.2.3", "image (pinned)"))
    ///     .cap_add("SYS_ADMIN")
    /// ```
    pub fn new(name: &str, version: &str, description: &str) -> Self {
        PluginInfo {
            name: name.into(),
            version: version.into(),
            description: description.into(),
            profiles: vec![],
            settings: vec![],
            capabilities: Capabilities {
                privileged: false,
                cap_add: vec![],
                devices: vec![],
                host_binds: vec![],
                host_kernel: vec![],
            },
        }
    }
    /// Declares the shared S3 settings (`S3_ENDPOINT`, `S3_BUCKET`, `S3_REGION`,
    /// `AWS_ACCESS_KEY_ID`, secret `AWS_SECRET_ACCESS_KEY`) with the defaults every S3-backed
    /// system uses: LocalStack at `http://localstack:4566`, bucket `bench`, keys `test`.
    pub fn s3_settings(self) -> Self {
        self.setting(Setting::new("S3_ENDPOINT", "http://localstack:4566", "S3 endpoint as seen from the container (anything but LocalStack drops the LocalStack dependency)"))
            .setting(Setting::new("S3_BUCKET", "bench", "S3 bucket of the benchmark data (LocalStack's bootstrap creates it)"))
            .setting(Setting::new("S3_REGION", "us-east-1", "S3 region"))
            .setting(Setting::new("AWS_ACCESS_KEY_ID", "test", "S3 access key (LocalStack accepts any)"))
            .setting(Setting::secret("AWS_SECRET_ACCESS_KEY", "test", "S3 secret key"))
    }

    /// Declares the shared PostgreSQL settings (`POSTGRES_USER`, secret `POSTGRES_PASSWORD`,
    /// `POSTGRES_DB`, all `bench` by default), as the `postgres` infrastructure profile uses them.
    pub fn postgres_settings(self) -> Self {
        self.setting(Setting::new("POSTGRES_USER", "bench", "PostgreSQL user (created by the postgres profile at first start)"))
            .setting(Setting::secret("POSTGRES_PASSWORD", "bench", "PostgreSQL password of POSTGRES_USER"))
            .setting(Setting::new("POSTGRES_DB", "bench", "PostgreSQL database (created at first start)"))
    }

    /// Declares `BENCH_CACHE_SIZE` (default `1GiB`), the one cache size every system gets;
    /// `how` says what it becomes in this system.
    pub fn cache_size_setting(self, how: &str) -> Self {
        self.setting(Setting::new("BENCH_CACHE_SIZE", "1GiB", &format!("Local cache size, the same for every system ({how})")))
    }

    /// Declares `BENCH_WAL_ENABLED` (default empty: the system's own default). Only systems
    /// with a real write-ahead/durability switch declare it; benchhost refuses it for the rest.
    /// `how` says what 1 and 0 become in this system.
    pub fn wal_setting(self, how: &str) -> Self {
        self.setting(Setting::new("BENCH_WAL_ENABLED", "", &format!("1: durable writes (log/journal before acknowledging), 0: write-back; empty: the system's default ({how})")))
    }

    /// Declares `BENCH_PROFILING` (default `0`; `benchhost up --with-profiling` sets 1). Only
    /// systems with a profiler declare it; `how` says what it turns on.
    pub fn profiling_setting(self, how: &str) -> Self {
        self.setting(Setting::new("BENCH_PROFILING", "0", &format!("1: turn on the system's profiler, as `up --with-profiling` does ({how})")))
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

impl Profile {
    /// A system under test. `port` is the main published host port (unique across plugins).
    ///
    /// ```ignore
    /// Profile::target("mynfs", "My NFS server over NFSv4.1", "nfs", Some(52049))
    /// ```
    pub fn target(name: &str, description: &str, protocol: &str, port: Option<u16>) -> Self {
        Profile { name: name.into(), description: description.into(), protocol: protocol.into(), role: Role::Target, port }
    }
    /// Infrastructure another plugin depends on (by this profile name).
    ///
    /// ```ignore
    /// Profile::infrastructure("minio", "MinIO S3 on 9000", "s3", Some(9000))
    /// ```
    pub fn infrastructure(name: &str, description: &str, protocol: &str, port: Option<u16>) -> Self {
        Profile { name: name.into(), description: description.into(), protocol: protocol.into(), role: Role::Infrastructure, port }
    }
}

impl Setting {
    /// A setting `name` (`[A-Z][A-Z0-9_]*`) with its default and a one-line description.
    pub fn new(name: &str, default_value: &str, description: &str) -> Self {
        Setting { name: name.into(), default_value: default_value.into(), description: description.into(), secret: false }
    }
    /// A setting whose value is never printed, logged or stored in results.
    ///
    /// ```ignore
    /// Setting::secret("MYNFS_PASSWORD", "bench", "Password of the benchmark user")
    /// ```
    pub fn secret(name: &str, default_value: &str, description: &str) -> Self {
        Setting { secret: true, ..Setting::new(name, default_value, description) }
    }
}

impl Healthcheck {
    /// `CMD` form (argv, no shell); interval and timeout in ms (at least 100).
    ///
    /// ```ignore
    /// Healthcheck::cmd(&["pg_isready", "-h", "127.0.0.1"], 1_000, 5_000, 60)
    /// ```
    pub fn cmd(argv: &[&str], interval_ms: u32, timeout_ms: u32, retries: u32) -> Self {
        let mut test = vec!["CMD".to_string()];
        test.extend(argv.iter().map(|s| s.to_string()));
        Healthcheck { test, interval_ms, timeout_ms, retries, start_period_ms: 0 }
    }
}

impl Service {
    /// A service running `image` (pinned by tag or digest) with nothing else set.
    ///
    /// ```ignore
    /// Service::new("mynfs", ctx.setting("MYNFS_IMAGE"))
    ///     .file("/etc/mynfs.conf", "export /export\n")
    ///     .volume("export", "/export")
    ///     .publish(2049, 52049)
    ///     .depends_on("localstack", DependencyCondition::Healthy)
    /// ```
    pub fn new(name: &str, image: &str) -> Self {
        Service {
            name: name.into(),
            image: image.into(),
            entrypoint: None,
            command: None,
            environment: vec![],
            ports: vec![],
            volumes: vec![],
            files: vec![],
            depends_on: vec![],
            healthcheck: None,
            privileged: false,
            cap_add: vec![],
            devices: vec![],
            user: None,
            stop_signal: None,
            stop_grace_ms: None,
        }
    }
    /// Overrides the image's entrypoint (argv, no shell).
    pub fn entrypoint(mut self, argv: &[&str]) -> Self {
        self.entrypoint = Some(argv.iter().map(|s| s.to_string()).collect());
        self
    }
    /// Overrides the image's command (argv, no shell).
    pub fn command(mut self, argv: &[&str]) -> Self {
        self.command = Some(argv.iter().map(|s| s.to_string()).collect());
        self
    }
    /// Sets an environment variable in the container (the place for secrets; never argv).
    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.environment.push((key.into(), value.into()));
        self
    }
    /// Publishes TCP `container` port on host port `host`.
    pub fn publish(mut self, container: u16, host: u16) -> Self {
        self.ports.push(PortMapping { container, host, transport: Transport::Tcp });
        self
    }
    /// A named volume (owned by the run) at `target`.
    pub fn volume(mut self, name: &str, target: &str) -> Self {
        self.volumes.push(Volume { source: VolumeSource::Named(name.into()), target: target.into(), read_only: false });
        self
    }
    /// A file written into the container before it starts (mode 0644).
    pub fn file(mut self, path: &str, contents: impl Into<String>) -> Self {
        self.files.push(ConfigFile { path: path.into(), contents: contents.into(), mode: 0o644 });
        self
    }
    /// Waits for `service` (one of this plugin's, or an infrastructure profile such as
    /// `localstack` or `postgres`, which is then started too) to reach `condition`.
    pub fn depends_on(mut self, service: &str, condition: DependencyCondition) -> Self {
        self.depends_on.push(Dependency { service: service.into(), condition });
        self
    }
    /// The Docker healthcheck benchhost waits for (with the plugin's own probe).
    pub fn healthcheck(mut self, hc: Healthcheck) -> Self {
        self.healthcheck = Some(hc);
        self
    }
    /// Adds a Linux capability (must be declared in `describe`).
    pub fn cap_add(mut self, cap: &str) -> Self {
        self.cap_add.push(cap.into());
        self
    }
    /// Runs the container privileged (must be declared in `describe`).
    pub fn privileged(mut self) -> Self {
        self.privileged = true;
        self
    }
    /// Passes a host device through (must be declared in `describe`).
    pub fn device(mut self, path: &str) -> Self {
        self.devices.push(path.into());
        self
    }
    /// A RAM-backed tmpfs at `target`.
    pub fn tmpfs(mut self, target: &str) -> Self {
        self.volumes.push(Volume { source: VolumeSource::Tmpfs, target: target.into(), read_only: false });
        self
    }
    /// Bind-mounts host path `host` at `target` (must be covered by a declared host-bind).
    pub fn bind(mut self, host: &str, target: &str) -> Self {
        self.volumes.push(Volume { source: VolumeSource::Host(host.into()), target: target.into(), read_only: false });
        self
    }
    /// Bind-mounts host path `host` at `target` with `rshared` propagation: a FUSE mount the
    /// container makes at `target` appears on the host at `host` (declare a host-bind for it).
    pub fn bind_shared(mut self, host: &str, target: &str) -> Self {
        self.volumes.push(Volume { source: VolumeSource::HostShared(host.into()), target: target.into(), read_only: false });
        self
    }
    /// A file written into the container before it starts, with `mode` (e.g. 0o755 for scripts).
    pub fn file_mode(mut self, path: &str, contents: impl Into<String>, mode: u32) -> Self {
        self.files.push(ConfigFile { path: path.into(), contents: contents.into(), mode });
        self
    }
    /// Runs the container as `name|uid[:group|gid]`.
    pub fn user(mut self, user: &str) -> Self {
        self.user = Some(user.into());
        self
    }
    /// The signal `down` sends (e.g. `SIGTERM`) and how long it waits before SIGKILL, in ms.
    pub fn stop_signal(mut self, signal: &str, grace_ms: u32) -> Self {
        self.stop_signal = Some(signal.into());
        self.stop_grace_ms = Some(grace_ms);
        self
    }
}

impl MountSpec {
    /// An NFS mount pinned to NFSv4.1 on Linux, and to NFSv4.0 with `resvport` on macOS (which
    /// has no NFSv4.1 client), at `host_port`. `note` says anything else the user should know.
    ///
    /// ```ignore
    /// Ok(MountSpec::nfs41(ctx.host_os, "127.0.0.1:/export", 52049, "exported by MyNFS"))
    /// ```
    pub fn nfs41(os: crate::HostOs, source: &str, host_port: u16, note: &str) -> Self {
        let port = format!("port={host_port}");
        match os {
            crate::HostOs::Macos => MountSpec::new("nfs", source, &["vers=4", "tcp", &port, "resvport"], &format!("NFSv4.0 (macOS has no NFSv4.1 client); {note}")),
            _ => MountSpec::new("nfs", source, &["vers=4.1", "tcp", &port], &format!("NFSv4.1 pinned; {note}")),
        }
    }

    /// How to mount: protocol (`nfs`, `smb`, `fuse`), source, `-o` options, a note for the user.
    ///
    /// ```ignore
    /// MountSpec::new("nfs", "127.0.0.1:/export", &["vers=4.1", "tcp", "port=52049"], "NFSv4.1")
    /// ```
    pub fn new(protocol: &str, source: &str, options: &[&str], note: &str) -> Self {
        MountSpec {
            protocol: protocol.into(),
            source: source.into(),
            options: options.iter().map(|s| s.to_string()).collect(),
            note: note.into(),
        }
    }
}
