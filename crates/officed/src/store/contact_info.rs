//! The stored `contact_info` column of mailboxes and contacts: the shared
//! contact fields (passive contact fields in their `extra`) and, under
//! `_passive`, the passive top-level fields (documented settings officed
//! keeps without acting on them). Rows written before passive fields
//! existed have no `_passive`. Pure: no I/O.

use cloudoffice_api::types::ContactInfo;
use cloudoffice_api::Passive;

use crate::db::internal;
use crate::error::Result;

/// Passive top-level fields, as stored.
pub type PassiveFields = serde_json::Map<String, serde_json::Value>;

const PASSIVE_KEY: &str = "_passive";

/// Reads the column into the contact fields and the passive fields.
pub fn stored_split(json: &str) -> Result<(ContactInfo, PassiveFields)> {
    let mut v: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(json).map_err(|e| internal(format!("contact_info: {e}")))?;
    let passive = match v.remove(PASSIVE_KEY) {
        Some(serde_json::Value::Object(m)) => m,
        _ => Default::default(),
    };
    let info = serde_json::from_value(serde_json::Value::Object(v))
        .map_err(|e| internal(format!("contact_info: {e}")))?;
    Ok((info, passive))
}

/// Writes the contact fields and the passive fields as the column.
pub fn stored_join(info: &ContactInfo, passive: &PassiveFields) -> Result<String> {
    let mut v = match serde_json::to_value(info).map_err(|e| internal(e.to_string()))? {
        serde_json::Value::Object(m) => m,
        _ => Default::default(),
    };
    if !passive.is_empty() {
        v.insert(
            PASSIVE_KEY.into(),
            serde_json::Value::Object(passive.clone()),
        );
    }
    serde_json::to_string(&v).map_err(|e| internal(e.to_string()))
}

/// Applies passive fields of an add or edit to the stored ones (an empty
/// string clears a field).
pub fn apply_passive(info: &mut ContactInfo, top: &mut PassiveFields, p: &Passive) {
    for (dst, src) in [(&mut info.extra, &p.contact), (top, &p.top)] {
        for (k, v) in src {
            if v.as_str() == Some("") {
                dst.remove(k);
            } else {
                dst.insert(k.clone(), v.clone());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn columns_read_back_as_written() {
        // (stored column, passive fields read back)
        let cases: &[(&str, serde_json::Value)] = &[
            ("{}", json!({})),
            (r#"{"city":"Bern"}"#, json!({})),
            (
                r#"{"city":"Bern","_passive":{"timeZone":"UTC"}}"#,
                json!({"timeZone": "UTC"}),
            ),
        ];
        for (column, want) in cases {
            let (info, passive) = stored_split(column).unwrap();
            assert_eq!(
                serde_json::Value::Object(passive.clone()),
                *want,
                "{column}"
            );
            let again = stored_join(&info, &passive).unwrap();
            let (info2, passive2) = stored_split(&again).unwrap();
            assert_eq!(info2, info, "{column}");
            assert_eq!(passive2, passive, "{column}");
        }
        assert!(stored_split("not json").is_err());
    }

    #[test]
    fn an_empty_passive_value_clears_the_field() {
        // (stored top-level fields, edit, result)
        let cases: &[(serde_json::Value, serde_json::Value, serde_json::Value)] = &[
            (json!({}), json!({"a": "1"}), json!({"a": "1"})),
            (json!({"a": "1"}), json!({"a": ""}), json!({})),
            (
                json!({"a": "1"}),
                json!({"b": "2"}),
                json!({"a": "1", "b": "2"}),
            ),
            (json!({"a": "1"}), json!({"a": "3"}), json!({"a": "3"})),
        ];
        for (stored, edit, want) in cases {
            let mut info = ContactInfo::default();
            let mut top = stored.as_object().unwrap().clone();
            let p = Passive {
                top: edit.as_object().unwrap().clone(),
                ..Default::default()
            };
            apply_passive(&mut info, &mut top, &p);
            assert_eq!(serde_json::Value::Object(top), *want, "{stored} + {edit}");
        }
    }
}
