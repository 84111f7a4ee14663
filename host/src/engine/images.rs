//! Images: what a run used (id and digests for the run record), building an image from a
//! source checkout (`<PLUGIN>_SRC`), and removing the images benchhost built.

use super::{api, docker_message, is_not_found, DockerEngine, EngineError};
use bollard::query_parameters::{BuildImageOptions, ListImagesOptions, RemoveImageOptions};
use futures_util::StreamExt;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// An image as the engine knows it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct ImageInfo {
    /// Content-addressed id, `sha256:…`.
    pub id: String,
    /// `repo@sha256:…` for pulled images; empty for images built or imported locally.
    pub digests: Vec<String>,
    /// `amd64`, `arm64`, …
    pub architecture: String,
}

/// One image benchhost built (label `benchhost.managed=true`).
#[derive(Clone, Debug, serde::Serialize)]
pub struct BuiltImage {
    pub id: String,
    pub tags: Vec<String>,
}

impl DockerEngine {
    /// The id, digests and architecture of a local image; `None` when it is not present.
    pub async fn image_info(&self, image: &str) -> Result<Option<ImageInfo>, EngineError> {
        match self.docker.inspect_image(image).await {
            Ok(i) => Ok(Some(ImageInfo {
                id: i.id.unwrap_or_default(),
                digests: i.repo_digests.unwrap_or_default(),
                architecture: i.architecture.unwrap_or_default(),
            })),
            Err(e) if is_not_found(&e) => Ok(None),
            Err(e) => Err(api(format!("inspecting image {image}"))(e)),
        }
    }

    /// Builds `tag` from `context` (a directory with a `Dockerfile` at its root) through the
    /// Engine API: the context is streamed as a tar (paths matched by `.dockerignore` are left
    /// out, with gitignore semantics), `labels` are set on the image, and every line of build
    /// output goes to `progress`. Errors: [`EngineError::Build`] with the builder's message.
    pub async fn build_image(
        &self,
        context: &Path,
        tag: &str,
        labels: &HashMap<String, String>,
        mut progress: impl FnMut(&str),
    ) -> Result<String, EngineError> {
        let build_error = |detail: String| EngineError::Build { context: context.display().to_string(), tag: tag.to_string(), detail };
        if !context.join("Dockerfile").is_file() {
            return Err(build_error("it has no Dockerfile at its root".into()));
        }
        let (tx, rx) = tokio::sync::mpsc::channel::<Result<bytes::Bytes, std::io::Error>>(16);
        let root = context.to_path_buf();
        let packer = tokio::task::spawn_blocking(move || pack_context(&root, ChannelWriter { tx }));
        let options = BuildImageOptions {
            dockerfile: "Dockerfile".into(),
            t: Some(tag.to_string()),
            rm: true,
            forcerm: true,
            labels: Some(labels.clone()),
            ..Default::default()
        };
        let body = bollard::body_try_stream(tokio_stream_from(rx));
        let mut stream = self.docker.build_image(options, None, Some(body));
        let mut id = String::new();
        let mut last_lines: Vec<String> = Vec::new();
        while let Some(item) = stream.next().await {
            let info = item.map_err(|e| build_error(docker_message(&e)))?;
            if let Some(detail) = info.error_detail.and_then(|d| d.message) {
                return Err(build_error(format!("{detail}\n  last build output:\n{}", last_lines.join("\n"))));
            }
            if let Some(line) = info.stream.as_deref().map(str::trim_end).filter(|l| !l.is_empty()) {
                progress(line);
                last_lines.push(format!("    {line}"));
                if last_lines.len() > 10 {
                    last_lines.remove(0);
                }
            }
            if let Some(aux) = info.aux.and_then(|a| a.id) {
                id = aux;
            }
        }
        packer.await.map_err(|e| build_error(format!("packing the context: {e}")))?.map_err(|e| build_error(format!("packing the context: {e}")))?;
        if id.is_empty() {
            id = self.image_info(tag).await?.map(|i| i.id).unwrap_or_default();
        }
        Ok(id)
    }

    /// Images carrying `label=value` (e.g. those benchhost built).
    pub async fn list_images_labelled(&self, label: &str, value: &str) -> Result<Vec<BuiltImage>, EngineError> {
        let filters = HashMap::from([("label".to_string(), vec![format!("{label}={value}")])]);
        let images = self
            .docker
            .list_images(Some(ListImagesOptions { all: false, filters: Some(filters), ..Default::default() }))
            .await
            .map_err(api("listing images"))?;
        Ok(images.into_iter().map(|i| BuiltImage { id: i.id, tags: i.repo_tags }).collect())
    }

    /// Removes one tag (`repo:tag`) without force: the engine only untags an image other tags
    /// or images still use, and deletes it when that was its last name. Absent is fine.
    pub async fn remove_image(&self, tag: &str) -> Result<(), EngineError> {
        match self.docker.remove_image(tag, Some(RemoveImageOptions { force: false, noprune: false, ..Default::default() }), None).await {
            Ok(_) => Ok(()),
            Err(e) if is_not_found(&e) => Ok(()),
            Err(e) => Err(api(format!("removing image {tag}"))(e)),
        }
    }
}

/// An `io::Write` that sends what is written as chunks on a channel (the build context body).
struct ChannelWriter {
    tx: tokio::sync::mpsc::Sender<Result<bytes::Bytes, std::io::Error>>,
}

impl std::io::Write for ChannelWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.tx
            .blocking_send(Ok(bytes::Bytes::copy_from_slice(buf)))
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::BrokenPipe, "the engine stopped reading the build context"))?;
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn tokio_stream_from(
    mut rx: tokio::sync::mpsc::Receiver<Result<bytes::Bytes, std::io::Error>>,
) -> impl futures_util::Stream<Item = Result<bytes::Bytes, std::io::Error>> + Send + 'static {
    futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx))
}

/// Writes `root` as a tar to `out`, leaving out what `.dockerignore` matches (Docker's rules:
/// patterns are relative to the context root) and special files (FIFOs, sockets, devices),
/// which `docker build` does not send either.
fn pack_context(root: &Path, out: impl std::io::Write) -> std::io::Result<()> {
    let ignore = dockerignore(root);
    let mut tar = tar::Builder::new(out);
    tar.follow_symlinks(false);
    let mut stack: Vec<PathBuf> = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let mut entries: Vec<_> = std::fs::read_dir(&dir)?.flatten().collect();
        entries.sort_by_key(|e| e.file_name());
        for entry in entries {
            let path = entry.path();
            let rel = path.strip_prefix(root).unwrap_or(&path).to_path_buf();
            let file_type = entry.file_type()?;
            let special = !(file_type.is_dir() || file_type.is_file() || file_type.is_symlink());
            if special || ignore.matched(&rel, file_type.is_dir()).is_ignore() && rel != Path::new("Dockerfile") {
                continue;
            }
            if file_type.is_dir() {
                tar.append_dir(&rel, &path)?;
                stack.push(path);
            } else {
                tar.append_path_with_name(&path, &rel)?;
            }
        }
    }
    tar.finish()
}

/// `.dockerignore` as gitignore rules anchored at the root (`target` is `/target`, not any
/// `target`), which is how Docker reads it; `**` keeps matching at any depth.
fn dockerignore(root: &Path) -> ignore::gitignore::Gitignore {
    let mut builder = ignore::gitignore::GitignoreBuilder::new(root);
    if let Ok(text) = std::fs::read_to_string(root.join(".dockerignore")) {
        for line in text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')) {
            let (negate, pattern) = match line.strip_prefix('!') {
                Some(p) => ("!", p),
                None => ("", line),
            };
            let pattern = pattern.trim_start_matches("./").trim_start_matches('/');
            let _ = builder.add_line(None, &format!("{negate}/{pattern}"));
        }
    }
    builder.build().unwrap_or_else(|_| ignore::gitignore::Gitignore::empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn context_tar_honours_dockerignore_from_the_root() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("Dockerfile"), "FROM scratch\n").unwrap();
        std::fs::write(dir.path().join(".dockerignore"), "target\n*.log\n").unwrap();
        for d in ["src", "target", ".git"] {
            std::fs::create_dir(dir.path().join(d)).unwrap();
        }
        std::fs::write(dir.path().join("src/main.go"), "package main").unwrap();
        std::fs::write(dir.path().join("target/big.bin"), "x").unwrap();
        std::fs::write(dir.path().join(".git/HEAD"), "ref").unwrap();
        std::fs::write(dir.path().join("build.log"), "x").unwrap();
        std::fs::create_dir_all(dir.path().join("src/target")).unwrap();
        std::fs::write(dir.path().join("src/target/kept"), "x").unwrap();
        let mut buf = Vec::new();
        pack_context(dir.path(), &mut buf).unwrap();
        let mut archive = tar::Archive::new(buf.as_slice());
        let mut names: Vec<String> = archive.entries().unwrap().map(|e| e.unwrap().path().unwrap().display().to_string()).collect();
        names.sort();
        // `target` is the root's only (Docker's rule); .git is sent unless ignored, like docker build.
        assert_eq!(names, [".dockerignore", ".git", ".git/HEAD", "Dockerfile", "src", "src/main.go", "src/target", "src/target/kept"]);
    }
}
