//! Docker image references: the grammar the engine accepts, pinned by a tag or a digest.



/// What is wrong with `image` as a service's image, completing "image X ...": not a reference
/// at all (empty, whitespace, control characters), or what [`check_image_reference`] refuses.
pub fn image_problem(image: &str) -> Result<(), String> {
    if image.is_empty() || image.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("is not an image reference".into());
    }
    check_image_reference(image)
}

/// `image` with a `:latest` tag added when it has neither tag nor digest (for hints).
pub fn example_pin(image: &str) -> String {
    let last = image.rsplit('/').next().unwrap_or(image);
    if image.contains('@') || last.contains(':') || image.is_empty() || image.chars().any(char::is_whitespace) {
        "repo:tag".into()
    } else {
        format!("{image}:latest")
    }
}

/// Checks a Docker image reference: `[registry[:port]/]path[:tag][@sha256:<64 hex>]`, lowercase
/// path components, and pinned by a tag or a digest. The error completes "image X ...".
pub fn check_image_reference(image: &str) -> Result<(), String> {
    if image.is_empty() || image.len() > 255 || image.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("is not an image reference".into());
    }
    let (name_tag, digest) = match image.split_once('@') {
        Some((n, d)) => (n, Some(d)),
        None => (image, None),
    };
    if let Some(d) = digest {
        let hex = d.strip_prefix("sha256:").unwrap_or("");
        if hex.len() != 64 || !hex.chars().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()) {
            return Err("has a malformed digest (want @sha256:<64 lowercase hex>)".into());
        }
    }
    let last_slash = name_tag.rfind('/').map(|i| i + 1).unwrap_or(0);
    let (name, tag) = match name_tag[last_slash..].rfind(':') {
        Some(i) => (&name_tag[..last_slash + i], Some(&name_tag[last_slash + i + 1..])),
        None => (name_tag, None),
    };
    if let Some(t) = tag {
        let ok = !t.is_empty() && t.len() <= 128 && t.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_') && t.chars().all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c));
        if !ok {
            return Err(format!("has an invalid tag {t:?}"));
        }
    }
    let mut parts: Vec<&str> = name.split('/').collect();
    // A first component with '.' or ':' (or localhost) is a registry host[:port].
    if parts.len() > 1 && (parts[0].contains('.') || parts[0].contains(':') || parts[0] == "localhost") {
        parts.remove(0);
    }
    let component_ok = |c: &str| {
        !c.is_empty()
            && c.starts_with(|ch: char| ch.is_ascii_lowercase() || ch.is_ascii_digit())
            && c.ends_with(|ch: char| ch.is_ascii_lowercase() || ch.is_ascii_digit())
            && c.chars().all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || "._-".contains(ch))
    };
    if parts.iter().any(|c| !component_ok(c)) {
        return Err("is not a valid repository name (lowercase letters, digits, '.', '_', '-')".into());
    }
    if tag.is_none() && digest.is_none() {
        return Err("is not pinned; give a tag or digest (repo:tag or repo@sha256:...)".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::check_image_reference;

    #[test]
    fn image_references() {
        for ok in ["postgres:16-alpine", "benchhost-test/ganesha:latest", "localhost:5000/x/y:1", "images.example.com/a/b:v1.2", "apnar/nfs-ganesha@sha256:8185271b0b0e4d7c9a2c7a6f3d2a6b1c0e9f8d7c6b5a4f3e2d1c0b9a8f7e6d5c"] {
            assert_eq!(check_image_reference(ok), Ok(()), "{ok}");
        }
        for (bad, why) in [("UPPER/Bad:", "invalid tag"), ("x:1;rm", "invalid tag"), ("UPPER/x:1", "repository"), ("nginx", "not pinned"), ("a b:1", "not an image"), ("x@sha256:12", "digest")] {
            assert!(check_image_reference(bad).unwrap_err().contains(why), "{bad}");
        }
    }
}
