//! `doctor`'s checks of a remote engine's host: the server-side kernel features (FUSE, nfsd)
//! and the profiles' host ports are facts of the machine the containers run on, so with a
//! remote engine they are read there, through short-lived containers of an image of the
//! profiles already on the engine (the readers of `up`'s preflight,
//! [`engine_host_kernel`] and [`engine_host_sockets`]), instead of on this machine.

use super::check::{check, Check, Status};
use crate::engine::DockerEngine;
use crate::orchestration::host::ports::holder_of;
use crate::orchestration::up::preflight::{engine_host_kernel, engine_host_sockets};
use crate::orchestration::labels::LABEL_MANAGED;
use crate::orchestration::plan;
use crate::orchestration::plan::settings::SettingsSource;
use crate::orchestration::plugins::registry::Registry;
use crate::runtime::contract::{HostOs, Role, Transport};

/// The FUSE, nfsd and free-ports checks of the engine's host (named in each check). When no
/// image of the profiles is on the engine yet, one warning says they wait for `up`.
pub async fn checks(registry: &Registry, settings: &SettingsSource, os: HostOs, engine: &DockerEngine) -> Vec<Check> {
    let host = engine.endpoint.host().unwrap_or("(remote)").to_string();
    let mut plans = Vec::new();
    for p in registry.profiles().iter().filter(|p| p.profile.role == Role::Target) {
        if let Ok(plan) = plan::plan(registry, settings, &p.profile.name, os).await {
            plans.push(plan);
        }
    }
    let mut image = None;
    for (_, s) in plans.iter().flat_map(|p| p.services()) {
        if matches!(engine.image_info(&s.image).await, Ok(Some(_))) {
            image = Some(s.image.clone());
            break;
        }
    }
    let Some(image) = image else {
        return vec![check(
            &format!("engine host {host}"),
            Status::Warn,
            false,
            "its kernel features (FUSE, nfsd) and free ports are not checked: no image of the profiles is on that engine yet",
            "`benchhost up` checks them there once it has the images (load them with `docker save IMAGE | docker -H <engine> load`, or let `up` pull them)",
        )];
    };
    let labels = std::collections::HashMap::from([(LABEL_MANAGED.to_string(), "true".to_string())]);
    let mut found = Vec::new();
    match engine_host_kernel(engine, &image, &labels).await {
        Ok(facts) => {
            let fuse = facts.missing("fuse");
            found.push(check(&format!("FUSE on {host} (for juicefs)"), if fuse.is_none() { Status::Ok } else { Status::Warn }, false, if fuse.is_none() { "/dev/fuse present" } else { "/dev/fuse does not exist" }, "`sudo modprobe fuse` there; only the juicefs profile needs it (and it cannot be mounted from another machine)"));
            let nfsd = facts.missing("nfsd");
            found.push(check(&format!("kernel nfsd on {host} (for kernel-nfs)"), if nfsd.is_none() { Status::Ok } else { Status::Warn }, false, match &nfsd {
                None => "nfsd in /proc/filesystems or as a module".to_string(),
                Some(why) => why.lines().next().unwrap_or_default().to_string(),
            }, nfsd.as_deref().and_then(|w| w.split("hint: ").nth(1)).map(|h| format!("there: {h}")).unwrap_or_default()));
        }
        Err(e) => found.push(check(&format!("kernel features of {host}"), Status::Warn, false, format!("not checked: {}", e.to_string().lines().next().unwrap_or_default()), "")),
    }
    found.push(ports(engine, &plans, &image, &labels, settings, &host).await);
    found
}

/// The profiles' host ports against the sockets listening on the engine's host.
async fn ports(engine: &DockerEngine, plans: &[plan::Plan], image: &str, labels: &std::collections::HashMap<String, String>, settings: &SettingsSource, host: &str) -> Check {
    let sockets = match engine_host_sockets(engine, image, labels).await {
        Ok(s) => s,
        Err(e) => return check(&format!("free ports on {host}"), Status::Warn, false, format!("not checked: {}", e.to_string().lines().next().unwrap_or_default()), ""),
    };
    // A remote engine publishes on all its host's interfaces unless BENCH_BIND_ADDRESS says otherwise.
    let bind = settings.get("BENCH_BIND_ADDRESS").filter(|b| !b.is_empty()).unwrap_or("0.0.0.0").to_string();
    let ip: std::net::IpAddr = bind.parse().unwrap_or(std::net::IpAddr::from([0, 0, 0, 0]));
    let mut busy = Vec::new();
    let mut checked = std::collections::BTreeSet::new();
    for plan in plans {
        for (planned, s) in plan.services() {
            for port in &s.ports {
                let udp = port.transport == Transport::Udp;
                if checked.insert((port.host, udp)) && holder_of(&sockets, ip, port.host, udp).is_some() {
                    busy.push(format!("{} ({} of {})", port.host, s.name, planned.profile));
                }
            }
        }
    }
    if busy.is_empty() {
        check(&format!("free ports on {host}"), Status::Ok, false, format!("all {} host ports of every profile are free on {bind} there", checked.len()), "")
    } else {
        check(&format!("free ports on {host}"), Status::Warn, false, format!("in use on {bind} there: {}", busy.join(", ")), "a profile whose port is taken cannot start: stop the holder on that host, or `benchhost status` / `benchhost down` if benchhost holds it")
    }
}
