//! The Cloud Office API shape shared by officed (server) and dirsync (client).
//!
//! - [`types`]: wire types with the API's field names.
//! - [`forms`]: request bodies of add and edit operations (form or JSON).
//! - [`fault`]: fault bodies and the stable fault messages of each rule.
//! - [`paths`]: route templates and path builders.
//! - [`signing`]: the `X-Api-Signature` header (sign and verify).
//! - `schema` (feature `openapi`): OpenAPI schemas the derive cannot see.
//! - [`Secret`]: the workspace's one self-redacting credential holder
//!   (defined in `dirsync_model::secret`, re-exported for the signing API).

pub mod client;
pub mod fault;
pub mod forms;
pub mod lenient;
pub mod observe;
pub mod paths;
#[cfg(feature = "openapi")]
pub mod schema;
pub mod signing;
pub mod types;

pub use dirsync_model::Secret;
pub use fault::{messages, Fault, FaultDetail, FaultKind, RuleViolation, ERROR_MESSAGE_HEADER};
pub use forms::*;
pub use signing::{SignatureError, SignatureHeader, SIGNATURE_HEADER};
pub use types::*;
