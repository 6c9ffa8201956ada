//! Monitoring of the platform beyond the ServiceMonitor: Grafana dashboards in a ConfigMap for
//! Grafana's dashboard sidecar, and alerting rules in a Prometheus operator PrometheusRule.
//!
//! The dashboards are the JSON files in `operator/dashboards/` (importable by hand, with
//! `namespace` and `platform` variables); the copy shipped for a platform has those variables
//! pinned to it and a uid and title of its own, so two platforms' dashboards never replace each
//! other in Grafana. The rules select this platform's series by namespace and job (the
//! ServiceMonitor's job label is the Service name).

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{ApiResource, DynamicObject, GroupVersionKind};
use serde_json::{Value, json};

use super::Ctx;

/// The label Grafana's dashboard sidecar looks for (its `sidecar.dashboards.label` default).
pub const GRAFANA_DASHBOARD_LABEL: &str = "grafana_dashboard";

/// The platform's dashboards: key and JSON, as committed.
pub const DASHBOARDS: [(&str, &str); 2] = [
    ("api", include_str!("../../dashboards/api.json")),
    ("pipeline", include_str!("../../dashboards/pipeline.json")),
];

/// Prometheus operator PrometheusRule (monitoring.coreos.com/v1).
pub fn prometheus_rule_resource() -> ApiResource {
    ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("monitoring.coreos.com", "v1", "PrometheusRule"),
        "prometheusrules",
    )
}

/// The dashboards ConfigMap, when `observability.grafanaDashboards` is on. Keys carry the
/// namespace and instance because the sidecar writes every key of every labelled ConfigMap into
/// one directory.
pub fn dashboards(ctx: &Ctx) -> Option<ConfigMap> {
    if !ctx.platform.spec.observability.grafana_dashboards {
        return None;
    }
    let names = &ctx.names;
    let data = DASHBOARDS
        .iter()
        .map(|(key, json)| {
            let dashboard: Value = serde_json::from_str(json).expect("committed dashboards parse");
            (
                format!("{}-{}-{key}.json", names.namespace, names.instance),
                serde_json::to_string_pretty(&pin_dashboard(dashboard, ctx, key))
                    .expect("JSON serializes"),
            )
        })
        .collect::<BTreeMap<_, _>>();
    let mut metadata = ctx.meta(format!("{}-dashboards", names.instance), "monitoring");
    metadata
        .labels
        .get_or_insert_with(BTreeMap::new)
        .insert(GRAFANA_DASHBOARD_LABEL.into(), "1".into());
    Some(ConfigMap {
        metadata,
        data: Some(data),
        ..ConfigMap::default()
    })
}

/// This platform's copy of a dashboard: its own uid and title, and the `namespace` and
/// `platform` variables fixed (hidden constants) to this platform.
fn pin_dashboard(mut dashboard: Value, ctx: &Ctx, key: &str) -> Value {
    let names = &ctx.names;
    let platform = format!("{}/{}", names.namespace, names.instance);
    dashboard["uid"] = format!("todo-{}-{key}", super::short_hash(&platform)).into();
    let title = dashboard["title"].as_str().unwrap_or("TodoPlatform");
    dashboard["title"] = format!("{title} ({platform})").into();
    dashboard["id"] = Value::Null;
    if let Some(variables) = dashboard["templating"]["list"].as_array_mut() {
        for variable in variables {
            let value = match variable["name"].as_str() {
                Some("namespace") => names.namespace.clone(),
                Some("platform") => names.instance.clone(),
                _ => continue,
            };
            *variable = json!({
                "name": variable["name"],
                "type": "constant",
                "hide": 2,
                "query": value,
                "current": { "text": value, "value": value },
            });
        }
    }
    dashboard
}

/// One alerting rule.
struct Alert {
    name: &'static str,
    expr: String,
    for_: &'static str,
    severity: &'static str,
    summary: &'static str,
    description: &'static str,
}

impl Alert {
    fn to_json(&self, platform: &str) -> Value {
        json!({
            "alert": self.name,
            "expr": self.expr,
            "for": self.for_,
            "labels": { "severity": self.severity, "todoplatform": platform },
            "annotations": { "summary": self.summary, "description": self.description },
        })
    }
}

/// The API's latency objective is 99 % of requests (but the event stream, which stays open)
/// within 500 ms: a bucket bound of the API's histogram, so the ratio is exact.
const LATENCY_BOUND: &str = "0.5";

/// The alerts of one platform, its series selected by namespace and job.
fn alerts(ctx: &Ctx) -> Vec<Alert> {
    let names = &ctx.names;
    let api = format!(r#"namespace="{}",job="{}""#, names.namespace, names.api());
    let workers = format!(
        r#"namespace="{}",job=~"{}-worker-.+""#,
        names.namespace, names.instance
    );
    let requests = format!(r#"{api},route!="/api/v1/events""#);
    let error_ratio = |window: &str| {
        format!(
            r#"sum(rate(http_requests_total{{{api},status=~"5.."}}[{window}])) / sum(rate(http_requests_total{{{api}}}[{window}]))"#
        )
    };
    let slow_ratio = |window: &str| {
        format!(
            r#"(1 - sum(rate(http_request_duration_seconds_bucket{{{requests},le="{LATENCY_BOUND}"}}[{window}])) / sum(rate(http_request_duration_seconds_count{{{requests}}}[{window}])))"#
        )
    };
    // Multiwindow burn rates (Google SRE workbook, ch. 5): 14.4x the budget spends 2 % of a
    // 30-day budget in an hour (page), 6x spends 5 % in six hours (ticket); the short window ends
    // the alert soon after the burning stops. Budgets: 0.5 % errors (99.5 % availability), 1 %
    // slow requests; the thresholds are budget x factor, written out.
    let burn = |ratio: &dyn Fn(&str) -> String, threshold: &str, long: &str, short: &str| {
        format!(
            "({long_ratio}) > {threshold} and ({short_ratio}) > {threshold}",
            long_ratio = ratio(long),
            short_ratio = ratio(short),
        )
    };
    vec![
        Alert {
            name: "TodoApiErrorBudgetBurnFast",
            expr: burn(&error_ratio, "0.072", "1h", "5m"),
            for_: "2m",
            severity: "critical",
            summary: "todo-api is spending its error budget 14x too fast",
            description: "More than 7.2 % of the API's requests failed with a 5xx over the last hour and the last 5 minutes (objective: 99.5 % succeed). See the API dashboard's errors by route and the todo-api logs.",
        },
        Alert {
            name: "TodoApiErrorBudgetBurnSlow",
            expr: burn(&error_ratio, "0.03", "6h", "30m"),
            for_: "15m",
            severity: "warning",
            summary: "todo-api is spending its error budget 6x too fast",
            description: "More than 3 % of the API's requests failed with a 5xx over the last 6 hours and the last 30 minutes (objective: 99.5 % succeed).",
        },
        Alert {
            name: "TodoApiLatencyBudgetBurnFast",
            expr: burn(&slow_ratio, "0.144", "1h", "5m"),
            for_: "2m",
            severity: "critical",
            summary: "todo-api answers too slowly",
            description: "More than 14.4 % of the API's requests took longer than 500 ms over the last hour and the last 5 minutes (objective: 99 % within 500 ms). Check the database pool and the latency by route.",
        },
        Alert {
            name: "TodoApiLatencyBudgetBurnSlow",
            expr: burn(&slow_ratio, "0.06", "6h", "30m"),
            for_: "15m",
            severity: "warning",
            summary: "todo-api is slower than its objective",
            description: "More than 6 % of the API's requests took longer than 500 ms over the last 6 hours and the last 30 minutes (objective: 99 % within 500 ms).",
        },
        Alert {
            name: "TodoOutboxBacklogAging",
            expr: format!("max(outbox_oldest_pending_age_seconds{{{api}}}) > 300"),
            for_: "5m",
            severity: "critical",
            summary: "Events wait in the outbox for more than 5 minutes",
            description: "The oldest unpublished event is older than 5 minutes: the relay cannot publish (Dapr sidecar or Kafka down, topic missing). Changes are saved but workers, reminders and live updates lag. See outbox_publish_errors_total by topic and the todo-api logs.",
        },
        Alert {
            name: "TodoDeadLettersGrowing",
            expr: format!(
                r#"sum by (consumer) (increase(events_handled_total{{{workers},outcome="drop"}}[15m])) > 0"#
            ),
            for_: "1m",
            severity: "warning",
            summary: "Events are going to a dead-letter topic",
            description: "A consumer answered DROP for events it cannot read in the last 15 minutes; Dapr moved them to the stream's -dlq topic. They wait there for a human: read them, fix the cause and replay them.",
        },
        Alert {
            name: "TodoRemindersLate",
            expr: format!(
                "histogram_quantile(0.9, sum by (le) (rate(reminder_notify_delay_seconds_bucket{{{workers}}}[15m]))) > 120"
            ),
            for_: "10m",
            severity: "warning",
            summary: "Reminders reach the notifier more than 2 minutes late",
            description: "The 90th percentile of the time from a reminder's due time to the notifier handling it is above 2 minutes: the reminder scan (Dapr cron binding), the outbox relay or the reminders topic is behind.",
        },
    ]
}

/// The PrometheusRule, when `observability.prometheusRules` is on.
pub fn prometheus_rule(ctx: &Ctx) -> Option<DynamicObject> {
    if !ctx.platform.spec.observability.prometheus_rules {
        return None;
    }
    let names = &ctx.names;
    let platform = format!("{}/{}", names.namespace, names.instance);
    let name = format!("{}-alerts", names.instance);
    let rules: Vec<Value> = alerts(ctx).iter().map(|a| a.to_json(&platform)).collect();
    let mut object = DynamicObject::new(&name, &prometheus_rule_resource()).data(json!({
        "spec": { "groups": [ { "name": format!("todoplatform.{}.{}", names.namespace, names.instance), "rules": rules } ] },
    }));
    object.metadata = ctx.meta(name, "monitoring");
    Some(object)
}
