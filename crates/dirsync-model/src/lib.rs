//! The shared vocabulary of dirsync.
//!
//! Everything here is pure data and pure functions: no network, no files, no
//! database. The directory readers produce these types, the mapping and the
//! planner consume them, and every layer can be tested with tables of cases.

pub mod address;
pub mod catalogue;
pub mod directory;
pub mod exit;
pub mod guid;
pub mod secret;
pub mod service;

pub use address::{AddressError, DomainName, EmailAddress};
pub use catalogue::{Code, Finding, Severity};
pub use directory::{
    ChangeTracking, ContactInfo, DirectoryChange, DirectoryChanges, DirectoryObject,
    DirectorySnapshot, ObjectKind, ProxyAddress,
};
pub use exit::Exit;
pub use guid::{Guid, GuidError};
pub use secret::Secret;
pub use service::Service;
