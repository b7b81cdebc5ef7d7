//! Request signing and verification: the `X-Api-Signature` header.
//!
//! The header is `<userKey>:<yyyyMMddHHmmss>:<base64(SHA1(userKey + User-Agent + timestamp + secret))>`,
//! the timestamp in UTC. Verification checks the shape, the timestamp window
//! and the hash, comparing hashes in constant time.

use base64::Engine as _;
use sha1::{Digest, Sha1};
use subtle::ConstantTimeEq;
use time::{
    format_description::FormatItem, macros::format_description, OffsetDateTime, PrimitiveDateTime,
};

use crate::Secret;

/// The request header that carries the signature.
pub const SIGNATURE_HEADER: &str = "X-Api-Signature";

/// The default accepted clock difference between client and server: 10 minutes.
pub const DEFAULT_WINDOW: time::Duration = time::Duration::minutes(10);

const TS_FORMAT: &[FormatItem<'static>] =
    format_description!("[year][month][day][hour][minute][second]");

/// Why a signature header was refused. The `Display` texts never include the
/// secret or the received hash.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the X-Api-Signature header is missing")]
    Missing,
    #[error("the X-Api-Signature header is malformed: expected <userKey>:<yyyyMMddHHmmss>:<base64 hash>")]
    Malformed,
    #[error("the X-Api-Signature timestamp is outside the accepted window (check the client's clock, UTC)")]
    Stale,
    #[error("the X-Api-Signature hash does not match")]
    Mismatch,
}

/// Formats a time as the signature's `yyyyMMddHHmmss` timestamp (UTC).
pub fn format_timestamp(at: OffsetDateTime) -> String {
    at.to_offset(time::UtcOffset::UTC)
        .format(TS_FORMAT)
        .expect("fixed-width timestamp format cannot fail")
}

/// Parses a `yyyyMMddHHmmss` timestamp as UTC.
pub fn parse_timestamp(ts: &str) -> Option<OffsetDateTime> {
    if ts.len() != 14 || !ts.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    PrimitiveDateTime::parse(ts, TS_FORMAT)
        .ok()
        .map(time::PlainDateTime::assume_utc)
}

/// `base64(SHA1(userKey + userAgent + timestamp + secret))`.
pub fn signature_hash(
    user_key: &str,
    user_agent: &str,
    timestamp: &str,
    secret: &Secret,
) -> String {
    let mut h = Sha1::new();
    h.update(user_key.as_bytes());
    h.update(user_agent.as_bytes());
    h.update(timestamp.as_bytes());
    h.update(secret.expose().as_bytes());
    base64::engine::general_purpose::STANDARD.encode(h.finalize())
}

/// The full header value for a request sent at `at` with this User-Agent.
pub fn sign(user_key: &str, user_agent: &str, secret: &Secret, at: OffsetDateTime) -> String {
    let ts = format_timestamp(at);
    let hash = signature_hash(user_key, user_agent, &ts, secret);
    format!("{user_key}:{ts}:{hash}")
}

/// A syntactically valid header, split into its parts (not yet verified).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureHeader {
    pub user_key: String,
    pub timestamp: String,
    pub hash: String,
}

impl SignatureHeader {
    /// Splits a header value. The user key may not contain `:`; the
    /// timestamp must be 14 digits; the hash must be non-empty.
    pub fn parse(value: &str) -> Result<Self, SignatureError> {
        let mut parts = value.trim().splitn(3, ':');
        let (Some(user_key), Some(timestamp), Some(hash)) =
            (parts.next(), parts.next(), parts.next())
        else {
            return Err(SignatureError::Malformed);
        };
        if user_key.is_empty()
            || hash.is_empty()
            || hash.contains(':')
            || parse_timestamp(timestamp).is_none()
        {
            return Err(SignatureError::Malformed);
        }
        Ok(SignatureHeader {
            user_key: user_key.to_string(),
            timestamp: timestamp.to_string(),
            hash: hash.to_string(),
        })
    }

    /// Checks the timestamp is within `window` of `now` (either side).
    pub fn check_window(
        &self,
        now: OffsetDateTime,
        window: time::Duration,
    ) -> Result<(), SignatureError> {
        let at = parse_timestamp(&self.timestamp).ok_or(SignatureError::Malformed)?;
        if (now - at).abs() > window {
            return Err(SignatureError::Stale);
        }
        Ok(())
    }

    /// Checks the hash against the key's secret and the request's User-Agent,
    /// in constant time.
    pub fn check_hash(&self, user_agent: &str, secret: &Secret) -> Result<(), SignatureError> {
        let expected = signature_hash(&self.user_key, user_agent, &self.timestamp, secret);
        if bool::from(expected.as_bytes().ct_eq(self.hash.as_bytes())) {
            Ok(())
        } else {
            Err(SignatureError::Mismatch)
        }
    }

    /// Window check, then hash check.
    pub fn verify(
        &self,
        user_agent: &str,
        secret: &Secret,
        now: OffsetDateTime,
        window: time::Duration,
    ) -> Result<(), SignatureError> {
        self.check_window(now, window)?;
        self.check_hash(user_agent, secret)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const KEY: &str = "eGbq9/2hcZsRlr1JV1Pi";
    const SECRET: &str = "QHOvchm/40czXhJ1OxfxK7jDHr3t";
    const UA: &str = "Rackspace Management Interface";
    const TS: &str = "20010308143725";
    const HASH: &str = "46VIwd66mOFGG8IkbgnLlXnfnkU=";

    #[test]
    fn documented_test_vector() {
        assert_eq!(signature_hash(KEY, UA, TS, &Secret::new(SECRET)), HASH);
        let at = datetime!(2001-03-08 14:37:25 UTC);
        assert_eq!(
            sign(KEY, UA, &Secret::new(SECRET), at),
            format!("{KEY}:{TS}:{HASH}")
        );
        let h = SignatureHeader::parse(&format!("{KEY}:{TS}:{HASH}")).unwrap();
        h.verify(
            UA,
            &Secret::new(SECRET),
            at + time::Duration::minutes(9),
            DEFAULT_WINDOW,
        )
        .unwrap();
    }

    #[test]
    fn refusals() {
        let at = datetime!(2001-03-08 14:37:25 UTC);
        let secret = Secret::new(SECRET);
        let h = SignatureHeader::parse(&format!("{KEY}:{TS}:{HASH}")).unwrap();
        let cases: Vec<(&str, Result<(), SignatureError>)> = vec![
            (
                "stale",
                h.verify(
                    UA,
                    &secret,
                    at + time::Duration::minutes(11),
                    DEFAULT_WINDOW,
                ),
            ),
            (
                "future",
                h.verify(
                    UA,
                    &secret,
                    at - time::Duration::minutes(11),
                    DEFAULT_WINDOW,
                ),
            ),
            (
                "wrong agent",
                h.verify("curl/8", &secret, at, DEFAULT_WINDOW),
            ),
            (
                "wrong secret",
                h.verify(UA, &Secret::new("x"), at, DEFAULT_WINDOW),
            ),
        ];
        assert_eq!(cases[0].1, Err(SignatureError::Stale), "{}", cases[0].0);
        assert_eq!(cases[1].1, Err(SignatureError::Stale), "{}", cases[1].0);
        assert_eq!(cases[2].1, Err(SignatureError::Mismatch), "{}", cases[2].0);
        assert_eq!(cases[3].1, Err(SignatureError::Mismatch), "{}", cases[3].0);
        let tampered =
            SignatureHeader::parse(&format!("{KEY}:{TS}:46VIwd66mOFGG8IkbgnLlXnfnkV=")).unwrap();
        assert_eq!(
            tampered.verify(UA, &secret, at, DEFAULT_WINDOW),
            Err(SignatureError::Mismatch)
        );
        let other_ts = SignatureHeader::parse(&format!("{KEY}:20010308143726:{HASH}")).unwrap();
        assert_eq!(
            other_ts.verify(UA, &secret, at, DEFAULT_WINDOW),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn malformed_headers() {
        for bad in [
            "",
            "abc",
            "key:ts",
            ":20010308143725:hash",
            "key:2001030814372:hash",
            "key:2001030814372a:hash",
            "key:20011308143725:hash",
            "key:20010308143725:",
            "key:20010308143725:a:b",
        ] {
            assert_eq!(
                SignatureHeader::parse(bad),
                Err(SignatureError::Malformed),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn errors_do_not_leak() {
        for e in [
            SignatureError::Mismatch,
            SignatureError::Stale,
            SignatureError::Malformed,
        ] {
            assert!(!e.to_string().contains(SECRET));
            assert!(!e.to_string().contains(HASH));
        }
    }
}
