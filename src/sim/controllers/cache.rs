//! The controllers' informer: a copy of the store's nodes, DaemonSets, pods and revisions,
//! indexed by owner and by node, kept current from the store's watch events (like a shared
//! informer's indexers). Reads never take the store's lock per object.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use crate::sim::store::{EventType, Kind, ObjKey, Store, Stored, WatchEvent};

#[derive(Default)]
pub struct Cache {
    pub nodes: BTreeMap<String, Arc<Stored>>,
    pub daemonsets: BTreeMap<ObjKey, Arc<Stored>>,
    pub ds_by_uid: HashMap<String, ObjKey>,
    pub pods: HashMap<ObjKey, Arc<Stored>>,
    pub pods_by_owner: HashMap<String, BTreeSet<ObjKey>>,
    pub pods_by_node: HashMap<String, BTreeSet<ObjKey>>,
    pub revisions: HashMap<ObjKey, Arc<Stored>>,
    pub revisions_by_owner: HashMap<String, BTreeSet<ObjKey>>,
}

/// What an event touched, for the controllers to requeue.
pub enum Change {
    Node(String),
    DaemonSet(ObjKey, Option<String>),
    Pod { key: ObjKey, owners: Vec<String>, nodes: Vec<String> },
    Revision(Option<String>),
    Other,
}

fn controller_uid(s: &Stored) -> Option<String> {
    s.head.controller_uid.clone()
}

fn pod_node(s: &Stored) -> Option<String> {
    s.head.node.clone()
}

impl Cache {
    /// Everything in the store now.
    pub fn load(store: &Store) -> (Cache, u64) {
        let mut c = Cache::default();
        let mut rv = 0;
        for kind in [Kind::Node, Kind::DaemonSet, Kind::Pod, Kind::ControllerRevision] {
            let (items, at) = store.list(kind, None);
            rv = rv.max(at);
            for s in items {
                c.put(s);
            }
        }
        (c, rv)
    }

    fn put(&mut self, s: Arc<Stored>) -> Change {
        let key = s.key().clone();
        match s.kind() {
            Kind::Node => {
                self.nodes.insert(key.name.clone(), s);
                Change::Node(key.name)
            }
            Kind::DaemonSet => {
                let uid = s.head.uid.clone();
                if let Some(u) = &uid {
                    self.ds_by_uid.insert(u.clone(), key.clone());
                }
                self.daemonsets.insert(key.clone(), s);
                Change::DaemonSet(key, uid)
            }
            Kind::Pod => {
                let (mut owners, mut nodes) = self.unindex_pod(&key);
                let owner = controller_uid(&s);
                let node = pod_node(&s);
                if let Some(o) = &owner {
                    self.pods_by_owner.entry(o.clone()).or_default().insert(key.clone());
                    owners.push(o.clone());
                }
                if let Some(n) = &node {
                    self.pods_by_node.entry(n.clone()).or_default().insert(key.clone());
                    nodes.push(n.clone());
                }
                self.pods.insert(key.clone(), s);
                Change::Pod { key, owners, nodes }
            }
            Kind::ControllerRevision => {
                let owner = controller_uid(&s);
                if let Some(o) = &owner {
                    self.revisions_by_owner.entry(o.clone()).or_default().insert(key.clone());
                }
                self.revisions.insert(key, s);
                Change::Revision(owner)
            }
            _ => Change::Other,
        }
    }

    fn unindex_pod(&mut self, key: &ObjKey) -> (Vec<String>, Vec<String>) {
        let mut owners = Vec::new();
        let mut nodes = Vec::new();
        if let Some(old) = self.pods.remove(key) {
            if let Some(o) = controller_uid(&old) {
                if let Some(set) = self.pods_by_owner.get_mut(&o) {
                    set.remove(key);
                    if set.is_empty() {
                        self.pods_by_owner.remove(&o);
                    }
                }
                owners.push(o);
            }
            if let Some(n) = pod_node(&old) {
                if let Some(set) = self.pods_by_node.get_mut(&n) {
                    set.remove(key);
                    if set.is_empty() {
                        self.pods_by_node.remove(&n);
                    }
                }
                nodes.push(n);
            }
        }
        (owners, nodes)
    }

    pub fn apply(&mut self, ev: &WatchEvent) -> Change {
        let s = &ev.object;
        if ev.etype != EventType::Deleted {
            return self.put(s.clone());
        }
        let key = s.key().clone();
        match ev.kind {
            Kind::Node => {
                self.nodes.remove(&key.name);
                Change::Node(key.name)
            }
            Kind::DaemonSet => {
                self.daemonsets.remove(&key);
                let uid = s.head.uid.clone();
                if let Some(u) = &uid {
                    self.ds_by_uid.remove(u);
                }
                Change::DaemonSet(key, uid)
            }
            Kind::Pod => {
                let (owners, nodes) = self.unindex_pod(&key);
                Change::Pod { key, owners, nodes }
            }
            Kind::ControllerRevision => {
                self.revisions.remove(&key);
                let owner = controller_uid(s);
                if let Some(o) = &owner
                    && let Some(set) = self.revisions_by_owner.get_mut(o)
                {
                    set.remove(&key);
                }
                Change::Revision(owner)
            }
            _ => Change::Other,
        }
    }

    pub fn owned_pods(&self, uid: &str) -> impl Iterator<Item = &Arc<Stored>> {
        self.pods_by_owner.get(uid).into_iter().flatten().filter_map(|k| self.pods.get(k))
    }

    pub fn owned_revisions(&self, uid: &str) -> impl Iterator<Item = &Arc<Stored>> {
        self.revisions_by_owner.get(uid).into_iter().flatten().filter_map(|k| self.revisions.get(k))
    }

    /// The "ns/name" of the DaemonSet that controls a pod.
    pub fn owner_key(&self, s: &Stored) -> Option<&ObjKey> {
        self.owner_of(s.head.controller_uid.as_deref()?)
    }

    /// The DaemonSet with this uid.
    pub fn owner_of(&self, uid: &str) -> Option<&ObjKey> {
        self.ds_by_uid.get(uid)
    }
}
