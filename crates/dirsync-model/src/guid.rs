//! Active Directory's `objectGUID`, the anchor that survives renames and moves.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// An AD object GUID.
///
/// AD stores the 16 bytes in Microsoft's mixed-endian layout: the first three
/// fields (4, 2 and 2 bytes) are little-endian and the last 8 bytes are in
/// order. The string form (`{...}` as shown by ADUC and Samba) is the
/// big-endian reading of those fields, so the raw bytes and the string differ
/// in their first eight bytes. Keeping one type for both avoids the classic
/// bug of comparing a byte-order-swapped GUID with its text.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Guid([u8; 16]);

/// Why a GUID could not be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum GuidError {
    #[error("objectGUID must be 16 bytes, got {0}")]
    Length(usize),
    #[error("'{0}' is not a GUID (expected 8-4-4-4-12 hexadecimal digits)")]
    Syntax(String),
}

impl Guid {
    /// From the raw `objectGUID` attribute value as LDAP returns it.
    pub fn from_ad_bytes(bytes: &[u8]) -> Result<Self, GuidError> {
        let b: [u8; 16] = bytes
            .try_into()
            .map_err(|_| GuidError::Length(bytes.len()))?;
        // Store in canonical (string) order.
        let mut c = [0u8; 16];
        c[0] = b[3];
        c[1] = b[2];
        c[2] = b[1];
        c[3] = b[0];
        c[4] = b[5];
        c[5] = b[4];
        c[6] = b[7];
        c[7] = b[6];
        c[8..].copy_from_slice(&b[8..]);
        Ok(Guid(c))
    }

    /// The raw AD byte layout, for building `<GUID=...>` searches and filters.
    pub fn to_ad_bytes(&self) -> [u8; 16] {
        let c = &self.0;
        let mut b = [0u8; 16];
        b[0] = c[3];
        b[1] = c[2];
        b[2] = c[1];
        b[3] = c[0];
        b[4] = c[5];
        b[5] = c[4];
        b[6] = c[7];
        b[7] = c[6];
        b[8..].copy_from_slice(&c[8..]);
        b
    }

    /// From 16 bytes already in canonical (string) order.
    pub const fn from_canonical_bytes(bytes: [u8; 16]) -> Self {
        Guid(bytes)
    }

    pub fn canonical_bytes(&self) -> [u8; 16] {
        self.0
    }

    /// An LDAP filter escape of the AD bytes, e.g. for `(objectGUID=\01\02...)`.
    pub fn ldap_filter_escape(&self) -> String {
        self.to_ad_bytes()
            .iter()
            .map(|b| format!("\\{b:02x}"))
            .collect()
    }
}

impl fmt::Display for Guid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = &self.0;
        write!(
            f,
            "{:02x}{:02x}{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}{:02x}{:02x}{:02x}{:02x}",
            c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7], c[8], c[9], c[10], c[11], c[12], c[13], c[14], c[15]
        )
    }
}

impl fmt::Debug for Guid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Guid({self})")
    }
}

impl FromStr for Guid {
    type Err = GuidError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim().trim_start_matches('{').trim_end_matches('}');
        let groups: Vec<&str> = t.split('-').collect();
        let lens = [8, 4, 4, 4, 12];
        if groups.len() != 5 || groups.iter().zip(lens).any(|(g, l)| g.len() != l) {
            return Err(GuidError::Syntax(s.to_string()));
        }
        let hex: String = groups.concat();
        let mut out = [0u8; 16];
        for (i, byte) in out.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&hex[i * 2..i * 2 + 2], 16)
                .map_err(|_| GuidError::Syntax(s.to_string()))?;
        }
        Ok(Guid(out))
    }
}

impl Serialize for Guid {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Guid {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mixed_endian_round_trip() {
        // Bytes as AD returns them for {f2d3f0b6-ad36-4e56-8c70-1a2b3c4d5e6f}.
        let raw = [
            0xb6, 0xf0, 0xd3, 0xf2, 0x36, 0xad, 0x56, 0x4e, 0x8c, 0x70, 0x1a, 0x2b, 0x3c, 0x4d,
            0x5e, 0x6f,
        ];
        let g = Guid::from_ad_bytes(&raw).unwrap();
        assert_eq!(g.to_string(), "f2d3f0b6-ad36-4e56-8c70-1a2b3c4d5e6f");
        assert_eq!(g.to_ad_bytes(), raw);
        assert_eq!(
            "{F2D3F0B6-AD36-4E56-8C70-1A2B3C4D5E6F}"
                .parse::<Guid>()
                .unwrap(),
            g
        );
    }

    #[test]
    fn rejects_bad_input() {
        assert_eq!(Guid::from_ad_bytes(&[1, 2, 3]), Err(GuidError::Length(3)));
        for bad in [
            "",
            "xyz",
            "f2d3f0b6-ad36-4e56-8c70-1a2b3c4d5e6",
            "g2d3f0b6-ad36-4e56-8c70-1a2b3c4d5e6f",
        ] {
            assert!(bad.parse::<Guid>().is_err(), "{bad}");
        }
    }

    #[test]
    fn serde_as_string() {
        let g: Guid = "f2d3f0b6-ad36-4e56-8c70-1a2b3c4d5e6f".parse().unwrap();
        let j = serde_json::to_string(&g).unwrap();
        assert_eq!(j, "\"f2d3f0b6-ad36-4e56-8c70-1a2b3c4d5e6f\"");
        assert_eq!(serde_json::from_str::<Guid>(&j).unwrap(), g);
    }
}
