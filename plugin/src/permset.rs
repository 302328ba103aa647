//! A set of raw permissions as a bit set over their catalog index: a token's
//! grants are compared with an endpoint's requirement on every check, so this is
//! the hot data structure.

/// Index of a raw permission in the catalog.
pub type PermId = u16;

/// A fixed-width bit set of raw permissions.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PermSet {
    words: Vec<u64>,
}

impl PermSet {
    /// An empty set able to hold `capacity` permissions.
    pub fn with_capacity(capacity: usize) -> PermSet {
        PermSet { words: vec![0; capacity.div_ceil(64)] }
    }

    pub fn insert(&mut self, id: PermId) {
        let (word, bit) = (usize::from(id) / 64, usize::from(id) % 64);
        if word >= self.words.len() {
            self.words.resize(word + 1, 0);
        }
        self.words[word] |= 1 << bit;
    }

    pub fn contains(&self, id: PermId) -> bool {
        let (word, bit) = (usize::from(id) / 64, usize::from(id) % 64);
        self.words.get(word).is_some_and(|w| w & (1 << bit) != 0)
    }

    pub fn union_with(&mut self, other: &PermSet) {
        if other.words.len() > self.words.len() {
            self.words.resize(other.words.len(), 0);
        }
        for (mine, theirs) in self.words.iter_mut().zip(&other.words) {
            *mine |= theirs;
        }
    }

    /// Whether every id in `ids` is in the set.
    pub fn contains_all(&self, ids: &[PermId]) -> bool {
        ids.iter().all(|id| self.contains(*id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insert_contains_and_union() {
        let mut a = PermSet::with_capacity(10);
        a.insert(3);
        a.insert(700);
        assert!(a.contains(3) && a.contains(700) && !a.contains(4));
        let mut b = PermSet::default();
        b.insert(4);
        b.union_with(&a);
        assert!(b.contains_all(&[3, 4, 700]));
        assert!(!b.contains_all(&[3, 5]));
    }
}
