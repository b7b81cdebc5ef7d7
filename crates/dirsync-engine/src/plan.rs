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

use std::collections::{BTreeSet, HashMap};

use dirsync_model::{Code, DomainName, EmailAddress, Finding, Guid};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::types::*;

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

/// The fields dirsync manages on mailboxes and contacts (wire names).
pub const MANAGED_FIELDS: &[&str] = &[
    "displayName",
    "firstName",
    "lastName",
    "initials",
    "title",
    "company",
    "department",
    "office",
    "businessNumber",
    "mobileNumber",
    "faxNumber",
    "pagerNumber",
    "homeNumber",
    "businessStreet",
    "businessCity",
    "businessState",
    "businessPostalCode",
    "businessCountry",
    "customID",
    "employeeType",
];

/// SHA-256 (hex) of a value's JSON form: the anchors' "last written" hash.
pub fn state_hash<T: Serialize>(v: &T) -> String {
    let json = serde_json::to_vec(v).unwrap_or_default();
    hex::encode(Sha256::digest(json))
}

/// Who holds an address in the control panel.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Owner {
    kind: TargetKind,
    service: Service,
    /// The owning object's primary `name@domain`.
    object: String,
}

struct Ctx<'a> {
    settings: &'a PlanSettings,
    domains: HashMap<String, &'a TargetDomain>,
    index: HashMap<String, Owner>,
    mailboxes: HashMap<(Service, String), &'a TargetMailbox>,
    contacts: HashMap<String, &'a TargetContact>,
    lists: HashMap<String, &'a TargetList>,
    aliases: &'a [TargetAlias],
    anchors: HashMap<Guid, &'a Anchor>,
    /// Lower `name@domain` of anchored objects -> their GUID.
    anchored: HashMap<String, Guid>,
    /// Lower address -> GUID of the desired object that claims it.
    claims: HashMap<String, Guid>,
    /// Addresses chosen for contacts in this plan (lower case).
    contact_names: std::collections::HashSet<String>,
    /// Desired mailboxes (their alternates are reconciled in this plan).
    planned_mailboxes: std::collections::HashSet<Guid>,
    licences: HashMap<(String, Service), i64>,
    ops: Vec<PlanOp>,
    findings: Vec<Finding>,
    anchor_updates: Vec<AnchorUpdate>,
    /// GUID -> the address it will have in the control panel (for list members).
    synced: HashMap<Guid, String>,
}

impl<'a> Ctx<'a> {
    fn push(&mut self, op: PlanOp) -> u32 {
        let id = self.ops.len() as u32;
        self.ops.push(PlanOp { seq: id, ..op });
        id
    }

    fn domain(&self, d: &DomainName) -> Option<&'a TargetDomain> {
        self.domains.get(d.lower()).copied()
    }

    /// True when the control-panel `owner` of `address` is another synced
    /// mailbox that drops the address in this same plan (it moved between
    /// users in the directory), so the address is free by the time it is added.
    fn released(&self, address: &str, owner: &Owner) -> bool {
        match self.anchored.get(&owner.object) {
            Some(g) => self.planned_mailboxes.contains(g) && self.claims.get(address) != Some(g),
            None => false,
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn op(
    kind: OpKind,
    tk: TargetKind,
    service: Service,
    target: &EmailAddress,
    guid: Guid,
    dn: &str,
    label: &str,
    phase: u8,
    reason: String,
) -> PlanOp {
    PlanOp {
        seq: 0,
        phase,
        op: kind,
        kind: tk,
        service,
        target: target.clone(),
        guid: Some(guid),
        dn: Some(dn.to_string()),
        label: label.to_string(),
        fields: Fields::new(),
        address: None,
        members: Vec::new(),
        reason,
    }
}

fn diff_fields(desired: &Fields, current: &Fields, managed: &[&'static str]) -> Fields {
    let mut out = Fields::new();
    for k in managed {
        let want = desired.get(*k).map(String::as_str).unwrap_or("");
        let have = current.get(*k).map(String::as_str).unwrap_or("");
        if want != have {
            out.insert((*k).into(), want.to_string());
        }
    }
    out
}

fn managed_for(service: Service) -> Vec<&'static str> {
    MANAGED_FIELDS
        .iter()
        .copied()
        .filter(|f| service == Service::Exchange || *f != "initials")
        .collect()
}

/// Builds the plan.
pub fn plan(
    desired: &Desired,
    target: &TargetState,
    anchors: &[Anchor],
    settings: &PlanSettings,
) -> Plan {
    let mut ctx = Ctx {
        settings,
        domains: target
            .domains
            .iter()
            .map(|d| (d.name.lower().to_string(), d))
            .collect(),
        index: HashMap::new(),
        mailboxes: target
            .mailboxes
            .iter()
            .map(|m| ((m.service, m.address.lower().to_string()), m))
            .collect(),
        contacts: target
            .contacts
            .iter()
            .map(|c| (c.address.lower().to_string(), c))
            .collect(),
        lists: target
            .lists
            .iter()
            .map(|l| (l.address.lower().to_string(), l))
            .collect(),
        aliases: &target.aliases,
        anchors: anchors.iter().map(|a| (a.guid, a)).collect(),
        anchored: anchors
            .iter()
            .map(|a| (a.address.lower().to_string(), a.guid))
            .collect(),
        claims: HashMap::new(),
        contact_names: std::collections::HashSet::new(),
        planned_mailboxes: desired.mailboxes.iter().map(|m| m.guid).collect(),
        licences: HashMap::new(),
        ops: Vec::new(),
        findings: desired.findings.clone(),
        anchor_updates: Vec::new(),
        synced: HashMap::new(),
    };
    for d in &target.domains {
        ctx.licences.insert(
            (d.name.lower().to_string(), Service::Exchange),
            d.exchange_limit as i64 - d.exchange_used as i64,
        );
        ctx.licences.insert(
            (d.name.lower().to_string(), Service::RsEmail),
            d.rs_email_limit as i64 - d.rs_email_used as i64,
        );
    }
    // Address index.
    for m in &target.mailboxes {
        let owner = Owner {
            kind: TargetKind::Mailbox,
            service: m.service,
            object: m.address.lower().to_string(),
        };
        ctx.index
            .insert(m.address.lower().to_string(), owner.clone());
        for a in &m.addresses {
            ctx.index
                .entry(a.lower().to_string())
                .or_insert_with(|| owner.clone());
        }
    }
    for c in &target.contacts {
        ctx.index
            .entry(c.address.lower().to_string())
            .or_insert(Owner {
                kind: TargetKind::Contact,
                service: Service::Exchange,
                object: c.address.lower().to_string(),
            });
    }
    for l in &target.lists {
        let owner = Owner {
            kind: TargetKind::List,
            service: Service::Exchange,
            object: l.address.lower().to_string(),
        };
        ctx.index
            .entry(l.address.lower().to_string())
            .or_insert_with(|| owner.clone());
        for a in &l.addresses {
            ctx.index
                .entry(a.lower().to_string())
                .or_insert_with(|| owner.clone());
        }
    }
    for al in &target.aliases {
        // An alias forwarding to exactly one mailbox is that mailbox's alternate.
        let object = if al.targets.len() == 1 {
            al.targets.iter().next().cloned().unwrap_or_default()
        } else {
            al.address.lower().to_string()
        };
        ctx.index
            .entry(al.address.lower().to_string())
            .or_insert(Owner {
                kind: TargetKind::Mailbox,
                service: Service::RsEmail,
                object,
            });
    }
    for m in &desired.mailboxes {
        ctx.claims.insert(m.address.lower().to_string(), m.guid);
        for a in &m.alternates {
            ctx.claims.insert(a.lower().to_string(), m.guid);
        }
    }
    for l in &desired.lists {
        ctx.claims.insert(l.address.lower().to_string(), l.guid);
    }

    for m in &desired.mailboxes {
        plan_mailbox(&mut ctx, m);
    }
    for c in &desired.contacts {
        plan_contact(&mut ctx, c);
    }
    // Lists may contain lists: every list that will exist is a possible member.
    for l in &desired.lists {
        if let Some(a) = ctx.anchors.get(&l.guid) {
            if a.address == l.address {
                ctx.synced.insert(l.guid, l.address.lower().to_string());
            }
        }
    }
    let mut list_ok: Vec<&DesiredList> = Vec::new();
    for l in &desired.lists {
        if precheck_list(&mut ctx, l) {
            ctx.synced.insert(l.guid, l.address.lower().to_string());
            list_ok.push(l);
        }
    }
    for l in list_ok {
        plan_list(&mut ctx, desired, l);
    }
    plan_leavers(&mut ctx, desired, anchors);

    // Order by phase (stable), then renumber and remap anchor dependencies.
    let mut ops = std::mem::take(&mut ctx.ops);
    ops.sort_by_key(|o| o.phase);
    let mut remap = HashMap::new();
    for (i, o) in ops.iter_mut().enumerate() {
        remap.insert(o.seq, i as u32);
        o.seq = i as u32;
    }
    let mut anchors_out = std::mem::take(&mut ctx.anchor_updates);
    for a in &mut anchors_out {
        a.after = a
            .after
            .iter()
            .filter_map(|s| remap.get(s).copied())
            .collect();
    }
    Plan {
        ops,
        findings: ctx.findings,
        anchors: anchors_out,
        synced: anchors.len(),
    }
}

fn plan_mailbox(ctx: &mut Ctx, m: &DesiredMailbox) {
    let anchor = ctx
        .anchors
        .get(&m.guid)
        .copied()
        .filter(|a| a.kind == TargetKind::Mailbox);
    let label = m.label.as_str();
    let mut obj_ops: Vec<u32> = Vec::new();
    let mut current: Option<&TargetMailbox> = None;
    let mut reason_prefix = String::new();

    if let Some(a) = anchor {
        if a.service != m.service {
            ctx.findings.push(Finding::new(
                Code::ExistsInAnotherService,
                Some(&m.dn),
                Some(m.guid),
                [
                    ("user", label.to_string()),
                    ("service", m.service.mailboxes_label().to_string()),
                ],
            ));
            return;
        }
        if a.address != m.address {
            let same_domain = a.address.domain() == m.address.domain();
            let (old, new) = if same_domain {
                (
                    a.address.local_part().to_string(),
                    m.address.local_part().to_string(),
                )
            } else {
                (a.address.to_string(), m.address.to_string())
            };
            let tm = ctx
                .mailboxes
                .get(&(m.service, a.address.lower().to_string()))
                .copied();
            let free = match ctx.index.get(m.address.lower()) {
                None => true,
                Some(o) => o.object == a.address.lower(),
            };
            if ctx.settings.allow_rename && same_domain && tm.is_some() && free {
                let mut o = op(
                    OpKind::Rename,
                    TargetKind::Mailbox,
                    m.service,
                    &a.address,
                    m.guid,
                    &m.dn,
                    label,
                    phase::RENAME,
                    format!(
                        "mail changed from '{}' to '{}'; rename allowed by settings",
                        a.address, m.address
                    ),
                );
                o.address = Some(m.address.to_string());
                obj_ops.push(ctx.push(o));
                // After the rename the object carries the new address.
                current = tm;
                reason_prefix = "renamed; ".into();
            } else {
                ctx.findings.push(Finding::new(
                    Code::ServiceIdChanged,
                    Some(&m.dn),
                    Some(m.guid),
                    [("user", m.dn.clone()), ("old", old), ("new", new)],
                ));
                // The object stays anchored and in the list of synced addresses under its old address.
                ctx.synced.insert(m.guid, a.address.lower().to_string());
                // Its state still follows the directory under that address:
                // a mailbox disabled when the user left the scope is enabled
                // again when the user comes back, rename or not.
                let mut after = Vec::new();
                if let Some(tm) = tm.filter(|tm| tm.enabled != m.enabled) {
                    let (k, why) = if m.enabled {
                        (
                            OpKind::Enable,
                            "back in scope (or enabled in the directory)",
                        )
                    } else {
                        (OpKind::Disable, "account disabled in the directory")
                    };
                    after.push(ctx.push(op(
                        k,
                        TargetKind::Mailbox,
                        m.service,
                        &tm.address,
                        m.guid,
                        &m.dn,
                        label,
                        phase::OBJECTS,
                        format!("{why}; the mail attribute's change is not applied (DS008)"),
                    )));
                }
                if a.disabled_at.is_some() {
                    let mut na = a.clone();
                    na.disabled_at = None;
                    ctx.anchor_updates.push(AnchorUpdate {
                        guid: m.guid,
                        anchor: Some(na),
                        after,
                    });
                }
                return;
            }
        } else {
            current = ctx
                .mailboxes
                .get(&(m.service, m.address.lower().to_string()))
                .copied();
            if current.is_none() {
                reason_prefix = "anchored mailbox no longer exists in the control panel; ".into();
            }
        }
    } else if let Some(owner) = ctx.index.get(m.address.lower()).cloned() {
        let anchored_elsewhere = ctx
            .anchored
            .get(&owner.object)
            .is_some_and(|g| *g != m.guid);
        if owner.kind == TargetKind::Mailbox
            && owner.service == m.service
            && owner.object == m.address.lower()
            && !anchored_elsewhere
        {
            current = ctx
                .mailboxes
                .get(&(m.service, m.address.lower().to_string()))
                .copied();
            reason_prefix = "adopted existing mailbox (soft match by address); ".into();
        } else {
            ctx.findings.push(Finding::new(
                Code::ExistsInAnotherService,
                Some(&m.dn),
                Some(m.guid),
                [
                    ("user", label.to_string()),
                    ("service", m.service.mailboxes_label().to_string()),
                ],
            ));
            return;
        }
    }

    let domain = ctx.domain(&m.address.domain());
    let mut after_create = false;
    match current {
        None => {
            let Some(d) = domain.filter(|d| match m.service {
                Service::Exchange => d.exchange,
                Service::RsEmail => d.rs_email,
            }) else {
                ctx.findings.push(Finding::new(
                    Code::DomainNotAuthorized,
                    Some(&m.dn),
                    Some(m.guid),
                    [
                        ("action", "Create".to_string()),
                        ("user", label.to_string()),
                        ("domain", m.address.domain().to_string()),
                    ],
                ));
                return;
            };
            let left = ctx
                .licences
                .entry((d.name.lower().to_string(), m.service))
                .or_insert(0);
            if *left <= 0 {
                ctx.findings.push(Finding::new(
                    Code::MailboxLimitExceeded,
                    Some(&m.dn),
                    Some(m.guid),
                    [
                        ("action", "Create".to_string()),
                        ("user", label.to_string()),
                    ],
                ));
                return;
            }
            *left -= 1;
            let mut o = op(
                OpKind::Create,
                TargetKind::Mailbox,
                m.service,
                &m.address,
                m.guid,
                &m.dn,
                label,
                phase::OBJECTS,
                format!(
                    "{reason_prefix}new member of the {} group",
                    service_group(m.service)
                ),
            );
            o.fields = m.fields.clone();
            if !m.enabled {
                o.fields.insert("enabled".into(), "false".into());
            }
            obj_ops.push(ctx.push(o));
            after_create = true;
        }
        Some(tm) => {
            let changed = diff_fields(&m.fields, &tm.fields, &managed_for(m.service));
            if tm.enabled != m.enabled {
                let (k, why) = if m.enabled {
                    (OpKind::Enable, "account enabled in the directory")
                } else {
                    (OpKind::Disable, "account disabled in the directory")
                };
                obj_ops.push(ctx.push(op(
                    k,
                    TargetKind::Mailbox,
                    m.service,
                    &m.address,
                    m.guid,
                    &m.dn,
                    label,
                    phase::OBJECTS,
                    format!("{reason_prefix}{why}"),
                )));
            }
            if !changed.is_empty() {
                let names: Vec<&str> = changed.keys().map(|k| k.as_ref()).collect();
                let mut o = op(
                    OpKind::Update,
                    TargetKind::Mailbox,
                    m.service,
                    &m.address,
                    m.guid,
                    &m.dn,
                    label,
                    phase::OBJECTS,
                    format!(
                        "{reason_prefix}changed in the directory: {}",
                        names.join(", ")
                    ),
                );
                o.fields = changed;
                obj_ops.push(ctx.push(o));
            }
        }
    }

    // Alternate addresses.
    if ctx.settings.sync_alternates {
        let current_alts: BTreeSet<EmailAddress> = match (m.service, current) {
            (_, None) => BTreeSet::new(),
            (Service::Exchange, Some(tm)) => {
                let aliases: Vec<&DomainName> = domain
                    .map(|d| d.aliases.iter().collect())
                    .unwrap_or_default();
                tm.addresses
                    .iter()
                    .filter(|a| *a != &tm.address && !aliases.iter().any(|al| *al == &a.domain()))
                    .cloned()
                    .collect()
            }
            (Service::RsEmail, Some(tm)) => ctx
                .aliases
                .iter()
                .filter(|al| al.targets.len() == 1 && al.targets.contains(tm.address.lower()))
                .map(|al| al.address.clone())
                .collect(),
        };
        for gone in current_alts.difference(&m.alternates) {
            let mut o = op(
                OpKind::RemoveAddress,
                TargetKind::Mailbox,
                m.service,
                &m.address,
                m.guid,
                &m.dn,
                label,
                phase::REMOVE_ADDRESS,
                "no longer in proxyAddresses".into(),
            );
            o.address = Some(gone.to_string());
            obj_ops.push(ctx.push(o));
        }
        for new in m.alternates.difference(&current_alts) {
            if !alternate_allowed(ctx, m, new) {
                ctx.findings.push(Finding::new(
                    Code::AlternateAddressNotInDomain,
                    Some(&m.dn),
                    Some(m.guid),
                    [("user", m.dn.clone()), ("address", new.to_string())],
                ));
                continue;
            }
            if let Some(owner) = ctx.index.get(new.lower()).cloned() {
                if owner.object != m.address.lower() && !ctx.released(new.lower(), &owner) {
                    ctx.findings.push(Finding::new(
                        Code::AddressInUse,
                        Some(&m.dn),
                        Some(m.guid),
                        [
                            (
                                "action",
                                if after_create { "Create" } else { "Update" }.to_string(),
                            ),
                            ("kind", "user".to_string()),
                            ("object", label.to_string()),
                            ("address", new.to_string()),
                        ],
                    ));
                    continue;
                }
            }
            let mut o = op(
                OpKind::AddAddress,
                TargetKind::Mailbox,
                m.service,
                &m.address,
                m.guid,
                &m.dn,
                label,
                phase::ADD_ADDRESS,
                "alternate address in proxyAddresses".into(),
            );
            o.address = Some(new.to_string());
            obj_ops.push(ctx.push(o));
        }
    }

    ctx.synced.insert(m.guid, m.address.lower().to_string());
    let anchor_new = Anchor {
        guid: m.guid,
        kind: TargetKind::Mailbox,
        service: m.service,
        address: m.address.clone(),
        dn: m.dn.clone(),
        hash: state_hash(m),
        disabled_at: None,
    };
    if anchor.is_none_or(|a| *a != anchor_new) {
        ctx.anchor_updates.push(AnchorUpdate {
            guid: m.guid,
            anchor: Some(anchor_new),
            after: obj_ops,
        });
    }
}

fn service_group(s: Service) -> &'static str {
    match s {
        Service::Exchange => "Hosted Exchange",
        Service::RsEmail => "Rackspace Email",
    }
}

fn alternate_allowed(ctx: &Ctx, m: &DesiredMailbox, alt: &EmailAddress) -> bool {
    let Some(d) = ctx.domain(&m.address.domain()) else {
        return false;
    };
    let ad = alt.domain();
    if d.aliases.contains(&ad) {
        return false;
    }
    let in_accepted = ad == d.name || d.accepted.contains(&ad);
    match m.service {
        Service::Exchange => in_accepted,
        // A Rackspace Email alias lives in a Rackspace Email domain of the account.
        Service::RsEmail => in_accepted && ctx.domain(&ad).is_some_and(|x| x.rs_email),
    }
}

fn resolve_contact_domain(ctx: &Ctx, c: &DesiredContact) -> Result<DomainName, String> {
    let exchange: Vec<&TargetDomain> = ctx
        .domains
        .values()
        .copied()
        .filter(|d| d.exchange)
        .collect();
    if let Some(first) = c.other_mailbox.first() {
        for v in &c.other_mailbox {
            let v = v.trim().trim_start_matches('@');
            if let Ok(d) = DomainName::parse(v) {
                if exchange.iter().any(|x| x.name == d) {
                    return Ok(d);
                }
            }
        }
        return Err(first.clone());
    }
    if exchange.len() == 1 {
        return Ok(exchange[0].name.clone());
    }
    Err(String::new())
}

fn plan_contact(ctx: &mut Ctx, c: &DesiredContact) {
    let anchor = ctx
        .anchors
        .get(&c.guid)
        .copied()
        .filter(|a| a.kind == TargetKind::Contact);
    let label = c.label.as_str();
    let domain = match resolve_contact_domain(ctx, c) {
        Ok(d) => d,
        Err(value) => {
            ctx.findings.push(Finding::new(
                Code::ContactDomainMissing,
                Some(&c.dn),
                Some(c.guid),
                [("value", value), ("contact", c.dn.clone())],
            ));
            return;
        }
    };
    let name = match anchor {
        Some(a) if a.address.domain() == domain => a.address.local_part().to_string(),
        _ => free_contact_name(ctx, c, &domain),
    };
    let Ok(address) = EmailAddress::parse(&format!("{name}@{domain}")) else {
        ctx.findings.push(Finding::new(
            Code::InvalidMail,
            Some(&c.dn),
            Some(c.guid),
            [
                ("value", c.external.to_string()),
                ("kind", "contact".into()),
                ("object", c.dn.clone()),
            ],
        ));
        return;
    };
    let mut obj_ops = Vec::new();
    let mut current = ctx.contacts.get(address.lower()).copied();
    let mut reason = String::new();
    if let Some(a) = anchor {
        if a.address != address {
            // The contact moved to another domain: the old one goes, a new one comes.
            if ctx.contacts.contains_key(a.address.lower()) {
                let o = op(
                    OpKind::Delete,
                    TargetKind::Contact,
                    Service::Exchange,
                    &a.address,
                    c.guid,
                    &c.dn,
                    label,
                    phase::DELETE_OTHERS,
                    format!("otherMailbox now names {domain}"),
                );
                ctx.push(o);
            }
            current = None;
        }
    } else if let Some(owner) = ctx.index.get(address.lower()).cloned() {
        let anchored_elsewhere = ctx
            .anchored
            .get(&owner.object)
            .is_some_and(|g| *g != c.guid);
        if owner.kind == TargetKind::Contact && !anchored_elsewhere {
            reason = "adopted existing contact (soft match by address); ".into();
        } else {
            ctx.findings.push(Finding::new(
                Code::AddressInUse,
                Some(&c.dn),
                Some(c.guid),
                [
                    ("action", "Create".into()),
                    ("kind", "contact".into()),
                    ("object", label.to_string()),
                    ("address", address.to_string()),
                ],
            ));
            return;
        }
    }
    let mut want = c.fields.clone();
    want.insert("externalEmail".into(), c.external.to_string());
    match current {
        None => {
            let mut o = op(
                OpKind::Create,
                TargetKind::Contact,
                Service::Exchange,
                &address,
                c.guid,
                &c.dn,
                label,
                phase::OBJECTS,
                format!("{reason}new contact in the Hosted Exchange group"),
            );
            o.fields = want;
            obj_ops.push(ctx.push(o));
        }
        Some(tc) => {
            let mut have = tc.fields.clone();
            have.insert("externalEmail".into(), tc.external.clone());
            let mut managed: Vec<&str> = MANAGED_FIELDS
                .iter()
                .copied()
                .filter(|f| *f != "initials")
                .collect();
            managed.push("externalEmail");
            let mut changed = diff_fields(&want, &have, &managed);
            if changed
                .get("externalEmail")
                .is_some_and(|v| v.eq_ignore_ascii_case(&tc.external))
            {
                changed.remove("externalEmail");
            }
            if !changed.is_empty() {
                let names: Vec<&str> = changed.keys().map(|k| k.as_ref()).collect();
                let why = if changed.contains_key("externalEmail") {
                    "external address changed; updated in place"
                } else {
                    "changed in the directory"
                };
                let mut o = op(
                    OpKind::Update,
                    TargetKind::Contact,
                    Service::Exchange,
                    &address,
                    c.guid,
                    &c.dn,
                    label,
                    phase::OBJECTS,
                    format!("{reason}{why}: {}", names.join(", ")),
                );
                o.fields = changed;
                obj_ops.push(ctx.push(o));
            }
        }
    }
    ctx.synced.insert(c.guid, address.lower().to_string());
    let new_anchor = Anchor {
        guid: c.guid,
        kind: TargetKind::Contact,
        service: Service::Exchange,
        address,
        dn: c.dn.clone(),
        hash: state_hash(c),
        disabled_at: None,
    };
    if anchor.is_none_or(|a| *a != new_anchor) {
        ctx.anchor_updates.push(AnchorUpdate {
            guid: c.guid,
            anchor: Some(new_anchor),
            after: obj_ops,
        });
    }
}

/// The name for a new contact: the one derived from its CN, or, when that
/// address is taken (by another contact of this plan, a desired mailbox or
/// list, or a control-panel object that is not an adoptable contact), the
/// same with the first free numeric suffix.
fn free_contact_name(ctx: &mut Ctx, c: &DesiredContact, domain: &DomainName) -> String {
    let base = c.proposed_name.clone();
    for n in 1..100u32 {
        let name = if n == 1 {
            base.clone()
        } else {
            format!("{base}{n}")
        };
        let key = format!("{name}@{}", domain.lower());
        let in_plan = ctx.contact_names.contains(&key) || ctx.claims.contains_key(&key);
        let in_target = ctx.index.get(&key).is_some_and(|owner| {
            let anchored_elsewhere = ctx
                .anchored
                .get(&owner.object)
                .is_some_and(|g| *g != c.guid);
            owner.kind != TargetKind::Contact || anchored_elsewhere
        });
        if !in_plan && !in_target {
            ctx.contact_names.insert(key);
            return name;
        }
    }
    base
}

/// Checks a list can exist (domain, address free). Reports and returns false otherwise.
fn precheck_list(ctx: &mut Ctx, l: &DesiredList) -> bool {
    let anchor = ctx
        .anchors
        .get(&l.guid)
        .copied()
        .filter(|a| a.kind == TargetKind::List);
    let action = if anchor.is_some() { "Update" } else { "Create" };
    if !ctx.domain(&l.address.domain()).is_some_and(|d| d.exchange) {
        ctx.findings.push(Finding::new(
            Code::DomainNotAuthorized,
            Some(&l.dn),
            Some(l.guid),
            [
                ("action", action.to_string()),
                ("user", l.label.clone()),
                ("domain", l.address.domain().to_string()),
            ],
        ));
        return false;
    }
    if let Some(owner) = ctx.index.get(l.address.lower()).cloned() {
        let mine = anchor.is_some_and(|a| a.address.lower() == owner.object);
        let anchored_elsewhere = ctx
            .anchored
            .get(&owner.object)
            .is_some_and(|g| *g != l.guid);
        let adoptable = owner.kind == TargetKind::List
            && owner.object == l.address.lower()
            && !anchored_elsewhere;
        if !(mine || adoptable) {
            ctx.findings.push(Finding::new(
                Code::GroupAddressInUse,
                Some(&l.dn),
                Some(l.guid),
                [("action", action.to_string()), ("group", l.label.clone())],
            ));
            return false;
        }
    }
    true
}

/// The value of a DN's first RDN (`CN=Jane Doe,OU=...` -> `Jane Doe`).
fn rdn_value(dn: &str) -> &str {
    let first = dn.split_once(',').map_or(dn, |(rdn, _)| rdn);
    first.split_once('=').map_or(first, |(_, v)| v).trim()
}

fn plan_list(ctx: &mut Ctx, desired: &Desired, l: &DesiredList) {
    let anchor = ctx
        .anchors
        .get(&l.guid)
        .copied()
        .filter(|a| a.kind == TargetKind::List);
    let label = l.label.as_str();
    let mut members: BTreeSet<String> = BTreeSet::new();
    for g in &l.members {
        if *g == l.guid {
            continue;
        }
        match ctx.synced.get(g) {
            Some(addr) => {
                members.insert(addr.clone());
            }
            None => {
                // The finding is about the member: its DN and name, not
                // its objectGUID, tell the administrator who is meant.
                let (dn, name) = desired
                    .labels
                    .get(g)
                    .cloned()
                    .unwrap_or_else(|| (format!("objectGUID {g}"), g.to_string()));
                ctx.findings.push(Finding::new(
                    Code::ListMemberWithoutMailbox,
                    Some(&dn),
                    Some(*g),
                    [
                        ("member", dn.clone()),
                        ("name", name),
                        ("group", label.to_string()),
                    ],
                ));
            }
        }
    }
    for dn in &l.unresolved_members {
        ctx.findings.push(Finding::new(
            Code::ListMemberWithoutMailbox,
            Some(dn),
            None,
            [
                ("member", dn.clone()),
                ("name", rdn_value(dn).to_string()),
                ("group", label.to_string()),
            ],
        ));
    }
    let mut obj_ops = Vec::new();
    let mut reason = String::new();
    if let Some(a) = anchor {
        if a.address != l.address && ctx.lists.contains_key(a.address.lower()) {
            let o = op(
                OpKind::Delete,
                TargetKind::List,
                Service::Exchange,
                &a.address,
                l.guid,
                &l.dn,
                label,
                phase::DELETE_OTHERS,
                format!("group mail changed from '{}' to '{}'", a.address, l.address),
            );
            ctx.push(o);
        }
    } else if ctx.lists.contains_key(l.address.lower()) {
        reason = "adopted existing distribution list (soft match by address); ".into();
    }
    match ctx.lists.get(l.address.lower()).copied() {
        None => {
            let mut o = op(OpKind::Create, TargetKind::List, Service::Exchange, &l.address, l.guid, &l.dn, label, phase::LISTS, format!("{reason}mail-enabled group nested in the Hosted Exchange group (created after its members)"));
            o.fields
                .insert("displayName".into(), l.display_name.clone());
            o.members = members.iter().cloned().collect();
            obj_ops.push(ctx.push(o));
        }
        Some(tl) => {
            if tl.display_name != l.display_name {
                let mut o = op(
                    OpKind::Update,
                    TargetKind::List,
                    Service::Exchange,
                    &l.address,
                    l.guid,
                    &l.dn,
                    label,
                    phase::LISTS,
                    format!("{reason}changed in the directory: displayName"),
                );
                o.fields
                    .insert("displayName".into(), l.display_name.clone());
                obj_ops.push(ctx.push(o));
            }
            for gone in tl.members.difference(&members) {
                let mut o = op(
                    OpKind::RemoveMember,
                    TargetKind::List,
                    Service::Exchange,
                    &l.address,
                    l.guid,
                    &l.dn,
                    label,
                    phase::REMOVE_MEMBER,
                    "no longer a member in the directory".into(),
                );
                o.address = Some(gone.clone());
                obj_ops.push(ctx.push(o));
            }
            for new in members.difference(&tl.members) {
                let mut o = op(
                    OpKind::AddMember,
                    TargetKind::List,
                    Service::Exchange,
                    &l.address,
                    l.guid,
                    &l.dn,
                    label,
                    phase::ADD_MEMBER,
                    "new member in the directory".into(),
                );
                o.address = Some(new.clone());
                obj_ops.push(ctx.push(o));
            }
        }
    }
    let new_anchor = Anchor {
        guid: l.guid,
        kind: TargetKind::List,
        service: Service::Exchange,
        address: l.address.clone(),
        dn: l.dn.clone(),
        hash: state_hash(&(l, &members)),
        disabled_at: None,
    };
    if anchor.is_none_or(|a| *a != new_anchor) {
        ctx.anchor_updates.push(AnchorUpdate {
            guid: l.guid,
            anchor: Some(new_anchor),
            after: obj_ops,
        });
    }
}

fn plan_leavers(ctx: &mut Ctx, desired: &Desired, anchors: &[Anchor]) {
    let mut leavers: Vec<&Anchor> = anchors
        .iter()
        .filter(|a| !desired.in_scope.contains(&a.guid))
        .collect();
    leavers.sort_by_key(|a| a.dn.to_ascii_lowercase());
    for a in leavers {
        let label =
            a.dn.split(',')
                .next()
                .and_then(|r| r.split_once('='))
                .map(|(_, v)| v.to_string())
                .unwrap_or_else(|| a.dn.clone());
        match a.kind {
            TargetKind::Mailbox => {
                let Some(tm) = ctx
                    .mailboxes
                    .get(&(a.service, a.address.lower().to_string()))
                    .copied()
                else {
                    ctx.anchor_updates.push(AnchorUpdate {
                        guid: a.guid,
                        anchor: None,
                        after: vec![],
                    });
                    continue;
                };
                let since = a.disabled_at.unwrap_or(ctx.settings.now);
                let why = format!("left the {} group", service_group(a.service));
                match ctx.settings.delete_policy {
                    DeletePolicy::AfterGrace { days }
                        if a.disabled_at.is_some()
                            && ctx.settings.now - since >= days as i64 * 86_400 =>
                    {
                        let s = ctx.push(op(
                            OpKind::Delete,
                            TargetKind::Mailbox,
                            a.service,
                            &a.address,
                            a.guid,
                            &a.dn,
                            &label,
                            phase::LEAVE_MAILBOXES,
                            format!(
                                "{why} {days} or more days ago; deleted under the delete policy"
                            ),
                        ));
                        ctx.anchor_updates.push(AnchorUpdate {
                            guid: a.guid,
                            anchor: None,
                            after: vec![s],
                        });
                        continue;
                    }
                    DeletePolicy::AfterGrace { days } => {
                        let when =
                            time::OffsetDateTime::from_unix_timestamp(since + days as i64 * 86_400)
                                .map(|t| t.date().to_string())
                                .unwrap_or_default();
                        ctx.findings.push(Finding::new(
                            Code::DeletionDeferred,
                            Some(&a.dn),
                            Some(a.guid),
                            [
                                ("address", a.address.to_string()),
                                ("object", a.dn.clone()),
                                ("date", when),
                            ],
                        ));
                    }
                    DeletePolicy::Never => {}
                }
                let mut after = vec![];
                if tm.enabled {
                    after.push(ctx.push(op(
                        OpKind::Disable,
                        TargetKind::Mailbox,
                        a.service,
                        &a.address,
                        a.guid,
                        &a.dn,
                        &label,
                        phase::LEAVE_MAILBOXES,
                        format!("{why}; disabled, not deleted"),
                    )));
                }
                if a.disabled_at.is_none() {
                    let mut na = a.clone();
                    na.disabled_at = Some(ctx.settings.now);
                    ctx.anchor_updates.push(AnchorUpdate {
                        guid: a.guid,
                        anchor: Some(na),
                        after,
                    });
                }
            }
            TargetKind::Contact | TargetKind::List => {
                let exists = match a.kind {
                    TargetKind::Contact => ctx.contacts.contains_key(a.address.lower()),
                    _ => ctx.lists.contains_key(a.address.lower()),
                };
                if exists {
                    let what = if a.kind == TargetKind::Contact {
                        "contact left the Hosted Exchange group"
                    } else {
                        "group left the Hosted Exchange group or is no longer mail-enabled"
                    };
                    let s = ctx.push(op(
                        OpKind::Delete,
                        a.kind,
                        Service::Exchange,
                        &a.address,
                        a.guid,
                        &a.dn,
                        &label,
                        phase::DELETE_OTHERS,
                        format!("{what}; deleted"),
                    ));
                    ctx.anchor_updates.push(AnchorUpdate {
                        guid: a.guid,
                        anchor: None,
                        after: vec![s],
                    });
                } else {
                    ctx.anchor_updates.push(AnchorUpdate {
                        guid: a.guid,
                        anchor: None,
                        after: vec![],
                    });
                }
            }
        }
    }
}

/// Groups `fields` names for messages.
pub fn field_names(f: &Fields) -> String {
    f.keys().map(|k| k.as_ref()).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mapping::tests::{contact, group, guid, snapshot, user};
    use crate::mapping::{desired_state, MappingSettings};
    use dirsync_model::DirectoryObject;

    fn dom(name: &str, ex: bool, rs: bool, limit: u32, used: u32) -> TargetDomain {
        TargetDomain {
            name: DomainName::parse(name).unwrap(),
            exchange: ex,
            rs_email: rs,
            exchange_limit: limit,
            exchange_used: used,
            rs_email_limit: limit,
            rs_email_used: used,
            aliases: vec![],
            accepted: vec![],
        }
    }

    fn e(s: &str) -> EmailAddress {
        EmailAddress::parse(s).unwrap()
    }

    fn tmb(service: Service, address: &str, display: &str, alts: &[&str]) -> TargetMailbox {
        let mut fields = Fields::new();
        fields.insert("displayName".into(), display.into());
        let first = display.split(' ').next().unwrap().to_string();
        fields.insert("firstName".into(), first);
        TargetMailbox {
            service,
            address: e(address),
            enabled: true,
            fields,
            addresses: std::iter::once(e(address))
                .chain(alts.iter().map(|a| e(a)))
                .collect(),
        }
    }

    fn anchor(n: u8, kind: TargetKind, service: Service, address: &str, dn: &str) -> Anchor {
        Anchor {
            guid: guid(n),
            kind,
            service,
            address: e(address),
            dn: dn.into(),
            hash: String::new(),
            disabled_at: None,
        }
    }

    fn base_target() -> TargetState {
        TargetState {
            domains: vec![dom("example.com", true, true, 100, 0)],
            ..Default::default()
        }
    }

    fn run(
        ex: Vec<DirectoryObject>,
        rs: Vec<DirectoryObject>,
        target: &TargetState,
        anchors: &[Anchor],
        s: PlanSettings,
    ) -> Plan {
        let d = desired_state(
            &snapshot(ex, rs, vec![]),
            MappingSettings {
                sync_alternates: s.sync_alternates,
            },
        );
        plan(&d, target, anchors, &s)
    }

    fn summary(p: &Plan) -> Vec<String> {
        p.ops
            .iter()
            .map(|o| {
                let mut s = format!("{}:{} {}", o.phase, o.op.as_str(), o.target.lower());
                if let Some(a) = &o.address {
                    s.push_str(&format!(" {}", a.to_ascii_lowercase()));
                }
                if o.op == OpKind::Update {
                    s.push_str(&format!(" [{}]", field_names(&o.fields)));
                }
                s
            })
            .collect()
    }

    fn codes(p: &Plan) -> Vec<&'static str> {
        p.findings.iter().map(|f| f.code.as_str()).collect()
    }

    const JANE_DN: &str = "CN=Jane Doe,OU=Staff,DC=example,DC=com";

    #[test]
    fn planner_table() {
        struct Case {
            name: &'static str,
            ex: Vec<DirectoryObject>,
            rs: Vec<DirectoryObject>,
            target: TargetState,
            anchors: Vec<Anchor>,
            settings: PlanSettings,
            ops: Vec<&'static str>,
            codes: Vec<&'static str>,
        }
        let jane = || user(1, "Jane Doe", Some("jane@example.com"));
        let mut jane_alt = jane();
        jane_alt.proxy_addresses =
            vec!["SMTP:jane@example.com".into(), "smtp:jd@example.com".into()];
        let mut jane_title = jane();
        jane_title.info.title = Some("CTO".into());
        let mut jane_off = jane();
        jane_off.disabled = true;
        let mut jane_foreign_alt = jane();
        jane_foreign_alt.proxy_addresses = vec!["smtp:jane@other.org".into()];
        let anchored = || {
            vec![anchor(
                1,
                TargetKind::Mailbox,
                Service::Exchange,
                "jane@example.com",
                JANE_DN,
            )]
        };
        let with_jane = |alts: &[&str]| {
            let mut t = base_target();
            t.mailboxes
                .push(tmb(Service::Exchange, "jane@example.com", "Jane Doe", alts));
            t
        };
        let mut two_licences_used = base_target();
        two_licences_used.domains[0].exchange_limit = 3;
        two_licences_used.domains[0].exchange_used = 2;
        let mut accepted = base_target();
        accepted.domains[0].accepted = vec![DomainName::parse("other.org").unwrap()];
        let mut aliased = base_target();
        aliased.domains[0].aliases = vec![DomainName::parse("other.org").unwrap()];
        let mut rs_has_jane = base_target();
        rs_has_jane
            .mailboxes
            .push(tmb(Service::RsEmail, "jane@example.com", "Jane Doe", &[]));
        let mut bob_has_jd = base_target();
        bob_has_jd.mailboxes.push(tmb(
            Service::Exchange,
            "bob@example.com",
            "Bob",
            &["jd@example.com"],
        ));
        let bob = user(2, "Bob", Some("bob@example.com"));
        let mut moved = with_jane(&[]);
        moved.mailboxes.push(tmb(
            Service::Exchange,
            "bob@example.com",
            "Bob",
            &["jd@example.com"],
        ));
        let mut moved_anchors = anchored();
        moved_anchors.push(anchor(
            2,
            TargetKind::Mailbox,
            Service::Exchange,
            "bob@example.com",
            "CN=Bob,OU=Staff,DC=example,DC=com",
        ));
        let renamed = user(1, "Jane Doe", Some("jane.doe@example.com"));
        let grace = PlanSettings {
            delete_policy: DeletePolicy::AfterGrace { days: 30 },
            now: 100 * 86_400,
            ..Default::default()
        };
        let mut old_leaver = anchored();
        old_leaver[0].disabled_at = Some(50 * 86_400);

        let cases = vec![
            Case {
                name: "new user with an alternate",
                ex: vec![jane_alt.clone()],
                rs: vec![],
                target: base_target(),
                anchors: vec![],
                settings: PlanSettings::default(),
                ops: vec![
                    "1:create jane@example.com",
                    "3:add_address jane@example.com jd@example.com",
                ],
                codes: vec![],
            },
            Case {
                name: "new Rackspace Email user",
                ex: vec![],
                rs: vec![jane()],
                target: base_target(),
                anchors: vec![],
                settings: PlanSettings::default(),
                ops: vec!["1:create jane@example.com"],
                codes: vec![],
            },
            Case {
                name: "anchored and unchanged",
                ex: vec![jane()],
                rs: vec![],
                target: with_jane(&[]),
                anchors: anchored(),
                settings: PlanSettings::default(),
                ops: vec![],
                codes: vec![],
            },
            Case {
                name: "only changed fields are sent",
                ex: vec![jane_title.clone()],
                rs: vec![],
                target: with_jane(&[]),
                anchors: anchored(),
                settings: PlanSettings::default(),
                ops: vec!["1:update jane@example.com [title]"],
                codes: vec![],
            },
            Case {
                name: "soft match adopts",
                ex: vec![jane_title],
                rs: vec![],
                target: with_jane(&[]),
                anchors: vec![],
                settings: PlanSettings::default(),
                ops: vec!["1:update jane@example.com [title]"],
                codes: vec![],
            },
            Case {
                name: "disabled in AD",
                ex: vec![jane_off],
                rs: vec![],
                target: with_jane(&[]),
                anchors: anchored(),
                settings: PlanSettings::default(),
                ops: vec!["1:disable jane@example.com"],
                codes: vec![],
            },
            Case {
                name: "alternate removed from AD",
                ex: vec![jane()],
                rs: vec![],
                target: with_jane(&["jd@example.com"]),
                anchors: anchored(),
                settings: PlanSettings::default(),
                ops: vec!["2:remove_address jane@example.com jd@example.com"],
                codes: vec![],
            },
            Case {
                name: "alternates off leaves them alone",
                ex: vec![jane()],
                rs: vec![],
                target: with_jane(&["jd@example.com"]),
                anchors: anchored(),
                settings: PlanSettings {
                    sync_alternates: false,
                    ..Default::default()
                },
                ops: vec![],
                codes: vec![],
            },
            Case {
                name: "domain not on the account",
                ex: vec![user(1, "X", Some("x@nowhere.net"))],
                rs: vec![],
                target: base_target(),
                anchors: vec![],
                settings: PlanSettings::default(),
                ops: vec![],
                codes: vec!["DS004"],
            },
            Case {
                name: "licences run out",
                ex: vec![
                    user(1, "A", Some("a@example.com")),
                    user(2, "B", Some("b@example.com")),
                ],
                rs: vec![],
                target: two_licences_used,
                anchors: vec![],
                settings: PlanSettings::default(),
                ops: vec!["1:create a@example.com"],
                codes: vec!["DS002"],
            },
            Case {
                name: "exists in another service",
                ex: vec![jane()],
                rs: vec![],
                target: rs_has_jane,
                anchors: vec![],
                settings: PlanSettings::default(),
                ops: vec![],
                codes: vec!["DS003"],
            },
            Case {
                name: "alternate outside accepted domains",
                ex: vec![jane_foreign_alt.clone()],
                rs: vec![],
                target: with_jane(&[]),
                anchors: anchored(),
                settings: PlanSettings::default(),
                ops: vec![],
                codes: vec!["DS006"],
            },
            Case {
                name: "alternate in an accepted domain",
                ex: vec![jane_foreign_alt.clone()],
                rs: vec![],
                target: {
                    let mut t = accepted.clone();
                    t.mailboxes
                        .push(tmb(Service::Exchange, "jane@example.com", "Jane Doe", &[]));
                    t
                },
                anchors: anchored(),
                settings: PlanSettings::default(),
                ops: vec!["3:add_address jane@example.com jane@other.org"],
                codes: vec![],
            },
            Case {
                name: "alternate in a domain alias",
                ex: vec![jane_foreign_alt],
                rs: vec![],
                target: aliased,
                anchors: vec![],
                settings: PlanSettings::default(),
                ops: vec!["1:create jane@example.com"],
                codes: vec!["DS006"],
            },
            Case {
                name: "alternate used by an unmanaged mailbox",
                ex: vec![jane_alt.clone()],
                rs: vec![],
                target: bob_has_jd,
                anchors: vec![],
                settings: PlanSettings::default(),
                ops: vec!["1:create jane@example.com"],
                codes: vec!["DS010"],
            },
            Case {
                name: "alternate moves between synced users",
                ex: vec![jane_alt, bob],
                rs: vec![],
                target: moved,
                anchors: moved_anchors,
                settings: PlanSettings::default(),
                ops: vec![
                    "2:remove_address bob@example.com jd@example.com",
                    "3:add_address jane@example.com jd@example.com",
                ],
                codes: vec![],
            },
            Case {
                name: "rename refused",
                ex: vec![renamed.clone()],
                rs: vec![],
                target: with_jane(&[]),
                anchors: anchored(),
                settings: PlanSettings::default(),
                ops: vec![],
                codes: vec!["DS008"],
            },
            Case {
                name: "rename refused, mailbox disabled as a leaver comes back enabled",
                ex: vec![renamed.clone()],
                rs: vec![],
                target: {
                    let mut t = with_jane(&[]);
                    t.mailboxes[0].enabled = false;
                    t
                },
                anchors: old_leaver.clone(),
                settings: PlanSettings::default(),
                ops: vec!["1:enable jane@example.com"],
                codes: vec!["DS008"],
            },
            Case {
                name: "rename allowed",
                ex: vec![renamed],
                rs: vec![],
                target: with_jane(&[]),
                anchors: anchored(),
                settings: PlanSettings {
                    allow_rename: true,
                    ..Default::default()
                },
                ops: vec!["0:rename jane@example.com jane.doe@example.com"],
                codes: vec![],
            },
            Case {
                name: "leaver is disabled, never deleted",
                ex: vec![],
                rs: vec![],
                target: with_jane(&[]),
                anchors: anchored(),
                settings: PlanSettings::default(),
                ops: vec!["8:disable jane@example.com"],
                codes: vec![],
            },
            Case {
                name: "leaver within grace period",
                ex: vec![],
                rs: vec![],
                target: with_jane(&[]),
                anchors: anchored(),
                settings: grace,
                ops: vec!["8:disable jane@example.com"],
                codes: vec!["DS106"],
            },
            Case {
                name: "leaver after grace period",
                ex: vec![],
                rs: vec![],
                target: with_jane(&[]),
                anchors: old_leaver,
                settings: grace,
                ops: vec!["8:delete jane@example.com"],
                codes: vec![],
            },
            Case {
                name: "leaver already gone",
                ex: vec![],
                rs: vec![],
                target: base_target(),
                anchors: anchored(),
                settings: PlanSettings::default(),
                ops: vec![],
                codes: vec![],
            },
        ];
        for c in cases {
            let p = run(c.ex, c.rs, &c.target, &c.anchors, c.settings);
            assert_eq!(summary(&p), c.ops, "{}", c.name);
            assert_eq!(codes(&p), c.codes, "{}: {:?}", c.name, p.findings);
        }
    }

    #[test]
    fn ds008_mailbox_back_in_scope_is_enabled_and_loses_its_leaver_date() {
        // Steps of the report: mail renamed (DS008), user removed from the
        // group (disabled), then added back.
        let mut t = base_target();
        t.mailboxes
            .push(tmb(Service::Exchange, "jane@example.com", "Jane Doe", &[]));
        t.mailboxes[0].enabled = false;
        let mut a = anchor(
            1,
            TargetKind::Mailbox,
            Service::Exchange,
            "jane@example.com",
            JANE_DN,
        );
        a.disabled_at = Some(1_000);
        let p = run(
            vec![user(1, "Jane Doe", Some("jane.doe@example.com"))],
            vec![],
            &t,
            std::slice::from_ref(&a),
            PlanSettings::default(),
        );
        assert_eq!(summary(&p), vec!["1:enable jane@example.com"]);
        assert_eq!(codes(&p), vec!["DS008"]);
        let u = &p.anchors[0];
        let na = u.anchor.as_ref().unwrap();
        assert_eq!(
            (na.address.to_string(), na.disabled_at),
            ("jane@example.com".into(), None)
        );
        assert_eq!(
            u.after,
            vec![0],
            "the anchor changes once the enable is done"
        );
    }

    #[test]
    fn rename_message_uses_seed_values() {
        let p = run(
            vec![user(1, "Jane Doe", Some("userB@example.com"))],
            vec![],
            &{
                let mut t = base_target();
                t.mailboxes
                    .push(tmb(Service::Exchange, "userA@example.com", "Jane Doe", &[]));
                t
            },
            &[anchor(
                1,
                TargetKind::Mailbox,
                Service::Exchange,
                "userA@example.com",
                JANE_DN,
            )],
            PlanSettings::default(),
        );
        assert_eq!(p.findings[0].message, format!("The Service ID specified in the mail attribute for user '{JANE_DN}' has changed from 'userA' to 'userB'. Directory Sync cannot change the Service ID for an object."));
    }

    #[test]
    fn lists_after_members_and_anchor_dependencies() {
        let a = user(1, "A", Some("a@example.com"));
        let bad = user(2, "Bad", Some(""));
        let l = group(3, "Sales", Some("sales@example.com"), &[&a, &bad]);
        let p = run(
            vec![a, bad, l],
            vec![],
            &base_target(),
            &[],
            PlanSettings::default(),
        );
        assert_eq!(
            summary(&p),
            vec!["1:create a@example.com", "4:create sales@example.com"]
        );
        assert_eq!(p.ops[1].members, vec!["a@example.com"]);
        assert_eq!(codes(&p), vec!["DS001", "DS104"]);
        // DS104 names the member (its DN and display name), not the list's DN or a GUID.
        let ds104 = &p.findings[1];
        assert_eq!(
            ds104.dn.as_deref(),
            Some("CN=Bad,OU=Staff,DC=example,DC=com")
        );
        assert_eq!(
            ds104.message,
            "Member 'CN=Bad,OU=Staff,DC=example,DC=com' (Bad) of distribution list 'Sales' has no synced mailbox or contact; it is left out of the list."
        );
        let list_anchor = p.anchors.iter().find(|x| x.guid == guid(3)).unwrap();
        assert_eq!(list_anchor.after, vec![1]);
    }

    #[test]
    fn list_member_changes_and_address_in_use() {
        let a = user(1, "A", Some("a@example.com"));
        let b = user(2, "B", Some("b@example.com"));
        let l = group(3, "Sales", Some("sales@example.com"), &[&a]);
        let mut t = base_target();
        t.mailboxes
            .push(tmb(Service::Exchange, "a@example.com", "A", &[]));
        t.mailboxes
            .push(tmb(Service::Exchange, "b@example.com", "B", &[]));
        t.lists.push(TargetList {
            address: e("sales@example.com"),
            display_name: "Sales".into(),
            addresses: BTreeSet::new(),
            members: ["b@example.com".to_string()].into_iter().collect(),
        });
        let anchors = vec![
            anchor(
                1,
                TargetKind::Mailbox,
                Service::Exchange,
                "a@example.com",
                "CN=A,OU=Staff,DC=example,DC=com",
            ),
            anchor(
                2,
                TargetKind::Mailbox,
                Service::Exchange,
                "b@example.com",
                "CN=B,OU=Staff,DC=example,DC=com",
            ),
            anchor(
                3,
                TargetKind::List,
                Service::Exchange,
                "sales@example.com",
                "CN=Sales,OU=Groups,DC=example,DC=com",
            ),
        ];
        let p = run(
            vec![a.clone(), b.clone(), l],
            vec![],
            &t,
            &anchors,
            PlanSettings::default(),
        );
        assert_eq!(
            summary(&p),
            vec![
                "5:remove_member sales@example.com b@example.com",
                "6:add_member sales@example.com a@example.com"
            ]
        );

        // A list whose address is a mailbox's: DS005 with the seed's wording.
        let l2 = group(4, "Security Group", Some("b@example.com"), &[&a]);
        let mut t2 = base_target();
        t2.mailboxes
            .push(tmb(Service::Exchange, "b@example.com", "B", &[]));
        let p = run(vec![a, l2], vec![], &t2, &[], PlanSettings::default());
        assert_eq!(codes(&p), vec!["DS005"]);
        assert_eq!(p.findings[0].message, "Performed action 'Create' for group 'Security Group'. Error occurred when provisioning group 'Security Group' for Hosted Exchange Distribution List: Please check that the group does not already exist in another service in control panel.");
    }

    #[test]
    fn contacts() {
        let two_domains = {
            let mut t = base_target();
            t.domains.push(dom("example.org", true, false, 10, 0));
            t
        };
        let c = contact(5, "Gmail Aaron Medrano", "aaron@gmail.com", &[]);
        let p = run(
            vec![c.clone()],
            vec![],
            &two_domains,
            &[],
            PlanSettings::default(),
        );
        assert_eq!(codes(&p), vec!["DS007"]);
        assert_eq!(p.findings[0].message, "The value '' specified in the otherMailBox attribute for contact 'CN=Gmail Aaron Medrano,OU=Contacts,DC=example,DC=com' is invalid.");
        let p = run(
            vec![c.clone()],
            vec![],
            &base_target(),
            &[],
            PlanSettings::default(),
        );
        assert_eq!(
            summary(&p),
            vec!["1:create gmail.aaron.medrano@example.com"]
        );
        let named = contact(
            5,
            "Gmail Aaron Medrano",
            "aaron@gmail.com",
            &["example.org"],
        );
        let p = run(
            vec![named],
            vec![],
            &two_domains,
            &[],
            PlanSettings::default(),
        );
        assert_eq!(
            summary(&p),
            vec!["1:create gmail.aaron.medrano@example.org"]
        );
        // External address change: updated in place.
        let mut t = base_target();
        let mut fields = Fields::new();
        fields.insert("displayName".into(), "Gmail Aaron Medrano".into());
        t.contacts.push(TargetContact {
            address: e("gmail.aaron.medrano@example.com"),
            external: "old@gmail.com".into(),
            fields,
        });
        let anchors = vec![anchor(
            5,
            TargetKind::Contact,
            Service::Exchange,
            "gmail.aaron.medrano@example.com",
            &c.dn,
        )];
        let p = run(vec![c], vec![], &t, &anchors, PlanSettings::default());
        assert_eq!(
            summary(&p),
            vec!["1:update gmail.aaron.medrano@example.com [externalEmail]"]
        );
        // Leaving scope: deleted.
        let p = run(vec![], vec![], &t, &anchors, PlanSettings::default());
        assert_eq!(
            summary(&p),
            vec!["7:delete gmail.aaron.medrano@example.com"]
        );
        assert_eq!(p.anchors[0].anchor, None);
    }

    #[test]
    fn contacts_with_the_same_name_get_distinct_addresses() {
        let a = contact(5, "Pat Partner", "pat@one.test", &[]);
        let mut b = contact(6, "Pat Partner", "pat@two.test", &[]);
        b.dn = "CN=Pat Partner,OU=Other,DC=example,DC=com".into();
        let mut t = base_target();
        // A mailbox already holds the third candidate name.
        t.mailboxes
            .push(tmb(Service::Exchange, "pat.partner3@example.com", "X", &[]));
        let c = contact(7, "Pat Partner", "pat@three.test", &[]);
        let mut c = c;
        c.dn = "CN=Pat Partner,OU=Third,DC=example,DC=com".into();
        let p = run(vec![a, b, c], vec![], &t, &[], PlanSettings::default());
        let mut got: Vec<String> = summary(&p);
        got.sort();
        assert_eq!(
            got,
            vec![
                "1:create pat.partner2@example.com",
                "1:create pat.partner4@example.com",
                "1:create pat.partner@example.com"
            ]
        );
    }

    #[test]
    fn objects_in_scope_with_errors_are_never_disabled() {
        let p = run(
            vec![user(1, "Jane Doe", Some(""))],
            vec![],
            &{
                let mut t = base_target();
                t.mailboxes
                    .push(tmb(Service::Exchange, "jane@example.com", "Jane Doe", &[]));
                t
            },
            &[anchor(
                1,
                TargetKind::Mailbox,
                Service::Exchange,
                "jane@example.com",
                JANE_DN,
            )],
            PlanSettings::default(),
        );
        assert!(p.ops.is_empty(), "{:?}", p.ops);
        assert_eq!(codes(&p), vec!["DS001"]);
    }
}
