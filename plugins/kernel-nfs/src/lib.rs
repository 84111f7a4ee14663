//! kernel-nfs: placeholder being written.
use benchhost_plugin_sdk::*;
struct P;
impl Plugin for P {
    fn describe() -> PluginInfo {
        PluginInfo::new("kernel-nfs", env!("CARGO_PKG_VERSION"), "placeholder")
    }
    fn compose_service(_ctx: &Context) -> Result<Vec<Service>, String> {
        Err("not written yet".into())
    }
}
register_plugin!(P);
