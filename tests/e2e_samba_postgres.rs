//! End-to-end on the real Docker engine with real Samba and PostgreSQL (local images built from
//! Debian packages by `tests/images/build.sh samba` / `postgres`) and real clients: `smbclient`
//! (this kernel has no CIFS client) and `psql`.

use crate::support::docker::{self, benchhost, docker, engine_or_skip, force_clean, leftovers, text};
use std::path::Path;
use std::process::{Command, Output};
use std::time::Instant;

const SAMBA_IMAGE: &str = "benchhost-test/samba:latest";
const POSTGRES_IMAGE: &str = "benchhost-test/postgres:latest";

/// Runs the real SMB client against the published port 22445, forcing SMB3.
fn smbclient(share: &str, creds: Option<&str>, max_protocol: &str, commands: &str) -> Output {
    let mut cmd = Command::new("smbclient");
    cmd.args([share, "-p", "22445", "-m", max_protocol]);
    match creds {
        Some(c) => cmd.args(["-U", c]),
        None => cmd.arg("-N"),
    };
    cmd.args(["-c", commands]).env_remove("USER").env_remove("PASSWD").env_remove("PASSWD_FILE");
    cmd.output().expect("smbclient (apt-get install smbclient)")
}

fn both(o: &Output) -> String {
    format!("{}{}", text(&o.stdout), text(&o.stderr))
}

/// A few hundred KiB that no two offsets share by accident.
fn payload(len: usize) -> Vec<u8> {
    (0..len as u32).map(|i| (i.wrapping_mul(2654435761) >> 24) as u8 ^ (i as u8)).collect()
}

/// `put` then `get` over SMB as `creds`; asserts the bytes come back identical.
fn smb_roundtrip(dir: &Path, creds: &str, name: &str, data: &[u8]) {
    let src = dir.join(format!("{name}.in"));
    let back = dir.join(format!("{name}.back"));
    std::fs::write(&src, data).unwrap();
    let cmds = format!("put {} {name}; get {name} {}", src.display(), back.display());
    let out = smbclient("//127.0.0.1/export", Some(creds), "SMB3", &cmds);
    assert!(out.status.success(), "smbclient put/get as {creds}: {}", both(&out));
    let got = std::fs::read(&back).unwrap_or_else(|e| panic!("smbclient wrote no {}: {e}\n{}", back.display(), both(&out)));
    assert_eq!(got.len(), data.len(), "bytes read back over SMB: wrong length");
    assert!(got == data, "bytes read back over SMB differ");
}

/// The command lines of every process in the container (ps from procps in the test image).
fn container_argvs(container: &str) -> String {
    let ps = docker(&["exec", container, "ps", "-eo", "args"]);
    assert!(ps.status.success(), "ps in {container}: {}", text(&ps.stderr));
    text(&ps.stdout)
}

#[test]
fn e2e_samba_up_smb3_roundtrip_auth_down_leaves_nothing() {
    let Some(_engine) = engine_or_skip("e2e_samba_up_smb3_roundtrip_auth_down_leaves_nothing", Some(SAMBA_IMAGE)) else { return };
    force_clean("samba");
    let env = [("SAMBA_IMAGE", SAMBA_IMAGE)];

    let t = Instant::now();
    let up = benchhost(&["up", "samba"], &env);
    let up_secs = t.elapsed().as_secs_f64();
    let (out, err) = (text(&up.stdout), text(&up.stderr));
    assert!(up.status.success(), "up failed ({:?}):\n{err}", up.status.code());
    eprintln!("samba: `up` returned ready in {up_secs:.2}s");
    assert_eq!(
        out.trim(),
        "mkdir -p /mnt/benchhost/samba && mount -t cifs -o port=22445,vers=3.0,username=bench //127.0.0.1/export /mnt/benchhost/samba",
        "mount command on stdout"
    );
    assert!(err.contains("samba is up"), "{err}");
    assert!(err.contains("mount.cifs asks for SAMBA_PASSWORD"), "the note should say how the password is given:\n{err}");
    assert!(!out.contains("password"), "the secret must not be printed:\n{out}");

    // Right after `up`: the real SMB3 client writes and reads back 300 KiB byte-identical.
    let dir = tempfile::tempdir().unwrap();
    let data = payload(300 * 1024 + 17);
    smb_roundtrip(dir.path(), "bench%bench", "hello.bin", &data);

    // The file is on the export volume, owned by the Samba user.
    let inside = docker(&["exec", "benchhost-samba-samba", "stat", "-c", "%s %U", "/export/hello.bin"]);
    assert_eq!(text(&inside.stdout).trim(), format!("{} bench", data.len()), "{}", text(&inside.stderr));
    let on_volume = docker(&["inspect", "-f", "{{range .Mounts}}{{.Name}}:{{.Destination}} {{end}}", "benchhost-samba-samba"]);
    assert_eq!(text(&on_volume.stdout).trim(), "benchhost-samba-export:/export");

    // A listing shows it; a directory can be made and removed.
    let ls = smbclient("//127.0.0.1/export", Some("bench%bench"), "SMB3", "mkdir d1; ls");
    assert!(ls.status.success(), "{}", both(&ls));
    let listing = text(&ls.stdout);
    assert!(listing.contains("hello.bin") && listing.contains(&data.len().to_string()), "{listing}");
    assert!(listing.lines().any(|l| l.trim_start().starts_with("d1") && l.contains(" D ")), "{listing}");

    // A wrong password is refused (never mapped to guest), and so is an anonymous session.
    let wrong = smbclient("//127.0.0.1/export", Some("bench%wrong"), "SMB3", "ls");
    assert!(!wrong.status.success(), "wrong password accepted: {}", both(&wrong));
    assert!(both(&wrong).contains("NT_STATUS_LOGON_FAILURE"), "{}", both(&wrong));
    let guest = smbclient("//127.0.0.1/export", None, "SMB3", "ls");
    assert!(!guest.status.success(), "anonymous access to the share: {}", both(&guest));
    assert!(both(&guest).contains("NT_STATUS_ACCESS_DENIED") || both(&guest).contains("NT_STATUS_LOGON_FAILURE"), "{}", both(&guest));

    // The server speaks SMB3 only: a client limited to SMB 2.1 cannot negotiate.
    let smb2 = smbclient("//127.0.0.1/export", Some("bench%bench"), "SMB2_10", "ls");
    assert!(!smb2.status.success(), "SMB 2.1 negotiated: {}", both(&smb2));
    assert!(both(&smb2).contains("NT_STATUS_"), "{}", both(&smb2));

    // smbd runs as PID 1 in the foreground.
    let pid1 = docker(&["exec", "benchhost-samba-samba", "cat", "/proc/1/cmdline"]);
    assert!(text(&pid1.stdout).replace('\0', " ").starts_with("smbd --foreground --no-process-group --debug-stdout"), "{}", text(&pid1.stdout));

    // status --json: running and healthy (its check run now: Docker runs none), with its
    // network and volume.
    assert_eq!(docker::assert_no_docker_healthcheck("benchhost-samba-samba"), r#"["smbclient","-L","//127.0.0.1","-N","-m","SMB3"]"#);
    let st = benchhost(&["status", "--json"], &[]);
    let status: serde_json::Value = serde_json::from_slice(&st.stdout).expect("status --json is JSON");
    let entry = status.as_array().unwrap().iter().find(|p| p["profile"] == "samba").expect("samba in status");
    assert_eq!(entry["containers"][0]["name"], "benchhost-samba-samba");
    assert_eq!(entry["containers"][0]["state"], "running");
    assert_eq!(entry["containers"][0]["health"], "healthy");
    assert_eq!(entry["networks"], serde_json::json!(["benchhost-samba"]));
    assert_eq!(entry["volumes"], serde_json::json!(["benchhost-samba-export"]));

    let down = benchhost(&["down", "samba"], &[]);
    assert!(down.status.success(), "down: {}", text(&down.stderr));
    assert!(text(&down.stderr).contains("samba: removed 1 container(s), 1 network(s), 1 volume(s)"), "{}", text(&down.stderr));
    assert_eq!(leftovers("samba"), Vec::<String>::new());
}

#[test]
fn e2e_samba_custom_user_and_password() {
    let Some(_engine) = engine_or_skip("e2e_samba_custom_user_and_password", Some(SAMBA_IMAGE)) else { return };
    force_clean("samba");
    let password = "Sw0rd fish'n$chips";
    let env = [("SAMBA_IMAGE", SAMBA_IMAGE), ("SAMBA_USER", "carol"), ("SAMBA_PASSWORD", password)];
    let up = benchhost(&["up", "samba"], &env);
    let (out, err) = (text(&up.stdout), text(&up.stderr));
    assert!(up.status.success(), "up failed ({:?}):\n{err}", up.status.code());
    assert!(out.contains("-o port=22445,vers=3.0,username=carol //127.0.0.1/export"), "{out}");
    assert!(!out.contains(password) && !err.contains(password), "the password was printed:\n{out}\n{err}");

    let dir = tempfile::tempdir().unwrap();
    smb_roundtrip(dir.path(), &format!("carol%{password}"), "carol.bin", &payload(200 * 1024));
    let inside = docker(&["exec", "benchhost-samba-samba", "stat", "-c", "%s %U", "/export/carol.bin"]);
    assert_eq!(text(&inside.stdout).trim(), format!("{} carol", 200 * 1024));

    // The default user does not exist here, and carol's old-style default password is wrong.
    let bench = smbclient("//127.0.0.1/export", Some("bench%bench"), "SMB3", "ls");
    assert!(both(&bench).contains("NT_STATUS_LOGON_FAILURE"), "{}", both(&bench));
    let carol = smbclient("//127.0.0.1/export", Some("carol%bench"), "SMB3", "ls");
    assert!(both(&carol).contains("NT_STATUS_LOGON_FAILURE"), "{}", both(&carol));

    // The password is in no process's argv inside the container.
    let argvs = container_argvs("benchhost-samba-samba");
    assert!(argvs.contains("smbd"), "{argvs}");
    assert!(!argvs.contains("Sw0rd"), "password visible in ps:\n{argvs}");

    force_clean("samba");
    assert_eq!(leftovers("samba"), Vec::<String>::new());
}

#[test]
fn e2e_samba_rejects_a_bad_user_name_before_creating_anything() {
    let Some(_engine) = engine_or_skip("e2e_samba_rejects_a_bad_user_name_before_creating_anything", Some(SAMBA_IMAGE)) else { return };
    force_clean("samba");
    let up = benchhost(&["up", "samba"], &[("SAMBA_IMAGE", SAMBA_IMAGE), ("SAMBA_USER", "x]\n[evil")]);
    let err = text(&up.stderr);
    // A value the user gave and the plugin refuses is the user's error (exit 2), with its origin.
    assert_eq!(up.status.code(), Some(2), "{err}");
    assert!(err.contains("SAMBA_USER") && err.contains("not a valid user name"), "{err}");
    assert!(err.contains("(SAMBA_USER was set in the environment;"), "{err}");
    assert_eq!(leftovers("samba"), Vec::<String>::new());
}

/// `psql URL -tAc SQL` from the host, with no ambient libpq settings.
fn psql(url: &str, sql: &str) -> Output {
    let mut cmd = Command::new("psql");
    cmd.args(["-X", "-w", url, "-v", "ON_ERROR_STOP=1", "-tAc", sql]);
    for k in ["PGPASSWORD", "PGUSER", "PGDATABASE", "PGHOST", "PGPORT", "PGSERVICE", "PGPASSFILE"] {
        cmd.env_remove(k);
    }
    cmd.env("PGCONNECT_TIMEOUT", "5").output().expect("psql (apt-get install postgresql-client)")
}

/// Brings postgres up with `env`, asserting the infrastructure `up` prints no mount command.
fn postgres_up(env: &[(&str, &str)]) -> f64 {
    let t = Instant::now();
    let up = benchhost(&["up", "postgres"], env);
    let secs = t.elapsed().as_secs_f64();
    let (out, err) = (text(&up.stdout), text(&up.stderr));
    assert!(up.status.success(), "up failed ({:?}):\n{err}", up.status.code());
    assert!(err.contains("postgres is up"), "{err}");
    assert!(err.contains("benchhost-postgres-postgres ready"), "{err}");
    assert_eq!(out.trim(), "", "infrastructure has no mount command");
    secs
}

#[test]
fn e2e_postgres_up_login_query_auth_down_leaves_nothing() {
    let Some(_engine) = engine_or_skip("e2e_postgres_up_login_query_auth_down_leaves_nothing", Some(POSTGRES_IMAGE)) else { return };
    force_clean("postgres");
    let secs = postgres_up(&[("POSTGRES_IMAGE", POSTGRES_IMAGE)]);
    eprintln!("postgres: `up` returned ready in {secs:.2}s");

    // Right after `up`, from the host through the published port, as the default user.
    let url = "postgresql://bench:bench@127.0.0.1:25432/bench";
    let who = psql(url, "select current_user || ' ' || current_database()");
    assert!(who.status.success(), "psql: {}", both(&who));
    assert_eq!(text(&who.stdout).trim(), "bench bench");
    // The version the plugin's default (`postgres:16-alpine`) pins: 16, the local image too.
    let ver = psql(url, "show server_version_num");
    assert!(ver.status.success(), "psql: {}", both(&ver));
    assert!(text(&ver.stdout).trim().starts_with("16"), "not PostgreSQL 16: {}", both(&ver));

    // A real database: write, then read back in a second session.
    let w = psql(url, "create table t(id int primary key, v text); insert into t select g, md5(g::text) from generate_series(1, 1000) g");
    assert!(w.status.success(), "{}", both(&w));
    let r = psql(url, "select count(*), min(id), max(id), bool_and(v = md5(id::text)) from t");
    assert_eq!(text(&r.stdout).trim(), "1000|1|1000|t", "{}", both(&r));

    // A wrong password is refused over TCP (scram-sha-256 for non-local hosts).
    let wrong = psql("postgresql://bench:nope@127.0.0.1:25432/bench", "select 1");
    assert!(!wrong.status.success(), "wrong password accepted: {}", both(&wrong));
    assert!(both(&wrong).contains("password authentication failed for user \"bench\""), "{}", both(&wrong));

    // What the service looks like: the volume on PGDATA, its healthcheck (in a label, not
    // Docker's) passing.
    let name = "benchhost-postgres-postgres";
    let mounts = docker(&["inspect", "-f", "{{range .Mounts}}{{.Name}}:{{.Destination}} {{end}}", name]);
    assert_eq!(text(&mounts.stdout).trim(), "benchhost-postgres-data:/var/lib/postgresql/data");
    let pgdata = docker(&["exec", name, "sh", "-c", "test -s \"$PGDATA/PG_VERSION\" && echo \"$PGDATA\""]);
    assert_eq!(text(&pgdata.stdout).trim(), "/var/lib/postgresql/data", "{}", text(&pgdata.stderr));
    assert_eq!(docker::assert_no_docker_healthcheck(name), r#"["pg_isready","-h","127.0.0.1","-p","5432","-U","bench","-d","bench"]"#);
    let entry = docker::status_of(name);
    assert_eq!((entry["health"].as_str(), entry["health_output"].as_str()), (Some("healthy"), None), "{entry}");
    let stop = docker(&["inspect", "-f", "{{.Config.StopSignal}}", name]);
    assert_eq!(text(&stop.stdout).trim(), "SIGINT");
    // Reachable by the profile name on the profile network (how dependents connect).
    let aliases = docker(&["inspect", "-f", "{{json (index .NetworkSettings.Networks \"benchhost-postgres\").Aliases}}", name]);
    assert!(text(&aliases.stdout).contains("\"postgres\""), "{}", text(&aliases.stdout));

    let down = benchhost(&["down", "postgres"], &[]);
    assert!(down.status.success(), "down: {}", text(&down.stderr));
    assert!(text(&down.stderr).contains("postgres: removed 1 container(s), 1 network(s), 1 volume(s)"), "{}", text(&down.stderr));
    assert_eq!(leftovers("postgres"), Vec::<String>::new());

    // Nothing survives `down`: the server is gone.
    let gone = psql(url, "select 1");
    assert!(!gone.status.success(), "still answering after down: {}", both(&gone));
}

#[test]
fn e2e_postgres_custom_user_password_and_database() {
    let Some(_engine) = engine_or_skip("e2e_postgres_custom_user_password_and_database", Some(POSTGRES_IMAGE)) else { return };
    force_clean("postgres");
    let env = [
        ("POSTGRES_IMAGE", POSTGRES_IMAGE),
        ("POSTGRES_USER", "alice"),
        ("POSTGRES_PASSWORD", "Al1ce-s3cret"),
        ("POSTGRES_DB", "wonderland"),
    ];
    postgres_up(&env);

    let who = psql("postgresql://alice:Al1ce-s3cret@127.0.0.1:25432/wonderland", "select current_user || ' ' || current_database()");
    assert!(who.status.success(), "psql as alice: {}", both(&who));
    assert_eq!(text(&who.stdout).trim(), "alice wonderland");
    // alice is the superuser the image created.
    let su = psql("postgresql://alice:Al1ce-s3cret@127.0.0.1:25432/wonderland", "select rolsuper from pg_roles where rolname = current_user");
    assert_eq!(text(&su.stdout).trim(), "t", "{}", both(&su));

    // The defaults do not exist in this instance.
    let bench = psql("postgresql://bench:bench@127.0.0.1:25432/bench", "select 1");
    assert!(!bench.status.success(), "{}", both(&bench));
    assert!(both(&bench).contains("password authentication failed for user \"bench\""), "{}", both(&bench));
    let wrong = psql("postgresql://alice:bench@127.0.0.1:25432/wonderland", "select 1");
    assert!(both(&wrong).contains("password authentication failed for user \"alice\""), "{}", both(&wrong));

    // The password is in no process's argv inside the container (the probes read it from env).
    let ps = docker(&["exec", "benchhost-postgres-postgres", "sh", "-c", "cat /proc/[0-9]*/cmdline | tr '\\0' ' '"]);
    let argvs = text(&ps.stdout);
    assert!(argvs.contains("postgres"), "{argvs}");
    assert!(!argvs.contains("Al1ce-s3cret"), "password visible in argv:\n{argvs}");

    force_clean("postgres");
    assert_eq!(leftovers("postgres"), Vec::<String>::new());
}

#[test]
fn e2e_postgres_rejects_bad_settings_before_creating_anything() {
    let Some(_engine) = engine_or_skip("e2e_postgres_rejects_bad_settings_before_creating_anything", Some(POSTGRES_IMAGE)) else { return };
    force_clean("postgres");
    let up = benchhost(&["up", "postgres"], &[("POSTGRES_IMAGE", POSTGRES_IMAGE), ("POSTGRES_DB", "x'; drop")]);
    let err = text(&up.stderr);
    assert_eq!(up.status.code(), Some(2), "{err}");
    assert!(err.contains("POSTGRES_DB") && err.contains("not a valid name"), "{err}");
    assert!(err.contains("(POSTGRES_DB was set in the environment;"), "{err}");
    // (An empty one is unset, so its default applies, as in Compose: a password on two lines is
    // what it refuses.)
    let up = benchhost(&["up", "postgres"], &[("POSTGRES_IMAGE", POSTGRES_IMAGE), ("POSTGRES_PASSWORD", "two\nlines")]);
    let err = text(&up.stderr);
    assert_eq!(up.status.code(), Some(2), "{err}");
    assert!(err.contains("POSTGRES_PASSWORD must be non-empty and on one line"), "{err}");
    assert_eq!(leftovers("postgres"), Vec::<String>::new());
}
