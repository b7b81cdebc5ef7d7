//! The planner: desired state vs the control panel's state vs the anchors
//! of the state store, to an ordered plan with a reason for every operation.
//!
//! Pure: no I/O. It predicts every catalogued error it can from the
//! control panel's real domains, accepted domains, licences and addresses,
//! so no call is wasted on a request that would be refused.
//!
//! Matching: an anchored object (objectGUID in the state store) is matched
//! to the control-panel object it was tied to (hard match). An unanchored
//! object adopts an existing control-panel object of the same kind and
//! service at its address (soft match) and is anchored from then on.
//!
//! Order (phases run in order, operations of one phase may run in parallel):
//! 0 renames; 1 mailbox and contact creates, updates, enables and disables
//! of accounts disabled in AD; 2 address removals; 3 address additions;
//! 4 list creates and updates (after their members exist); 5 member
//! removals; 6 member additions; 7 deletes of lists and contacts that left
//! the scope; 8 disables and deletes of mailboxes that left the scope.
//!
//! Where each rule lives: `mailboxes` (matching, creates, updates, renames,
//! alternate addresses and licences), `contacts` (the contact's domain and
//! a free name), `lists` (list address checks and members), `leavers`
//! (what happens to anchored objects that left the scope); the working
//! state and the final ordering are in `planner`, the operation's shape and
//! the managed fields in `ops`.

mod contacts;
mod leavers;
mod lists;
mod mailboxes;
mod ops;
mod planner;
#[cfg(test)]
mod tests;

use serde::{Deserialize, Serialize};

use crate::types::*;

pub use ops::{field_names, managed_fields, state_hash};
use planner::Planner;
pub use planner::{final_numbers, order_ops, OpSink};

/// What happens to a mailbox that left the scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(tag = "policy", rename_all = "snake_case")]
pub enum DeletePolicy {
    /// Disable it and keep it (the default): nothing is deleted.
    #[default]
    Never,
    /// Disable it, and delete it once it has stayed out of scope this many days.
    AfterGrace { days: u32 },
}

/// The planner's settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlanSettings {
    pub sync_alternates: bool,
    /// Perform mailbox renames through the control panel's rename operation
    /// instead of reporting DS008.
    pub allow_rename: bool,
    pub delete_policy: DeletePolicy,
    /// "Now", unix seconds (for grace periods).
    pub now: i64,
}

impl Default for PlanSettings {
    fn default() -> Self {
        PlanSettings {
            sync_alternates: true,
            allow_rename: false,
            delete_policy: DeletePolicy::Never,
            now: 0,
        }
    }
}

/// Phases, see the module documentation.
pub mod phase {
    pub const RENAME: u8 = 0;
    pub const OBJECTS: u8 = 1;
    pub const REMOVE_ADDRESS: u8 = 2;
    pub const ADD_ADDRESS: u8 = 3;
    pub const LISTS: u8 = 4;
    pub const REMOVE_MEMBER: u8 = 5;
    pub const ADD_MEMBER: u8 = 6;
    pub const DELETE_OTHERS: u8 = 7;
    pub const LEAVE_MAILBOXES: u8 = 8;
}

/// Builds the plan: its operations ordered by phase and numbered.
pub fn plan(
    desired: &Desired,
    target: &TargetState,
    anchors: &[Anchor],
    settings: &PlanSettings,
) -> Plan {
    let mut ops: Vec<PlanOp> = Vec::new();
    let mut p = plan_into(desired, target, anchors, settings, &mut ops);
    order_ops(&mut ops);
    p.ops = ops;
    p
}

/// Builds the plan, handing its operations to `sink` as they are made
/// (numbered in the order they were made; ordered by phase, operation
/// `n` gets number [`final_numbers`]`[n]`). The plan returned has no
/// operations; its anchor updates already refer to the final numbers.
/// A sink that spills keeps a full sync's operations out of memory; one
/// that keeps only what it needs serves a first plan.
pub fn plan_into(
    desired: &Desired,
    target: &TargetState,
    anchors: &[Anchor],
    settings: &PlanSettings,
    sink: &mut dyn OpSink,
) -> Plan {
    let mut p = Planner::new(desired, target, anchors, settings, sink);
    for m in &desired.mailboxes {
        mailboxes::plan_mailbox(&mut p, m);
    }
    for c in &desired.contacts {
        contacts::plan_contact(&mut p, c);
    }
    lists::plan_lists(&mut p, desired);
    leavers::plan_leavers(&mut p, desired, anchors);
    p.finish(anchors.len())
}
