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

use std::collections::{BTreeMap, BTreeSet, HashMap};

use dirsync_model::{
    Code, DirectoryObject, DirectorySnapshot, EmailAddress, Finding, Guid, ObjectKind, ProxyAddress,
};

use crate::types::{Desired, DesiredContact, DesiredList, DesiredMailbox, Fields, Service};

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

fn dn_key(dn: &str) -> String {
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
    let mut d = Desired::default();
    let by_dn: HashMap<String, &DirectoryObject> = snapshot
        .objects
        .iter()
        .map(|o| (dn_key(&o.dn), o))
        .collect();
    let by_guid: HashMap<Guid, &DirectoryObject> =
        snapshot.objects.iter().map(|o| (o.guid, o)).collect();

    let direct = |group: Option<Guid>| -> Vec<&DirectoryObject> {
        let Some(g) = group.and_then(|g| by_guid.get(&g)) else {
            return Vec::new();
        };
        let mut v: Vec<&DirectoryObject> = g
            .members
            .iter()
            .filter_map(|m| by_dn.get(&dn_key(m)).copied())
            .filter(|o| Some(o.guid) != group)
            .collect();
        v.sort_by_key(|o| dn_key(&o.dn));
        v.dedup_by_key(|o| o.guid);
        v
    };
    let ex_direct = direct(snapshot.exchange_group);
    let rs_direct = direct(snapshot.rsemail_group);

    let ex_users: BTreeSet<Guid> = ex_direct
        .iter()
        .filter(|o| o.kind == ObjectKind::User)
        .map(|o| o.guid)
        .collect();
    let rs_users: BTreeSet<Guid> = rs_direct
        .iter()
        .filter(|o| o.kind == ObjectKind::User)
        .map(|o| o.guid)
        .collect();

    let note = |d: &mut Desired, o: &DirectoryObject| {
        d.in_scope.insert(o.guid);
        d.labels
            .insert(o.guid, (o.dn.clone(), o.label().to_string()));
    };

    // Addresses already claimed by an object in scope: lower address -> DN.
    let mut claimed: BTreeMap<String, String> = BTreeMap::new();

    // Users, in DN order across both services.
    let mut users: Vec<(&DirectoryObject, Service)> = Vec::new();
    for o in &ex_direct {
        if o.kind == ObjectKind::User {
            users.push((o, Service::Exchange));
        }
    }
    for o in &rs_direct {
        if o.kind == ObjectKind::User && !ex_users.contains(&o.guid) {
            users.push((o, Service::RsEmail));
        }
    }
    users.sort_by_key(|(o, _)| dn_key(&o.dn));

    for (o, service) in users {
        note(&mut d, o);
        if ex_users.contains(&o.guid) && rs_users.contains(&o.guid) {
            d.findings.push(Finding::new(
                Code::UserInBothServiceGroups,
                Some(&o.dn),
                Some(o.guid),
                [("user", o.dn.clone())],
            ));
            continue;
        }
        let raw = o.mail.clone().unwrap_or_default();
        let address = match EmailAddress::parse(&raw) {
            Ok(a) => a,
            Err(_) => {
                d.findings.push(Finding::new(
                    Code::InvalidMail,
                    Some(&o.dn),
                    Some(o.guid),
                    [
                        ("value", raw.trim().to_string()),
                        ("kind", "user".into()),
                        ("object", o.dn.clone()),
                    ],
                ));
                continue;
            }
        };
        if let Some(other) = claimed.get(address.lower()) {
            d.findings.push(Finding::new(
                Code::DuplicateDirectoryAddress,
                Some(&o.dn),
                Some(o.guid),
                [
                    ("address", address.to_string()),
                    ("object", o.dn.clone()),
                    ("other", other.clone()),
                ],
            ));
            continue;
        }
        claimed.insert(address.lower().to_string(), o.dn.clone());
        let alternates = alternates_of(o, &address, settings, &mut claimed, &mut d.findings);
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

    // Nested groups become distribution lists; their non-member users are reported.
    let synced_users: BTreeSet<Guid> = ex_users.union(&rs_users).copied().collect();
    let mut nested_reported: BTreeSet<Guid> = BTreeSet::new();
    for g in ex_direct.iter().filter(|o| o.kind == ObjectKind::Group) {
        note(&mut d, g);
        let mut members = BTreeSet::new();
        let mut unresolved = Vec::new();
        for m in &g.members {
            match by_dn.get(&dn_key(m)) {
                Some(mo) => {
                    members.insert(mo.guid);
                    // The planner names members it leaves out (DS104) by DN
                    // and display name, in scope or not.
                    d.labels
                        .entry(mo.guid)
                        .or_insert_with(|| (mo.dn.clone(), mo.label().to_string()));
                    if mo.kind == ObjectKind::User
                        && !synced_users.contains(&mo.guid)
                        && nested_reported.insert(mo.guid)
                    {
                        d.findings.push(Finding::new(
                            Code::NestedGroupMembers,
                            Some(&mo.dn),
                            Some(mo.guid),
                            [("user", mo.dn.clone()), ("group", g.label().to_string())],
                        ));
                    }
                }
                None => unresolved.push(m.clone()),
            }
        }
        let raw = g.mail.clone().unwrap_or_default();
        if raw.trim().is_empty() {
            // A group without mail is not a distribution list: nothing to sync.
            continue;
        }
        let address = match EmailAddress::parse(&raw) {
            Ok(a) => a,
            Err(_) => {
                d.findings.push(Finding::new(
                    Code::InvalidMail,
                    Some(&g.dn),
                    Some(g.guid),
                    [
                        ("value", raw.trim().to_string()),
                        ("kind", "group".into()),
                        ("object", g.dn.clone()),
                    ],
                ));
                continue;
            }
        };
        if let Some(other) = claimed.get(address.lower()) {
            d.findings.push(Finding::new(
                Code::DuplicateDirectoryAddress,
                Some(&g.dn),
                Some(g.guid),
                [
                    ("address", address.to_string()),
                    ("object", g.dn.clone()),
                    ("other", other.clone()),
                ],
            ));
            continue;
        }
        claimed.insert(address.lower().to_string(), g.dn.clone());
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

    // Contacts.
    for c in ex_direct.iter().filter(|o| o.kind == ObjectKind::Contact) {
        note(&mut d, c);
        let raw = c.mail.clone().unwrap_or_default();
        let external = match EmailAddress::parse(&raw) {
            Ok(a) => a,
            Err(_) => {
                d.findings.push(Finding::new(
                    Code::InvalidMail,
                    Some(&c.dn),
                    Some(c.guid),
                    [
                        ("value", raw.trim().to_string()),
                        ("kind", "contact".into()),
                        ("object", c.dn.clone()),
                    ],
                ));
                continue;
            }
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
    d
}

fn alternates_of(
    o: &DirectoryObject,
    primary: &EmailAddress,
    settings: MappingSettings,
    claimed: &mut BTreeMap<String, String>,
    findings: &mut Vec<Finding>,
) -> BTreeSet<EmailAddress> {
    let mut out = BTreeSet::new();
    for raw in &o.proxy_addresses {
        let value = match ProxyAddress::parse(raw) {
            ProxyAddress::PrimarySmtp(v) | ProxyAddress::Smtp(v) => v,
            ProxyAddress::Other { .. } => continue,
            ProxyAddress::Malformed(v) => {
                findings.push(Finding::new(
                    Code::MalformedProxyAddress,
                    Some(&o.dn),
                    Some(o.guid),
                    [("value", v), ("object", o.dn.clone())],
                ));
                continue;
            }
        };
        let Ok(a) = EmailAddress::parse(&value) else {
            findings.push(Finding::new(
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
            Some(other) if other != &o.dn => {
                findings.push(Finding::new(
                    Code::DuplicateDirectoryAddress,
                    Some(&o.dn),
                    Some(o.guid),
                    [
                        ("address", a.to_string()),
                        ("object", o.dn.clone()),
                        ("other", other.clone()),
                    ],
                ));
            }
            _ => {
                claimed.insert(a.lower().to_string(), o.dn.clone());
                out.insert(a);
            }
        }
    }
    out
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use dirsync_model::Severity;

    pub fn guid(n: u8) -> Guid {
        Guid::from_canonical_bytes([n; 16])
    }

    pub fn user(n: u8, cn: &str, mail: Option<&str>) -> DirectoryObject {
        let mut o = DirectoryObject::new(
            guid(n),
            ObjectKind::User,
            format!("CN={cn},OU=Staff,DC=example,DC=com"),
        );
        o.mail = mail.map(str::to_string);
        o.info.given_name = Some(cn.split(' ').next().unwrap_or(cn).to_string());
        o
    }

    pub fn group(
        n: u8,
        cn: &str,
        mail: Option<&str>,
        members: &[&DirectoryObject],
    ) -> DirectoryObject {
        let mut o = DirectoryObject::new(
            guid(n),
            ObjectKind::Group,
            format!("CN={cn},OU=Groups,DC=example,DC=com"),
        );
        o.mail = mail.map(str::to_string);
        o.members = members.iter().map(|m| m.dn.clone()).collect();
        o
    }

    pub fn contact(n: u8, cn: &str, mail: &str, other: &[&str]) -> DirectoryObject {
        let mut o = DirectoryObject::new(
            guid(n),
            ObjectKind::Contact,
            format!("CN={cn},OU=Contacts,DC=example,DC=com"),
        );
        o.mail = Some(mail.to_string());
        o.other_mailbox = other.iter().map(ToString::to_string).collect();
        o
    }

    pub fn snapshot(
        ex: Vec<DirectoryObject>,
        rs: Vec<DirectoryObject>,
        extra: Vec<DirectoryObject>,
    ) -> DirectorySnapshot {
        let exg = group(200, "Exchange Users", None, &ex.iter().collect::<Vec<_>>());
        let rsg = group(
            201,
            "Rackspace Email Users",
            None,
            &rs.iter().collect::<Vec<_>>(),
        );
        let mut objects = vec![exg.clone(), rsg.clone()];
        for o in ex.into_iter().chain(rs).chain(extra) {
            if !objects.iter().any(|x| x.guid == o.guid) {
                objects.push(o);
            }
        }
        DirectorySnapshot {
            exchange_group: Some(exg.guid),
            rsemail_group: Some(rsg.guid),
            objects,
        }
    }

    fn codes(d: &Desired) -> Vec<(String, &'static str)> {
        d.findings
            .iter()
            .map(|f| (f.dn.clone().unwrap_or_default(), f.code.as_str()))
            .collect()
    }

    #[test]
    fn users_map_to_their_service() {
        let mut jane = user(1, "Jane Doe", Some("Jane.Doe@example.com"));
        jane.proxy_addresses = vec![
            "SMTP:jane.doe@example.com".into(),
            "smtp:jd@example.com".into(),
            "X500:/o=x".into(),
            "bogus".into(),
        ];
        jane.info.title = Some("Engineer".into());
        jane.disabled = true;
        let bob = user(2, "Bob", Some("bob@example.com"));
        let d = desired_state(
            &snapshot(vec![jane], vec![bob], vec![]),
            MappingSettings::default(),
        );
        assert_eq!(d.mailboxes.len(), 2);
        let j = &d.mailboxes.iter().find(|m| m.guid == guid(1)).unwrap();
        assert_eq!(j.service, Service::Exchange);
        assert_eq!(j.address.local_part(), "Jane.Doe");
        assert!(!j.enabled);
        assert_eq!(
            j.alternates
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>(),
            vec!["jd@example.com"]
        );
        assert_eq!(j.fields["title"], "Engineer");
        assert_eq!(j.fields["displayName"], "Jane Doe");
        let b = &d.mailboxes.iter().find(|m| m.guid == guid(2)).unwrap();
        assert_eq!(b.service, Service::RsEmail);
        assert_eq!(
            codes(&d),
            vec![("CN=Jane Doe,OU=Staff,DC=example,DC=com".into(), "DS105")]
        );
        assert_eq!(d.findings[0].severity, Severity::Warning);
    }

    #[test]
    fn alternates_can_be_turned_off() {
        let mut jane = user(1, "Jane", Some("jane@example.com"));
        jane.proxy_addresses = vec!["smtp:jd@example.com".into()];
        let d = desired_state(
            &snapshot(vec![jane], vec![], vec![]),
            MappingSettings {
                sync_alternates: false,
            },
        );
        assert!(d.mailboxes[0].alternates.is_empty());
    }

    /// Table: one directory situation per row, the codes it must produce
    /// (by DN prefix), and the mailboxes that must sync.
    #[test]
    fn findings_table() {
        struct Case {
            name: &'static str,
            ex: Vec<DirectoryObject>,
            rs: Vec<DirectoryObject>,
            extra: Vec<DirectoryObject>,
            want_codes: Vec<(&'static str, &'static str)>,
            want_mailboxes: Vec<&'static str>,
        }
        let both = user(3, "Both", Some("both@example.com"));
        let nested_user = user(4, "Nested", Some("nested@example.com"));
        let direct_user = user(5, "Direct", Some("direct@example.com"));
        let list = group(
            6,
            "Sales",
            Some("sales@example.com"),
            &[&nested_user, &direct_user],
        );
        let mut dup_alt = user(8, "Dup Alt", Some("dupalt@example.com"));
        dup_alt.proxy_addresses = vec!["smtp:direct@example.com".into()];
        let cases = vec![
            Case {
                name: "empty mail",
                ex: vec![user(1, "Empty", Some("")), user(2, "Missing", None)],
                rs: vec![],
                extra: vec![],
                want_codes: vec![("CN=Empty", "DS001"), ("CN=Missing", "DS001")],
                want_mailboxes: vec![],
            },
            Case {
                name: "invalid mail",
                ex: vec![user(1, "Bad", Some("no-at-sign"))],
                rs: vec![],
                extra: vec![],
                want_codes: vec![("CN=Bad", "DS001")],
                want_mailboxes: vec![],
            },
            Case {
                name: "user in both groups",
                ex: vec![both.clone()],
                rs: vec![both],
                extra: vec![],
                want_codes: vec![("CN=Both", "DS102")],
                want_mailboxes: vec![],
            },
            Case {
                name: "nested group member",
                ex: vec![list, direct_user.clone()],
                rs: vec![],
                extra: vec![nested_user],
                want_codes: vec![("CN=Nested", "DS101")],
                want_mailboxes: vec!["direct@example.com"],
            },
            Case {
                name: "duplicate primary",
                ex: vec![
                    user(1, "A", Some("same@example.com")),
                    user(2, "B", Some("SAME@example.com")),
                ],
                rs: vec![],
                extra: vec![],
                want_codes: vec![("CN=B", "DS103")],
                want_mailboxes: vec!["same@example.com"],
            },
            Case {
                name: "duplicate alternate",
                ex: vec![direct_user, dup_alt],
                rs: vec![],
                extra: vec![],
                want_codes: vec![("CN=Dup Alt", "DS103")],
                want_mailboxes: vec!["direct@example.com", "dupalt@example.com"],
            },
            Case {
                name: "contact with invalid address",
                ex: vec![contact(9, "Ext", "not valid", &[])],
                rs: vec![],
                extra: vec![],
                want_codes: vec![("CN=Ext", "DS001")],
                want_mailboxes: vec![],
            },
        ];
        for c in cases {
            let d = desired_state(&snapshot(c.ex, c.rs, c.extra), MappingSettings::default());
            let got: Vec<(String, &str)> = codes(&d);
            assert_eq!(got.len(), c.want_codes.len(), "{}: {got:?}", c.name);
            for ((dn, code), (want_dn, want_code)) in got.iter().zip(&c.want_codes) {
                assert!(dn.starts_with(want_dn), "{}: {dn} vs {want_dn}", c.name);
                assert_eq!(code, want_code, "{}", c.name);
            }
            let mut mb: Vec<String> = d
                .mailboxes
                .iter()
                .map(|m| m.address.lower().to_string())
                .collect();
            mb.sort();
            assert_eq!(mb, c.want_mailboxes, "{}", c.name);
        }
    }

    #[test]
    fn lists_and_contacts() {
        let a = user(1, "A", Some("a@example.com"));
        let ext = contact(
            2,
            "Gmail Aaron Medrano",
            "aaron@gmail.com",
            &["example.com"],
        );
        let l = group(3, "Sales", Some("sales@example.com"), &[&a, &ext]);
        let plain = group(4, "No Mail", None, &[&a]);
        let d = desired_state(
            &snapshot(vec![a, ext, l, plain], vec![], vec![]),
            MappingSettings::default(),
        );
        assert_eq!(d.lists.len(), 1);
        assert_eq!(d.lists[0].members, [guid(1), guid(2)].into_iter().collect());
        assert_eq!(d.contacts.len(), 1);
        assert_eq!(d.contacts[0].proposed_name, "gmail.aaron.medrano");
        assert_eq!(d.contacts[0].other_mailbox, vec!["example.com"]);
        assert!(d.in_scope.contains(&guid(4)));
        assert!(d.findings.is_empty(), "{:?}", d.findings);
    }

    #[test]
    fn names_from_labels() {
        for (label, want) in [
            ("Gmail Aaron Medrano", "gmail.aaron.medrano"),
            ("  O'Brien, Pat ", "obrien.pat"),
            ("...", ""),
        ] {
            assert_eq!(name_from_label(label), want);
        }
    }
}
