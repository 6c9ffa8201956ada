//! docs/configuration.md is generated from the two binaries' command lines (clap: each setting's flag,
//! environment variable, default and help) and the contract's list of what they read outside it.
//! `TODO_UPDATE_GENERATED=1` rewrites it; otherwise a drifted copy fails.

use clap::CommandFactory;
use std::collections::BTreeSet;
use std::path::PathBuf;
use todo_contract::env;

const REFERENCE: &str = "docs/configuration.md";

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("api-server is in the workspace")
        .to_path_buf()
}

/// A table cell: one line, `|` escaped.
fn cell(text: &str) -> String {
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .replace('|', "\\|")
}

/// One row per argument that has an environment variable, in the command line's order.
fn table(command: &clap::Command) -> String {
    let mut out = String::from("| variable | flag | default | meaning |\n|---|---|---|---|\n");
    for arg in command.get_arguments() {
        let Some(name) = arg.get_env() else {
            continue;
        };
        let defaults: Vec<String> = arg
            .get_default_values()
            .iter()
            .map(|v| v.to_string_lossy().into_owned())
            .collect();
        let default = match defaults.as_slice() {
            [] => "unset".to_owned(),
            [one] if one.is_empty() => "empty".to_owned(),
            values => format!("`{}`", values.join(",")),
        };
        let help = arg
            .get_long_help()
            .or(arg.get_help())
            .map(|h| h.to_string())
            .unwrap_or_default();
        assert!(
            !help.is_empty(),
            "{}: the argument of {} has no doc comment to document it by",
            command.get_name(),
            name.to_string_lossy()
        );
        out.push_str(&format!(
            "| `{}` | `--{}` | {} | {} |\n",
            name.to_string_lossy(),
            arg.get_long().expect("every setting has a flag"),
            default,
            cell(&help)
        ));
    }
    out
}

/// What the contract says the binaries read outside their command lines, described here (the only
/// place that describes them); a name the contract adds fails until it is described.
fn extra_meaning(name: &str) -> &'static str {
    match name {
        env::APP_API_TOKEN => {
            "Dapr's app token: when set, the internal routes (`/internal/v1/…`, which the workers call \
             through Dapr service invocation) require it in the `dapr-api-token` header. The operator \
             generates it into a Secret and sets it on the API and its sidecar."
        }
        env::RUST_LOG => {
            "Log filter (`tracing`'s env filter syntax, e.g. `info` or `todo_api=debug,info`); the \
             operator sets it from `spec.logLevel`."
        }
        env::OTEL_EXPORTER_OTLP_ENDPOINT => {
            "OTLP collector URL, e.g. `http://otel-collector:4318` (OTLP/HTTP) or `:4317` (gRPC). When set, \
             spans are exported (the request, each outbox publish, each event a consumer handles), and \
             events carry the W3C trace context they were written in; unset, nothing is exported. The \
             operator sets it (and the variables below) from `spec.dapr.tracing`, the collector Dapr's \
             sidecars export to."
        }
        env::OTEL_EXPORTER_OTLP_PROTOCOL => "`http/protobuf` (default) or `grpc`.",
        env::OTEL_EXPORTER_OTLP_HEADERS => {
            "Headers sent with every export, `key=value,…` (e.g. a hosted collector's API key)."
        }
        env::OTEL_SERVICE_NAME => {
            "`service.name` of the exported spans (default: the binary's name; the operator sets each \
             Deployment's Dapr app-id)."
        }
        env::OTEL_RESOURCE_ATTRIBUTES => {
            "More resource attributes of the exported spans, `key=value,…`."
        }
        env::OTEL_TRACES_SAMPLER => {
            "Sampler (OpenTelemetry's names; default `parentbased_always_on`: a caller's decision is \
             kept). The operator sets `parentbased_traceidratio`."
        }
        env::OTEL_TRACES_SAMPLER_ARG => {
            "The ratio for `…traceidratio`, `0` to `1`; the operator sets `spec.dapr.tracing.samplingRate`."
        }
        other => panic!("{other}: read outside clap by the contract, but not described here"),
    }
}

fn generate() -> String {
    let api = todo_api::config::Cli::command();
    let worker = todo_worker::config::Cli::command();
    let mut out = String::from(
        "# Configuration reference\n\n\
         <!-- Generated from todo-api's and todo-worker's command lines by api-server/tests/configuration.rs.\n\
         Do not edit; regenerate with `TODO_UPDATE_GENERATED=1 cargo test -p todo-api --test api configuration` -->\n\n\
         Every setting is a command-line flag and an environment variable (`todo-api --help`, \
         `todo-worker --help`); a flag wins over the variable. The names are defined once, in the \
         `todo-contract` crate (`contract/src/lib.rs`), which both binaries and the operator import.\n\n\
         In Kubernetes you do not set these yourself: the operator sets them on each container from the \
         TodoPlatform ([its reference](crd-reference.md)), directly or through the platform's ConfigMap, \
         and takes secrets (database URL, JWT key, SMTP URL, webhook key) from the Secrets the \
         TodoPlatform names. The defaults below are for running a binary by hand, e.g. \
         `cargo run -p todo-api` (SQLite and every worker role in one process).\n\n",
    );
    out.push_str("## `todo-api`\n\n");
    out.push_str(&cell(&api.get_about().expect("about").to_string()));
    out.push_str(". Subcommands: `serve` (the default), `migrate`, `openapi`.\n\n");
    out.push_str(&table(&api));
    out.push_str("\n## `todo-worker`\n\n");
    out.push_str(&cell(&worker.get_about().expect("about").to_string()));
    out.push_str(
        ". Subcommands: `run` (the default), `migrate`. In a cluster each role is a Deployment of its own; \
         `todo-worker` refuses to run without a Dapr sidecar (`DAPR_HTTP_PORT`).\n\n",
    );
    out.push_str(&table(&worker));
    out.push_str(
        "\n## Read outside the command line\n\n| variable | read by | meaning |\n|---|---|---|\n",
    );
    let api_extra: BTreeSet<&str> = env::API_EXTRA.into_iter().chain(env::TRACING).collect();
    let worker_extra: BTreeSet<&str> = env::WORKER_EXTRA.into_iter().chain(env::TRACING).collect();
    for name in api_extra.union(&worker_extra) {
        let readers = match (api_extra.contains(name), worker_extra.contains(name)) {
            (true, true) => "`todo-api`, `todo-worker`",
            (true, false) => "`todo-api`",
            _ => "`todo-worker`",
        };
        out.push_str(&format!(
            "| `{name}` | {readers} | {} |\n",
            cell(extra_meaning(name))
        ));
    }
    out
}

/// docs/configuration.md is what the command lines and the contract say.
#[test]
fn configuration_reference_matches_the_command_lines() {
    let generated = generate();
    let path = repo_root().join(REFERENCE);
    if std::env::var_os("TODO_UPDATE_GENERATED").is_some() {
        std::fs::write(&path, &generated).expect("write docs/configuration.md");
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "{REFERENCE} is out of date with the command lines; regenerate with \
         `TODO_UPDATE_GENERATED=1 cargo test -p todo-api --test api configuration` and commit it"
    );
}

/// Every variable either binary reads has a row, with its default where it has one.
#[test]
fn configuration_reference_documents_every_variable() {
    let generated = generate();
    let documented: BTreeSet<&str> = generated
        .lines()
        .filter_map(|l| l.strip_prefix("| `"))
        .filter_map(|l| l.split('`').next())
        .collect();
    for name in env::api_all().chain(env::worker_all()) {
        assert!(documented.contains(name), "{name} is documented");
    }
    let api_section = generated
        .split("## `todo-worker`")
        .next()
        .expect("an API section");
    assert!(
        api_section.contains("| `TODO_DB_MAX_CONNECTIONS` | `--db-max-connections` | `16` |"),
        "{api_section}"
    );
    assert!(
        generated
            .contains("| `TODO_WORKER_ROLES` | `--role` | `recurrence,reminders,notifier,audit` |")
    );
}
