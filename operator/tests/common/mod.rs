//! Shared test helpers: repository paths and discovery of external tools. A missing tool skips
//! the test locally (printing why) but fails it when `CI` is set, because CI installs them all.

#![allow(dead_code)] // the operator, e2e and pipeline suites each use a different subset of these helpers

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

/// Whether `program args…` runs and succeeds (its output dropped): how the suites tell a tool is there.
pub fn runs(program: impl AsRef<std::ffi::OsStr>, args: &[&str]) -> bool {
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
    if !runs("python3", &["-c", "import kubernetes_validate"]) {
        return unavailable(test, "python3 with kubernetes-validate (pip) not found");
    }
    eprintln!("{test}: using validator {}", script.display());
    Some(script)
}

/// The PrometheusRule CRD, vendored (its header says from where): the shared third-party CRDs
/// have no PrometheusRule.
pub fn prometheus_rule_crd() -> PathBuf {
    repo_root().join("operator/tests/fixtures/crds/prometheus-prometheusrules.yaml")
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

/// Every app container of the platform (Deployments and the migration Job) with the names it gets:
/// its own env and, when it reads the platform's ConfigMap, every key of it.
pub fn app_containers(
    desired: &todo_operator::build::DesiredState,
) -> Vec<(
    k8s_openapi::api::core::v1::Container,
    std::collections::BTreeSet<String>,
)> {
    let config_map_name = desired.config_map.metadata.name.clone().expect("named");
    let config_keys: std::collections::BTreeSet<String> = desired
        .config_map
        .data
        .clone()
        .unwrap_or_default()
        .into_keys()
        .collect();
    let job_pod = desired
        .migration_job
        .spec
        .as_ref()
        .and_then(|s| s.template.spec.clone());
    let deployment_pods = desired
        .deployments
        .iter()
        .filter_map(|d| d.spec.as_ref().and_then(|s| s.template.spec.clone()));
    let pods: Vec<k8s_openapi::api::core::v1::PodSpec> =
        job_pod.into_iter().chain(deployment_pods).collect();
    pods.iter()
        .flat_map(|pod| {
            pod.containers
                .iter()
                .chain(pod.init_containers.iter().flatten())
        })
        .map(|container| {
            let mut names: std::collections::BTreeSet<String> = container
                .env
                .iter()
                .flatten()
                .map(|e| e.name.clone())
                .collect();
            for source in container.env_from.iter().flatten() {
                let Some(config_map) = &source.config_map_ref else {
                    panic!(
                        "{}: env from something other than a ConfigMap",
                        container.name
                    );
                };
                assert_eq!(config_map.name, config_map_name, "{}", container.name);
                assert_eq!(source.prefix, None, "{}", container.name);
                names.extend(config_keys.iter().cloned());
            }
            (container.clone(), names)
        })
        .collect()
}

/// `cargo build <args>` in this test's profile; returns the profile's directory.
pub fn cargo_build(args: &[&str]) -> Result<PathBuf, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .ok_or("test binary outside target/<profile>/deps")?
        .to_path_buf();
    let mut build =
        std::process::Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    build.arg("build").args(args).current_dir(repo_root());
    // Cargo gives a test the variables of the package under test (CARGO_PKG_NAME, CARGO_MANIFEST_DIR, ...);
    // passed on, they make this build recompile every crate that reads them, each time (a minute here).
    for (name, _) in std::env::vars_os() {
        let name = name.to_string_lossy();
        if [
            "CARGO_PKG_",
            "CARGO_MANIFEST_",
            "CARGO_BIN_",
            "CARGO_CRATE_",
            "CARGO_PRIMARY_",
            "CARGO_TARGET_TMPDIR",
            "CARGO_RUSTC_CURRENT_DIR",
        ]
        .iter()
        .any(|prefix| name.starts_with(prefix))
        {
            build.env_remove(name.as_ref());
        }
    }
    if profile_dir.file_name().is_some_and(|n| n == "release") {
        build.arg("--release");
    }
    let status = build.status().map_err(|e| format!("cargo: {e}"))?;
    if !status.success() {
        return Err(format!("cargo build {args:?} failed"));
    }
    Ok(profile_dir)
}
