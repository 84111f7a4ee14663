//! Checks that every test file (`tests/*.rs`) is a module of `tests/main.rs`, the one test
//! binary: a file left out would never be compiled nor run.

use std::path::PathBuf;

fn main() {
    let dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap());
    println!("cargo:rerun-if-changed=main.rs");
    println!("cargo:rerun-if-changed=.");
    let main = std::fs::read_to_string(dir.join("main.rs")).expect("tests/main.rs");
    let declared: Vec<&str> = main.lines().filter_map(|l| l.trim().strip_prefix("mod ")?.strip_suffix(';')).collect();
    let mut missing = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(module) = name.strip_suffix(".rs") else { continue };
        if !["main", "build"].contains(&module) && !declared.contains(&module) {
            missing.push(format!("tests/{name} is not a module of tests/main.rs: add `mod {module};` there"));
        }
    }
    missing.sort();
    assert!(missing.is_empty(), "{}", missing.join("\n"));
}
