//! The Cloud Office API shape shared by officed (server) and dirsync (client).
//!
//! - [`types`]: wire types with the API's field names.
//! - [`fault`]: fault bodies and the stable fault messages of each rule.
//! - [`paths`]: route templates and path builders.
//! - [`signing`]: the `X-Api-Signature` header (sign and verify).
//! - [`Secret`]: a self-redacting credential holder.

pub mod client;
pub mod fault;
pub mod observe;
pub mod paths;
pub mod secret;
pub mod signing;
pub mod types;

pub use fault::{messages, Fault, FaultDetail, FaultKind, RuleViolation, ERROR_MESSAGE_HEADER};
pub use secret::Secret;
pub use signing::{SignatureError, SignatureHeader, SIGNATURE_HEADER};
pub use types::*;
