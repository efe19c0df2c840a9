//! A map from names to values kept as one sorted vector: what a config
//! section holds (its options, a list's item origins). A config has one
//! per host and most hold a handful of entries; a `BTreeMap`'s first node
//! alone is room for eleven, so on a 10,000-host config the maps were a
//! fifth of the memory, and building them a twentieth of a lint.

use std::borrow::Borrow;
use std::fmt;

/// Entries sorted by name, each name once; it reads like a `BTreeMap`
/// (`get`, `map["name"]`, `iter` in name order).
#[derive(Clone, PartialEq, Eq)]
pub struct SortedMap<V>(Vec<(String, V)>);

type Pair<V> = (String, V);

impl<V> SortedMap<V> {
    pub fn new() -> Self {
        SortedMap(Vec::new())
    }

    fn find(&self, key: &str) -> Result<usize, usize> {
        self.0.binary_search_by(|(k, _)| k.as_str().cmp(key))
    }

    pub fn get<Q: Borrow<str> + ?Sized>(&self, key: &Q) -> Option<&V> {
        self.find(key.borrow()).ok().map(|i| &self.0[i].1)
    }

    pub fn get_mut<Q: Borrow<str> + ?Sized>(&mut self, key: &Q) -> Option<&mut V> {
        self.find(key.borrow()).ok().map(|i| &mut self.0[i].1)
    }

    pub fn contains_key<Q: Borrow<str> + ?Sized>(&self, key: &Q) -> bool {
        self.find(key.borrow()).is_ok()
    }

    /// Sets `key`, returning the value it replaced.
    pub fn insert(&mut self, key: String, value: V) -> Option<V> {
        match self.find(&key) {
            Ok(i) => Some(std::mem::replace(&mut self.0[i].1, value)),
            Err(i) => {
                self.0.insert(i, (key, value));
                None
            }
        }
    }

    pub fn remove<Q: Borrow<str> + ?Sized>(&mut self, key: &Q) -> Option<V> {
        self.find(key.borrow()).ok().map(|i| self.0.remove(i).1)
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// In name order.
    pub fn iter(&self) -> Iter<'_, V> {
        self.0.iter().map(|(k, v)| (k, v))
    }

    pub fn keys(&self) -> impl DoubleEndedIterator<Item = &String> + ExactSizeIterator {
        self.0.iter().map(|(k, _)| k)
    }

    pub fn values(&self) -> impl DoubleEndedIterator<Item = &V> + ExactSizeIterator {
        self.0.iter().map(|(_, v)| v)
    }
}

/// The entries in name order, as `(&name, &value)`.
pub type Iter<'a, V> =
    std::iter::Map<std::slice::Iter<'a, Pair<V>>, fn(&'a Pair<V>) -> (&'a String, &'a V)>;

impl<V> Default for SortedMap<V> {
    fn default() -> Self {
        SortedMap::new()
    }
}

impl<V: fmt::Debug> fmt::Debug for SortedMap<V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

/// As a `BTreeMap` does, the last value given for a name is kept.
impl<V> FromIterator<(String, V)> for SortedMap<V> {
    fn from_iter<I: IntoIterator<Item = (String, V)>>(entries: I) -> Self {
        let mut v: Vec<Pair<V>> = entries.into_iter().collect();
        // Stable: of equal names, the later stays later.
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v.dedup_by(|later, kept| {
            let same = later.0 == kept.0;
            if same {
                std::mem::swap(later, kept);
            }
            same
        });
        v.shrink_to_fit();
        SortedMap(v)
    }
}

impl<'a, V> IntoIterator for &'a SortedMap<V> {
    type Item = (&'a String, &'a V);
    type IntoIter = Iter<'a, V>;
    fn into_iter(self) -> Iter<'a, V> {
        self.iter()
    }
}

impl<V> IntoIterator for SortedMap<V> {
    type Item = (String, V);
    type IntoIter = std::vec::IntoIter<(String, V)>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl<V> std::ops::Index<&str> for SortedMap<V> {
    type Output = V;
    fn index(&self, key: &str) -> &V {
        self.get(key)
            .unwrap_or_else(|| panic!("no entry {key:?} in the map"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    proptest! {
        /// Built from the same entries, by insertion or from an iterator,
        /// it holds what a BTreeMap holds, in the same order.
        #[test]
        fn reads_like_a_btreemap(
            entries in proptest::collection::vec(("[a-d]{0,3}", 0u8..10), 0..40),
            removed in proptest::collection::vec("[a-d]{0,3}", 0..5),
        ) {
            let mut want = BTreeMap::new();
            let mut got = SortedMap::new();
            for (k, v) in &entries {
                prop_assert_eq!(got.insert(k.clone(), *v), want.insert(k.clone(), *v));
            }
            let collected: SortedMap<u8> = entries.iter().cloned().collect();
            prop_assert_eq!(&collected, &got);
            for k in &removed {
                prop_assert_eq!(got.remove(k.as_str()), want.remove(k.as_str()));
            }
            prop_assert_eq!(got.len(), want.len());
            prop_assert!(got.iter().eq(want.iter()));
            for k in entries.iter().map(|(k, _)| k).chain(&removed) {
                prop_assert_eq!(got.get(k.as_str()), want.get(k.as_str()));
                prop_assert_eq!(got.contains_key(k.as_str()), want.contains_key(k.as_str()));
            }
            prop_assert_eq!(format!("{got:?}"), format!("{want:?}"));
        }
    }
}
