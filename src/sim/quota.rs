//! ResourceQuota for the object count of pods: what the quota controller writes into
//! `status` (`hard` copied from the spec, `used` counted) and what the `ResourceQuota`
//! admission plugin answers when one more pod would exceed a limit. Only `pods` and
//! `count/pods` are counted; other hard limits are stored and shown but never enforced.
//!
//! It reads and writes the store; it never does I/O.

use std::collections::BTreeMap;

use jiff::Timestamp;
use k8s_openapi::api::core::v1::{Pod, ResourceQuota, ResourceQuotaStatus};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;

use crate::sim::store::{Kind, Object, Store, StoreError};

/// The resource names that count pods (pkg/quota/v1/evaluator/core/pods.go: `pods` and the
/// generic object count `count/pods`).
const POD_RESOURCES: [&str; 2] = ["count/pods", "pods"];

/// `QuotaV1Pod`: a pod counts unless it is terminal (Succeeded/Failed) or stuck terminating
/// past its deletion time plus grace period (a lost node must not use up the quota).
pub fn counts_against_quota(pod: &Pod, now: Timestamp) -> bool {
    let phase = pod.status.as_ref().and_then(|s| s.phase.as_deref());
    if matches!(phase, Some("Succeeded" | "Failed")) {
        return false;
    }
    if let (Some(del), Some(grace)) = (&pod.metadata.deletion_timestamp, pod.metadata.deletion_grace_period_seconds) {
        let until = del.0.as_second().saturating_add(grace);
        if now.as_second() > until {
            return false;
        }
    }
    true
}

/// Pods in `namespace` that count against a quota. O(pods in the namespace).
pub fn pods_used(store: &Store, namespace: &str, now: Timestamp) -> i64 {
    let (pods, _) = store.list(Kind::Pod, Some(namespace));
    pods.iter().filter(|s| matches!(&*s.obj(), Object::Pod(p) if counts_against_quota(p, now))).count() as i64
}

/// A whole-number quantity ("5"); decimal-SI suffixes k/M/G are accepted for large limits.
/// Anything else (fractions, binary suffixes on a count) is not enforced.
fn count_of(q: &Quantity) -> Option<i64> {
    let s = q.0.trim();
    let (digits, mult) = match s.char_indices().last() {
        Some((i, 'k')) => (&s[..i], 1_000),
        Some((i, 'M')) => (&s[..i], 1_000_000),
        Some((i, 'G')) => (&s[..i], 1_000_000_000),
        _ => (s, 1),
    };
    digits.parse::<i64>().ok().and_then(|n| n.checked_mul(mult))
}

/// The pod-count limits of a quota, by resource name (sorted).
fn pod_limits(q: &ResourceQuota) -> BTreeMap<&str, i64> {
    let hard = q.spec.as_ref().and_then(|s| s.hard.as_ref());
    POD_RESOURCES.iter().filter_map(|r| Some((*r, count_of(hard?.get(*r)?)?))).collect()
}

/// The status the quota controller writes: `hard` as in the spec, `used` for the pod
/// resources the spec limits.
pub fn status_for(q: &ResourceQuota, used_pods: i64) -> ResourceQuotaStatus {
    let hard = q.spec.as_ref().and_then(|s| s.hard.clone()).unwrap_or_default();
    let used = hard
        .keys()
        .filter(|r| POD_RESOURCES.contains(&r.as_str()))
        .map(|r| (r.clone(), Quantity(used_pods.to_string())))
        .collect();
    ResourceQuotaStatus { hard: Some(hard), used: Some(used) }
}

/// Recompute the status of every quota in `namespace` (the quota controller's sync). Writes
/// only what changed.
pub fn refresh(store: &Store, namespace: &str, now: Timestamp) -> Result<(), StoreError> {
    let (quotas, _) = store.list(Kind::ResourceQuota, Some(namespace));
    if quotas.is_empty() {
        return Ok(());
    }
    let used = pods_used(store, namespace, now);
    for s in quotas {
        let Object::ResourceQuota(q) = &*s.obj() else { continue };
        let status = status_for(q, used);
        if q.status.as_ref() == Some(&status) {
            continue;
        }
        let r = store.modify::<StoreError>(Kind::ResourceQuota, namespace, s.name(), |o| {
            if let Object::ResourceQuota(q) = o {
                q.status = Some(status_for(q, used));
            }
            Ok(())
        });
        match r {
            Ok(_) | Err(StoreError::NotFound { .. }) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// `resourcequota.CheckRequest` for one new pod: `Err` with the admission plugin's message
/// (`pods "NAME" is forbidden: exceeded quota: Q, requested: pods=1, used: pods=5, limited:
/// pods=5`) when it would exceed a quota. `name` is the pod's name, or its generateName when
/// it has none, as `admission.NewForbidden` names it. Quotas are checked in name order; the
/// first exceeded one is reported with every resource it exceeds, sorted and joined by ",".
pub fn admit_pod(store: &Store, namespace: &str, name: &str, now: Timestamp) -> Result<(), String> {
    let (quotas, _) = store.list(Kind::ResourceQuota, Some(namespace));
    if quotas.is_empty() {
        return Ok(());
    }
    let used = pods_used(store, namespace, now);
    for s in &quotas {
        let Object::ResourceQuota(q) = &*s.obj() else { continue };
        let exceeded: Vec<(&str, i64)> = pod_limits(q).into_iter().filter(|(_, hard)| used + 1 > *hard).collect();
        if exceeded.is_empty() {
            continue;
        }
        let list = |f: &dyn Fn(i64) -> i64| {
            exceeded.iter().map(|(r, hard)| format!("{r}={}", f(*hard))).collect::<Vec<_>>().join(",")
        };
        return Err(format!(
            "pods \"{name}\" is forbidden: exceeded quota: {}, requested: {}, used: {}, limited: {}",
            s.name(),
            list(&|_| 1),
            list(&|_| used),
            list(&|hard| hard)
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_and_si_counts_parse_fractions_do_not() {
        assert_eq!(count_of(&Quantity("5".into())), Some(5));
        assert_eq!(count_of(&Quantity("2k".into())), Some(2000));
        assert_eq!(count_of(&Quantity("500m".into())), None);
        assert_eq!(count_of(&Quantity("1Ki".into())), None);
    }

    fn quota(name: &str, hard: &[(&str, &str)]) -> Object {
        Object::ResourceQuota(ResourceQuota {
            metadata: k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta {
                name: Some(name.into()),
                namespace: Some("ns".into()),
                ..Default::default()
            },
            spec: Some(k8s_openapi::api::core::v1::ResourceQuotaSpec {
                hard: Some(hard.iter().map(|(k, v)| (k.to_string(), Quantity(v.to_string()))).collect()),
                ..Default::default()
            }),
            ..Default::default()
        })
    }

    fn store_with_pods(n: usize) -> std::sync::Arc<Store> {
        let store = Store::new(100);
        let at = k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(Timestamp::UNIX_EPOCH);
        for i in 0..n {
            let mut p = Pod::default();
            p.metadata.name = Some(format!("p{i}"));
            p.metadata.namespace = Some("ns".into());
            assert!(store.create(Object::Pod(p), at.clone()).is_ok());
        }
        store
    }

    #[test]
    fn every_exceeded_pod_resource_is_listed_sorted_and_comma_joined() {
        // resourcequota.CheckRequest + prettyPrint: keys sorted, "k=v" joined by ",".
        let store = store_with_pods(2);
        let at = k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(Timestamp::UNIX_EPOCH);
        assert!(store.create(quota("q", &[("pods", "2"), ("count/pods", "2"), ("cpu", "1")]), at).is_ok());
        assert_eq!(
            admit_pod(&store, "ns", "agent-", Timestamp::UNIX_EPOCH),
            Err("pods \"agent-\" is forbidden: exceeded quota: q, requested: count/pods=1,pods=1, used: count/pods=2,pods=2, limited: count/pods=2,pods=2".to_string())
        );
        assert_eq!(admit_pod(&store, "other", "agent-", Timestamp::UNIX_EPOCH), Ok(()), "no quota there");
    }

    #[test]
    fn a_pod_that_fits_is_admitted_and_status_counts_it() {
        let store = store_with_pods(1);
        let at = k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(Timestamp::UNIX_EPOCH);
        assert!(store.create(quota("q", &[("pods", "2")]), at).is_ok());
        assert_eq!(admit_pod(&store, "ns", "x", Timestamp::UNIX_EPOCH), Ok(()));
        assert!(refresh(&store, "ns", Timestamp::UNIX_EPOCH).is_ok());
        let got = store.get(Kind::ResourceQuota, "ns", "q").map(|s| s.obj().into_owned());
        let Some(Object::ResourceQuota(q)) = got else { panic!("quota stored") };
        let used = q.status.and_then(|s| s.used).unwrap_or_default();
        assert_eq!(used.get("pods"), Some(&Quantity("1".into())));
    }

    #[test]
    fn terminal_and_long_terminating_pods_do_not_count() {
        let now = Timestamp::from_second(1_000).unwrap_or(Timestamp::UNIX_EPOCH);
        let mut p = Pod::default();
        assert!(counts_against_quota(&p, now));
        p.status = Some(k8s_openapi::api::core::v1::PodStatus { phase: Some("Failed".into()), ..Default::default() });
        assert!(!counts_against_quota(&p, now));
        p.status = None;
        let del = Timestamp::from_second(900).unwrap_or(Timestamp::UNIX_EPOCH);
        p.metadata.deletion_timestamp = Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(del));
        p.metadata.deletion_grace_period_seconds = Some(30);
        assert!(!counts_against_quota(&p, now), "900 + 30 < 1000");
        p.metadata.deletion_grace_period_seconds = Some(200);
        assert!(counts_against_quota(&p, now), "900 + 200 > 1000");
    }
}
