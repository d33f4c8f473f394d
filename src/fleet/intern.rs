//! String interning for the index (namespaces, node names, DaemonSet names, revision hashes,
//! reasons). 150,000 pods share a few hundred distinct strings; each pod holds 4-byte [`Sym`]s
//! instead of `String`s, and comparing two interned strings is comparing two integers.
//!
//! Symbols are reference counted: every holder calls [`Interner::intern`] once and
//! [`Interner::release`] once, and a string nobody holds is freed (its slot is reused), so a
//! long-running session with node churn does not grow without bound.
//!
//! Also home of [`FxBuild`], the small fast hasher the index's maps use (keys are our own
//! integers and short strings, not attacker-chosen, so SipHash's DoS resistance buys nothing).

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// The Fx hash (as in rustc): one multiply and rotate per word.
#[derive(Default, Clone, Copy)]
pub struct FxHasher {
    hash: u64,
}

const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl FxHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        self.hash = (self.hash.rotate_left(5) ^ word).wrapping_mul(SEED);
    }
}

impl Hasher for FxHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.add(u64::from_le_bytes(w));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut w = [0u8; 8];
            w[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(w) ^ ((rest.len() as u64) << 56));
        }
    }
    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }
    #[inline]
    fn write_u32(&mut self, i: u32) {
        self.add(u64::from(i));
    }
    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }
    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }
    #[inline]
    fn finish(&self) -> u64 {
        self.hash
    }
}

pub type FxBuild = BuildHasherDefault<FxHasher>;
pub type FxHashMap<K, V> = HashMap<K, V, FxBuild>;

/// Hash of a string with [`FxHasher`].
pub fn fx_hash_str(parts: &[&str]) -> u64 {
    let mut h = FxHasher::default();
    for p in parts {
        h.write(p.as_bytes());
        // A separator so ("ab","c") and ("a","bc") differ.
        h.write_u8(0xff);
    }
    h.finish()
}

/// An interned string. [`Sym::NONE`] stands for "absent" in compact records.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Sym(pub u32);

impl Sym {
    pub const NONE: Sym = Sym(u32::MAX);
    pub fn is_none(self) -> bool {
        self == Sym::NONE
    }
    pub fn is_some(self) -> bool {
        self != Sym::NONE
    }
}

#[derive(Default)]
pub struct Interner {
    map: FxHashMap<Box<str>, u32>,
    /// Slot → (string, holders). A freed slot has an empty string and 0 holders.
    slots: Vec<(Box<str>, u32)>,
    free: Vec<u32>,
}

impl Interner {
    pub fn new() -> Interner {
        Interner::default()
    }

    /// Intern `s` and take one reference to it. O(len) hashing, O(1) expected.
    pub fn intern(&mut self, s: &str) -> Sym {
        if let Some(&id) = self.map.get(s) {
            self.slots[id as usize].1 += 1;
            return Sym(id);
        }
        let boxed: Box<str> = s.into();
        let id = match self.free.pop() {
            Some(id) => {
                self.slots[id as usize] = (boxed.clone(), 1);
                id
            }
            None => {
                let id = u32::try_from(self.slots.len()).unwrap_or(u32::MAX - 1);
                self.slots.push((boxed.clone(), 1));
                id
            }
        };
        self.map.insert(boxed, id);
        Sym(id)
    }

    /// Intern an optional string; `None` and the empty string are [`Sym::NONE`].
    pub fn intern_opt(&mut self, s: Option<&str>) -> Sym {
        match s {
            Some(s) if !s.is_empty() => self.intern(s),
            _ => Sym::NONE,
        }
    }

    /// Take one more reference to an interned symbol. O(1).
    pub fn retain(&mut self, sym: Sym) {
        if let Some(slot) = self.slots.get_mut(sym.0 as usize) {
            slot.1 += 1;
        }
    }

    /// Drop one reference; the string is freed when nobody holds it. O(1) expected.
    /// Releasing [`Sym::NONE`] is a no-op.
    pub fn release(&mut self, sym: Sym) {
        let Some(slot) = self.slots.get_mut(sym.0 as usize) else { return };
        if slot.1 == 0 {
            return;
        }
        slot.1 -= 1;
        if slot.1 == 0 {
            let s = std::mem::take(&mut slot.0);
            self.map.remove(&s);
            self.free.push(sym.0);
        }
    }

    /// Replace the symbol in `slot` by `s` when they differ (the common case in a modify event
    /// is that they are equal, which costs one string compare and nothing else).
    pub fn update(&mut self, slot: &mut Sym, s: Option<&str>) {
        let s = s.filter(|s| !s.is_empty());
        if self.resolve_opt(*slot) == s {
            return;
        }
        let new = self.intern_opt(s);
        self.release(*slot);
        *slot = new;
    }

    /// The symbol of `s` if interned, without taking a reference. O(1) expected.
    pub fn get(&self, s: &str) -> Option<Sym> {
        self.map.get(s).map(|&id| Sym(id))
    }

    /// The string of a symbol ("" for [`Sym::NONE`]). O(1).
    pub fn resolve(&self, sym: Sym) -> &str {
        self.slots.get(sym.0 as usize).map_or("", |s| &s.0)
    }

    pub fn resolve_opt(&self, sym: Sym) -> Option<&str> {
        if sym.is_none() { None } else { Some(self.resolve(sym)) }
    }

    /// Live interned strings.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Holders of a symbol (for consistency checks).
    pub fn refcount(&self, sym: Sym) -> u32 {
        self.slots.get(sym.0 as usize).map_or(0, |s| s.1)
    }

    pub fn heap_bytes(&self) -> usize {
        let strings: usize = self.slots.iter().map(|(s, _)| 2 * malloc_size(s.len())).sum();
        hashmap_bytes(self.map.capacity(), std::mem::size_of::<(Box<str>, u32)>())
            + vec_bytes(self.slots.capacity(), std::mem::size_of::<(Box<str>, u32)>())
            + vec_bytes(self.free.capacity(), 4)
            + strings
    }
}

/// What glibc malloc really takes for a request of `n` bytes: 8 bytes of header, 16-byte
/// granularity, 32 bytes at least. 0 bytes allocate nothing in Rust.
pub fn malloc_size(n: usize) -> usize {
    if n == 0 { 0 } else { ((n + 8 + 15) & !15).max(32) }
}

/// Heap bytes of a `Vec` with this capacity and element size.
pub fn vec_bytes(capacity: usize, elem: usize) -> usize {
    malloc_size(capacity * elem)
}

/// Heap bytes of a std `HashMap` (hashbrown) with this usable capacity: buckets are the next
/// power of two above capacity × 8/7, each holding the entry and one control byte.
pub fn hashmap_bytes(capacity: usize, entry: usize) -> usize {
    if capacity == 0 {
        return 0;
    }
    let buckets = (capacity * 8 / 7 + 1).next_power_of_two().max(4);
    malloc_size(buckets * (entry + 1) + 16)
}

/// Heap bytes of a `BTreeMap` with `len` entries of `entry` bytes (key + value): leaves hold up
/// to 11 entries and are on average about two-thirds full; internal nodes add 12 edges each.
pub fn btree_bytes(len: usize, entry: usize) -> usize {
    if len == 0 {
        return 0;
    }
    let leaf = malloc_size(11 * entry + 16);
    let leaves = if len <= 11 { 1 } else { len.div_ceil(8) };
    let internals = if leaves > 1 { leaves.div_ceil(8) } else { 0 };
    leaves * leaf + internals * malloc_size(11 * entry + 16 + 12 * 8)
}

/// Heap bytes of a `String`.
pub fn string_bytes(s: &str) -> usize {
    malloc_size(s.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interned_strings_are_shared_and_freed_when_released() {
        let mut i = Interner::new();
        let a = i.intern("kube-system");
        let b = i.intern("kube-system");
        assert_eq!(a, b);
        assert_eq!(i.refcount(a), 2);
        i.release(a);
        assert_eq!(i.resolve(b), "kube-system");
        i.release(b);
        assert!(i.get("kube-system").is_none());
        // The slot is reused.
        let c = i.intern("monitoring");
        assert_eq!(c, a);
        assert_eq!(i.resolve(c), "monitoring");
    }

    #[test]
    fn update_keeps_the_symbol_when_the_string_is_unchanged() {
        let mut i = Interner::new();
        let mut s = i.intern("Running");
        let before = s;
        i.update(&mut s, Some("Running"));
        assert_eq!(s, before);
        assert_eq!(i.refcount(s), 1);
        i.update(&mut s, Some("CrashLoopBackOff"));
        assert_eq!(i.resolve(s), "CrashLoopBackOff");
        assert!(i.get("Running").is_none());
        i.update(&mut s, None);
        assert!(s.is_none());
        assert!(i.is_empty());
    }
}
