//! The admission rules of a TodoPlatform, in one place for both enforcers: the CRD's CEL rules
//! (kube-apiserver, via the `x_kube(validation = …)` attributes in [`crate::crd`]) and
//! [`validate`] (the controller's validate step and `todo-operator render`, for clusters without
//! CEL and for offline input). Each rule's message names the field at fault and is the same text
//! on both paths.

use crate::crd::{SaslMechanism, TodoPlatform, TopicDeletionPolicy, TopicProvisioner};

/// The longest TodoPlatform name whose children all fit Kubernetes' name limits. The tightest
/// is the Service Dapr's injector creates per app, `<app-id>-dapr`, a DNS-1035 label (63):
/// the longest app-id is `<name>-worker-recurrence` (`names::Names::worker`), so
/// 63 − len("-worker-recurrence") 18 − len("-dapr") 5 = 40. For comparison the others leave
/// more room: the Job `<name>-migrate-<8 hex>` (label `job-name`, 63) allows 46, the
/// StatefulSets `<name>-postgres`/`-redpanda` (52, for the `controller-revision-hash` label)
/// allow 43, our own Services `<name>-worker-recurrence` (63) allow 45.
pub const MAX_NAME_LENGTH: usize = 40;

/// One CEL rule: its expression (evaluated with `self` at the struct carrying it) and message.
#[derive(Clone, Copy, Debug)]
pub struct Check {
    /// CEL expression.
    pub cel: &'static str,
    /// Message naming the field; also what [`validate`] reports.
    pub message: &'static str,
}

impl Check {
    /// The `x-kubernetes-validations` entry.
    pub fn rule(self) -> kube::core::Rule {
        kube::core::Rule::new(self.cel).message(self.message)
    }
}

/// At the root of the schema (CEL may read `metadata.name` there).
pub const NAME: Check = Check {
    cel: "self.metadata.name.size() <= 40 && self.metadata.name.matches('^[a-z]([-a-z0-9]*[a-z0-9])?$')",
    message: "metadata.name must be at most 40 characters of lowercase letters, digits and '-', \
              starting with a letter and ending with a letter or digit, so every child's name fits",
};

/// On the spec.
pub const VERSION: Check = Check {
    cel: "!has(self.version) || self.version.matches('^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$')",
    message: "spec.version must be a valid label value: at most 63 letters, digits, '-', '_' or \
              '.', starting and ending with a letter or digit",
};

/// On spec.api.
pub const AUTOSCALING_BOUNDS: Check = Check {
    cel: "!has(self.autoscaling) || self.autoscaling.minReplicas <= self.autoscaling.maxReplicas",
    message: "spec.api.autoscaling.minReplicas must not exceed spec.api.autoscaling.maxReplicas",
};

/// On spec.database.
pub const DATABASE_CHOICE: Check = Check {
    cel: "has(self.managed) != has(self.external)",
    message: "spec.database: set exactly one of spec.database.managed or spec.database.external",
};

/// On spec.eventing.
pub const EVENTING_CHOICE: Check = Check {
    cel: "has(self.managed) != has(self.external)",
    message: "spec.eventing: set exactly one of spec.eventing.managed or spec.eventing.external",
};

/// On spec.eventing.
pub const REDPANDA_TOPICS_NEED_EXTERNAL: Check = Check {
    cel: "!has(self.managed) || self.topics.provisioner != 'RedpandaTopic'",
    message: "spec.eventing.topics.provisioner RedpandaTopic needs spec.eventing.external (the \
              managed broker is not run by the Redpanda operator)",
};

/// On spec.eventing.
pub const MANAGED_REPLICATION: Check = Check {
    cel: "!has(self.managed) || self.topics.replicationFactor == 1",
    message: "spec.eventing.topics.replicationFactor must be 1 with spec.eventing.managed (a \
              single-node broker)",
};

/// On spec.eventing.topics.
pub const REDPANDA_CLUSTER_REQUIRED: Check = Check {
    cel: "self.provisioner != 'RedpandaTopic' || has(self.redpandaClusterRef)",
    message: "spec.eventing.topics.redpandaClusterRef is required with provisioner RedpandaTopic",
};

/// On spec.eventing.topics.
pub const REDPANDA_CLUSTER_ONLY_WITH_REDPANDA: Check = Check {
    cel: "!has(self.redpandaClusterRef) || self.provisioner == 'RedpandaTopic'",
    message: "spec.eventing.topics.redpandaClusterRef is only used with provisioner RedpandaTopic",
};

/// On spec.eventing.topics.
pub const DELETE_NEEDS_PROVISIONER: Check = Check {
    cel: "self.deletionPolicy != 'Delete' || self.provisioner != 'External'",
    message: "spec.eventing.topics.deletionPolicy Delete needs provisioner KafkaAdmin or \
              RedpandaTopic (with External the operator creates no topics to delete)",
};

/// On spec.eventing.external.
pub const PLAIN_NEEDS_TLS: Check = Check {
    cel: "!has(self.sasl) || self.sasl.mechanism != 'PLAIN' || has(self.tls)",
    message: "spec.eventing.external.sasl.mechanism PLAIN sends the password in clear text; it \
              needs spec.eventing.external.tls",
};

/// On spec.ingress.
pub const INGRESS_HOST: Check = Check {
    cel: "self.host.matches('^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?([.][a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*$')",
    message: "spec.ingress.host must be a DNS name: dot-separated labels of at most 63 lowercase \
              letters, digits and '-', each starting and ending with a letter or digit",
};

/// A DNS-1123 label as `INGRESS_HOST` reads it, at most 63 characters.
fn is_dns_label(label: &str) -> bool {
    let bytes = label.as_bytes();
    let edge = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    !bytes.is_empty()
        && bytes.len() <= 63
        && edge(bytes[0])
        && edge(bytes[bytes.len() - 1])
        && bytes.iter().all(|&b| edge(b) || b == b'-')
}

fn is_valid_name(name: &str) -> bool {
    name.len() <= MAX_NAME_LENGTH && is_dns_label(name) && name.as_bytes()[0].is_ascii_lowercase()
}

fn is_label_value(value: &str) -> bool {
    let bytes = value.as_bytes();
    let edge = |b: u8| b.is_ascii_alphanumeric();
    !bytes.is_empty()
        && bytes.len() <= 63
        && edge(bytes[0])
        && edge(bytes[bytes.len() - 1])
        && bytes
            .iter()
            .all(|&b| edge(b) || matches!(b, b'-' | b'_' | b'.'))
}

fn is_storage_size(size: &str) -> bool {
    ["Mi", "Gi", "Ti"].iter().any(|unit| {
        size.strip_suffix(unit)
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
    })
}

/// A positive duration as the CRD's pattern allows it: whole numbers of `ms`, `s`, `m` or `h`,
/// concatenated (`1h30m`), the first of them not zero.
fn is_duration(text: &str) -> bool {
    let mut rest = text;
    let mut first = true;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        let (number, after) = rest.split_at(digits);
        let Some(unit) = ["ms", "s", "m", "h"]
            .into_iter()
            .find(|u| after.starts_with(u))
        else {
            return false;
        };
        if number.is_empty() || (first && number.bytes().all(|b| b == b'0')) {
            return false;
        }
        first = false;
        rest = &after[unit.len()..];
    }
    !first
}

/// Collects violations in rule order.
#[derive(Default)]
struct Violations(Vec<String>);

impl Violations {
    fn check(&mut self, ok: bool, check: Check) {
        if !ok {
            self.0.push(check.message.to_owned());
        }
    }

    /// The schema's `minimum`/`maximum` on an integer field.
    fn range(&mut self, field: &str, value: i32, min: i32, max: i32) {
        if !(min..=max).contains(&value) {
            self.0.push(format!(
                "{field} must be between {min} and {max} (is {value})"
            ));
        }
    }

    /// The schema's `pattern` on a duration.
    fn duration(&mut self, field: &str, value: Option<&str>) {
        if let Some(value) = value.filter(|v| !is_duration(v)) {
            self.0.push(format!(
                "{field} must be a positive duration of whole ms, s, m or h, like 30s or 1h30m (is {value:?})"
            ));
        }
    }

    /// The schema's `pattern` on a storage size.
    fn storage(&mut self, field: &str, value: &str) {
        if !is_storage_size(value) {
            self.0.push(format!(
                "{field} must be a whole number of Mi, Gi or Ti (is {value:?})"
            ));
        }
    }
}

/// Every admission rule the CRD declares (CEL rules, ranges and the patterns a builder relies
/// on), checked in Rust. Returns the violations' messages, each naming its field.
pub fn validate(platform: &TodoPlatform) -> Result<(), Vec<String>> {
    let spec = &platform.spec;
    let mut v = Violations::default();
    let name = platform.metadata.name.as_deref().unwrap_or_default();
    v.check(is_valid_name(name), NAME);
    v.check(spec.version.as_deref().is_none_or(is_label_value), VERSION);

    v.range("spec.api.replicas", spec.api.replicas, 0, 100);
    if let Some(min_available) = spec.api.min_available {
        v.range("spec.api.minAvailable", min_available, 1, 100);
    }
    if let Some(autoscaling) = &spec.api.autoscaling {
        v.range(
            "spec.api.autoscaling.minReplicas",
            autoscaling.min_replicas,
            1,
            100,
        );
        v.range(
            "spec.api.autoscaling.maxReplicas",
            autoscaling.max_replicas,
            1,
            100,
        );
        v.range(
            "spec.api.autoscaling.targetCpuUtilizationPercent",
            autoscaling.target_cpu_utilization_percent,
            10,
            100,
        );
        v.check(
            autoscaling.min_replicas <= autoscaling.max_replicas,
            AUTOSCALING_BOUNDS,
        );
    }
    let workers = &spec.workers;
    for (role, worker) in [
        ("recurrence", &workers.recurrence),
        ("reminders", &workers.reminders),
        ("notifier", &workers.notifier),
        ("audit", &workers.audit),
    ] {
        v.range(
            &format!("spec.workers.{role}.replicas"),
            worker.replicas,
            0,
            50,
        );
    }

    if let Some(retry) = &spec.notifications.retry {
        v.duration(
            "spec.notifications.retry.initialInterval",
            retry.initial_interval.as_deref(),
        );
        v.duration(
            "spec.notifications.retry.maxInterval",
            retry.max_interval.as_deref(),
        );
        v.duration(
            "spec.notifications.retry.giveUpAfter",
            retry.give_up_after.as_deref(),
        );
    }

    let database = &spec.database;
    v.check(
        database.managed.is_some() != database.external.is_some(),
        DATABASE_CHOICE,
    );
    v.range(
        "spec.database.maxConnections",
        database.max_connections,
        1,
        500,
    );
    if let Some(managed) = &database.managed {
        v.storage("spec.database.managed.storage", &managed.storage);
    }

    let eventing = &spec.eventing;
    let topics = &eventing.topics;
    v.check(
        eventing.managed.is_some() != eventing.external.is_some(),
        EVENTING_CHOICE,
    );
    if let Some(managed) = &eventing.managed {
        v.storage("spec.eventing.managed.storage", &managed.storage);
        v.check(
            topics.provisioner != TopicProvisioner::RedpandaTopic,
            REDPANDA_TOPICS_NEED_EXTERNAL,
        );
        v.check(topics.replication_factor == 1, MANAGED_REPLICATION);
    }
    if let Some(external) = &eventing.external {
        v.check(
            external
                .sasl
                .as_ref()
                .is_none_or(|s| s.mechanism != SaslMechanism::Plain)
                || external.tls.is_some(),
            PLAIN_NEEDS_TLS,
        );
    }
    v.range(
        "spec.eventing.topics.partitions",
        topics.partitions,
        1,
        1000,
    );
    v.range(
        "spec.eventing.topics.replicationFactor",
        topics.replication_factor,
        1,
        7,
    );
    v.range(
        "spec.eventing.topics.retentionHours",
        topics.retention_hours,
        1,
        87600,
    );
    let redpanda = topics.provisioner == TopicProvisioner::RedpandaTopic;
    let cluster_ref = topics.redpanda_cluster_ref.is_some();
    v.check(!redpanda || cluster_ref, REDPANDA_CLUSTER_REQUIRED);
    v.check(
        !cluster_ref || redpanda,
        REDPANDA_CLUSTER_ONLY_WITH_REDPANDA,
    );
    v.check(
        topics.deletion_policy != TopicDeletionPolicy::Delete
            || topics.provisioner != TopicProvisioner::External,
        DELETE_NEEDS_PROVISIONER,
    );

    for (i, proxy) in spec.api.trusted_proxies.iter().flatten().enumerate() {
        // As the API parses TODO_TRUSTED_PROXIES: a CIDR range or a single address.
        let valid =
            proxy.parse::<ipnet::IpNet>().is_ok() || proxy.parse::<std::net::IpAddr>().is_ok();
        if !valid {
            v.0.push(format!(
                "spec.api.trustedProxies[{i}] must be an IP address or CIDR range (such as 10.0.0.0/8), not `{proxy}`"
            ));
        }
    }
    if let Some(webhook) = &spec.notifications.webhook
        && !(webhook.url.starts_with("http://") || webhook.url.starts_with("https://"))
    {
        v.0.push("spec.notifications.webhook.url must start with http:// or https://".into());
    }
    if let Some(ingress) = &spec.ingress {
        v.check(
            ingress.host.len() <= 253 && ingress.host.split('.').all(is_dns_label),
            INGRESS_HOST,
        );
    }
    if v.0.is_empty() { Ok(()) } else { Err(v.0) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::names::Names;

    /// The constant and the CEL rule agree, and the limit is exactly what the longest Dapr
    /// Service name allows.
    #[test]
    fn max_name_length_is_what_the_longest_dapr_service_allows() {
        assert!(NAME.cel.contains(&format!("size() <= {MAX_NAME_LENGTH}")));
        let names = Names::new(&"a".repeat(MAX_NAME_LENGTH), "ns");
        let longest = names
            .app_ids(&crate::names::WorkerRole::ALL)
            .into_iter()
            .map(|app_id| format!("{app_id}-dapr").len())
            .max();
        assert_eq!(longest, Some(63));
    }

    /// `is_duration` is the CRD's duration pattern, `^([0-9]*[1-9][0-9]*(ms|s|m|h))([0-9]+(ms|s|m|h))*$`.
    #[test]
    fn durations_follow_the_crd_pattern() {
        for ok in ["30s", "1h30m", "250ms", "1m30s500ms", "10m0s", "01s"] {
            assert!(is_duration(ok), "{ok}");
        }
        for bad in [
            "", "0s", "00m", "30", "s", "1d", "1h 30m", "-5s", "1.5h", "30S",
        ] {
            assert!(!is_duration(bad), "{bad}");
        }
    }

    #[test]
    fn names_are_dns_labels_starting_with_a_letter() {
        assert!(is_valid_name("todo"));
        assert!(is_valid_name(&"a".repeat(40)));
        assert!(!is_valid_name(&"a".repeat(41)));
        assert!(!is_valid_name("1todo"));
        assert!(!is_valid_name("todo.prod"));
        assert!(!is_valid_name("todo-"));
        assert!(!is_valid_name("Todo"));
    }

    #[test]
    fn label_values_and_storage_sizes() {
        assert!(is_label_value("1.2.3-rc_1"));
        assert!(!is_label_value("1.2.3+build"));
        assert!(!is_label_value(&"1".repeat(64)));
        assert!(!is_label_value("-1"));
        assert!(is_storage_size("5Gi"));
        assert!(!is_storage_size("Gi"));
        assert!(!is_storage_size("5G"));
    }
}
