//! The client VM (`benchhost vm run`, built by `make vm`): a real Debian kernel's NFS client
//! under QEMU, running jobs as root with the host at 10.0.2.2. Its output and exit status, its
//! time limits, a missing build; then the mount command `benchhost up ganesha` prints, run by the
//! Linux kernel's own NFS client against the real NFS-Ganesha.

use crate::support::client_vm::{processes_mentioning, values, vm_or_skip};
use crate::support::docker::{benchhost, docker, engine_or_skip, force_clean, leftovers, text};
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

const GANESHA_IMAGE: &str = "benchhost-test/ganesha:latest";

/// The job: the mount command as printed (run verbatim), then 8 MiB written from /dev/urandom
/// and read back by checksum after the page cache is dropped, files and a directory created,
/// renamed, listed and removed, a new file's owner and mode, umount. Every result is a
/// `key=value` line; times come from the guest's /proc/uptime.
fn kernel_client_job(mount_command: &str, dir: &str) -> String {
    format!(
        r#"now() {{ cut -d' ' -f1 /proc/uptime; }}
since() {{ awk -v a="$1" -v b="$(now)" 'BEGIN {{ printf "%.2f", b - a }}'; }}
D={dir}
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
echo y >"$D/given.txt" && chown 1000:1000 "$D/given.txt"
echo "given_owner=$(stat -c %u:%g "$D/given.txt")"
umount "$D"
echo "umount_status=$?"
echo "mounted_after=$(awk -v d="$D" '$2 == d' /proc/mounts | wc -l)"
"#
    )
}

#[test]
fn vm_kernel_client_mounts_ganesha_with_the_printed_command() {
    let Some(_engine) = engine_or_skip("vm_kernel_client_mounts_ganesha_with_the_printed_command", Some(GANESHA_IMAGE)) else { return };
    let Some(_vm) = vm_or_skip("vm_kernel_client_mounts_ganesha_with_the_printed_command") else { return };
    force_clean("ganesha");
    let up = benchhost(&["up", "ganesha"], &[("GANESHA_IMAGE", GANESHA_IMAGE)]);
    let (out, err) = (text(&up.stdout), text(&up.stderr));
    assert!(up.status.success(), "up failed ({:?}):\n{err}", up.status.code());
    // The printed command, as a user would run it; in the guest the host's 127.0.0.1 is
    // 10.0.2.2 (BENCH_SERVER_ADDRESS does not exist yet, so the test puts it in), and the job
    // is root, so `sudo` goes.
    let printed = out.lines().find(|l| l.contains("mount -t nfs")).unwrap_or_else(|| panic!("no mount command on stdout:\n{out}")).trim();
    assert!(printed.contains("127.0.0.1:/export"), "{printed}");
    let command = printed.replace("sudo ", "").replace("127.0.0.1", "10.0.2.2");
    let dir = command.split_whitespace().last().unwrap().to_string();
    let scratch = tempfile::tempdir().unwrap();
    let file = job(&scratch, "ganesha.sh", &kernel_client_job(&command, &dir));
    let vm = benchhost(&["vm", "run", &file, "--timeout", "120"], &[]);
    let (stdout, stderr) = (text(&vm.stdout), text(&vm.stderr));
    // The server's view, before it goes.
    let server = docker(&["exec", "benchhost-ganesha-ganesha", "sh", "-c", "stat -c '%u:%g %a' /export/owned.txt; stat -c %u:%g /export/given.txt; stat -c %s /export/big.bin; sha256sum /export/big.bin | cut -d' ' -f1; ls -a /export"]);
    let down = benchhost(&["down", "ganesha"], &[]);
    eprintln!("mount command (in the guest): {command}\njob output:\n{stdout}\nvm run stderr:\n{stderr}");
    assert!(down.status.success(), "down: {}", text(&down.stderr));
    assert_eq!(leftovers("ganesha"), Vec::<String>::new());
    assert_eq!(vm.status.code(), Some(0), "stdout:\n{stdout}\nstderr:\n{stderr}");
    let v = values(&stdout);
    let get = |k: &str| v.get(k).map(String::as_str).unwrap_or_else(|| panic!("{k} missing from the job's output:\n{stdout}\n{stderr}"));
    assert_eq!(get("mount_status"), "0", "{stderr}");
    // util-linux's mount (and so mount.nfs), as on a user's Linux, not busybox's.
    assert_eq!(get("mount_tool"), "mount from util-linux");
    assert_eq!(get("fstype"), "nfs4");
    assert!(get("options").split(',').any(|o| o == "vers=4.1") && get("options").split(',').any(|o| o == "port=22049"), "{}", get("options"));
    assert_eq!(get("write_status"), "0");
    assert_eq!(get("size_back"), "8388608");
    assert_eq!(get("sha_back"), get("sha_src"), "8 MiB read back over NFS differ from what was written");
    assert_eq!((get("tree_status"), get("listing"), get("content")), ("0", "b.txt", "hello"));
    assert_eq!((get("removed_status"), get("dir1_left")), ("0", "0"));
    // The owner as the kernel client shows it, and as the server stores it.
    assert_eq!(get("owner"), "0:0", "a file root created shows as {} in the client (NFSv4 owner strings the client cannot map show as nobody, 4294967294)", get("owner"));
    assert_eq!(get("mode"), "644");
    assert_eq!(get("given_owner"), "1000:1000", "chown to a uid the client has no name for");
    assert_eq!((get("umount_status"), get("mounted_after")), ("0", "0"));
    let server = text(&server.stdout);
    let lines: Vec<&str> = server.lines().collect();
    assert_eq!(lines.first().copied(), Some("0:0 644"), "the server's view of owned.txt:\n{server}");
    assert_eq!(lines.get(1).copied(), Some("1000:1000"), "the server's view of given.txt:\n{server}");
    assert_eq!(lines.get(2).copied(), Some("8388608"), "{server}");
    assert_eq!(lines.get(3).copied(), Some(get("sha_src")), "the server's copy differs:\n{server}");
    assert!(!lines.contains(&"dir1"), "{server}");
    let boot = seconds_after(&stderr, "booted to the job in").unwrap_or(-1.0);
    let mb = 8.0;
    eprintln!(
        "measured: boot to job {boot:.1} s; mount {} s; 8 MiB write {} s ({:.1} MB/s), read {} s ({:.1} MB/s)",
        get("mount_seconds"),
        get("write_seconds"),
        mb * 1.048576 / get("write_seconds").parse::<f64>().unwrap_or(f64::NAN),
        get("read_seconds"),
        mb * 1.048576 / get("read_seconds").parse::<f64>().unwrap_or(f64::NAN),
    );
}
