//! LDAP_SERVER_SHOW_DELETED_OID (1.2.840.113556.1.4.417): include tombstones
//! in a search, used to confirm a deletion when DirSync is not available.

use ldap3::controls::RawControl;

pub const SHOW_DELETED_OID: &str = "1.2.840.113556.1.4.417";

/// The control (critical, no value).
pub fn show_deleted() -> RawControl {
    RawControl {
        ctype: SHOW_DELETED_OID.to_string(),
        crit: true,
        val: None,
    }
}
