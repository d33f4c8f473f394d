//! The Events a kubelet records about a pod's containers (pkg/kubelet/kuberuntime and
//! pkg/kubelet/prober, v1.28): `BackOff` for a crash loop, `Failed`/`BackOff` for an image that
//! cannot be pulled, `Unhealthy` for a failing readiness probe. Each is about the Pod, with the
//! container's `fieldPath`, `source` kubelet on the node, and repeats are counted on one Event
//! object the way client-go's event correlator aggregates them (same object, reason and
//! message → count + 1 and a new lastTimestamp), so the number of Events stays bounded by the
//! number of troubled pods, not by time.
//!
//! It writes Events through the store; it never does I/O.

use jiff::Timestamp;
use k8s_openapi::api::core::v1::{Event, EventSource, ObjectReference, Pod};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::build::time;
use super::build_pod::{Main, PodRun};
use super::kubelet::crash_backoff_ms;
use super::rng::fnv64;
use crate::sim::scenario::BehaviourKind;
use crate::sim::store::{Kind, Object, Store, StoreError};

/// One Event about a pod's first container.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PodEvent {
    pub warning: bool,
    pub reason: &'static str,
    pub message: String,
}

/// The message of a failing HTTP readiness probe (pkg/probe/http: a status outside 200–399).
pub const READINESS_FAILED: &str = "Readiness probe failed: HTTP probe failed with statuscode: 503";

/// Go's `time.Duration.String` for whole seconds, as the kubelet prints its back-off:
/// "10s", "1m20s", "5m0s", "1h0m0s".
pub fn go_duration(secs: i64) -> String {
    let (h, m, s) = (secs / 3600, (secs % 3600) / 60, secs % 60);
    match (h, m) {
        (0, 0) => format!("{s}s"),
        (0, _) => format!("{m}m{s}s"),
        _ => format!("{h}h{m}m{s}s"),
    }
}

/// `format.Pod`: "NAME_NAMESPACE(UID)".
fn format_pod(pod: &Pod) -> String {
    let m = &pod.metadata;
    format!(
        "{}_{}({})",
        m.name.as_deref().unwrap_or(""),
        m.namespace.as_deref().unwrap_or(""),
        m.uid.as_deref().unwrap_or("")
    )
}

fn first_container(pod: &Pod) -> (String, String) {
    let c = pod.spec.as_ref().and_then(|s| s.containers.first());
    (c.map(|c| c.name.clone()).unwrap_or_default(), c.and_then(|c| c.image.clone()).unwrap_or_default())
}

/// The waiting message of a container in CrashLoopBackOff after `restarts` restarts
/// (kuberuntime `doBackOff`): "back-off 5m0s restarting failed container=NAME pod=POD".
pub fn crash_waiting_message(pod: &Pod, restarts: i32) -> String {
    let (container, _) = first_container(pod);
    format!(
        "back-off {} restarting failed container={container} pod={}",
        go_duration(crash_backoff_ms(restarts) / 1000),
        format_pod(pod)
    )
}

pub fn warning(reason: &'static str, message: String) -> PodEvent {
    PodEvent { warning: true, reason, message }
}

/// What the kubelet records when a container enters the waiting state `reason`
/// (`pull_error` is the runtime's error for an image pull).
fn on_waiting(pod: &Pod, reason: &str, pull_error: &str) -> Vec<PodEvent> {
    let (container, image) = first_container(pod);
    match reason {
        "CrashLoopBackOff" => vec![warning(
            "BackOff",
            format!("Back-off restarting failed container {container} in pod {}", format_pod(pod)),
        )],
        "ErrImagePull" => vec![
            warning("Failed", format!("Failed to pull image \"{image}\": {pull_error}")),
            warning("Failed", "Error: ErrImagePull".into()),
        ],
        // The image puller logs its back-off as a Normal event; the sync error is a Warning.
        "ImagePullBackOff" => vec![
            PodEvent { warning: false, reason: "BackOff", message: format!("Back-off pulling image \"{image}\"") },
            warning("Failed", "Error: ImagePullBackOff".into()),
        ],
        _ => Vec::new(),
    }
}

/// The Events the kubelet records when a pod's main container goes from `old` to `new`: on
/// entering a waiting state, and a failing readiness probe when a `notready` container starts.
pub fn on_transition(pod: &Pod, old: &Main, new: &PodRun, behaviour: Option<BehaviourKind>) -> Vec<PodEvent> {
    match (&new.main, old) {
        (Main::Waiting { reason, .. }, Main::Waiting { reason: was, .. }) if reason == was => Vec::new(),
        (Main::Waiting { reason, message }, _) => on_waiting(pod, reason, message),
        (Main::Running { ready: false, .. }, Main::Creating) if behaviour == Some(BehaviourKind::Notready) => {
            vec![warning("Unhealthy", READINESS_FAILED.into())]
        }
        _ => Vec::new(),
    }
}

/// How many of `n` events over `span_secs` get past client-go's
/// `EventSourceObjectSpamFilter` (a token bucket per source and object: a burst of 25, then
/// one every 5 minutes), which is what a long-troubled pod's count shows.
fn spam_filtered(n: i64, span_secs: i64) -> i32 {
    n.min(25 + span_secs.max(0) / 300).clamp(1, i64::from(i32::MAX)) as i32
}

/// The Events a pod settled at time zero has accumulated (populate): each with how often it
/// happened and when first. `run` is the settled state, `started` when the pod first started.
pub fn settled(
    pod: &Pod,
    run: &PodRun,
    behaviour: Option<BehaviourKind>,
    started: Timestamp,
    now: Timestamp,
) -> Vec<(PodEvent, i32, Timestamp)> {
    let alive = (now.as_second() - started.as_second()).max(0);
    match (behaviour, &run.main) {
        // One back-off after every crash.
        (Some(BehaviourKind::Crashloop), _) if run.restarts > 0 => {
            let count = spam_filtered(i64::from(run.restarts), alive);
            on_waiting(pod, "CrashLoopBackOff", "").into_iter().map(|e| (e, count, started)).collect()
        }
        (Some(BehaviourKind::Imagepull), Main::Waiting { .. }) => {
            // One ErrImagePull → ImagePullBackOff cycle a minute or so.
            let cycles = spam_filtered(alive / 65 + 1, alive);
            let (_, image) = first_container(pod);
            let err = super::kubelet::pull_error(&image);
            let mut out: Vec<_> =
                on_waiting(pod, "ErrImagePull", &err).into_iter().map(|e| (e, cycles, started)).collect();
            out.extend(on_waiting(pod, "ImagePullBackOff", "").into_iter().map(|e| (e, cycles, started)));
            out
        }
        (Some(BehaviourKind::Notready), Main::Running { ready: false, .. }) => {
            // The readiness probe fails every periodSeconds (10 s by default).
            let count = spam_filtered(alive / 10, alive);
            vec![(warning("Unhealthy", READINESS_FAILED.into()), count, started)]
        }
        _ => Vec::new(),
    }
}

/// Who records an Event and about what: the involved object, the recorder's `source`.
pub struct About {
    pub involved: ObjectReference,
    /// `source.component` (and `reportingComponent`): `kubelet`, `node-controller`, …
    pub component: &'static str,
    /// `source.host` (and `reportingInstance`): the node of a kubelet, else empty.
    pub host: String,
}

impl About {
    /// About a pod, from its kubelet on `node` (with the first container's `fieldPath`).
    pub fn kubelet(pod: &Pod, node: &str) -> About {
        let (container, _) = first_container(pod);
        let mut involved = pod_ref(pod);
        involved.field_path = Some(format!("spec.containers{{{container}}}"));
        About { involved, component: "kubelet", host: node.to_string() }
    }
}

/// The reference `record.EventRecorder` makes for a pod (`ref.GetReference`): no fieldPath.
pub fn pod_ref(pod: &Pod) -> ObjectReference {
    ObjectReference {
        api_version: Some("v1".into()),
        kind: Some("Pod".into()),
        name: pod.metadata.name.clone(),
        namespace: pod.metadata.namespace.clone(),
        uid: pod.metadata.uid.clone(),
        resource_version: pod.metadata.resource_version.clone(),
        field_path: None,
    }
}

/// Record `ev` about `pod` on `node` from its kubelet `count` times, first at `first` and last
/// at `now`: a new Event, or the existing one of the same pod, reason and message counted on.
pub fn record(
    store: &Store,
    pod: &Pod,
    node: &str,
    ev: &PodEvent,
    count: i32,
    first: Timestamp,
    now: Timestamp,
) -> Result<(), StoreError> {
    record_about(store, &About::kubelet(pod, node), ev, count, first, now)
}

/// Record `ev` about any object as client-go's recorder and correlator do: the Event lives in
/// the object's namespace (`default` for cluster-scoped objects such as nodes) and is named
/// after the object; a repeat of the same object, reason and message counts on the same Event.
pub fn record_about(
    store: &Store,
    about: &About,
    ev: &PodEvent,
    count: i32,
    first: Timestamp,
    now: Timestamp,
) -> Result<(), StoreError> {
    let io = &about.involved;
    let ns = io.namespace.clone().filter(|n| !n.is_empty()).unwrap_or_else(|| "default".into());
    let obj_name = io.name.clone().unwrap_or_default();
    let uid = io.uid.clone().unwrap_or_default();
    let h = fnv64(format!("{uid}/{}/{}", ev.reason, ev.message).as_bytes());
    let name = format!("{obj_name}.{h:016x}");
    if store.get(Kind::Event, &ns, &name).is_some() {
        let r = store.modify::<StoreError>(Kind::Event, &ns, &name, |o| {
            if let Object::Event(e) = o {
                e.count = Some(e.count.unwrap_or(1).saturating_add(count));
                e.last_timestamp = Some(time(now));
            }
            Ok(())
        });
        return match r {
            Ok(_) | Err(StoreError::NotFound { .. }) => Ok(()),
            Err(e) => Err(e),
        };
    }
    let host = (!about.host.is_empty()).then(|| about.host.clone());
    let event = Event {
        metadata: ObjectMeta { name: Some(name), namespace: Some(ns), ..Default::default() },
        involved_object: io.clone(),
        reason: Some(ev.reason.into()),
        message: Some(ev.message.clone()),
        source: Some(EventSource { component: Some(about.component.into()), host }),
        first_timestamp: Some(time(first)),
        last_timestamp: Some(time(now)),
        count: Some(count.max(1)),
        type_: Some(if ev.warning { "Warning" } else { "Normal" }.into()),
        reporting_component: Some(about.component.into()),
        reporting_instance: Some(about.host.clone()),
        ..Default::default()
    };
    match store.create(Object::Event(event), time(first)) {
        Ok(_) | Err(StoreError::AlreadyExists { .. }) => Ok(()),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn back_off_prints_like_go_durations() {
        // time.Duration(10*time.Second).String() and friends.
        assert_eq!(go_duration(10), "10s");
        assert_eq!(go_duration(80), "1m20s");
        assert_eq!(go_duration(300), "5m0s");
        assert_eq!(go_duration(3600), "1h0m0s");
    }

    #[test]
    fn long_trouble_is_counted_past_the_spam_filter_only() {
        assert_eq!(spam_filtered(3, 30), 3, "under the burst");
        // A probe failing every 10 s for a day: 25, then one per 5 minutes.
        assert_eq!(spam_filtered(8_640, 86_400), 25 + 288);
        assert_eq!(spam_filtered(0, 0), 1);
    }
}
