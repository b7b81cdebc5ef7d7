//! LDAP controls dirsync sends, one per file (as ldap3 does), encoded with
//! ldap3's own ASN.1 support and decoded with checks that never panic on a
//! malformed reply.

pub mod ber;
pub mod dirsync;
pub mod show_deleted;

pub use dirsync::{DirSyncRequest, DirSyncResponse, DIRSYNC_OID};
pub use show_deleted::{show_deleted, SHOW_DELETED_OID};
