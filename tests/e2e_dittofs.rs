//! End-to-end on the real Docker engine: the four DittoFS profiles on the real DittoFS v0.29.0
//! (`benchhost-test/dittofs`, `dfs` built from the Go module by `tests/images/build.sh dittofs`),
//! over real LocalStack (`benchhost-test/localstack`) and PostgreSQL (`benchhost-test/postgres`),
//! with real clients: libnfs-utils (`nfs-cp`, `nfs-ls`) for NFS, `smbclient` for SMB, `psql`,
//! and curl (SigV4-signed) for the bucket.
//!
//! NFS reads and writes go over NFSv3 (DittoFS serves MOUNT on the NFS port): bookworm's libnfs
//! 4.0 cannot send an NFSv4 WRITE over ~3.9 KB, nor open a file on DittoFS over NFSv4 (see the
//! badger-s3 test); NFSv4 is exercised with a listing.

use benchhost::orchestration::plugins::registry::Registry;
use benchhost::orchestration::plan::settings::SettingsSource;
use benchhost::runtime::contract::HostOs;
use benchhost::runtime::{ExecResult, PluginRuntime, RuntimeOptions, ServiceGateway};
use crate::support::docker::{self, benchhost, dangling_volumes, docker, engine_with_images, force_clean, leftovers, s3_get, text, Cleanup};
use futures_util::future::BoxFuture;
use serde_json::Value;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::process::{Command, Output};
use std::sync::Arc;
use std::time::{Duration, Instant};

const DITTOFS_IMAGE: &str = "benchhost-test/dittofs:latest";
const LOCALSTACK_IMAGE: &str = "benchhost-test/localstack:latest";
const POSTGRES_IMAGE: &str = "benchhost-test/postgres:latest";
/// The settings every test passes: the local images in place of the published ones.
const IMAGES: [(&str, &str); 3] = [("DITTOFS_IMAGE", DITTOFS_IMAGE), ("LOCALSTACK_IMAGE", LOCALSTACK_IMAGE), ("POSTGRES_IMAGE", POSTGRES_IMAGE)];
/// The DittoFS release the image is built from (its `dfs version --short`).
const DITTOFS_VERSION: &str = "0.29.0";


fn container(profile: &str, service: &str) -> String {
    format!("benchhost-{profile}-{service}")
}

fn both(o: &Output) -> String {
    format!("{}{}", text(&o.stdout), text(&o.stderr))
}

/// `benchhost up profile` with the local images and `extra`; asserts it succeeded and returns
/// (stdout, stderr). The step lines (with their timings) are echoed to the test's stderr.
fn up(profile: &str, extra: &[(&str, &str)]) -> (String, String) {
    let mut env = IMAGES.to_vec();
    env.extend_from_slice(extra);
    let started = Instant::now();
    let up = benchhost(&["up", profile], &env);
    let secs = started.elapsed().as_secs_f64();
    let (out, err) = (text(&up.stdout), text(&up.stderr));
    if !up.status.success() {
        let logs = docker(&["logs", "--tail", "40", &container(profile, "dittofs")]);
        panic!("up {profile} failed ({:?}) after {secs:.2}s:\n{err}\ndittofs log:\n{}", up.status.code(), both(&logs));
    }
    eprintln!("benchhost up {profile} took {secs:.2}s:\n{err}");
    (out, err)
}

/// `down` removes every container, network and volume of the profile, anonymous ones included.
fn down_leaves_nothing(profile: &str, dangling_before: &[String]) {
    let down = benchhost(&["down", profile], &[]);
    assert!(down.status.success(), "down {profile}: {}", both(&down));
    assert_eq!(leftovers(profile), Vec::<String>::new(), "down {profile} left these behind");
    let new: Vec<String> = dangling_volumes().into_iter().filter(|v| !dangling_before.contains(v)).collect();
    assert_eq!(new, Vec::<String>::new(), "down {profile} left anonymous volumes (the image declares /data/cache and /config as volumes)");
}

fn nfs3_url(file: &str) -> String {
    format!("nfs://127.0.0.1/export/{file}?version=3&nfsport=12049&mountport=12049")
}

/// Every (key, size) in bucket `bench` (ListObjectsV2, following continuation tokens).
fn s3_objects() -> Vec<(String, u64)> {
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let path = match &token {
            Some(t) => format!("/bench?list-type=2&continuation-token={}", t.replace('+', "%2B").replace('/', "%2F").replace('=', "%3D")),
            None => "/bench?list-type=2".to_string(),
        };
        let (status, body) = s3_get(&path);
        let body = text(&body);
        assert_eq!(status, 200, "ListObjectsV2 on bucket bench: {body}");
        for item in body.split("<Contents>").skip(1) {
            let field = |name: &str| item.split(&format!("<{name}>")).nth(1).and_then(|r| r.split(&format!("</{name}>")).next()).unwrap_or("").to_string();
            out.push((field("Key"), field("Size").parse().unwrap_or(0)));
        }
        token = body.split("<NextContinuationToken>").nth(1).and_then(|r| r.split("</NextContinuationToken>").next()).map(str::to_string);
        if token.is_none() {
            return out;
        }
    }
}

/// Waits (up to `secs`) until the objects in bucket `bench` hold at least `bytes` bytes; DittoFS
/// uploads a share's blocks in the background. Returns the objects.
fn wait_for_uploads(bytes: u64, secs: u64, dittofs: &str) -> Vec<(String, u64)> {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        let objects = s3_objects();
        let total: u64 = objects.iter().map(|(_, s)| s).sum();
        if total >= bytes {
            return objects;
        }
        if Instant::now() > deadline {
            let logs = docker(&["logs", "--tail", "30", dittofs]);
            panic!("bucket bench holds {total} bytes in {} object(s) after {secs} s, want >= {bytes}; dittofs log:\n{}", objects.len(), both(&logs));
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// `nfs-cp` of `data` to `url`, then back; asserts the bytes are identical.
fn nfs_put_get(url: &str, data: &[u8]) {
    let dir = tempfile::tempdir().unwrap();
    let (src, back) = (dir.path().join("in.bin"), dir.path().join("back.bin"));
    std::fs::write(&src, data).unwrap();
    let put = Command::new("nfs-cp").arg(&src).arg(url).output().expect("nfs-cp (apt-get install libnfs-utils)");
    assert!(put.status.success(), "nfs-cp write to {url}: {}", both(&put));
    let get = Command::new("nfs-cp").arg(url).arg(&back).output().unwrap();
    assert!(get.status.success(), "nfs-cp read of {url}: {}", both(&get));
    let got = std::fs::read(&back).unwrap();
    assert_eq!(got.len(), data.len(), "bytes read back from {url}: wrong length");
    assert!(got == data, "bytes read back from {url} differ from what was written");
}

/// The admin's REST API on the published port 8080, with curl: (HTTP status, JSON body).
fn api(method: &str, path: &str, token: Option<&str>, body: Option<&Value>) -> (u16, Value) {
    let mut cmd = Command::new("curl");
    cmd.args(["-s", "-X", method, "-w", "\n%{http_code}", "-H", "Content-Type: application/json"]);
    if let Some(t) = token {
        cmd.args(["-H", &format!("Authorization: Bearer {t}")]);
    }
    if let Some(b) = body {
        cmd.args(["-d", &b.to_string()]);
    }
    let out = cmd.arg(format!("http://127.0.0.1:8080{path}")).output().expect("curl");
    let all = text(&out.stdout);
    let (json, status) = all.rsplit_once('\n').unwrap_or(("", "0"));
    (status.trim().parse().unwrap_or(0), serde_json::from_str(json).unwrap_or(Value::String(json.to_string())))
}

/// Logs in as admin with the default password; returns the access token.
fn login() -> String {
    let (status, body) = api("POST", "/api/v1/auth/login", None, Some(&serde_json::json!({"username": "admin", "password": "benchadmin"})));
    assert_eq!(status, 200, "login: {body}");
    body["access_token"].as_str().expect("access_token").to_string()
}

/// (enabled, running, port) of each adapter, by type.
fn adapters_running(token: &str) -> HashMap<String, (bool, bool, u64)> {
    let (status, list) = api("GET", "/api/v1/adapters", Some(token), None);
    assert_eq!(status, 200, "{list}");
    list.as_array()
        .expect("adapter list")
        .iter()
        .map(|a| (a["type"].as_str().unwrap().to_string(), (a["enabled"].as_bool().unwrap(), a["running"].as_bool().unwrap(), a["port"].as_u64().unwrap_or(0))))
        .collect()
}

/// `docker exec` in the DittoFS container.
fn exec(container: &str, argv: &[&str]) -> Output {
    let mut args = vec!["exec", container];
    args.extend_from_slice(argv);
    docker(&args)
}

/// The container's IPv4 address on the profile's network (the host reaches it directly).
fn container_ip(name: &str) -> String {
    let out = docker(&["inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}", name]);
    text(&out.stdout).split_whitespace().next().unwrap_or_else(|| panic!("no IP for {name}: {}", both(&out))).to_string()
}

/// The published container ports of a container (`12445/tcp`, ...), sorted.
fn published(name: &str) -> Vec<String> {
    let out = docker(&["port", name]);
    let mut v: Vec<String> = text(&out.stdout).lines().filter_map(|l| l.split(" -> ").next()).map(str::to_string).collect();
    v.sort();
    v.dedup();
    v
}

/// A deterministic payload that no two offsets share by accident.
fn payload(len: usize) -> Vec<u8> {
    docker::pattern(len).into_iter().enumerate().map(|(i, b)| b ^ (i as u8)).collect()
}

/// Routes the plugin's `dittofs:8080` to the running container's published API port, and its
/// exec calls to `docker exec`: the plugin's own bootstrap, run again against the real server.
struct RealDittofs(String);

impl ServiceGateway for RealDittofs {
    fn resolve(&self, service: &str, port: u16) -> Result<SocketAddr, String> {
        if service == "dittofs" && port == 8080 { Ok("127.0.0.1:8080".parse().unwrap()) } else { Err(format!("{service}:{port} is not reachable in this test")) }
    }
    fn exec<'a>(&'a self, service: &'a str, argv: Vec<String>, _t: Duration) -> BoxFuture<'a, Result<ExecResult, String>> {
        Box::pin(async move {
            if service != "dittofs" {
                return Err(format!("no exec in {service}"));
            }
            let mut args = vec!["exec".to_string(), self.0.clone()];
            args.extend(argv);
            let out = tokio::process::Command::new("docker").args(&args).output().await.map_err(|e| e.to_string())?;
            Ok(ExecResult { exit_code: out.status.code().unwrap_or(-1) as i64, stdout: text(&out.stdout), stderr: text(&out.stderr) })
        })
    }
}

/// Every store, share and adapter the server has, with ids and creation times (what a second
/// bootstrap must leave unchanged).
fn server_state(token: &str) -> Value {
    let mut state = serde_json::Map::new();
    for path in ["/api/v1/store/metadata", "/api/v1/store/block/local", "/api/v1/store/block/remote", "/api/v1/shares", "/api/v1/adapters"] {
        let (status, list) = api("GET", path, Some(token), None);
        assert_eq!(status, 200, "GET {path}: {list}");
        let mut items: Vec<Value> = list
            .as_array()
            .unwrap_or_else(|| panic!("GET {path}: not a list: {list}"))
            .iter()
            .map(|i| serde_json::json!({"id": i["id"], "name": i["name"], "type": i["type"], "created_at": i["created_at"], "enabled": i["enabled"], "port": i["port"]}))
            .collect();
        items.sort_by_key(|i| i.to_string());
        state.insert(path.to_string(), Value::Array(items));
    }
    Value::Object(state)
}

/// The `method=POST path=...` of every API request the server logged.
fn logged_posts(dittofs: &str) -> Vec<String> {
    let logs = docker(&["logs", dittofs]);
    both(&logs)
        .lines()
        .filter(|l| l.contains("API request completed") && l.contains("method=POST"))
        .filter_map(|l| l.split_whitespace().find(|w| w.starts_with("path=")).map(str::to_string))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn e2e_dittofs_badger_s3_nfs_write_lands_in_localstack_and_bootstrap_is_idempotent() {
    let profile = "dittofs-badger-s3";
    let Some(_engine) = engine_with_images("e2e_dittofs_badger_s3", &[DITTOFS_IMAGE, LOCALSTACK_IMAGE]) else { return };
    force_clean(profile);
    let dangling = dangling_volumes();
    let _cleanup = Cleanup(profile);
    let dittofs = container(profile, "dittofs");

    let (out, err) = up(profile, &[]);
    assert!(out.contains("mount -t nfs -o vers=4.1,tcp,port=12049 127.0.0.1:/export /mnt/benchhost/dittofs-badger-s3"), "mount command:\n{out}");
    assert!(err.contains("dittofs-badger-s3 is up"), "{err}");
    let pos = |s: &str| err.find(s).unwrap_or_else(|| panic!("{s:?} missing from up's output:\n{err}"));
    assert!(pos("localstack bootstrapped") < pos(&format!("{dittofs} started")), "LocalStack is ready before DittoFS starts:\n{err}");
    // The run record keeps what the plugins said while bootstrapping: the version the running
    // server reports and the S3 server LocalStack's bootstrap found.
    let results = err
        .lines()
        .filter(|l| l.contains(" is up in "))
        .find_map(|l| l.split_once("; results in ").map(|(_, d)| d.trim().to_string()))
        .unwrap_or_else(|| panic!("no results dir in:\n{err}"));
    let record: Value = serde_json::from_str(&std::fs::read_to_string(std::path::Path::new(&results).join("run.json")).unwrap()).unwrap();
    let log: Vec<&str> = record["bootstrap_log"].as_array().unwrap_or_else(|| panic!("no bootstrap_log in {record}")).iter().filter_map(Value::as_str).collect();
    assert!(log.contains(&format!("dittofs: DittoFS version {DITTOFS_VERSION} (dfs version --short)").as_str()), "{log:?}");
    assert!(log.iter().any(|l| l.starts_with("localstack: bucket bench ready on LocalStack 4.13.1")), "{log:?}");

    // A write right after `up` succeeds: 1 MiB + 17 over NFSv3, read back identical.
    let data = payload((1 << 20) + 17);
    nfs_put_get(&nfs3_url("hello.bin"), &data);
    // NFSv4 lists it with its size. (libnfs 4.0 cannot open files on DittoFS over NFSv4: the
    // server's ACCESS reply grants bits the client did not ask for, 0x1ff, and libnfs 4.0
    // insists on exactly the bits it asked for: "Insufficient ACCESS. Wanted 00000001 but got
    // 000001ff". The kernel client masks the reply.)
    let ls = Command::new("nfs-ls").arg("nfs://127.0.0.1/export?version=4&nfsport=12049").output().unwrap();
    let listing = text(&ls.stdout);
    assert!(ls.status.success() && listing.lines().any(|l| l.ends_with(" hello.bin") && l.contains(&format!(" {} ", data.len()))), "nfs-ls over NFSv4: {}", both(&ls));
    let small = payload(3000);
    nfs_put_get(&nfs3_url("small.bin"), &small);

    // The bytes end up as objects in LocalStack's bucket (uploaded in the background).
    let objects = wait_for_uploads(data.len() as u64 + small.len() as u64, 120, &dittofs);
    eprintln!("bucket bench: {} object(s), {} bytes", objects.len(), objects.iter().map(|(_, s)| s).sum::<u64>());

    // The real server reports the version it was built as, and the plugin's config took effect.
    let version = exec(&dittofs, &["/app/dfs", "version", "--short"]);
    assert_eq!(both(&version).trim(), DITTOFS_VERSION);
    let token = login();
    let (status, share) = api("GET", "/api/v1/shares/export/status", Some(&token), None);
    assert_eq!((status, share["status"].as_str()), (200, Some("healthy")), "{share}");
    let (_, meta) = api("GET", "/api/v1/store/metadata/meta", Some(&token), None);
    assert_eq!(meta["config"]["relaxed_durability"], Value::Bool(true), "badger relaxed_durability is explicit: {meta}");
    let (_, local) = api("GET", "/api/v1/store/block/local/local", Some(&token), None);
    assert_eq!(local["config"]["max_size"].as_u64(), Some(1u64 << 30), "BENCH_CACHE_SIZE default: {local}");
    let adapters = adapters_running(&token);
    assert_eq!(adapters["nfs"], (true, true, 12049), "{adapters:?}");
    assert_eq!((adapters["smb"].0, adapters["smb"].1), (false, false), "smb disabled and not running: {adapters:?}");

    // The plugin's bootstrap, run a second time against the real server, creates nothing.
    let before = server_state(&token);
    let posts_before = logged_posts(&dittofs).len();
    let reg = Registry::load(PluginRuntime::new(RuntimeOptions::default()).unwrap()).await.unwrap();
    let p = reg.find(profile).unwrap();
    let plugin = reg.plugin(p.plugin);
    let ctx = SettingsSource::from_map(IMAGES.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()).context(&plugin.info, profile, HostOs::Linux);
    reg.runtime.bootstrap(plugin, &ctx, Arc::new(RealDittofs(dittofs.clone()))).await.expect("second bootstrap on the real server");
    let posts: Vec<String> = logged_posts(&dittofs).split_off(posts_before);
    assert_eq!(posts, vec!["path=/api/v1/auth/login".to_string()], "the second bootstrap may only log in, never create");
    assert_eq!(server_state(&token), before, "the second bootstrap changed the server's stores, shares or adapters");
    // The data is still there and NFS still serves it.
    nfs_put_get(&nfs3_url("again.bin"), &small);
    // A password the server was not started with: the real 401, with the hint.
    let wrong = SettingsSource::from_map(IMAGES.iter().chain(&[("DITTOFS_ADMIN_PASSWORD", "not-the-one")]).map(|(k, v)| (k.to_string(), v.to_string())).collect())
        .context(&plugin.info, profile, HostOs::Linux);
    let err = reg.runtime.bootstrap(plugin, &wrong, Arc::new(RealDittofs(dittofs.clone()))).await.expect_err("bootstrap with a wrong password").to_string();
    assert!(err.contains("login as admin failed (HTTP 401)") && err.contains("DITTOFS_ADMIN_PASSWORD does not match"), "{err}");
    assert!(!err.contains("not-the-one"), "the secret must not be printed: {err}");

    down_leaves_nothing(profile, &dangling);
    let gone = Command::new("nfs-ls").arg("nfs://127.0.0.1/export?version=3&nfsport=12049&mountport=12049").output().unwrap();
    assert!(!gone.status.success(), "NFS still answers after down: {}", both(&gone));
}

#[test]
fn e2e_dittofs_postgres_s3_metadata_in_postgres_blocks_in_localstack() {
    let profile = "dittofs-postgres-s3";
    let Some(_engine) = engine_with_images("e2e_dittofs_postgres_s3", &[DITTOFS_IMAGE, LOCALSTACK_IMAGE, POSTGRES_IMAGE]) else { return };
    force_clean(profile);
    let dangling = dangling_volumes();
    let _cleanup = Cleanup(profile);
    let dittofs = container(profile, "dittofs");

    let (out, _err) = up(profile, &[]);
    assert!(out.contains("127.0.0.1:/export"), "{out}");
    let data = payload(700 * 1024 + 3);
    nfs_put_get(&nfs3_url("pg.bin"), &data);
    wait_for_uploads(data.len() as u64, 120, &dittofs);

    // The file's metadata is in PostgreSQL's tables (DittoFS v0.29.0's schema: inodes, with
    // names in parent_child_map; file_type 0 is a regular file).
    let sql = "select i.size, i.file_type, i.share_name from parent_child_map m join inodes i on i.id = m.child_id where m.child_name = 'pg.bin'";
    let psql = Command::new("psql")
        .args(["postgresql://bench:bench@127.0.0.1:25432/bench", "-tAc", sql])
        .env("PGCONNECT_TIMEOUT", "5")
        .output()
        .expect("psql (apt-get install postgresql-client)");
    assert!(psql.status.success(), "psql: {}", both(&psql));
    assert_eq!(text(&psql.stdout).trim(), format!("{}|0|/export", data.len()), "pg.bin in PostgreSQL's inodes table");
    // And not in a badger store: the metadata volume holds only the control-plane database.
    let badger = exec(&dittofs, &["ls", "/data/metadata"]);
    assert!(badger.status.success(), "{}", both(&badger));
    let entries: Vec<String> = text(&badger.stdout).split_whitespace().map(str::to_string).collect();
    assert!(entries.iter().all(|e| e.starts_with("controlplane.db")), "/data/metadata: {entries:?}");

    down_leaves_nothing(profile, &dangling);
}

#[test]
fn e2e_dittofs_badger_fs_blocks_on_the_volume_nothing_in_s3() {
    let profile = "dittofs-badger-fs";
    let Some(_engine) = engine_with_images("e2e_dittofs_badger_fs", &[DITTOFS_IMAGE]) else { return };
    force_clean(profile);
    let dangling = dangling_volumes();
    let _cleanup = Cleanup(profile);
    let dittofs = container(profile, "dittofs");

    up(profile, &[]);
    // No LocalStack: the profile has exactly one container.
    let names = docker(&["ps", "-a", "--filter", &format!("label=benchhost.profile={profile}"), "--format", "{{.Names}}"]);
    assert_eq!(text(&names.stdout).split_whitespace().collect::<Vec<_>>(), vec![dittofs.as_str()]);
    let s3 = Command::new("curl").args(["-s", "-o", "/dev/null", "-w", "%{http_code}", "http://127.0.0.1:4566/"]).output().unwrap();
    assert_eq!(text(&s3.stdout).trim(), "000", "something answers on 4566");

    let data = payload((2 << 20) + 5);
    nfs_put_get(&nfs3_url("local.bin"), &data);
    // The blocks are on the content volume (the share's journal under /data/content/blocks).
    let du = exec(&dittofs, &["du", "-sb", "/data/content/blocks"]);
    let bytes: u64 = text(&du.stdout).split_whitespace().next().and_then(|n| n.parse().ok()).unwrap_or(0);
    assert!(bytes >= data.len() as u64, "/data/content/blocks holds {bytes} bytes, want >= {}: {}", data.len(), both(&du));
    let mounts = docker(&["inspect", "-f", "{{range .Mounts}}{{.Name}}:{{.Destination}} {{end}}", &dittofs]);
    assert!(text(&mounts.stdout).contains(&format!("benchhost-{profile}-content:/data/content")), "{}", text(&mounts.stdout));
    let token = login();
    let (status, remotes) = api("GET", "/api/v1/store/block/remote", Some(&token), None);
    assert_eq!((status, remotes.as_array().map(Vec::len)), (200, Some(0)), "no remote store: {remotes}");
    // The local store is the storage here, not a cache: BENCH_CACHE_SIZE does not cap it.
    let (_, local) = api("GET", "/api/v1/store/block/local/local", Some(&token), None);
    assert_eq!(local["config"]["max_size"].as_u64(), Some(1u64 << 50), "{local}");

    down_leaves_nothing(profile, &dangling);
}

#[test]
fn e2e_dittofs_smb_put_get_on_12445_and_nfs_is_off() {
    let profile = "dittofs-smb";
    let Some(_engine) = engine_with_images("e2e_dittofs_smb", &[DITTOFS_IMAGE, LOCALSTACK_IMAGE]) else { return };
    force_clean(profile);
    let dangling = dangling_volumes();
    let _cleanup = Cleanup(profile);
    let dittofs = container(profile, "dittofs");

    let (out, _err) = up(profile, &[]);
    assert!(out.contains("mount -t cifs -o port=12445,vers=3.0,username=admin //127.0.0.1/export"), "{out}");
    assert_eq!(published(&dittofs), vec!["12445/tcp".to_string(), "8080/tcp".to_string()]);

    // smbclient put/get as the configured admin (DITTOFS_ADMIN_PASSWORD, default benchadmin).
    let dir = tempfile::tempdir().unwrap();
    let data = payload(300 * 1024 + 11);
    let (src, back) = (dir.path().join("in.bin"), dir.path().join("back.bin"));
    std::fs::write(&src, &data).unwrap();
    // Share creation hot-reloads the adapters; DittoFS's own harness retries an SMB mount.
    let cmds = format!("put {} smb.bin; get smb.bin {}", src.display(), back.display());
    let smb = |creds: &str, cmds: &str| {
        Command::new("smbclient")
            .args(["//127.0.0.1/export", "-p", "12445", "-m", "SMB3", "-U", creds, "-c", cmds])
            .env_remove("USER")
            .env_remove("PASSWD")
            .output()
            .expect("smbclient (apt-get install smbclient)")
    };
    let put = smb("admin%benchadmin", &cmds);
    assert!(put.status.success(), "smbclient put/get: {}", both(&put));
    assert!(std::fs::read(&back).unwrap() == data, "bytes read back over SMB differ");
    let wrong = smb("admin%wrong", "ls");
    assert!(!wrong.status.success() && both(&wrong).contains("NT_STATUS_LOGON_FAILURE"), "wrong password: {}", both(&wrong));
    // The SMB write reaches LocalStack too.
    wait_for_uploads(data.len() as u64, 120, &dittofs);

    // The NFS adapter is really off: not running, and nothing answers NFS on 12049 at the
    // container's own address (the port is not published either).
    let token = login();
    let adapters = adapters_running(&token);
    assert_eq!((adapters["nfs"].0, adapters["nfs"].1), (false, false), "nfs disabled and not running: {adapters:?}");
    assert_eq!(adapters["smb"], (true, true, 12445), "{adapters:?}");
    let ip = container_ip(&dittofs);
    let nfs = Command::new("nfs-ls").arg(format!("nfs://{ip}/export?version=3&nfsport=12049&mountport=12049")).output().unwrap();
    assert!(!nfs.status.success(), "NFS answers on {ip}:12049: {}", both(&nfs));
    // (The same client reaches the container's SMB port, so the address is right.)
    let smb_ip = Command::new("smbclient").args([&format!("//{ip}/export"), "-p", "12445", "-m", "SMB3", "-U", "admin%benchadmin", "-c", "ls"]).output().unwrap();
    assert!(smb_ip.status.success() && text(&smb_ip.stdout).contains("smb.bin"), "{}", both(&smb_ip));

    down_leaves_nothing(profile, &dangling);
}

#[test]
fn e2e_dittofs_write_bigger_than_the_cache_cap_over_localstack() {
    let profile = "dittofs-badger-s3";
    let Some(_engine) = engine_with_images("e2e_dittofs_write_bigger_than_the_cache_cap", &[DITTOFS_IMAGE, LOCALSTACK_IMAGE]) else { return };
    force_clean(profile);
    let dangling = dangling_volumes();
    let _cleanup = Cleanup(profile);
    let dittofs = container(profile, "dittofs");

    // A cap of one journal segment (256 MiB) or less cannot be got past: refused before start.
    let mut env = IMAGES.to_vec();
    env.push(("BENCH_CACHE_SIZE", "64MiB"));
    let small = benchhost(&["up", profile], &env);
    let err = text(&small.stderr);
    assert!(!small.status.success(), "up with BENCH_CACHE_SIZE=64MiB succeeded:\n{err}");
    assert!(err.contains("BENCH_CACHE_SIZE=64MiB is too small for DittoFS on S3") && err.contains("give more than 256MiB, e.g. 512MiB"), "{err}");
    assert_eq!(leftovers(profile), Vec::<String>::new(), "nothing may start for a refused setting");

    // The default cap (BENCH_CACHE_SIZE=1GiB) holds a benchmark-sized file: 640 MiB written
    // and read back identical.
    let data = payload(640 << 20);
    up(profile, &[]);
    let started = Instant::now();
    nfs_put_get(&nfs3_url("fits.bin"), &data);
    eprintln!("640 MiB under the default 1 GiB cache: written and read back in {:.1}s", started.elapsed().as_secs_f64());
    wait_for_uploads(data.len() as u64, 180, &dittofs);
    down_leaves_nothing(profile, &dangling);

    // A 320 MiB cap and the same 640 MiB (twice the cap): the write is accepted, waiting for
    // uploads to free the cache (backpressure, no failed WRITE), and all of it reaches S3.
    let cap: u64 = 320 << 20;
    up(profile, &[("BENCH_CACHE_SIZE", "320MiB")]);
    let token = login();
    let (_, local) = api("GET", "/api/v1/store/block/local/local", Some(&token), None);
    assert_eq!(local["config"]["max_size"].as_u64(), Some(cap), "{local}");
    let dir = tempfile::tempdir().unwrap();
    let (src, back) = (dir.path().join("in.bin"), dir.path().join("back.bin"));
    std::fs::write(&src, &data).unwrap();
    let put = Command::new("nfs-cp").arg(&src).arg(nfs3_url("big.bin")).output().unwrap();
    assert!(put.status.success(), "nfs-cp write of 640 MiB through a 320 MiB cache: {}", both(&put));
    let logs = both(&docker(&["logs", &dittofs]));
    assert!(logs.contains("journal local store full"), "the write should have filled the cache (backpressure) at least once");
    assert!(!logs.contains("WRITE failed"), "a write failed:\n{logs}");
    let objects = wait_for_uploads(data.len() as u64, 180, &dittofs);
    eprintln!("bucket bench: {} object(s), {} bytes", objects.len(), objects.iter().map(|(_, s)| s).sum::<u64>());
    // What a file larger than the cache reads back as is DittoFS's own behaviour, not
    // benchhost's: v0.29.0 was seen to return zeros for a varying share of such a file, over
    // NFS and SMB alike, on LocalStack and on moto (README "How DittoFS is provisioned"). It is
    // measured and reported here, not asserted, so the finding stays visible.
    let get = Command::new("nfs-cp").arg(nfs3_url("big.bin")).arg(&back).output().unwrap();
    let got = std::fs::read(&back).unwrap_or_default();
    let bad_mib = data.chunks(1 << 20).zip(got.chunks(1 << 20).chain(std::iter::repeat(&[][..]))).filter(|(a, b)| a != b).count();
    eprintln!("read back of a file twice the cache: nfs-cp {}, {bad_mib} of 640 MiB differ from what was written", if get.status.success() { "ok" } else { "failed" });

    down_leaves_nothing(profile, &dangling);
}

#[test]
fn e2e_dittofs_bad_s3_endpoints_fail_bootstrap_naming_the_store() {
    let profile = "dittofs-badger-s3";
    let Some(_engine) = engine_with_images("e2e_dittofs_bad_s3_endpoints", &[DITTOFS_IMAGE]) else { return };
    force_clean(profile);
    let dangling = dangling_volumes();
    let _cleanup = Cleanup(profile);
    // A host name that does not resolve: the real server answers 400 at store creation.
    // A host that resolves but refuses: 201 with an unhealthy status (the plugin stops there,
    // instead of letting POST /shares wait minutes for the S3 client's retries).
    for (endpoint, expected) in [
        ("http://no-such-s3-host.invalid:4566", "unsafe endpoint: resolve host"),
        ("http://127.0.0.1:9", "remote block store s3 (bucket \"bench\" at S3_ENDPOINT=http://127.0.0.1:9) is unhealthy: S3 connectivity check failed"),
    ] {
        let mut env = IMAGES.to_vec();
        env.push(("S3_ENDPOINT", endpoint));
        let started = Instant::now();
        let up = benchhost(&["up", profile], &env);
        let secs = started.elapsed().as_secs_f64();
        let err = text(&up.stderr);
        assert!(!up.status.success(), "up with S3_ENDPOINT={endpoint} succeeded:\n{err}");
        assert!(err.contains("plugin \"dittofs\"") && err.contains("bootstrap") && err.contains(expected), "S3_ENDPOINT={endpoint}:\n{err}");
        assert!(!err.contains("benchhost-dittofs-badger-s3-localstack"), "LocalStack is not started for another endpoint:\n{err}");
        assert!(secs < 60.0, "S3_ENDPOINT={endpoint}: up took {secs:.1}s to fail");
        eprintln!("S3_ENDPOINT={endpoint}: up failed in {secs:.1}s");
        assert_eq!(leftovers(profile), Vec::<String>::new(), "a failed up removes what it created");
    }
    let new: Vec<String> = dangling_volumes().into_iter().filter(|v| !dangling.contains(v)).collect();
    assert_eq!(new, Vec::<String>::new());
}
