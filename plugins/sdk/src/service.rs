//! What `compose_service` returns: [`Service`]s shaped like Compose services (image, command,
//! environment, ports, volumes, files, dependencies, [`Healthcheck`], stop signal).
//!
//! ```ignore
//! Service::new("mynfs", ctx.setting("MYNFS_IMAGE"))
//!     .file("/etc/mynfs.conf", "export /export\n")
//!     .volume("export", "/export")
//!     .publish(2049, 52049)
//!     .healthcheck(Healthcheck::cmd(&["nfs-ls", "nfs://127.0.0.1/export"]).retries(60))
//!     .stop_signal("SIGTERM")
//!     .stop_grace_ms(10_000)
//! ```

use crate::{ConfigFile, Dependency, DependencyCondition, Healthcheck, PortMapping, Service, Transport, Volume, VolumeSource};

fn strings(argv: &[&str]) -> Vec<String> {
    argv.iter().map(|s| s.to_string()).collect()
}

impl Service {
    /// A service `name` (`[a-z0-9-]`, also its DNS name) running `image` (pinned by tag or
    /// digest) with nothing else set.
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
        self.entrypoint = Some(strings(argv));
        self
    }
    /// Overrides the image's command (argv, no shell).
    pub fn command(mut self, argv: &[&str]) -> Self {
        self.command = Some(strings(argv));
        self
    }
    /// Sets an environment variable in the container (the place for secrets; never argv).
    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.environment.push((key.into(), value.into()));
        self
    }
    /// Sets each `(key, value)` of `vars` as [`Service::env`] does, in order.
    pub fn envs(self, vars: &[(&str, &str)]) -> Self {
        vars.iter().fold(self, |s, (k, v)| s.env(k, v))
    }
    /// Publishes TCP port `container` on host port `host` (on `BENCH_BIND_ADDRESS`).
    pub fn publish(mut self, container: u16, host: u16) -> Self {
        self.ports.push(PortMapping { container, host, transport: Transport::Tcp });
        self
    }
    fn mount(mut self, source: VolumeSource, target: &str) -> Self {
        self.volumes.push(Volume { source, target: target.into(), read_only: false });
        self
    }
    /// A named volume (owned by the run) at `target`.
    pub fn volume(self, name: &str, target: &str) -> Self {
        self.mount(VolumeSource::Named(name.into()), target)
    }
    /// A RAM-backed tmpfs at `target`.
    pub fn tmpfs(self, target: &str) -> Self {
        self.mount(VolumeSource::Tmpfs, target)
    }
    /// Bind-mounts host path `host` at `target` (must be covered by a declared host-bind).
    pub fn bind(self, host: &str, target: &str) -> Self {
        self.mount(VolumeSource::Host(host.into()), target)
    }
    /// Bind-mounts host path `host` at `target` with `rshared` propagation: a FUSE mount the
    /// container makes at `target` appears on the host at `host` (declare a host-bind for it).
    pub fn bind_shared(self, host: &str, target: &str) -> Self {
        self.mount(VolumeSource::HostShared(host.into()), target)
    }
    /// A file written into the container at `path` before it starts, with Unix `mode`.
    pub fn file_mode(mut self, path: &str, contents: impl Into<String>, mode: u32) -> Self {
        self.files.push(ConfigFile { path: path.into(), contents: contents.into(), mode });
        self
    }
    /// A file written into the container at `path` before it starts (mode 0644).
    pub fn file(self, path: &str, contents: impl Into<String>) -> Self {
        self.file_mode(path, contents, 0o644)
    }
    /// An executable file (mode 0755, e.g. a start script) written into the container at `path`.
    pub fn script(self, path: &str, contents: impl Into<String>) -> Self {
        self.file_mode(path, contents, 0o755)
    }
    /// Waits for `service` (one of this plugin's, or an infrastructure profile such as
    /// `localstack` or `postgres`, which is then started too) to reach `condition`.
    pub fn depends_on(mut self, service: &str, condition: DependencyCondition) -> Self {
        self.depends_on.push(Dependency { service: service.into(), condition });
        self
    }
    /// The healthcheck: its test is run by benchhost in the container once the plugin's probe
    /// answers, and again by each `benchhost status` (with its timeout). benchhost's containers
    /// carry no Docker healthcheck, so nothing runs it during a benchmark; the interval,
    /// retries and start period matter only in the generated docker-compose.yml, where Docker
    /// runs it.
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
    /// Runs the container as `name|uid[:group|gid]`.
    pub fn user(mut self, user: &str) -> Self {
        self.user = Some(user.into());
        self
    }
    /// The signal `down` sends (e.g. `SIGTERM`); Docker's default when unset.
    pub fn stop_signal(mut self, signal: &str) -> Self {
        self.stop_signal = Some(signal.into());
        self
    }
    /// How long `down` waits after the stop signal before SIGKILL, in ms.
    pub fn stop_grace_ms(mut self, ms: u32) -> Self {
        self.stop_grace_ms = Some(ms);
        self
    }
    /// Applies `then` when `condition` holds, so optional parts stay in the chain.
    ///
    /// ```ignore
    /// .when(profiling, |s| s.publish(9090, 9090))
    /// ```
    pub fn when(self, condition: bool, then: impl FnOnce(Self) -> Self) -> Self {
        if condition { then(self) } else { self }
    }
}

impl Healthcheck {
    /// `CMD` form (argv, no shell), every 1 s with a 5 s timeout, 60 retries and no start
    /// period until the builders below say otherwise.
    ///
    /// ```ignore
    /// Healthcheck::cmd(&["pg_isready", "-h", "127.0.0.1"]).retries(3).start_period_ms(120_000)
    /// ```
    pub fn cmd(argv: &[&str]) -> Self {
        let mut test = vec!["CMD".to_string()];
        test.extend(strings(argv));
        Healthcheck { test, interval_ms: 1_000, timeout_ms: 5_000, retries: 60, start_period_ms: 0 }
    }
    /// `CMD-SHELL` form: `script` runs under the image's `/bin/sh -c`; the same defaults as
    /// [`Healthcheck::cmd`].
    pub fn shell(script: &str) -> Self {
        Healthcheck { test: vec!["CMD-SHELL".into(), script.into()], ..Healthcheck::cmd(&[]) }
    }
    /// Time between checks in ms (at least 100).
    pub fn interval_ms(mut self, ms: u32) -> Self {
        self.interval_ms = ms;
        self
    }
    /// Time one check may take in ms (at least 100).
    pub fn timeout_ms(mut self, ms: u32) -> Self {
        self.timeout_ms = ms;
        self
    }
    /// Consecutive failures before Docker marks the container unhealthy.
    pub fn retries(mut self, retries: u32) -> Self {
        self.retries = retries;
        self
    }
    /// Start-up time in ms during which failures do not count.
    pub fn start_period_ms(mut self, ms: u32) -> Self {
        self.start_period_ms = ms;
        self
    }
}

#[cfg(test)]
mod tests {
    use crate::{Healthcheck, Service};

    #[test]
    fn builders_fill_the_record() {
        let hc = Healthcheck::shell("true").retries(3).start_period_ms(60_000);
        assert_eq!((hc.test.join(" "), hc.interval_ms, hc.timeout_ms, hc.retries, hc.start_period_ms), ("CMD-SHELL true".into(), 1_000, 5_000, 3, 60_000));
        let s = Service::new("a", "img:1").envs(&[("K", "v"), ("L", "w")]).script("/s.sh", "#!/bin/sh\n").when(false, |s| s.publish(1, 2)).stop_signal("SIGTERM").stop_grace_ms(5);
        assert_eq!((s.environment.len(), s.files[0].mode, s.ports.len(), s.stop_grace_ms), (2, 0o755, 0, Some(5)));
    }
}
