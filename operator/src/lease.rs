//! Lease-based leader election (coordination.k8s.io/v1), so two operator replicas are safe:
//! only the holder reconciles; a standby takes over once the lease expires. Updates use the
//! Lease's resourceVersion, so two candidates can never both win the same term.

use std::time::Duration;

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use k8s_openapi::jiff::{SignedDuration, Timestamp};
use kube::Client;
use kube::api::{Api, PostParams};

/// Where the lease lives and who we are.
#[derive(Clone, Debug)]
pub struct LeaseConfig {
    /// Lease name.
    pub name: String,
    /// Namespace of the lease (the operator's own).
    pub namespace: String,
    /// This replica's identity (its pod name).
    pub identity: String,
    /// How long a lease is valid without renewal.
    pub lease_duration: Duration,
    /// How often the holder renews and candidates retry.
    pub retry_period: Duration,
}

/// Whether `identity` may take `lease` at `now`: it is free, ours, or expired.
pub fn may_acquire(lease: &LeaseSpec, identity: &str, now: Timestamp) -> bool {
    let holder = lease.holder_identity.as_deref().unwrap_or_default();
    if holder.is_empty() || holder == identity {
        return true;
    }
    let Some(renewed) = lease.renew_time.as_ref() else {
        return true;
    };
    let duration = SignedDuration::from_secs(i64::from(lease.lease_duration_seconds.unwrap_or(15)));
    renewed.0 + duration < now
}

/// The spec after `config.identity` takes or renews the lease. As in client-go, creating the
/// lease is not a transition; any later change of holder is.
fn claimed(previous: Option<&LeaseSpec>, config: &LeaseConfig, now: Timestamp) -> LeaseSpec {
    let transitions = previous.map_or(0, |p| {
        let same_holder = p.holder_identity.as_deref() == Some(config.identity.as_str());
        p.lease_transitions.unwrap_or(0) + i32::from(!same_holder)
    });
    let previous = previous.cloned().unwrap_or_default();
    let same_holder = previous.holder_identity.as_deref() == Some(config.identity.as_str());
    LeaseSpec {
        holder_identity: Some(config.identity.clone()),
        lease_duration_seconds: Some(i32::try_from(config.lease_duration.as_secs()).unwrap_or(15)),
        acquire_time: if same_holder {
            previous.acquire_time.clone()
        } else {
            Some(MicroTime(now))
        },
        renew_time: Some(MicroTime(now)),
        lease_transitions: Some(transitions),
        ..previous
    }
}

/// Try once to become (or stay) the holder. `Ok(true)` when we hold the lease now.
pub async fn try_acquire(client: &Client, config: &LeaseConfig) -> Result<bool, kube::Error> {
    let api: Api<Lease> = Api::namespaced(client.clone(), &config.namespace);
    let now = Timestamp::now();
    match api.get_opt(&config.name).await? {
        None => {
            let lease = Lease {
                metadata: ObjectMeta {
                    name: Some(config.name.clone()),
                    ..ObjectMeta::default()
                },
                spec: Some(claimed(None, config, now)),
            };
            match api.create(&PostParams::default(), &lease).await {
                Ok(_) => Ok(true),
                Err(kube::Error::Api(status)) if status.code == 409 => Ok(false),
                Err(error) => Err(error),
            }
        }
        Some(mut lease) => {
            let spec = lease.spec.clone().unwrap_or_default();
            if !may_acquire(&spec, &config.identity, now) {
                return Ok(false);
            }
            lease.spec = Some(claimed(Some(&spec), config, now));
            match api
                .replace(&config.name, &PostParams::default(), &lease)
                .await
            {
                Ok(_) => Ok(true),
                Err(kube::Error::Api(status)) if status.code == 409 => Ok(false),
                Err(error) => Err(error),
            }
        }
    }
}

/// Block until this replica holds the lease.
pub async fn acquire(client: &Client, config: &LeaseConfig) {
    loop {
        match try_acquire(client, config).await {
            Ok(true) => {
                tracing::info!(identity = %config.identity, lease = %config.name, "became leader");
                return;
            }
            Ok(false) => tracing::debug!("another replica leads; standing by"),
            Err(error) => tracing::warn!(%error, "leader election failed; retrying"),
        }
        tokio::time::sleep(config.retry_period).await;
    }
}

/// Keep renewing; returns when the lease was lost (another holder, or renewals failing for a
/// whole lease duration), after which the caller must stop reconciling.
pub async fn hold(client: &Client, config: &LeaseConfig) {
    let mut last_renewal = tokio::time::Instant::now();
    loop {
        tokio::time::sleep(config.retry_period).await;
        match try_acquire(client, config).await {
            Ok(true) => last_renewal = tokio::time::Instant::now(),
            Ok(false) => {
                tracing::error!("lost the leader lease to another replica");
                return;
            }
            Err(error) => {
                tracing::warn!(%error, "could not renew the leader lease");
                if last_renewal.elapsed() >= config.lease_duration {
                    return;
                }
            }
        }
    }
}

/// Give the lease up on shutdown so a standby takes over at once instead of after expiry.
pub async fn release(client: &Client, config: &LeaseConfig) {
    let api: Api<Lease> = Api::namespaced(client.clone(), &config.namespace);
    let Ok(Some(mut lease)) = api.get_opt(&config.name).await else {
        return;
    };
    let spec = lease.spec.get_or_insert_with(LeaseSpec::default);
    if spec.holder_identity.as_deref() != Some(config.identity.as_str()) {
        return;
    }
    spec.holder_identity = None;
    if let Err(error) = api
        .replace(&config.name, &PostParams::default(), &lease)
        .await
    {
        tracing::warn!(%error, "could not release the leader lease");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(holder: &str, renewed_secs_ago: i64) -> LeaseSpec {
        LeaseSpec {
            holder_identity: Some(holder.into()),
            lease_duration_seconds: Some(15),
            renew_time: Some(MicroTime(
                Timestamp::now() - SignedDuration::from_secs(renewed_secs_ago),
            )),
            ..LeaseSpec::default()
        }
    }

    /// A fresh lease held by another replica is respected; an expired one is taken over.
    #[test]
    fn takes_only_expired_or_own_leases() {
        let now = Timestamp::now();
        assert!(!may_acquire(&spec("other", 5), "me", now));
        assert!(may_acquire(&spec("other", 30), "me", now));
        assert!(may_acquire(&spec("me", 5), "me", now));
        assert!(may_acquire(&LeaseSpec::default(), "me", now));
    }

    /// Taking over counts a transition and resets the acquire time; renewing keeps both.
    #[test]
    fn claim_counts_transitions() {
        let config = LeaseConfig {
            name: "l".into(),
            namespace: "n".into(),
            identity: "me".into(),
            lease_duration: Duration::from_secs(15),
            retry_period: Duration::from_secs(5),
        };
        let now = Timestamp::now();
        let taken = claimed(Some(&spec("other", 30)), &config, now);
        assert_eq!(taken.lease_transitions, Some(1));
        assert_eq!(taken.holder_identity.as_deref(), Some("me"));
        let renewed = claimed(Some(&taken), &config, now);
        assert_eq!(renewed.lease_transitions, Some(1));
        assert_eq!(renewed.acquire_time, taken.acquire_time);
    }
}
