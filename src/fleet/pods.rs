//! Compact storage of daemon pods for the index: a chunked slab of fixed-size records, the pod
//! names in one string arena, and a hash map from (namespace, name) to the slab slot.
//!
//! Why this shape: the index must hold 150,000 pods in well under 300 bytes each. A record here
//! holds interned [`Sym`]s instead of strings; names (unique per pod, so not worth interning)
//! live back to back in one arena instead of 150,000 separate allocations; the key map stores
//! only a 64-bit hash and a slot (collisions are chained through the records). The slab grows in
//! chunks of [`CHUNK`] records so growth never copies and never over-allocates by more than one
//! chunk. Owns no Kubernetes semantics: the index decides what the fields mean.

use super::intern::{FxHashMap, Sym, fx_hash_str, hashmap_bytes, malloc_size, vec_bytes};
use super::model::Phase;
use super::state::CellState;

pub(crate) const NONE: u32 = u32::MAX;
/// Records per slab chunk.
const CHUNK: usize = 1024;

pub(crate) const F_BOUND: u8 = 1;
pub(crate) const F_DELETING: u8 = 2;
pub(crate) const F_READY: u8 = 4;
/// Listed again during the current re-list (mark-and-sweep, see `Index`).
pub(crate) const F_SEEN: u8 = 8;
/// Waiting in the index's per-node pool for its node to appear.
pub(crate) const F_WAIT_NODE: u8 = 16;
/// Waiting in the index's per-DaemonSet pool for its DaemonSet to appear.
pub(crate) const F_WAIT_DS: u8 = 32;
pub(crate) const F_LIVE: u8 = 64;

/// One pod, 88 bytes. Optional integers use `i64::MIN` for "absent".
#[derive(Clone, Debug)]
pub(crate) struct PodRec {
    pub created: i64,
    pub last_restart: i64,
    pub template_generation: i64,
    pub ns: Sym,
    /// Name of the controlling DaemonSet.
    pub owner: Sym,
    /// Node name (bound or from the affinity term).
    pub node: Sym,
    pub hash: Sym,
    pub reason: Sym,
    pub last_term: Sym,
    /// [`crate::fleet::model::PodInfo::detail`].
    pub detail: Sym,
    pub name_off: u32,
    pub restarts: u32,
    /// Next pod in the same cell, or [`NONE`].
    pub next_in_cell: u32,
    /// Next pod with the same key hash; for a free slot, the next free slot.
    pub key_next: u32,
    /// The cell the pod is attached to (DaemonSet slot, node slot), or [`NONE`].
    pub ds: u32,
    pub node_id: u32,
    pub containers_ready: u16,
    pub containers_total: u16,
    pub name_len: u16,
    pub phase: Phase,
    pub flags: u8,
    /// The pod's own state ([`crate::fleet::state::pod_state`]) while attached.
    pub state: CellState,
}

impl PodRec {
    fn empty() -> PodRec {
        PodRec {
            created: 0,
            last_restart: i64::MIN,
            template_generation: i64::MIN,
            ns: Sym::NONE,
            owner: Sym::NONE,
            node: Sym::NONE,
            hash: Sym::NONE,
            reason: Sym::NONE,
            last_term: Sym::NONE,
            detail: Sym::NONE,
            name_off: 0,
            restarts: 0,
            next_in_cell: NONE,
            key_next: NONE,
            ds: NONE,
            node_id: NONE,
            containers_ready: 0,
            containers_total: 0,
            name_len: 0,
            phase: Phase::Pending,
            flags: 0,
            state: CellState::Pending,
        }
    }
    pub fn has(&self, flag: u8) -> bool {
        self.flags & flag != 0
    }
    pub fn set(&mut self, flag: u8, on: bool) {
        if on {
            self.flags |= flag;
        } else {
            self.flags &= !flag;
        }
    }
    pub fn attached(&self) -> bool {
        self.ds != NONE
    }
}

pub(crate) fn opt_i64(v: i64) -> Option<i64> {
    if v == i64::MIN { None } else { Some(v) }
}

#[derive(Default)]
pub(crate) struct PodStore {
    chunks: Vec<Vec<PodRec>>,
    slots: u32,
    free_head: u32,
    live: u32,
    /// hash(namespace, name), truncated to 32 bits → first slot with that hash. Collisions
    /// (a few among 150,000 keys) are chained through `key_next`, so they cost a compare.
    keys: FxHashMap<u32, u32>,
    names: String,
    names_garbage: usize,
}

impl PodStore {
    pub fn new() -> PodStore {
        PodStore { free_head: NONE, ..PodStore::default() }
    }

    pub fn len(&self) -> u32 {
        self.live
    }

    /// Number of slots ever allocated (live or free); slot ids are below this.
    pub fn slots(&self) -> u32 {
        self.slots
    }

    #[inline]
    pub fn get(&self, i: u32) -> &PodRec {
        &self.chunks[i as usize / CHUNK][i as usize % CHUNK]
    }

    #[inline]
    pub fn get_mut(&mut self, i: u32) -> &mut PodRec {
        &mut self.chunks[i as usize / CHUNK][i as usize % CHUNK]
    }

    pub fn name(&self, i: u32) -> &str {
        let p = self.get(i);
        let start = p.name_off as usize;
        self.names.get(start..start + usize::from(p.name_len)).unwrap_or("")
    }

    /// The slot of the pod (namespace `ns_str`, `name`). O(1) expected.
    pub fn find(&self, ns: Sym, ns_str: &str, name: &str) -> Option<u32> {
        let mut i = *self.keys.get(&key_hash(ns_str, name))?;
        while i != NONE {
            if self.get(i).ns == ns && self.name(i) == name {
                return Some(i);
            }
            i = self.get(i).key_next;
        }
        None
    }

    /// A new live record for (ns, name); the caller fills in the rest. O(1) amortized.
    pub fn insert(&mut self, ns: Sym, ns_str: &str, name: &str) -> u32 {
        let i = if self.free_head != NONE {
            let i = self.free_head;
            self.free_head = self.get(i).key_next;
            i
        } else {
            if (self.slots as usize).is_multiple_of(CHUNK) {
                self.chunks.push(Vec::with_capacity(CHUNK));
            }
            let i = self.slots;
            self.slots += 1;
            if let Some(chunk) = self.chunks.last_mut() {
                chunk.push(PodRec::empty());
            }
            i
        };
        // Names longer than a DNS subdomain (253) cannot exist; clamp instead of failing.
        let name = truncate(name, usize::from(u16::MAX));
        let off = u32::try_from(self.names.len()).unwrap_or(u32::MAX);
        if self.names.capacity() - self.names.len() < name.len() {
            // Grow by a quarter rather than doubling: 150,000 names are a few MB and the
            // doubling slack would be a visible share of the per-pod budget.
            self.names.reserve_exact((self.names.len() / 4).max(name.len()).max(4096));
        }
        self.names.push_str(name);
        let h = key_hash(ns_str, name);
        let head = self.keys.insert(h, i).unwrap_or(NONE);
        let rec = self.get_mut(i);
        *rec = PodRec::empty();
        rec.ns = ns;
        rec.name_off = off;
        rec.name_len = name.len() as u16;
        rec.key_next = head;
        rec.flags = F_LIVE;
        self.live += 1;
        i
    }

    /// Free a record: unlink it from the key map and give its slot back. The caller has already
    /// detached it and released its symbols. O(1) expected.
    pub fn remove(&mut self, i: u32, ns_str: &str) {
        let h = key_hash(ns_str, self.name(i));
        let next = self.get(i).key_next;
        if self.keys.get(&h) == Some(&i) {
            if next == NONE {
                self.keys.remove(&h);
            } else {
                self.keys.insert(h, next);
            }
        } else if let Some(&head) = self.keys.get(&h) {
            let mut j = head;
            while j != NONE {
                if self.get(j).key_next == i {
                    self.get_mut(j).key_next = next;
                    break;
                }
                j = self.get(j).key_next;
            }
        }
        self.names_garbage += usize::from(self.get(i).name_len);
        let free = self.free_head;
        let rec = self.get_mut(i);
        *rec = PodRec::empty();
        rec.key_next = free;
        self.free_head = i;
        self.live -= 1;
        self.maybe_compact_names();
    }

    /// Rewrite the name arena once more than half of it is garbage: O(live names), so O(1)
    /// amortized per delete.
    fn maybe_compact_names(&mut self) {
        if self.names_garbage < 4096 || self.names_garbage * 2 < self.names.len() {
            return;
        }
        let live = self.names.len() - self.names_garbage;
        let mut fresh = String::with_capacity(live + live / 8);
        for i in 0..self.slots {
            if !self.get(i).has(F_LIVE) {
                continue;
            }
            let off = u32::try_from(fresh.len()).unwrap_or(u32::MAX);
            fresh.push_str(self.name(i));
            self.get_mut(i).name_off = off;
        }
        self.names = fresh;
        self.names_garbage = 0;
    }

    /// Heap bytes of (records, name arena, key map).
    pub fn heap_parts(&self) -> (usize, usize, usize) {
        (
            self.chunks.iter().map(|c| vec_bytes(c.capacity(), std::mem::size_of::<PodRec>())).sum::<usize>()
                + vec_bytes(self.chunks.capacity(), std::mem::size_of::<Vec<PodRec>>()),
            malloc_size(self.names.capacity()),
            hashmap_bytes(self.keys.capacity(), std::mem::size_of::<(u32, u32)>()),
        )
    }
}

fn key_hash(ns: &str, name: &str) -> u32 {
    let h = fx_hash_str(&[ns, name]);
    (h ^ (h >> 32)) as u32
}

fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}
