//! JuiceFS Community Edition as a FUSE mount: metadata in PostgreSQL (the `postgres`
//! infrastructure profile), data chunks in S3 (the `localstack` profile unless `S3_ENDPOINT`
//! points elsewhere), a local disk cache of `BENCH_CACHE_SIZE`.
//!
//! The start script runs `juicefs format --storage s3 --bucket <endpoint>/<bucket>` with
//! PostgreSQL metadata, then `juicefs mount --cache-size <MiB>` in the foreground. Choices, all
//! verified on JuiceFS 1.4.2 (`tests/images/juicefs/README.md`):
//! - not privileged: `CAP_SYS_ADMIN` + `/dev/fuse` is the least that mounts (without
//!   SYS_ADMIN the mount never appears); `--privileged` does not even start in some sandboxes;
//! - secrets reach JuiceFS as environment variables, never argv: `META_PASSWORD` (the meta URL
//!   carries no password), `ACCESS_KEY`/`SECRET_KEY` (read by `juicefs format`);
//! - `format` runs only when `juicefs status` says the volume is not formatted yet (a re-run
//!   of format with the same settings would also pass, but could silently rewrite the storage);
//! - the bucket is created by LocalStack's bootstrap (JuiceFS would also create it);
//! - the FUSE mount is made inside the container at `/jfs`, which is the host path
//!   `JUICEFS_MOUNT` bind-mounted with `rshared` propagation, so it appears on the host there
//!   (the host checks the path sits on a shared mount first). `JUICEFS_MOUNT=none` keeps the
//!   mount inside the container only (an empty value means the default, as for every setting:
//!   benchhost, like Compose's `${NAME:-default}`, gives a plugin the default then).
//!
//! The cold pass (`empty_cache`) empties the block cache without a restart (a restart would
//! take the FUSE mount from under the host). JuiceFS keeps cached blocks in
//! `/var/jfsCache/<volume UUID>/raw/` and, with `--writeback`, blocks not yet uploaded in
//! `.../rawstaging/`, hard-linked into `raw/` (JuiceFS ce-v1.3.0 `pkg/chunk/disk_cache.go`:
//! `cacheDir = "raw"`, `stagingDir = "rawstaging"`, `stage`; the UUID directory from
//! `Config.SelfCheck`). It waits until `rawstaging/` is empty (every block uploaded), then runs
//! `juicefs warmup --evict /jfs` (in 1.3.0 and 1.4.2), which asks the mount itself to drop the
//! cached blocks of every file, keeping its index right, and skips a staged block (`remove(key,
//! false)` leaves a block whose size is still negative, i.e. staged). Checked with 1.4.2 on a
//! FUSE mount with `--writeback --upload-delay 20s`: the evict left the 5 staged blocks and
//! their `raw/` links, and after the upload it removed all 5 (`warmup --check`: 0 B cached).

use benchhost_plugin_sdk::shared_settings::{cache_size, check_bucket_chars};
use benchhost_plugin_sdk::*;

struct JuiceFs;

const PROFILE: &str = "juicefs";
const SERVICE: &str = "juicefs";
/// Mount point inside the container.
const MOUNT_POINT: &str = "/jfs";
/// JuiceFS's default cache dir, on a named volume (not the container's overlayfs).
const CACHE_DIR: &str = "/var/jfsCache";
/// The start script, uploaded before the container starts.
const START_SCRIPT: &str = "/benchhost/juicefs-start.sh";
/// JuiceFS volume name: the prefix of every object in the bucket (`juicefs/chunks/...`).
const VOLUME_NAME: &str = "juicefs";

/// Formats the volume once, then mounts it in the foreground as PID 1 (after `exec`), so
/// SIGTERM reaches JuiceFS, which flushes, closes its session and unmounts. Every value comes
/// from the environment (nothing to quote; secrets never in argv or in this file).
const START_SH: &str = r#"#!/bin/sh
# Written by the benchhost juicefs plugin. Inputs (environment):
#   JFS_META_URL    postgres://USER@postgres:5432/DB?sslmode=disable (password: META_PASSWORD)
#   JFS_BUCKET_URL  <S3 endpoint>/<bucket>          (keys: ACCESS_KEY, SECRET_KEY)
#   JFS_VOLUME      volume name (object prefix)
#   JFS_CACHE_SIZE  local cache size as BENCH_CACHE_SIZE is written (bytes, or K/M/G/T with an
#                   optional i/B, 1024-based: plugins/sdk/src/size.rs), passed as is so that
#                   docker-compose.yml can carry ${BENCH_CACHE_SIZE}; turned into MiB below
#   JFS_WRITEBACK   1: mount with --writeback (BENCH_WAL_ENABLED=0)
set -eu
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
mkdir -p /jfs /var/jfsCache
if juicefs status "$JFS_META_URL" >/dev/null 2>&1; then
    echo "benchhost: JuiceFS volume already formatted in the metadata database; keeping it"
else
    echo "benchhost: formatting JuiceFS volume $JFS_VOLUME (data in $JFS_BUCKET_URL)"
    juicefs format --storage s3 --bucket "$JFS_BUCKET_URL" "$JFS_META_URL" "$JFS_VOLUME"
fi
# The keys are stored in the metadata by format; mount does not need them.
unset ACCESS_KEY SECRET_KEY
JFS_CACHE_MIB=$(awk -v s="$JFS_CACHE_SIZE" 'BEGIN {
    u = tolower(s); sub(/^[ ]*[0-9.]+[ ]*/, "", u); sub(/[ ]+$/, "", u)
    m = (u == "" || u == "b") ? 1 : (u ~ /^k(i?b)?$/) ? 2^10 : (u ~ /^m(i?b)?$/) ? 2^20 : (u ~ /^g(i?b)?$/) ? 2^30 : (u ~ /^t(i?b)?$/) ? 2^40 : -1
    if (m < 0 || s !~ /^[ ]*[0-9]/) exit 1
    v = int((s + 0) * m) / 2^20; printf "%d\n", (v == int(v)) ? v : int(v) + 1 }') \
    || { echo "benchhost: JFS_CACHE_SIZE=$JFS_CACHE_SIZE is not a size" >&2; exit 2; }
exec juicefs mount --no-usage-report ${JFS_WRITEBACK:+--writeback} --cache-size "$JFS_CACHE_MIB" --cache-dir /var/jfsCache "$JFS_META_URL" /jfs
"#;

/// Live FUSE mount check, run inside the container: JuiceFS is mounted at /jfs, and its
/// daemon answers (`.config` is a virtual file served by JuiceFS itself, so a dead or
/// wrong mount fails here).
const PROBE_SH: &str = "grep -q ' /jfs fuse.juicefs ' /proc/mounts || { echo 'no fuse.juicefs mount at /jfs yet' >&2; exit 1; }; \
                        test -s /jfs/.config || { echo '/jfs is mounted but JuiceFS does not answer' >&2; exit 1; }";

impl Plugin for JuiceFs {
    fn describe() -> PluginInfo {
        PluginInfo::new("juicefs").version(env!("CARGO_PKG_VERSION")).description("JuiceFS Community Edition: POSIX over FUSE, metadata in PostgreSQL, data in S3")
            .profile(Profile::target(PROFILE).description("JuiceFS over FUSE: PostgreSQL metadata, S3 (LocalStack) data, local disk cache").protocol(Protocol::Fuse))
            .setting(Setting::new("JUICEFS_IMAGE").default_value("juicedata/mount:ce-v1.3.0").description("JuiceFS image with juicefs at /usr/local/bin or /usr/bin (build one locally with `tests/images/build.sh juicefs`)"))
            .setting(Setting::new("JUICEFS_MOUNT").default_value("/tmp/bench-juicefs").description("Host path where the JuiceFS FUSE mount appears, under /tmp, /mnt, /media or /srv; it must be on a shared mount (`sudo mount --bind P P && sudo mount --make-shared P`). `none`: the mount stays inside the container"))
            .s3_settings()
            .postgres_settings()
            .cache_size_setting("JuiceFS: --cache-size, in MiB")
            .wal_setting("JuiceFS: 0 = mount --writeback (acknowledged once in the local cache, uploaded later), 1 = the default (uploaded before acknowledging)")
            // FUSE: mount(2) needs CAP_SYS_ADMIN (Docker's seccomp profile allows it only then)
            // and the /dev/fuse device. Nothing else: no privileged mode, no AppArmor change.
            .cap_add("SYS_ADMIN")
            .device("/dev/fuse")
            .host_kernel("fuse")
            // Where JUICEFS_MOUNT may point (the mount is propagated there).
            .host_bind("/tmp")
            .host_bind("/mnt")
            .host_bind("/media")
            .host_bind("/srv")
    }

    fn compose_service(ctx: &Context) -> Result<Vec<Service>, String> {
        ctx.check_profile(&[PROFILE])?;
        let host_path = host_mount(ctx)?;
        // Checked here; passed as written and turned into MiB by the start script, so the
        // compose file can carry `${BENCH_CACHE_SIZE}` (see START_SH).
        cache_mib(ctx.setting("BENCH_CACHE_SIZE"))?;
        let bucket_url = bucket_url(ctx.setting("S3_ENDPOINT"), ctx.setting("S3_BUCKET"))?;
        let meta_url = meta_url(ctx.setting("POSTGRES_USER"), ctx.setting("POSTGRES_DB"))?;
        Ok(vec![Service::new(SERVICE, ctx.setting("JUICEFS_IMAGE"))
            .entrypoint(&["/bin/sh", START_SCRIPT])
            .script(START_SCRIPT, START_SH)
            .env("JFS_META_URL", &meta_url)
            .env("META_PASSWORD", ctx.setting("POSTGRES_PASSWORD"))
            .env("JFS_BUCKET_URL", &bucket_url)
            .env("ACCESS_KEY", ctx.setting("AWS_ACCESS_KEY_ID"))
            .env("SECRET_KEY", ctx.setting("AWS_SECRET_ACCESS_KEY"))
            .env("JFS_VOLUME", VOLUME_NAME)
            .env("JFS_CACHE_SIZE", ctx.setting("BENCH_CACHE_SIZE").trim())
            .env("JFS_WRITEBACK", if ctx.setting_flag("BENCH_WAL_ENABLED")? == Some(false) { "1" } else { "" })
            .volume("cache", CACHE_DIR)
            .cap_add("SYS_ADMIN")
            .device("/dev/fuse")
            .healthcheck(Healthcheck::shell(PROBE_SH).retries(120))
            // JuiceFS flushes buffered writes to S3 and closes its session on SIGTERM.
            .stop_signal("SIGTERM").stop_grace_ms(30_000)
            .depends_on("postgres", DependencyCondition::Healthy)
            .s3_dependency(ctx)
            .when(!host_path.is_empty(), |s| s.bind_shared(host_path, MOUNT_POINT))])
    }

    fn healthcheck(_ctx: &Context, service: &str) -> Result<Health, String> {
        Ok(probe::ready_when(|| {
            let out = host::exec(service, &["sh", "-c", PROBE_SH], 5_000).map_err(|e| format!("JuiceFS FUSE mount at {MOUNT_POINT}: {e}"))?;
            let why = format!("{}{}", out.stderr.trim(), out.stdout.trim());
            match out.exit_code {
                0 => Ok(()),
                code => Err(format!("JuiceFS FUSE mount at {MOUNT_POINT}: {}", if why.is_empty() { format!("exit {code}") } else { why })),
            }
        }))
    }

    fn bootstrap(ctx: &Context) -> Result<(), String> {
        ctx.check_profile(&[PROFILE])?;
        // Nothing to provision (the start script formats): report what is mounted.
        let out = host::exec(SERVICE, &["juicefs", "version"], 10_000)?;
        if out.exit_code != 0 {
            return Err(format!("`juicefs version` in the container exited {}: {}", out.exit_code, out.stderr.trim()));
        }
        host::info(&format!("{} mounted at {MOUNT_POINT} in the container", out.stdout.trim()));
        Ok(())
    }

    /// Waits for the staged (writeback) blocks to be uploaded, evicts the cached blocks with
    /// `juicefs warmup --evict` and reports what `juicefs warmup --check` still finds cached.
    /// No restart (see the module's documentation).
    fn empty_cache(ctx: &Context) -> Result<CacheEmptied, String> {
        ctx.check_profile(&[PROFILE])?;
        let mut waited = 0;
        loop {
            let out = host::exec(SERVICE, &["sh", "-c", STAGED_COUNT_SH], 30_000)?.success("counting the staged blocks", 300)?;
            let staged = staged_count(&out.stdout)?;
            if staged == 0 {
                break;
            }
            if waited >= STAGING_WAIT_S {
                return Err(format!(
                    "{staged} staged blocks in {CACHE_DIR}/*/rawstaging are still not uploaded after {STAGING_WAIT_S} s, so the cache is kept (`benchhost logs` shows why uploads stall)"
                ));
            }
            host::sleep(1_000);
            waited += 1;
        }
        let evict = host::exec(SERVICE, &["juicefs", "warmup", "--evict", MOUNT_POINT], 120_000)?.success("juicefs warmup --evict /jfs", 300)?;
        let check = host::exec(SERVICE, &["juicefs", "warmup", "--check", MOUNT_POINT], 60_000)?.success("juicefs warmup --check /jfs", 300)?;
        // JuiceFS logs to stderr; both streams are read in case that changes.
        let (evict, check) = (format!("{}\n{}", evict.stdout, evict.stderr), format!("{}\n{}", check.stdout, check.stderr));
        let how = format!(
            "cached blocks evicted (juicefs warmup --evict {MOUNT_POINT}: {}) after the staged blocks were uploaded ({waited} s); {}",
            juicefs_said(&evict, "evict cache:").unwrap_or("no summary"),
            juicefs_said(&check, "check cache:").unwrap_or("check cache: no summary")
        );
        host::info(&how);
        Ok(CacheEmptied::emptied(how))
    }

    fn mount_options(ctx: &Context) -> Result<MountSpec, String> {
        ctx.check_profile(&[PROFILE])?;
        let host_path = host_mount(ctx)?;
        let container = format!("benchhost-{}-{SERVICE}", ctx.profile);
        if host_path.is_empty() {
            let note = format!(
                "JUICEFS_MOUNT=none: JuiceFS is FUSE-mounted only inside {container} at {MOUNT_POINT} (run the client there: `docker exec -it {container} sh`)"
            );
            return Ok(MountSpec::fuse(MOUNT_POINT).note(&note));
        }
        let note = format!("FUSE-mounted by {container} at {MOUNT_POINT} and propagated (rshared) to {host_path} on this host; `benchhost down` unmounts it");
        Ok(MountSpec::fuse(host_path).note(&note))
    }
}

/// Counts the staged blocks (written with `--writeback`, not yet uploaded): files under
/// `rawstaging/` of the cache dir. Prints one number; a failing `find` fails the script (it
/// is not read as "none staged").
const STAGED_COUNT_SH: &str = "set -e; staged=$(find /var/jfsCache -path '*/rawstaging/*' -type f); \
                               if [ -z \"$staged\" ]; then echo 0; else printf '%s\\n' \"$staged\" | wc -l; fi";

/// Seconds `empty_cache` waits for the staged blocks to be uploaded (bootstrap's budget is 180 s).
const STAGING_WAIT_S: u32 = 120;

/// The number [`STAGED_COUNT_SH`] printed.
fn staged_count(stdout: &str) -> Result<u64, String> {
    stdout.trim().parse().map_err(|_| format!("counting the staged blocks printed {:?}, not a number", stdout.trim()))
}

/// The message of the last JuiceFS log line whose message starts with `prefix`, e.g.
/// `evict cache: 3 files (1.0 GiB bytes)` from `2026/01/02 10:00:00.000000 juicefs[73] <INFO>:
/// evict cache: 3 files (1.0 GiB bytes) [warmup@warmup.go:311]` (JuiceFS's log format,
/// `pkg/utils/logger.go`: the message, then ` [function@file:line]`).
fn juicefs_said<'a>(log: &'a str, prefix: &str) -> Option<&'a str> {
    log.lines().rev().find_map(|l| {
        let msg = &l[l.find(">: ")? + 3..];
        let msg = msg.rfind(" [").map_or(msg, |i| &msg[..i]).trim();
        msg.starts_with(prefix).then_some(msg)
    })
}

/// `JUICEFS_MOUNT`: an absolute host path without `..`, or `""` for `none` (the mount stays in
/// the container; an empty value, which an older benchhost passes on, means the same).
fn host_mount(ctx: &Context) -> Result<&str, String> {
    let p = ctx.setting("JUICEFS_MOUNT");
    if p.is_empty() || p == "none" {
        return Ok("");
    }
    if !p.starts_with('/') || p.split('/').any(|c| c == "..") || p.chars().any(|c| c.is_control()) {
        return Err(format!("JUICEFS_MOUNT={p:?} must be an absolute host path without '..' (or none)"));
    }
    Ok(p)
}

/// `BENCH_CACHE_SIZE` in MiB for `--cache-size` (a non-zero size below 1 MiB rounds up).
fn cache_mib(size: &str) -> Result<u64, String> {
    Ok(cache_size(size)?.div_ceil(1 << 20))
}

/// `<endpoint>/<bucket>`: JuiceFS takes path-style bucket URLs for non-AWS endpoints.
fn bucket_url(endpoint: &str, bucket: &str) -> Result<String, String> {
    let endpoint = endpoint.trim().trim_end_matches('/');
    if !(endpoint.starts_with("http://") || endpoint.starts_with("https://")) || endpoint.len() <= "https://".len() {
        return Err(format!("S3_ENDPOINT={endpoint:?} must be an http:// or https:// URL"));
    }
    check_bucket_chars(bucket)?;
    Ok(format!("{endpoint}/{bucket}"))
}

/// The metadata URL without the password (JuiceFS reads it from `META_PASSWORD`).
fn meta_url(user: &str, db: &str) -> Result<String, String> {
    if user.is_empty() {
        return Err("POSTGRES_USER is empty".into());
    }
    if db.is_empty() {
        return Err("POSTGRES_DB is empty".into());
    }
    Ok(format!("postgres://{}@postgres:5432/{}?sslmode=disable", url_escape(user), url_escape(db)))
}

/// Percent-encodes everything but RFC 3986 unreserved characters.
fn url_escape(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

register_plugin!(JuiceFs);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_size_in_mib() {
        assert_eq!(cache_mib("1GiB"), Ok(1024));
        assert_eq!(cache_mib("256M"), Ok(256));
        assert_eq!(cache_mib("1"), Ok(1));
        assert_eq!(cache_mib("0"), Ok(0));
        assert!(cache_mib("lots").unwrap_err().contains("BENCH_CACHE_SIZE"));
    }

    #[test]
    fn staged_blocks_are_counted() {
        assert_eq!(staged_count("0\n"), Ok(0));
        assert_eq!(staged_count(" 5\n"), Ok(5));
        assert_eq!(staged_count("find: not found").unwrap_err(), "counting the staged blocks printed \"find: not found\", not a number");
        // Only rawstaging/ is counted: the cache dir's own blocks are in raw/.
        assert!(STAGED_COUNT_SH.contains(&format!("$(find {CACHE_DIR} -path '*/rawstaging/*' -type f)")));
    }

    #[test]
    fn juicefs_summaries_are_read_from_its_log() {
        // As juicefs 1.4.2 printed them (see the module's documentation).
        let evict = "2026/12/02 11:30:10.102884 juicefs[73] <INFO>: evict cache: 1 files (20 MiB bytes) [warmup@warmup.go:311]\n";
        assert_eq!(juicefs_said(evict, "evict cache:"), Some("evict cache: 1 files (20 MiB bytes)"));
        let check = "+----------+\n| Location |\n+----------+\n\
                     2026/12/02 11:30:10.142233 juicefs[82] <INFO>: check cache: 1 files checked, 0 B of 20 MiB (0.0%) cached [warmup@warmup.go:332]\n";
        assert_eq!(juicefs_said(check, "check cache:"), Some("check cache: 1 files checked, 0 B of 20 MiB (0.0%) cached"));
        assert_eq!(juicefs_said(evict, "check cache:"), None);
        assert_eq!(juicefs_said("", "evict cache:"), None);
    }

    #[test]
    fn urls() {
        assert_eq!(bucket_url("http://localstack:4566/", "bench").unwrap(), "http://localstack:4566/bench");
        assert!(bucket_url("localstack:4566", "bench").is_err());
        assert!(bucket_url("http://x", "Bad_Bucket").is_err());
        assert_eq!(meta_url("bench", "bench").unwrap(), "postgres://bench@postgres:5432/bench?sslmode=disable");
        assert_eq!(meta_url("a b@c", "d/e").unwrap(), "postgres://a%20b%40c@postgres:5432/d%2Fe?sslmode=disable");
        let ctx = |p: &str| Context { profile: PROFILE.into(), settings: vec![("JUICEFS_MOUNT".into(), p.into())], host_os: HostOs::Linux };
        assert_eq!(host_mount(&ctx("/tmp/bench-juicefs")), Ok("/tmp/bench-juicefs"));
        assert_eq!(host_mount(&ctx("none")), Ok(""));
        assert!(host_mount(&ctx("tmp/x")).is_err());
        assert!(host_mount(&ctx("/tmp/../etc")).is_err());
    }
}
