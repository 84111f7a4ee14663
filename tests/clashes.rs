//! What is not benchhost's is never adopted, and one engine runs one `up` at a time: a volume,
//! network or container a user made with a name benchhost would create is refused before
//! anything is created (dry run too), and the run lock is the engine's, whatever `TMPDIR` says.

use crate::support::docker::{benchhost, benchhost_command, docker, engine_or_skip, force_clean, managed, text};
use std::io::Read;
use std::process::Stdio;

const GANESHA_IMAGE: &str = "benchhost-test/ganesha:latest";
const SAMBA_IMAGE: &str = "benchhost-test/samba:latest";
const LOCALSTACK_IMAGE: &str = "benchhost-test/localstack:latest";
const RCLONE_IMAGE: &str = "benchhost-test/rclone:latest";

fn env() -> Vec<(&'static str, &'static str)> {
    vec![("GANESHA_IMAGE", GANESHA_IMAGE), ("SAMBA_IMAGE", SAMBA_IMAGE), ("LOCALSTACK_IMAGE", LOCALSTACK_IMAGE), ("RCLONE_IMAGE", RCLONE_IMAGE)]
}

/// Removes the user's resource whatever the test's outcome.
struct UserResource(&'static str, &'static str);
impl Drop for UserResource {
    fn drop(&mut self) {
        docker(&[self.0, "rm", "-f", self.1]);
    }
}

/// `up --dry-run` and `up` of `profile` both refuse with exit 4, naming `what` and how to
/// remove it, and create nothing.
fn assert_refused(profile: &str, what: &str, remove: &str) {
    for args in [vec!["up", profile, "--dry-run"], vec!["up", profile]] {
        let out = benchhost(&args, &env());
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(4), "{args:?}: {err}");
        assert!(err.contains(&format!("{what} already exists and was not made by benchhost")), "{args:?}: {err}");
        assert!(err.contains(&format!("`{remove}`")), "{args:?}: {err}");
        assert!(!err.contains("ambiguous") && !err.contains("HTTP 409"), "{args:?}: {err}");
        assert_eq!(managed(), Vec::<String>::new(), "{args:?} created something");
    }
}

#[test]
fn a_users_volume_with_benchhosts_name_is_refused_and_kept() {
    let Some(_engine) = engine_or_skip("a_users_volume_with_benchhosts_name_is_refused_and_kept", Some(GANESHA_IMAGE)) else { return };
    force_clean("ganesha");
    let _volume = UserResource("volume", "benchhost-ganesha-export");
    assert!(docker(&["volume", "create", "benchhost-ganesha-export"]).status.success());
    let put = docker(&["run", "--rm", "-v", "benchhost-ganesha-export:/v", "--entrypoint", "sh", GANESHA_IMAGE, "-c", "echo mine > /v/users-file"]);
    assert!(put.status.success(), "{}", text(&put.stderr));
    assert_refused("ganesha", "volume benchhost-ganesha-export", "docker volume rm benchhost-ganesha-export");
    // The user's volume is untouched: still there, unlabelled, with its file.
    let labels = docker(&["volume", "inspect", "-f", "{{json .Labels}}", "benchhost-ganesha-export"]);
    assert!(labels.status.success());
    assert!(!text(&labels.stdout).contains("benchhost.managed"), "{}", text(&labels.stdout));
    let got = docker(&["run", "--rm", "-v", "benchhost-ganesha-export:/v", "--entrypoint", "cat", GANESHA_IMAGE, "/v/users-file"]);
    assert_eq!(text(&got.stdout).trim(), "mine");
}

#[test]
fn a_users_network_with_benchhosts_name_is_refused_not_doubled() {
    let Some(_engine) = engine_or_skip("a_users_network_with_benchhosts_name_is_refused_not_doubled", Some(GANESHA_IMAGE)) else { return };
    force_clean("ganesha");
    let _network = UserResource("network", "benchhost-ganesha");
    assert!(docker(&["network", "create", "benchhost-ganesha"]).status.success());
    assert_refused("ganesha", "network benchhost-ganesha", "docker network rm benchhost-ganesha");
    let networks = docker(&["network", "ls", "-q", "--filter", "name=^benchhost-ganesha$"]);
    assert_eq!(text(&networks.stdout).lines().count(), 1, "the user's network, and no second one");
}

#[test]
fn a_users_container_named_like_the_target_is_refused_before_dependencies_start() {
    let Some(_engine) = engine_or_skip("a_users_container_named_like_the_target_is_refused_before_dependencies_start", Some(RCLONE_IMAGE)) else { return };
    force_clean("rclone");
    // rclone depends on LocalStack: before the check, LocalStack was started first and the
    // clash surfaced only then, as the engine's HTTP 409.
    let _container = UserResource("container", "benchhost-rclone-rclone");
    let made = docker(&["create", "--name", "benchhost-rclone-rclone", "--entrypoint", "true", RCLONE_IMAGE]);
    assert!(made.status.success(), "{}", text(&made.stderr));
    let started = std::time::Instant::now();
    assert_refused("rclone", "container benchhost-rclone-rclone", "docker container rm -f benchhost-rclone-rclone");
    assert!(started.elapsed().as_secs() < 30, "refused only after {:?}", started.elapsed());
    let state = docker(&["inspect", "-f", "{{.State.Status}}", "benchhost-rclone-rclone"]);
    assert_eq!(text(&state.stdout).trim(), "created", "the user's container is left as it was");
}

#[test]
fn two_ups_with_different_tmpdirs_still_take_turns_on_one_engine() {
    let Some(_engine) = engine_or_skip("two_ups_with_different_tmpdirs_still_take_turns_on_one_engine", Some(SAMBA_IMAGE)) else { return };
    force_clean("ganesha");
    force_clean("samba");
    let (t1, t2) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let spawn = |profile: &str, tmp: &std::path::Path| {
        let mut cmd = benchhost_command(&["up", profile]);
        cmd.envs(env()).env("TMPDIR", tmp).stdout(Stdio::null()).stderr(Stdio::piped());
        cmd.spawn().unwrap()
    };
    let mut first = spawn("ganesha", t1.path());
    // Once the first holds the lock (it says "bringing up" under it), start the second.
    let mut seen = String::new();
    let mut stderr = first.stderr.take().unwrap();
    let mut buf = [0u8; 4096];
    while !seen.contains("bringing up ganesha") {
        let n = stderr.read(&mut buf).unwrap();
        assert!(n > 0, "the first up ended early: {seen}");
        seen.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
    let second = spawn("samba", t2.path());
    let first_status = first.wait().unwrap();
    stderr.read_to_string(&mut seen).unwrap();
    let second = second.wait_with_output().unwrap();
    let second_err = text(&second.stderr);
    force_clean("ganesha");
    force_clean("samba");
    assert!(first_status.success(), "{seen}");
    assert!(second_err.contains("waiting for another benchhost up/down/clean on this engine to finish"), "{second_err}");
    assert_eq!(second.status.code(), Some(2), "the second up must find ganesha up and refuse: {second_err}");
    assert!(second_err.contains("profile ganesha is up"), "{second_err}");
}
