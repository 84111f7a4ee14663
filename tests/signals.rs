//! A signal that arrives after a command finished its work: the process says what is true (the
//! work is done) instead of claiming nothing was created. On the real engine with NFS-Ganesha.

use crate::support::docker::{benchhost, benchhost_command, engine_or_skip, force_clean, leftovers, read_stderr_until, text};
use std::io::{Read, Write};
use std::process::{Command, Stdio};

const GANESHA: &str = "benchhost-test/ganesha:latest";

#[test]
fn sigint_right_after_up_succeeded_does_not_claim_nothing_was_created() {
    let Some(_engine) = engine_or_skip("sigint after up", Some(GANESHA)) else { return };
    force_clean("ganesha");
    // stdout is a full pipe: `up` says "is up" on stderr, then blocks writing the mount command
    // to stdout, after its work is done and its guard is gone. The signal lands in that moment.
    let (mut reader, mut writer) = std::io::pipe().unwrap();
    rustix::fs::fcntl_setfl(&writer, rustix::fs::OFlags::NONBLOCK).unwrap();
    loop {
        match writer.write(&[b'x'; 4096]) {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
            Err(e) => panic!("filling the pipe: {e}"),
        }
    }
    rustix::fs::fcntl_setfl(&writer, rustix::fs::OFlags::empty()).unwrap();
    let mut child = benchhost_command(&["up", "ganesha"]).env("GANESHA_IMAGE", GANESHA).stdout(writer).stderr(Stdio::piped()).spawn().unwrap();
    let seen = read_stderr_until(&mut child, "ganesha is up in ");
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert!(Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap().success());
    let drain = std::thread::spawn(move || {
        let mut all = Vec::new();
        let _ = reader.read_to_end(&mut all);
    });
    let mut rest = String::new();
    child.stderr.take().unwrap().read_to_string(&mut rest).unwrap();
    let code = child.wait().unwrap().code();
    drain.join().unwrap();
    let all = format!("{seen}{rest}");
    assert_eq!(code, Some(130), "{all}");
    assert!(rest.contains("error: interrupted after the command had finished its work"), "{all}");
    assert!(!all.contains("before anything was created"), "{all}");
    // Still up: the signal came after the work, and nothing was undone.
    let status = text(&benchhost(&["status"], &[]).stdout);
    assert!(status.contains("benchhost-ganesha-ganesha") && status.contains("running"), "{status}");
    let down = benchhost(&["down", "ganesha"], &[]);
    assert!(down.status.success(), "{}", text(&down.stderr));
    assert_eq!(leftovers("ganesha"), Vec::<String>::new());
}

#[test]
fn a_second_ctrl_c_during_cleanup_is_answered_with_what_is_running_and_for_how_long() {
    const SAMBA: &str = "benchhost-test/samba:latest";
    let Some(_engine) = engine_or_skip("ctrl-c during cleanup", Some(SAMBA)) else { return };
    force_clean("samba");
    let mut child = benchhost_command(&["up", "samba"]).env("SAMBA_IMAGE", SAMBA).stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap();
    let mut seen = read_stderr_until(&mut child, "benchhost-samba-samba started");
    let kill = |pid: u32| assert!(Command::new("kill").args(["-INT", &pid.to_string()]).status().unwrap().success());
    kill(child.id());
    seen.push_str(&read_stderr_until(&mut child, "interrupted: removing what this run created"));
    // Removing samba takes its stop grace (seconds): a second Ctrl-C then was met with silence.
    std::thread::sleep(std::time::Duration::from_millis(500));
    kill(child.id());
    let mut rest = String::new();
    child.stderr.take().unwrap().read_to_string(&mut rest).unwrap();
    let code = child.wait().unwrap().code();
    let all = format!("{seen}{rest}");
    assert_eq!(code, Some(130), "{all}");
    let first = all.lines().find(|l| l.contains("interrupted: removing what this run created")).unwrap();
    assert!(first.contains("(up to ") && first.contains(" s: each container gets its stop grace)"), "{first}");
    assert!(rest.contains("benchhost: still removing what this run created (up to "), "{all}");
    assert!(rest.contains("benchhost exits when it is done"), "{all}");
    assert_eq!(leftovers("samba"), Vec::<String>::new());
}

#[test]
fn sigint_while_down_waits_for_the_engine_lock_says_nothing_was_removed() {
    let Some(_engine) = engine_or_skip("sigint while down waits", Some(GANESHA)) else { return };
    // Hold the engine's run lock (as another benchhost would) so `down` waits before removing
    // anything; it said "before anything was created", which is `up`'s word, not down's.
    let id: String = text(&crate::support::docker::docker(&["info", "-f", "{{.ID}}"]).stdout).chars().filter(char::is_ascii_alphanumeric).collect();
    let lock = std::fs::OpenOptions::new().create(true).truncate(false).write(true).open(format!("/tmp/benchhost-engine-{id}.lock")).unwrap();
    lock.lock().unwrap();
    let mut child = benchhost_command(&["down", "ganesha"]).stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap();
    let seen = read_stderr_until(&mut child, "waiting for another benchhost up/down/clean on this engine to finish");
    assert!(Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap().success());
    let mut rest = String::new();
    child.stderr.take().unwrap().read_to_string(&mut rest).unwrap();
    let code = child.wait().unwrap().code();
    drop(lock);
    assert_eq!(code, Some(130), "{seen}{rest}");
    assert!(rest.contains("error: interrupted (before anything was removed)"), "{seen}{rest}");
}
