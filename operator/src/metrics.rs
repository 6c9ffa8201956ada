//! Prometheus metrics of the operator, served at `/metrics`.

use std::time::Duration;

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

type Labels = Vec<(String, String)>;

/// The operator's metrics and their registry.
pub struct Metrics {
    registry: Registry,
    reconciles: Family<Labels, Counter>,
    reconcile_errors: Family<Labels, Counter>,
    duration: Histogram,
    writes: Family<Labels, Counter>,
    invalid_objects: Counter,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("todo_operator");
        let reconciles = Family::<Labels, Counter>::default();
        let reconcile_errors = Family::<Labels, Counter>::default();
        let duration = Histogram::new(exponential_buckets(0.005, 2.0, 12));
        let writes = Family::<Labels, Counter>::default();
        let invalid_objects = Counter::default();
        registry.register("reconciles", "Reconciles by result", reconciles.clone());
        registry.register(
            "reconcile_errors",
            "Failed reconciles by error kind",
            reconcile_errors.clone(),
        );
        registry.register(
            "reconcile_duration_seconds",
            "Duration of reconciles",
            duration.clone(),
        );
        registry.register(
            "kubernetes_writes",
            "Writes to the Kubernetes API by verb (apply, delete, status)",
            writes.clone(),
        );
        registry.register(
            "invalid_objects",
            "TodoPlatforms that failed to deserialize",
            invalid_objects.clone(),
        );
        Self {
            registry,
            reconciles,
            reconcile_errors,
            duration,
            writes,
            invalid_objects,
        }
    }
}

impl Metrics {
    /// Count one reconcile; `error_kind` is `None` on success.
    pub fn record_reconcile(&self, elapsed: Duration, error_kind: Option<&str>) {
        self.duration.observe(elapsed.as_secs_f64());
        let result = if error_kind.is_some() {
            "error"
        } else {
            "success"
        };
        self.reconciles
            .get_or_create(&vec![("result".into(), result.into())])
            .inc();
        if let Some(kind) = error_kind {
            self.reconcile_errors
                .get_or_create(&vec![("kind".into(), kind.into())])
                .inc();
        }
    }

    /// Count one write to the Kubernetes API.
    pub fn record_write(&self, verb: &str) {
        self.writes
            .get_or_create(&vec![("verb".into(), verb.into())])
            .inc();
    }

    /// Count one TodoPlatform that did not deserialize.
    pub fn record_invalid_object(&self) {
        self.invalid_objects.inc();
    }

    /// Total writes so far (all verbs).
    pub fn writes_total(&self) -> u64 {
        ["apply", "delete", "status"]
            .iter()
            .map(|verb| {
                self.writes
                    .get(&vec![("verb".into(), (*verb).into())])
                    .map_or(0, |c| c.get())
            })
            .sum()
    }

    /// Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        encode(&mut out, &self.registry).expect("writing to a String cannot fail");
        out
    }
}
