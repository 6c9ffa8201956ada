//! Prometheus metrics of the operator, served at `/metrics`.

use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use kube::core::DeserializeGuard;
use kube::runtime::reflector::Store;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::crd::TodoPlatform;

type Labels = Vec<(String, String)>;

/// Every `kind` label of the reconcile errors metric ([`crate::controller::Error::kind`]), so
/// each series exists at zero from the start: a rate over a series that appears with its first
/// error misses that error, and a dashboard shows "no data" on a healthy install.
pub const ERROR_KINDS: [&str; 9] = [
    "invalid_object",
    "dereference",
    "validate",
    "build",
    "apply",
    "update_status",
    "finalizer",
    "cleanup",
    "topic_cleanup",
];

/// The operator's metrics and their registry.
pub struct Metrics {
    registry: Registry,
    reconciles: Family<Labels, Counter>,
    reconcile_errors: Family<Labels, Counter>,
    duration: Histogram,
    writes: Family<Labels, Counter>,
    invalid_objects: Counter,
    in_flight: Gauge,
    platform_conditions: Family<Labels, Gauge>,
    platforms: OnceLock<Store<DeserializeGuard<TodoPlatform>>>,
    scrape: Mutex<()>,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("todo_operator");
        let reconciles = Family::<Labels, Counter>::default();
        let reconcile_errors = Family::<Labels, Counter>::default();
        let duration = Histogram::new(exponential_buckets(0.005, 2.0, 12));
        let writes = Family::<Labels, Counter>::default();
        let invalid_objects = Counter::default();
        let in_flight = Gauge::default();
        let platform_conditions = Family::<Labels, Gauge>::default();
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
        registry.register(
            "reconciles_in_flight",
            "Reconciles running now (at most the concurrency setting; the controller's queue \
             behind them is not observable)",
            in_flight.clone(),
        );
        registry.register(
            "platform_condition",
            "1 for each TodoPlatform condition's current status, 0 for its other statuses \
             (watched by this replica: the leader)",
            platform_conditions.clone(),
        );
        // Every known series at zero from the start (see ERROR_KINDS).
        for result in ["success", "error"] {
            reconciles
                .get_or_create(&vec![("result".into(), result.into())])
                .inc_by(0);
        }
        for kind in ERROR_KINDS {
            reconcile_errors
                .get_or_create(&vec![("kind".into(), kind.into())])
                .inc_by(0);
        }
        for verb in ["apply", "delete", "status"] {
            writes
                .get_or_create(&vec![("verb".into(), verb.into())])
                .inc_by(0);
        }
        Self {
            registry,
            reconciles,
            reconcile_errors,
            duration,
            writes,
            invalid_objects,
            in_flight,
            platform_conditions,
            platforms: OnceLock::new(),
            scrape: Mutex::new(()),
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

    /// A reconcile started; the returned guard counts it finished when dropped.
    pub fn reconcile_started(&self) -> InFlight<'_> {
        self.in_flight.inc();
        InFlight(&self.in_flight)
    }

    /// Report the conditions of the platforms in `store` (the controller's cache) at each scrape.
    pub fn watch_platforms(&self, store: Store<DeserializeGuard<TodoPlatform>>) {
        // One controller per process: a second call would be a bug, and the first store stays.
        let _ = self.platforms.set(store);
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
        // Two scrapes at once must not see each other's half-rebuilt condition series.
        let _scrape = self.scrape.lock().unwrap_or_else(|e| e.into_inner());
        self.refresh_platform_conditions();
        let mut out = String::new();
        encode(&mut out, &self.registry).expect("writing to a String cannot fail");
        out
    }

    /// Rebuild the condition series from the cache, so a deleted platform's series go with it.
    fn refresh_platform_conditions(&self) {
        let Some(store) = self.platforms.get() else {
            return;
        };
        self.platform_conditions.clear();
        for guard in store.state() {
            let Ok(platform) = &guard.0 else { continue };
            let namespace = platform.metadata.namespace.clone().unwrap_or_default();
            let name = platform.metadata.name.clone().unwrap_or_default();
            let conditions = platform.status.iter().flat_map(|s| &s.conditions);
            for condition in conditions {
                for status in ["True", "False", "Unknown"] {
                    self.platform_conditions
                        .get_or_create(&vec![
                            ("namespace".into(), namespace.clone()),
                            ("platform".into(), name.clone()),
                            ("type".into(), condition.type_.clone()),
                            ("status".into(), status.into()),
                        ])
                        .set(i64::from(condition.status == status));
                }
            }
        }
    }
}

/// A running reconcile, counted in `todo_operator_reconciles_in_flight` until dropped.
pub struct InFlight<'a>(&'a Gauge);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.dec();
    }
}
