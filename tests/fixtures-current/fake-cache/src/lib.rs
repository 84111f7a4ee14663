//! Test fixture: a FAKE system cache, for what the real DittoFS cannot be made to do on demand.
//! DittoFS v0.29.0's journal keeps a segment on local disk for good once a record in it was
//! overwritten or deleted before its upload, so its `empty-cache` fails until a fresh
//! deployment; that happens after some runs of writes and deletes, not when a test wants it.
//!
//! | profile              | `empty-cache`                                                          |
//! |----------------------|------------------------------------------------------------------------|
//! | `fake-cache-pin`     | succeeds once per deployment (a marker in the deployment's own volume), fails after that |
//! | `fake-cache-stuck`   | always fails, on a fresh deployment too                                 |
//!
//! Each is one container (`FAKE_CACHE_IMAGE`, any local image with `sh` and `sleep`) and a
//! FUSE-style mount: the host directory `FAKE_CACHE_DIR`, where the cells' files are written
//! by the host's fio. The engine, the volume, `down`, `up`, fio and the files are real.

use benchhost_plugin_sdk::*;

struct FakeCache;

/// The marker, in the deployment's own volume: a fresh deployment starts without it.
const PIN_SH: &str = "if [ -e /cache/pinned ]; then echo 'pinned since an earlier empty-cache'; exit 1; fi; touch /cache/pinned";

impl Plugin for FakeCache {
    fn describe() -> PluginInfo {
        PluginInfo::new("fake-cache")
            .version("0.1.0")
            .description("test fixture: a fake cache that empties once per deployment, or never")
            .setting(Setting::new("FAKE_CACHE_IMAGE").default_value("benchhost-test/ganesha:latest").description("image with sh and sleep"))
            .setting(Setting::new("FAKE_CACHE_DIR").default_value("/tmp/benchhost-fake-cache").description("the host directory the cells run in"))
            .profile(Profile::target("fake-cache-pin").description("a fake cache that empties once per deployment").protocol(Protocol::Fuse).port(32851))
            .profile(Profile::target("fake-cache-stuck").description("a fake cache that never empties").protocol(Protocol::Fuse).port(32852))
    }

    fn compose_service(ctx: &Context) -> Result<Vec<Service>, String> {
        Ok(vec![Service::new("app", ctx.setting("FAKE_CACHE_IMAGE"))
            .entrypoint(&["sh", "-c", "exec sleep infinity"])
            .volume("cache", "/cache")
            .stop_signal("SIGKILL")
            .stop_grace_ms(1000)])
    }

    fn healthcheck(_ctx: &Context, _service: &str) -> Result<Health, String> {
        Ok(Health::Ready)
    }

    fn bootstrap(_ctx: &Context) -> Result<(), String> {
        Ok(())
    }

    fn mount_options(ctx: &Context) -> Result<MountSpec, String> {
        Ok(MountSpec::new("fuse", ctx.setting("FAKE_CACHE_DIR")).note("fixture: a directory of this host"))
    }

    fn empty_cache(ctx: &Context) -> Result<CacheEmptied, String> {
        if ctx.profile == "fake-cache-stuck" {
            return Err("the fixture's cache never empties".into());
        }
        let out = host::exec("app", &["sh", "-c", PIN_SH], 5_000)?;
        if out.exit_code != 0 {
            return Err(format!("the fixture's cache is {} (only a fresh deployment empties it)", out.stdout.trim()));
        }
        Ok(CacheEmptied::emptied("the fixture's cache marked emptied (/cache/pinned)"))
    }
}

register_plugin!(FakeCache);
