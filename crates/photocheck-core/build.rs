//! Embeds the SeetaFace frontal model that ships inside the rustface crate package, so a fresh clone
//! runs with nothing downloaded. The package is located with `cargo metadata` (for the target
//! platform only, whose packages are already unpacked by the time this script runs).
use std::path::PathBuf;
use std::process::Command;

const MODEL: &str = "model/seeta_fd_frontal_v1.0.bin";

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=PHOTOCHECK_FACE_MODEL");
    let model = match std::env::var_os("PHOTOCHECK_FACE_MODEL") {
        Some(path) => PathBuf::from(path),
        None => locate_in_rustface_package(),
    };
    if !model.is_file() {
        panic!(
            "face model not found at {}; set PHOTOCHECK_FACE_MODEL to the file",
            model.display()
        );
    }
    println!("cargo:rerun-if-changed={}", model.display());
    println!(
        "cargo:rustc-env=PHOTOCHECK_FACE_MODEL_PATH={}",
        model.display()
    );
}

fn locate_in_rustface_package() -> PathBuf {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let manifest_dir = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let output = Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--filter-platform"])
        .arg(std::env::var("TARGET").expect("cargo sets TARGET"))
        .arg("--manifest-path")
        .arg(PathBuf::from(&manifest_dir).join("Cargo.toml"))
        .output()
        .expect("run cargo metadata to find the rustface package");
    if !output.status.success() {
        panic!(
            "cargo metadata failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let meta: serde_json::Value =
        serde_json::from_slice(&output.stdout).expect("cargo metadata prints JSON");
    let packages = meta["packages"]
        .as_array()
        .expect("metadata lists packages");
    let rustface = packages
        .iter()
        .find(|p| p["name"] == "rustface")
        .expect("rustface is a dependency of photocheck-core");
    let manifest = PathBuf::from(
        rustface["manifest_path"]
            .as_str()
            .expect("manifest_path is text"),
    );
    manifest
        .parent()
        .expect("manifest has a folder")
        .join(MODEL)
}
