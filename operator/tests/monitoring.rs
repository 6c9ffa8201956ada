//! Dashboards and alerts: every metric a dashboard panel or an alert queries is one the binaries
//! really export (a live `/metrics` of `todo-api` in dev mode, `todo-worker` and the operator), the
//! alerting rules pass Prometheus's own `promtool check rules`, and `promtool test rules` shows
//! each alert firing on the series it is for and quiet otherwise; the copies shipped per platform
//! are pinned to it.

use crate::common;
use crate::controller::RecordingTopics;
use crate::support::fake_apiserver::FakeApiServer;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use kube::core::DeserializeGuard;
use kube::runtime::{reflector, watcher};
use serde_json::Value;
use todo_operator::build::{self, DASHBOARDS, GRAFANA_DASHBOARD_LABEL};
use todo_operator::controller::{self, Context};
use todo_operator::crd::TodoPlatform;
use todo_operator::metrics::Metrics;
use todo_operator::render::{self, offline_inputs};

/// Every dashboard we ship: the platform's (operator/dashboards) and the operator's (the chart's).
fn dashboard_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = ["operator/dashboards", "charts/todo-operator/dashboards"]
        .iter()
        .flat_map(|dir| {
            std::fs::read_dir(common::repo_root().join(dir))
                .unwrap_or_else(|e| panic!("read {dir}: {e}"))
                .map(|entry| entry.expect("directory entry").path())
        })
        .filter(|path| path.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    files
}

/// (panel title, PromQL) of every query of a dashboard, rows' nested panels included.
fn panel_queries(dashboard: &Value) -> Vec<(String, String)> {
    fn walk(panels: &[Value], out: &mut Vec<(String, String)>) {
        for panel in panels {
            let title = panel["title"].as_str().unwrap_or("(untitled)").to_owned();
            for target in panel["targets"].as_array().into_iter().flatten() {
                if let Some(expr) = target["expr"].as_str() {
                    out.push((title.clone(), expr.to_owned()));
                }
            }
            walk(panel["panels"].as_array().map_or(&[], Vec::as_slice), out);
        }
    }
    let mut out = Vec::new();
    walk(
        dashboard["panels"].as_array().map_or(&[], Vec::as_slice),
        &mut out,
    );
    for variable in dashboard["templating"]["list"]
        .as_array()
        .into_iter()
        .flatten()
    {
        if let Some(query) = variable["definition"].as_str() {
            let name = variable["name"].as_str().unwrap_or_default();
            out.push((format!("variable ${name}"), query.to_owned()));
        }
    }
    out
}

/// The metric names a PromQL expression selects: strings, label matchers and ranges dropped,
/// function calls and the label lists of `by (…)`, `on (…)` and their kin skipped. Grafana's
/// `label_values(metric{…}, label)` names its metric the same way.
fn metric_names(expr: &str) -> BTreeSet<String> {
    let expr = match expr.strip_prefix("label_values(") {
        Some(arguments) => arguments
            .rsplit_once(',')
            .map_or(arguments, |(selector, _label)| selector),
        None => expr,
    };
    let mut stripped = String::new();
    let (mut quote, mut braces, mut brackets) = (None, 0u32, 0u32);
    for c in expr.chars() {
        if let Some(q) = quote {
            if c == q {
                quote = None;
            }
            continue;
        }
        match c {
            '"' | '\'' | '`' => quote = Some(c),
            '{' => braces += 1,
            '}' => braces -= 1,
            '[' => brackets += 1,
            ']' => brackets -= 1,
            _ if braces > 0 || brackets > 0 => {}
            _ => stripped.push(c),
        }
        if matches!(c, '}' | ']' | '"' | '\'' | '`') {
            stripped.push(' ');
        }
    }
    // Operators and aggregations, which `sum by (…) (…)` puts before something other than `(`.
    const KEYWORDS: [&str; 21] = [
        "and",
        "or",
        "unless",
        "bool",
        "offset",
        "inf",
        "nan",
        "sum",
        "min",
        "max",
        "avg",
        "group",
        "stddev",
        "stdvar",
        "count",
        "count_values",
        "bottomk",
        "topk",
        "quantile",
        "limitk",
        "limit_ratio",
    ];
    const LABEL_LISTS: [&str; 6] = [
        "by",
        "without",
        "on",
        "ignoring",
        "group_left",
        "group_right",
    ];
    let chars: Vec<char> = stripped.chars().collect();
    let mut names = BTreeSet::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let starts_identifier = (c.is_ascii_alphabetic() || c == '_' || c == ':')
            && (i == 0 || !(chars[i - 1].is_ascii_alphanumeric() || chars[i - 1] == '.'));
        if !starts_identifier {
            i += 1;
            continue;
        }
        let start = i;
        while i < chars.len()
            && (chars[i].is_ascii_alphanumeric() || chars[i] == '_' || chars[i] == ':')
        {
            i += 1;
        }
        let word: String = chars[start..i].iter().collect();
        let mut next = i;
        while next < chars.len() && chars[next].is_whitespace() {
            next += 1;
        }
        let called = chars.get(next) == Some(&'(');
        if LABEL_LISTS.contains(&word.as_str()) {
            if called {
                while next < chars.len() && chars[next] != ')' {
                    next += 1;
                }
                i = next;
            }
        } else if !called && !KEYWORDS.contains(&word.to_lowercase().as_str()) {
            names.insert(word);
        }
    }
    names
}

/// The parser finds the metrics and nothing else, so the check below can fail.
#[test]
fn metric_names_are_read_from_promql() {
    let expr = r#"histogram_quantile(0.99, sum by (le, route) (rate(http_request_duration_seconds_bucket{job="$platform-api", route!="/a b"}[$__rate_interval]))) / on (route) group_left(x) sum without (pod) (up_total offset 5m) > bool 0.5 and absent(todo_operator_platform_condition{type="Ready"} == 1)"#;
    assert_eq!(
        metric_names(expr),
        BTreeSet::from([
            "http_request_duration_seconds_bucket".to_owned(),
            "todo_operator_platform_condition".to_owned(),
            "up_total".to_owned(),
        ])
    );
    assert_eq!(
        metric_names("label_values(http_requests_total{namespace=\"$namespace\"}, job)"),
        BTreeSet::from(["http_requests_total".to_owned()])
    );
}

/// Sample names of a Prometheus text exposition (histograms as their `_bucket`, `_sum` and
/// `_count` series, OpenMetrics counters with `_total`): what a PromQL query can select.
fn exported_names(exposition: &str) -> BTreeSet<String> {
    exposition
        .lines()
        .filter(|line| !line.starts_with('#') && !line.trim().is_empty())
        .filter_map(|line| line.split(['{', ' ']).next())
        .map(str::to_owned)
        .collect()
}

/// GET over HTTP/1.0 (no chunked bodies): the status line and body.
fn http_get(address: SocketAddr, path: &str) -> Option<(String, String)> {
    let mut stream = TcpStream::connect_timeout(&address, Duration::from_secs(2)).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .ok()?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: {address}\r\n\r\n").ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let (head, body) = response.split_once("\r\n\r\n")?;
    Some((head.lines().next()?.to_owned(), body.to_owned()))
}

fn free_address() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind an ephemeral port")
}

/// A started binary, killed when dropped.
struct Process(Child, String);

impl Process {
    fn start(binary: &Path, args: &[&str], env: &[(&str, String)], log: &Path) -> Self {
        let file = std::fs::File::create(log).expect("create log");
        let child = Command::new(binary)
            .args(args)
            .envs(env.iter().map(|(k, v)| (*k, v)))
            .stdin(Stdio::null())
            .stdout(file.try_clone().expect("clone log"))
            .stderr(file)
            .spawn()
            .unwrap_or_else(|e| panic!("start {}: {e}", binary.display()));
        Self(child, log.display().to_string())
    }

    /// `/metrics` once `/healthz` answers (within 60 s): the first scrape, and a second one, which
    /// also shows what the first scrape itself recorded, as Prometheus sees from its second on.
    fn scrape(&mut self, address: SocketAddr) -> String {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some((status, _)) = http_get(address, "/healthz")
                && status.contains(" 200")
            {
                break;
            }
            if let Ok(Some(exit)) = self.0.try_wait() {
                panic!(
                    "exited with {exit}; log: {}",
                    std::fs::read_to_string(&self.1).unwrap_or_default()
                );
            }
            assert!(
                Instant::now() < deadline,
                "no /healthz within 60 s; log: {}",
                self.1
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        http_get(address, "/metrics").expect("first scrape");
        let (status, body) = http_get(address, "/metrics").expect("second scrape");
        assert!(status.contains(" 200"), "{status}");
        body
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A TodoPlatform for the rules and the operator's scrape: the minimal example, as `shop/todo`.
fn platform(observability: impl FnOnce(&mut TodoPlatform)) -> TodoPlatform {
    let text = std::fs::read_to_string(common::repo_root().join("examples/minimal.yaml"))
        .expect("read examples/minimal.yaml");
    let mut platform = render::parse(&text).expect("example parses");
    platform.metadata.name = Some("todo".into());
    platform.metadata.namespace = Some("shop".into());
    observability(&mut platform);
    platform
}

/// The operator's `/metrics` over HTTP after it reconciled a platform (against the in-memory API
/// server) with its controller cache holding that platform: the process's own router and metrics.
fn operator_exposition() -> String {
    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
    runtime.block_on(async {
        let (client, server) = FakeApiServer::start();
        let path = "/apis/todoplatform.dev/v1alpha1/namespaces/shop/todoplatforms/todo";
        let mut object = serde_json::to_value(platform(|_| {})).expect("serializes");
        object["metadata"]["uid"] = "platform-uid".into();
        server.insert(path, object);
        let metrics = Arc::new(Metrics::default());
        let ctx = Arc::new(Context::new(
            client,
            Arc::new(RecordingTopics::default()),
            metrics.clone(),
            None,
        ));
        let read = || -> TodoPlatform {
            serde_json::from_value(server.get(path).expect("stored")).expect("parses")
        };
        for _ in 0..2 {
            let guard = Arc::new(DeserializeGuard(Ok(read())));
            let _ = controller::reconcile(guard, ctx.clone()).await;
        }
        let (store, mut writer) = reflector::store::<DeserializeGuard<TodoPlatform>>();
        writer.apply_watcher_event(&watcher::Event::Apply(DeserializeGuard(Ok(read()))));
        metrics.watch_platforms(store);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(axum::serve(listener, todo_operator::http::router(metrics)).into_future());
        tokio::task::spawn_blocking(move || http_get(address, "/metrics"))
            .await
            .expect("scrape runs")
            .expect("scrape answers")
            .1
    })
}

/// Every metric in every dashboard panel and every alert rule is exported by a binary: a live
/// scrape of `todo-api` in dev mode (API, relay and every worker role over the in-process bus),
/// `todo-worker` with every role (as behind Dapr in Kubernetes) and the operator.
#[test]
fn dashboards_and_alerts_query_only_exported_metrics() {
    let test = "dashboards_and_alerts_query_only_exported_metrics";
    let bin = match common::cargo_build(&[
        "-p",
        "todo-api",
        "--bin",
        "todo-api",
        "-p",
        "todo-worker",
        "--bin",
        "todo-worker",
    ]) {
        Ok(bin) => bin,
        Err(error) => panic!("{test}: cannot build the binaries: {error}"),
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let database = format!("sqlite://{}", dir.path().join("todo.db").display());
    let api_address = free_address();
    let mut api = Process::start(
        &bin.join("todo-api"),
        &[],
        &[
            ("DATABASE_URL", database.clone()),
            ("TODO_HTTP_ADDR", api_address.to_string()),
        ],
        &dir.path().join("api.log"),
    );
    let api_metrics = api.scrape(api_address);
    let worker_address = free_address();
    // The worker's calls to the API go through its Dapr sidecar, which nothing here answers: none
    // happens before the scrape, and the scrape needs none.
    let mut worker = Process::start(
        &bin.join("todo-worker"),
        &[],
        &[
            ("DATABASE_URL", database),
            ("TODO_HTTP_ADDR", worker_address.to_string()),
            ("DAPR_HTTP_PORT", free_address().port().to_string()),
        ],
        &dir.path().join("worker.log"),
    );
    let worker_metrics = worker.scrape(worker_address);
    let exported: BTreeMap<&str, BTreeSet<String>> = BTreeMap::from([
        ("todo-api", exported_names(&api_metrics)),
        ("todo-worker", exported_names(&worker_metrics)),
        ("todo-operator", exported_names(&operator_exposition())),
    ]);
    let all: BTreeSet<&String> = exported.values().flatten().collect();

    let mut queries: Vec<(String, String, String)> = Vec::new();
    for file in dashboard_files() {
        let dashboard: Value =
            serde_json::from_str(&std::fs::read_to_string(&file).expect("read dashboard"))
                .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let title = dashboard["title"].as_str().unwrap_or_default();
        let name = format!("dashboard {title:?} ({})", file.display());
        for (panel, expr) in panel_queries(&dashboard) {
            queries.push((name.clone(), format!("panel {panel:?}"), expr));
        }
    }
    for (file, groups) in rule_files() {
        for rule in groups["groups"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|g| g["rules"].as_array().cloned().unwrap_or_default())
        {
            let alert = rule["alert"].as_str().unwrap_or_default().to_owned();
            let expr = rule["expr"].as_str().unwrap_or_default().to_owned();
            queries.push((format!("rules {file}"), format!("alert {alert}"), expr));
        }
    }
    assert!(queries.len() > 40, "found only {} queries", queries.len());
    let missing: Vec<String> = queries
        .iter()
        .flat_map(|(source, item, expr)| {
            let names = metric_names(expr);
            assert!(!names.is_empty(), "{source}, {item}: no metric in {expr}");
            // A query that selects one job must find its metrics in that binary's own scrape: in
            // Kubernetes the workers' series come from todo-worker, not from dev mode's todo-api.
            let binary = if expr.contains("-worker-") {
                Some("todo-worker")
            } else if expr.contains(r#"-api""#) {
                Some("todo-api")
            } else {
                None
            };
            let exported = &exported;
            let all = &all;
            names
                .into_iter()
                .filter(move |name| match binary {
                    Some(binary) => !exported[binary].contains(name),
                    None => !all.contains(name),
                })
                .map(move |name| match binary {
                    Some(binary) => format!("{source}, {item}: {name} is not exported by {binary}"),
                    None => format!("{source}, {item}: {name} is not exported"),
                })
        })
        .collect();
    assert!(
        missing.is_empty(),
        "{}\n\nexported:\n{exported:#?}",
        missing.join("\n")
    );
}

/// The rule files we ship, as Prometheus rule files: the platform's (from the PrometheusRule the
/// operator renders for `shop/todo`) and the operator's (the chart's file).
fn rule_files() -> Vec<(String, Value)> {
    let desired = build::build(
        &platform(|p| p.spec.observability.prometheus_rules = true),
        &offline_inputs(),
    )
    .expect("builds");
    let rule = desired
        .prometheus_rule
        .expect("prometheusRules asks for a PrometheusRule");
    let platform_rules = rule.data["spec"].clone();
    let chart = "charts/todo-operator/alerts/operator-rules.yaml";
    let operator_rules: Value = serde_yaml::from_str(
        &std::fs::read_to_string(common::repo_root().join(chart)).expect("read the chart's rules"),
    )
    .expect("the chart's rules parse");
    vec![
        ("platform-rules.yaml".to_owned(), platform_rules),
        ("operator-rules.yaml".to_owned(), operator_rules),
    ]
}

/// promtool as built by `tests/promtool/promtool.sh`; missing fails under CI, else skips.
fn promtool(test: &str) -> Option<PathBuf> {
    let out = Command::new("bash")
        .arg(common::repo_root().join("tests/promtool/promtool.sh"))
        .arg("bin")
        .output()
        .expect("bash runs");
    if out.status.success() {
        return Some(PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()).join("promtool"));
    }
    let why = "promtool is not built (bash tests/promtool/promtool.sh build)";
    assert!(!common::in_ci(), "{test}: {why} (required when CI is set)");
    eprintln!("SKIPPED {test}: {why}");
    None
}

/// `promtool check rules` accepts every rule file we ship, and `promtool test rules` passes the
/// committed unit tests (operator/tests/fixtures/promtool): each alert fires on the series it is
/// for, with its labels and annotations, and stays quiet on healthy series and other platforms'.
#[test]
fn promtool_checks_and_unit_tests_the_alerts() {
    let test = "promtool_checks_and_unit_tests_the_alerts";
    let Some(promtool) = promtool(test) else {
        return;
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let fixtures = common::repo_root().join("operator/tests/fixtures/promtool");
    for (file, rules) in rule_files() {
        let path = dir.path().join(&file);
        std::fs::write(&path, serde_yaml::to_string(&rules).expect("YAML")).expect("write rules");
        let check = Command::new(&promtool)
            .args(["check", "rules"])
            .arg(&path)
            .output()
            .expect("promtool runs");
        assert!(
            check.status.success(),
            "promtool check rules {file}:\n{}{}",
            String::from_utf8_lossy(&check.stdout),
            String::from_utf8_lossy(&check.stderr)
        );
        let unit = file.replace(".yaml", ".test.yaml");
        std::fs::copy(fixtures.join(&unit), dir.path().join(&unit)).expect("copy unit tests");
        let tested = Command::new(&promtool)
            .args(["test", "rules"])
            .arg(dir.path().join(&unit))
            .output()
            .expect("promtool runs");
        assert!(
            tested.status.success(),
            "promtool test rules {unit}:\n{}{}",
            String::from_utf8_lossy(&tested.stdout),
            String::from_utf8_lossy(&tested.stderr)
        );
    }
}

/// Every alert a rule file defines has a unit test that expects it to fire: a new alert without
/// one fails here.
#[test]
fn every_alert_has_a_firing_unit_test() {
    let fixtures = common::repo_root().join("operator/tests/fixtures/promtool");
    for (file, rules) in rule_files() {
        let unit = file.replace(".yaml", ".test.yaml");
        let tests: Value = serde_yaml::from_str(
            &std::fs::read_to_string(fixtures.join(&unit)).expect("read unit tests"),
        )
        .expect("unit tests parse");
        let firing: BTreeSet<String> = tests["tests"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|t| t["alert_rule_test"].as_array().cloned().unwrap_or_default())
            .filter(|case| case["exp_alerts"].as_array().is_some_and(|a| !a.is_empty()))
            .filter_map(|case| case["alertname"].as_str().map(str::to_owned))
            .collect();
        for rule in rules["groups"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|g| g["rules"].as_array().cloned().unwrap_or_default())
        {
            let alert = rule["alert"].as_str().expect("alerting rules only");
            assert!(firing.contains(alert), "{unit}: no test fires {alert}");
        }
    }
}

/// The dashboards ConfigMap carries the sidecar's label, a key per dashboard unique to the
/// platform, and dashboards pinned to it: their own uid and title, `namespace` and `platform`
/// fixed; another platform's copies differ, so neither replaces the other in Grafana.
#[test]
fn shipped_dashboards_are_pinned_to_their_platform() {
    let config_map = |namespace: &str| {
        let mut p = platform(|p| p.spec.observability.grafana_dashboards = true);
        p.metadata.namespace = Some(namespace.into());
        build::build(&p, &offline_inputs())
            .expect("builds")
            .dashboards
            .expect("grafanaDashboards asks for the ConfigMap")
    };
    let (shop, other) = (config_map("shop"), config_map("other"));
    assert_eq!(
        shop.metadata.labels.as_ref().unwrap()[GRAFANA_DASHBOARD_LABEL],
        "1"
    );
    let data = shop.data.as_ref().unwrap();
    assert_eq!(data.len(), DASHBOARDS.len());
    let mut uids = BTreeSet::new();
    for (key, committed) in DASHBOARDS {
        let shipped: Value = serde_json::from_str(&data[&format!("shop-todo-{key}.json")])
            .expect("shipped dashboard parses");
        let committed: Value = serde_json::from_str(committed).expect("committed parses");
        assert!(shipped["title"].as_str().unwrap().ends_with("(shop/todo)"));
        assert_eq!(
            shipped["panels"], committed["panels"],
            "{key}: panels as committed"
        );
        for variable in shipped["templating"]["list"].as_array().unwrap() {
            match variable["name"].as_str().unwrap() {
                "namespace" => assert_eq!(variable["query"], "shop"),
                "platform" => assert_eq!(variable["query"], "todo"),
                _ => continue,
            }
            assert_eq!(variable["type"], "constant", "{key}");
        }
        let other: Value =
            serde_json::from_str(&other.data.as_ref().unwrap()[&format!("other-todo-{key}.json")])
                .expect("parses");
        uids.insert(shipped["uid"].as_str().unwrap().to_owned());
        uids.insert(other["uid"].as_str().unwrap().to_owned());
    }
    assert_eq!(
        uids.len(),
        2 * DASHBOARDS.len(),
        "uids are unique: {uids:?}"
    );
    assert!(
        uids.iter().all(|uid| uid.len() <= 40),
        "Grafana's uid limit"
    );
    let off = build::build(&platform(|_| {}), &offline_inputs()).expect("builds");
    assert!(off.dashboards.is_none() && off.prometheus_rule.is_none());
}
