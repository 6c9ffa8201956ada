//! Shared test helpers: repository paths and discovery of external tools. A missing tool skips
//! the test locally (printing why) but fails it when `CI` is set, because CI installs them all.

#![allow(dead_code)] // each test binary uses a different subset of these helpers

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// The repository root (the workspace).
pub fn repo_root() -> PathBuf {
    // The workspace root holds Cargo.lock; found by walking up, since tests/e2e includes this module too.
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .find(|dir| dir.join("Cargo.lock").is_file())
        .expect("the crate lives in the workspace")
        .to_path_buf()
}

/// `../shared` beside the repository (CI clones it there).
pub fn shared_dir() -> PathBuf {
    repo_root().join("../shared")
}

/// True when running in CI, where every tool must be present.
pub fn in_ci() -> bool {
    std::env::var_os("CI").is_some_and(|v| !v.is_empty())
}

/// Skip (locally) or fail (in CI) because `what` is unavailable. Returns `None` so callers can
/// write `let Some(x) = find() else { return };`.
pub fn unavailable<T>(test: &str, what: &str) -> Option<T> {
    if in_ci() {
        panic!("{test}: {what} (required when CI is set; .ci/setup-operator.sh installs it)");
    }
    eprintln!("SKIPPED {test}: {what}. Run .ci/setup-operator.sh to install it.");
    None
}

fn runs(program: &Path, args: &[&str]) -> bool {
    Command::new(program)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Path to the manifest validator, when python3 and kubernetes-validate are installed.
pub fn manifest_validator(test: &str) -> Option<PathBuf> {
    let script = shared_dir().join("tools/validate_manifests.py");
    if !script.exists() {
        return unavailable(test, &format!("{} not found", script.display()));
    }
    if !runs(Path::new("python3"), &["-c", "import kubernetes_validate"]) {
        return unavailable(test, "python3 with kubernetes-validate (pip) not found");
    }
    eprintln!("{test}: using validator {}", script.display());
    Some(script)
}

/// Validate YAML manifests (passed on stdin) with `validate_manifests.py`, plus extra CRDs.
pub fn validate_manifests(script: &Path, yaml: &str, extra_crds: &[PathBuf]) -> Output {
    use std::io::Write;
    let mut command = Command::new("python3");
    command.arg(script).args(["-k", "1.31"]);
    for crd in extra_crds {
        command.arg("--crd").arg(crd);
    }
    let mut child = command
        .arg("-")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 runs");
    child
        .stdin
        .take()
        .expect("stdin is piped")
        .write_all(yaml.as_bytes())
        .expect("validator reads stdin");
    child.wait_with_output().expect("validator finishes")
}

/// The helm v4 binary: `$HELM`, then `helm` on PATH, then where .ci/setup-operator.sh puts it.
pub fn helm(test: &str) -> Option<PathBuf> {
    let candidates = std::env::var_os("HELM")
        .map(PathBuf::from)
        .into_iter()
        .chain([
            PathBuf::from("helm"),
            PathBuf::from("/opt/todo-operator-tools/bin/helm"),
        ]);
    for candidate in candidates {
        if let Ok(out) = Command::new(&candidate)
            .args(["version", "--short"])
            .output()
        {
            let version = String::from_utf8_lossy(&out.stdout);
            if out.status.success() && version.starts_with("v4.") {
                eprintln!(
                    "{test}: using helm {} ({})",
                    version.trim(),
                    candidate.display()
                );
                return Some(candidate);
            }
        }
    }
    unavailable(
        test,
        "helm v4 not found ($HELM, PATH, /opt/todo-operator-tools/bin/helm)",
    )
}
