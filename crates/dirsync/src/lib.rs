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

/// The documented process exit codes (docs/exit-codes.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Everything in scope is in sync.
    Success = 0,
    /// The run finished, but some objects have errors (see the report).
    ObjectErrors = 1,
    /// Configuration, lock, directory or API connection failure: nothing or
    /// only part of the work could be attempted.
    Failure = 2,
    /// A safety threshold stopped the run before any disable or delete.
    Threshold = 3,
}

impl Exit {
    pub fn code(self) -> u8 {
        self as u8
    }
}
