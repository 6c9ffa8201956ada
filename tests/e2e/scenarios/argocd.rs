//! The Argo CD health check we ship, run on the real status objects the other scenarios produced.

use std::collections::BTreeMap;
use std::process::Command;

use serde_json::Value;

use crate::support::{KSTATUS_SAMPLES, Suite, check, repo};

/// What Argo CD must show for kstatus's verdict (Flux's view), and for a paused platform.
fn expected(object: &Value, kstatus: &str) -> &'static str {
    let paused = object["status"]["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|c| c["type"] == "Paused" && c["status"] == "True");
    match kstatus {
        _ if paused => "Suspended",
        "Current" => "Healthy",
        "Failed" => "Degraded",
        _ => "Progressing",
    }
}

/// examples/gitops/argocd-cm.yaml's Lua, in Lua 5.1 as Argo CD runs it, agrees with kstatus on every object.
pub fn health_check_agrees_with_kstatus(_suite: &Suite) {
    let samples = KSTATUS_SAMPLES.lock().expect("samples lock").clone();
    let mut verdicts_seen: BTreeMap<String, usize> = BTreeMap::new();
    for (_, kstatus) in &samples {
        *verdicts_seen.entry(kstatus.clone()).or_default() += 1;
    }
    for needed in ["Current", "InProgress", "Failed"] {
        assert!(
            verdicts_seen.contains_key(needed),
            "the scenarios produced no {needed} object to check: {verdicts_seen:?}"
        );
    }
    let objects: Vec<&Value> = samples.iter().map(|(object, _)| object).collect();
    let out = check(
        Command::new("python3")
            .arg(repo().join("tests/e2e/argocd_health.py"))
            .arg(repo().join("examples/gitops/argocd-cm.yaml")),
        Some(&serde_json::to_string(&objects).expect("JSON")),
    );
    let health: Vec<Value> = serde_json::from_str(&out).expect("the script prints JSON");
    assert_eq!(health.len(), samples.len());
    let mut disagreements = Vec::new();
    for ((object, kstatus), argo) in samples.iter().zip(&health) {
        let want = expected(object, kstatus);
        if argo["status"] != want {
            disagreements.push(format!(
                "{}/{} generation {}: kstatus {kstatus}, Argo CD {} ({}), expected {want}; conditions {}",
                object["metadata"]["namespace"],
                object["metadata"]["name"],
                object["metadata"]["generation"],
                argo["status"],
                argo["message"],
                object["status"]["conditions"]
            ));
        }
    }
    assert!(disagreements.is_empty(), "{}", disagreements.join("\n"));
}
