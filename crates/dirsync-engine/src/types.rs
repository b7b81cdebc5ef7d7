//! The engine's own vocabulary: desired state (from the directory), target
//! state (read from the control panel), anchors (from the state store) and
//! the plan. Pure data; the wire types of `cloudoffice-api` are converted
//! into these at the edge ([`crate::target`]).

use std::collections::{BTreeMap, BTreeSet};

use dirsync_model::{DomainName, EmailAddress, Guid};
use serde::{Deserialize, Serialize};

pub use dirsync_model::Service;

/// What kind of control-panel object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TargetKind {
    Mailbox,
    Contact,
    List,
}

impl TargetKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TargetKind::Mailbox => "mailbox",
            TargetKind::Contact => "contact",
            TargetKind::List => "list",
        }
    }
}

/// Field values to write, by wire field name (`displayName`, `title`, ...).
/// An empty string clears a field.
///
/// The names are the API's fixed field names, borrowed rather than
/// allocated, and the map is a sorted vector sized to its entries (see
/// [`crate::fields`]): a sync of 50,000 users holds several of these maps
/// per user (desired state, control-panel state, the create operation).
pub use crate::fields::Fields;

/// A mailbox's alternate addresses, in order: a sorted vector sized to
/// what it holds (see [`crate::addresses`]).
pub use crate::addresses::AddressSet;

/// A mailbox the directory wants.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DesiredMailbox {
    pub guid: Guid,
    pub dn: String,
    pub label: String,
    pub service: Service,
    /// `name@domain`: the Service ID is the local part.
    pub address: EmailAddress,
    pub enabled: bool,
    pub fields: Fields,
    /// Alternate addresses (Exchange) or aliases (Rackspace Email); empty
    /// when alternates are not synced.
    pub alternates: AddressSet,
}

/// An Exchange contact the directory wants.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DesiredContact {
    pub guid: Guid,
    pub dn: String,
    pub label: String,
    /// The external address mail is delivered to.
    pub external: EmailAddress,
    /// `otherMailbox` values, naming the domain to create the contact in.
    pub other_mailbox: Vec<String>,
    /// The name (local part) to create it with, derived from the CN.
    pub proposed_name: String,
    pub fields: Fields,
}

/// An Exchange distribution list the directory wants.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DesiredList {
    pub guid: Guid,
    pub dn: String,
    pub label: String,
    pub address: EmailAddress,
    pub display_name: String,
    /// Members (GUIDs of users, contacts or groups in scope), resolved to
    /// addresses by the planner once it knows which of them sync.
    pub members: BTreeSet<Guid>,
    /// Member DNs that are not objects in scope (reported by the planner).
    pub unresolved_members: Vec<String>,
}

/// Everything the directory wants, plus what the mapping found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Desired {
    pub mailboxes: Vec<DesiredMailbox>,
    pub contacts: Vec<DesiredContact>,
    pub lists: Vec<DesiredList>,
    /// Every object in scope, including those that have an error: objects
    /// in this set are never disabled or deleted as "left the scope".
    pub in_scope: BTreeSet<Guid>,
    /// DN and label of every object in scope, for messages.
    pub labels: BTreeMap<Guid, (String, String)>,
    pub findings: Vec<dirsync_model::Finding>,
    /// Members of lists that a narrowed incremental run did not map
    /// (unchanged users anchored in scope, mailboxes dirsync keeps): the
    /// address each has in the control panel, lower case, as its anchor
    /// holds it. The planner counts them among the synced addresses, so a
    /// list whose members changed is planned from its member changes
    /// without mapping every member. Empty for a whole run.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub pinned: BTreeMap<Guid, String>,
}

/// A hosted domain as the control panel reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetDomain {
    pub name: DomainName,
    pub exchange: bool,
    pub rs_email: bool,
    pub exchange_limit: u32,
    pub exchange_used: u32,
    pub rs_email_limit: u32,
    pub rs_email_used: u32,
    /// Domain aliases: addresses there are created automatically.
    pub aliases: Vec<DomainName>,
    /// Accepted domains: alternate addresses may be there.
    pub accepted: Vec<DomainName>,
}

/// A mailbox in the control panel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetMailbox {
    pub service: Service,
    pub address: EmailAddress,
    pub enabled: bool,
    pub fields: Fields,
    /// Every address besides the primary (domain-alias ones included).
    pub addresses: AddressSet,
    /// Set (with `fields` and `addresses` left empty) when the mailbox was
    /// assembled from its listing and its anchor as dirsync last wrote it:
    /// its fields, and an Exchange mailbox's addresses, are then those of
    /// the desired mailbox of this GUID, read by the planner from the
    /// desired state rather than copied (the copies were a fifth of the
    /// peak of a full run with nothing to change). Never set on a mailbox
    /// read in detail.
    #[serde(skip)]
    pub written_as: Option<Guid>,
}

/// An Exchange contact in the control panel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetContact {
    pub address: EmailAddress,
    pub external: String,
    pub fields: Fields,
}

/// A distribution list in the control panel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetList {
    pub address: EmailAddress,
    pub display_name: String,
    pub addresses: BTreeSet<EmailAddress>,
    /// Member addresses, lower case.
    pub members: BTreeSet<String>,
}

/// A Rackspace Email alias in the control panel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetAlias {
    pub address: EmailAddress,
    /// Forwarding targets, lower case.
    pub targets: BTreeSet<String>,
}

/// The control panel's state for one customer, read with paged list calls.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetState {
    pub domains: Vec<TargetDomain>,
    pub mailboxes: Vec<TargetMailbox>,
    pub contacts: Vec<TargetContact>,
    pub lists: Vec<TargetList>,
    pub aliases: Vec<TargetAlias>,
}

/// A directory object tied to a control-panel object (hard match).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Anchor {
    pub guid: Guid,
    pub kind: TargetKind,
    pub service: Service,
    /// The control-panel object's `name@domain`.
    pub address: EmailAddress,
    pub dn: String,
    /// SHA-256 of what dirsync last wrote (see [`crate::plan::state_hash`]).
    pub hash: String,
    /// When dirsync disabled the mailbox because it left the scope (unix seconds).
    pub disabled_at: Option<i64>,
}

/// The kind of a planned operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OpKind {
    Create,
    Update,
    Rename,
    Enable,
    Disable,
    Delete,
    AddAddress,
    RemoveAddress,
    AddMember,
    RemoveMember,
}

impl OpKind {
    /// The action word the seed's messages use ("Performed action 'Create'").
    pub fn action(self) -> &'static str {
        match self {
            OpKind::Create => "Create",
            OpKind::Delete => "Delete",
            OpKind::Disable => "Disable",
            OpKind::Enable => "Enable",
            _ => "Update",
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            OpKind::Create => "create",
            OpKind::Update => "update",
            OpKind::Rename => "rename",
            OpKind::Enable => "enable",
            OpKind::Disable => "disable",
            OpKind::Delete => "delete",
            OpKind::AddAddress => "add_address",
            OpKind::RemoveAddress => "remove_address",
            OpKind::AddMember => "add_member",
            OpKind::RemoveMember => "remove_member",
        }
    }
}

/// One planned change, with its reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanOp {
    /// Position in the plan (execution order by phase).
    pub seq: u32,
    /// Operations of one phase may run concurrently; phases run in order.
    pub phase: u8,
    pub op: OpKind,
    pub kind: TargetKind,
    pub service: Service,
    /// The control-panel object, `name@domain` (before a rename).
    pub target: EmailAddress,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guid: Option<Guid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dn: Option<String>,
    pub label: String,
    /// The fields sent: all of them on create, only the changed ones on update.
    #[serde(default, skip_serializing_if = "Fields::is_empty")]
    pub fields: Fields,
    /// The address added or removed, the member added or removed, or the new
    /// address of a rename.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// List members sent with a list create.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub members: Vec<String>,
    pub reason: String,
}

/// An anchor change to record once the object's operations succeed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AnchorUpdate {
    pub guid: Guid,
    /// The anchor to write, or `None` to forget the object (deleted, or gone
    /// from the control panel after leaving the scope).
    pub anchor: Option<Anchor>,
    /// The plan operations (by `seq`) that must all succeed first.
    pub after: Vec<u32>,
}

/// The ordered plan, its findings and the anchor bookkeeping.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    pub ops: Vec<PlanOp>,
    pub findings: Vec<dirsync_model::Finding>,
    /// Anchors to write or forget when their operations succeed.
    pub anchors: Vec<AnchorUpdate>,
    /// The number of synced (anchored) objects, the threshold's base.
    pub synced: usize,
}

impl Plan {
    /// Operations that disable or delete something (the threshold counts these).
    pub fn destructive(&self) -> usize {
        self.ops
            .iter()
            .filter(|o| matches!(o.op, OpKind::Disable | OpKind::Delete))
            .count()
    }
}
