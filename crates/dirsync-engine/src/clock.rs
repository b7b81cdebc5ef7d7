//! The clock: "now" in the three forms the engine and the agent record.
//! One place reads the system time, so every timestamp of a run agrees on
//! its unit and format.

use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// Now, in unix seconds (anchors' leaver dates, grace periods, run history).
pub fn now_unix() -> i64 {
    OffsetDateTime::now_utc().unix_timestamp()
}

/// Now, in unix milliseconds (the unit of verification times: runs may
/// follow each other within a second, and the oldest must come first).
pub fn now_ms() -> i64 {
    (OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64
}

/// Now, as RFC 3339 in UTC (the run report's timestamps).
pub fn now_rfc3339() -> String {
    rfc3339(OffsetDateTime::now_utc())
}

/// `t` as RFC 3339 (empty for a date RFC 3339 cannot write, outside year 0 to 9999).
pub fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_agree() {
        let (s, ms) = (now_unix(), now_ms());
        assert!((ms / 1000 - s).abs() <= 1, "{s} s vs {ms} ms");
        let t = OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap();
        assert_eq!(rfc3339(t), "2023-11-14T22:13:20Z");
        assert!(now_rfc3339().ends_with('Z'));
    }
}
