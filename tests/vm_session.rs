//! A client VM session (`client_vm::VmSession`, what `benchhost bench` runs its cells in): one
//! boot, many steps one after the other over the serial console, each with its own output and
//! status; what a step mounts stays, what it leaves running does not; a large script arrives
//! byte for byte; a step past its limit ends the session; QEMU never outlives it.

use crate::support::client_vm::{processes_mentioning, vm_or_skip};
use benchhost::orchestration::client_vm::{self, AccelRequest, JobLine, VmSession};
use benchhost::orchestration::error::BenchError;
use benchhost::orchestration::interrupt::{Guard, Signals};
use std::time::Duration;

const BOOT_LIMIT: Duration = Duration::from_secs(120);
const STEP_LIMIT: Duration = Duration::from_secs(60);

/// Boots a session with the build and the accelerator `vm run` would use.
async fn start(guard: &mut Guard) -> VmSession {
    let artifacts = client_vm::locate().expect("the client VM is built");
    let qemu = client_vm::find_qemu().expect("qemu-system-x86_64");
    let accel = client_vm::accel::choose(&qemu, &artifacts, AccelRequest::Auto).await;
    let session = VmSession::start(&qemu, &artifacts, &accel, BOOT_LIMIT, guard).await.unwrap_or_else(|e| panic!("the session did not start: {e}"));
    let info = session.info();
    eprintln!("session: {} ({}), kernel {}, booted in {:.2} s (guest uptime {:.2} s)", info.accel.accel.name(), info.accel.reason, info.kernel, info.boot_seconds, info.guest_boot_seconds);
    session
}

/// A step's status and its stdout and stderr lines.
async fn run(session: &mut VmSession, script: &str, limit: Duration, guard: &mut Guard) -> Result<(i32, Vec<String>, Vec<String>), BenchError> {
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let report = session
        .step(script, limit, guard, |l| match l {
            JobLine::Stdout(s) => out.push(s),
            JobLine::Stderr(s) => err.push(s),
        })
        .await?;
    assert!(report.seconds >= 0.0 && report.total_seconds >= report.seconds, "{report:?}");
    Ok((report.status, out, err))
}

/// Whether QEMU's process `pid` is gone (a zombie not yet reaped counts as gone: it runs
/// nothing and has no command line).
fn gone(pid: u32) -> bool {
    std::fs::read(format!("/proc/{pid}/cmdline")).map(|c| c.is_empty()).unwrap_or(true)
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// The heredoc of the large step: one line of 200 000 characters, then 6 000 lines that carry
/// every byte a terminal in canonical mode would act on (^C, ^D, ^U, ^W, XON/XOFF, DEL, CR,
/// backspace, ESC, tabs) and UTF-8, 488 001 bytes in all.
fn large_text() -> String {
    let mut text = String::with_capacity(320_000);
    text.extend((0..200_000).map(|i| char::from(b'a' + (i % 26) as u8)));
    text.push('\n');
    for i in 0..6_000 {
        text.push_str(&format!("{i:05} \u{3}\u{4}\u{15}\u{17}\u{11}\u{13}\u{7f}\r\u{8}\u{1b}[0m\t\\x 'q' \"d\" $HOME `c` é ✓\n"));
    }
    text
}

#[tokio::test(flavor = "multi_thread")]
async fn a_session_runs_steps_in_one_boot_and_a_step_past_its_limit_ends_it() {
    let Some(_vm) = vm_or_skip("a_session_runs_steps_in_one_boot_and_a_step_past_its_limit_ends_it") else { return };
    let signals = Signals::install();
    let mut guard = signals.guard();
    let mut session = start(&mut guard).await;
    let (token, pid) = (session.token().to_string(), session.pid().expect("QEMU's pid"));
    assert!(!processes_mentioning(&token).is_empty(), "QEMU runs with the token on its command line");
    let release = session.kernel_release().to_string();
    assert!(release.ends_with("-cloud-amd64"), "{release}");

    // 1: a file in /root, a mount and a process left running.
    let (status, out, err) = run(&mut session, "echo kept >/root/note.txt\nmkdir -p /mnt/t && mount -t tmpfs tmpfs /mnt/t && echo there >/mnt/t/f\nsleep 1000 &\necho \"uname=$(uname -r)\"\n", STEP_LIMIT, &mut guard).await.unwrap();
    assert_eq!((status, out, err), (0, vec![format!("uname={release}")], vec![]));

    // 2: the file and the mount are still there, the process is not; its own status and lines.
    let (status, out, err) = run(&mut session, "cat /root/note.txt\ncat /mnt/t/f\npidof sleep || echo 'no sleep'\necho 'to stderr' >&2\nexit 7\n", STEP_LIMIT, &mut guard).await.unwrap();
    assert_eq!(status, 7);
    assert_eq!(out, ["kept", "there", "no sleep"]);
    assert_eq!(err, ["to stderr"]);

    // 3: a 488 KB script whose heredoc must arrive byte for byte.
    let text = large_text();
    let script = format!("cat >/root/big.txt <<'BENCHHOST_EOF'\n{text}BENCHHOST_EOF\necho \"bytes=$(wc -c </root/big.txt)\"\necho \"sha=$(sha256sum /root/big.txt | cut -d' ' -f1)\"\necho \"lines=$(wc -l </root/big.txt)\"\n");
    assert_eq!(text.len(), 488_001);
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let big = session
        .step(&script, STEP_LIMIT, &mut guard, |l| match l {
            JobLine::Stdout(s) => out.push(s),
            JobLine::Stderr(s) => err.push(s),
        })
        .await
        .unwrap();
    assert_eq!(big.status, 0, "{err:?}");
    assert_eq!(out, [format!("bytes={}", text.len()), format!("sha={}", sha256_hex(text.as_bytes())), "lines=6001".to_string()], "{err:?}");
    eprintln!("measured: a {} byte step took {:.2} s (its script ran {:.2} s)", script.len(), big.total_seconds, big.seconds);

    // The session's own cost per step: an empty step, 10 times.
    let mut totals = Vec::new();
    for _ in 0..10 {
        let report = session.step("true\n", STEP_LIMIT, &mut guard, |_| {}).await.unwrap();
        assert_eq!(report.status, 0);
        totals.push(report.total_seconds);
    }
    let mean = totals.iter().sum::<f64>() / totals.len() as f64;
    let max = totals.iter().cloned().fold(0.0, f64::max);
    eprintln!("measured: boot {:.2} s; an empty step `true`: mean {mean:.3} s, max {max:.3} s over 10 ({totals:.3?})", session.info().boot_seconds);
    assert!(max < 5.0, "an empty step took {max:.2} s");

    // A step past its limit ends the session; the next one says so.
    let mut out = Vec::new();
    let started = std::time::Instant::now();
    let err = session
        .step("echo started\nsleep 60\necho never\n", Duration::from_secs(3), &mut guard, |l| {
            if let JobLine::Stdout(s) = l {
                out.push(s)
            }
        })
        .await
        .unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(20), "{:?}", started.elapsed());
    assert!(matches!(err, BenchError::JobTimedOut(_)), "{err:?}");
    assert!(err.to_string().starts_with("step 14 did not finish within 3 s; the client VM (") && err.to_string().ends_with("was stopped and the session is over"), "{err}");
    assert_eq!(out, ["started"]);
    assert!(gone(pid), "QEMU outlived the step's timeout");
    let err = session.step("echo again\n", STEP_LIMIT, &mut guard, |_| {}).await.unwrap_err();
    assert!(matches!(err, BenchError::Other(_)), "{err:?}");
    assert_eq!(err.to_string(), "the client VM session is over (step 14 did not finish within 3 s); step 15 was not run\n  hint: start a new session");
    let total = session.stop().await.unwrap();
    assert!(total > 0.0);
    assert_eq!(processes_mentioning(&token), Vec::<String>::new(), "QEMU outlived the session");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_session_stops_by_powering_off_and_a_dropped_one_takes_qemu_with_it() {
    let Some(_vm) = vm_or_skip("a_session_stops_by_powering_off_and_a_dropped_one_takes_qemu_with_it") else { return };
    let signals = Signals::install();
    let mut guard = signals.guard();
    let mut session = start(&mut guard).await;
    let token = session.token().to_string();
    let (status, out, _) = run(&mut session, "mkdir -p /mnt/t && mount -t tmpfs tmpfs /mnt/t && echo mounted\n", STEP_LIMIT, &mut guard).await.unwrap();
    assert_eq!((status, out), (0, vec!["mounted".to_string()]));
    // A script the session refuses before sending anything leaves it usable.
    let err = session.step("echo a\0b\n", STEP_LIMIT, &mut guard, |_| {}).await.unwrap_err();
    assert!(matches!(err, BenchError::Usage(_)) && err.to_string().contains("NUL byte at offset 6"), "{err}");
    let (status, out, _) = run(&mut session, "echo still\n", STEP_LIMIT, &mut guard).await.unwrap();
    assert_eq!((status, out), (0, vec!["still".to_string()]));
    let started = std::time::Instant::now();
    let total = session.stop().await.unwrap_or_else(|e| panic!("stop: {e}"));
    eprintln!("measured: stop (sync, power off, QEMU gone) {:.2} s; the session lived {total:.2} s", started.elapsed().as_secs_f64());
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(processes_mentioning(&token), Vec::<String>::new(), "QEMU outlived stop()");

    // Dropped without stop(): QEMU is killed.
    let session = start(&mut guard).await;
    let (token, pid) = (session.token().to_string(), session.pid().expect("QEMU's pid"));
    drop(session);
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while !gone(pid) && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(gone(pid), "QEMU outlived its dropped session");
    assert_eq!(processes_mentioning(&token), Vec::<String>::new());
}
