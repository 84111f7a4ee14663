//! One `doctor` check: its name, outcome, whether it is required, what was found and what to
//! do about it.

/// Outcome of one check.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Ok,
    Warn,
    Fail,
}

/// One check.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Check {
    pub name: String,
    pub status: Status,
    /// Whether `doctor` fails (exit 6) when this check fails.
    pub required: bool,
    pub detail: String,
    /// What to do about it (empty when OK).
    pub hint: String,
}

/// A check; the hint is dropped when the check passed.
pub fn check(name: &str, status: Status, required: bool, detail: impl Into<String>, hint: impl Into<String>) -> Check {
    let hint = if status == Status::Ok { String::new() } else { hint.into() };
    Check { name: name.into(), status, required, detail: detail.into(), hint }
}
