//! Warning events about the fleet's pods, DaemonSets and nodes, kept small: the latest event
//! per (object, reason), at most [`PER_OBJECT`] reasons per object and [`MAX_RECORDS`] in all.
//!
//! An event storm (a crash-looping DaemonSet on 5,000 nodes, a webhook refusing every create)
//! must not grow the process: an object keeps its newest reasons, and past the global cap the
//! oldest records go first. Events expire with their object (the index forgets an object's
//! events when it deletes the object) and on a re-list (mark and sweep, as for every kind).
//! Pure and synchronous like the index; `last` is Unix seconds from the event.

use std::collections::HashMap;

use super::intern::{hashmap_bytes, malloc_size, vec_bytes};
use super::model::{EventInfo, Involved, ObjKey, Secs};

/// Distinct reasons kept per object (the newest ones).
pub const PER_OBJECT: usize = 4;
/// Records kept in all; past it the oldest tenth goes.
pub const MAX_RECORDS: usize = 20_000;

/// The object an event is about: kind, namespace (empty for nodes), name.
pub type Subject = (Involved, Box<str>, Box<str>);

/// An Event object's namespace and name.
pub type EventKey = (Box<str>, Box<str>);

/// One kept event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventRec {
    /// The Event object's namespace and name (its key on the watch).
    pub event: EventKey,
    /// `involvedObject.uid`: an event about an earlier object of the same name is not shown.
    pub uid: Box<str>,
    pub field_path: Option<Box<str>>,
    pub reason: Box<str>,
    pub message: Box<str>,
    pub count: u32,
    pub last: Secs,
    seen: bool,
}

#[derive(Default)]
pub struct EventBook {
    /// Newest first.
    by_subject: HashMap<Subject, Vec<EventRec>>,
    /// Event key → its subject, for the records kept.
    by_event: HashMap<EventKey, Subject>,
    records: usize,
}

impl EventBook {
    pub fn new() -> EventBook {
        EventBook::default()
    }

    pub fn len(&self) -> usize {
        self.records
    }

    pub fn is_empty(&self) -> bool {
        self.records == 0
    }

    /// Add or update one event. `mark` marks it seen for the re-list in progress. Returns
    /// whether anything kept changed. O(PER_OBJECT), and O(records) once per tenth of the cap
    /// when the cap is reached.
    pub fn apply(&mut self, e: EventInfo, mark: bool) -> bool {
        let key: EventKey = (e.namespace.into(), e.name.into());
        // An update of a kept event replaces it (count, message and time change).
        let _ = self.remove_event(&key);
        let subject: Subject = (e.kind, e.object_namespace.into(), e.object_name.into());
        let rec = EventRec {
            event: key.clone(),
            uid: e.object_uid.into(),
            field_path: e.field_path.map(Into::into),
            reason: e.reason.into(),
            message: e.message.into(),
            count: e.count,
            last: e.last,
            seen: mark,
        };
        let list = self.by_subject.entry(subject.clone()).or_default();
        let mut dropped: Vec<EventKey> = Vec::new();
        if let Some(i) = list.iter().position(|r| r.reason == rec.reason) {
            if list[i].last > rec.last {
                // An older event of a reason we hold a newer one of: nothing to keep.
                return false;
            }
            dropped.push(list.remove(i).event);
            self.records -= 1;
        }
        let at = list.iter().position(|r| r.last <= rec.last).unwrap_or(list.len());
        list.insert(at, rec);
        self.records += 1;
        let mut kept = true;
        while list.len() > PER_OBJECT {
            let old = list.pop().expect("longer than the bound");
            kept &= old.event != key;
            dropped.push(old.event);
            self.records -= 1;
        }
        for k in dropped {
            self.by_event.remove(&k);
        }
        if kept {
            self.by_event.insert(key, subject);
        }
        if self.records > MAX_RECORDS {
            self.evict_oldest(MAX_RECORDS / 10);
        }
        kept
    }

    /// Forget one event (deleted on the server, or replaced).
    pub fn remove_event(&mut self, key: &EventKey) -> bool {
        let Some(subject) = self.by_event.remove(key) else { return false };
        if let Some(list) = self.by_subject.get_mut(&subject) {
            let before = list.len();
            list.retain(|r| &r.event != key);
            self.records -= before - list.len();
            if list.is_empty() {
                self.by_subject.remove(&subject);
            }
        }
        true
    }

    /// [`EventBook::remove_event`] by the event's [`ObjKey`].
    pub fn delete(&mut self, key: &ObjKey) -> bool {
        self.remove_event(&(key.namespace.as_str().into(), key.name.as_str().into()))
    }

    /// Forget every event about one object (it was deleted).
    pub fn forget(&mut self, kind: Involved, namespace: &str, name: &str) -> bool {
        let subject: Subject = (kind, namespace.into(), name.into());
        let Some(list) = self.by_subject.remove(&subject) else { return false };
        self.records -= list.len();
        for r in list {
            self.by_event.remove(&r.event);
        }
        true
    }

    /// Keep only the subjects `keep` accepts. O(subjects).
    pub fn retain_subjects(&mut self, mut keep: impl FnMut(&Subject) -> bool) -> bool {
        let gone: Vec<Subject> = self.by_subject.keys().filter(|s| !keep(s)).cloned().collect();
        for s in &gone {
            self.forget(s.0, &s.1, &s.2);
        }
        !gone.is_empty()
    }

    /// The events about one object, newest first, leaving out those about an earlier object
    /// of the same name (`uid` given and different).
    pub fn about<'a>(
        &'a self,
        kind: Involved,
        namespace: &str,
        name: &str,
        uid: Option<&'a str>,
    ) -> impl Iterator<Item = &'a EventRec> + 'a {
        let subject: Subject = (kind, namespace.into(), name.into());
        self.by_subject.get(&subject).into_iter().flatten().filter(move |r| match uid {
            Some(u) if !u.is_empty() && !r.uid.is_empty() => *r.uid == *u,
            _ => true,
        })
    }

    pub fn clear_marks(&mut self) {
        self.by_subject.values_mut().flatten().for_each(|r| r.seen = false);
    }

    /// Remove what a finished re-list did not mark, and clear the marks.
    pub fn sweep(&mut self) -> bool {
        let gone: Vec<EventKey> =
            self.by_subject.values().flatten().filter(|r| !r.seen).map(|r| r.event.clone()).collect();
        for k in &gone {
            self.remove_event(k);
        }
        self.clear_marks();
        !gone.is_empty()
    }

    /// Drop the `n` records seen longest ago.
    /// O(records) in plain integers: the cut-off time first, then one pass that drops what is
    /// older (and, among records at the cut-off time, as many as still needed).
    fn evict_oldest(&mut self, n: usize) {
        let mut times: Vec<Secs> = self.by_subject.values().flatten().map(|r| r.last).collect();
        let n = n.min(times.len());
        if n == 0 {
            return;
        }
        let (_, &mut cutoff, _) = times.select_nth_unstable(n - 1);
        let older = times.iter().filter(|&&t| t < cutoff).count();
        let mut at_cutoff = n - older;
        let mut evicted = 0;
        for list in self.by_subject.values_mut() {
            list.retain(|r| {
                let go = r.last < cutoff || (r.last == cutoff && at_cutoff > 0);
                if go {
                    if r.last == cutoff {
                        at_cutoff -= 1;
                    }
                    self.by_event.remove(&r.event);
                    evicted += 1;
                }
                !go
            });
        }
        self.by_subject.retain(|_, list| !list.is_empty());
        self.records -= evicted;
    }

    /// Heap bytes held, estimated like the index's own accounting.
    pub fn heap_bytes(&self) -> usize {
        let s = |b: &str| if b.is_empty() { 0 } else { malloc_size(b.len()) };
        let mut total = hashmap_bytes(self.by_subject.capacity(), std::mem::size_of::<(Subject, Vec<EventRec>)>())
            + hashmap_bytes(self.by_event.capacity(), std::mem::size_of::<(EventKey, Subject)>());
        for ((_, ns, name), list) in &self.by_subject {
            total += 2 * (s(ns) + s(name));
            total += vec_bytes(list.capacity(), std::mem::size_of::<EventRec>());
            for r in list {
                total += 2 * (s(&r.event.0) + s(&r.event.1));
                total += s(&r.uid) + s(&r.reason) + s(&r.message) + r.field_path.as_deref().map_or(0, s);
            }
        }
        total
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(name: &str, kind: Involved, obj: &str, reason: &str, last: Secs) -> EventInfo {
        EventInfo {
            namespace: "ns".into(),
            name: name.into(),
            kind,
            object_namespace: if kind == Involved::Node { String::new() } else { "ns".into() },
            object_name: obj.into(),
            object_uid: String::new(),
            field_path: None,
            reason: reason.into(),
            message: format!("{reason} at {last}"),
            count: 1,
            last,
        }
    }

    fn reasons(b: &EventBook, kind: Involved, ns: &str, obj: &str) -> Vec<String> {
        b.about(kind, ns, obj, None).map(|r| r.reason.to_string()).collect()
    }

    #[test]
    fn newest_first_one_per_reason_and_an_update_replaces() {
        let mut b = EventBook::new();
        b.apply(ev("e1", Involved::Pod, "p", "BackOff", 10), false);
        b.apply(ev("e2", Involved::Pod, "p", "Unhealthy", 20), false);
        b.apply(ev("e3", Involved::Pod, "p", "BackOff", 30), false);
        assert_eq!(reasons(&b, Involved::Pod, "ns", "p"), ["BackOff", "Unhealthy"]);
        assert_eq!(b.len(), 2);
        // e1 was replaced by e3: deleting it changes nothing.
        assert!(!b.delete(&ObjKey { namespace: "ns".into(), name: "e1".into() }));
        let mut e3 = ev("e3", Involved::Pod, "p", "BackOff", 40);
        e3.count = 7;
        b.apply(e3, false);
        let first = b.about(Involved::Pod, "ns", "p", None).next().unwrap();
        assert_eq!((first.count, first.last), (7, 40));
        assert_eq!(b.len(), 2);
        // An older event of a reason held newer is not kept.
        assert!(!b.apply(ev("e0", Involved::Pod, "p", "BackOff", 5), false));
        assert_eq!(b.len(), 2);
    }

    #[test]
    fn an_object_keeps_its_newest_reasons_only() {
        let mut b = EventBook::new();
        for (i, r) in ["A", "B", "C", "D", "E", "F"].iter().enumerate() {
            b.apply(ev(&format!("e{i}"), Involved::DaemonSet, "ds", r, i as Secs), false);
        }
        assert_eq!(reasons(&b, Involved::DaemonSet, "ns", "ds"), ["F", "E", "D", "C"]);
        assert_eq!(b.len(), PER_OBJECT);
        assert_eq!(b.by_event.len(), PER_OBJECT);
    }

    #[test]
    fn forget_and_sweep_remove_and_the_counts_stay_exact() {
        let mut b = EventBook::new();
        b.apply(ev("a", Involved::Node, "n1", "Rebooted", 1), false);
        b.apply(ev("b", Involved::Node, "n2", "Rebooted", 1), false);
        b.apply(ev("c", Involved::Pod, "p", "BackOff", 1), false);
        assert!(b.forget(Involved::Node, "", "n1"));
        assert_eq!(b.len(), 2);
        b.clear_marks();
        b.apply(ev("c", Involved::Pod, "p", "BackOff", 2), true);
        assert!(b.sweep());
        assert_eq!(reasons(&b, Involved::Node, "", "n2"), Vec::<String>::new());
        assert_eq!(reasons(&b, Involved::Pod, "ns", "p"), ["BackOff"]);
        assert_eq!((b.len(), b.by_event.len()), (1, 1));
    }

    #[test]
    fn an_event_about_an_earlier_object_of_the_same_name_is_not_shown() {
        let mut b = EventBook::new();
        let mut e = ev("a", Involved::DaemonSet, "ds", "FailedCreate", 1);
        e.object_uid = "old".into();
        b.apply(e, false);
        assert_eq!(b.about(Involved::DaemonSet, "ns", "ds", Some("new")).count(), 0);
        assert_eq!(b.about(Involved::DaemonSet, "ns", "ds", Some("old")).count(), 1);
    }

    #[test]
    fn a_storm_stays_under_the_cap() {
        let mut b = EventBook::new();
        for i in 0..(MAX_RECORDS * 3) {
            b.apply(ev(&format!("e{i}"), Involved::Pod, &format!("p{i}"), "BackOff", i as Secs), false);
        }
        assert!(b.len() <= MAX_RECORDS);
        assert_eq!(b.len(), b.by_event.len());
        // The newest survive.
        let last = MAX_RECORDS * 3 - 1;
        assert_eq!(reasons(&b, Involved::Pod, "ns", &format!("p{last}")), ["BackOff"]);
        assert!(reasons(&b, Involved::Pod, "ns", "p0").is_empty());
    }
}
