//! dirsync's sync engine: from a directory read to the control panel.
//!
//! ```text
//! DirectoryInput ─► mapping (pure) ─► planner (pure) ─► safety gate ─► executor ─► state store
//!                    Desired+findings   Plan with reasons  threshold,     client: rate limit,
//!                                                         empty-read,    retries, idempotent ops
//!                                                         staging
//! ```
//!
//! # The facade (what the agent calls)
//!
//! - [`Engine::open`]`(state_db, EngineSettings) -> Result<Engine, EngineError>`: opens and
//!   migrates the SQLite state store and prepares the API client; no API call.
//! - [`Engine::cookie`]: the committed directory cookie to hand to the directory reader
//!   ([`Engine::has_replica`] tells whether an incremental run is possible).
//! - [`Engine::run`]`(DirectoryInput, RunOptions, progress) -> Result<RunReport, EngineError>`:
//!   `DirectoryInput::Full { snapshot, cookie }`, `DirectoryInput::Incremental(changes)`, or
//!   `DirectoryInput::Staged { read, cookie }`: a full read staged in the state store as it
//!   was read ([`Engine::stage_full`], [`staged`]), never held whole;
//!   `RunOptions { mode: Check | Plan | Apply, trigger, override_threshold }`.
//!   Problems of the run (objects in error, threshold stop, untrustworthy read, control panel
//!   unreachable) are in the report's [`RunStatus`] and findings; `Err` means the run could
//!   not be recorded at all, or an incremental run came without a replica
//!   ([`EngineError::NeedFullSync`]).
//! - [`Engine::probe_target`]: authentication test and domain list (for `dirsync check`).
//! - [`Engine::runs`]`(limit)`, [`Engine::run_report`]`(id)`: the run history;
//!   [`Engine::history`] or [`RunHistory::open`] (no API settings needed) read it alone.
//! - [`Engine::record_failed_read`]: the failed run (DS202) of a directory read that
//!   failed before the engine got any input; the engine builds that report too.
//! - [`Engine::observe_requests`]: times each API request (the agent's `/metrics`).
//!
//! The engine keeps its state store and API client to itself: every run is
//! written by the engine, never by its caller.
//!
//! [`RunReport`] is the JSON run report (schema: `docs/run-report.schema.json`, checked by
//! a test). Exit codes: [`RunStatus::exit_code`] = 0 success, 1 object errors,
//! 2 failure (configuration, connection, untrustworthy read), 3 threshold stop.
//!
//! Every error text comes from [`dirsync_model::catalogue`]; the codes are documented in
//! `docs/errors.md`.
//!
//! # Guarantees
//!
//! - Mapping and planning are pure ([`mapping`], [`plan`]); the planner predicts every
//!   catalogued error it can from the control panel's real domains, licences and addresses.
//! - A mailbox that leaves the scope is disabled, never deleted unless
//!   [`DeletePolicy::AfterGrace`] says so; lists and contacts that leave are deleted.
//! - A run that would disable or delete more than the threshold stops before any write
//!   ([`Threshold`]), unless overridden for that run. An empty or partial directory read is
//!   refused (DS202), never taken as "everyone left". Staging mode plans and never writes.
//! - Each created object is anchored as it is created (in batches of
//!   [`executor::ANCHOR_BATCH`]); the directory cookie and replica are committed in one
//!   transaction after the changes they cover were applied. A run killed at any point
//!   and rerun re-reads the same changes, matches what was already created (hard match by
//!   objectGUID, else soft match by address), and finishes with no duplicates and nothing
//!   missing. The anchors a run established, its directory replica and cookie, and the
//!   clean marker below are written in one transaction at the end of the apply.
//! - An incremental run whose directory read reported no change, after an apply that
//!   did everything it planned with no error (status success) under the same
//!   plan-relevant settings, neither reads the control panel nor plans: it records a run
//!   with nothing to do and commits the new cookie (no API call). After a run with failed
//!   objects, a threshold stop, an interrupted apply, changed settings, or a grace period
//!   that has run out, the next run compares and plans in full, so failures are retried
//!   without an administrator's rerun.
//! - The control panel is read as the documented API allows ([`reader`], [`known`]):
//!   list pages for names and display names, the state store for what dirsync last
//!   wrote (anchors and hashes), and a GET of one object only for changed objects,
//!   adoptions, display names edited by hand, and the rolling verification
//!   ([`verify`]), which repairs other hand edits over runs within a GET budget.

pub mod addresses;
pub mod clock;
mod cookie_store;
pub mod engine;
pub mod executor;
mod failed_read;
pub mod fields;
pub mod guard;
mod history;
pub mod known;
pub mod mapping;
mod mapping_staged;
pub mod memory;
mod narrow;
mod outcomes;
mod pace;
pub mod plan;
pub mod reader;
pub mod replica_diff;
mod replica_read;
pub mod report;
mod run;
pub mod run_history;
pub mod settings;
pub mod spill;
pub mod staged;
pub mod store;
pub mod target;
pub mod types;
pub mod verify;

pub use cloudoffice_api::client::{RateLimit, RetryPolicy};
pub use cloudoffice_api::Secret;
pub use engine::{DirectoryInput, Engine, EngineError, Progress, RunOptions, TargetProbe};
pub use plan::DeletePolicy;
pub use report::{Counts, Mode, OpOutcome, OpResult, ReportFinding, RunReport, RunStatus, Trigger};
pub use run_history::RunHistory;
pub use settings::{EngineSettings, HistorySettings, SettingsError, TargetSettings, Threshold};
pub use store::RunSummary;
pub use verify::{SyncedObject, Verification, VerifiedObject, VerifySettings};
