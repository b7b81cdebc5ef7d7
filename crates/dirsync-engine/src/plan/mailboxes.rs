//! Mailboxes: matching a directory user to its control-panel mailbox (by
//! anchor, renamed when allowed, or by address), creates within the domain's
//! services and licences, updates, enables and disables, and the alternate
//! addresses (Exchange addresses, or Rackspace Email aliases).

use dirsync_model::{Code, DomainName, EmailAddress, Finding};

use super::ops::{diff_fields, mailbox_fields, state_hash, Subject};
use super::phase;
use super::planner::Planner;
use crate::types::{
    AddressSet, Anchor, DesiredMailbox, OpKind, Service, TargetDomain, TargetKind, TargetMailbox,
};

/// The control-panel mailbox a desired mailbox was matched to.
struct Matched<'a> {
    /// `None`: it does not exist (yet) and is created.
    current: Option<&'a TargetMailbox>,
    /// How it was matched, at the start of its operations' reasons (empty
    /// when its anchor holds its address).
    reason: &'static str,
}

/// Plans one desired mailbox, and records its anchor once its operations succeed.
pub(super) fn plan_mailbox<'a>(p: &mut Planner<'a>, m: &'a DesiredMailbox) {
    let anchor = p.anchor_of(m.guid, TargetKind::Mailbox);
    let mut ops: Vec<u32> = Vec::new();
    let Some(matched) = match_mailbox(p, m, anchor, &mut ops) else {
        return;
    };
    let domain = p.domain(&m.address.domain());
    let created = match matched.current {
        None => {
            let Some(create) = create_mailbox(p, m, domain, matched.reason) else {
                return;
            };
            ops.push(create);
            true
        }
        Some(tm) => {
            update_mailbox(p, m, tm, matched.reason, &mut ops);
            false
        }
    };
    if p.settings.sync_alternates {
        plan_alternates(p, m, matched.current, domain, created, &mut ops);
    }

    p.synced.insert(m.guid, m.address.lower().into());
    let new = Anchor {
        guid: m.guid,
        kind: TargetKind::Mailbox,
        service: m.service,
        address: m.address.clone(),
        dn: m.dn.clone(),
        hash: state_hash(m),
        disabled_at: None,
    };
    p.record_anchor(anchor, new, ops);
}

/// Matches `m` to its control-panel mailbox: through its anchor (hard match;
/// a changed `mail` is a rename), else by address (soft match, only a
/// mailbox of the same service that no other object is anchored to).
/// `None` when it cannot be planned; a finding says why.
fn match_mailbox<'a>(
    p: &mut Planner<'a>,
    m: &DesiredMailbox,
    anchor: Option<&'a Anchor>,
    ops: &mut Vec<u32>,
) -> Option<Matched<'a>> {
    let at_address = p.mailboxes.get(&(m.service, m.address.lower())).copied();
    if let Some(a) = anchor {
        if a.service != m.service {
            exists_in_another_service(p, m);
            return None;
        }
        if a.address != m.address {
            return rename(p, m, a, ops);
        }
        let reason = match at_address {
            None => "anchored mailbox no longer exists in the control panel; ",
            Some(_) => "",
        };
        return Some(Matched {
            current: at_address,
            reason,
        });
    }
    let adoptable = p.index.get(m.address.lower()).map(|owner| {
        owner.kind == TargetKind::Mailbox
            && owner.service == m.service
            && owner.object == m.address.lower()
            && !p.anchored_elsewhere(owner.object, m.guid)
    });
    match adoptable {
        None => Some(Matched {
            current: None,
            reason: "",
        }),
        Some(true) => Some(Matched {
            current: at_address,
            reason: "adopted existing mailbox (soft match by address); ",
        }),
        Some(false) => {
            exists_in_another_service(p, m);
            None
        }
    }
}

/// The address is held by an object of another kind or service (DS003).
fn exists_in_another_service(p: &mut Planner<'_>, m: &DesiredMailbox) {
    p.findings.push(Finding::new(
        Code::ExistsInAnotherService,
        Some(&m.dn),
        Some(m.guid),
        [
            ("user", m.label.clone()),
            ("service", m.service.mailboxes_label().to_string()),
        ],
    ));
}

/// The anchored mailbox's `mail` changed. It is renamed when the settings
/// allow it and the control panel can (same domain, the mailbox exists, the
/// new address is free); otherwise DS008, and it stays under its old address.
fn rename<'a>(
    p: &mut Planner<'a>,
    m: &DesiredMailbox,
    a: &'a Anchor,
    ops: &mut Vec<u32>,
) -> Option<Matched<'a>> {
    let same_domain = a.address.domain() == m.address.domain();
    let tm = p.mailboxes.get(&(m.service, a.address.lower())).copied();
    let free = match p.index.get(m.address.lower()) {
        None => true,
        Some(o) => o.object == a.address.lower(),
    };
    if p.settings.allow_rename && same_domain && tm.is_some() && free {
        let reason = format!(
            "mail changed from '{}' to '{}'; rename allowed by settings",
            a.address, m.address
        );
        let o = Subject::mailbox(m)
            .op(OpKind::Rename, &a.address, phase::RENAME, reason)
            .with_address(m.address.to_string());
        ops.push(p.push(o));
        // After the rename the object carries the new address.
        return Some(Matched {
            current: tm,
            reason: "renamed; ",
        });
    }
    let (old, new) = if same_domain {
        (
            a.address.local_part().to_string(),
            m.address.local_part().to_string(),
        )
    } else {
        (a.address.to_string(), m.address.to_string())
    };
    p.findings.push(Finding::new(
        Code::ServiceIdChanged,
        Some(&m.dn),
        Some(m.guid),
        [("user", m.dn.clone()), ("old", old), ("new", new)],
    ));
    keep_old_address(p, m, a, tm);
    None
}

/// After DS008 the object stays anchored, and in the list of synced
/// addresses, under its old address. Its state still follows the directory
/// under that address: a mailbox disabled when the user left the scope is
/// enabled again when the user comes back, rename or not.
fn keep_old_address<'a>(
    p: &mut Planner<'a>,
    m: &DesiredMailbox,
    a: &'a Anchor,
    tm: Option<&TargetMailbox>,
) {
    p.synced.insert(m.guid, a.address.lower().into());
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
        let reason = format!("{why}; the mail attribute's change is not applied (DS008)");
        after.push(p.push(Subject::mailbox(m).op(k, &tm.address, phase::OBJECTS, reason)));
    }
    if a.disabled_at.is_some() {
        let mut back = a.clone();
        back.disabled_at = None;
        p.record_anchor(Some(a), back, after);
    }
}

/// Creates `m` when its domain offers its service and a licence is left
/// (DS004 or DS002 otherwise). Returns the create's number.
fn create_mailbox(
    p: &mut Planner<'_>,
    m: &DesiredMailbox,
    domain: Option<&TargetDomain>,
    reason: &str,
) -> Option<u32> {
    let Some(d) = domain.filter(|d| match m.service {
        Service::Exchange => d.exchange,
        Service::RsEmail => d.rs_email,
    }) else {
        p.findings.push(Finding::new(
            Code::DomainNotAuthorized,
            Some(&m.dn),
            Some(m.guid),
            [
                ("action", "Create".to_string()),
                ("user", m.label.clone()),
                ("domain", m.address.domain().to_string()),
            ],
        ));
        return None;
    };
    let left = p
        .licences
        .entry((d.name.lower().to_string(), m.service))
        .or_insert(0);
    if *left <= 0 {
        p.findings.push(Finding::new(
            Code::MailboxLimitExceeded,
            Some(&m.dn),
            Some(m.guid),
            [("action", "Create".to_string()), ("user", m.label.clone())],
        ));
        return None;
    }
    *left -= 1;
    let mut fields = m.fields.clone();
    if !m.enabled {
        fields.insert("enabled".into(), "false".into());
    }
    let reason = format!(
        "{reason}new member of the {} group",
        service_group(m.service)
    );
    let o = Subject::mailbox(m)
        .op(OpKind::Create, &m.address, phase::OBJECTS, reason)
        .with_fields(fields);
    Some(p.push(o))
}

/// Brings the existing mailbox `tm` to `m`: enabled or disabled as in the
/// directory, and the managed fields that differ.
fn update_mailbox(
    p: &mut Planner<'_>,
    m: &DesiredMailbox,
    tm: &TargetMailbox,
    reason: &str,
    ops: &mut Vec<u32>,
) {
    let subject = Subject::mailbox(m);
    if tm.enabled != m.enabled {
        let (k, why) = if m.enabled {
            (OpKind::Enable, "account enabled in the directory")
        } else {
            (OpKind::Disable, "account disabled in the directory")
        };
        let reason = format!("{reason}{why}");
        ops.push(p.push(subject.op(k, &m.address, phase::OBJECTS, reason)));
    }
    let changed = diff_fields(&m.fields, p.fields_of(tm), &mailbox_fields(m.service));
    if !changed.is_empty() {
        let names: Vec<&str> = changed.keys().map(AsRef::as_ref).collect();
        let reason = format!("{reason}changed in the directory: {}", names.join(", "));
        let o = subject
            .op(OpKind::Update, &m.address, phase::OBJECTS, reason)
            .with_fields(changed);
        ops.push(p.push(o));
    }
}

/// The mailbox's alternate addresses in the control panel: its Exchange
/// addresses other than the primary and those of alias domains, or the
/// Rackspace Email aliases that forward to it alone.
fn current_alternates(
    p: &Planner<'_>,
    m: &DesiredMailbox,
    current: Option<&TargetMailbox>,
    domain: Option<&TargetDomain>,
) -> AddressSet {
    match (m.service, current) {
        (_, None) => AddressSet::new(),
        (Service::Exchange, Some(tm)) => {
            let aliases: Vec<&DomainName> = domain
                .map(|d| d.aliases.iter().collect())
                .unwrap_or_default();
            p.addresses_of(tm)
                .iter()
                .filter(|a| *a != &tm.address && !aliases.iter().any(|al| *al == &a.domain()))
                .cloned()
                .collect()
        }
        (Service::RsEmail, Some(tm)) => p
            .aliases
            .iter()
            .filter(|al| al.targets.len() == 1 && al.targets.contains(tm.address.lower()))
            .map(|al| al.address.clone())
            .collect(),
    }
}

/// Removes the alternates no longer in `proxyAddresses` and adds the new
/// ones that the domain accepts (DS006) and nobody else holds (DS010).
fn plan_alternates(
    p: &mut Planner<'_>,
    m: &DesiredMailbox,
    current: Option<&TargetMailbox>,
    domain: Option<&TargetDomain>,
    created: bool,
    ops: &mut Vec<u32>,
) {
    let subject = Subject::mailbox(m);
    let current_alts = current_alternates(p, m, current, domain);
    for gone in current_alts.difference(&m.alternates) {
        let reason = "no longer in proxyAddresses".to_string();
        let o = subject
            .op(
                OpKind::RemoveAddress,
                &m.address,
                phase::REMOVE_ADDRESS,
                reason,
            )
            .with_address(gone.to_string());
        ops.push(p.push(o));
    }
    for new in m.alternates.difference(&current_alts) {
        if !alternate_allowed(p, m, new) {
            p.findings.push(Finding::new(
                Code::AlternateAddressNotInDomain,
                Some(&m.dn),
                Some(m.guid),
                [("user", m.dn.clone()), ("address", new.to_string())],
            ));
            continue;
        }
        if let Some(owner) = p.index.get(new.lower()) {
            if owner.object != m.address.lower() && !p.released(new.lower(), owner) {
                p.findings.push(Finding::new(
                    Code::AddressInUse,
                    Some(&m.dn),
                    Some(m.guid),
                    [
                        (
                            "action",
                            if created { "Create" } else { "Update" }.to_string(),
                        ),
                        ("kind", "user".to_string()),
                        ("object", m.label.clone()),
                        ("address", new.to_string()),
                    ],
                ));
                continue;
            }
        }
        let reason = "alternate address in proxyAddresses".to_string();
        let o = subject
            .op(OpKind::AddAddress, &m.address, phase::ADD_ADDRESS, reason)
            .with_address(new.to_string());
        ops.push(p.push(o));
    }
}

/// The directory group a mailbox of `s` is a member of, for reasons.
pub(super) fn service_group(s: Service) -> &'static str {
    match s {
        Service::Exchange => "Hosted Exchange",
        Service::RsEmail => "Rackspace Email",
    }
}

/// An alternate address must be in the mailbox's domain or one of its
/// accepted domains, never in an alias domain; a Rackspace Email alias
/// must also be in a Rackspace Email domain of the account.
fn alternate_allowed(p: &Planner<'_>, m: &DesiredMailbox, alt: &EmailAddress) -> bool {
    let Some(d) = p.domain(&m.address.domain()) else {
        return false;
    };
    let ad = alt.domain();
    if d.aliases.contains(&ad) {
        return false;
    }
    let in_accepted = ad == d.name || d.accepted.contains(&ad);
    match m.service {
        Service::Exchange => in_accepted,
        Service::RsEmail => in_accepted && p.domain(&ad).is_some_and(|x| x.rs_email),
    }
}
