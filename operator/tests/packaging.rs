//! The Dockerfile (hadolint) and every GitHub workflow (actionlint, zizmor) pass their linters.

use crate::common;

use std::path::PathBuf;
use std::process::Command;

fn tool(test: &str, name: &str) -> Option<PathBuf> {
    let candidates = [
        PathBuf::from(name),
        PathBuf::from("/opt/todo-operator-tools/bin").join(name),
    ];
    for candidate in candidates {
        if Command::new(&candidate)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
        {
            eprintln!("{test}: using {}", candidate.display());
            return Some(candidate);
        }
    }
    common::unavailable(
        test,
        &format!("{name} not found on PATH or in /opt/todo-operator-tools/bin"),
    )
}

fn assert_clean(what: &str, out: std::process::Output) {
    assert!(
        out.status.success(),
        "{what}:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

const DOCKERFILE: &str = "Dockerfile";

/// The images' Dockerfile passes hadolint.
#[test]
fn dockerfile_passes_hadolint() {
    let Some(hadolint) = tool("dockerfile_passes_hadolint", "hadolint") else {
        return;
    };
    let out = Command::new(&hadolint)
        .arg(common::repo_root().join(DOCKERFILE))
        .output()
        .expect("hadolint runs");
    assert_clean(DOCKERFILE, out);
}

/// The workspace's members, from the root manifest's `members = [...]`.
fn workspace_members() -> Vec<String> {
    let manifest =
        std::fs::read_to_string(common::repo_root().join("Cargo.toml")).expect("Cargo.toml");
    let line = manifest
        .lines()
        .find(|l| l.starts_with("members = ["))
        .expect("the root manifest lists its members on one line");
    line.trim_start_matches("members = [")
        .trim_end_matches(']')
        .split(',')
        .map(|m| m.trim().trim_matches('"').to_owned())
        .collect()
}

/// One build stage copies every workspace member (cargo loads them all, so an image build fails on a
/// member left out) and builds the three binaries; each image is a target on the non-root runtime stage
/// that takes its own binary and runs it.
#[test]
fn dockerfile_builds_each_image_from_the_whole_workspace_as_non_root() {
    let text =
        std::fs::read_to_string(common::repo_root().join(DOCKERFILE)).expect("Dockerfile exists");
    let members = workspace_members();
    assert!(members.len() >= 5, "{members:?}");
    for member in &members {
        assert!(
            text.contains(&format!("\nCOPY {member} {member}\n")),
            "copies the workspace member {member}"
        );
    }
    let runtime = text
        .split("\nFROM ")
        .find(|stage| stage.contains(" AS runtime\n"))
        .expect("a runtime stage");
    assert!(runtime.contains("USER 65532:65532"), "non-root runtime");
    for binary in ["todo-api", "todo-worker", "todo-operator"] {
        assert!(text.contains(&format!("--bin {binary}")), "builds {binary}");
        let stage = text
            .split("\nFROM ")
            .find(|stage| stage.starts_with(&format!("runtime AS {binary}\n")))
            .unwrap_or_else(|| panic!("a target {binary} on the runtime stage"));
        assert!(
            stage.contains(&format!(
                "COPY --from=build /usr/local/bin/{binary} /usr/local/bin/{binary}\n"
            )) && stage.contains(&format!("ENTRYPOINT [\"/usr/local/bin/{binary}\"]")),
            "{binary}: takes and runs its binary"
        );
        assert!(
            !stage.contains("USER "),
            "{binary}: keeps the runtime's user"
        );
    }
}

const WORKFLOWS: &str = ".github/workflows";

/// Every workflow file, so a new one is linted without being listed here.
fn workflows() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(common::repo_root().join(WORKFLOWS))
        .expect(".github/workflows exists")
        .map(|entry| entry.expect("readable directory").path())
        .filter(|path| path.extension().is_some_and(|e| e == "yml" || e == "yaml"))
        .collect();
    files.sort();
    let names: Vec<String> = files
        .iter()
        .filter_map(|f| f.file_name())
        .map(|n| n.to_string_lossy().into_owned())
        .collect();
    for expected in ["ci.yml", "e2e.yml", "release.yml"] {
        assert!(
            names.iter().any(|n| n == expected),
            "{expected} in {names:?}"
        );
    }
    files
}

/// Every workflow passes actionlint.
#[test]
fn workflows_pass_actionlint() {
    let Some(actionlint) = tool("workflows_pass_actionlint", "actionlint") else {
        return;
    };
    let out = Command::new(actionlint)
        .args(workflows())
        .output()
        .expect("actionlint runs");
    assert_clean("actionlint", out);
}

/// Every workflow passes zizmor's security audit (offline: pinned actions, permissions, template
/// injection, credentials left in the checkout, caches in release workflows).
#[test]
fn workflows_pass_zizmor() {
    let Some(zizmor) = tool("workflows_pass_zizmor", "zizmor") else {
        return;
    };
    let out = Command::new(zizmor)
        .args(["--offline", "--no-progress"])
        .args(workflows())
        .output()
        .expect("zizmor runs");
    assert_clean("zizmor", out);
}
