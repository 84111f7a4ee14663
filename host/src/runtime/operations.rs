//! The plugin's exports after `describe`, as host methods: each runs in its own sandboxed call.

use super::contract::{CacheEmptied, Context, Health, MountSpec, Service};
use super::error::{Operation, PluginError};
use super::gateway::{NoServices, ServiceGateway};
use super::{LoadedPlugin, PluginRuntime};
use std::sync::Arc;
use std::time::Duration;

impl PluginRuntime {
    /// `compose-service(ctx)`: the plugin's services for `ctx.profile`. No imports reach out.
    pub async fn compose_service(&self, plugin: &LoadedPlugin, ctx: &Context) -> Result<Vec<Service>, PluginError> {
        let ctx = ctx.clone();
        self.call_within(plugin, Operation::ComposeService, Arc::new(NoServices), None, move |p, s| {
            Box::pin(async move { p.call_compose_service(s, &ctx).await })
        })
        .await
    }

    /// `healthcheck(ctx, service)`: one probe through `gateway`, within the healthcheck budget
    /// or `budget` when that is shorter (the caller's own deadline).
    pub async fn healthcheck(
        &self,
        plugin: &LoadedPlugin,
        ctx: &Context,
        service: &str,
        gateway: Arc<dyn ServiceGateway>,
        budget: Option<Duration>,
    ) -> Result<Health, PluginError> {
        let ctx = ctx.clone();
        let service = service.to_string();
        self.call_within(plugin, Operation::Healthcheck, gateway, budget, move |p, s| {
            Box::pin(async move { p.call_healthcheck(s, &ctx, &service).await })
        })
        .await
    }

    /// `bootstrap(ctx)`: provisioning through `gateway`.
    pub async fn bootstrap(&self, plugin: &LoadedPlugin, ctx: &Context, gateway: Arc<dyn ServiceGateway>) -> Result<(), PluginError> {
        let ctx = ctx.clone();
        self.call_within(plugin, Operation::Bootstrap, gateway, None, move |p, s| {
            Box::pin(async move { p.call_bootstrap(s, &ctx).await })
        })
        .await
    }

    /// `mount-options(ctx)`. No imports reach out. The mount command is printed, so secret
    /// values (see [`PluginRuntime::set_redactions`]) are replaced with `***` in every field: a
    /// mount command never carries a password (mount helpers ask for it).
    pub async fn mount_options(&self, plugin: &LoadedPlugin, ctx: &Context) -> Result<MountSpec, PluginError> {
        let ctx = ctx.clone();
        let mut spec = self
            .call_within(plugin, Operation::MountOptions, Arc::new(NoServices), None, move |p, s| {
                Box::pin(async move { p.call_mount_options(s, &ctx).await })
            })
            .await?;
        let secrets = self.redactions.read().map(|r| r.clone()).unwrap_or_default();
        for field in std::iter::once(&mut spec.source).chain(std::iter::once(&mut spec.note)).chain(spec.options.iter_mut()) {
            *field = crate::text::redact(field, &secrets);
        }
        Ok(spec)
    }

    /// `empty-cache(ctx)` through `gateway`, within the bootstrap budget: what the plugin did
    /// to its system's own cache, and the services to restart. `Ok(None)`: the plugin was
    /// built for an older contract, which has no such function (its cache is kept).
    pub async fn empty_cache(&self, plugin: &LoadedPlugin, ctx: &Context, gateway: Arc<dyn ServiceGateway>) -> Result<Option<CacheEmptied>, PluginError> {
        let ctx = ctx.clone();
        self.call_within(plugin, Operation::EmptyCache, gateway, None, move |p, s| {
            Box::pin(async move {
                Ok(match p.call_empty_cache(s, &ctx).await {
                    None => Ok(None),
                    Some(r) => r?.map(Some),
                })
            })
        })
        .await
    }
}
