//! Lenient field decoders for request bodies.
//!
//! Real clients of the Cloud Office API send booleans as `true`/`false`
//! and as .NET's `True`/`False`, and numbers as strings (every value of a
//! form is a string; JSON clients often quote numbers too). These decoders
//! accept all of those, so one form type serves form-encoded and JSON
//! bodies alike. Anything else is refused with a message naming what was
//! expected (the server turns it into a `validationFault` naming the field).

use std::fmt;

use serde::de::{self, Deserializer, Visitor};

/// Parses a boolean the way clients write it: `true`/`false` in any case.
pub fn parse_bool(s: &str) -> Option<bool> {
    let t = s.trim();
    if t.eq_ignore_ascii_case("true") {
        Some(true)
    } else if t.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}

struct BoolV;
impl<'de> Visitor<'de> for BoolV {
    type Value = Option<bool>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("true or false")
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        Ok(Some(v))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        parse_bool(v)
            .map(Some)
            .ok_or_else(|| E::invalid_value(de::Unexpected::Str(v), &self))
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(BoolV)
    }
}

/// `Option<bool>` from a boolean or a `true`/`True`/`false`/`False` string.
pub fn opt_bool<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    d.deserialize_any(BoolV)
}

struct U32V;
impl<'de> Visitor<'de> for U32V {
    type Value = Option<u32>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a whole number")
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        u32::try_from(v)
            .map(Some)
            .map_err(|_| E::invalid_value(de::Unexpected::Unsigned(v), &self))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        u32::try_from(v)
            .map(Some)
            .map_err(|_| E::invalid_value(de::Unexpected::Signed(v), &self))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        if v.fract() == 0.0 && v >= 0.0 && v <= f64::from(u32::MAX) {
            Ok(Some(v as u32))
        } else {
            Err(E::invalid_value(de::Unexpected::Float(v), &self))
        }
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        v.trim()
            .parse::<u32>()
            .map(Some)
            .map_err(|_| E::invalid_value(de::Unexpected::Str(v), &self))
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(U32V)
    }
}

/// `Option<u32>` from a number or a string of digits.
pub fn opt_u32<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u32>, D::Error> {
    d.deserialize_any(U32V)
}

struct StrV;
impl<'de> Visitor<'de> for StrV {
    type Value = Option<String>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Some(v.to_string()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Some(v))
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        Ok(Some(v.to_string()))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Some(v.to_string()))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Some(v.to_string()))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        Ok(Some(v.to_string()))
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(StrV)
    }
}

/// `Option<String>` from a string, or a number or boolean written as one.
pub fn opt_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    d.deserialize_any(StrV)
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    #[derive(Debug, Deserialize, PartialEq)]
    struct T {
        #[serde(default, deserialize_with = "super::opt_bool")]
        b: Option<bool>,
        #[serde(default, deserialize_with = "super::opt_u32")]
        n: Option<u32>,
        #[serde(default, deserialize_with = "super::opt_string")]
        s: Option<String>,
    }

    type Case = (
        &'static str,
        Option<bool>,
        Option<u32>,
        Option<&'static str>,
    );

    #[test]
    fn accepts_what_clients_send() {
        let cases: &[Case] = &[
            (
                r#"{"b":true,"n":5,"s":"x"}"#,
                Some(true),
                Some(5),
                Some("x"),
            ),
            (
                r#"{"b":"True","n":"2048","s":24060}"#,
                Some(true),
                Some(2048),
                Some("24060"),
            ),
            (r#"{"b":"false"}"#, Some(false), None, None),
            (
                r#"{"b":"FALSE","s":false}"#,
                Some(false),
                None,
                Some("false"),
            ),
            (r#"{"b":null,"n":null,"s":null}"#, None, None, None),
            (r#"{}"#, None, None, None),
        ];
        for (json, b, n, s) in cases {
            let t: T = serde_json::from_str(json).unwrap();
            assert_eq!(t.b, *b, "{json}");
            assert_eq!(t.n, *n, "{json}");
            assert_eq!(t.s.as_deref(), *s, "{json}");
        }
        for bad in [
            r#"{"b":"yes"}"#,
            r#"{"n":"-1"}"#,
            r#"{"n":1.5}"#,
            r#"{"n":"x"}"#,
        ] {
            assert!(serde_json::from_str::<T>(bad).is_err(), "{bad}");
        }
    }
}
