//! The event pipeline through real daprd sidecars and a real Kafka broker, configured by exactly what the
//! operator renders for a TodoPlatform (translated for one machine by `todo_pipeline::standalone`, whose
//! rules are tested here too). `todo-api` and each `todo-worker` role run as processes, each beside its own
//! daprd; topics are created by the operator's provisioner; PostgreSQL, Kafka and the SMTP server are real.
//!
//! One binary with its own harness: the platform starts once; the scenarios that only use it run in
//! parallel, then the ones that stop parts of it run one at a time. Without daprd, Kafka, PostgreSQL or
//! aiosmtpd the suite prints `SKIPPED` and why; under `CI=true` that is a failure.

// Shared with the operator's tests: tool discovery and the real Kafka broker.
mod benchmark;
#[path = "../../operator/tests/common/mod.rs"]
mod common;
#[allow(dead_code)] // the suite uses the broker's plaintext listener only
#[path = "../../operator/tests/kafka_broker/mod.rs"]
mod kafka_broker;
mod otlp;
mod scenarios;
mod support;
mod translation;

use std::process::ExitCode;
use std::sync::Arc;

use libtest_mimic::{Arguments, Failed, Trial};

use support::Platform;

type Scenario = fn(&Platform) -> std::pin::Pin<Box<dyn Future<Output = ()> + Send + '_>>;

macro_rules! scenario {
    ($name:ident) => {
        (
            stringify!($name),
            (|p| Box::pin(scenarios::$name(p))) as Scenario,
        )
    };
}

/// Scenarios that share the running platform.
const TOGETHER: [(&str, Scenario); 5] = [
    scenario!(lifecycle_reaches_the_audit_log_in_order),
    scenario!(one_trace_from_the_request_to_the_audit_entry),
    scenario!(recurring_completion_schedules_the_next),
    scenario!(due_reminder_sends_one_email_and_one_webhook),
    scenario!(poison_event_lands_on_the_dead_letter_topic),
];

/// Scenarios that stop and restart parts of the platform, one at a time after the others.
const ALONE: [(&str, Scenario); 3] = [
    scenario!(retry_is_redelivered_after_outages),
    scenario!(email_waits_out_a_mail_server_outage),
    scenario!(writes_survive_restarts_of_worker_sidecars_and_broker),
];

/// Measurements (ignored unless asked for: `-- --ignored benchmark`), after the scenarios.
const BENCHMARKS: [(&str, Scenario); 1] = [("benchmark", |p| Box::pin(benchmark::benchmark(p)))];

fn trials(
    runtime: &Arc<tokio::runtime::Runtime>,
    platform: &Arc<Platform>,
    scenarios: &[(&'static str, Scenario)],
    ignored: bool,
) -> Vec<Trial> {
    scenarios
        .iter()
        .map(|&(name, scenario)| {
            let runtime = runtime.clone();
            let platform = platform.clone();
            Trial::test(name, move || {
                runtime
                    .block_on(async move {
                        tokio::spawn(async move { scenario(&platform).await }).await
                    })
                    .map_err(|e| Failed::from(e.to_string()))
            })
            .with_ignored_flag(ignored)
        })
        .collect()
}

fn main() -> ExitCode {
    let mut arguments = Arguments::from_args();
    arguments.test_threads = arguments.test_threads.or(Some(8));
    let translation = libtest_mimic::run(&arguments, translation::trials());
    if arguments.list {
        let names = TOGETHER
            .iter()
            .chain(ALONE.iter())
            .map(|(name, _)| Trial::test(*name, || Ok(())));
        return libtest_mimic::run(&arguments, names.collect()).exit_code();
    }
    let runtime = Arc::new(tokio::runtime::Runtime::new().expect("a tokio runtime"));
    let platform = match runtime.block_on(Platform::start()) {
        Ok(platform) => Arc::new(platform),
        Err(why) if !common::in_ci() => {
            eprintln!("SKIPPED pipeline: {why}");
            return translation.exit_code();
        }
        Err(why) => {
            eprintln!("pipeline: {why} (required when CI is set: .ci/run installs and builds it)");
            return ExitCode::FAILURE;
        }
    };
    let together = libtest_mimic::run(&arguments, trials(&runtime, &platform, &TOGETHER, false));
    let mut alone_arguments = arguments.clone();
    alone_arguments.test_threads = Some(1);
    let mut alone_trials = trials(&runtime, &platform, &ALONE, false);
    alone_trials.extend(trials(&runtime, &platform, &BENCHMARKS, true));
    let alone = libtest_mimic::run(&alone_arguments, alone_trials);
    let failed = translation.has_failed() || together.has_failed() || alone.has_failed();
    if failed {
        eprintln!("{}", runtime.block_on(platform.logs(40)));
    }
    runtime.block_on(platform.cleanup(failed));
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
