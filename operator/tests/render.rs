//! `render` over the examples and fixtures: full-output snapshots (insta), validation of every
//! document against Kubernetes' and Dapr's / Redpanda's schemas, and the env-var contract with
//! docs/configuration.md.

use crate::common;

use std::collections::BTreeSet;

use todo_contract::env;
use todo_operator::build::{self, DesiredState};
use todo_operator::render::{self, offline_inputs};

fn read(relative: &str) -> String {
    let path = common::repo_root().join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

fn desired(relative: &str) -> DesiredState {
    let platform = render::parse(&read(relative)).expect("example parses");
    build::build(&platform, &offline_inputs()).expect("example builds")
}

/// Every TodoPlatform manifest we ship or test with (the cloud guides' included).
const PLATFORMS: [&str; 8] = [
    "examples/minimal.yaml",
    "examples/production.yaml",
    "examples/gitops/platform/todoplatform.yaml",
    "examples/clouds/oke/todoplatform.yaml",
    "examples/clouds/gke/todoplatform.yaml",
    "examples/clouds/aks/todoplatform.yaml",
    "examples/clouds/kind/todoplatform.yaml",
    "operator/tests/fixtures/everything.yaml",
];

/// The rendered output of each manifest, asserted in full against a reviewed snapshot.
#[test]
fn rendered_output_matches_snapshots() {
    for relative in PLATFORMS {
        let rendered = render::render(&read(relative)).expect("renders");
        let name = relative.replace(['/', '.'], "_");
        insta::assert_snapshot!(name, rendered);
    }
}

/// Every rendered document is valid for Kubernetes 1.31 and the Dapr / Redpanda / Prometheus
/// operator CRDs (ServiceMonitor from the shared third-party CRDs, PrometheusRule vendored
/// here), and no kind is unknown.
#[test]
fn rendered_output_is_valid_kubernetes() {
    let Some(validator) = common::manifest_validator("rendered_output_is_valid_kubernetes") else {
        return;
    };
    for relative in PLATFORMS {
        let rendered = render::render(&read(relative)).expect("renders");
        let out =
            common::validate_manifests(&validator, &rendered, &[common::prometheus_rule_crd()]);
        assert!(
            out.status.success(),
            "{relative}: invalid manifests\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// The TodoPlatform manifests themselves are valid against our own CRD.
#[test]
fn examples_are_valid_todoplatforms() {
    let Some(validator) = common::manifest_validator("examples_are_valid_todoplatforms") else {
        return;
    };
    let crd = common::repo_root().join("crds/todoplatforms.todoplatform.dev.yaml");
    for relative in PLATFORMS {
        let out =
            common::validate_manifests(&validator, &read(relative), std::slice::from_ref(&crd));
        assert!(
            out.status.success(),
            "{relative}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// The GitOps examples point at the directory that holds the platform manifest.
#[test]
fn gitops_examples_point_at_the_platform_directory() {
    let platform_dir = "examples/gitops/platform";
    assert!(
        common::repo_root()
            .join(platform_dir)
            .join("kustomization.yaml")
            .exists()
    );
    for relative in [
        "examples/gitops/argocd-application.yaml",
        "examples/gitops/flux-kustomization.yaml",
    ] {
        let text = read(relative);
        let documents: Vec<serde_yaml::Value> = serde_yaml::Deserializer::from_str(&text)
            .map(|doc| {
                <serde_yaml::Value as serde::Deserialize>::deserialize(doc).expect("valid YAML")
            })
            .collect();
        let paths: Vec<&str> = documents
            .iter()
            .filter_map(|doc| {
                doc["spec"]["source"]["path"]
                    .as_str()
                    .or(doc["spec"]["path"].as_str())
            })
            .collect();
        assert_eq!(paths.len(), 1, "{relative}: exactly one sync path");
        assert_eq!(
            paths[0].trim_start_matches("./"),
            platform_dir,
            "{relative}"
        );
    }
}

/// Environment variable names the builders put into any container (directly or via the
/// ConfigMap), across every fixture.
fn env_names_set_by_builders() -> BTreeSet<String> {
    PLATFORMS
        .into_iter()
        .flat_map(|relative| common::app_containers(&desired(relative)))
        .flat_map(|(_, names)| names)
        .collect()
}

/// Names in the first column of every table of `markdown`: each backticked name in it.
fn table_first_column_names(markdown: &str) -> BTreeSet<String> {
    markdown
        .lines()
        .filter(|line| line.trim_start().starts_with('|'))
        .filter_map(|line| line.trim().trim_start_matches('|').split('|').next())
        .flat_map(|cell| {
            cell.split('`')
                .skip(1)
                .step_by(2)
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .collect()
}

/// The variables docs/configuration.md documents (generated from the binaries' command lines by the
/// API's test suite).
fn documented_configuration_names() -> BTreeSet<String> {
    table_first_column_names(&read("docs/configuration.md"))
}

/// DESIGN §4: the operator uses only env var names the configuration reference documents.
#[test]
fn env_vars_match_the_configuration_reference() {
    let documented = documented_configuration_names();
    let missing: Vec<String> = env_names_set_by_builders()
        .into_iter()
        // Dapr's own variables (DAPR_* on the sidecar) are documented by Dapr.
        .filter(|name| !name.starts_with("DAPR_"))
        .filter(|name| !documented.contains(name))
        .collect();
    assert!(
        missing.is_empty(),
        "env vars set by the operator but missing from docs/configuration.md: {missing:?}"
    );
}

/// The configuration reference documents exactly what the binaries read, by the contract's lists:
/// nothing missing, nothing stale.
#[test]
fn configuration_reference_is_the_contract() {
    let documented = documented_configuration_names();
    let contract: BTreeSet<String> = env::api_all()
        .chain(env::worker_all())
        .map(str::to_owned)
        .collect();
    let undocumented: Vec<_> = contract.difference(&documented).collect();
    let stale: Vec<_> = documented.difference(&contract).collect();
    assert!(
        undocumented.is_empty() && stale.is_empty(),
        "docs/configuration.md against the contract: missing {undocumented:?}, not read by any binary {stale:?}"
    );
}

/// The table parser reads the first column only, and every backticked name in it.
#[test]
fn table_parser_reads_the_first_column() {
    let markdown = "# x\n## A\n| env | flag | meaning |\n|---|---|---|\n\
                    | `TODO_HTTP_ADDR` | `--http-addr` | where |\n| `DATABASE_URL` | `--database-url` | `NOT_ME` |\n\
                    prose `NOR_ME`\n## B\n| `OTHER` | x |\n";
    let names = table_first_column_names(markdown);
    assert_eq!(
        names,
        BTreeSet::from([
            "TODO_HTTP_ADDR".to_owned(),
            "DATABASE_URL".to_owned(),
            "OTHER".to_owned()
        ])
    );
}
