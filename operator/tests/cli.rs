//! The `todo-operator` binary's offline commands.

use crate::common;

use std::process::Command;

fn operator() -> Command {
    Command::new(env!("CARGO_BIN_EXE_todo-operator"))
}

/// `todo-operator crd` prints exactly the committed CRD.
#[test]
fn crd_command_prints_the_committed_crd() {
    let out = operator().arg("crd").output().expect("runs");
    assert!(out.status.success());
    let committed = std::fs::read_to_string(
        common::repo_root().join("crds/todoplatforms.todoplatform.dev.yaml"),
    )
    .unwrap();
    assert!(
        String::from_utf8(out.stdout).unwrap() == committed,
        "`todo-operator crd` differs from crds/; regenerate (see tests/crd.rs)"
    );
}

/// `render -f` prints the same documents as the library, from a file or standard input.
#[test]
fn render_command_reads_files_and_stdin() {
    let example = common::repo_root().join("examples/minimal.yaml");
    let expected =
        todo_operator::render::render(&std::fs::read_to_string(&example).unwrap()).unwrap();
    let from_file = operator()
        .args(["render", "-f"])
        .arg(&example)
        .output()
        .expect("runs");
    assert!(from_file.status.success());
    assert_eq!(String::from_utf8(from_file.stdout).unwrap(), expected);

    let from_stdin = operator()
        .args(["render", "-f", "-"])
        .stdin(std::fs::File::open(&example).unwrap())
        .output()
        .expect("runs");
    assert_eq!(String::from_utf8(from_stdin.stdout).unwrap(), expected);
}

/// Bad input fails with a message naming the problem, and prints no manifests.
#[test]
fn render_command_rejects_invalid_specs() {
    let invalid = "apiVersion: todoplatform.dev/v1alpha1\nkind: TodoPlatform\nmetadata: {name: x}\nspec:\n  database: {}\n  eventing: {managed: {}}\n";
    let out = operator()
        .args(["render", "-f", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child
                .stdin
                .take()
                .expect("piped")
                .write_all(invalid.as_bytes())?;
            child.wait_with_output()
        })
        .expect("runs");
    assert!(!out.status.success());
    assert!(out.stdout.is_empty());
    assert!(String::from_utf8_lossy(&out.stderr).contains(
        "spec.database: set exactly one of spec.database.managed or spec.database.external"
    ));
}
