//! Directory sources: Active Directory over LDAP(S), fully and incrementally
//! (DirSync, with a uSNChanged fallback), and LDIF snapshots.
//!
//! Both sources produce the model's [`dirsync_model::DirectorySnapshot`],
//! scoped by the same [`Scope`] rules, so a snapshot read from an LDIF export
//! and one read from the live directory are interchangeable.

pub mod entry;
pub mod ldif;
pub mod scope;

pub use ldif::{read_snapshot, LdifError};
pub use scope::{GroupRef, Scope, ScopeError, Service};
