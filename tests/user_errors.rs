//! Settings that are the user's to fix are said so (exit 2, naming the setting and where it was
//! set), never echoed whole, and caught before anything starts: a CPU limit the engine cannot
//! give, a value no process could receive, a secret too short to hide; a default secret is no
//! secret; a results directory that cannot be written leaves nothing behind.

use crate::support::docker::{benchhost, benchhost_command, docker, engine_or_skip, managed, text};

const SAMBA: &str = "benchhost-test/samba:latest";
const GANESHA: &str = "benchhost-test/ganesha:latest";

/// `benchhost --env-file F ARGS` with `F` holding `contents`.
fn with_env_file(contents: &str, args: &[&str]) -> std::process::Output {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("user.env");
    std::fs::write(&file, contents).unwrap();
    let mut all = vec!["--env-file", file.to_str().unwrap()];
    all.extend_from_slice(args);
    benchhost_command(&all).env("SAMBA_IMAGE", SAMBA).env("GANESHA_IMAGE", GANESHA).output().unwrap()
}

#[test]
fn a_cpu_limit_above_the_engines_cpus_is_the_users_before_anything_starts() {
    let Some(_engine) = engine_or_skip("cpu limit above the engine", Some(GANESHA)) else { return };
    let cpus: u32 = text(&docker(&["info", "-f", "{{.NCPU}}"]).stdout).trim().parse().unwrap();
    let limit = (cpus * 2 + 1).to_string();
    for args in [vec!["up", "ganesha", "--dry-run"], vec!["up", "ganesha"]] {
        let out = benchhost(&args, &[("BENCH_CPU_LIMIT", &limit), ("GANESHA_IMAGE", GANESHA)]);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(&format!("BENCH_CPU_LIMIT={limit} (from the environment) is more CPUs than the Docker engine's host has ({cpus})")), "{err}");
        assert!(err.contains(&format!("set BENCH_CPU_LIMIT to at most {cpus}")), "{err}");
        assert!(!err.contains("Range of CPUs"), "the engine's own refusal came first: {err}");
        assert_eq!(managed(), Vec::<String>::new());
    }
}

#[test]
fn a_ten_megabyte_value_is_named_and_cut_not_echoed() {
    let huge = "9".repeat(10 << 20);
    let out = with_env_file(&format!("BENCH_CPU_LIMIT={huge}\n"), &["up", "ganesha", "--dry-run"]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{}", &err[..err.len().min(500)]);
    assert!(err.starts_with("error: BENCH_CPU_LIMIT=\"999"), "{}", &err[..err.len().min(500)]);
    assert!(err.len() < 12 << 10, "{} bytes on stderr", err.len());
    assert!(err.contains("more bytes cut)"), "{err}");
}

#[test]
fn a_secret_no_process_could_receive_is_the_users_not_a_plugin_defect() {
    let secret = "s".repeat(200 << 10);
    let out = with_env_file(&format!("SAMBA_PASSWORD={secret}\n"), &["up", "samba", "--dry-run"]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.starts_with("error: SAMBA_PASSWORD (from ") && err.contains("user.env)"), "{err}");
    assert!(err.contains("is 204800 bytes long, more than the 128 KiB one environment variable of a process may hold"), "{err}");
    assert!(!err.contains("sssssss") && !err.contains("defect"), "{err}");
}

#[test]
fn a_secret_too_short_to_hide_is_refused_without_showing_it() {
    let out = with_env_file("SAMBA_PASSWORD=q7\n", &["up", "samba", "--dry-run"]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("SAMBA_PASSWORD (from ") && err.contains("is a secret shorter than 3 characters"), "{err}");
    assert!(!err.contains("q7") && out.stdout.is_empty(), "{err}");
    // Three characters are hidden like any secret.
    let ok = with_env_file("SAMBA_PASSWORD=q7x\n", &["up", "samba", "--dry-run"]);
    assert!(ok.status.success(), "{}", text(&ok.stderr));
    assert!(!text(&ok.stdout).contains("q7x") && text(&ok.stdout).contains("SAMBA_PASSWORD=***"), "{}", text(&ok.stdout));
}

#[test]
fn a_default_secret_is_not_blanked_where_the_same_word_is_no_secret() {
    // SAMBA_PASSWORD's default is `bench`, as is SAMBA_USER's: blanking the default showed
    // `SAMBA_USER=***` beside an smb.conf that says `valid users = bench`.
    let out = benchhost(&["up", "samba", "--dry-run"], &[("SAMBA_IMAGE", SAMBA)]);
    let plan = text(&out.stdout);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(plan.contains("SAMBA_USER=bench"), "{plan}");
    assert!(!plan.contains("SAMBA_USER=***"), "{plan}");
}

#[test]
fn a_results_root_that_cannot_be_written_leaves_no_run_directory() {
    let Some(_engine) = engine_or_skip("a full results root", Some(GANESHA)) else { return };
    // A results root on a full filesystem: a 64 KiB tmpfs filled to the last block (root only).
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("full");
    std::fs::create_dir(&root).unwrap();
    let mounted = std::process::Command::new("mount").args(["-t", "tmpfs", "-o", "size=64k", "tmpfs", root.to_str().unwrap()]).status().unwrap();
    assert!(mounted.success(), "mounting a small tmpfs needs root (make test runs as root in CI)");
    struct Umount(std::path::PathBuf);
    impl Drop for Umount {
        fn drop(&mut self) {
            let _ = std::process::Command::new("umount").arg(&self.0).status();
        }
    }
    let _umount = Umount(root.clone());
    // Leave room for the run's directories but not for run.json.
    let _ = std::fs::write(root.join("filler"), vec![0u8; 60 << 10]);
    let mut filler = std::fs::OpenOptions::new().append(true).open(root.join("filler")).unwrap();
    use std::io::Write;
    while filler.write_all(&[0u8; 512]).is_ok() {}
    let out = benchhost(&["up", "ganesha", "--results-dir", root.to_str().unwrap()], &[("GANESHA_IMAGE", GANESHA)]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("No space left on device") && err.contains("--results-dir"), "{err}");
    let left: Vec<String> = std::fs::read_dir(&root).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).filter(|n| n != "filler").collect();
    assert_eq!(left, Vec::<String>::new(), "a run directory was left behind: {err}");
    assert_eq!(managed(), Vec::<String>::new(), "nothing may reach the engine");
}
