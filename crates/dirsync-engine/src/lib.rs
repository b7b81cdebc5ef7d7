//! The sync engine.
pub mod mapping;
pub mod plan;
pub mod target;
pub mod types;
