//! rclone `serve nfs`: an S3 bucket served over NFSv3 through rclone's VFS with a full
//! read/write cache on a volume (`--vfs-cache-mode full`).
//!
//! Facts (verified with rclone 1.73.1 and 1.75.2 on S3: moto, then LocalStack 4.13.1, `tests/e2e_rclone.rs`):
//! - `serve nfs` implements NFSv3 only, with MOUNT on the same port (mountport = the NFS port);
//!   there is no portmapper, NLM or NFSv4. It answers an RPC NULL call for any program version,
//!   so the probe proves the server listens, not the version; the mount options pin `vers=3`.
//! - The remote's root (the bucket) is the export `/`.
//! - Uploads are asynchronous: a closed file is written to S3 `--vfs-write-back` (5 s) later.
//! - rclone sizes read a plain number as KiB (benchhost: bytes) and refuse `KB`/`MB`/`GB`, so
//!   `BENCH_CACHE_SIZE` is passed verbatim only where rclone reads it the same way.
//! - The remote is configured with `RCLONE_CONFIG_S3_*` variables; no config file.
//! - The remote control API listens inside the container only (`--rc --rc-no-auth --rc-addr
//!   127.0.0.1:5572`, not published), for the cold pass: `rclone rc vfs/stats` answers
//!   `{"diskCache": {"uploadsInProgress": N, "uploadsQueued": M, "files": F, "bytesUsed": B,
//!   ...}, "metadataCache": {...}, ...}` (rclone v1.73.1 `vfs/rc.go` and
//!   `vfs/vfscache/cache.go` `Cache.Stats`; seen from the 1.73.1 test image).
//! - The cold pass (`empty_cache`) waits until no upload is in progress or queued, deletes the
//!   VFS cache (`/cache/vfs` data, `/cache/vfsMeta` metadata: `createRootDirs`) and has rclone
//!   restarted: the running process keeps its cache index and directory cache in memory. A
//!   restarted rclone drops a metadata file whose data file is gone (`vfscache/item.go`
//!   `newItem`), and only dirty files are uploaded again at start, of which there are none.

use benchhost_plugin_sdk::size::parse_size;
use benchhost_plugin_sdk::*;

struct Rclone;

const PROFILE: &str = "rclone";
const SERVICE: &str = "rclone";
/// Container and host port of NFS and MOUNT (the same on both sides).
const NFS_PORT: u16 = 42049;
/// Where the official image (and the test image) has the binary.
const RCLONE: &str = "/usr/local/bin/rclone";
/// rclone's cache dir (VFS cache): a named volume.
const CACHE_DIR: &str = "/cache";
/// The remote's name in the `RCLONE_CONFIG_<NAME>_*` variables and in `s3:<bucket>`.
const REMOTE: &str = "s3";
/// The remote control API's address inside the container (never published).
const RC_ADDR: &str = "127.0.0.1:5572";
/// `rclone rc vfs/stats` polls while uploads are pending, one a second (--vfs-write-back is 5 s;
/// bootstrap's budget, which `empty_cache` shares, is 180 s).
const UPLOAD_WAIT_POLLS: u32 = 150;

impl Plugin for Rclone {
    fn describe() -> PluginInfo {
        PluginInfo::new("rclone").version(env!("CARGO_PKG_VERSION")).description("rclone serve nfs: an S3 bucket over NFSv3 through rclone's VFS cache")
            .profile(Profile::target(PROFILE).description("rclone serve nfs over NFSv3: S3 bucket (LocalStack) with a full VFS cache on a volume").protocol(Protocol::Nfs).port(NFS_PORT))
            .setting(Setting::new("RCLONE_IMAGE").default_value("rclone/rclone:1.73.1").description("rclone image with the binary at /usr/local/bin/rclone (pinned tag)"))
            .s3_settings()
            .cache_size_setting("rclone: --vfs-cache-max-size")
    }

    fn compose_service(ctx: &Context) -> Result<Vec<Service>, String> {
        ctx.check_profile(&[PROFILE])?;
        let remote = format!("{REMOTE}:{}", ctx.setting("S3_BUCKET"));
        let addr = format!("0.0.0.0:{NFS_PORT}");
        let cache = rclone_size(ctx.setting("BENCH_CACHE_SIZE"))?;
        Ok(vec![Service::new(SERVICE, ctx.setting("RCLONE_IMAGE"))
            .entrypoint(&[RCLONE])
            .command(&["serve", "nfs", &remote, "--addr", &addr, "--vfs-cache-mode", "full", "--vfs-cache-max-size", &cache,
                       "--no-modtime", "--cache-dir", CACHE_DIR, "--log-level", "INFO",
                       // For `empty_cache` only (inside the container, not published).
                       "--rc", "--rc-no-auth", "--rc-addr", RC_ADDR])
            // The remote, from variables only: an in-memory config (no file, no NOTICE about one).
            .env("RCLONE_CONFIG", "/dev/null")
            .env("RCLONE_CONFIG_S3_TYPE", "s3")
            .env("RCLONE_CONFIG_S3_PROVIDER", "Other")
            .env("RCLONE_CONFIG_S3_ENV_AUTH", "false")
            .env("RCLONE_CONFIG_S3_ENDPOINT", ctx.setting("S3_ENDPOINT"))
            .env("RCLONE_CONFIG_S3_REGION", ctx.setting("S3_REGION"))
            .env("RCLONE_CONFIG_S3_ACCESS_KEY_ID", ctx.setting("AWS_ACCESS_KEY_ID"))
            .env("RCLONE_CONFIG_S3_SECRET_ACCESS_KEY", ctx.setting("AWS_SECRET_ACCESS_KEY"))
            .env("RCLONE_CONFIG_S3_FORCE_PATH_STYLE", "true")
            .publish(NFS_PORT, NFS_PORT)
            .volume("cache", CACHE_DIR)
            // No Docker healthcheck: the official image (alpine) has no NFS client; readiness is
            // the host-side NFSv3 NULL call below. rclone exits cleanly on SIGTERM.
            .stop_signal("SIGTERM").stop_grace_ms(10_000)
            .s3_dependency(ctx)])
    }

    fn healthcheck(_ctx: &Context, service: &str) -> Result<Health, String> {
        Ok(probe::nfs_null(service, NFS_PORT, 3))
    }

    /// Proves the remote works before the mount command is printed: `rclone mkdir s3:<bucket>`
    /// in the running container (its variables configure the remote) reaches S3 with the
    /// endpoint and keys, and creates the bucket unless it exists (idempotent).
    fn bootstrap(ctx: &Context) -> Result<(), String> {
        ctx.check_profile(&[PROFILE])?;
        let bucket = ctx.s3_bucket()?;
        let remote = format!("{REMOTE}:{bucket}");
        let mut last = String::new();
        // LocalStack is healthy by now; a remote endpoint gets two more tries.
        for attempt in 1..=3 {
            let argv = [RCLONE, "mkdir", &remote, "--retries", "1", "--low-level-retries", "1", "--contimeout", "5s", "--timeout", "20s"];
            let out = host::exec(SERVICE, &argv, 30_000)?;
            if out.exit_code == 0 {
                host::info(&format!("bucket {bucket} reachable at {}; served at / on NFS port {NFS_PORT}", ctx.setting("S3_ENDPOINT")));
                return Ok(());
            }
            // rclone's last line says why (`NOTICE: Failed to mkdir: ...`).
            last = format!("exit code {}: {}", out.exit_code, out.stderr.trim_end().lines().last().unwrap_or("no output"));
            host::warn(&format!("rclone mkdir {remote} (attempt {attempt}/3) failed: {last}"));
            if attempt < 3 { host::sleep(1_000) }
        }
        Err(format!("rclone cannot reach bucket {bucket} at S3_ENDPOINT={} ({last})", ctx.setting("S3_ENDPOINT")))
    }

    /// Waits until every write reached S3 (`vfs/stats`: nothing uploading or queued), deletes
    /// the VFS cache and asks for rclone's restart (see the module's documentation).
    fn empty_cache(ctx: &Context) -> Result<CacheEmptied, String> {
        ctx.check_profile(&[PROFILE])?;
        let url = format!("http://{RC_ADDR}/");
        let mut last = None;
        for poll in 0..UPLOAD_WAIT_POLLS {
            let out = host::exec(SERVICE, &[RCLONE, "rc", "vfs/stats", "--url", &url], 10_000)?.success("rclone rc vfs/stats", 300)?;
            let stats = disk_cache(&out.stdout)?;
            if stats.uploads_in_progress == 0 && stats.uploads_queued == 0 {
                host::exec(SERVICE, &["rm", "-rf", "/cache/vfs", "/cache/vfsMeta"], 60_000)?.success("rm -rf /cache/vfs /cache/vfsMeta", 300)?;
                let how = format!(
                    "uploads finished ({poll} s), the VFS cache deleted ({} files, {:.1} MiB in {CACHE_DIR}/vfs and {CACHE_DIR}/vfsMeta) and rclone restarted for its in-memory cache index and directory cache",
                    stats.files,
                    stats.bytes_used as f64 / (1u64 << 20) as f64
                );
                host::info(&how);
                return Ok(CacheEmptied::emptied(how).restart(SERVICE));
            }
            last = Some(stats);
            host::sleep(1_000);
        }
        let last = last.expect("at least one poll");
        Err(format!(
            "rclone still has {} uploads in progress and {} queued after {UPLOAD_WAIT_POLLS} s (rclone rc vfs/stats), so its VFS cache is kept",
            last.uploads_in_progress, last.uploads_queued
        ))
    }

    fn mount_options(ctx: &Context) -> Result<MountSpec, String> {
        ctx.check_profile(&[PROFILE])?;
        Ok(MountSpec::nfs3(ctx.host_os, "127.0.0.1:/", NFS_PORT).note(
            "NFSv3: rclone serve nfs speaks NFSv3 only (no NFSv4, no NLM, hence nolock), with MOUNT on the NFS port; \
             the export / is the bucket S3_BUCKET; writes reach S3 about 5 s after close (--vfs-write-back)",
        ))
    }
}

/// `BENCH_CACHE_SIZE` for `--vfs-cache-max-size`, the same number of bytes as every system gets.
///
/// Passed verbatim when rclone reads it exactly as benchhost does (`256M`, `1GiB`, `1.5g`: a
/// number and a binary unit B/K/M/G/T with optional `i`/`iB`), so the command line shows what
/// the user wrote. Otherwise (plain bytes, which rclone would read as KiB; `1GB`, `512 M`,
/// which rclone refuses) it becomes `<bytes>B`. A value that is not a size at all is passed
/// through unchanged: it is a placeholder when the host renders a compose file, and rclone
/// itself refuses anything else at start, naming the flag.
fn rclone_size(value: &str) -> Result<String, String> {
    let v = value.trim();
    let Ok(bytes) = parse_size(v) else {
        return Ok(value.to_string());
    };
    let split = v.find(|c: char| !c.is_ascii_digit() && c != '.').unwrap_or(v.len());
    let (num, unit) = v.split_at(split);
    let binary_units = ["b", "k", "ki", "kib", "m", "mi", "mib", "g", "gi", "gib", "t", "ti", "tib"];
    let same = !num.is_empty() && binary_units.contains(&unit.to_ascii_lowercase().as_str());
    Ok(if same { v.to_string() } else { format!("{bytes}B") })
}

/// What `empty_cache` reads of `rclone rc vfs/stats`: its `diskCache` object (rclone v1.73.1
/// `Cache.Stats`; absent when `--vfs-cache-mode` is off).
#[derive(Clone, Debug, PartialEq, Eq)]
struct DiskCache {
    /// `uploadsInProgress`: files being uploaded now.
    uploads_in_progress: u64,
    /// `uploadsQueued`: files waiting in the write-back queue (closed less than
    /// `--vfs-write-back` ago, or retrying).
    uploads_queued: u64,
    /// `files`: files in the cache.
    files: u64,
    /// `bytesUsed`: bytes the cache holds on disk.
    bytes_used: u64,
}

/// The `diskCache` of `rclone rc vfs/stats`'s JSON output; an error quotes what is missing.
fn disk_cache(stdout: &str) -> Result<DiskCache, String> {
    let v: serde_json::Value = serde_json::from_str(stdout).map_err(|e| format!("rclone rc vfs/stats printed no JSON ({e}): {}", stdout.chars().take(200).collect::<String>()))?;
    let d = &v["diskCache"];
    if !d.is_object() {
        return Err(format!("rclone rc vfs/stats has no diskCache (is --vfs-cache-mode off?): {}", stdout.chars().take(200).collect::<String>()));
    }
    let n = |k: &str| d[k].as_u64().ok_or_else(|| format!("rclone rc vfs/stats has no number diskCache.{k}"));
    Ok(DiskCache { uploads_in_progress: n("uploadsInProgress")?, uploads_queued: n("uploadsQueued")?, files: n("files")?, bytes_used: n("bytesUsed")? })
}

register_plugin!(Rclone);

#[cfg(test)]
mod tests {
    use super::*;

    /// `rclone rc vfs/stats` as rclone 1.73.1 printed it (the test image, serving a local
    /// directory; `opt` cut), with uploads pending.
    const STATS: &str = r#"{
	"diskCache": {
		"bytesUsed": 3145728,
		"erroredFiles": 0,
		"files": 2,
		"hashType": 1,
		"outOfSpace": false,
		"path": "/cache/vfs/local/data/src",
		"pathMeta": "/cache/vfsMeta/local/data/src",
		"uploadsInProgress": 1,
		"uploadsQueued": 3
	},
	"fs": "/data/src",
	"inUse": 1,
	"metadataCache": {
		"dirs": 1,
		"files": 2
	},
	"opt": {}
}"#;

    #[test]
    fn vfs_stats_are_read() {
        assert_eq!(disk_cache(STATS), Ok(DiskCache { uploads_in_progress: 1, uploads_queued: 3, files: 2, bytes_used: 3 << 20 }));
        let off = r#"{"fs": "s3:bench", "inUse": 1, "metadataCache": {"dirs": 1, "files": 0}, "opt": {}}"#;
        assert!(disk_cache(off).unwrap_err().starts_with("rclone rc vfs/stats has no diskCache"));
        assert_eq!(disk_cache(r#"{"diskCache": {"uploadsInProgress": 0}}"#).unwrap_err(), "rclone rc vfs/stats has no number diskCache.uploadsQueued");
        assert!(disk_cache("Failed to rc: connection failed").unwrap_err().starts_with("rclone rc vfs/stats printed no JSON"));
    }

    #[test]
    fn the_remote_control_stays_inside_the_container() {
        let ctx = Context {
            profile: PROFILE.into(),
            settings: vec![("RCLONE_IMAGE".into(), "rclone/rclone:1.73.1".into()), ("S3_BUCKET".into(), "bench".into()), ("BENCH_CACHE_SIZE".into(), "1GiB".into())],
            host_os: HostOs::Linux,
        };
        let services = <Rclone as Plugin>::compose_service(&ctx).unwrap();
        let command = services[0].command.clone().unwrap();
        assert!(command.ends_with(&["--rc".to_string(), "--rc-no-auth".into(), "--rc-addr".into(), "127.0.0.1:5572".into()]), "{command:?}");
        assert_eq!(services[0].ports.iter().map(|p| p.container).collect::<Vec<_>>(), vec![NFS_PORT], "the rc port is not published");
        // The restart `empty_cache` asks for names this service.
        assert_eq!(services[0].name, SERVICE);
    }

    #[test]
    fn cache_sizes_keep_their_bytes() {
        assert_eq!(rclone_size("1GiB").unwrap(), "1GiB");
        assert_eq!(rclone_size("256M").unwrap(), "256M");
        assert_eq!(rclone_size("4g").unwrap(), "4g");
        assert_eq!(rclone_size("1.5G").unwrap(), "1.5G");
        assert_eq!(rclone_size("1024").unwrap(), "1024B");
        assert_eq!(rclone_size("1GB").unwrap(), "1073741824B");
        assert_eq!(rclone_size(" 512 M ").unwrap(), "536870912B");
        assert_eq!(rclone_size("${BENCH_CACHE_SIZE:-1GiB}").unwrap(), "${BENCH_CACHE_SIZE:-1GiB}");
    }
}
