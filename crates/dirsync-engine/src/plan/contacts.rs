//! Contacts: the Exchange domain a contact lives in, a free name for it,
//! matching (anchor, or soft match by address), and its creates, updates
//! and moves between domains.

use dirsync_model::{Code, DomainName, EmailAddress, Finding};

use super::ops::{contact_fields, diff_fields, state_hash, Subject};
use super::phase;
use super::planner::Planner;
use crate::types::{Anchor, DesiredContact, OpKind, Service, TargetDomain, TargetKind};

/// Plans one desired contact, and records its anchor once its operations succeed.
pub(super) fn plan_contact(p: &mut Planner<'_>, c: &DesiredContact) {
    let anchor = p.anchor_of(c.guid, TargetKind::Contact);
    let domain = match resolve_contact_domain(p, c) {
        Ok(d) => d,
        Err(value) => {
            p.findings.push(Finding::new(
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
        _ => free_contact_name(p, c, &domain),
    };
    let Ok(address) = EmailAddress::parse(&format!("{name}@{domain}")) else {
        p.findings.push(Finding::new(
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
    let Some(reason) = match_contact(p, c, anchor, &address, &domain) else {
        return;
    };
    let ops = create_or_update(p, c, anchor, &address, reason);
    p.synced.insert(c.guid, address.lower().to_string().into());
    let new = Anchor {
        guid: c.guid,
        kind: TargetKind::Contact,
        service: Service::Exchange,
        address,
        dn: c.dn.clone(),
        hash: state_hash(c),
        disabled_at: None,
    };
    p.record_anchor(anchor, new, ops);
}

/// Matches the contact at `address`. An anchored contact that moved to
/// another domain has its old control-panel contact deleted; an unanchored
/// one adopts a contact at its address nobody else is anchored to (DS010
/// when another kind of object holds it). Returns the reason's prefix, or
/// `None` when the contact cannot be planned.
fn match_contact(
    p: &mut Planner<'_>,
    c: &DesiredContact,
    anchor: Option<&Anchor>,
    address: &EmailAddress,
    domain: &DomainName,
) -> Option<&'static str> {
    if let Some(a) = anchor {
        // The contact moved to another domain: the old one goes, a new one comes.
        if a.address != *address && p.contacts.contains_key(a.address.lower()) {
            let reason = format!("otherMailbox now names {domain}");
            let o =
                Subject::contact(c).op(OpKind::Delete, &a.address, phase::DELETE_OTHERS, reason);
            p.push(o);
        }
        return Some("");
    }
    let adoptable = p.index.get(address.lower()).map(|owner| {
        owner.kind == TargetKind::Contact && !p.anchored_elsewhere(owner.object, c.guid)
    });
    match adoptable {
        None => Some(""),
        Some(true) => Some("adopted existing contact (soft match by address); "),
        Some(false) => {
            p.findings.push(Finding::new(
                Code::AddressInUse,
                Some(&c.dn),
                Some(c.guid),
                [
                    ("action", "Create".into()),
                    ("kind", "contact".into()),
                    ("object", c.label.clone()),
                    ("address", address.to_string()),
                ],
            ));
            None
        }
    }
}

/// Creates the contact at `address`, or updates the managed fields and
/// external address that differ. Returns the operations' numbers.
fn create_or_update(
    p: &mut Planner<'_>,
    c: &DesiredContact,
    anchor: Option<&Anchor>,
    address: &EmailAddress,
    reason: &str,
) -> Vec<u32> {
    let subject = Subject::contact(c);
    // An anchored contact that moved domain is created anew at its new address.
    let moved = anchor.is_some_and(|a| a.address != *address);
    let current = if moved {
        None
    } else {
        p.contacts.get(address.lower()).copied()
    };
    let mut want = c.fields.clone();
    want.insert("externalEmail".into(), c.external.to_string());
    let mut ops = Vec::new();
    match current {
        None => {
            let reason = format!("{reason}new contact in the Hosted Exchange group");
            let o = subject
                .op(OpKind::Create, address, phase::OBJECTS, reason)
                .with_fields(want);
            ops.push(p.push(o));
        }
        Some(tc) => {
            let mut have = tc.fields.clone();
            have.insert("externalEmail".into(), tc.external.clone());
            let mut changed = diff_fields(&want, &have, &contact_fields());
            if changed
                .get("externalEmail")
                .is_some_and(|v| v.eq_ignore_ascii_case(&tc.external))
            {
                changed.remove("externalEmail");
            }
            if !changed.is_empty() {
                let names: Vec<&str> = changed.keys().map(AsRef::as_ref).collect();
                let why = if changed.contains_key("externalEmail") {
                    "external address changed; updated in place"
                } else {
                    "changed in the directory"
                };
                let reason = format!("{reason}{why}: {}", names.join(", "));
                let o = subject
                    .op(OpKind::Update, address, phase::OBJECTS, reason)
                    .with_fields(changed);
                ops.push(p.push(o));
            }
        }
    }
    ops
}

/// The Exchange domain of the account a contact lives in: the first of its
/// `otherMailbox` values that names one, else the only Exchange domain.
/// `Err` carries the value to report (DS007): the first `otherMailbox`
/// value, or nothing when there is none and the domain is ambiguous.
fn resolve_contact_domain(p: &Planner<'_>, c: &DesiredContact) -> Result<DomainName, String> {
    let exchange: Vec<&TargetDomain> = p.domains.values().copied().filter(|d| d.exchange).collect();
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

/// The name for a new contact: the one derived from its CN, or, when that
/// address is taken (by another contact of this plan, a desired mailbox or
/// list, or a control-panel object that is not an adoptable contact), the
/// same with the first free numeric suffix.
fn free_contact_name(p: &mut Planner<'_>, c: &DesiredContact, domain: &DomainName) -> String {
    let base = c.proposed_name.clone();
    for n in 1..100u32 {
        let name = if n == 1 {
            base.clone()
        } else {
            format!("{base}{n}")
        };
        let key = format!("{name}@{}", domain.lower());
        let in_plan = p.contact_names.contains(&key) || p.claims.contains_key(key.as_str());
        let in_target = p.index.get(key.as_str()).is_some_and(|owner| {
            owner.kind != TargetKind::Contact || p.anchored_elsewhere(owner.object, c.guid)
        });
        if !in_plan && !in_target {
            p.contact_names.insert(key);
            return name;
        }
    }
    base
}
