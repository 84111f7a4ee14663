//! The exact Engine API requests a [`ContainerSpec`] turns into, as JSON (`up --dry-run`).

use super::spec::ContainerSpec;

impl ContainerSpec {
    /// `{"name", "create": <POST /containers/create body>, "network", "aliases", "files":
    /// [{"path", "mode", "bytes", "contents"}]}`: what `up` would send for this container.
    pub fn request_json(&self) -> serde_json::Value {
        let body = serde_json::to_value(self.to_create_body()).unwrap_or_default();
        serde_json::json!({
            "name": self.name,
            "create": body,
            "network": self.network,
            "aliases": self.aliases,
            "files": self.files.iter().map(|f| serde_json::json!({
                "path": f.path,
                "mode": format!("{:o}", f.mode),
                "bytes": f.contents.len(),
                "contents": f.contents,
            })).collect::<Vec<_>>(),
        })
    }
}
