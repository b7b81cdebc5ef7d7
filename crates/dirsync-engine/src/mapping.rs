//! Mapping: from a directory snapshot to the desired control-panel state.
//!
//! Pure: no I/O. Scoping follows the seed article and established directory
//! sync behaviour:
//! - direct user members of the Exchange (Rackspace Email) service group get
//!   an Exchange (Rackspace Email) mailbox; a user in both is an error
//!   (DS102), never a coin toss;
//! - mail-enabled groups that are direct members of the Exchange group
//!   become distribution lists; users reached only through such a nested
//!   group get no mailbox (DS101);
//! - contacts that are direct members of the Exchange group become Exchange
//!   contacts;
//! - the mailbox name and domain come from `mail`; `smtp:` proxyAddresses
//!   other than the primary become alternates (when enabled);
//! - a disabled AD account means a disabled mailbox.
//!
//! Everything that needs the control panel's state (domains, licences,
//! addresses in use) is checked by the planner.

use std::collections::{BTreeSet, HashMap};

use dirsync_model::{
    Code, DirectoryObject, DirectorySnapshot, EmailAddress, Finding, Guid, ObjectKind, ProxyAddress,
};

use crate::types::{
    AddressSet, Desired, DesiredContact, DesiredList, DesiredMailbox, Fields, Service,
};

/// The mapping's settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MappingSettings {
    /// Sync `smtp:` proxyAddresses as alternates (Exchange) or aliases (Rackspace Email).
    pub sync_alternates: bool,
}

impl Default for MappingSettings {
    fn default() -> Self {
        MappingSettings {
            sync_alternates: true,
        }
    }
}

pub(crate) fn dn_key(dn: &str) -> String {
    dn.trim().to_ascii_lowercase()
}

/// The contact-info fields the control panel carries, from the directory.
pub fn fields_of(o: &DirectoryObject, service: Option<Service>) -> Fields {
    let i = &o.info;
    let mut f = Fields::new();
    let display = i
        .display_name
        .clone()
        .filter(|d| !d.trim().is_empty())
        .unwrap_or_else(|| o.label().to_string());
    f.insert("displayName".into(), display);
    let mut put = |k: &'static str, v: &Option<String>| {
        if let Some(v) = v.as_ref().map(|s| s.trim()).filter(|s| !s.is_empty()) {
            f.insert(k.into(), v.to_string());
        }
    };
    put("firstName", &i.given_name);
    put("lastName", &i.surname);
    if service != Some(Service::RsEmail) {
        put("initials", &i.initials);
    }
    put("title", &i.title);
    put("company", &i.company);
    put("department", &i.department);
    put("office", &i.office);
    put("businessNumber", &i.telephone);
    put("mobileNumber", &i.mobile);
    put("faxNumber", &i.fax);
    put("pagerNumber", &i.pager);
    put("homeNumber", &i.home_phone);
    put("businessStreet", &i.street);
    put("businessCity", &i.city);
    put("businessState", &i.state);
    put("businessPostalCode", &i.postal_code);
    put("businessCountry", &i.country);
    put("customID", &i.employee_id);
    put("employeeType", &i.employee_type);
    f
}

/// A control-panel name derived from a CN: lower case, letters, digits,
/// dots, hyphens and underscores; spaces become dots.
pub fn name_from_label(label: &str) -> String {
    let mut out = String::new();
    for c in label.trim().chars() {
        if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
            out.push(c.to_ascii_lowercase());
        } else if (c == ' ' || c == '.') && !out.ends_with('.') && !out.is_empty() {
            out.push('.');
        }
    }
    let out = out.trim_matches('.').to_string();
    out.chars()
        .take(64)
        .collect::<String>()
        .trim_end_matches('.')
        .to_string()
}

/// Turns a complete directory snapshot into the desired state and findings.
pub fn desired_state(snapshot: &DirectorySnapshot, settings: MappingSettings) -> Desired {
    map(
        Objects::Borrowed(&snapshot.objects),
        [snapshot.exchange_group, snapshot.rsemail_group],
        settings,
    )
}

/// [`desired_state`], consuming the snapshot: each object's values are
/// dropped as soon as it is mapped (or found out of scope), so the
/// snapshot and the desired state are never both held whole. Why: a full
/// run of 100,000 users held both at once, and that was its peak memory.
pub fn desired_state_owned(snapshot: DirectorySnapshot, settings: MappingSettings) -> Desired {
    let service = [snapshot.exchange_group, snapshot.rsemail_group];
    map(Objects::Owned(snapshot.objects), service, settings)
}

/// The objects the mapping reads: borrowed from a snapshot its caller
/// keeps, or owned and released one by one once mapped.
enum Objects<'a> {
    Borrowed(&'a [DirectoryObject]),
    Owned(Vec<DirectoryObject>),
}

impl Objects<'_> {
    fn all(&self) -> &[DirectoryObject] {
        match self {
            Objects::Borrowed(v) => v,
            Objects::Owned(v) => v,
        }
    }

    fn get(&self, i: usize) -> &DirectoryObject {
        &self.all()[i]
    }

    /// Drops object `i`'s values, keeping its GUID and kind: all the
    /// mapping reads of an object after mapping it (a list's member).
    fn release(&mut self, i: usize) {
        if let Objects::Owned(v) = self {
            let o = &v[i];
            v[i] = DirectoryObject::new(o.guid, o.kind, String::new());
        }
    }
}

/// Which desired object claimed an address first: the index of its
/// mailbox or list in the desired state (whose DN names it in findings).
/// An index rather than a copy of the DN: there are three claims per user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Claimer {
    Mailbox(usize),
    List(usize),
}

impl Claimer {
    fn dn(self, d: &Desired) -> &str {
        match self {
            Claimer::Mailbox(i) => &d.mailboxes[i].dn,
            Claimer::List(i) => &d.lists[i].dn,
        }
    }
}

/// Lower-case address -> the desired object that claimed it, keyed by
/// the address's 128-bit hash ([`crate::staged::hash128`]) rather than a
/// copy of it. Why: there are three claims per user, and at 100,000 users
/// the copies and their tree held about 30 MB while the desired state
/// was built.
#[derive(Debug, Default)]
pub(crate) struct Claimed(HashMap<u128, Claimer>);

impl Claimed {
    pub(crate) fn new() -> Claimed {
        Claimed::default()
    }

    fn key(lower: &str) -> u128 {
        crate::staged::hash128(lower.bytes())
    }

    fn get(&self, lower: &str) -> Option<&Claimer> {
        self.0.get(&Claimed::key(lower))
    }

    fn insert(&mut self, lower: &str, by: Claimer) {
        self.0.insert(Claimed::key(lower), by);
    }
}

fn map(mut objs: Objects<'_>, service: [Option<Guid>; 2], settings: MappingSettings) -> Desired {
    let mut d = Desired::default();
    // Lower-case DN -> the object's index (the last of a DN wins).
    let by_dn: HashMap<String, usize> = objs
        .all()
        .iter()
        .enumerate()
        .map(|(i, o)| (dn_key(&o.dn), i))
        .collect();
    let (ex_direct, rs_direct) = {
        let all = objs.all();
        let by_guid: HashMap<Guid, usize> =
            all.iter().enumerate().map(|(i, o)| (o.guid, i)).collect();
        let direct = |group: Option<Guid>| -> Vec<usize> {
            let Some(g) = group.and_then(|g| by_guid.get(&g)).map(|&i| &all[i]) else {
                return Vec::new();
            };
            let mut v: Vec<usize> = g
                .members
                .iter()
                .filter_map(|m| by_dn.get(&dn_key(m)).copied())
                .filter(|&i| Some(all[i].guid) != group)
                .collect();
            // Stable, as the order of equal DNs is the member list's.
            v.sort_by_cached_key(|&i| dn_key(&all[i].dn));
            v.dedup_by_key(|i| all[*i].guid);
            v
        };
        (direct(service[0]), direct(service[1]))
    };

    let users_of = |v: &[usize]| -> BTreeSet<Guid> {
        v.iter()
            .map(|&i| objs.get(i))
            .filter(|o| o.kind == ObjectKind::User)
            .map(|o| o.guid)
            .collect()
    };
    let ex_users = users_of(&ex_direct);
    let rs_users = users_of(&rs_direct);

    // The planner names list members it leaves out (DS104) by DN and
    // display name, in scope or not: the labels of every member of a
    // group that may become a list, and of no other object.
    for &gi in &ex_direct {
        let g = objs.get(gi);
        if g.kind != ObjectKind::Group {
            continue;
        }
        for m in &g.members {
            if let Some(&mi) = by_dn.get(&dn_key(m)) {
                let mo = objs.get(mi);
                d.labels
                    .entry(mo.guid)
                    .or_insert_with(|| (mo.dn.clone(), mo.label().to_string()));
            }
        }
    }
    // From here an object is read only if it is a direct member of a
    // service group (and for its GUID and kind, as a list's member).
    let mut direct = vec![false; objs.all().len()];
    for &i in ex_direct.iter().chain(&rs_direct) {
        direct[i] = true;
    }
    for (i, keep) in direct.into_iter().enumerate() {
        if !keep {
            objs.release(i);
        }
    }

    let mut claimed = Claimed::new();

    // Users, in DN order across both services.
    let mut users: Vec<(usize, Service)> = Vec::new();
    for &i in &ex_direct {
        if objs.get(i).kind == ObjectKind::User {
            users.push((i, Service::Exchange));
        }
    }
    for &i in &rs_direct {
        let o = objs.get(i);
        if o.kind == ObjectKind::User && !ex_users.contains(&o.guid) {
            users.push((i, Service::RsEmail));
        }
    }
    users.sort_by_cached_key(|(i, _)| dn_key(&objs.get(*i).dn));
    for (i, service) in users {
        let o = objs.get(i);
        let both = ex_users.contains(&o.guid) && rs_users.contains(&o.guid);
        map_user(&mut d, o, service, both, settings, &mut claimed);
        objs.release(i);
    }

    // Nested groups become distribution lists; their non-member users are reported.
    let synced_users: BTreeSet<Guid> = ex_users.union(&rs_users).copied().collect();
    let mut nested_reported: BTreeSet<Guid> = BTreeSet::new();
    for &gi in &ex_direct {
        if objs.get(gi).kind != ObjectKind::Group {
            continue;
        }
        let g = objs.get(gi);
        note(&mut d, g);
        let (members, unresolved) = list_members(
            &mut d,
            g,
            |m| {
                by_dn.get(&dn_key(m)).map(|&mi| {
                    let mo = objs.get(mi);
                    (mo.guid, mo.kind, mo.dn.as_str())
                })
            },
            &synced_users,
            &mut nested_reported,
        );
        map_list(&mut d, g, members, unresolved, &mut claimed);
        objs.release(gi);
    }
    drop(claimed);

    // Contacts.
    for &ci in &ex_direct {
        if objs.get(ci).kind != ObjectKind::Contact {
            continue;
        }
        map_contact(&mut d, objs.get(ci));
        objs.release(ci);
    }
    d
}

/// A list's members: the GUIDs of those `resolve` finds in scope and the
/// DNs it does not; a user member outside the service groups is reported
/// (DS, nested group members) once per user, however many lists hold it.
/// Shared by the snapshot's mapping and the staged one, which resolve DNs
/// from different indexes.
pub(crate) fn list_members<'a>(
    d: &mut Desired,
    g: &DirectoryObject,
    resolve: impl Fn(&str) -> Option<(Guid, ObjectKind, &'a str)>,
    synced_users: &BTreeSet<Guid>,
    nested_reported: &mut BTreeSet<Guid>,
) -> (BTreeSet<Guid>, Vec<String>) {
    let mut members = BTreeSet::new();
    let mut unresolved = Vec::new();
    for m in &g.members {
        let Some((guid, kind, member_dn)) = resolve(m) else {
            unresolved.push(m.clone());
            continue;
        };
        members.insert(guid);
        if kind == ObjectKind::User && !synced_users.contains(&guid) && nested_reported.insert(guid)
        {
            let dn = d.labels.get(&guid).map(|l| l.0.clone());
            let dn = dn.unwrap_or_else(|| member_dn.to_string());
            d.findings.push(Finding::new(
                Code::NestedGroupMembers,
                Some(&dn),
                Some(guid),
                [("user", dn.clone()), ("group", g.label().to_string())],
            ));
        }
    }
    (members, unresolved)
}

/// Records an object as in scope (never disabled or deleted as "left").
pub(crate) fn note(d: &mut Desired, o: &DirectoryObject) {
    d.in_scope.insert(o.guid);
}

/// The DS001 finding of an object whose `mail` is not an address.
fn invalid_mail(o: &DirectoryObject, raw: &str, kind: &str) -> Finding {
    Finding::new(
        Code::InvalidMail,
        Some(&o.dn),
        Some(o.guid),
        [
            ("value", raw.trim().to_string()),
            ("kind", kind.into()),
            ("object", o.dn.clone()),
        ],
    )
}

/// The DS103 finding of an address another object claimed first.
fn duplicate(o: &DirectoryObject, address: &EmailAddress, other: &str) -> Finding {
    Finding::new(
        Code::DuplicateDirectoryAddress,
        Some(&o.dn),
        Some(o.guid),
        [
            ("address", address.to_string()),
            ("object", o.dn.clone()),
            ("other", other.to_string()),
        ],
    )
}

/// One user of a service group: its mailbox, or the findings that keep it out.
pub(crate) fn map_user(
    d: &mut Desired,
    o: &DirectoryObject,
    service: Service,
    both: bool,
    settings: MappingSettings,
    claimed: &mut Claimed,
) {
    note(d, o);
    if both {
        d.findings.push(Finding::new(
            Code::UserInBothServiceGroups,
            Some(&o.dn),
            Some(o.guid),
            [("user", o.dn.clone())],
        ));
        return;
    }
    let raw = o.mail.clone().unwrap_or_default();
    let Ok(address) = EmailAddress::parse(&raw) else {
        d.findings.push(invalid_mail(o, &raw, "user"));
        return;
    };
    if let Some(other) = claimed.get(address.lower()) {
        let f = duplicate(o, &address, other.dn(d));
        d.findings.push(f);
        return;
    }
    let me = Claimer::Mailbox(d.mailboxes.len());
    claimed.insert(address.lower(), me);
    let alternates = alternates_of(o, &address, settings, me, claimed, d);
    d.mailboxes.push(DesiredMailbox {
        guid: o.guid,
        dn: o.dn.clone(),
        label: o.label().to_string(),
        service,
        address,
        enabled: !o.disabled,
        fields: fields_of(o, Some(service)),
        alternates,
    });
}

/// One group of the Exchange service group: its distribution list (when
/// it has mail), its members resolved by the caller.
pub(crate) fn map_list(
    d: &mut Desired,
    g: &DirectoryObject,
    members: BTreeSet<Guid>,
    unresolved: Vec<String>,
    claimed: &mut Claimed,
) {
    let raw = g.mail.clone().unwrap_or_default();
    if raw.trim().is_empty() {
        // A group without mail is not a distribution list: nothing to sync.
        return;
    }
    let Ok(address) = EmailAddress::parse(&raw) else {
        d.findings.push(invalid_mail(g, &raw, "group"));
        return;
    };
    if let Some(other) = claimed.get(address.lower()) {
        let f = duplicate(g, &address, other.dn(d));
        d.findings.push(f);
        return;
    }
    claimed.insert(address.lower(), Claimer::List(d.lists.len()));
    d.lists.push(DesiredList {
        guid: g.guid,
        dn: g.dn.clone(),
        label: g.label().to_string(),
        display_name: fields_of(g, None).remove("displayName").unwrap_or_default(),
        address,
        members,
        unresolved_members: unresolved,
    });
}

/// One contact of the Exchange service group.
pub(crate) fn map_contact(d: &mut Desired, c: &DirectoryObject) {
    note(d, c);
    let raw = c.mail.clone().unwrap_or_default();
    let Ok(external) = EmailAddress::parse(&raw) else {
        d.findings.push(invalid_mail(c, &raw, "contact"));
        return;
    };
    for raw in &c.proxy_addresses {
        if let ProxyAddress::Malformed(v) = ProxyAddress::parse(raw) {
            d.findings.push(Finding::new(
                Code::MalformedProxyAddress,
                Some(&c.dn),
                Some(c.guid),
                [("value", v), ("object", c.dn.clone())],
            ));
        }
    }
    let mut name = name_from_label(c.label());
    if name.is_empty() {
        name = name_from_label(external.local_part());
    }
    d.contacts.push(DesiredContact {
        guid: c.guid,
        dn: c.dn.clone(),
        label: c.label().to_string(),
        external,
        other_mailbox: c
            .other_mailbox
            .iter()
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect(),
        proposed_name: name,
        fields: fields_of(c, None),
    });
}

/// A user's alternate addresses, claimed for `me` (the mailbox about to
/// be pushed); the findings of those malformed or claimed by another.
fn alternates_of(
    o: &DirectoryObject,
    primary: &EmailAddress,
    settings: MappingSettings,
    me: Claimer,
    claimed: &mut Claimed,
    d: &mut Desired,
) -> AddressSet {
    let mut out = AddressSet::new();
    for raw in &o.proxy_addresses {
        let value = match ProxyAddress::parse(raw) {
            ProxyAddress::PrimarySmtp(v) | ProxyAddress::Smtp(v) => v,
            ProxyAddress::Other { .. } => continue,
            ProxyAddress::Malformed(v) => {
                d.findings.push(Finding::new(
                    Code::MalformedProxyAddress,
                    Some(&o.dn),
                    Some(o.guid),
                    [("value", v), ("object", o.dn.clone())],
                ));
                continue;
            }
        };
        let Ok(a) = EmailAddress::parse(&value) else {
            d.findings.push(Finding::new(
                Code::MalformedProxyAddress,
                Some(&o.dn),
                Some(o.guid),
                [("value", raw.clone()), ("object", o.dn.clone())],
            ));
            continue;
        };
        if &a == primary || !settings.sync_alternates {
            continue;
        }
        match claimed.get(a.lower()) {
            Some(&other) if other != me => {
                let f = duplicate(o, &a, other.dn(d));
                d.findings.push(f);
            }
            _ => {
                claimed.insert(a.lower(), me);
                out.insert(a);
            }
        }
    }
    out
}

#[cfg(test)]
#[path = "mapping_tests.rs"]
pub(crate) mod tests;
