//! One `.env` serves benchhost and the generated `docker-compose.yml`, so benchhost must read it
//! as Compose v2 does. Each case writes a `.env` (and sets a process environment), then:
//! - the real Compose v2 resolves a tiny compose file whose environment holds
//!   `${NAME:-default}` for each setting (as the generated file writes them):
//!   `compose --env-file F -f tiny.yml config --format json`;
//! - the benchhost binary resolves the same file: `benchhost --env-file F up env-echo --dry-run
//!   --json`, where the `env-echo` fixture (`tests/fixtures/env-echo`) puts every setting it
//!   received into its container's environment, and the container's `NanoCpus` is
//!   `BENCH_CPU_LIMIT` as the host applied it;
//!
//! and every value must be the same; a file Compose refuses, benchhost must refuse too (exit 2,
//! naming the line, never the value). Compose v2 is required: with `BENCHHOST_REQUIRE_DOCKER=1`
//! a missing one fails the test.

use crate::support::corpus::fixture_path;
use crate::support::docker::{benchhost_command, compose_v2_or_skip, text};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

/// The settings compared: each with the default the `env-echo` fixture declares (the host's, for
/// `BENCH_CPU_LIMIT`).
const SETTINGS: &[(&str, &str)] = &[("ENV_ECHO_A", "a-default"), ("ENV_ECHO_B", "b-default"), ("S3_REGION", "us-east-1"), ("BENCH_CPU_LIMIT", "2")];

/// `(name, value)` pairs of a process environment.
type Environment = &'static [(&'static str, &'static str)];

/// `(case, .env content, process environment)`. The value under test is usually `ENV_ECHO_A`;
/// a case may set the others too. `FROM_ENV` and `UNSET` are just variables to interpolate.
const CASES: &[(&str, &str, Environment)] = &[
    ("nothing set: every default", "", &[]),
    ("empty value in .env: the default", "S3_REGION=\nENV_ECHO_A=\n", &[]),
    ("empty BENCH_CPU_LIMIT in .env: 2", "BENCH_CPU_LIMIT=\n", &[]),
    ("empty value in the environment: the default", "", &[("BENCH_CPU_LIMIT", ""), ("ENV_ECHO_A", "")]),
    ("empty in the environment hides .env", "ENV_ECHO_A=from-file\nBENCH_CPU_LIMIT=4\n", &[("ENV_ECHO_A", ""), ("BENCH_CPU_LIMIT", "")]),
    ("the environment wins", "ENV_ECHO_A=from-file\nBENCH_CPU_LIMIT=4\n", &[("ENV_ECHO_A", "from-env"), ("BENCH_CPU_LIMIT", "1.5")]),
    ("${UNSET:-dflt} in a value", "ENV_ECHO_A=${UNSET:-dflt}\n", &[]),
    ("${VAR} and $VAR from an earlier line", "ENV_ECHO_B=b\nENV_ECHO_A=x${ENV_ECHO_B}y$ENV_ECHO_B\n", &[]),
    ("$VAR from the process environment", "ENV_ECHO_A=$FROM_ENV\n", &[("FROM_ENV", "env-value")]),
    ("the environment over an earlier line", "FROM_ENV=file-value\nENV_ECHO_A=$FROM_ENV\n", &[("FROM_ENV", "env-value")]),
    ("- :- + :+ on an empty variable", "E=\nENV_ECHO_A=${E-d}|${E:-d}|${E+a}|${E:+a}|${UNSET-u}|${UNSET+a}\n", &[]),
    ("nested default", "ENV_ECHO_A=${UNSET:-${ENV_ECHO_B:-inner}}\n", &[]),
    ("$$ and \\$", "ENV_ECHO_A=cost $$5\nENV_ECHO_B=\"\\$HOME\"\n", &[]),
    ("unquoted with a space", "ENV_ECHO_A=abc def\n", &[]),
    ("unquoted backslash", "ENV_ECHO_A=a\\b\n", &[]),
    ("unquoted Windows path", "ENV_ECHO_A=C:\\path\n", &[]),
    ("unquoted single quote", "ENV_ECHO_A=a'b\n", &[]),
    ("unquoted double quote", "ENV_ECHO_A=a\"b\n", &[]),
    ("unquoted tab", "ENV_ECHO_A=a\tb\n", &[]),
    ("\\t in double quotes", "ENV_ECHO_A=\"a\\tb\"\n", &[]),
    ("UTF-8 byte order mark", "\u{feff}ENV_ECHO_A=after-bom\n", &[]),
    ("a bare KEY line", "ENV_ECHO_B\nENV_ECHO_A=after-bare\n", &[]),
    ("a bare KEY line from the environment", "FROM_ENV\nENV_ECHO_A=${FROM_ENV:-unset}\n", &[("FROM_ENV", "env-value")]),
    ("unquoted double backslash", "ENV_ECHO_A=a\\\\b\n", &[]),
    ("unquoted \\n", "ENV_ECHO_A=a\\nb\n", &[]),
    ("export prefix", "export ENV_ECHO_A=exported\n", &[]),
    ("inline comment", "ENV_ECHO_A=value # comment\nENV_ECHO_B=a#b\n", &[]),
    ("# inside quotes", "ENV_ECHO_A=\"a # b\"\nENV_ECHO_B='c # d'\n", &[]),
    ("multi-line double-quoted", "ENV_ECHO_A=\"line one\nline two\"\nENV_ECHO_B=after\n", &[]),
    ("single quotes are literal", "ENV_ECHO_A='$FROM_ENV \\n ${UNSET:-x} \\\\'\n", &[("FROM_ENV", "env-value")]),
    ("escapes in double quotes", "ENV_ECHO_A=\"say \\\"hi\\\" a\\\\b \\0101 \\x\"\n", &[]),
    ("CRLF line endings", "ENV_ECHO_A=crlf\r\nENV_ECHO_B=\"quoted\"\r\n", &[]),
    ("comments, blank and indented lines", "# a comment\n\n   # indented comment\n  ENV_ECHO_A=indented\n", &[]),
    ("spaces around =", "ENV_ECHO_A = spaced  \n", &[]),
    ("NAME: value", "ENV_ECHO_A: colon\n", &[]),
    ("a later line wins", "ENV_ECHO_A=first\nENV_ECHO_A=second\n", &[]),
    ("no newline at the end", "ENV_ECHO_A=last", &[]),
    ("text after a closing quote is the next statement", "ENV_ECHO_A=\"x\" ENV_ECHO_B=y\n", &[]),
    ("empty quotes: the default", "ENV_ECHO_A=\"\"\nENV_ECHO_B=''\n", &[]),
    ("a quoted value, then a comment", "ENV_ECHO_A=\"v\" # c\nENV_ECHO_B='x'#c\n", &[]),
    ("a tab before # is no comment", "ENV_ECHO_A=a\t#b\n", &[]),
    ("a value starting with #", "ENV_ECHO_A=#x\nENV_ECHO_B= #y\n", &[]),
    ("= inside a value", "ENV_ECHO_A=a=b=c\n", &[]),
    ("octal escapes, good and bad", "ENV_ECHO_A=\"\\0 \\01 \\012 \\0123 \\0777 \\0891 \\c \\a\"\n", &[]),
    ("braces in a default", "ENV_ECHO_A=${UNSET:-{x}}|${UNSET:-a:b}\nENV_ECHO_B=${UNSET:-x}}\n", &[]),
    ("+ :+ ? :? on a set variable", "ENV_ECHO_B=x\nENV_ECHO_A=${ENV_ECHO_B:+alt}${ENV_ECHO_B+alt2}${ENV_ECHO_B:?no}\n", &[]),
    ("$ before no name", "ENV_ECHO_A=$1 $ a$ ${UNSET:-x y}\n", &[]),
    ("interpolation in a multi-line value", "ENV_ECHO_A=\"multi\n${UNSET:-d}\nend\"\n", &[]),
    ("a value naming itself takes the environment's", "ENV_ECHO_A=$ENV_ECHO_A-more\n", &[("ENV_ECHO_A", "env")]),
    ("other names: dashes, dots, brackets, letters", "ENV-ECHO=1\nA.B=2\n[A]=3\n\u{c9}T\u{c9}=4\nENV_ECHO_A=${ENV-ECHO}\n", &[]),
];

/// `(case, .env content, its line Compose and benchhost refuse)`; each value holds `s3cret`,
/// which benchhost must not show.
const REFUSED: &[(&str, &str, usize)] = &[
    ("an unterminated double quote", "ENV_ECHO_B=ok\nENV_ECHO_A=\"s3cret\nENV_ECHO_B=x\n", 2),
    ("an unterminated single quote", "ENV_ECHO_A='s3cret\n", 1),
    ("a name with a space", "ENV_ECHO_A s3cret=x\n", 1),
    ("${ that is no variable", "ENV_ECHO_A=s3cret${\n", 1),
    ("${UNSET:?message}", "ENV_ECHO_A=${UNSET:?s3cret}\n", 1),
    ("${EMPTY:?message}", "EMPTY=\nENV_ECHO_A=s3cret${EMPTY:?needed}\n", 2),
];

/// `command` with only what a run needs from this environment, plus `env`.
fn with_env(mut command: Command, env: &[(&str, &str)]) -> Command {
    command.env_clear();
    for name in ["PATH", "HOME", "XDG_CACHE_HOME", "TMPDIR"] {
        if let Some(v) = std::env::var_os(name) {
            command.env(name, v);
        }
    }
    command.envs(env.iter().copied());
    command
}

/// Compose's reading of `env_file`: each setting's value, or its error output.
fn compose_reading(compose: &[String], dir: &Path, env_file: &Path, env: &[(&str, &str)]) -> Result<BTreeMap<String, String>, String> {
    let yml = dir.join("tiny.yml");
    let environment: String = SETTINGS.iter().map(|(name, default)| format!("      {name}: \"${{{name}:-{default}}}\"\n")).collect();
    std::fs::write(&yml, format!("services:\n  echo:\n    image: busybox:1\n    environment:\n{environment}")).unwrap();
    let mut cmd = Command::new(&compose[0]);
    cmd.args(&compose[1..]).args(["--project-name", "env-file", "--env-file", env_file.to_str().unwrap(), "-f", yml.to_str().unwrap(), "config", "--format", "json"]);
    let out = with_env(cmd, env).output().unwrap();
    if !out.status.success() {
        return Err(text(&out.stderr));
    }
    let config: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("compose config --format json: {e}: {}", text(&out.stdout)));
    let map = config["services"]["echo"]["environment"].as_object().unwrap_or_else(|| panic!("no environment in {config}"));
    // `config` writes a file Compose could read again, so each literal `$` comes out as `$$`.
    Ok(map.iter().map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().replace("$$", "$"))).collect())
}

/// benchhost's reading of `env_file`: what the env-echo plugin received, and `BENCH_CPU_LIMIT`
/// as `NanoCpus` / 1e9; or its exit code and stderr.
fn benchhost_reading(env_file: &Path, env: &[(&str, &str)]) -> Result<BTreeMap<String, String>, (Option<i32>, String)> {
    let cmd = benchhost_command(&["--env-file", env_file.to_str().unwrap(), "up", "env-echo", "--dry-run", "--json"]);
    let scratch = std::env::temp_dir().join("benchhost-tests");
    let plugin = fixture_path("env-echo").display().to_string();
    let mut base = vec![
        ("BENCHHOST_PLUGIN_PATH", plugin.as_str()),
        // No engine: the dry run then never sees another test's containers.
        ("DOCKER_HOST", "unix:///nonexistent/benchhost-env-file.sock"),
    ];
    let results = scratch.join("results").display().to_string();
    let state = scratch.join("state").display().to_string();
    base.extend([("BENCH_RESULTS_DIR", results.as_str()), ("BENCHHOST_STATE_DIR", state.as_str())]);
    base.extend(env.iter().copied());
    let out = with_env(cmd, &base).output().unwrap();
    if !out.status.success() {
        return Err((out.status.code(), text(&out.stderr)));
    }
    let actions: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("up --dry-run --json: {e}: {}", text(&out.stdout)));
    let create = &actions.as_array().unwrap().iter().find(|a| a["action"] == "container").expect("a container action")["request"]["create"];
    let mut reading: BTreeMap<String, String> = create["Env"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e.as_str().unwrap().split_once('='))
        .filter(|(k, _)| SETTINGS.iter().any(|(name, _)| name == k))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let nano = create["HostConfig"]["NanoCpus"].as_i64().expect("NanoCpus");
    reading.insert("BENCH_CPU_LIMIT".into(), (nano as f64 / 1e9).to_string());
    Ok(reading)
}

#[test]
fn env_file_is_read_as_compose_v2_reads_it() {
    let Some(compose) = compose_v2_or_skip("env_file_is_read_as_compose_v2_reads_it") else { return };
    let mut differ = Vec::new();
    for (case, content, env) in CASES {
        let dir = tempfile::tempdir().unwrap();
        let env_file = dir.path().join("bench.env");
        std::fs::write(&env_file, content).unwrap();
        let mut theirs = match compose_reading(&compose, dir.path(), &env_file, env) {
            Ok(v) => v,
            Err(e) => panic!("{case}: Compose refused the file, so the case tests nothing:\n{e}"),
        };
        // Compose writes the number as given; benchhost's is the number it parsed.
        let cpus = theirs["BENCH_CPU_LIMIT"].parse::<f64>().map(|c| c.to_string()).unwrap_or_else(|_| theirs["BENCH_CPU_LIMIT"].clone());
        theirs.insert("BENCH_CPU_LIMIT".into(), cpus);
        match benchhost_reading(&env_file, env) {
            Ok(ours) if ours == theirs => {}
            Ok(ours) => {
                let names = theirs.iter().filter(|(name, value)| ours.get(*name) != Some(value));
                let what: Vec<String> = names.map(|(name, value)| format!("{name}: Compose {value:?}, benchhost {:?}", ours.get(name))).collect();
                differ.push(format!("{case}: {}", what.join("; ")));
            }
            Err((code, err)) => differ.push(format!("{case}: Compose {theirs:?}, benchhost refused (exit {code:?}): {}", err.trim())),
        }
    }
    for (case, content, line) in REFUSED {
        let dir = tempfile::tempdir().unwrap();
        let env_file = dir.path().join("bench.env");
        std::fs::write(&env_file, content).unwrap();
        if let Ok(theirs) = compose_reading(&compose, dir.path(), &env_file, &[]) {
            panic!("{case}: Compose accepted the file ({theirs:?}), so the case tests nothing");
        }
        let wanted = format!("error: {}: line {line}: ", env_file.display());
        match benchhost_reading(&env_file, &[]) {
            Err((Some(2), err)) if err.contains(&wanted) && err.contains("\n  hint: ") && !err.contains("s3cret") => {}
            Err((code, err)) => differ.push(format!("{case}: Compose refused it; benchhost exit {code:?}, wanted 2 with {wanted:?}, a hint and no value:\n{err}")),
            Ok(ours) => differ.push(format!("{case}: Compose refused it, benchhost read {ours:?}")),
        }
    }
    let total = CASES.len() + REFUSED.len();
    assert!(differ.is_empty(), "{} of {total} cases differ from Compose v2:\n{}", differ.len(), differ.join("\n"));
}
