//! Distribution lists: whether a list can exist (domain, address), its
//! members (the addresses their objects will have), and its creates,
//! updates, member changes and moves to a new address.

use std::collections::BTreeSet;

use dirsync_model::{Code, Finding};

use super::ops::{state_hash, Subject};
use super::phase;
use super::planner::Planner;
use crate::types::{Anchor, Desired, DesiredList, OpKind, Service, TargetKind};

/// Plans the desired lists, after the mailboxes and contacts (their members).
/// Lists may contain lists: every list that will exist is a possible member.
pub(super) fn plan_lists<'a>(p: &mut Planner<'a>, desired: &'a Desired) {
    // Members a narrowed run did not map: synced at their anchor's address
    // (what planning their unchanged mailbox would record).
    for (g, address) in &desired.pinned {
        p.synced.entry(*g).or_insert(address.as_str().into());
    }
    for l in &desired.lists {
        if let Some(a) = p.anchors.get(&l.guid) {
            if a.address == l.address {
                p.synced.insert(l.guid, l.address.lower().into());
            }
        }
    }
    let mut ok: Vec<&DesiredList> = Vec::new();
    for l in &desired.lists {
        if precheck_list(p, l) {
            p.synced.insert(l.guid, l.address.lower().into());
            ok.push(l);
        }
    }
    for l in ok {
        plan_list(p, desired, l);
    }
}

/// Checks a list can exist (domain, address free). Reports and returns false otherwise.
fn precheck_list(p: &mut Planner<'_>, l: &DesiredList) -> bool {
    let anchor = p.anchor_of(l.guid, TargetKind::List);
    let action = if anchor.is_some() { "Update" } else { "Create" };
    if !p.domain(&l.address.domain()).is_some_and(|d| d.exchange) {
        p.findings.push(Finding::new(
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
    let free = p.index.get(l.address.lower()).is_none_or(|owner| {
        let mine = anchor.is_some_and(|a| a.address.lower() == owner.object);
        let adoptable = owner.kind == TargetKind::List
            && owner.object == l.address.lower()
            && !p.anchored_elsewhere(owner.object, l.guid);
        mine || adoptable
    });
    if !free {
        p.findings.push(Finding::new(
            Code::GroupAddressInUse,
            Some(&l.dn),
            Some(l.guid),
            [("action", action.to_string()), ("group", l.label.clone())],
        ));
    }
    free
}

/// The value of a DN's first RDN (`CN=Jane Doe,OU=...` -> `Jane Doe`).
fn rdn_value(dn: &str) -> &str {
    let first = dn.split_once(',').map_or(dn, |(rdn, _)| rdn);
    first.split_once('=').map_or(first, |(_, v)| v).trim()
}

/// The addresses of the list's members in the control panel. A member
/// without one (not synced, or not found in the directory) is reported
/// (DS104) and left out.
fn list_members(p: &mut Planner<'_>, desired: &Desired, l: &DesiredList) -> BTreeSet<String> {
    let mut members: BTreeSet<String> = BTreeSet::new();
    for g in &l.members {
        if *g == l.guid {
            continue;
        }
        match p.synced.get(g) {
            Some(addr) => {
                members.insert(addr.to_string());
            }
            None => {
                // The finding is about the member: its DN and name, not
                // its objectGUID, tell the administrator who is meant.
                let (dn, name) = desired
                    .labels
                    .get(g)
                    .cloned()
                    .unwrap_or_else(|| (format!("objectGUID {g}"), g.to_string()));
                p.findings.push(Finding::new(
                    Code::ListMemberWithoutMailbox,
                    Some(&dn),
                    Some(*g),
                    [
                        ("member", dn.clone()),
                        ("name", name),
                        ("group", l.label.clone()),
                    ],
                ));
            }
        }
    }
    for dn in &l.unresolved_members {
        p.findings.push(Finding::new(
            Code::ListMemberWithoutMailbox,
            Some(dn),
            None,
            [
                ("member", dn.clone()),
                ("name", rdn_value(dn).to_string()),
                ("group", l.label.clone()),
            ],
        ));
    }
    members
}

/// Plans one list that can exist, and records its anchor once its operations succeed.
fn plan_list(p: &mut Planner<'_>, desired: &Desired, l: &DesiredList) {
    let anchor = p.anchor_of(l.guid, TargetKind::List);
    let subject = Subject::list(l);
    let members = list_members(p, desired, l);
    let mut ops = Vec::new();
    let mut reason = "";
    if let Some(a) = anchor {
        if a.address != l.address && p.lists.contains_key(a.address.lower()) {
            let why = format!("group mail changed from '{}' to '{}'", a.address, l.address);
            p.push(subject.op(OpKind::Delete, &a.address, phase::DELETE_OTHERS, why));
        }
    } else if p.lists.contains_key(l.address.lower()) {
        reason = "adopted existing distribution list (soft match by address); ";
    }
    match p.lists.get(l.address.lower()).copied() {
        None => {
            let why = format!(
                "{reason}mail-enabled group nested in the Hosted Exchange group \
                 (created after its members)"
            );
            let mut o = subject.op(OpKind::Create, &l.address, phase::LISTS, why);
            o.fields
                .insert("displayName".into(), l.display_name.clone());
            o.members = members.iter().cloned().collect();
            ops.push(p.push(o));
        }
        Some(tl) => {
            if tl.display_name != l.display_name {
                let why = format!("{reason}changed in the directory: displayName");
                let mut o = subject.op(OpKind::Update, &l.address, phase::LISTS, why);
                o.fields
                    .insert("displayName".into(), l.display_name.clone());
                ops.push(p.push(o));
            }
            for gone in tl.members.difference(&members) {
                let why = "no longer a member in the directory".to_string();
                let o = subject
                    .op(OpKind::RemoveMember, &l.address, phase::REMOVE_MEMBER, why)
                    .with_address(gone.clone());
                ops.push(p.push(o));
            }
            for new in members.difference(&tl.members) {
                let why = "new member in the directory".to_string();
                let o = subject
                    .op(OpKind::AddMember, &l.address, phase::ADD_MEMBER, why)
                    .with_address(new.clone());
                ops.push(p.push(o));
            }
        }
    }
    let new = Anchor {
        guid: l.guid,
        kind: TargetKind::List,
        service: Service::Exchange,
        address: l.address.clone(),
        dn: l.dn.clone(),
        hash: state_hash(&(l, &members)),
        disabled_at: None,
    };
    p.record_anchor(anchor, new, ops);
}
