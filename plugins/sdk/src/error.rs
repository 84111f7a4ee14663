//! The error of a plugin function, saying whose mistake it is: a setting the user gave
//! ([`Error::setting`], benchhost exits 2 naming the setting and where its value came from) or
//! the plugin's own defect ([`Error::defect`], exit 3).

use std::fmt;

/// Why a plugin function failed, and whose mistake it is.
///
/// ```ignore
/// if !valid_bucket(bucket) {
///     return Err(Error::setting("S3_BUCKET", format!("S3_BUCKET={bucket:?} is not a valid bucket name")));
/// }
/// let r = host::Http::get("app", 8080, "/health").send()?; // a host error: a defect
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error(Kind);

#[derive(Clone, Debug, PartialEq, Eq)]
enum Kind {
    Setting { name: String, message: String },
    Defect(String),
    /// A plain message (`From<String>`), read as plugins' messages always were.
    Text(String),
}

impl Error {
    /// The user's mistake: the value they gave for setting `name` (one the plugin declares) is
    /// refused. `message` is the whole sentence shown, starting with the setting, e.g.
    /// `S3_BUCKET="Bad" is not a valid bucket name`. A setting the user did not give (its
    /// default applies), or one the plugin does not declare, is the plugin's defect. Meant for
    /// `compose_service`, which benchhost calls first with every setting.
    pub fn setting(name: impl Into<String>, message: impl Into<String>) -> Self {
        Error(Kind::Setting { name: name.into(), message: message.into() })
    }

    /// The plugin's own mistake, or its system's (a server that answers wrongly): everything
    /// that is not a setting the user gave.
    pub fn defect(message: impl Into<String>) -> Self {
        Error(Kind::Defect(message.into()))
    }

    /// The message shown to the user.
    pub fn message(&self) -> &str {
        match &self.0 {
            Kind::Setting { message, .. } | Kind::Defect(message) | Kind::Text(message) => message,
        }
    }

    /// The setting this error blames, if it is a setting error.
    pub fn setting_name(&self) -> Option<&str> {
        match &self.0 {
            Kind::Setting { name, .. } => Some(name),
            _ => None,
        }
    }

    /// This error as the contract sends it. A plain message is read as benchhost reads a 0.1.0
    /// plugin's: from `compose_service` (`declared` gives the plugin's settings), one that starts
    /// by naming a declared setting (`NAME=…`, `NAME: …`, `NAME must …`) is that setting's
    /// error; anything else is a defect. So a plugin that returns `String`s keeps its exit codes.
    #[doc(hidden)]
    #[cfg(not(feature = "contract-v0-1"))]
    pub fn __into_contract(self, declared: Option<&dyn Fn() -> Vec<String>>) -> crate::bindings::benchhost::plugin::types::PluginError {
        use crate::bindings::benchhost::plugin::types::{PluginError, SettingError};
        match self.0 {
            Kind::Setting { name, message } => PluginError::Setting(SettingError { name, message }),
            Kind::Defect(message) => PluginError::Defect(message),
            Kind::Text(message) => {
                let named = declared.map(|d| d()).unwrap_or_default().into_iter().find(|name| {
                    message.strip_prefix(name.as_str()).is_some_and(|rest| rest.starts_with('=') || rest.starts_with(": ") || rest.starts_with(' '))
                });
                match named {
                    Some(name) => PluginError::Setting(SettingError { name, message }),
                    None => PluginError::Defect(message),
                }
            }
        }
    }

    /// This error as contract 0.1.0 sends it: its message (benchhost reads whose mistake it is
    /// from the text).
    #[doc(hidden)]
    #[cfg(feature = "contract-v0-1")]
    pub fn __into_contract(self, _declared: Option<&dyn Fn() -> Vec<String>>) -> String {
        self.message().to_string()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message())
    }
}

impl std::error::Error for Error {}

/// A plain message: see [`Error::__into_contract`] for whose mistake it is taken to be.
impl From<String> for Error {
    fn from(message: String) -> Self {
        Error(Kind::Text(message))
    }
}

impl From<&str> for Error {
    fn from(message: &str) -> Self {
        Error(Kind::Text(message.to_string()))
    }
}

#[cfg(all(test, not(feature = "contract-v0-1")))]
mod tests {
    use super::*;
    use crate::bindings::benchhost::plugin::types::{PluginError, SettingError};

    fn declared() -> Vec<String> {
        vec!["S3_BUCKET".into()]
    }

    #[test]
    fn typed_errors_are_sent_as_they_are() {
        let e = Error::setting("S3_BUCKET", "S3_BUCKET=\"X\" is bad");
        assert_eq!(e.setting_name(), Some("S3_BUCKET"));
        assert!(matches!(e.__into_contract(None), PluginError::Setting(SettingError { name, message }) if name == "S3_BUCKET" && message == "S3_BUCKET=\"X\" is bad"));
        // A defect stays one even when it starts with a setting's name.
        assert!(matches!(Error::defect("S3_BUCKET=x broke the server").__into_contract(Some(&declared)), PluginError::Defect(m) if m == "S3_BUCKET=x broke the server"));
    }

    #[test]
    fn plain_messages_are_read_as_before() {
        let from_compose = |m: &str| Error::from(m).__into_contract(Some(&declared));
        assert!(matches!(from_compose("S3_BUCKET=\"X\" is bad"), PluginError::Setting(SettingError { name, .. }) if name == "S3_BUCKET"));
        assert!(matches!(from_compose("S3_BUCKET must be set"), PluginError::Setting(_)));
        assert!(matches!(from_compose("S3_BUCKETS=1"), PluginError::Defect(m) if m == "S3_BUCKETS=1"));
        assert!(matches!(Error::from(String::from("S3_BUCKET=x")).__into_contract(None), PluginError::Defect(m) if m == "S3_BUCKET=x"));
    }
}
