//! The dirsync agent: command line, service (scheduler, health, metrics),
//! web UI and the one-command demo, glued onto the sync engine.
//!
//! Layering: this crate reads configuration, reads the directory through
//! `dirsync-directory`, and hands the result to `dirsync-engine`, which plans,
//! applies and records every run. Everything shown to an administrator (CLI
//! tables, `--json`, the web UI) renders the engine's run records and the
//! catalogue in `dirsync_model::catalogue`; this crate defines no error text
//! for a catalogued situation.

pub mod agent;
pub mod cli;
pub mod config;
#[cfg(feature = "demo")]
pub mod demo;
pub mod engine_settings;
pub mod history;
pub mod ldif_diff;
pub mod ldif_findings;
pub mod ldif_fingerprint;
pub mod lock;
pub mod logging;
pub mod metrics;
pub mod platform;
pub mod private_file;
pub mod render;
pub mod secret;
pub mod service;
pub mod source;
pub mod view;
pub mod web;
#[cfg(windows)]
pub mod winservice;

/// The documented process exit codes (docs/exit-codes.md), decided in
/// [`dirsync_model::exit`].
pub use dirsync_model::Exit;
