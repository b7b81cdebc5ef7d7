//! LDAP controls dirsync sends, one per file (as ldap3 does), encoded with a
//! small hand-written BER codec that never panics on a malformed reply.

pub mod ber;
pub mod dirsync;
pub mod show_deleted;

pub use dirsync::{DirSyncRequest, DirSyncResponse, DIRSYNC_OID};
pub use show_deleted::{show_deleted, SHOW_DELETED_OID};
