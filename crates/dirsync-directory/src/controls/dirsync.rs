//! The AD DirSync control (LDAP_SERVER_DIRSYNC_OID, 1.2.840.113556.1.4.841).
//!
//! Request value: `SEQUENCE { flags INTEGER, maxBytes INTEGER, cookie OCTET STRING }`.
//! Response value: `SEQUENCE { moreResults INTEGER, unused INTEGER, cookie OCTET STRING }`.
//! The cookie is opaque: the server encodes its replication position in it.

use ldap3::controls::RawControl;

use super::ber::{self, BerError};

pub const DIRSYNC_OID: &str = "1.2.840.113556.1.4.841";

/// Return only objects and attributes the caller may read; lets accounts
/// without "Replicating Directory Changes" use DirSync (not used by default,
/// because it hides deletions the account cannot see).
pub const FLAG_OBJECT_SECURITY: i64 = 0x0000_0001;
/// Return parents before children.
pub const FLAG_ANCESTORS_FIRST_ORDER: i64 = 0x0000_0800;
/// Do not return past values of linked attributes (ignored by dirsync).
pub const FLAG_PUBLIC_DATA_ONLY: i64 = 0x0000_2000;
/// Return only changed values of multi-valued attributes.
pub const FLAG_INCREMENTAL_VALUES: i64 = 0x8000_0000;

/// A DirSync request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirSyncRequest {
    pub flags: i64,
    /// Upper bound on the reply size the server should aim for.
    pub max_bytes: i64,
    /// Empty on the first call; the previous response's cookie afterwards.
    pub cookie: Vec<u8>,
}

impl DirSyncRequest {
    /// Encodes the control value.
    pub fn encode(&self) -> Vec<u8> {
        // Flags is a 32-bit value on the wire; send it as AD does (signed).
        ber::sequence(vec![
            ber::integer(self.flags as u32 as i32 as i64),
            ber::integer(self.max_bytes),
            ber::octets(self.cookie.clone()),
        ])
    }
}

impl From<DirSyncRequest> for RawControl {
    fn from(r: DirSyncRequest) -> RawControl {
        // DirSync must be critical: a server ignoring it would return a full search as if it were changes.
        RawControl {
            ctype: DIRSYNC_OID.to_string(),
            crit: true,
            val: Some(r.encode()),
        }
    }
}

/// A DirSync response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirSyncResponse {
    /// Non-zero when more changes are waiting: search again with `cookie`.
    pub more_results: bool,
    pub cookie: Vec<u8>,
}

impl DirSyncResponse {
    /// Decodes a response control value.
    pub fn decode(val: &[u8]) -> Result<DirSyncResponse, BerError> {
        let mut r = ber::read_sequence(val, "DirSync response SEQUENCE")?;
        let more = r.read_integer("DirSync moreResults")?;
        let _unused = r.read_integer("DirSync unused")?;
        let cookie = r.read_octets("DirSync cookie")?;
        Ok(DirSyncResponse {
            more_results: more != 0,
            cookie,
        })
    }

    /// Encodes (for tests and for replaying a server's reply).
    pub fn encode(&self) -> Vec<u8> {
        ber::sequence(vec![
            ber::integer(self.more_results as i64),
            ber::integer(0),
            ber::octets(self.cookie.clone()),
        ])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_encoding() {
        let r = DirSyncRequest {
            flags: FLAG_INCREMENTAL_VALUES,
            max_bytes: 0x100000,
            cookie: vec![1, 2, 3],
        };
        assert_eq!(
            r.encode(),
            vec![
                0x30, 0x10, 0x02, 0x04, 0x80, 0, 0, 0, 0x02, 0x03, 0x10, 0x00, 0x00, 0x04, 0x03, 1,
                2, 3
            ]
        );
        let c: RawControl = DirSyncRequest {
            flags: 0,
            max_bytes: 0,
            cookie: vec![],
        }
        .into();
        assert!(c.crit);
        assert_eq!(
            c.val.unwrap(),
            vec![0x30, 0x08, 0x02, 0x01, 0x00, 0x02, 0x01, 0x00, 0x04, 0x00]
        );
    }

    #[test]
    fn response_round_trip_and_garbage() {
        let r = DirSyncResponse {
            more_results: true,
            cookie: vec![9; 200],
        };
        assert_eq!(DirSyncResponse::decode(&r.encode()).unwrap(), r);
        for bad in [
            &[][..],
            &[0x30, 0x02, 0x02, 0x01][..],
            &[0x04, 0x00][..],
            &[0x30, 0x03, 0x02, 0x01, 0x00][..],
        ] {
            assert!(DirSyncResponse::decode(bad).is_err(), "{bad:?}");
        }
    }

    /// lber mis-writes some negative INTEGERs (see `ber` tests); every flag
    /// value dirsync can send must come back as the signed 32-bit AD reads.
    #[test]
    fn every_flag_combination_round_trips() {
        let all = [
            FLAG_OBJECT_SECURITY,
            FLAG_ANCESTORS_FIRST_ORDER,
            FLAG_PUBLIC_DATA_ONLY,
            FLAG_INCREMENTAL_VALUES,
        ];
        for mask in 0..16u32 {
            let flags: i64 = (0..4)
                .filter(|i| mask & (1 << i) != 0)
                .map(|i| all[i])
                .fold(0, |a, f| a | f);
            let val = DirSyncRequest {
                flags,
                max_bytes: 1 << 20,
                cookie: vec![],
            }
            .encode();
            let mut r = ber::read_sequence(&val, "s").unwrap();
            assert_eq!(
                r.read_integer("flags"),
                Ok(flags as u32 as i32 as i64),
                "{flags:#x}"
            );
            assert_eq!(r.read_integer("max"), Ok(1 << 20));
        }
    }
}
