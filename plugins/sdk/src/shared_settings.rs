//! Settings several plugins share, declared and read the same way by each: the S3 ones
//! (LocalStack by default), the PostgreSQL ones (the `postgres` profile), and the `BENCH_*`
//! knobs benchhost sets alike for every system (cache size, write-ahead switch, profiler).

use crate::{size, Context, DependencyCondition, PluginInfo, Service, Setting};

impl PluginInfo {
    /// Declares the shared S3 settings (`S3_ENDPOINT`, `S3_BUCKET`, `S3_REGION`,
    /// `AWS_ACCESS_KEY_ID`, secret `AWS_SECRET_ACCESS_KEY`) with the defaults every S3-backed
    /// system uses: LocalStack at `http://localstack:4566`, bucket `bench`, keys `test`.
    pub fn s3_settings(self) -> Self {
        self.setting(Setting::new("S3_ENDPOINT").default_value("http://localstack:4566").description("S3 endpoint as seen from the container (anything but LocalStack drops the LocalStack dependency)"))
            .setting(Setting::new("S3_BUCKET").default_value("bench").description("S3 bucket of the benchmark data (LocalStack's bootstrap creates it)"))
            .setting(Setting::new("S3_REGION").default_value("us-east-1").description("S3 region"))
            .setting(Setting::new("AWS_ACCESS_KEY_ID").default_value("test").description("S3 access key (LocalStack accepts any)"))
            .setting(Setting::secret("AWS_SECRET_ACCESS_KEY").default_value("test").description("S3 secret key"))
    }

    /// Declares the shared PostgreSQL settings (`POSTGRES_USER`, secret `POSTGRES_PASSWORD`,
    /// `POSTGRES_DB`, all `bench` by default), as the `postgres` infrastructure profile uses them.
    pub fn postgres_settings(self) -> Self {
        self.setting(Setting::new("POSTGRES_USER").default_value("bench").description("PostgreSQL user (created by the postgres profile at first start)"))
            .setting(Setting::secret("POSTGRES_PASSWORD").default_value("bench").description("PostgreSQL password of POSTGRES_USER"))
            .setting(Setting::new("POSTGRES_DB").default_value("bench").description("PostgreSQL database (created at first start)"))
    }

    /// Declares `BENCH_CACHE_SIZE` (default `1GiB`), the one cache size every system gets;
    /// `how` says what it becomes in this system. Read it with [`cache_size`].
    pub fn cache_size_setting(self, how: &str) -> Self {
        self.setting(Setting::new("BENCH_CACHE_SIZE").default_value("1GiB").description(&format!("Local cache size, the same for every system ({how})")))
    }

    /// Declares `BENCH_WAL_ENABLED` (default empty: the system's own default). Only systems
    /// with a real write-ahead/durability switch declare it; benchhost refuses it for the rest.
    /// `how` says what 1 and 0 become in this system. Read it with [`Context::setting_flag`].
    pub fn wal_setting(self, how: &str) -> Self {
        self.setting(Setting::new("BENCH_WAL_ENABLED").description(&format!("1: durable writes (log/journal before acknowledging), 0: write-back; empty: the system's default ({how})")))
    }

    /// Declares `BENCH_PROFILING` (default `0`; `benchhost up --with-profiling` sets 1). Only
    /// systems with a profiler declare it; `how` says what it turns on.
    pub fn profiling_setting(self, how: &str) -> Self {
        self.setting(Setting::new("BENCH_PROFILING").default_value("0").description(&format!("1: turn on the system's profiler, as `up --with-profiling` does ({how})")))
    }
}

impl Context {
    /// Whether the declared setting `S3_ENDPOINT` points at the `localstack` infrastructure
    /// profile, i.e. the system must depend on it (any other endpoint is a real S3 provider).
    pub fn uses_localstack(&self) -> bool {
        self.setting("S3_ENDPOINT").contains("://localstack:")
    }

    /// `S3_BUCKET`, checked to hold only what every S3 server accepts in a bucket name
    /// (lowercase letters, digits, '-', '.'); the error names the setting and the value.
    pub fn s3_bucket(&self) -> Result<&str, String> {
        let bucket = self.setting("S3_BUCKET");
        check_bucket_chars(bucket).map(|()| bucket)
    }
}

impl Service {
    /// Waits for the `localstack` profile to be healthy when `S3_ENDPOINT` points at it
    /// ([`Context::uses_localstack`]); any other endpoint adds no dependency.
    pub fn s3_dependency(self, ctx: &Context) -> Self {
        self.when(ctx.uses_localstack(), |s| s.depends_on("localstack", DependencyCondition::Healthy))
    }
}

/// Checks that `bucket` holds only what every S3 server accepts in a bucket name (lowercase
/// letters, digits, '-', '.'), enough for a system that uses an existing bucket; the error
/// starts with the setting's name, `S3_BUCKET`.
pub fn check_bucket_chars(bucket: &str) -> Result<(), String> {
    if bucket.is_empty() || !bucket.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.') {
        return Err(format!("S3_BUCKET={bucket:?} is not a valid bucket name (lowercase letters, digits, '-', '.')"));
    }
    Ok(())
}

/// Checks `bucket` against S3's bucket naming rules (3 to 63 of lowercase letters, digits, '-'
/// and '.', starting and ending with a letter or digit), as the server that creates it needs;
/// the error starts with the setting's name, `S3_BUCKET`.
pub fn check_bucket_name(bucket: &str) -> Result<(), String> {
    let chars_ok = bucket.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.');
    let ends_ok = bucket.starts_with(|c: char| c.is_ascii_alphanumeric()) && bucket.ends_with(|c: char| c.is_ascii_alphanumeric());
    if (3..=63).contains(&bucket.len()) && chars_ok && ends_ok {
        Ok(())
    } else {
        Err(format!("S3_BUCKET={bucket:?} is not a valid bucket name (3 to 63 lowercase letters, digits, '-' and '.', starting and ending with a letter or digit)"))
    }
}

/// `BENCH_CACHE_SIZE`'s `value` in bytes; the error starts with the setting's name.
pub fn cache_size(value: &str) -> Result<u64, String> {
    size::parse_size(value).map_err(|e| format!("BENCH_CACHE_SIZE: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_rules() {
        assert_eq!(check_bucket_chars("bench-1.x"), Ok(()));
        assert!(check_bucket_chars("Bad_Bucket").unwrap_err().starts_with("S3_BUCKET=\"Bad_Bucket\""));
        assert!(check_bucket_chars("").is_err());
        assert_eq!(check_bucket_name("bench"), Ok(()));
        assert!(check_bucket_name("ab").is_err() && check_bucket_name("-ab").is_err() && check_bucket_name("ab.").is_err());
        assert!(cache_size("lots").unwrap_err().starts_with("BENCH_CACHE_SIZE: "));
    }
}
