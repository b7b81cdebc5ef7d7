//! [`AddressSet`]: a small set of addresses, held compactly.
//!
//! A sync of 100,000 users holds one of these per desired mailbox (its
//! alternate addresses) and per control-panel mailbox read in detail. They
//! hold two or three addresses; a `BTreeSet` allocates a node of eleven
//! slots (368 bytes, measured with heaptrack: 3.68 MB for 10,000 users) for
//! them. This set keeps its addresses in a vector sorted as a `BTreeSet`
//! orders them (case-insensitively), sized to what it holds, with the
//! `BTreeSet` methods the engine uses and the same order, comparison and
//! JSON form (an array, in order), so the anchors' state hashes do not
//! change.

use std::fmt;

use dirsync_model::EmailAddress;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Addresses in order, each once (compared case-insensitively, as
/// [`EmailAddress`] is).
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct AddressSet(Vec<EmailAddress>);

impl AddressSet {
    pub fn new() -> AddressSet {
        AddressSet(Vec::new())
    }

    /// Adds `a` unless an equal address is there (which is then kept, as
    /// `BTreeSet::insert` keeps it); true when it was added.
    pub fn insert(&mut self, a: EmailAddress) -> bool {
        match self.0.binary_search(&a) {
            Ok(_) => false,
            Err(i) => {
                self.0.reserve_exact(1);
                self.0.insert(i, a);
                true
            }
        }
    }

    pub fn contains(&self, a: &EmailAddress) -> bool {
        self.0.binary_search(a).is_ok()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The addresses in order.
    pub fn iter(&self) -> std::slice::Iter<'_, EmailAddress> {
        self.0.iter()
    }

    /// The addresses of `self` that `other` lacks, in order (as
    /// `BTreeSet::difference`).
    pub fn difference<'s>(
        &'s self,
        other: &'s AddressSet,
    ) -> impl Iterator<Item = &'s EmailAddress> + 's {
        self.0.iter().filter(move |a| !other.contains(a))
    }
}

impl FromIterator<EmailAddress> for AddressSet {
    fn from_iter<I: IntoIterator<Item = EmailAddress>>(it: I) -> Self {
        let mut v: Vec<EmailAddress> = it.into_iter().collect();
        // Stable, and of equal addresses the last stays, as collecting
        // into a `BTreeSet` keeps it.
        v.sort();
        let mut out: Vec<EmailAddress> = Vec::with_capacity(v.len());
        for a in v {
            match out.last_mut() {
                Some(last) if *last == a => *last = a,
                _ => out.push(a),
            }
        }
        out.shrink_to_fit();
        AddressSet(out)
    }
}

impl<'s> IntoIterator for &'s AddressSet {
    type Item = &'s EmailAddress;
    type IntoIter = std::slice::Iter<'s, EmailAddress>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl fmt::Debug for AddressSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.0.iter()).finish()
    }
}

impl Serialize for AddressSet {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

impl<'de> Deserialize<'de> for AddressSet {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Vec::<EmailAddress>::deserialize(d)?.into_iter().collect())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    fn a(s: &str) -> EmailAddress {
        EmailAddress::parse(s).unwrap()
    }

    /// Table: the set behaves as the `BTreeSet` it replaces (order, which
    /// of equal addresses is kept by `insert` and by `collect`,
    /// difference, JSON form).
    #[test]
    fn behaves_as_a_btreeset() {
        let cases: Vec<(&str, Vec<&str>, Vec<&str>)> = vec![
            ("empty", vec![], vec![]),
            ("one", vec!["b@example.com"], vec!["a@example.com"]),
            (
                "order and case: the first spelling stays",
                vec!["c@example.com", "B@example.com", "b@example.com", "a@x.org"],
                vec!["b@EXAMPLE.com", "d@example.com"],
            ),
            (
                "difference both ways",
                vec!["a@example.com", "b@example.com", "c@example.com"],
                vec!["c@example.com", "a@example.com", "z@example.com"],
            ),
        ];
        for (name, xs, ys) in cases {
            let mut ours = AddressSet::new();
            let mut theirs = BTreeSet::new();
            for x in &xs {
                assert_eq!(ours.insert(a(x)), theirs.insert(a(x)), "{name}: insert {x}");
            }
            let spell = |it: Vec<&EmailAddress>| -> Vec<String> {
                it.into_iter().map(|x| x.as_str().to_string()).collect()
            };
            assert_eq!(
                spell(ours.iter().collect()),
                spell(theirs.iter().collect()),
                "{name}: order"
            );
            assert_eq!(ours.len(), theirs.len(), "{name}");
            let collected: AddressSet = xs.iter().map(|x| a(x)).collect();
            let collected_b: BTreeSet<EmailAddress> = xs.iter().map(|x| a(x)).collect();
            assert_eq!(
                spell(collected.iter().collect()),
                spell(collected_b.iter().collect()),
                "{name}: collect"
            );
            assert_eq!(
                serde_json::to_string(&ours).unwrap(),
                serde_json::to_string(&theirs).unwrap(),
                "{name}: JSON"
            );
            assert_eq!(format!("{ours:?}"), format!("{theirs:?}"), "{name}: Debug");
            let back: AddressSet =
                serde_json::from_str(&serde_json::to_string(&ours).unwrap()).unwrap();
            assert_eq!(back, ours, "{name}: JSON round trip");
            let other: AddressSet = ys.iter().map(|y| a(y)).collect();
            let other_b: BTreeSet<EmailAddress> = ys.iter().map(|y| a(y)).collect();
            assert_eq!(
                spell(ours.difference(&other).collect()),
                spell(theirs.difference(&other_b).collect()),
                "{name}: difference"
            );
            assert_eq!(
                spell(other.difference(&ours).collect()),
                spell(other_b.difference(&theirs).collect()),
                "{name}: difference, reversed"
            );
            for y in &ys {
                assert_eq!(ours.contains(&a(y)), theirs.contains(&a(y)), "{name}: {y}");
            }
        }
    }
}
