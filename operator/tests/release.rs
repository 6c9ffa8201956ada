//! One version for a release: the workspace's (Cargo.toml) is the operator's own, the default tag of the
//! images it runs, the chart's version and appVersion (so the operator's image tag), and whatever a
//! shipped TodoPlatform pins; the release workflow pushes the images the chart and the operator name and
//! refuses a tag that is not that version.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use todo_operator::build;
use todo_operator::render::{self, offline_inputs};

/// The registry and owner the images are pushed to and pulled from.
const IMAGE_PREFIX: &str = "ghcr.io/todoplatform";
const RELEASE_WORKFLOW: &str = ".github/workflows/release.yml";

fn read(relative: &str) -> String {
    std::fs::read_to_string(common::repo_root().join(relative))
        .unwrap_or_else(|e| panic!("read {relative}: {e}"))
}

fn yaml(relative: &str) -> serde_yaml::Value {
    serde_yaml::from_str(&read(relative)).unwrap_or_else(|e| panic!("{relative}: {e}"))
}

/// `version` under `[workspace.package]` in the root Cargo.toml.
fn workspace_version() -> String {
    let manifest = read("Cargo.toml");
    let section = manifest
        .split("\n[")
        .find(|s| s.starts_with("workspace.package]"))
        .expect("Cargo.toml has [workspace.package]");
    let line = section
        .lines()
        .find(|l| l.starts_with("version = "))
        .expect("[workspace.package] sets version");
    line.trim_start_matches("version = ")
        .trim_matches('"')
        .to_owned()
}

#[test]
fn the_operator_and_the_chart_have_the_workspace_version() {
    let version = workspace_version();
    assert_eq!(todo_operator::VERSION, version, "todo-operator's version");
    let chart = yaml("charts/todo-operator/Chart.yaml");
    assert_eq!(
        chart["version"].as_str(),
        Some(version.as_str()),
        "Chart.yaml version"
    );
    assert_eq!(
        chart["appVersion"].as_str(),
        Some(version.as_str()),
        "Chart.yaml appVersion (the operator image's tag)"
    );
}

/// The chart runs `<prefix>/todo-operator` tagged with its appVersion unless told otherwise.
#[test]
fn the_chart_runs_the_released_operator_image() {
    let values = yaml("charts/todo-operator/values.yaml");
    assert_eq!(
        values["image"]["repository"].as_str(),
        Some(format!("{IMAGE_PREFIX}/todo-operator").as_str())
    );
    assert_eq!(
        values["image"]["tag"].as_str(),
        Some(""),
        "empty: the appVersion"
    );
    let deployment = read("charts/todo-operator/templates/deployment.yaml");
    assert!(
        deployment.contains(".Values.image.tag | default .Chart.AppVersion"),
        "the Deployment's image tag defaults to the appVersion"
    );
}

/// A platform that pins no version runs `<prefix>/todo-api` and `<prefix>/todo-worker` at the
/// operator's version.
#[test]
fn a_platform_without_a_version_runs_the_released_images() {
    let platform = render::parse(&read("examples/minimal.yaml")).expect("parses");
    assert!(
        platform.spec.version.is_none(),
        "minimal.yaml pins no version"
    );
    let desired = build::build(&platform, &offline_inputs()).expect("builds");
    let version = workspace_version();
    let images: std::collections::BTreeSet<String> = common::app_containers(&desired)
        .into_iter()
        .filter_map(|(container, _)| container.image)
        .collect();
    let expected: std::collections::BTreeSet<String> = ["todo-api", "todo-worker"]
        .iter()
        .map(|image| format!("{IMAGE_PREFIX}/{image}:{version}"))
        .collect();
    assert_eq!(images, expected);
}

/// Every YAML file under `dir`, recursively.
fn yaml_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).expect("readable directory") {
        let path = entry.expect("readable entry").path();
        if path.is_dir() {
            files.extend(yaml_files(&path));
        } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
            files.push(path);
        }
    }
    files
}

/// A shipped TodoPlatform that pins `spec.version` pins this release's.
#[test]
fn shipped_platforms_pin_the_release_version() {
    let version = workspace_version();
    let mut pinned = Vec::new();
    for path in yaml_files(&common::repo_root().join("examples")) {
        let text = std::fs::read_to_string(&path).expect("readable");
        for document in serde_yaml::Deserializer::from_str(&text) {
            let Ok(document) = <serde_yaml::Value as serde::Deserialize>::deserialize(document)
            else {
                continue;
            };
            if document["kind"].as_str() != Some("TodoPlatform") {
                continue;
            }
            if let Some(pin) = document["spec"]["version"].as_str() {
                assert_eq!(pin, version, "{}: spec.version", path.display());
                pinned.push(path.clone());
            }
        }
    }
    assert!(
        !pinned.is_empty(),
        "examples/production.yaml pins a version"
    );
}

/// The workflow pushes the three Dockerfile targets under the prefix the chart and the operator use.
#[test]
fn the_release_workflow_pushes_what_the_chart_and_operator_pull() {
    let workflow = yaml(RELEASE_WORKFLOW);
    assert_eq!(workflow["env"]["IMAGE_PREFIX"].as_str(), Some(IMAGE_PREFIX));
    assert_eq!(
        workflow["on"]["push"]["tags"][0].as_str(),
        Some("v*"),
        "released by a v tag"
    );
    let text = read(RELEASE_WORKFLOW);
    let dockerfile = read("Dockerfile");
    for target in ["todo-api", "todo-worker", "todo-operator"] {
        assert!(dockerfile.contains(&format!(" AS {target}\n")), "{target}");
        assert!(
            text.contains(&format!("Scan {target}")),
            "{target} is scanned"
        );
    }
    assert!(text.contains("for target in todo-api todo-worker todo-operator; do"));
    assert!(text.contains("--sbom=true --provenance=mode=max"));
    for platform in ["linux/amd64", "linux/arm64"] {
        assert!(
            text.contains(&format!("platform: {platform}")),
            "{platform}"
        );
    }
}

/// The version check of the release workflow's `version` job, run as the workflow runs it.
fn run_version_check(tag: &str) -> (bool, String, String) {
    let workflow = yaml(RELEASE_WORKFLOW);
    let steps = workflow["jobs"]["version"]["steps"]
        .as_sequence()
        .expect("the version job has steps");
    let script = steps
        .iter()
        .find(|s| s["id"].as_str() == Some("version"))
        .and_then(|s| s["run"].as_str())
        .expect("a step `version` with a run script");
    let python = script
        .split_once("<<'PY'\n")
        .and_then(|(_, rest)| rest.rsplit_once("PY"))
        .map(|(body, _)| body)
        .expect("the script is a python heredoc");
    let output = tempfile::NamedTempFile::new().expect("temp file");
    let mut child = Command::new("python3")
        .arg("-")
        .current_dir(common::repo_root())
        .env("GITHUB_REF_NAME", tag)
        .env("GITHUB_OUTPUT", output.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 runs");
    use std::io::Write;
    child
        .stdin
        .take()
        .expect("piped")
        .write_all(python.as_bytes())
        .expect("python reads the script");
    let out = child.wait_with_output().expect("python finishes");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        std::fs::read_to_string(output.path()).expect("readable"),
    )
}

/// The release refuses a tag that is not `v` + the workspace's version, before anything is built.
#[test]
fn the_release_workflow_refuses_a_tag_of_another_version() {
    if !common::runs("python3", &["-c", "import tomllib"]) {
        return common::unavailable::<()>(
            "the_release_workflow_refuses_a_tag_of_another_version",
            "python3 (3.11 or newer, for tomllib) not found",
        )
        .unwrap_or_default();
    }
    let version = workspace_version();
    let (ok, stderr, output) = run_version_check(&format!("v{version}"));
    assert!(ok, "v{version} is released: {stderr}");
    assert_eq!(output, format!("version={version}\n"));
    for tag in ["v9.9.9", version.as_str(), &format!("v{version}-rc.1")] {
        let (ok, stderr, output) = run_version_check(tag);
        assert!(!ok, "{tag} must be refused");
        assert!(stderr.contains("refusing to release"), "{tag}: {stderr}");
        assert_eq!(output, "", "{tag}: no version for the later jobs");
    }
    let images = yaml(RELEASE_WORKFLOW)["jobs"]["images"]["needs"].clone();
    assert_eq!(
        images.as_str(),
        Some("version"),
        "the images wait for the check"
    );
}
