//! Guest SDK for benchhost plugins.
//!
//! A plugin is one type implementing [`Plugin`] plus one [`register_plugin!`] call. It builds with
//! plain `cargo build --target wasm32-wasip2 --release` as a `cdylib`; the output is already a
//! WebAssembly component targeting the `benchhost:plugin/benchhost-plugin` world of the contract
//! version [`API_VERSION`] (`wit/since_v<API_VERSION>/plugin.wit`).
//!
//! ```ignore
//! use benchhost_plugin_sdk::*;
//!
//! struct Nginx;
//! impl Plugin for Nginx {
//!     fn describe() -> PluginInfo {
//!         PluginInfo::new("nginx").version("0.1.0").description("demo")
//!             .profile(Profile::target("nginx").description("nginx over HTTP").protocol(Protocol::Other("http")).port(18080))
//!             .setting(Setting::new("NGINX_IMAGE").default_value("nginx:1.27.3").description("image"))
//!     }
//!     fn compose_service(ctx: &Context) -> Result<Vec<Service>, Error> {
//!         Ok(vec![Service::new("nginx", ctx.setting("NGINX_IMAGE")).publish(80, 18080)])
//!     }
//! }
//! register_plugin!(Nginx);
//! ```
//!
//! The plugin runs in a sandbox with no files, environment, sockets or clock-driven
//! effects; everything it does to the outside world goes through [`host`] imports, which the
//! host checks and bounds.

/// The bindings of `wit/since_v<API_VERSION>/` (`wit_bindgen::generate!`, written by build.rs).
#[doc(hidden)]
pub mod bindings {
    include!(concat!(env!("OUT_DIR"), "/bindings.rs"));
}

mod cache;
mod context;
mod error;
pub mod host;
mod info;
mod mount;
pub mod probe;
mod service;
pub mod shared_settings;
pub mod size;

pub use bindings::benchhost::plugin::types::{
    Capabilities, ConfigFile, Context, Dependency, DependencyCondition, Health, Healthcheck,
    HostOs, MountSpec, PluginInfo, PortMapping, Profile, Role, Service, Setting, Transport,
    Volume, VolumeSource,
};
pub use cache::CacheEmptied;
pub use error::Error;
pub use info::Protocol;
pub use serde_json;

/// The error type of the exported functions in the contract this SDK binds.
#[doc(hidden)]
#[cfg(not(feature = "contract-v0-1"))]
pub type __ContractError = bindings::benchhost::plugin::types::PluginError;
#[doc(hidden)]
#[cfg(feature = "contract-v0-1")]
pub type __ContractError = String;

/// The contract version this SDK implements: its own crate version, the package version of the
/// WIT it binds (`wit/since_v<API_VERSION>/plugin.wit`, package `benchhost:plugin`; 0.1.0 with
/// the `contract-v0-1` feature), checked by `build.rs`.
pub const API_VERSION: &str = env!("BENCHHOST_API_VERSION");

/// Stamps [`API_VERSION`] into the custom section `benchhost:api-version` of every plugin, so
/// the host can check compatibility before compiling it.
#[doc(hidden)]
#[cfg(target_family = "wasm")]
#[unsafe(link_section = "benchhost:api-version")]
#[used]
pub static __BENCHHOST_API_VERSION: [u8; API_VERSION.len()] = bytes_of(API_VERSION);

/// `s` as a byte array, for a `static` initialiser.
#[cfg(target_family = "wasm")]
const fn bytes_of<const N: usize>(s: &str) -> [u8; N] {
    let b = s.as_bytes();
    let mut out = [0u8; N];
    let mut i = 0;
    while i < N {
        out[i] = b[i];
        i += 1;
    }
    out
}

/// What a plugin implements. Only [`Plugin::describe`] and [`Plugin::compose_service`] are
/// required; the others have defaults that suit a system with nothing to provision and no
/// cache of its own.
///
/// Every function after `describe` fails with anything that converts into an [`Error`]: an
/// [`Error`] itself ([`Error::setting`] for a setting the user gave that the plugin refuses,
/// [`Error::defect`] for anything else), or a plain `String` as before typed errors (read as
/// [`Error`]'s `From<String>` says).
pub trait Plugin {
    /// Static facts: name, version, profiles, settings, capabilities. Must not call the host.
    fn describe() -> PluginInfo;

    /// The containers of `ctx.profile`, compose-shaped. Errors name the offending value; a
    /// setting the user gave that the plugin refuses is an [`Error::setting`].
    fn compose_service(ctx: &Context) -> Result<Vec<Service>, impl Into<Error>>;

    /// Host-side readiness probe of `service`, called repeatedly until it returns
    /// [`Health::Ready`]. Default: ready as soon as the Docker healthcheck (if any) passes.
    fn healthcheck(_ctx: &Context, _service: &str) -> Result<Health, impl Into<Error>> {
        Ok::<_, Error>(Health::Ready)
    }

    /// Provisioning after the services are ready. Must be idempotent. Default: nothing.
    fn bootstrap(_ctx: &Context) -> Result<(), impl Into<Error>> {
        Ok::<_, Error>(())
    }

    /// How a client on `ctx.host_os` mounts the profile. Default: an error, for
    /// infrastructure that is not mounted.
    fn mount_options(ctx: &Context) -> Result<MountSpec, impl Into<Error>> {
        Err::<MountSpec, _>(Error::defect(format!("profile {} is not mountable", ctx.profile)))
    }

    /// Empties the system's own cache (a local block store, a cache directory, a VFS cache,
    /// a metadata cache in memory) for a cold pass of `benchhost bench` (since contract 0.3.x).
    /// Called for a target profile after `bootstrap`, once a cell's files are laid out and before
    /// they are measured, with the client mounted and idle; within bootstrap's time budget
    /// (180 s).
    ///
    /// Every file's content must survive: data not yet uploaded is uploaded first (drained),
    /// never dropped; a cache that cannot be emptied safely is an error, not a silent keep.
    /// What a process holds in memory is emptied by naming its service in
    /// [`CacheEmptied::restart`]: the host unmounts the client, restarts those services in
    /// order, waits until they are ready and mounts again. Then it drops the client's and the
    /// server's page caches itself (not the plugin's job).
    ///
    /// Default: [`CacheEmptied::none`], for a system with no cache of its own (a server that
    /// reads its disk through the page cache). With the `contract-v0-1` feature it is never
    /// called (that contract has no `empty-cache`).
    fn empty_cache(_ctx: &Context) -> Result<CacheEmptied, impl Into<Error>> {
        Ok::<_, Error>(CacheEmptied::none())
    }
}

/// Registers `$t` (a type implementing [`Plugin`]) as the component's exports.
/// Call it exactly once per plugin crate.
#[macro_export]
macro_rules! register_plugin {
    ($t:ident) => {
        impl $crate::bindings::exports::benchhost::plugin::plugin::Guest for $t {
            fn describe() -> $crate::PluginInfo {
                <$t as $crate::Plugin>::describe()
            }
            fn compose_service(ctx: $crate::Context) -> Result<Vec<$crate::Service>, $crate::__ContractError> {
                let declared = || <$t as $crate::Plugin>::describe().settings.into_iter().map(|s| s.name).collect();
                <$t as $crate::Plugin>::compose_service(&ctx).map_err(|e| Into::<$crate::Error>::into(e).__into_contract(Some(&declared)))
            }
            fn healthcheck(ctx: $crate::Context, service: String) -> Result<$crate::Health, $crate::__ContractError> {
                <$t as $crate::Plugin>::healthcheck(&ctx, &service).map_err(|e| Into::<$crate::Error>::into(e).__into_contract(None))
            }
            fn bootstrap(ctx: $crate::Context) -> Result<(), $crate::__ContractError> {
                <$t as $crate::Plugin>::bootstrap(&ctx).map_err(|e| Into::<$crate::Error>::into(e).__into_contract(None))
            }
            fn mount_options(ctx: $crate::Context) -> Result<$crate::MountSpec, $crate::__ContractError> {
                <$t as $crate::Plugin>::mount_options(&ctx).map_err(|e| Into::<$crate::Error>::into(e).__into_contract(None))
            }
            $crate::__export_empty_cache!($t);
        }
        $crate::bindings::__export_benchhost_plugin!($t);
    };
}

/// The `empty-cache` export of [`register_plugin!`] for the contract this SDK binds: the
/// plugin's [`Plugin::empty_cache`]. Chosen here, by this crate's `contract-v0-1` feature (a
/// `#[cfg]` inside `register_plugin!` would test the plugin crate's features instead).
#[doc(hidden)]
#[cfg(not(feature = "contract-v0-1"))]
#[macro_export]
macro_rules! __export_empty_cache {
    ($t:ident) => {
        fn empty_cache(ctx: $crate::Context) -> Result<$crate::bindings::benchhost::plugin::types::CacheEmptied, $crate::__ContractError> {
            <$t as $crate::Plugin>::empty_cache(&ctx)
                .map($crate::CacheEmptied::__into_contract)
                .map_err(|e| Into::<$crate::Error>::into(e).__into_contract(None))
        }
    };
}

/// Contract 0.1.0 has no `empty-cache`: nothing to export.
#[doc(hidden)]
#[cfg(feature = "contract-v0-1")]
#[macro_export]
macro_rules! __export_empty_cache {
    ($t:ident) => {};
}
