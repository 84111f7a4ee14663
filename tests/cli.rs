//! The command line without Docker: profile listing, help, usage errors.

use crate::support::docker::{benchhost, text};

#[test]
fn list_json_has_the_slice_profiles_with_every_field() {
    let out = benchhost(&["list", "--json"], &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).expect("JSON array");
    let find = |p: &str| rows.iter().find(|r| r["profile"] == p).unwrap_or_else(|| panic!("{p} missing from {rows:#?}")).clone();
    let g = find("ganesha");
    assert_eq!(g["plugin"], "ganesha");
    assert_eq!(g["plugin_version"], "0.1.0");
    assert_eq!(g["role"], "target");
    assert_eq!(g["protocol"], "nfs");
    assert_eq!(g["port"], 22049);
    assert!(g["description"].as_str().unwrap().contains("Ganesha"));
    let l = find("localstack");
    assert_eq!((l["role"].as_str(), l["protocol"].as_str(), l["port"].as_u64()), (Some("infrastructure"), Some("s3"), Some(4566)));
    let d = find("dittofs-badger-s3");
    assert_eq!((d["plugin"].as_str(), d["role"].as_str(), d["port"].as_u64()), (Some("dittofs"), Some("target"), Some(12049)));
    for r in &rows {
        for key in ["profile", "plugin", "plugin_version", "role", "protocol", "port", "description"] {
            assert!(r.get(key).is_some(), "{key} missing in {r}");
        }
    }
}

#[test]
fn help_lists_commands_and_every_profile_with_its_description() {
    let out = benchhost(&["--help"], &[]);
    assert!(out.status.success());
    let help = text(&out.stdout);
    for cmd in ["list", "up", "down", "status"] {
        assert!(help.contains(&format!("  {cmd} ")), "command {cmd} missing:\n{help}");
    }
    assert!(help.contains("ganesha") && help.contains("NFS-Ganesha over NFSv4.1"), "{help}");
    assert!(help.contains("dittofs-badger-s3") && help.contains("BadgerDB metadata"), "{help}");
    assert!(help.contains("localstack") && help.contains("[infrastructure]"), "{help}");
}

#[test]
fn unknown_profile_exits_2_and_lists_the_known_ones() {
    let out = benchhost(&["up", "no-such-system"], &[]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.contains("unknown profile \"no-such-system\""), "{err}");
    for p in ["ganesha", "dittofs-badger-s3", "localstack"] {
        assert!(err.contains(p), "{p} not listed:\n{err}");
    }
}

#[test]
fn bad_global_setting_exits_2_naming_the_value() {
    let out = benchhost(&["up", "ganesha"], &[("BENCH_MEM_LIMIT", "lots")]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.contains("BENCH_MEM_LIMIT") && err.contains("lots"), "{err}");
}

#[test]
fn env_file_is_read_and_a_missing_one_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("bench.env");
    std::fs::write(&f, "BENCH_CPU_LIMIT=zero\n").unwrap();
    let out = benchhost(&["--env-file", f.to_str().unwrap(), "up", "ganesha"], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("BENCH_CPU_LIMIT=\"zero\""), "{}", text(&out.stderr));
    let out = benchhost(&["--env-file", "/nonexistent/x.env", "list"], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("/nonexistent/x.env"));
}

/// An image the user gave through a setting is the user's to fix: exit 2, naming the setting,
/// where its value came from (the environment or which `.env`) and the fix; never "a defect of
/// the plugin". An image the plugin chose itself stays the plugin's (exit 3, covered by the
/// hostile fixtures).
#[test]
fn an_unpinned_image_from_a_setting_is_the_users_error_naming_setting_and_origin() {
    let out = benchhost(&["up", "dittofs-badger-s3", "--dry-run"], &[("LOCALSTACK_IMAGE", "benchhost-test/moto")]);
    assert_eq!(out.status.code(), Some(2), "stderr: {}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(err.contains(r#"LOCALSTACK_IMAGE="benchhost-test/moto" (from the environment): image "benchhost-test/moto" is not pinned"#), "{err}");
    assert!(err.contains("hint: give LOCALSTACK_IMAGE a tag or a digest, e.g. LOCALSTACK_IMAGE=benchhost-test/moto:latest"), "{err}");
    assert!(err.contains("localstack/localstack:4.13.1"), "the hint names the default: {err}");
    assert!(!err.contains("defect of the plugin"), "{err}");

    let dir = tempfile::tempdir().unwrap();
    let env_file = dir.path().join("bench.env");
    std::fs::write(&env_file, "DITTOFS_IMAGE=UPPER/Case\n").unwrap();
    let out = benchhost(&["--env-file", env_file.to_str().unwrap(), "up", "dittofs-badger-fs", "--dry-run"], &[]);
    assert_eq!(out.status.code(), Some(2), "stderr: {}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(err.contains(&format!(r#"DITTOFS_IMAGE="UPPER/Case" (from {})"#, env_file.display())), "{err}");
}

/// A setting the user gave that the plugin refuses (its error starts with the setting's name)
/// is the user's: exit 2, the plugin's message, and where the value came from. The same
/// message from a default the user never set would stay the plugin's (exit 3).
#[test]
fn a_setting_the_plugin_refuses_is_the_users_error_with_its_origin() {
    let out = benchhost(&["up", "dittofs-badger-s3", "--dry-run"], &[("BENCH_CACHE_SIZE", "64MiB")]);
    assert_eq!(out.status.code(), Some(2), "stderr: {}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(err.contains("BENCH_CACHE_SIZE=64MiB is too small for DittoFS on S3"), "{err}");
    assert!(err.contains("(BENCH_CACHE_SIZE was set in the environment; plugin \"dittofs\" 0.1.0 refused it in compose-service)"), "{err}");
    assert!(!err.contains("defect of the plugin"), "{err}");
    let out = benchhost(&["up", "dittofs-badger-s3", "--dry-run"], &[("DITTOFS_JWT_SECRET", "short")]);
    assert_eq!(out.status.code(), Some(2), "stderr: {}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(err.contains("DITTOFS_JWT_SECRET must be at least 32 characters") && err.contains("set in the environment"), "{err}");
    assert!(!err.contains("short"), "the secret value is not echoed: {err}");
}

/// Values the real servers would refuse only after containers started are refused by the
/// plugins before anything runs, as the user's errors (exit 2) with their origin.
#[test]
fn settings_the_servers_would_refuse_later_are_the_users_errors_before_anything_starts() {
    for (setting, value, wanted) in [
        ("S3_BUCKET", "Bad_Bucket!", "S3_BUCKET=\"Bad_Bucket!\" is not a valid bucket name"),
        ("S3_ENDPOINT", "not-a-url", "S3_ENDPOINT=\"not-a-url\" is not an http:// or https:// URL"),
        ("DITTOFS_ADMIN_PASSWORD", "abc", "DITTOFS_ADMIN_PASSWORD must be at least 8 characters (it has 3)"),
        ("BENCH_CPU_LIMIT", "abc", "BENCH_CPU_LIMIT=\"abc\" (from the environment) is not a number of CPUs"),
    ] {
        let out = benchhost(&["up", "dittofs-badger-s3", "--dry-run"], &[(setting, value)]);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{setting}={value}: {err}");
        assert!(err.contains(wanted), "{setting}={value}: {err}");
        assert!(!err.contains("defect of the plugin"), "{err}");
    }
}

#[test]
fn unknown_profile_suggests_the_closest_one_and_only_when_close() {
    let out = benchhost(&["up", "ganehsa"], &[]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.contains("unknown profile \"ganehsa\"; did you mean \"ganesha\"?"), "{err}");
    let out = benchhost(&["mount", "samb", "--print"], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("did you mean \"samba\"?"), "{}", text(&out.stderr));
    let out = benchhost(&["up", "qqqqqqqq"], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(!text(&out.stderr).contains("did you mean"), "{}", text(&out.stderr));
}

#[test]
fn help_wraps_profile_descriptions_under_their_column() {
    let out = benchhost(&["--help"], &[("COLUMNS", "60")]);
    assert!(out.status.success());
    let help = text(&out.stdout);
    let table: Vec<&str> = help.lines().skip_while(|l| *l != "Profiles:").skip(1).take_while(|l| !l.is_empty()).collect();
    assert!(table.len() > 8, "no profile table in:\n{help}");
    let long = table.iter().map(|l| l.chars().count()).max().unwrap();
    assert!(long <= 60, "a profile line is {long} columns wide at COLUMNS=60:\n{}", table.join("\n"));
    // The description column starts after the longest profile name plus two spaces each side.
    let names: Vec<&str> = table.iter().filter(|l| !l.starts_with("   ")).map(|l| l.split_whitespace().next().unwrap()).collect();
    let column = names.iter().map(|n| n.len()).max().unwrap() + 4;
    let continued: Vec<&&str> = table.iter().filter(|l| l.starts_with("   ")).collect();
    assert!(!continued.is_empty(), "at 60 columns some description wraps:\n{}", table.join("\n"));
    for l in continued {
        let indent = l.len() - l.trim_start().len();
        assert_eq!(indent, column, "continuation not under its description: {l:?}\n{}", table.join("\n"));
    }
}

#[test]
fn a_memory_limit_above_this_machines_ram_is_warned_about() {
    let out = benchhost(&["up", "ganesha", "--dry-run"], &[("BENCH_MEM_LIMIT", "100000g")]);
    let err = text(&out.stderr);
    assert!(err.contains("warning: BENCH_MEM_LIMIT=100000g (from the environment) is more than this machine's"), "{err}");
    assert!(err.contains("GiB of RAM") && err.contains("hint: give at most"), "{err}");
    let out = benchhost(&["up", "ganesha", "--dry-run"], &[("BENCH_MEM_LIMIT", "1g")]);
    assert!(!text(&out.stderr).contains("warning: BENCH_MEM_LIMIT"), "{}", text(&out.stderr));
}

/// The built-in plugins refuse a bad setting from an `--env-file` as the user's error (exit 2),
/// naming the setting and the file, before anything starts.
#[test]
fn a_refused_setting_from_an_env_file_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let env_file = dir.path().join("bench.env");
    std::fs::write(&env_file, "SAMBA_USER=Bad\nPOSTGRES_DB=\"x y\"\nJUICEFS_MOUNT=rel/path\nS3_BUCKET=Bad_Bucket\n").unwrap();
    let file = env_file.to_str().unwrap();
    for (profile, plugin, setting, wanted) in [
        ("samba", "samba", "SAMBA_USER", "SAMBA_USER=\"Bad\" is not a valid user name"),
        ("postgres", "postgres", "POSTGRES_DB", "POSTGRES_DB=\"x y\" is not a valid name"),
        ("juicefs", "juicefs", "JUICEFS_MOUNT", "JUICEFS_MOUNT=\"rel/path\" must be an absolute host path without '..'"),
        ("localstack", "localstack", "S3_BUCKET", "S3_BUCKET=\"Bad_Bucket\" is not a valid bucket name"),
    ] {
        let out = benchhost(&["--env-file", file, "up", profile, "--dry-run"], &[]);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{profile}: {err}");
        assert!(err.starts_with(&format!("error: {wanted}")), "{profile}: {err}");
        assert!(err.contains(&format!("\n  ({setting} was set in {file}; plugin \"{plugin}\" 0.1.0 refused it in compose-service)\n")), "{profile}: {err}");
    }
}

/// A `.env` line that does not parse (Compose v2 refuses it too: a quote that never closes) is
/// named by file, line and setting, never by its value (it may be a secret); commands that need
/// no settings still work, with a warning. What Compose reads, benchhost reads alike:
/// tests/env_file.rs.
#[test]
fn an_env_file_that_does_not_parse_never_shows_the_value() {
    let dir = tempfile::tempdir().unwrap();
    let env_file = dir.path().join("leak.env");
    std::fs::write(&env_file, "BENCH_CPU_LIMIT=2\nexport SAMBA_PASSWORD=\"Sup3r Secret\\Pw\nSAMBA_USER=bench\n").unwrap();
    let file = env_file.to_str().unwrap();
    let up = benchhost(&["--env-file", file, "up", "samba", "--dry-run"], &[]);
    let err = text(&up.stderr);
    assert_eq!(up.status.code(), Some(2), "{err}");
    assert!(err.contains(&format!("error: {file}: line 2: cannot parse the value of SAMBA_PASSWORD (not shown: it may be a secret)")), "{err}");
    assert!(err.contains("it opens a \" quote that is never closed\n  hint: end the value with \", or write a \" inside it as \\\", e.g. SAMBA_PASSWORD=\"...\""), "{err}");
    assert!(!err.contains("Sup3r") && !err.contains("Secret"), "the value leaked: {err}");
    let list = benchhost(&["--env-file", file, "list"], &[]);
    let err = text(&list.stderr);
    assert!(list.status.success(), "{err}");
    assert!(err.contains("warning: ") && err.contains("line 2") && err.contains("list needs none"), "{err}");
    assert!(!err.contains("Sup3r") && text(&list.stdout).contains("samba"), "{err}");
}

#[test]
fn mount_commands_name_the_server_address_clients_reach() {
    let print = |profile: &str, os: &str, env: &[(&str, &str)]| {
        let out = benchhost(&["mount", profile, "--print", "--os", os], env);
        assert!(out.status.success(), "{profile} {os} {env:?}: {}", text(&out.stderr));
        text(&out.stdout)
    };
    // Default: where the ports are published on this machine.
    assert!(print("ganesha", "linux", &[]).contains(" 127.0.0.1:/export /mnt/benchhost/ganesha"));
    // Inside a QEMU guest the host is 10.0.2.2; every protocol's source says so.
    let vm = [("BENCH_SERVER_ADDRESS", "10.0.2.2")];
    assert!(print("ganesha", "linux", &vm).contains(" 10.0.2.2:/export /mnt/benchhost/ganesha"));
    assert!(print("rclone", "linux", &vm).contains(" 10.0.2.2:/ /mnt/benchhost/rclone"));
    assert!(print("samba", "linux", &vm).contains(" //10.0.2.2/export /mnt/benchhost/samba"));
    assert!(print("samba", "macos", &vm).contains(" //bench@10.0.2.2:22445/export "));
    // An IPv6 address is bracketed (and shell-quoted, for the brackets).
    assert!(print("ganesha", "linux", &[("BENCH_SERVER_ADDRESS", "fd00::5")]).contains(" '[fd00::5]:/export' "));
    // Unset, a specific bind address is where clients reach the ports; 0.0.0.0 is not an address to dial.
    assert!(print("ganesha", "linux", &[("BENCH_BIND_ADDRESS", "192.168.7.9")]).contains(" 192.168.7.9:/export "));
    assert!(print("ganesha", "linux", &[("BENCH_BIND_ADDRESS", "0.0.0.0")]).contains(" 127.0.0.1:/export "));
    // The dry run prints the same command.
    let dry = benchhost(&["up", "ganesha", "--dry-run"], &vm);
    assert!(text(&dry.stdout).contains(" 10.0.2.2:/export "), "{}", text(&dry.stdout));
    let bad = benchhost(&["mount", "ganesha", "--print"], &[("BENCH_SERVER_ADDRESS", "host name;rm")]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(text(&bad.stderr).contains("BENCH_SERVER_ADDRESS=\"host name;rm\" (from the environment) is neither an IP address nor a host name"), "{}", text(&bad.stderr));
}
