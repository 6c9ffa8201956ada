//! The operator on a real Kubernetes control plane (`tests/cluster`: etcd, kube-apiserver with RBAC,
//! kube-controller-manager, kube-scheduler, kwok's fake nodes), installed the way a user installs it: the CRD
//! and RBAC from the Helm chart with real `helm`, the operator as a process holding a token of the chart's
//! ServiceAccount. Nothing runs inside the pods (kwok only moves them through their phases), so this suite
//! judges what Kubernetes decides: admission, server-side apply, RBAC, owner references and garbage
//! collection, Job and Deployment rollouts, status and kstatus verdicts.
//!
//! One binary with its own harness: the cluster starts once, the scenarios run in parallel in their own
//! namespaces, then the RBAC audit runs over everything the operator did. Without the cluster binaries or helm
//! the suite prints `SKIPPED` and why; under `CI=true` that is a failure.

// Shared with the operator's own tests: tool discovery, and the real Kafka broker (both listeners).
#[path = "../../operator/tests/common/mod.rs"]
mod common;
#[allow(dead_code)] // the suite uses a part of the broker's helpers
#[path = "../../operator/tests/kafka_broker/mod.rs"]
mod kafka_broker;
mod scenarios;
mod support;

use std::process::ExitCode;
use std::sync::Arc;

use libtest_mimic::{Arguments, Trial};

use support::Suite;

fn main() -> ExitCode {
    let mut arguments = Arguments::from_args();
    // The scenarios mostly wait on the cluster; run them all at once unless told otherwise.
    arguments.test_threads = arguments.test_threads.or(Some(16));
    if arguments.list {
        let trials: Vec<Trial> = scenarios::NAMES
            .iter()
            .chain(scenarios::AFTERWARDS.iter())
            .map(|name| Trial::test(*name, || Ok(())))
            .collect();
        return libtest_mimic::run(&arguments, trials).exit_code();
    }
    let suite = match Suite::start() {
        Ok(suite) => Arc::new(suite),
        Err(why) if !support::in_ci() => {
            eprintln!("SKIPPED e2e: {why}");
            return ExitCode::SUCCESS;
        }
        Err(why) => {
            eprintln!("e2e: {why} (required when CI is set: .ci/run builds and installs it)");
            return ExitCode::FAILURE;
        }
    };
    scenarios::before(&suite);
    let first = libtest_mimic::run(&arguments, scenarios::trials(&suite));
    // Only once every scenario has run is the audit log complete.
    let second = libtest_mimic::run(&arguments, scenarios::afterwards(&suite));
    if first.has_failed() || second.has_failed() {
        let operator = suite.operator.lock().expect("operator lock");
        eprintln!(
            "--- operator log ({}), last lines ---\n{}",
            operator.log.display(),
            operator.log_tail(80)
        );
    }
    drop(suite);
    if first.has_failed() || second.has_failed() {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
