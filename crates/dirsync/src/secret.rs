//! The agent's path to the one secret type, [`dirsync_model::secret`]:
//! [`Secret`] for credentials, [`scrub`] for text from outside that may echo
//! one, and [`REDACTED`], what both print instead of a value.

pub use dirsync_model::secret::{scrub, Secret, REDACTED};
