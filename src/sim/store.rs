//! The simulator's object store: each object as its serialized JSON (what lists and watches
//! send, as etcd keeps the encoded object), a small [`Head`] of the fields that keys, selectors,
//! owner lookups and the controllers' indexes need, one global resourceVersion counter (like
//! etcd's revision), and a bounded history of watch events so that watches can resume from a
//! resourceVersion, or get 410 Gone when it is older than what is retained.
//!
//! Pods are the bulk of a fleet (150,000 of ~11 KB JSON each in `large`), and a typed
//! k8s-openapi `Pod` costs several times its JSON in memory: a pod is kept as bytes only and
//! decoded when it is read whole or written ([`Stored::obj`]). The few objects of the other
//! kinds also keep their typed form, so the controllers read nodes and DaemonSets for free.
//! The store and the watch history share one allocation per object version.
//!
//! Controllers and the HTTP API both go through this store; it never does I/O.

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;
use std::sync::RwLock;

use bytes::Bytes;
use k8s_openapi::api::apps::v1::{ControllerRevision, DaemonSet};
use k8s_openapi::api::core::v1::{Event, Namespace, Node, Pod, ResourceQuota};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use tokio::sync::broadcast;

/// The resources the simulator serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    Namespace,
    Node,
    Pod,
    DaemonSet,
    ControllerRevision,
    Event,
    ResourceQuota,
}

impl Kind {
    pub const ALL: [Kind; 7] = [
        Kind::Namespace,
        Kind::Node,
        Kind::Pod,
        Kind::DaemonSet,
        Kind::ControllerRevision,
        Kind::Event,
        Kind::ResourceQuota,
    ];
    pub fn namespaced(self) -> bool {
        !matches!(self, Kind::Namespace | Kind::Node)
    }
    pub fn plural(self) -> &'static str {
        match self {
            Kind::Namespace => "namespaces",
            Kind::Node => "nodes",
            Kind::Pod => "pods",
            Kind::DaemonSet => "daemonsets",
            Kind::ControllerRevision => "controllerrevisions",
            Kind::Event => "events",
            Kind::ResourceQuota => "resourcequotas",
        }
    }
    pub fn kind(self) -> &'static str {
        match self {
            Kind::Namespace => "Namespace",
            Kind::Node => "Node",
            Kind::Pod => "Pod",
            Kind::DaemonSet => "DaemonSet",
            Kind::ControllerRevision => "ControllerRevision",
            Kind::Event => "Event",
            Kind::ResourceQuota => "ResourceQuota",
        }
    }
    /// "" for the core group.
    pub fn group(self) -> &'static str {
        match self {
            Kind::DaemonSet | Kind::ControllerRevision => "apps",
            _ => "",
        }
    }
    pub fn api_version(self) -> &'static str {
        match self {
            Kind::DaemonSet | Kind::ControllerRevision => "apps/v1",
            _ => "v1",
        }
    }
    pub fn from_plural(group: &str, plural: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.group() == group && k.plural() == plural)
    }
}

/// One stored object.
#[derive(Clone, Debug, PartialEq)]
pub enum Object {
    Namespace(Namespace),
    Node(Node),
    Pod(Pod),
    DaemonSet(DaemonSet),
    ControllerRevision(ControllerRevision),
    Event(Event),
    ResourceQuota(ResourceQuota),
}

macro_rules! each {
    ($self:expr, $o:ident => $e:expr) => {
        match $self {
            Object::Namespace($o) => $e,
            Object::Node($o) => $e,
            Object::Pod($o) => $e,
            Object::DaemonSet($o) => $e,
            Object::ControllerRevision($o) => $e,
            Object::Event($o) => $e,
            Object::ResourceQuota($o) => $e,
        }
    };
}

impl Object {
    pub fn kind(&self) -> Kind {
        match self {
            Object::Namespace(_) => Kind::Namespace,
            Object::Node(_) => Kind::Node,
            Object::Pod(_) => Kind::Pod,
            Object::DaemonSet(_) => Kind::DaemonSet,
            Object::ControllerRevision(_) => Kind::ControllerRevision,
            Object::Event(_) => Kind::Event,
            Object::ResourceQuota(_) => Kind::ResourceQuota,
        }
    }
    pub fn meta(&self) -> &ObjectMeta {
        each!(self, o => &o.metadata)
    }
    pub fn meta_mut(&mut self) -> &mut ObjectMeta {
        each!(self, o => &mut o.metadata)
    }
    pub fn name(&self) -> &str {
        self.meta().name.as_deref().unwrap_or("")
    }
    pub fn namespace(&self) -> &str {
        self.meta().namespace.as_deref().unwrap_or("")
    }
    pub fn key(&self) -> ObjKey {
        ObjKey { namespace: self.namespace().to_string(), name: self.name().to_string() }
    }
    /// Serialize with apiVersion and kind set (k8s-openapi's Serialize adds them).
    pub fn to_json(&self) -> Result<Vec<u8>, serde_json::Error> {
        each!(self, o => serde_json::to_vec(o))
    }
    /// Decode a JSON body of the given kind.
    pub fn from_json(kind: Kind, body: &[u8]) -> Result<Object, serde_json::Error> {
        Ok(match kind {
            Kind::Namespace => Object::Namespace(serde_json::from_slice(body)?),
            Kind::Node => Object::Node(serde_json::from_slice(body)?),
            Kind::Pod => Object::Pod(serde_json::from_slice(body)?),
            Kind::DaemonSet => Object::DaemonSet(serde_json::from_slice(body)?),
            Kind::ControllerRevision => Object::ControllerRevision(serde_json::from_slice(body)?),
            Kind::Event => Object::Event(serde_json::from_slice(body)?),
            Kind::ResourceQuota => Object::ResourceQuota(serde_json::from_slice(body)?),
        })
    }
    /// An object of the kind with nothing set.
    pub fn empty(kind: Kind) -> Object {
        match kind {
            Kind::Namespace => Object::Namespace(Default::default()),
            Kind::Node => Object::Node(Default::default()),
            Kind::Pod => Object::Pod(Default::default()),
            Kind::DaemonSet => Object::DaemonSet(Default::default()),
            Kind::ControllerRevision => Object::ControllerRevision(Default::default()),
            Kind::Event => Object::Event(Default::default()),
            Kind::ResourceQuota => Object::ResourceQuota(Default::default()),
        }
    }
    pub fn from_value(kind: Kind, v: serde_json::Value) -> Result<Object, serde_json::Error> {
        Ok(match kind {
            Kind::Namespace => Object::Namespace(serde_json::from_value(v)?),
            Kind::Node => Object::Node(serde_json::from_value(v)?),
            Kind::Pod => Object::Pod(serde_json::from_value(v)?),
            Kind::DaemonSet => Object::DaemonSet(serde_json::from_value(v)?),
            Kind::ControllerRevision => Object::ControllerRevision(serde_json::from_value(v)?),
            Kind::Event => Object::Event(serde_json::from_value(v)?),
            Kind::ResourceQuota => Object::ResourceQuota(serde_json::from_value(v)?),
        })
    }
}

/// Namespace ("" for cluster-scoped) and name.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjKey {
    pub namespace: String,
    pub name: String,
}

impl ObjKey {
    pub fn new(namespace: &str, name: &str) -> ObjKey {
        ObjKey { namespace: namespace.to_string(), name: name.to_string() }
    }
}

/// What the store, selectors and the controllers' indexes read of an object without decoding it.
#[derive(Debug, Clone, PartialEq)]
pub struct Head {
    pub kind: Kind,
    pub key: ObjKey,
    pub uid: Option<String>,
    pub labels: Option<BTreeMap<String, String>>,
    /// The uid of the controller ownerReference.
    pub controller_uid: Option<String>,
    /// Pods: the node the pod is bound to, or pinned to by node affinity (a daemon pod before
    /// binding).
    pub node: Option<String>,
    /// Pods: the selectable fields (`spec.nodeName`, `status.phase` …) that have a value.
    pub fields: Box<[(&'static str, Box<str>)]>,
}

/// The pod fields the API server makes selectable besides metadata.name/namespace
/// (pkg/registry/core/pod/strategy.go `ToSelectableFields`).
pub const POD_FIELDS: [&str; 8] = [
    "spec.nodeName",
    "spec.restartPolicy",
    "spec.schedulerName",
    "spec.serviceAccountName",
    "spec.hostNetwork",
    "status.phase",
    "status.podIP",
    "status.nominatedNodeName",
];

impl Head {
    fn of(obj: &Object) -> Head {
        let meta = obj.meta();
        let controller_uid = meta
            .owner_references
            .as_ref()
            .and_then(|r| r.iter().find(|o| o.controller == Some(true)))
            .map(|o| o.uid.clone());
        let (node, fields) = match obj {
            Object::Pod(p) => {
                let node = p.spec.as_ref().and_then(crate::cluster::sched::pod_target_node).map(|t| t.name.to_string());
                let fields = POD_FIELDS
                    .iter()
                    .filter_map(|f| Some((*f, pod_field(p, f)?.into_boxed_str())))
                    .filter(|(_, v)| !v.is_empty())
                    .collect();
                (node, fields)
            }
            _ => (None, Box::default()),
        };
        Head {
            kind: obj.kind(),
            key: obj.key(),
            uid: meta.uid.clone(),
            labels: meta.labels.clone(),
            controller_uid,
            node,
            fields,
        }
    }

    /// A pod's selectable field ("" when unset, as the API server compares it).
    pub fn field(&self, name: &str) -> &str {
        self.fields.iter().find(|(f, _)| *f == name).map_or("", |(_, v)| v)
    }
}

/// One of [`POD_FIELDS`] of a pod.
pub fn pod_field(p: &Pod, field: &str) -> Option<String> {
    let spec = p.spec.as_ref();
    let status = p.status.as_ref();
    match field {
        "spec.nodeName" => spec.and_then(|s| s.node_name.clone()),
        "spec.restartPolicy" => spec.and_then(|s| s.restart_policy.clone()),
        "spec.schedulerName" => spec.and_then(|s| s.scheduler_name.clone()),
        "spec.serviceAccountName" => spec.and_then(|s| s.service_account_name.clone()),
        "spec.hostNetwork" => Some(spec.and_then(|s| s.host_network).unwrap_or(false).to_string()),
        "status.phase" => status.and_then(|s| s.phase.clone()),
        "status.podIP" => status.and_then(|s| s.pod_ip.clone()),
        "status.nominatedNodeName" => status.and_then(|s| s.nominated_node_name.clone()),
        _ => None,
    }
}

/// A stored object version: its JSON (with its resourceVersion), shared by lists, watches and
/// the history without copying, its [`Head`], and (all kinds but pods) its typed form.
#[derive(Debug)]
pub struct Stored {
    pub json: Bytes,
    pub rv: u64,
    pub head: Head,
    typed: Option<Object>,
}

impl Stored {
    /// The whole object: borrowed when kept typed, else decoded from its JSON (pods). The JSON
    /// was written by the store from a typed object, so it decodes; should it not, the head's
    /// fields are all that is left and an empty object of the kind stands in.
    pub fn obj(&self) -> Cow<'_, Object> {
        match &self.typed {
            Some(o) => Cow::Borrowed(o),
            None => Cow::Owned(Object::from_json(self.head.kind, &self.json).unwrap_or_else(|e| {
                tracing::error!(
                    "stored {} {}/{} does not decode: {e}",
                    self.head.kind.kind(),
                    self.head.key.namespace,
                    self.head.key.name
                );
                let mut o = Object::empty(self.head.kind);
                let m = o.meta_mut();
                m.name = Some(self.head.key.name.clone());
                m.namespace = Some(self.head.key.namespace.clone()).filter(|n| !n.is_empty());
                m.uid = self.head.uid.clone();
                o
            })),
        }
    }
    /// A stored pod's outline, decoded from its JSON without the bulk (containers, volumes,
    /// tolerations, managedFields, init container statuses): the metadata but managedFields,
    /// and of spec and status what a controller looking over all pods reads (where the pod is
    /// bound or pinned, its grace period, phase, conditions, start time and container
    /// statuses: the DaemonSet controller's sync, the kubelet's timers). Several times cheaper
    /// than [`Stored::obj`]; never to be written back. `None` for other kinds.
    pub fn pod_outline(&self) -> Option<Pod> {
        if self.head.kind != Kind::Pod {
            return None;
        }
        match serde_json::from_slice::<outline::Pod>(&self.json) {
            Ok(p) => Some(p.into()),
            Err(e) => {
                tracing::error!("stored pod {}/{} does not decode: {e}", self.head.key.namespace, self.head.key.name);
                None
            }
        }
    }
    /// The typed object of every kind but pods (pods are kept as bytes: use [`Stored::obj`]).
    pub fn typed(&self) -> Option<&Object> {
        self.typed.as_ref()
    }
    pub fn kind(&self) -> Kind {
        self.head.kind
    }
    pub fn key(&self) -> &ObjKey {
        &self.head.key
    }
    pub fn name(&self) -> &str {
        &self.head.key.name
    }
    pub fn namespace(&self) -> &str {
        &self.head.key.namespace
    }
    pub fn uid(&self) -> Option<&str> {
        self.head.uid.as_deref()
    }
    pub fn labels(&self) -> Option<&BTreeMap<String, String>> {
        self.head.labels.as_ref()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventType {
    Added,
    Modified,
    Deleted,
}

impl EventType {
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Added => "ADDED",
            EventType::Modified => "MODIFIED",
            EventType::Deleted => "DELETED",
        }
    }
}

/// One change, as a watch sends it.
#[derive(Debug)]
pub struct WatchEvent {
    pub rv: u64,
    pub kind: Kind,
    pub etype: EventType,
    /// The object after the change (for DELETED, the last state with the deletion's rv).
    pub object: Arc<Stored>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum StoreError {
    #[error("{kind} \"{name}\" not found")]
    NotFound { kind: &'static str, name: String },
    #[error("{kind} \"{name}\" already exists")]
    AlreadyExists { kind: &'static str, name: String },
    #[error(
        "Operation cannot be fulfilled on {plural} \"{name}\": the object has been modified; please apply your changes to the latest version and try again"
    )]
    Conflict { plural: &'static str, name: String },
    #[error("{0}")]
    Invalid(String),
    #[error("too old resource version: {requested} ({oldest})")]
    Gone { requested: u64, oldest: u64 },
}

struct Inner {
    rv: u64,
    uid: u64,
    objects: HashMap<Kind, BTreeMap<ObjKey, Arc<Stored>>>,
    history: VecDeque<Arc<WatchEvent>>,
    /// Watches may resume from any rv >= this; older ones get 410 Gone.
    floor: u64,
}

/// The store. Cheap to share (`Arc<Store>`); all methods take `&self`.
pub struct Store {
    inner: RwLock<Inner>,
    tx: broadcast::Sender<Arc<WatchEvent>>,
    history_cap: usize,
}

/// A watch's starting point: the events after the requested rv, and a receiver for what comes
/// next, taken atomically so nothing is missed or duplicated.
pub struct Subscription {
    pub backlog: Vec<Arc<WatchEvent>>,
    pub rx: broadcast::Receiver<Arc<WatchEvent>>,
    pub rv: u64,
}

impl Store {
    /// `history_cap` events are kept for resuming watches.
    pub fn new(history_cap: usize) -> Arc<Store> {
        let (tx, _) = broadcast::channel(65_536);
        let mut objects = HashMap::new();
        for k in Kind::ALL {
            objects.insert(k, BTreeMap::new());
        }
        Arc::new(Store {
            inner: RwLock::new(Inner { rv: 1, uid: 0, objects, history: VecDeque::new(), floor: 1 }),
            tx,
            history_cap,
        })
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Inner> {
        self.inner.read().unwrap_or_else(|e| e.into_inner())
    }
    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Inner> {
        self.inner.write().unwrap_or_else(|e| e.into_inner())
    }

    pub fn current_rv(&self) -> u64 {
        self.read().rv
    }

    /// The oldest resourceVersion a watch may resume from.
    pub fn oldest_rv(&self) -> u64 {
        self.read().floor
    }

    pub fn get(&self, kind: Kind, namespace: &str, name: &str) -> Option<Arc<Stored>> {
        let ns = if kind.namespaced() { namespace } else { "" };
        self.read().objects[&kind].get(&ObjKey::new(ns, name)).cloned()
    }

    /// All objects of a kind (in one namespace when given), ordered by namespace/name, with the
    /// store's rv at the time of the list.
    pub fn list(&self, kind: Kind, namespace: Option<&str>) -> (Vec<Arc<Stored>>, u64) {
        let g = self.read();
        let map = &g.objects[&kind];
        let items = match namespace {
            Some(ns) if kind.namespaced() => map
                .range(ObjKey::new(ns, "")..)
                .take_while(|(k, _)| k.namespace == ns)
                .map(|(_, v)| v.clone())
                .collect(),
            _ => map.values().cloned().collect(),
        };
        (items, g.rv)
    }

    /// Walk the objects of a kind (in one namespace when given) in key order, starting after
    /// `after`, under one read lock, until `visit` returns false; the store's rv at the time.
    /// A list page reads its few thousand objects this way instead of cloning all of them
    /// ([`Store::list`]): paging through 150,000 pods cloned and dropped 150,000 `Arc`s per page.
    pub fn scan(
        &self,
        kind: Kind,
        namespace: Option<&str>,
        after: Option<&ObjKey>,
        mut visit: impl FnMut(&Arc<Stored>) -> bool,
    ) -> u64 {
        use std::ops::Bound;
        let g = self.read();
        let map = &g.objects[&kind];
        let ns = namespace.filter(|_| kind.namespaced());
        let from = match (after, ns) {
            (Some(k), _) => Bound::Excluded(k.clone()),
            (None, Some(ns)) => Bound::Included(ObjKey::new(ns, "")),
            (None, None) => Bound::Unbounded,
        };
        for (k, v) in map.range((from, Bound::Unbounded)) {
            if let Some(ns) = ns {
                match k.namespace.as_str().cmp(ns) {
                    std::cmp::Ordering::Less => continue,
                    std::cmp::Ordering::Greater => break,
                    std::cmp::Ordering::Equal => {}
                }
            }
            if !visit(v) {
                break;
            }
        }
        g.rv
    }

    pub fn count(&self, kind: Kind) -> usize {
        self.read().objects[&kind].len()
    }

    /// Subscribe to events after `rv` (of every kind; the watcher filters).
    pub fn subscribe_from(&self, rv: u64) -> Result<Subscription, StoreError> {
        let g = self.read();
        if rv < g.floor {
            return Err(StoreError::Gone { requested: rv, oldest: g.floor });
        }
        let rx = self.tx.subscribe();
        let start = g.history.partition_point(|e| e.rv <= rv);
        let backlog = g.history.iter().skip(start).cloned().collect();
        Ok(Subscription { backlog, rx, rv: g.rv })
    }

    /// Forget the history (a fault, and the end of scenario setup): watches from before now get 410.
    pub fn compact(&self) {
        let mut g = self.write();
        g.history.clear();
        g.floor = g.rv;
    }

    fn commit(&self, g: &mut Inner, etype: EventType, obj: Object) -> Result<Arc<Stored>, StoreError> {
        Ok(self.commit_with(g, etype, obj, false, None)?.0)
    }

    /// Commit, and give back the typed object as committed (with its resourceVersion), so that a
    /// caller holding a pod need not decode it again.
    fn commit_typed(
        &self,
        g: &mut Inner,
        etype: EventType,
        obj: Object,
        managed: Option<&ManagedFieldsJson>,
    ) -> Result<(Arc<Stored>, Object), StoreError> {
        let (stored, back) = self.commit_with(g, etype, obj, true, managed)?;
        let back = back.unwrap_or_else(|| stored.obj().into_owned());
        Ok((stored, back))
    }

    /// Commit; with `give_back`, the typed object as committed comes back too (a clone for the
    /// kinds the store keeps typed, the object itself for pods). With `managed`, a pod's
    /// managedFields are written from that JSON (the typed pod has none).
    fn commit_with(
        &self,
        g: &mut Inner,
        etype: EventType,
        mut obj: Object,
        give_back: bool,
        managed: Option<&ManagedFieldsJson>,
    ) -> Result<(Arc<Stored>, Option<Object>), StoreError> {
        let rv = g.rv + 1;
        obj.meta_mut().resource_version = Some(rv.to_string());
        let json = match managed {
            None => encode(&obj)?,
            Some(m) => encode_with_managed_fields(&mut obj, m)?,
        };
        g.rv = rv;
        let kind = obj.kind();
        let head = Head::of(&obj);
        let (typed, back) = match (kind, give_back) {
            (Kind::Pod, true) => (None, Some(obj)),
            (Kind::Pod, false) => (None, None),
            (_, true) => (Some(obj.clone()), Some(obj)),
            (_, false) => (Some(obj), None),
        };
        let stored = Arc::new(Stored { json, rv, head, typed });
        let key = stored.head.key.clone();
        let map = g.objects.get_mut(&kind).expect("every kind has a map");
        if etype == EventType::Deleted {
            map.remove(&key);
        } else {
            map.insert(key, stored.clone());
        }
        let ev = Arc::new(WatchEvent { rv, kind, etype, object: stored.clone() });
        g.history.push_back(ev.clone());
        while g.history.len() > self.history_cap {
            if let Some(old) = g.history.pop_front() {
                g.floor = old.rv;
            }
        }
        // No receivers is fine.
        let _ = self.tx.send(ev);
        Ok((stored, back))
    }

    fn normalize_key(obj: &mut Object) {
        if !obj.kind().namespaced() {
            obj.meta_mut().namespace = None;
        }
    }

    /// Create: assigns uid, creationTimestamp (if unset), generation 1 and a resourceVersion.
    /// `generateName` is honoured when `name` is empty.
    pub fn create(&self, obj: Object, now: Time) -> Result<Arc<Stored>, StoreError> {
        Ok(self.create_typed(obj, now)?.0)
    }

    /// [`Store::create`], giving back the typed object as stored too.
    pub fn create_typed(&self, obj: Object, now: Time) -> Result<(Arc<Stored>, Object), StoreError> {
        self.create_inner(obj, now, None)
    }

    /// Create a pod whose managedFields are given as JSON, already serialised, instead of in
    /// the typed pod (which must have none): the scenario's 150,000 pods share a few
    /// prototypes' managedFields, and cloning, serialising and dropping their `FieldsV1` trees
    /// once per pod was a third of writing them. The stored JSON is the same as
    /// [`Store::create_typed`] with the entries in the pod; the pod given back has none.
    pub fn create_pod_with_managed_fields(
        &self,
        pod: Pod,
        now: Time,
        managed: &ManagedFieldsJson,
    ) -> Result<(Arc<Stored>, Pod), StoreError> {
        if pod.metadata.managed_fields.is_some() {
            return Err(StoreError::Invalid("managedFields are given twice".into()));
        }
        match self.create_inner(Object::Pod(pod), now, Some(managed))? {
            (stored, Object::Pod(p)) => Ok((stored, p)),
            _ => Err(StoreError::Invalid("a pod came back as another kind".into())),
        }
    }

    fn create_inner(
        &self,
        mut obj: Object,
        now: Time,
        managed: Option<&ManagedFieldsJson>,
    ) -> Result<(Arc<Stored>, Object), StoreError> {
        Self::normalize_key(&mut obj);
        let mut g = self.write();
        g.uid += 1;
        let uid = g.uid;
        let kind = obj.kind();
        let meta = obj.meta_mut();
        if meta.name.as_deref().unwrap_or("").is_empty() {
            match meta.generate_name.as_deref() {
                Some(prefix) if !prefix.is_empty() => meta.name = Some(format!("{prefix}{}", suffix(uid))),
                _ => {
                    return Err(StoreError::Invalid(
                        "metadata.name: Required value: name or generateName is required".into(),
                    ));
                }
            }
        }
        if kind.namespaced() && meta.namespace.as_deref().unwrap_or("").is_empty() {
            meta.namespace = Some("default".into());
        }
        meta.uid = Some(format!("00000000-0000-4000-8000-{uid:012x}"));
        if meta.creation_timestamp.is_none() {
            meta.creation_timestamp = Some(now);
        }
        meta.generation = Some(1);
        let key = obj.key();
        if g.objects[&kind].contains_key(&key) {
            return Err(StoreError::AlreadyExists { kind: kind.plural(), name: key.name });
        }
        self.commit_typed(&mut g, EventType::Added, obj, managed)
    }

    /// Replace an object. When `expect_rv` is given and differs from the stored one: Conflict.
    /// uid and creationTimestamp are preserved; `generation` is bumped when the spec changed
    /// (DaemonSets, like the real registry). An update that changes nothing emits no event.
    pub fn update(&self, obj: Object, expect_rv: Option<u64>) -> Result<Arc<Stored>, StoreError> {
        Ok(self.update_typed(obj, expect_rv)?.0)
    }

    /// [`Store::update`], giving back the typed object as stored too.
    pub fn update_typed(&self, mut obj: Object, expect_rv: Option<u64>) -> Result<(Arc<Stored>, Object), StoreError> {
        Self::normalize_key(&mut obj);
        let mut g = self.write();
        let kind = obj.kind();
        let key = obj.key();
        let Some(cur) = g.objects[&kind].get(&key).cloned() else {
            return Err(StoreError::NotFound { kind: kind.plural(), name: key.name });
        };
        if let Some(rv) = expect_rv
            && rv != cur.rv
        {
            return Err(StoreError::Conflict { plural: kind.plural(), name: key.name });
        }
        let old = cur.obj();
        {
            let old = old.meta();
            let meta = obj.meta_mut();
            meta.uid = old.uid.clone();
            meta.creation_timestamp = old.creation_timestamp.clone();
            meta.generation = old.generation;
            meta.resource_version = old.resource_version.clone();
        }
        if let (Object::DaemonSet(new), Object::DaemonSet(old)) = (&mut obj, &*old)
            && new.spec != old.spec
        {
            new.metadata.generation = Some(old.metadata.generation.unwrap_or(1) + 1);
        }
        if obj == *old {
            drop(old);
            return Ok((cur, obj));
        }
        drop(old);
        self.commit_typed(&mut g, EventType::Modified, obj, None)
    }

    /// Read-modify-write under one lock; `f` may fail to abort. No event when nothing changed.
    pub fn modify<E: From<StoreError>>(
        &self,
        kind: Kind,
        namespace: &str,
        name: &str,
        f: impl FnOnce(&mut Object) -> Result<(), E>,
    ) -> Result<Arc<Stored>, E> {
        let cur = self
            .get(kind, namespace, name)
            .ok_or_else(|| StoreError::NotFound { kind: kind.plural(), name: name.to_string() })?;
        let mut obj = cur.obj().into_owned();
        f(&mut obj)?;
        // Optimistic concurrency against our own read: a racing writer makes us retry once
        // by returning Conflict to the caller, as the API server would.
        Ok(self.update(obj, Some(cur.rv))?)
    }

    /// Insert recorded objects exactly as given (uid, creationTimestamp, generation, status,
    /// managedFields kept), each with a new resourceVersion in the order given. All or nothing:
    /// when any key already exists, or two objects share one, nothing is inserted.
    pub fn restore(&self, objs: Vec<Object>) -> Result<(), StoreError> {
        let mut g = self.write();
        let mut seen = std::collections::HashSet::new();
        let mut objs = objs;
        for obj in &mut objs {
            Self::normalize_key(obj);
            let (kind, key) = (obj.kind(), obj.key());
            if g.objects[&kind].contains_key(&key) || !seen.insert((kind, key.clone())) {
                return Err(StoreError::AlreadyExists { kind: kind.plural(), name: key.name });
            }
        }
        for obj in objs {
            self.commit(&mut g, EventType::Added, obj)?;
        }
        Ok(())
    }

    /// Remove an object now (graceful deletion is the caller's policy: it sets
    /// deletionTimestamp with `modify` first).
    pub fn delete(&self, kind: Kind, namespace: &str, name: &str) -> Result<Arc<Stored>, StoreError> {
        let ns = if kind.namespaced() { namespace } else { "" };
        let mut g = self.write();
        let key = ObjKey::new(ns, name);
        let Some(cur) = g.objects[&kind].get(&key).cloned() else {
            return Err(StoreError::NotFound { kind: kind.plural(), name: name.to_string() });
        };
        self.commit(&mut g, EventType::Deleted, cur.obj().into_owned())
    }
}

thread_local! {
    /// Serialization scratch: an object's JSON is written here and copied out at its exact
    /// length, so a stored object holds no spare capacity (a `Vec` grown by doubling holds up
    /// to twice what it needs, and at 150,000 pods that is gigabytes).
    static SCRATCH: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// Serialize with apiVersion and kind set (k8s-openapi's Serialize adds them).
fn encode(obj: &Object) -> Result<Bytes, StoreError> {
    encode_with(obj, |json| Ok(Bytes::copy_from_slice(json)))
}

/// Serialize `obj` into the scratch buffer and hand the bytes to `finish`, which makes the
/// stored copy; the buffer is dropped afterwards, whatever `finish` returned, if it grew past
/// 1 MB (one huge object must not pin that much per thread).
fn encode_with(obj: &Object, finish: impl FnOnce(&[u8]) -> Result<Bytes, StoreError>) -> Result<Bytes, StoreError> {
    SCRATCH.with(|buf| {
        let mut buf = buf.borrow_mut();
        buf.clear();
        let out = each!(obj, o => serde_json::to_writer(&mut *buf, o))
            .map_err(|e| StoreError::Invalid(e.to_string()))
            .and_then(|()| finish(&buf));
        if buf.capacity() > 1 << 20 {
            *buf = Vec::new();
        }
        out
    })
}

/// A list of managedFields entries, serialised once ([`Store::create_pod_with_managed_fields`]).
#[derive(Clone, Debug)]
pub struct ManagedFieldsJson(Bytes);

impl ManagedFieldsJson {
    pub fn new(entries: &[k8s_openapi::apimachinery::pkg::apis::meta::v1::ManagedFieldsEntry]) -> ManagedFieldsJson {
        // A Vec of these serialises infallibly (strings, times and JSON values).
        ManagedFieldsJson(Bytes::from(serde_json::to_vec(entries).unwrap_or_else(|_| b"[]".to_vec())))
    }
}

/// Serialize `obj` with `managed` as its `metadata.managedFields`: serialise it with an empty
/// list there, then write the entries in its place. `"managedFields":[]` is found as written:
/// a string's quotes are escaped, so the first occurrence of those bytes is a key, and the
/// first object with that key is `metadata` (k8s-openapi writes apiVersion, kind, metadata
/// first; labels and annotations, before it in metadata, are string maps).
fn encode_with_managed_fields(obj: &mut Object, managed: &ManagedFieldsJson) -> Result<Bytes, StoreError> {
    const EMPTY: &[u8] = b"\"managedFields\":[]";
    if &managed.0[..] == b"[]" {
        // No entries: the field is left out, as the API server writes it.
        return encode(obj);
    }
    obj.meta_mut().managed_fields = Some(Vec::new());
    let encoded = encode_with(obj, |json| {
        let at = json
            .windows(EMPTY.len())
            .position(|w| w == EMPTY)
            .ok_or_else(|| StoreError::Invalid("metadata.managedFields was not written".into()))?;
        let list = at + EMPTY.len() - 2;
        let mut out = Vec::with_capacity(json.len() - 2 + managed.0.len());
        out.extend_from_slice(&json[..list]);
        out.extend_from_slice(&managed.0);
        out.extend_from_slice(&json[list + 2..]);
        Ok(Bytes::from(out))
    });
    obj.meta_mut().managed_fields = None;
    encoded
}

/// Five lowercase alphanumerics, like the API server's generateName suffix.
fn suffix(mut n: u64) -> String {
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    n = n.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ (n >> 7);
    (0..5)
        .map(|_| {
            let c = ALPHABET[(n % ALPHABET.len() as u64) as usize] as char;
            n /= ALPHABET.len() as u64;
            c
        })
        .collect()
}

/// The outline of a pod that [`Stored::pod_outline`] decodes: serde skips every other field.
mod outline {
    use std::collections::BTreeMap;

    use k8s_openapi::api::core::v1 as core;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference, Time};
    use serde::Deserialize;

    #[derive(Deserialize)]
    pub struct Pod {
        #[serde(default)]
        metadata: Meta,
        spec: Option<Spec>,
        status: Option<Status>,
    }

    #[derive(Deserialize, Default)]
    #[serde(rename_all = "camelCase")]
    struct Meta {
        name: Option<String>,
        generate_name: Option<String>,
        namespace: Option<String>,
        uid: Option<String>,
        resource_version: Option<String>,
        generation: Option<i64>,
        labels: Option<BTreeMap<String, String>>,
        annotations: Option<BTreeMap<String, String>>,
        creation_timestamp: Option<Time>,
        deletion_timestamp: Option<Time>,
        deletion_grace_period_seconds: Option<i64>,
        owner_references: Option<Vec<OwnerReference>>,
        finalizers: Option<Vec<String>>,
    }

    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Spec {
        node_name: Option<String>,
        affinity: Option<core::Affinity>,
        termination_grace_period_seconds: Option<i64>,
    }

    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Status {
        phase: Option<String>,
        conditions: Option<Vec<core::PodCondition>>,
        start_time: Option<Time>,
        container_statuses: Option<Vec<core::ContainerStatus>>,
    }

    impl From<Pod> for core::Pod {
        fn from(p: Pod) -> core::Pod {
            let m = p.metadata;
            core::Pod {
                metadata: ObjectMeta {
                    name: m.name,
                    generate_name: m.generate_name,
                    namespace: m.namespace,
                    uid: m.uid,
                    resource_version: m.resource_version,
                    generation: m.generation,
                    labels: m.labels,
                    annotations: m.annotations,
                    creation_timestamp: m.creation_timestamp,
                    deletion_timestamp: m.deletion_timestamp,
                    deletion_grace_period_seconds: m.deletion_grace_period_seconds,
                    owner_references: m.owner_references,
                    finalizers: m.finalizers,
                    ..Default::default()
                },
                spec: p.spec.map(|s| core::PodSpec {
                    node_name: s.node_name,
                    affinity: s.affinity,
                    termination_grace_period_seconds: s.termination_grace_period_seconds,
                    ..Default::default()
                }),
                status: p.status.map(|s| core::PodStatus {
                    phase: s.phase,
                    conditions: s.conditions,
                    start_time: s.start_time,
                    container_statuses: s.container_statuses,
                    ..Default::default()
                }),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{FieldsV1, ManagedFieldsEntry};

    fn entries() -> Vec<ManagedFieldsEntry> {
        vec![ManagedFieldsEntry {
            manager: Some("kubelet".into()),
            operation: Some("Update".into()),
            api_version: Some("v1".into()),
            fields_type: Some("FieldsV1".into()),
            fields_v1: Some(FieldsV1(serde_json::json!({"f:status": {"f:phase": {}}}))),
            subresource: Some("status".into()),
            time: None,
        }]
    }

    /// A pod whose label value and annotation spell the bytes the splice looks for.
    fn pod(name: &str) -> Pod {
        serde_json::from_value(serde_json::json!({
            "metadata": {
                "name": name,
                "namespace": "kube-system",
                "labels": {"app": "\"managedFields\":[]"},
                "annotations": {"managedFields": "[]", "note": "\"managedFields\":[] inside a string"},
            },
            "spec": {"nodeName": "n1", "containers": [{"name": "c", "image": "i"}]},
        }))
        .unwrap()
    }

    fn without_identity(json: &[u8]) -> serde_json::Value {
        let mut v: serde_json::Value = serde_json::from_slice(json).unwrap();
        for f in ["name", "uid", "resourceVersion"] {
            v["metadata"].as_object_mut().unwrap().remove(f);
        }
        v
    }

    #[test]
    fn a_pod_with_managed_fields_given_as_json_is_stored_as_if_they_were_in_it() {
        let store = Store::new(100);
        let now = Time(jiff::Timestamp::UNIX_EPOCH);
        let mut whole = pod("whole");
        whole.metadata.managed_fields = Some(entries());
        let plain = store.create(Object::Pod(whole), now.clone()).unwrap();
        let (spliced, back) =
            store.create_pod_with_managed_fields(pod("spliced"), now, &ManagedFieldsJson::new(&entries())).unwrap();

        assert_eq!(without_identity(&spliced.json), without_identity(&plain.json));
        let text = std::str::from_utf8(&spliced.json).unwrap();
        assert!(text.contains(r#""managedFields":[{"apiVersion":"v1","#), "{text}");
        assert_eq!(text.matches("\"manager\":\"kubelet\"").count(), 1, "{text}");
        let Object::Pod(decoded) = spliced.obj().into_owned() else { panic!("not a pod") };
        assert_eq!(decoded.metadata.managed_fields, Some(entries()));
        assert_eq!(decoded.metadata.labels.unwrap()["app"], "\"managedFields\":[]");
        assert_eq!(back.metadata.managed_fields, None, "the pod given back has none");
        assert_eq!(back.metadata.resource_version.as_deref(), Some(spliced.rv.to_string().as_str()));
    }

    #[test]
    fn no_managed_fields_given_as_json_leave_the_field_out() {
        let store = Store::new(100);
        let now = Time(jiff::Timestamp::UNIX_EPOCH);
        let (spliced, _) = store.create_pod_with_managed_fields(pod("p"), now, &ManagedFieldsJson::new(&[])).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&spliced.json).unwrap();
        assert_eq!(v["metadata"].get("managedFields"), None, "{v}");
    }

    #[test]
    fn managed_fields_given_twice_are_refused() {
        let store = Store::new(100);
        let mut p = pod("p");
        p.metadata.managed_fields = Some(entries());
        let err = store
            .create_pod_with_managed_fields(p, Time(jiff::Timestamp::UNIX_EPOCH), &ManagedFieldsJson::new(&entries()))
            .unwrap_err();
        assert!(matches!(err, StoreError::Invalid(_)), "{err:?}");
        assert_eq!(store.count(Kind::Pod), 0);
    }
}
