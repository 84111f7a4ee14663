//! The contract between benchhost and its plugins, versioned. Each released WIT is frozen in
//! `wit/since_v<version>/`; each has one module here (`since_v0_1_0`, ...) with its
//! `MIN_VERSION`, its own `bindgen!`, its linker and its host imports. The newest version's
//! records are the host's plugin model (re-exported here); a plugin runs through the bindings
//! of the version it was built for ([`ContractVersion::of`]), whose results are converted to
//! the newest types.

pub mod since_v0_1_0;
pub mod since_v0_2_0;
pub mod since_v0_3_0;

/// The newest contract version's bindings.
pub use since_v0_3_0 as latest;
pub use latest::benchhost::plugin::types::*;

use super::state::State;
use wasmtime::component::{Component, Linker};
use wasmtime::{Engine, Store};

/// A contract version this host runs: one per `since_v*` module, oldest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum ContractVersion {
    V0_1_0,
    V0_2_0,
    V0_3_0,
}

impl ContractVersion {
    /// Every version this host runs, oldest first.
    pub const ALL: &[ContractVersion] = &[ContractVersion::V0_1_0, ContractVersion::V0_2_0, ContractVersion::V0_3_0];

    /// The first version its bindings run (e.g. `0.1.0`).
    pub fn min_version(self) -> &'static str {
        match self {
            ContractVersion::V0_1_0 => since_v0_1_0::MIN_VERSION,
            ContractVersion::V0_2_0 => since_v0_2_0::MIN_VERSION,
            ContractVersion::V0_3_0 => since_v0_3_0::MIN_VERSION,
        }
    }

    /// Whether the plugin's errors say whose mistake they are (a setting the user gave, or the
    /// plugin's own defect): from `since_v0_2_0` on. Older plugins return a plain message.
    pub fn says_whose_mistake(self) -> bool {
        self >= ContractVersion::V0_2_0
    }

    /// The bindings that run a plugin built for `version`: a version runs on the bindings of
    /// the same major.minor while 0.x (of the same major, with a minor no newer, from 1.0), and
    /// on none when no such bindings exist.
    pub fn of(version: &semver::Version) -> Option<Self> {
        Self::ALL.iter().rev().copied().find(|v| {
            let min = semver::Version::parse(v.min_version()).expect("MIN_VERSION is semver");
            if min.major == 0 {
                version.major == 0 && version.minor == min.minor
            } else {
                version.major == min.major && version.minor >= min.minor
            }
        })
    }
}

/// The host's linkers, one per contract version: WASI 0.2 plus that version's host imports.
pub(in crate::runtime) struct Linkers {
    v0_1_0: Linker<State>,
    v0_2_0: Linker<State>,
    v0_3_0: Linker<State>,
}

impl Linkers {
    /// Links every version's imports.
    pub fn new(engine: &Engine) -> anyhow::Result<Self> {
        Ok(Linkers { v0_1_0: since_v0_1_0::linker(engine)?, v0_2_0: since_v0_2_0::linker(engine)?, v0_3_0: since_v0_3_0::linker(engine)? })
    }

    /// The import names of `version` that are benchhost's own (`benchhost:plugin/host@0.1.0`,
    /// `benchhost:plugin/types@0.1.0`), to tell them apart from imports no benchhost provides.
    pub fn own_imports(version: ContractVersion) -> [String; 2] {
        let v = version.min_version();
        [format!("benchhost:plugin/host@{v}"), format!("benchhost:plugin/types@{v}")]
    }

    /// Resolves `component`'s imports against `version`'s linker (the outer error) and checks
    /// that it exports that version's plugin interface (the inner error).
    pub fn instantiate_pre(&self, version: ContractVersion, component: &Component) -> wasmtime::Result<wasmtime::Result<Pre>> {
        Ok(match version {
            ContractVersion::V0_1_0 => since_v0_1_0::BenchhostPluginPre::new(self.v0_1_0.instantiate_pre(component)?).map(Pre::V0_1_0),
            ContractVersion::V0_2_0 => since_v0_2_0::BenchhostPluginPre::new(self.v0_2_0.instantiate_pre(component)?).map(Pre::V0_2_0),
            ContractVersion::V0_3_0 => since_v0_3_0::BenchhostPluginPre::new(self.v0_3_0.instantiate_pre(component)?).map(Pre::V0_3_0),
        })
    }
}

/// A plugin compiled and linked against the bindings of its contract version.
pub(in crate::runtime) enum Pre {
    V0_1_0(since_v0_1_0::BenchhostPluginPre<State>),
    V0_2_0(since_v0_2_0::BenchhostPluginPre<State>),
    V0_3_0(since_v0_3_0::BenchhostPluginPre<State>),
}

impl Pre {
    /// A new instance in `store`.
    pub async fn instantiate(&self, store: &mut Store<State>) -> wasmtime::Result<Instance> {
        Ok(match self {
            Pre::V0_1_0(pre) => Instance::V0_1_0(pre.instantiate_async(store).await?),
            Pre::V0_2_0(pre) => Instance::V0_2_0(pre.instantiate_async(store).await?),
            Pre::V0_3_0(pre) => Instance::V0_3_0(pre.instantiate_async(store).await?),
        })
    }
}

/// One instance of a plugin; its exports return the newest contract's types.
pub(in crate::runtime) enum Instance {
    V0_1_0(since_v0_1_0::BenchhostPlugin),
    V0_2_0(since_v0_2_0::BenchhostPlugin),
    V0_3_0(since_v0_3_0::BenchhostPlugin),
}

/// What an export returns: a trap (outer) or the plugin's error (inner), in the newest
/// version's terms.
pub(in crate::runtime) type ExportResult<T> = wasmtime::Result<Result<T, PluginError>>;

impl Instance {
    /// `describe()`.
    pub async fn call_describe(&self, store: &mut Store<State>) -> ExportResult<PluginInfo> {
        match self {
            Instance::V0_1_0(p) => p.benchhost_plugin_plugin().call_describe(store).await.map(Ok),
            Instance::V0_2_0(p) => p.benchhost_plugin_plugin().call_describe(store).await.map(Ok),
            Instance::V0_3_0(p) => p.benchhost_plugin_plugin().call_describe(store).await.map(Ok),
        }
    }

    /// `compose-service(ctx)`.
    pub async fn call_compose_service(&self, store: &mut Store<State>, ctx: &Context) -> ExportResult<Vec<Service>> {
        match self {
            Instance::V0_1_0(p) => Ok(p.benchhost_plugin_plugin().call_compose_service(store, ctx).await?.map_err(Into::into)),
            Instance::V0_2_0(p) => p.benchhost_plugin_plugin().call_compose_service(store, ctx).await,
            Instance::V0_3_0(p) => p.benchhost_plugin_plugin().call_compose_service(store, ctx).await,
        }
    }

    /// `healthcheck(ctx, service)`.
    pub async fn call_healthcheck(&self, store: &mut Store<State>, ctx: &Context, service: &str) -> ExportResult<Health> {
        match self {
            Instance::V0_1_0(p) => Ok(p.benchhost_plugin_plugin().call_healthcheck(store, ctx, service).await?.map_err(Into::into)),
            Instance::V0_2_0(p) => p.benchhost_plugin_plugin().call_healthcheck(store, ctx, service).await,
            Instance::V0_3_0(p) => p.benchhost_plugin_plugin().call_healthcheck(store, ctx, service).await,
        }
    }

    /// `bootstrap(ctx)`.
    pub async fn call_bootstrap(&self, store: &mut Store<State>, ctx: &Context) -> ExportResult<()> {
        match self {
            Instance::V0_1_0(p) => Ok(p.benchhost_plugin_plugin().call_bootstrap(store, ctx).await?.map_err(Into::into)),
            Instance::V0_2_0(p) => p.benchhost_plugin_plugin().call_bootstrap(store, ctx).await,
            Instance::V0_3_0(p) => p.benchhost_plugin_plugin().call_bootstrap(store, ctx).await,
        }
    }

    /// `mount-options(ctx)`.
    pub async fn call_mount_options(&self, store: &mut Store<State>, ctx: &Context) -> ExportResult<MountSpec> {
        match self {
            Instance::V0_1_0(p) => Ok(p.benchhost_plugin_plugin().call_mount_options(store, ctx).await?.map_err(Into::into)),
            Instance::V0_2_0(p) => p.benchhost_plugin_plugin().call_mount_options(store, ctx).await,
            Instance::V0_3_0(p) => p.benchhost_plugin_plugin().call_mount_options(store, ctx).await,
        }
    }

    /// `empty-cache(ctx)`: `None` for a plugin built for a contract without it (older than `since_v0_3_0`).
    pub async fn call_empty_cache(&self, store: &mut Store<State>, ctx: &Context) -> Option<ExportResult<CacheEmptied>> {
        match self {
            Instance::V0_1_0(_) | Instance::V0_2_0(_) => None,
            Instance::V0_3_0(p) => Some(p.benchhost_plugin_plugin().call_empty_cache(store, ctx).await),
        }
    }
}

/// The linker of a version's bindings (WASI 0.2 and that version's host imports) and its host
/// imports served by the newest version's code. `$wit` is that version's
/// `benchhost::plugin::host` module, whose types are the newest's or convert into them
/// ([`converted_host_imports!`]).
macro_rules! host_imports {
    ($wit:path) => {
        use $wit::{self as wit, ExecOutput, HttpRequest, HttpResponse, Level};

        /// WASI 0.2 (backed by the empty context of each store) and this version's host imports.
        pub(in crate::runtime) fn linker(engine: &wasmtime::Engine) -> anyhow::Result<wasmtime::component::Linker<super::super::state::State>> {
            use super::super::state::State;
            let mut linker = wasmtime::component::Linker::<State>::new(engine);
            wasmtime_wasi::p2::add_to_linker_async(&mut linker).map_err(|e| anyhow::anyhow!("linking WASI: {e}"))?;
            BenchhostPlugin::add_to_linker::<State, wasmtime::component::HasSelf<State>>(&mut linker, |s| s).map_err(|e| anyhow::anyhow!("linking host imports: {e}"))?;
            Ok(linker)
        }

        // For the newest version the conversions are the identity.
        #[allow(clippy::useless_conversion)]
        impl wit::Host for super::super::state::State {
            async fn log(&mut self, level: Level, message: String) -> wasmtime::Result<()> {
                self.imports.log(level.into(), message);
                Ok(())
            }

            async fn http(&mut self, request: HttpRequest) -> wasmtime::Result<Result<HttpResponse, String>> {
                let imports = self.imports.clone();
                Ok(imports.http(request.into()).await.map(Into::into))
            }

            async fn exec(&mut self, service: String, argv: Vec<String>, timeout_ms: u32) -> wasmtime::Result<Result<ExecOutput, String>> {
                let imports = self.imports.clone();
                Ok(imports.exec(service, argv, timeout_ms).await.map(Into::into))
            }

            async fn tcp_exchange(&mut self, service: String, port: u16, request: Vec<u8>, timeout_ms: u32) -> wasmtime::Result<Result<Vec<u8>, String>> {
                let imports = self.imports.clone();
                Ok(imports.tcp_exchange(&service, port, request, timeout_ms).await)
            }

            async fn sleep(&mut self, ms: u32) -> wasmtime::Result<()> {
                self.imports.sleep(ms).await;
                Ok(())
            }
        }
    };
}
use host_imports;

/// [`host_imports!`] for an older version whose host interface has the same shape as the
/// newest one's (0.1, 0.2), with its host imports' types converted to and from the newest's.
macro_rules! converted_host_imports {
    ($wit:path) => {
        use super::latest::benchhost::plugin::host as latest;
        super::host_imports!($wit);

        impl From<Level> for latest::Level {
            fn from(level: Level) -> Self {
                match level {
                    Level::Debug => latest::Level::Debug,
                    Level::Info => latest::Level::Info,
                    Level::Warn => latest::Level::Warn,
                    Level::Error => latest::Level::Error,
                }
            }
        }

        impl From<HttpRequest> for latest::HttpRequest {
            fn from(r: HttpRequest) -> Self {
                latest::HttpRequest { service: r.service, port: r.port, method: r.method, path: r.path, headers: r.headers, body: r.body, timeout_ms: r.timeout_ms }
            }
        }

        impl From<latest::HttpResponse> for HttpResponse {
            fn from(r: latest::HttpResponse) -> Self {
                HttpResponse { status: r.status, headers: r.headers, body: r.body }
            }
        }

        impl From<latest::ExecOutput> for ExecOutput {
            fn from(o: latest::ExecOutput) -> Self {
                ExecOutput { exit_code: o.exit_code, stdout: o.stdout, stderr: o.stderr }
            }
        }
    };
}
use converted_host_imports;
