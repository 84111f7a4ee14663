//! kernel-nfs needs nfsd in the Docker host's kernel. This machine's kernel has none, so what
//! is tested here is the fast failure: a clear message, exit code 6, and nothing created.

use crate::support::artifacts;
use crate::support::docker::{self, benchhost, leftovers, text};

fn host_has_nfsd() -> bool {
    let fs = std::fs::read_to_string("/proc/filesystems").unwrap_or_default();
    fs.lines().any(|l| l.split_whitespace().last() == Some("nfsd")) || std::path::Path::new("/proc/fs/nfsd/threads").exists()
}

#[test]
fn kernel_nfs_fails_fast_without_nfsd_and_creates_nothing() {
    if host_has_nfsd() {
        eprintln!("SKIPPED: this host has nfsd; the fail-fast path cannot be exercised here");
        return;
    }
    artifacts::benchhost_bin(); // built before the clock starts
    let started = std::time::Instant::now();
    let out = benchhost(&["up", "kernel-nfs"], &[]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(6), "{err}");
    assert!(
        err.contains("profile kernel-nfs (plugin \"kernel-nfs\" 0.1.0) needs the host kernel's nfsd, which this Docker host lacks"),
        "{err}"
    );
    assert!(err.contains("hint:") && err.contains("ganesha"), "the hint should name a way out:\n{err}");
    assert!(started.elapsed() < std::time::Duration::from_secs(5), "not fast: {:?}", started.elapsed());
    if docker::docker(&["info"]).status.success() {
        assert_eq!(leftovers("kernel-nfs"), Vec::<String>::new());
    }
}
