//! The operator against the contract (`todo-contract`) it shares with the binaries: every env var it
//! puts on a container is one the binary in that container reads, what a binary requires is set, and
//! the routes its Subscriptions name are routes the subscribing binary serves. (The binaries' own
//! tests check that their command lines read exactly the contract's names.)

use crate::common;

use std::collections::BTreeSet;

use k8s_openapi::api::core::v1::Container;
use todo_contract::{env, port, route};
use todo_operator::build::{self, DesiredState};
use todo_operator::render::{self, offline_inputs};

/// Fully featured platforms: every optional builder branch between them, every worker role.
const PLATFORMS: [&str; 3] = [
    "operator/tests/fixtures/everything.yaml",
    "examples/production.yaml",
    "examples/minimal.yaml",
];

fn desired(relative: &str) -> DesiredState {
    let path = common::repo_root().join(relative);
    let yaml = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {relative}: {e}"));
    let platform = render::parse(&yaml).expect("parses");
    build::build(&platform, &offline_inputs()).expect("builds")
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Binary {
    Api,
    Worker,
}

impl Binary {
    /// Which binary a container of ours runs, by its name.
    fn of(container: &Container) -> Binary {
        match container.name.as_str() {
            "api" | "migrate-api" => Binary::Api,
            "migrate-workers" => Binary::Worker,
            name if name.starts_with("worker-") => Binary::Worker,
            name => panic!("container {name:?}: which binary does it run? (add it here)"),
        }
    }

    /// Every name the binary reads.
    fn reads(self) -> BTreeSet<&'static str> {
        match self {
            Binary::Api => env::api_all().collect(),
            Binary::Worker => env::worker_all().collect(),
        }
    }

    fn requires(self) -> &'static [&'static str] {
        match self {
            Binary::Api => &env::API_REQUIRED,
            Binary::Worker => &env::WORKER_REQUIRED,
        }
    }

    fn port(self) -> u16 {
        match self {
            Binary::Api => port::API,
            Binary::Worker => port::WORKER,
        }
    }
}

/// The operator sets only names the binary in the container reads, and everything it requires.
#[test]
fn operator_sets_only_what_the_binary_reads_and_all_it_requires() {
    let mut seen = BTreeSet::new();
    for relative in PLATFORMS {
        for (container, names) in common::app_containers(&desired(relative)) {
            let binary = Binary::of(&container);
            seen.insert(format!("{binary:?}"));
            let reads = binary.reads();
            let unread: Vec<&String> = names
                .iter()
                .filter(|n| !reads.contains(n.as_str()))
                .collect();
            assert!(
                unread.is_empty(),
                "{relative}: container {} ({binary:?}) gets env vars its binary never reads: {unread:?}",
                container.name
            );
            for required in binary.requires() {
                assert!(
                    names.contains(*required),
                    "{relative}: container {} lacks {required}",
                    container.name
                );
            }
            // A serving container listens where its Service, probes and Dapr point.
            if container.ports.is_some() {
                let addr = container
                    .env
                    .iter()
                    .flatten()
                    .find(|e| e.name == env::HTTP_ADDR)
                    .and_then(|e| e.value.clone());
                assert_eq!(
                    addr,
                    Some(format!("0.0.0.0:{}", binary.port())),
                    "{relative}: {}",
                    container.name
                );
            }
        }
    }
    assert_eq!(seen.len(), 2, "both binaries were checked: {seen:?}");
}

/// Each Subscription routes to a path the subscribing app serves, and every path an app serves for
/// events has a Subscription in a platform with every role.
#[test]
fn subscriptions_name_routes_the_binaries_serve() {
    for relative in PLATFORMS {
        let desired = desired(relative);
        let api_app_id = desired.deployments[0]
            .metadata
            .name
            .clone()
            .expect("the API Deployment is named");
        let mut named = BTreeSet::new();
        for subscription in &desired.dapr_subscriptions {
            let spec = &subscription.data["spec"];
            let path = spec["routes"]["default"].as_str().expect("a default route");
            let app_id = subscription.data["scopes"][0].as_str().expect("scoped");
            let serves: &[&str] = if app_id == api_app_id {
                &route::API
            } else {
                &route::WORKER
            };
            assert!(
                serves.contains(&path),
                "{relative}: {app_id} is sent {path}, which it does not route ({serves:?})"
            );
            named.insert(path.to_owned());
        }
        if relative.ends_with("production.yaml") {
            let all: BTreeSet<String> = route::API
                .into_iter()
                .chain(route::WORKER)
                .map(str::to_owned)
                .collect();
            assert_eq!(named, all, "{relative}");
        }
    }
}
