//! Reading the [`Context`] every operation after `describe` receives: the selected profile and
//! the resolved values of the settings the plugin declared.

use crate::Context;

impl Context {
    /// The resolved value of a declared setting, or `""` when the plugin did not declare it
    /// (the host only passes declared settings).
    ///
    /// ```ignore
    /// let image = ctx.setting("MYNFS_IMAGE"); // the user's value, or the declared default
    /// ```
    pub fn setting(&self, name: &str) -> &str {
        self.settings.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str()).unwrap_or("")
    }

    /// `Err` naming the profile and the plugin's profiles when `ctx.profile` is not in `known`.
    pub fn check_profile(&self, known: &[&str]) -> Result<(), String> {
        self.select(known, |k| k).map(|_| ())
    }

    /// The item of `items` whose `name` is `ctx.profile`, for plugins with one table row per
    /// profile; the error is [`Context::check_profile`]'s.
    ///
    /// ```ignore
    /// let variant = ctx.select(VARIANTS, |v| v.name)?;
    /// ```
    pub fn select<'a, T>(&self, items: &'a [T], name: impl Fn(&T) -> &str) -> Result<&'a T, String> {
        items.iter().find(|i| name(i) == self.profile).ok_or_else(|| {
            let names: Vec<&str> = items.iter().map(&name).collect();
            format!("unknown profile {:?} (this plugin has: {})", self.profile, names.join(", "))
        })
    }

    /// The value of a declared setting, or `None` when it is a `${NAME:-default}` placeholder:
    /// `benchhost compose` renders docker-compose.yml by calling `compose_service` with
    /// placeholders, so a check of the value belongs behind this.
    pub fn concrete_setting(&self, name: &str) -> Option<&str> {
        Some(self.setting(name)).filter(|v| !v.starts_with("${"))
    }

    /// A declared setting that must be non-empty and one line (a password a tool reads from
    /// one line of stdin or a file); the error is `NAME must be non-empty and on one line`.
    pub fn setting_one_line(&self, name: &str) -> Result<&str, String> {
        let v = self.setting(name);
        if v.is_empty() || v.contains(['\n', '\r', '\0']) {
            return Err(format!("{name} must be non-empty and on one line"));
        }
        Ok(v)
    }

    /// A declared yes/no setting (`1`/`true`/`yes`/`on`, `0`/`false`/`no`/`off`); `None` when
    /// empty (the system's own default). The error starts with `NAME=`, so benchhost reads it
    /// as the user's mistake when the user gave the value (exit 2, naming where it came from).
    pub fn setting_flag(&self, name: &str) -> Result<Option<bool>, String> {
        match self.setting(name).trim().to_ascii_lowercase().as_str() {
            "" => Ok(None),
            "1" | "true" | "yes" | "on" => Ok(Some(true)),
            "0" | "false" | "no" | "off" => Ok(Some(false)),
            other => Err(format!("{name}={other:?} is not a yes/no value; use 1 or 0")),
        }
    }

    /// A declared setting parsed as a number; the error starts with `NAME=` (the user's mistake
    /// when the user gave the value, as for [`Context::setting_flag`]).
    pub fn setting_u64(&self, name: &str) -> Result<u64, String> {
        let v = self.setting(name);
        v.trim().parse().map_err(|_| format!("{name}={v:?} is not a whole number"))
    }
}

#[cfg(test)]
mod tests {
    use crate::{Context, HostOs};

    fn ctx(profile: &str, settings: &[(&str, &str)]) -> Context {
        Context { profile: profile.into(), settings: settings.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(), host_os: HostOs::Linux }
    }

    #[test]
    fn profiles_are_selected_by_name() {
        let c = ctx("b", &[]);
        assert_eq!(c.select(&[("a", 1), ("b", 2)], |v| v.0), Ok(&("b", 2)));
        assert_eq!(c.check_profile(&["a", "b"]), Ok(()));
        assert_eq!(c.check_profile(&["a", "c"]), Err("unknown profile \"b\" (this plugin has: a, c)".into()));
    }

    #[test]
    fn settings_read_as_declared() {
        let c = ctx("p", &[("PW", "a\nb"), ("B", "${B:-bench}"), ("F", "Yes"), ("N", "x")]);
        assert_eq!(c.setting("MISSING"), "");
        assert_eq!(c.concrete_setting("B"), None);
        assert_eq!(c.concrete_setting("F"), Some("Yes"));
        assert_eq!(c.setting_one_line("PW"), Err("PW must be non-empty and on one line".into()));
        assert!(c.setting_one_line("MISSING").is_err());
        assert_eq!(c.setting_flag("F"), Ok(Some(true)));
        assert!(c.setting_u64("N").unwrap_err().contains("N=\"x\""));
    }
}
