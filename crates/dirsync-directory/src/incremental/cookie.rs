//! The cookie dirsync hands out: its envelope (position, scope fingerprint,
//! server mark, GUIDs in scope) and how it is written and read.

use dirsync_model::Guid;

use crate::entry::dn_key;
use crate::scope::Scope;

/// Where change tracking stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Position {
    DirSync(Vec<u8>),
    Usn(i64),
}

/// Which domain controller the cookie was taken from, and how far its
/// database had got: when the same controller (same database incarnation)
/// still reports the same `highestCommittedUSN`, nothing was written to it
/// since, so there can be no change to report and the DirSync search (which
/// costs the server a walk of its change index) is skipped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerMark {
    /// `dsServiceName` (the DC's NTDS Settings DN) and its `invocationId`
    /// (which changes when the DC's database is restored), as `dn|guid`.
    pub dc: String,
    /// The rootDSE's `highestCommittedUSN`, read before the changes were.
    pub usn: i64,
}

/// The envelope dirsync hands out as its opaque cookie.
///
/// Layout: `DSYN`, version, method (1 DirSync, 2 uSN), scope fingerprint
/// (u64), position length (u32) and bytes, then (version 2 only) a server
/// mark flag (u8) and, when 1, the mark's uSN (i64) and DC identity length
/// (u32) and UTF-8 bytes, then GUID count (u32) and 16-byte canonical GUIDs.
/// All integers big-endian. Version 1 cookies (no mark) are still read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cookie {
    pub scope_fingerprint: u64,
    pub position: Position,
    /// Where the DC stood when the cookie was taken (`None` in version 1
    /// cookies, or when the rootDSE did not say).
    pub server: Option<ServerMark>,
    pub in_scope: Vec<Guid>,
}

const MAGIC: &[u8; 4] = b"DSYN";

impl Cookie {
    pub fn encode(&self) -> Vec<u8> {
        let (method, pos) = match &self.position {
            Position::DirSync(c) => (1u8, c.clone()),
            Position::Usn(u) => (2u8, u.to_be_bytes().to_vec()),
        };
        let mut out = Vec::with_capacity(64 + pos.len() + 16 * self.in_scope.len());
        out.extend_from_slice(MAGIC);
        out.push(2);
        out.push(method);
        out.extend_from_slice(&self.scope_fingerprint.to_be_bytes());
        out.extend_from_slice(&(pos.len() as u32).to_be_bytes());
        out.extend_from_slice(&pos);
        match &self.server {
            None => out.push(0),
            Some(m) => {
                out.push(1);
                out.extend_from_slice(&m.usn.to_be_bytes());
                out.extend_from_slice(&(m.dc.len() as u32).to_be_bytes());
                out.extend_from_slice(m.dc.as_bytes());
            }
        }
        out.extend_from_slice(&(self.in_scope.len() as u32).to_be_bytes());
        for g in &self.in_scope {
            out.extend_from_slice(&g.canonical_bytes());
        }
        out
    }

    pub fn decode(b: &[u8]) -> Result<Cookie, String> {
        fn take<'a>(b: &mut &'a [u8], n: usize) -> Result<&'a [u8], String> {
            if b.len() < n {
                return Err("it is truncated".into());
            }
            let (h, t) = b.split_at(n);
            *b = t;
            Ok(h)
        }
        let mut b = b;
        if take(&mut b, 4)? != MAGIC {
            return Err("it was not written by dirsync".into());
        }
        let version = take(&mut b, 1)?[0];
        if version != 1 && version != 2 {
            return Err(format!("unknown cookie version {version}"));
        }
        let method = take(&mut b, 1)?[0];
        let fp = u64::from_be_bytes(take(&mut b, 8)?.try_into().expect("8 bytes"));
        let len = u32::from_be_bytes(take(&mut b, 4)?.try_into().expect("4 bytes")) as usize;
        let pos = take(&mut b, len)?;
        let position = match method {
            1 => Position::DirSync(pos.to_vec()),
            2 => Position::Usn(i64::from_be_bytes(
                pos.try_into().map_err(|_| "bad uSN position".to_string())?,
            )),
            m => return Err(format!("unknown change-tracking method {m}")),
        };
        let server = match version {
            1 => None,
            _ => match take(&mut b, 1)?[0] {
                0 => None,
                1 => {
                    let usn = i64::from_be_bytes(take(&mut b, 8)?.try_into().expect("8 bytes"));
                    let len =
                        u32::from_be_bytes(take(&mut b, 4)?.try_into().expect("4 bytes")) as usize;
                    let dc = String::from_utf8(take(&mut b, len)?.to_vec())
                        .map_err(|_| "its server mark is not UTF-8".to_string())?;
                    Some(ServerMark { dc, usn })
                }
                f => return Err(format!("unknown server mark flag {f}")),
            },
        };
        let count = u32::from_be_bytes(take(&mut b, 4)?.try_into().expect("4 bytes")) as usize;
        if b.len() != count.checked_mul(16).ok_or("bad GUID count")? {
            return Err("its GUID list has the wrong length".into());
        }
        let in_scope = b
            .chunks_exact(16)
            .map(|c| Guid::from_canonical_bytes(c.try_into().expect("16 bytes")))
            .collect();
        Ok(Cookie {
            scope_fingerprint: fp,
            position,
            server,
            in_scope,
        })
    }
}

/// A stable fingerprint of the scope and base DN (FNV-1a, 64 bits).
pub fn scope_fingerprint(scope: &Scope, base_dn: &str) -> u64 {
    let text = format!(
        "{:?}|{:?}|{}",
        scope
            .exchange
            .as_ref()
            .map(|g| g.to_string().to_lowercase()),
        scope.rsemail.as_ref().map(|g| g.to_string().to_lowercase()),
        dn_key(base_dn)
    );
    text.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ b as u64).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookie_round_trip_and_damage() {
        let g: Guid = "f2d3f0b6-ad36-4e56-8c70-1a2b3c4d5e6f".parse().unwrap();
        let mark = ServerMark {
            dc: "cn=ntds settings,cn=dc1|f2d3f0b6-ad36-4e56-8c70-1a2b3c4d5e6f".into(),
            usn: 80528,
        };
        let cases = [
            (Position::DirSync(vec![1, 2, 3]), None),
            (Position::DirSync(vec![1, 2, 3]), Some(mark.clone())),
            (Position::Usn(123456), None),
            (Position::Usn(123456), Some(mark)),
        ];
        for (position, server) in cases {
            let c = Cookie {
                scope_fingerprint: 42,
                position,
                server,
                in_scope: vec![g, g],
            };
            let bytes = c.encode();
            assert_eq!(Cookie::decode(&bytes).unwrap(), c);
            for cut in [0, 3, 5, 10, bytes.len() - 1] {
                assert!(Cookie::decode(&bytes[..cut]).is_err(), "cut at {cut}");
            }
            let mut extra = bytes.clone();
            extra.push(0);
            assert!(Cookie::decode(&extra).is_err());
        }
        assert_eq!(
            Cookie::decode(b"nope").unwrap_err(),
            "it was not written by dirsync"
        );
    }

    #[test]
    fn version_1_cookies_are_still_read_without_a_server_mark() {
        // A cookie as written before server marks existed: DirSync position
        // [9, 8], one GUID.
        let g: Guid = "f2d3f0b6-ad36-4e56-8c70-1a2b3c4d5e6f".parse().unwrap();
        let mut v1 = b"DSYN".to_vec();
        v1.extend([1u8, 1]);
        v1.extend(7u64.to_be_bytes());
        v1.extend(2u32.to_be_bytes());
        v1.extend([9u8, 8]);
        v1.extend(1u32.to_be_bytes());
        v1.extend(g.canonical_bytes());
        let c = Cookie::decode(&v1).unwrap();
        assert_eq!(
            c,
            Cookie {
                scope_fingerprint: 7,
                position: Position::DirSync(vec![9, 8]),
                server: None,
                in_scope: vec![g],
            }
        );
        // Re-encoded, it becomes version 2 and reads back the same.
        assert_eq!(c.encode()[4], 2);
        assert_eq!(Cookie::decode(&c.encode()).unwrap(), c);
    }

    #[test]
    fn fingerprint_follows_scope_not_case() {
        let a = Scope::new(Some("Exchange Users"), None).unwrap();
        let b = Scope::new(Some("exchange users"), None).unwrap();
        let c = Scope::new(None, Some("Exchange Users")).unwrap();
        assert_eq!(scope_fingerprint(&a, "DC=x"), scope_fingerprint(&b, "dc=X"));
        assert_ne!(scope_fingerprint(&a, "DC=x"), scope_fingerprint(&c, "DC=x"));
        assert_ne!(scope_fingerprint(&a, "DC=x"), scope_fingerprint(&a, "DC=y"));
    }
}
