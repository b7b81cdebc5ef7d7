//! Directory sources: Active Directory over LDAP(S), fully and incrementally
//! (DirSync, with a uSNChanged fallback), and LDIF snapshots.
//!
//! Both sources produce the model's [`dirsync_model::DirectorySnapshot`],
//! scoped by the same [`Scope`] rules, so a snapshot read from an LDIF export
//! and one read from the live directory are interchangeable.
//!
//! * [`ldif::read_snapshot`]`(text, &scope)` reads an export.
//! * [`LdapSource::connect`]`(cfg)` then [`LdapSource::full`]`(&scope)` reads
//!   a live directory; [`LdapSource::incremental`]`(&scope, cookie)` reads
//!   what changed since the cookie (see [`Incremental`]).

pub mod config;
pub mod controls;
pub mod entry;
pub mod error;
pub mod fixture;
mod full_read;
pub mod incremental;
pub mod ldap;
mod ldap_errors;
pub mod ldif;
pub mod ldif_scope;
pub mod ldif_stream;
#[cfg(test)]
mod ldif_test_records;
pub mod scope;

pub use config::{LdapConfig, Transport};
/// The bind password's type: the workspace's one secret type.
pub use dirsync_model::Secret;
pub use error::LdapSourceError;
pub use incremental::{Incremental, ResyncReason};
pub use ldap::{LdapSource, SourceStats};
pub use ldif::{read_snapshot, LdifError};
pub use scope::{GroupRef, Scope, ScopeError, Service};
