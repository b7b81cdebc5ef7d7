//! [`Fields`]: field values by wire name, held compactly.
//!
//! A sync of 100,000 users holds one of these maps per desired mailbox and
//! contact (and per control-panel object read, and per create operation).
//! They hold four to eight entries; a `BTreeMap` allocates a node of eleven
//! slots (about 540 bytes) for them. This map keeps its entries in a vector
//! sorted by name, sized to what it holds, with the `BTreeMap` methods the
//! engine uses and the same order, comparison and JSON form (an object
//! with its keys in order), so the anchors' state hashes do not change.

use std::borrow::{Borrow, Cow};
use std::fmt;

use serde::de::{MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A field's wire name: borrowed for the API's fixed names, owned when
/// read back from stored JSON.
pub type FieldName = Cow<'static, str>;

/// Field values to write, by wire field name (`displayName`, `title`, ...),
/// in name order. An empty string clears a field.
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct Fields(Vec<(FieldName, String)>);

impl Fields {
    pub fn new() -> Fields {
        Fields(Vec::new())
    }

    fn find(&self, k: &str) -> Result<usize, usize> {
        self.0.binary_search_by(|(n, _)| n.as_ref().cmp(k))
    }

    /// Sets a field, returning its value before.
    pub fn insert(&mut self, k: FieldName, v: String) -> Option<String> {
        match self.find(&k) {
            Ok(i) => Some(std::mem::replace(&mut self.0[i].1, v)),
            Err(i) => {
                self.0.insert(i, (k, v));
                None
            }
        }
    }

    pub fn get<Q: Borrow<str> + ?Sized>(&self, k: &Q) -> Option<&String> {
        self.find(k.borrow()).ok().map(|i| &self.0[i].1)
    }

    pub fn contains_key<Q: Borrow<str> + ?Sized>(&self, k: &Q) -> bool {
        self.find(k.borrow()).is_ok()
    }

    pub fn remove<Q: Borrow<str> + ?Sized>(&mut self, k: &Q) -> Option<String> {
        self.find(k.borrow()).ok().map(|i| self.0.remove(i).1)
    }

    /// The value of `k`, set to `default()` first when absent.
    pub fn get_or_insert_with(
        &mut self,
        k: FieldName,
        default: impl FnOnce() -> String,
    ) -> &mut String {
        let i = match self.find(&k) {
            Ok(i) => i,
            Err(i) => {
                self.0.insert(i, (k, default()));
                i
            }
        };
        &mut self.0[i].1
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The entries, in name order.
    pub fn iter(&self) -> impl Iterator<Item = (&FieldName, &String)> {
        self.0.iter().map(|(k, v)| (k, v))
    }

    /// The names, in order.
    pub fn keys(&self) -> impl Iterator<Item = &FieldName> {
        self.0.iter().map(|(k, _)| k)
    }

    /// The names, in order, owned.
    pub fn into_keys(self) -> impl Iterator<Item = FieldName> {
        self.0.into_iter().map(|(k, _)| k)
    }
}

impl fmt::Debug for Fields {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl std::ops::Index<&str> for Fields {
    type Output = String;
    fn index(&self, k: &str) -> &String {
        self.get(k).expect("no such field")
    }
}

impl FromIterator<(FieldName, String)> for Fields {
    fn from_iter<I: IntoIterator<Item = (FieldName, String)>>(it: I) -> Fields {
        let mut f = Fields::new();
        for (k, v) in it {
            f.insert(k, v);
        }
        f.0.shrink_to_fit();
        f
    }
}

impl<const N: usize> From<[(FieldName, String); N]> for Fields {
    fn from(a: [(FieldName, String); N]) -> Fields {
        a.into_iter().collect()
    }
}

impl IntoIterator for Fields {
    type Item = (FieldName, String);
    type IntoIter = std::vec::IntoIter<(FieldName, String)>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl Serialize for Fields {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            m.serialize_entry(k.as_ref(), v)?;
        }
        m.end()
    }
}

impl<'de> Deserialize<'de> for Fields {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Fields, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Fields;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a map of field names to values")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<Fields, A::Error> {
                let mut f = Fields::new();
                while let Some((k, v)) = a.next_entry::<String, String>()? {
                    f.insert(Cow::Owned(k), v);
                }
                f.0.shrink_to_fit();
                Ok(f)
            }
        }
        d.deserialize_map(V)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    /// Every operation, table: the same sequence of inserts and removals on
    /// this map and on a `BTreeMap` gives the same entries, the same
    /// returns and the same JSON.
    #[test]
    fn behaves_as_the_btreemap() {
        /// A field set (`Some`) or removed (`None`).
        type Step = (&'static str, Option<&'static str>);
        let ops: &[(&str, &[Step])] = &[
            ("empty", &[]),
            ("one", &[("displayName", Some("A"))]),
            (
                "out of order",
                &[
                    ("title", Some("T")),
                    ("displayName", Some("D")),
                    ("firstName", Some("F")),
                ],
            ),
            ("replace", &[("title", Some("T")), ("title", Some("U"))]),
            (
                "remove",
                &[("a", Some("1")), ("b", Some("2")), ("a", None), ("c", None)],
            ),
            ("empty value", &[("office", Some(""))]),
        ];
        for (name, steps) in ops {
            let mut f = Fields::new();
            let mut b: BTreeMap<FieldName, String> = BTreeMap::new();
            for (k, v) in *steps {
                match v {
                    Some(v) => assert_eq!(
                        f.insert(Cow::Owned(k.to_string()), v.to_string()),
                        b.insert(Cow::Owned(k.to_string()), v.to_string()),
                        "{name}"
                    ),
                    None => assert_eq!(f.remove(*k), b.remove(*k), "{name}"),
                }
            }
            let got: Vec<(&FieldName, &String)> = f.iter().collect();
            let want: Vec<(&FieldName, &String)> = b.iter().collect();
            assert_eq!(got, want, "{name}");
            assert_eq!(f.len(), b.len(), "{name}");
            assert_eq!(f.is_empty(), b.is_empty(), "{name}");
            for k in ["a", "title", "displayName", "zzz"] {
                assert_eq!(f.get(k), b.get(k), "{name} {k}");
                assert_eq!(f.contains_key(k), b.contains_key(k), "{name} {k}");
            }
            let json = serde_json::to_string(&f).unwrap();
            assert_eq!(json, serde_json::to_string(&b).unwrap(), "{name}");
            let back: Fields = serde_json::from_str(&json).unwrap();
            assert_eq!(back, f, "{name}");
            let from: Fields = b.clone().into_iter().collect();
            assert_eq!(from, f, "{name}");
            assert_eq!(
                f.clone().into_keys().collect::<Vec<_>>(),
                b.into_keys().collect::<Vec<_>>(),
                "{name}"
            );
        }
    }

    #[test]
    fn get_or_insert_with_keeps_a_value_present() {
        let mut f: Fields = [("size".into(), "1".to_string())].into();
        assert_eq!(f.get_or_insert_with("size".into(), || "2".into()), "1");
        assert_eq!(f.get_or_insert_with("password".into(), || "p".into()), "p");
        assert_eq!(
            f.keys().map(AsRef::as_ref).collect::<Vec<&str>>(),
            ["password", "size"]
        );
    }
}
