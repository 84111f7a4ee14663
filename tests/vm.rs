//! The client VM (`benchhost vm run`, built by `make vm`): a real Debian kernel's NFS and SMB
//! clients under QEMU, running jobs as root with the host at 10.0.2.2. Its output and exit
//! status, its time limits, a missing build; then, for every NFS/SMB profile that runs here, the
//! mount command `BENCH_SERVER_ADDRESS=10.0.2.2 benchhost up P` prints, run verbatim by the
//! kernel's own client against the real server.

use crate::support::client_vm::{processes_mentioning, values, vm_or_skip};
use crate::support::docker::{benchhost, docker, engine_with_images, force_clean, leftovers, text, Cleanup};
use std::time::{Duration, Instant};

fn job(dir: &tempfile::TempDir, name: &str, script: &str) -> String {
    let path = dir.path().join(name);
    std::fs::write(&path, script).unwrap();
    path.to_string_lossy().into_owned()
}

/// The number after `label` in `text` (`… booted to the job in 5.7 s …`).
fn seconds_after(text: &str, label: &str) -> Option<f64> {
    let rest = &text[text.find(label)? + label.len()..];
    rest.split_whitespace().next()?.parse().ok()
}

#[test]
fn vm_run_prints_the_jobs_output_and_exits_with_its_status() {
    let Some(_vm) = vm_or_skip("vm_run_prints_the_jobs_output_and_exits_with_its_status") else { return };
    let dir = tempfile::tempdir().unwrap();
    let file = job(&dir, "job.sh", "echo \"kernel=$(uname -r)\"\necho 'hello from the client VM | with a bar'\necho 'to stderr' >&2\necho \"whoami=$(id -u)\"\nprintf 'no newline at the end'\nexit 3\n");
    let started = Instant::now();
    let out = benchhost(&["vm", "run", &file, "--timeout", "60"], &[]);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    eprintln!("vm run took {:.1} s:\n{stderr}", started.elapsed().as_secs_f64());
    assert_eq!(out.status.code(), Some(3), "the job's status is the exit code\nstdout:\n{stdout}\nstderr:\n{stderr}");
    let v = values(&stdout);
    let kernel = v.get("kernel").expect("uname -r printed");
    // A Debian cloud kernel release: 6.1.0-57-cloud-amd64.
    let parts: Vec<&str> = kernel.splitn(3, '-').collect();
    assert!(parts.len() == 3 && parts[0].split('.').count() == 3 && parts[1].parse::<u32>().is_ok() && parts[2] == "cloud-amd64", "not a Debian cloud kernel: {kernel}");
    assert!(stdout.contains("hello from the client VM | with a bar\n"), "{stdout}");
    assert!(stdout.contains("no newline at the end\n"), "{stdout}");
    assert_eq!(v.get("whoami").map(String::as_str), Some("0"), "the job runs as root");
    assert!(!stdout.contains("to stderr") && stderr.contains("to stderr\n"), "stderr goes to stderr\nstdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(stderr.contains(&format!("client VM: kernel {kernel}, accelerator ")), "{stderr}");
    assert!(stderr.contains("accelerator tcg") || stderr.contains("accelerator kvm"), "{stderr}");
    let boot = seconds_after(&stderr, "booted to the job in").expect("the boot time is reported");
    assert!(boot > 0.0 && boot < 120.0, "{stderr}");
    assert!(stderr.contains("exit status 3"), "{stderr}");
    assert_eq!(processes_mentioning(&file), Vec::<String>::new(), "QEMU outlived vm run");
}

#[test]
fn vm_run_stops_a_job_past_its_timeout() {
    let Some(_vm) = vm_or_skip("vm_run_stops_a_job_past_its_timeout") else { return };
    let dir = tempfile::tempdir().unwrap();
    let file = job(&dir, "sleeper.sh", "echo started\nsleep 300\necho never\n");
    let started = Instant::now();
    let out = benchhost(&["vm", "run", &file, "--timeout", "5"], &[]);
    let took = started.elapsed();
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    eprintln!("vm run --timeout 5 took {:.1} s:\n{stderr}", took.as_secs_f64());
    assert_eq!(out.status.code(), Some(124), "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(stderr.contains("error: the job did not finish within 5 s (--timeout); the client VM was stopped"), "{stderr}");
    assert!(stdout.contains("started") && !stdout.contains("never"), "{stdout}");
    // The boot (under 120 s by its own limit) plus 5 s, not the job's 300 s.
    assert!(took < Duration::from_secs(130), "took {took:?}");
    assert_eq!(processes_mentioning(&file), Vec::<String>::new(), "QEMU outlived the timeout");
}

#[test]
fn a_job_that_leaves_a_daemon_running_still_ends_with_its_own_status() {
    let Some(_vm) = vm_or_skip("a_job_that_leaves_a_daemon_running_still_ends_with_its_own_status") else { return };
    let dir = tempfile::tempdir().unwrap();
    // The daemon keeps the job's stdout open: the job waited for it until --timeout (exit 124).
    let file = job(&dir, "daemon.sh", "echo start\nsleep 1000 &\necho forked\nexit 4\n");
    let out = benchhost(&["vm", "run", &file, "--timeout", "60"], &[]);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(4), "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert_eq!(stdout, "start\nforked\n");
    // A job too large for the VM is refused before anything boots.
    let huge = dir.path().join("huge.sh");
    std::fs::write(&huge, vec![b'#'; 9 << 20]).unwrap();
    let out = benchhost(&["vm", "run", huge.to_str().unwrap()], &[]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("is 9 MiB; a job is a shell script of at most 8 MiB"), "{}", text(&out.stderr));
}

#[test]
fn vm_run_without_a_build_exits_6_with_the_hint() {
    let cache = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = job(&dir, "job.sh", "echo hi\n");
    let env = [("XDG_CACHE_HOME", cache.path().to_str().unwrap())];
    let out = benchhost(&["vm", "run", &file], &env);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(6), "{stderr}");
    let vmlinuz = cache.path().join("benchhost/client-vm/vmlinuz");
    assert!(stderr.contains(&format!("error: the client VM is not built: {} does not exist", vmlinuz.display())), "{stderr}");
    assert!(stderr.contains("hint: build it with `make vm`"), "{stderr}");
    assert!(text(&out.stdout).is_empty());
    // A job file that is not there is the user's mistake (exit 2), named.
    let out = benchhost(&["vm", "run", "/nonexistent/job.sh"], &env);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("cannot read the job /nonexistent/job.sh"), "{}", text(&out.stderr));
    // doctor says the same, as a warning.
    let out = benchhost(&["doctor", "--json"], &env);
    let checks: serde_json::Value = serde_json::from_slice(&out.stdout).expect("doctor --json is JSON");
    let vm = checks.as_array().unwrap().iter().find(|c| c["name"] == "client VM (vm run)").expect("doctor checks the client VM");
    assert_eq!(vm["status"], "warn", "{vm}");
    assert!(vm["detail"].as_str().unwrap().contains("not built") && vm["hint"].as_str().unwrap().contains("make vm"), "{vm}");
}

// ---------------------------------------------------------------------------------------------
// The kernel client against every NFS/SMB profile that runs here: `up` with
// BENCH_SERVER_ADDRESS=10.0.2.2 (the host as the guest sees it), the printed command run
// verbatim in the guest (only `sudo` dropped: the job is root), 8 MiB written and read back,
// a tree made, renamed, listed and removed, a new file's owner and mode as the client and the
// server see them, `umount`, `down`.

/// The job: `prelude`, the mount command as printed (verbatim), then 8 MiB written from
/// /dev/urandom and read back by checksum after the page cache is dropped, files and a
/// directory created, renamed, listed and removed, a new file's owner and mode, a chown,
/// umount. Every result is a `key=value` line; times come from the guest's /proc/uptime.
fn kernel_client_job(prelude: &str, mount_command: &str, dir: &str) -> String {
    format!(
        r#"now() {{ cut -d' ' -f1 /proc/uptime; }}
since() {{ awk -v a="$1" -v b="$(now)" 'BEGIN {{ printf "%.2f", b - a }}'; }}
D={dir}
{prelude}
t=$(now)
{mount_command}
echo "mount_status=$?"
echo "mount_seconds=$(since "$t")"
echo "mount_tool=$(mount -V | head -1 | cut -d' ' -f1-3)"
echo "fstype=$(awk -v d="$D" '$2 == d {{ print $3 }}' /proc/mounts)"
echo "options=$(awk -v d="$D" '$2 == d {{ print $4 }}' /proc/mounts)"
dd if=/dev/urandom of=/root/src bs=1M count=8 2>/dev/null
echo "sha_src=$(sha256sum /root/src | cut -d' ' -f1)"
t=$(now)
dd if=/root/src of="$D/big.bin" bs=1M conv=fsync 2>/dev/null
echo "write_status=$?"
echo "write_seconds=$(since "$t")"
sync
echo 3 >/proc/sys/vm/drop_caches
t=$(now)
echo "sha_back=$(sha256sum "$D/big.bin" | cut -d' ' -f1)"
echo "read_seconds=$(since "$t")"
echo "size_back=$(stat -c %s "$D/big.bin")"
mkdir "$D/dir1" && echo hello >"$D/dir1/a.txt" && mv "$D/dir1/a.txt" "$D/dir1/b.txt"
echo "tree_status=$?"
echo "listing=$(ls "$D/dir1" | tr '\n' ' ')"
echo "content=$(cat "$D/dir1/b.txt")"
rm "$D/dir1/b.txt" && rmdir "$D/dir1"
echo "removed_status=$?"
echo "dir1_left=$(ls -a "$D" | grep -c '^dir1$')"
umask 022
echo x >"$D/owned.txt"
echo "owner=$(stat -c %u:%g "$D/owned.txt")"
echo "mode=$(stat -c %a "$D/owned.txt")"
echo y >"$D/given.txt"
chown 4321:4321 "$D/given.txt" 2>/root/chown.err
echo "chown_status=$?"
echo "chown_error=$(cat /root/chown.err)"
echo "given_owner=$(stat -c %u:%g "$D/given.txt")"
umount "$D"
echo "umount_status=$?"
echo "mounted_after=$(awk -v d="$D" '$2 == d' /proc/mounts | wc -l)"
"#
    )
}

/// What the client shows of the two new files: `owned.txt` (`uid:gid`, octal mode, made by
/// root under umask 022) and `given.txt` after `chown 4321:4321` (its exit status and the
/// owner shown afterwards).
struct ClientView {
    owner: &'static str,
    mode: &'static str,
    chown_status: &'static str,
    /// What chown printed on stderr (empty when it succeeded).
    chown_error: &'static str,
    given_owner: &'static str,
}

/// The server's view of what the guest left: `owned.txt` (`uid:gid mode`) and `given.txt`
/// (`uid:gid`) where the server keeps owners, `big.bin`'s size and sha256, and whether `dir1`
/// is still there.
#[derive(Debug, PartialEq)]
struct ServerView {
    owned: Option<String>,
    given: Option<String>,
    size: u64,
    sha: String,
    dir1: bool,
}

/// One profile's kernel-client check.
struct Case {
    profile: &'static str,
    /// The settings `up` gets (the local images; BENCH_SERVER_ADDRESS is added).
    env: &'static [(&'static str, &'static str)],
    /// The filesystem type and options /proc/mounts must show in the guest.
    fstype: &'static str,
    options: &'static [&'static str],
    /// Shell lines the job runs before the printed command, and what `up`'s note must say
    /// for them to be what the user was told to do ("" when there is nothing to say).
    prelude: &'static str,
    note: &'static str,
    client: ClientView,
    /// What the server stores as the owners of owned.txt and given.txt (`None`: no owners).
    server_owned: Option<&'static str>,
    server_given: Option<&'static str>,
    /// Takes the server's view, while the profile is up.
    server: fn() -> ServerView,
}


fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// The server's view from inside its container (`docker exec`), files under `root`.
fn exec_view(container: &str, root: &str) -> ServerView {
    let script = format!(
        "cd {root} && stat -c '%u:%g %a' owned.txt && stat -c %u:%g given.txt && stat -c %s big.bin && sha256sum big.bin | cut -d' ' -f1 && ls -a | grep -c '^dir1$'; true"
    );
    let out = docker(&["exec", container, "sh", "-c", &script]);
    let all = text(&out.stdout);
    let l: Vec<&str> = all.lines().collect();
    assert_eq!(l.len(), 5, "docker exec {container}: {all}{}", text(&out.stderr));
    ServerView { owned: Some(l[0].into()), given: Some(l[1].into()), size: l[2].parse().unwrap_or(0), sha: l[3].into(), dir1: l[4] != "0" }
}

/// `rwxr-xr-x` as octal (`755`).
fn octal_mode(perms: &str) -> String {
    let bits: u32 = perms.chars().fold(0, |acc, c| (acc << 1) | u32::from(c != '-'));
    format!("{bits:o}")
}

/// The server's view through an independent NFSv3 client on the host (libnfs `nfs-ls`,
/// `nfs-cat`) at 127.0.0.1:`port`, export `export`: DittoFS keeps files in its own metadata
/// and block stores, so there is no directory to `docker exec` into.
fn libnfs_view(export: &str, port: u16) -> ServerView {
    let url = |path: &str| format!("nfs://127.0.0.1{export}{path}?version=3&nfsport={port}&mountport={port}");
    let ls = std::process::Command::new("nfs-ls").arg(url("")).output().expect("nfs-ls (apt-get install libnfs-utils)");
    let listing = text(&ls.stdout);
    assert!(ls.status.success(), "nfs-ls {}: {listing}{}", url(""), text(&ls.stderr));
    // `-rw-r--r--  1     0     0            2 owned.txt`
    let entry = |name: &str| -> Vec<String> {
        listing.lines().find(|l| l.split_whitespace().last() == Some(name)).map(|l| l.split_whitespace().map(str::to_string).collect()).unwrap_or_default()
    };
    let owned = entry("owned.txt");
    let given = entry("given.txt");
    let big = entry("big.bin");
    assert!(owned.len() >= 6 && given.len() >= 6 && big.len() >= 6, "nfs-ls {}:\n{listing}", url(""));
    let cat = std::process::Command::new("nfs-cat").arg(url("/big.bin")).output().expect("nfs-cat");
    assert!(cat.status.success(), "nfs-cat: {}", text(&cat.stderr));
    ServerView {
        owned: Some(format!("{}:{} {}", owned[2], owned[3], octal_mode(&owned[0][1..]))),
        given: Some(format!("{}:{}", given[2], given[3])),
        size: big[4].parse().unwrap_or(0),
        sha: sha256_hex(&cat.stdout),
        dir1: entry("dir1").len() >= 6,
    }
}

fn ganesha_view() -> ServerView {
    exec_view("benchhost-ganesha-ganesha", "/export")
}

fn samba_view() -> ServerView {
    exec_view("benchhost-samba-samba", "/export")
}

fn dittofs_nfs_view() -> ServerView {
    libnfs_view("/export", 12049)
}

/// dittofs-smb serves SMB only (its NFS adapter is off), so the independent client is
/// smbclient as the admin: it lists and fetches, but SMB shows it no Unix owners.
fn dittofs_smb_view() -> ServerView {
    let dir = tempfile::tempdir().unwrap();
    let back = dir.path().join("big.bin");
    let out = std::process::Command::new("smbclient")
        .args(["//127.0.0.1/export", "-p", "12445", "-m", "SMB3", "-U", "admin%benchadmin", "-c"])
        .arg(format!("ls; get big.bin {}", back.display()))
        .env_remove("USER")
        .env_remove("PASSWD")
        .output()
        .expect("smbclient (apt-get install smbclient)");
    let listing = text(&out.stdout);
    assert!(out.status.success(), "smbclient: {listing}{}", text(&out.stderr));
    let data = std::fs::read(&back).unwrap_or_default();
    let names: Vec<&str> = listing.lines().filter_map(|l| l.split_whitespace().next()).collect();
    assert!(names.contains(&"owned.txt") && names.contains(&"given.txt"), "{listing}");
    ServerView { owned: None, given: None, size: data.len() as u64, sha: sha256_hex(&data), dir1: names.contains(&"dir1") }
}

/// rclone keeps files as objects in the bucket (LocalStack, `bench`), uploaded about 5 s after
/// close (`--vfs-write-back`): polls until `big.bin` is there, then reads it with a signed GET.
/// S3 keeps no owners or modes, and no directories (`dir1` would be a `dir1/` key prefix).
fn rclone_view() -> ServerView {
    let deadline = Instant::now() + Duration::from_secs(60);
    let keys = loop {
        let (status, body) = crate::support::docker::s3_get("/bench?list-type=2");
        let body = text(&body);
        assert_eq!(status, 200, "ListObjectsV2 on bench: {body}");
        let keys: Vec<String> = body.split("<Key>").skip(1).filter_map(|r| r.split("</Key>").next()).map(str::to_string).collect();
        if ["big.bin", "owned.txt", "given.txt"].iter().all(|k| keys.iter().any(|x| x == k)) || Instant::now() > deadline {
            break keys;
        }
        std::thread::sleep(Duration::from_millis(500));
    };
    let (status, data) = crate::support::docker::s3_get("/bench/big.bin");
    assert_eq!(status, 200, "GET bench/big.bin (keys: {keys:?})");
    ServerView { owned: None, given: None, size: data.len() as u64, sha: sha256_hex(&data), dir1: keys.iter().any(|k| k.starts_with("dir1/")) }
}

/// `up` the profile with BENCH_SERVER_ADDRESS=10.0.2.2, run its printed mount command verbatim
/// in the client VM with the job above, take the server's view, `down`; then assert every
/// result, and print the times (`measured: ...`).
fn kernel_client_check(test: &str, case: &Case, images: &[&str]) {
    let Some(_engine) = engine_with_images(test, images) else { return };
    let Some(_vm) = vm_or_skip(test) else { return };
    let profile = case.profile;
    force_clean(profile);
    let _cleanup = Cleanup(profile);
    let mut env = case.env.to_vec();
    env.push(("BENCH_SERVER_ADDRESS", "10.0.2.2"));
    let started = Instant::now();
    let up = benchhost(&["up", profile], &env);
    let up_secs = started.elapsed().as_secs_f64();
    let (out, err) = (text(&up.stdout), text(&up.stderr));
    assert!(up.status.success(), "up {profile} failed ({:?}):\n{err}", up.status.code());
    // The printed command, as a user would run it, already naming the server as the guest
    // reaches it; the job is root, so `sudo` goes, and nothing else changes.
    let printed = out.lines().find(|l| l.contains(" mount -t ") || l.starts_with("mount -t ")).unwrap_or_else(|| panic!("no mount command on stdout:\n{out}")).trim();
    assert!(printed.contains("10.0.2.2") && !printed.contains("127.0.0.1"), "the printed command should name BENCH_SERVER_ADDRESS=10.0.2.2: {printed}");
    assert!(err.contains(case.note), "up's note should say {:?}:\n{err}", case.note);
    let command = printed.replace("sudo ", "");
    let dir = command.split_whitespace().last().unwrap().to_string();
    let scratch = tempfile::tempdir().unwrap();
    let file = job(&scratch, &format!("{profile}.sh"), &kernel_client_job(case.prelude, &command, &dir));
    let vm = benchhost(&["vm", "run", &file, "--timeout", "180"], &[]);
    let (stdout, stderr) = (text(&vm.stdout), text(&vm.stderr));
    eprintln!("{profile}: up took {up_secs:.1} s\nprinted: {printed}\nrun in the guest: {command}\njob output:\n{stdout}\nvm run stderr:\n{stderr}");
    // The server's view, before it goes.
    let server = (vm.status.success()).then(case.server);
    eprintln!("{profile}: the server's view: {server:?}");
    let down = benchhost(&["down", profile], &[]);
    assert!(down.status.success(), "down: {}", text(&down.stderr));
    assert_eq!(leftovers(profile), Vec::<String>::new());
    assert_eq!(vm.status.code(), Some(0), "stdout:\n{stdout}\nstderr:\n{stderr}");
    let v = values(&stdout);
    let get = |k: &str| v.get(k).map(String::as_str).unwrap_or_else(|| panic!("{k} missing from the job's output:\n{stdout}\n{stderr}"));
    assert_eq!(get("mount_status"), "0", "{stderr}");
    // util-linux's mount (and so mount.nfs / mount.cifs), as on a user's Linux, not busybox's.
    assert_eq!(get("mount_tool"), "mount from util-linux");
    assert_eq!(get("fstype"), case.fstype);
    let options: Vec<&str> = get("options").split(',').collect();
    for o in case.options {
        assert!(options.contains(o), "{o} missing from the mount's options: {}", get("options"));
    }
    assert_eq!(get("write_status"), "0");
    assert_eq!(get("size_back"), "8388608");
    assert_eq!(get("sha_back"), get("sha_src"), "8 MiB read back differ from what was written");
    assert_eq!((get("tree_status"), get("listing"), get("content")), ("0", "b.txt", "hello"));
    assert_eq!((get("removed_status"), get("dir1_left")), ("0", "0"));
    let c = &case.client;
    assert_eq!((get("owner"), get("mode")), (c.owner, c.mode), "owner and mode of a file root created, as the client shows them");
    assert_eq!((get("chown_status"), get("chown_error"), get("given_owner")), (c.chown_status, c.chown_error, c.given_owner), "chown 4321:4321 (a uid the client has no name for)");
    assert_eq!((get("umount_status"), get("mounted_after")), ("0", "0"));
    let want = ServerView {
        owned: case.server_owned.map(str::to_string),
        given: case.server_given.map(str::to_string),
        size: 8 << 20,
        sha: get("sha_src").to_string(),
        dir1: false,
    };
    assert_eq!(server, Some(want), "the server's view");
    let boot = seconds_after(&stderr, "booted to the job in").unwrap_or(-1.0);
    let mbs = |k: &str| 8.0 * 1.048576 / get(k).parse::<f64>().unwrap_or(f64::NAN);
    eprintln!(
        "measured: {profile}: boot to job {boot:.1} s; mount {} s; 8 MiB write {} s ({:.1} MB/s), read {} s ({:.1} MB/s)",
        get("mount_seconds"),
        get("write_seconds"),
        mbs("write_seconds"),
        get("read_seconds"),
        mbs("read_seconds"),
    );
}

const GANESHA_IMAGE: &str = "benchhost-test/ganesha:latest";
const RCLONE_IMAGE: &str = "benchhost-test/rclone:latest";
const SAMBA_IMAGE: &str = "benchhost-test/samba:latest";
const DITTOFS_IMAGE: &str = "benchhost-test/dittofs:latest";
const LOCALSTACK_IMAGE: &str = "benchhost-test/localstack:latest";
const POSTGRES_IMAGE: &str = "benchhost-test/postgres:latest";
/// The settings tests/e2e_dittofs.rs passes: the local images in place of the published ones.
const DITTOFS_ENV: &[(&str, &str)] = &[("DITTOFS_IMAGE", DITTOFS_IMAGE), ("LOCALSTACK_IMAGE", LOCALSTACK_IMAGE), ("POSTGRES_IMAGE", POSTGRES_IMAGE)];

/// NFSv4 as the server stores it: root's file is 0:0, the chown lands (numeric owners).
const NFS_OWNERS: ClientView = ClientView { owner: "0:0", mode: "644", chown_status: "0", chown_error: "", given_owner: "4321:4321" };

#[test]
fn vm_kernel_client_mounts_ganesha_with_the_printed_command() {
    let case = Case {
        profile: "ganesha",
        env: &[("GANESHA_IMAGE", GANESHA_IMAGE)],
        fstype: "nfs4",
        options: &["vers=4.1", "port=22049", "addr=10.0.2.2"],
        prelude: "",
        note: "",
        // Numeric owners (Only_Numeric_Owners): without them every owner showed as nobody.
        client: NFS_OWNERS,
        server_owned: Some("0:0 644"),
        server_given: Some("4321:4321"),
        server: ganesha_view,
    };
    kernel_client_check("vm_kernel_client_mounts_ganesha_with_the_printed_command", &case, &[GANESHA_IMAGE]);
}

#[test]
fn vm_kernel_client_mounts_rclone_nfs3_with_the_printed_command() {
    let case = Case {
        profile: "rclone",
        env: &[("RCLONE_IMAGE", RCLONE_IMAGE), ("LOCALSTACK_IMAGE", LOCALSTACK_IMAGE)],
        fstype: "nfs",
        options: &["vers=3", "port=42049", "mountport=42049", "nolock"],
        prelude: "",
        note: "",
        // rclone's VFS has no owners (S3 keeps none): every file shows as the server process's
        // uid/gid (--uid/--gid default: root in the container) and mode 0666 less its umask
        // 022; a SETATTR of the owner fails with NFS3ERR_IO, which the client reports as EIO.
        client: ClientView {
            owner: "0:0",
            mode: "644",
            chown_status: "1",
            chown_error: "chown: /mnt/benchhost/rclone/given.txt: Input/output error",
            given_owner: "0:0",
        },
        server_owned: None,
        server_given: None,
        server: rclone_view,
    };
    kernel_client_check("vm_kernel_client_mounts_rclone_nfs3_with_the_printed_command", &case, &[RCLONE_IMAGE, LOCALSTACK_IMAGE]);
}

#[test]
fn vm_kernel_client_mounts_samba_with_the_printed_command() {
    let case = Case {
        profile: "samba",
        env: &[("SAMBA_IMAGE", SAMBA_IMAGE)],
        fstype: "cifs",
        // (cifs lists no port= in /proc/mounts; nothing else answers SMB on 10.0.2.2.)
        options: &["vers=3.0", "username=bench", "addr=10.0.2.2"],
        // The printed command has no password (it is a secret, and the command is printed);
        // the profile's note tells the user that mount.cifs asks for it or reads PASSWD from
        // its environment, so the job sets PASSWD to SAMBA_PASSWORD (default bench) first.
        prelude: "export PASSWD=bench",
        note: "mount.cifs asks for SAMBA_PASSWORD (default bench). For scripts, add password=... or credentials=FILE to -o, or set PASSWD in mount's environment",
        client: ClientView { owner: "0:0", mode: "755", chown_status: "0", chown_error: "", given_owner: "0:0" },
        server_owned: Some("1000:1000 664"),
        server_given: Some("1000:1000"),
        server: samba_view,
    };
    kernel_client_check("vm_kernel_client_mounts_samba_with_the_printed_command", &case, &[SAMBA_IMAGE]);
}

/// A DittoFS NFS profile: the same check, the server's view through libnfs on the host.
fn dittofs_nfs_case(profile: &'static str) -> Case {
    Case {
        profile,
        env: DITTOFS_ENV,
        fstype: "nfs4",
        options: &["vers=4.1", "port=12049", "addr=10.0.2.2"],
        prelude: "",
        note: "",
        client: NFS_OWNERS,
        server_owned: Some("0:0 644"),
        server_given: Some("4321:4321"),
        server: dittofs_nfs_view,
    }
}

#[test]
fn vm_kernel_client_mounts_dittofs_badger_s3_with_the_printed_command() {
    kernel_client_check("vm_kernel_client_mounts_dittofs_badger_s3_with_the_printed_command", &dittofs_nfs_case("dittofs-badger-s3"), &[DITTOFS_IMAGE, LOCALSTACK_IMAGE]);
}

#[test]
fn vm_kernel_client_mounts_dittofs_postgres_s3_with_the_printed_command() {
    kernel_client_check("vm_kernel_client_mounts_dittofs_postgres_s3_with_the_printed_command", &dittofs_nfs_case("dittofs-postgres-s3"), &[DITTOFS_IMAGE, LOCALSTACK_IMAGE, POSTGRES_IMAGE]);
}

#[test]
fn vm_kernel_client_mounts_dittofs_badger_fs_with_the_printed_command() {
    kernel_client_check("vm_kernel_client_mounts_dittofs_badger_fs_with_the_printed_command", &dittofs_nfs_case("dittofs-badger-fs"), &[DITTOFS_IMAGE]);
}

#[test]
fn vm_kernel_client_mounts_dittofs_smb_with_the_printed_command() {
    let case = Case {
        profile: "dittofs-smb",
        env: DITTOFS_ENV,
        fstype: "cifs",
        options: &["vers=3.0", "username=admin", "addr=10.0.2.2"],
        // As for samba: no password in the printed command; mount.cifs reads PASSWD, here
        // DITTOFS_ADMIN_PASSWORD (default benchadmin), as the profile's note says.
        prelude: "export PASSWD=benchadmin",
        note: "mount.cifs asks for DITTOFS_ADMIN_PASSWORD (default benchadmin). For scripts, add password=... or credentials=FILE to -o, or set PASSWD in mount's environment",
        client: ClientView { owner: "0:0", mode: "755", chown_status: "0", chown_error: "", given_owner: "0:0" },
        server_owned: None,
        server_given: None,
        server: dittofs_smb_view,
    };
    kernel_client_check("vm_kernel_client_mounts_dittofs_smb_with_the_printed_command", &case, &[DITTOFS_IMAGE, LOCALSTACK_IMAGE]);
}
