//! Durations as the configuration writes them: `30s`, `5m`, `2h`, `1d`,
//! `1h30m`, or a bare number of seconds.
//!
//! They are parsed once, at load, into `std::time::Duration`: the layers
//! check every duration key first (all bad values reported at once, each
//! with its key and value, see [`super::layer`]), then [`text`] turns the
//! checked text into the struct field.

use std::time::Duration;

/// Parses `30s`, `5m`, `2h`, `1d`, `1h30m` or a bare number of seconds.
pub fn parse_duration(s: &str) -> Option<Duration> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    if let Ok(n) = s.parse::<u64>() {
        return Some(Duration::from_secs(n));
    }
    let mut total = 0u64;
    let mut num = String::new();
    for c in s.chars() {
        if c.is_ascii_digit() {
            num.push(c);
        } else {
            let n: u64 = num.parse().ok()?;
            num.clear();
            let mult = match c {
                's' => 1,
                'm' => 60,
                'h' => 3600,
                'd' => 86400,
                _ => return None,
            };
            total = total.checked_add(n.checked_mul(mult)?)?;
        }
    }
    if !num.is_empty() {
        return None;
    }
    Some(Duration::from_secs(total))
}

/// Formats a duration the way the config writes it (`5m`, `1h30m`, `45s`).
pub fn format_duration(d: Duration) -> String {
    let mut s = d.as_secs();
    if s == 0 {
        return "0s".into();
    }
    let mut out = String::new();
    for (unit, size) in [("d", 86400), ("h", 3600), ("m", 60), ("s", 1)] {
        if s >= size {
            out.push_str(&format!("{}{unit}", s / size));
            s %= size;
        }
    }
    out
}

/// The message for a value that is not a duration: `key "value" is not a
/// duration; write e.g. EXAMPLE`.
pub fn not_a_duration(key: &str, value: &str, example: &str) -> String {
    format!("{key} {value:?} is not a duration; write e.g. {example}")
}

/// Serde for a `Duration` field written as text (`"5m"`) or seconds (`45`);
/// serialised back as text, so the Settings page shows `5m`.
pub mod text {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::format_duration(*d))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Seconds(u64),
            Text(String),
        }
        match Raw::deserialize(d)? {
            Raw::Seconds(n) => Ok(Duration::from_secs(n)),
            Raw::Text(t) => super::parse_duration(&t).ok_or_else(|| {
                serde::de::Error::custom(format!(
                    "{t:?} is not a duration; write e.g. \"30s\", \"5m\" or \"1h\""
                ))
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        for (s, want) in [
            ("30s", Some(30)),
            ("5m", Some(300)),
            ("1h30m", Some(5400)),
            ("1d", Some(86400)),
            ("45", Some(45)),
            (" 2m ", Some(120)),
            ("0s", Some(0)),
            ("5x", None),
            ("", None),
            ("m", None),
            ("5m3", None),
            ("-5s", None),
            ("99999999999999999999d", None),
        ] {
            assert_eq!(parse_duration(s).map(|d| d.as_secs()), want, "{s}");
        }
        for (secs, text) in [(5400, "1h30m"), (0, "0s"), (45, "45s"), (90061, "1d1h1m1s")] {
            assert_eq!(format_duration(Duration::from_secs(secs)), text);
            assert_eq!(parse_duration(text), Some(Duration::from_secs(secs)));
        }
    }

    #[test]
    fn serde_reads_text_or_seconds_and_writes_text() {
        #[derive(serde::Deserialize, serde::Serialize)]
        struct T {
            #[serde(with = "text")]
            d: Duration,
        }
        let t: T = toml::from_str("d = \"1h30m\"").unwrap();
        assert_eq!(t.d, Duration::from_secs(5400));
        let t: T = toml::from_str("d = 45").unwrap();
        assert_eq!(t.d, Duration::from_secs(45));
        assert_eq!(toml::to_string(&t).unwrap().trim(), "d = \"45s\"");
        let e = toml::from_str::<T>("d = \"5x\"").err().unwrap().to_string();
        assert!(e.contains("\"5x\" is not a duration"), "{e}");
    }
}
