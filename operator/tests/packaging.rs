//! Dockerfiles (hadolint) and the e2e workflow (actionlint, zizmor) pass their linters.

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

/// The three images' Dockerfiles pass hadolint.
#[test]
fn dockerfiles_pass_hadolint() {
    let Some(hadolint) = tool("dockerfiles_pass_hadolint", "hadolint") else {
        return;
    };
    for dockerfile in [
        "operator/Dockerfile",
        "api-server/Dockerfile",
        "workers/Dockerfile",
    ] {
        let out = Command::new(&hadolint)
            .arg(common::repo_root().join(dockerfile))
            .output()
            .expect("hadolint runs");
        assert_clean(dockerfile, out);
    }
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

/// Every image runs as a non-root user and builds a single binary from the workspace, whose every member it
/// copies: cargo loads them all, so an image build fails on a member the Dockerfile leaves out.
#[test]
fn dockerfiles_are_multi_stage_non_root_and_copy_the_workspace() {
    let members = workspace_members();
    assert!(members.len() >= 5, "{members:?}");
    for (dockerfile, binary) in [
        ("operator/Dockerfile", "todo-operator"),
        ("api-server/Dockerfile", "todo-api"),
        ("workers/Dockerfile", "todo-worker"),
    ] {
        let text = std::fs::read_to_string(common::repo_root().join(dockerfile))
            .expect("Dockerfile exists");
        assert_eq!(
            text.matches("\nFROM ").count(),
            2,
            "{dockerfile}: build and runtime stages"
        );
        assert!(text.contains("USER 65532:65532"), "{dockerfile}: non-root");
        assert!(
            text.contains(&format!("--bin {binary}")),
            "{dockerfile}: builds {binary}"
        );
        for member in &members {
            assert!(
                text.contains(&format!("\nCOPY {member} {member}\n")),
                "{dockerfile}: copies the workspace member {member}"
            );
        }
    }
}

const WORKFLOW: &str = ".github/workflows/e2e.yml";

/// The e2e workflow passes actionlint.
#[test]
fn e2e_workflow_passes_actionlint() {
    let Some(actionlint) = tool("e2e_workflow_passes_actionlint", "actionlint") else {
        return;
    };
    let out = Command::new(actionlint)
        .arg(common::repo_root().join(WORKFLOW))
        .output()
        .expect("actionlint runs");
    assert_clean("actionlint", out);
}

/// The e2e workflow passes zizmor's security audit.
#[test]
fn e2e_workflow_passes_zizmor() {
    let Some(zizmor) = tool("e2e_workflow_passes_zizmor", "zizmor") else {
        return;
    };
    let out = Command::new(zizmor)
        .args(["--offline", "--no-progress"])
        .arg(common::repo_root().join(WORKFLOW))
        .output()
        .expect("zizmor runs");
    assert_clean("zizmor", out);
}
