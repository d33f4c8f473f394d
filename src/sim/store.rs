//! The simulator's object store: typed Kubernetes objects with their serialized JSON cached,
//! one global resourceVersion counter (like etcd's revision), and a bounded history of watch
//! events so that watches can resume from a resourceVersion, or get 410 Gone when it is older
//! than what is retained.
//!
//! Controllers and the HTTP API both go through this store; it never does I/O.

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

/// A stored object and its JSON (with the current resourceVersion), shared by lists,
/// watches and the history without copying.
#[derive(Debug)]
pub struct Stored {
    pub obj: Object,
    pub json: Bytes,
    pub rv: u64,
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

    fn commit(&self, g: &mut Inner, etype: EventType, mut obj: Object) -> Result<Arc<Stored>, StoreError> {
        g.rv += 1;
        let rv = g.rv;
        obj.meta_mut().resource_version = Some(rv.to_string());
        let json = obj.to_json().map_err(|e| StoreError::Invalid(e.to_string()))?;
        let kind = obj.kind();
        let stored = Arc::new(Stored { obj, json: Bytes::from(json), rv });
        let key = stored.obj.key();
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
        Ok(stored)
    }

    fn normalize_key(obj: &mut Object) {
        if !obj.kind().namespaced() {
            obj.meta_mut().namespace = None;
        }
    }

    /// Create: assigns uid, creationTimestamp (if unset), generation 1 and a resourceVersion.
    /// `generateName` is honoured when `name` is empty.
    pub fn create(&self, mut obj: Object, now: Time) -> Result<Arc<Stored>, StoreError> {
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
        self.commit(&mut g, EventType::Added, obj)
    }

    /// Replace an object. When `expect_rv` is given and differs from the stored one: Conflict.
    /// uid and creationTimestamp are preserved; `generation` is bumped when the spec changed
    /// (DaemonSets, like the real registry). An update that changes nothing emits no event.
    pub fn update(&self, mut obj: Object, expect_rv: Option<u64>) -> Result<Arc<Stored>, StoreError> {
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
        {
            let old = cur.obj.meta();
            let meta = obj.meta_mut();
            meta.uid = old.uid.clone();
            meta.creation_timestamp = old.creation_timestamp.clone();
            meta.generation = old.generation;
            meta.resource_version = old.resource_version.clone();
        }
        if let (Object::DaemonSet(new), Object::DaemonSet(old)) = (&mut obj, &cur.obj)
            && new.spec != old.spec
        {
            new.metadata.generation = Some(old.metadata.generation.unwrap_or(1) + 1);
        }
        if obj == cur.obj {
            return Ok(cur);
        }
        self.commit(&mut g, EventType::Modified, obj)
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
        let mut obj = cur.obj.clone();
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
        self.commit(&mut g, EventType::Deleted, cur.obj.clone())
    }
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
