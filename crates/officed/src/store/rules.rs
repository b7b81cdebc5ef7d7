//! The control panel's pure rules, checked by the writes: which service a
//! domain has, where an alternate address may live, the addresses an
//! object answers with, alias targets, licence faults, the service-ID rule,
//! distribution-list edits. No I/O: each rule is tested below with a table
//! of cases; the store modules call them with what they read.

use cloudoffice_api::messages;
use cloudoffice_api::types::{
    ContactInfo, DistributionListBody, EmailAddressEntry, ServiceType, CONTACT_INFO_FIELDS,
};

use super::ServiceStore;
use super::{DomainRow, Service};
use crate::error::{Error, Result};
use crate::validate;

/// 403 unless a domain of `service_type` offers `svc`.
pub fn check_service(domain: &str, service_type: ServiceType, svc: Service) -> Result<()> {
    let ok = match svc {
        Service::Exchange => service_type.has_exchange(),
        Service::RsEmail => service_type.has_rsemail(),
    };
    if ok {
        Ok(())
    } else {
        Err(Error::not_authorized(format!(
            "The domain '{domain}' has no {} service.",
            svc.product()
        )))
    }
}

/// The addresses an object `name` of `dom` answers with: its primary
/// (reply-to), one twin in each domain alias, then its stored alternates.
pub fn address_list(
    dom: &DomainRow,
    name: &str,
    stored: &[(String, bool)],
) -> Vec<EmailAddressEntry> {
    let mut out = Vec::new();
    for (a, primary) in stored.iter().filter(|(_, p)| *p) {
        out.push(EmailAddressEntry {
            address: a.clone(),
            reply_to: *primary,
        });
    }
    for alias in &dom.aliases {
        out.push(EmailAddressEntry {
            address: format!("{name}@{alias}"),
            reply_to: false,
        });
    }
    for (a, _) in stored.iter().filter(|(_, p)| !*p) {
        out.push(EmailAddressEntry {
            address: a.clone(),
            reply_to: false,
        });
    }
    out
}

/// A distribution list's addresses: as [`address_list`], plus a twin in
/// each domain alias of every alternate in the primary domain ("Each email
/// address entry using the primary domain will result in a corresponding
/// entry for each domain alias", v1 list model).
pub fn list_address_list(
    dom: &DomainRow,
    name: &str,
    stored: &[(String, bool)],
) -> Vec<EmailAddressEntry> {
    let mut addresses = address_list(dom, name, stored);
    for (a, _) in stored.iter().filter(|(_, p)| !*p) {
        if let Some((local, d)) = a.rsplit_once('@') {
            if d.eq_ignore_ascii_case(&dom.name) {
                for alias in &dom.aliases {
                    addresses.push(EmailAddressEntry {
                        address: format!("{local}@{alias}"),
                        reply_to: false,
                    });
                }
            }
        }
    }
    addresses
}

/// Checks an alternate address for an object in `dom`: must be valid, in
/// the primary domain or an accepted domain, never in a domain alias.
/// Answers the address's domain (lower case).
pub fn check_alternate(dom: &DomainRow, address: &str) -> Result<String> {
    let (_, d) = validate::address(address)?;
    let d = validate::key(&d);
    if dom.aliases.contains(&d) {
        return Err(Error::alternate_domain(format!(
            "'{address}' is in the domain alias '{d}': addresses in a domain alias are created \
             automatically and cannot be added by hand."
        )));
    }
    if d != dom.name && !dom.accepted.contains(&d) {
        return Err(Error::alternate_domain(format!(
            "'{address}' is not in '{}' or its accepted domains ({}).",
            dom.name,
            if dom.accepted.is_empty() {
                "none".to_string()
            } else {
                dom.accepted.join(", ")
            }
        )));
    }
    Ok(d)
}

/// The fault details when every licence of a service is in use.
pub fn limit_details(domain: &str, svc: Service, used: i64, max: i64) -> String {
    format!(
        "All {max} purchased {} licences of '{domain}' are in use ({used} mailboxes, disabled \
         ones included). Add licences or remove a mailbox.",
        svc.product(),
    )
}

/// The domain's counter and licence columns of a service.
pub fn licence_columns(svc: Service) -> (&'static str, &'static str) {
    match svc {
        Service::Exchange => ("ex_used", "ex_licences"),
        Service::RsEmail => ("rs_used", "rs_licences"),
    }
}

/// The service-ID rule shared by every edit: an edit may repeat the object's
/// name (in any case) but never change it; renames are a separate,
/// permissioned operation.
pub fn keep_service_id(name: &str, requested: Option<&str>, details: &str) -> Result<()> {
    match requested {
        Some(n) if !n.eq_ignore_ascii_case(name) => Err(Error::bad_request(
            messages::service_id_cannot_change(name, n),
            details,
        )),
        _ => Ok(()),
    }
}

/// Checks the free-text fields of an add or edit.
pub fn check_texts(input_texts: &[(&str, &Option<String>)], contact: &ContactInfo) -> Result<()> {
    for (f, v) in input_texts {
        if let Some(v) = v {
            validate::text_field(f, v)?;
        }
    }
    for f in CONTACT_INFO_FIELDS {
        if let Some(Some(v)) = contact.get(f) {
            validate::text_field(f, v)?;
        }
    }
    Ok(())
}

/// An optional text as stored: an empty string clears it.
pub fn empty_none(v: &Option<String>) -> Option<String> {
    v.as_ref().filter(|s| !s.is_empty()).cloned()
}

/// Most targets an alias forwards to.
const MAX_ALIAS_TARGETS: usize = 4000;

/// External (non-local) targets an alias may have, as documented.
pub const MAX_EXTERNAL_ALIAS_TARGETS: usize = 4;

/// Reads an alias's `aliasEmails` (comma-separated): each a valid address,
/// repeats (in any case) dropped, at least one, at most 4000.
pub fn parse_targets(s: &str) -> Result<Vec<String>> {
    let mut out: Vec<String> = Vec::new();
    for t in s.split(',').map(str::trim).filter(|t| !t.is_empty()) {
        validate::address(t)?;
        if !out.iter().any(|o| o.eq_ignore_ascii_case(t)) {
            out.push(t.to_string());
        }
    }
    if out.is_empty() {
        return Err(Error::bad_request(
            "An alias must point to a valid email address.",
            "Give one or more comma-separated addresses in aliasEmails.",
        ));
    }
    if out.len() > MAX_ALIAS_TARGETS {
        return Err(Error::bad_request(
            "Too many alias addresses.",
            format!("An alias forwards to at most {MAX_ALIAS_TARGETS} addresses."),
        ));
    }
    Ok(out)
}

/// The domain of an alias target (lower case; empty when it has none).
pub fn target_domain(target: &str) -> String {
    target
        .rsplit_once('@')
        .map(|(_, d)| d.to_ascii_lowercase())
        .unwrap_or_default()
}

/// The Alias page's verdict on its targets: none `missing` (targets in the
/// customer's domains that do not exist), at most four `external` ones.
pub fn check_alias_targets(missing: &[String], external: usize) -> Result<()> {
    if !missing.is_empty() {
        return Err(Error::bad_request(
            format!(
                "An alias must point to a valid email address. The following email addresses \
                 do not exist: {}",
                missing.join(", ")
            ),
            "Targets in this account's domains must be existing mailboxes, contacts, lists or \
             aliases.",
        ));
    }
    if external > MAX_EXTERNAL_ALIAS_TARGETS {
        return Err(Error::bad_request(
            "Max number of non-local email recipients reached.",
            format!(
                "An alias forwards to at most {MAX_EXTERNAL_ALIAS_TARGETS} addresses outside \
                 this account's domains."
            ),
        ));
    }
    Ok(())
}

/// What an edit asks for one entry: add or remove (`Update` of an entry
/// keeps it, adding it when missing).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListAction {
    Add,
    Remove,
}

/// Reads an entry's `Action` (absent: add).
pub fn list_action(a: Option<&str>) -> Result<ListAction> {
    match a.map(|a| a.trim().to_ascii_lowercase()).as_deref() {
        None | Some("add" | "update") => Ok(ListAction::Add),
        Some("remove") => Ok(ListAction::Remove),
        Some(other) => Err(Error::validation(
            "Invalid value for field: Action",
            format!(
                "Action must be 'Add', 'Update' or 'Remove', not '{}'.",
                validate::printable(other)
            ),
        )),
    }
}

/// Applies `Add`/`Remove` entries to a set of addresses (case-insensitive).
pub fn apply_actions(
    set: &mut Vec<String>,
    entries: &[(Option<&str>, &str)],
    what: &str,
) -> Result<()> {
    for (action, value) in entries {
        validate::address(value)?;
        let key = validate::key(value);
        let pos = set.iter().position(|s| validate::key(s) == key);
        match (list_action(*action)?, pos) {
            (ListAction::Add, None) => set.push((*value).to_string()),
            (ListAction::Add, Some(_)) => {}
            (ListAction::Remove, Some(i)) => {
                set.remove(i);
            }
            (ListAction::Remove, None) => {
                return Err(Error::not_found(
                    format!("{what} not found."),
                    format!("'{}' is not in the list.", validate::printable(value)),
                ))
            }
        }
    }
    Ok(())
}

/// Most members a distribution list has.
const MAX_LIST_MEMBERS: usize = 10_000;

/// Checks a distribution list body's fields before anything is read.
pub fn check_list_body(body: &DistributionListBody) -> Result<()> {
    if let Some(d) = &body.display_name {
        validate::display_name(d)?;
    }
    if let Some(d) = &body.description {
        validate::text_field("Description", d)?;
    }
    for a in body.email_addresses.iter().flatten() {
        if let Some(p) = &a.address_protocol {
            if !p.eq_ignore_ascii_case("smtp") {
                return Err(Error::validation(
                    "Invalid value for field: AddressProtocol",
                    "officed keeps smtp addresses only.",
                ));
            }
        }
    }
    if body
        .members
        .as_ref()
        .is_some_and(|m| m.len() > MAX_LIST_MEMBERS)
    {
        return Err(Error::bad_request(
            "Too many members.",
            format!("A list has at most {MAX_LIST_MEMBERS} members."),
        ));
    }
    for m in body.accept_messages_only_from.iter().flatten() {
        validate::address(&m.value)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dom() -> DomainRow {
        DomainRow {
            id: "d1".into(),
            customer_id: "c1".into(),
            account_number: "100".into(),
            name: "example.com".into(),
            service_type: ServiceType::Both,
            ex_licences: 1,
            rs_licences: 1,
            ex_used: 0,
            rs_used: 0,
            aliases: vec!["alias.example".into()],
            accepted: vec!["other.example".into()],
        }
    }

    /// The fault's code and message of an error (0 and "" for `Ok`).
    fn fault<T>(r: Result<T>) -> (u16, String) {
        match r {
            Ok(_) => (0, String::new()),
            Err(e) => {
                let f = e.to_fault();
                (f.detail.code, f.detail.message)
            }
        }
    }

    #[test]
    fn services_of_a_domain() {
        let cases = [
            (ServiceType::Both, Service::Exchange, true),
            (ServiceType::Both, Service::RsEmail, true),
            (ServiceType::Exchange, Service::Exchange, true),
            (ServiceType::Exchange, Service::RsEmail, false),
            (ServiceType::RsEmail, Service::Exchange, false),
            (ServiceType::RsEmail, Service::RsEmail, true),
        ];
        for (st, svc, ok) in cases {
            let r = check_service("example.com", st, svc);
            assert_eq!(r.is_ok(), ok, "{st:?} {svc:?}");
            if !ok {
                assert_eq!(fault(r).0, 403, "{st:?} {svc:?}");
            }
        }
    }

    #[test]
    fn alternate_address_domains() {
        // (address, Ok(domain) or the start of the fault's details)
        let cases: &[(&str, std::result::Result<&str, &str>)] = &[
            ("a@example.com", Ok("example.com")),
            ("a@EXAMPLE.com", Ok("example.com")),
            ("a@other.example", Ok("other.example")),
            (
                "a@alias.example",
                Err("'a@alias.example' is in the domain alias"),
            ),
            (
                "a@elsewhere.example",
                Err("'a@elsewhere.example' is not in 'example.com'"),
            ),
        ];
        for (address, want) in cases {
            match (check_alternate(&dom(), address), want) {
                (Ok(d), Ok(w)) => assert_eq!(d, *w, "{address}"),
                (Err(e), Err(w)) => {
                    let details = e.to_fault().detail.details;
                    assert!(details.starts_with(w), "{address}: {details}");
                }
                (got, _) => panic!("{address}: {:?}", got.map_err(|e| e.to_string())),
            }
        }
        assert!(check_alternate(&dom(), "not an address").is_err());
    }

    #[test]
    fn addresses_an_object_answers_with() {
        let stored = vec![
            ("b@other.example".to_string(), false),
            ("a@example.com".to_string(), true),
            ("c@example.com".to_string(), false),
        ];
        let plain: Vec<(String, bool)> = address_list(&dom(), "a", &stored)
            .into_iter()
            .map(|e| (e.address, e.reply_to))
            .collect();
        let want = [
            ("a@example.com", true),
            ("a@alias.example", false),
            ("b@other.example", false),
            ("c@example.com", false),
        ];
        assert_eq!(plain.len(), want.len());
        for (got, (a, r)) in plain.iter().zip(want) {
            assert_eq!((got.0.as_str(), got.1), (a, r));
        }
        // A list also answers a twin of its primary-domain alternates.
        let list: Vec<String> = list_address_list(&dom(), "a", &stored)
            .into_iter()
            .map(|e| e.address)
            .collect();
        assert_eq!(list.last().map(String::as_str), Some("c@alias.example"));
        assert_eq!(list.len(), 5);
    }

    #[test]
    fn the_service_id_cannot_change() {
        let cases = [
            ("anna", None, true),
            ("anna", Some("anna"), true),
            ("anna", Some("ANNA"), true),
            ("anna", Some("anne"), false),
        ];
        for (name, requested, ok) in cases {
            let r = keep_service_id(name, requested, "why");
            assert_eq!(r.is_ok(), ok, "{name} {requested:?}");
            if !ok {
                let (code, message) = fault(r);
                assert_eq!(code, 400);
                assert_eq!(message, messages::service_id_cannot_change(name, "anne"));
            }
        }
    }

    #[test]
    fn licence_details() {
        let cases = [
            (
                Service::Exchange,
                "All 3 purchased Hosted Exchange licences of 'x.com' are in use (3 ",
            ),
            (
                Service::RsEmail,
                "All 3 purchased Rackspace Email licences of 'x.com' are in use (3 ",
            ),
        ];
        for (svc, start) in cases {
            let d = limit_details("x.com", svc, 3, 3);
            assert!(d.starts_with(start), "{d}");
            assert!(d.ends_with("Add licences or remove a mailbox."), "{d}");
        }
        assert_eq!(
            licence_columns(Service::Exchange),
            ("ex_used", "ex_licences")
        );
        assert_eq!(
            licence_columns(Service::RsEmail),
            ("rs_used", "rs_licences")
        );
    }

    #[test]
    fn alias_targets() {
        // (aliasEmails, Ok(targets) or the fault's message)
        let cases: &[(&str, std::result::Result<&[&str], &str>)] = &[
            ("a@x.com", Ok(&["a@x.com"])),
            (" a@x.com , b@y.com ", Ok(&["a@x.com", "b@y.com"])),
            ("a@x.com,A@X.COM", Ok(&["a@x.com"])),
            ("a@x.com,,", Ok(&["a@x.com"])),
            ("", Err("An alias must point to a valid email address.")),
            (" , ", Err("An alias must point to a valid email address.")),
        ];
        for (input, want) in cases {
            match (parse_targets(input), want) {
                (Ok(got), Ok(w)) => assert_eq!(got, *w, "{input}"),
                (got, Err(w)) => assert_eq!(fault(got).1, *w, "{input}"),
                (Err(e), Ok(_)) => panic!("{input}: {e}"),
            }
        }
        assert!(parse_targets("no-at-sign").is_err());
        let many: Vec<String> = (0..=MAX_ALIAS_TARGETS)
            .map(|i| format!("u{i}@x.com"))
            .collect();
        assert_eq!(
            fault(parse_targets(&many.join(","))).1,
            "Too many alias addresses."
        );

        for (t, d) in [("a@X.com", "x.com"), ("a@b@c.org", "c.org"), ("none", "")] {
            assert_eq!(target_domain(t), d, "{t}");
        }

        let missing = ["m@x.com".to_string()];
        let verdicts: &[(&[String], usize, &str)] = &[
            (&[], 0, ""),
            (&[], MAX_EXTERNAL_ALIAS_TARGETS, ""),
            (
                &[],
                MAX_EXTERNAL_ALIAS_TARGETS + 1,
                "Max number of non-local email recipients reached.",
            ),
            (
                &missing,
                0,
                "An alias must point to a valid email address. The following email addresses \
                 do not exist: m@x.com",
            ),
        ];
        for (missing, external, want) in verdicts {
            let got = fault(check_alias_targets(missing, *external)).1;
            assert_eq!(got, *want, "{missing:?} {external}");
        }
    }

    #[test]
    fn list_entry_actions() {
        // (set before, entries, set after or the fault's message)
        type Case<'a> = (
            &'a [&'a str],
            &'a [(Option<&'a str>, &'a str)],
            std::result::Result<&'a [&'a str], &'a str>,
        );
        let cases: &[Case<'_>] = &[
            (&[], &[(None, "a@x.com")], Ok(&["a@x.com"])),
            (&["a@x.com"], &[(Some("Add"), "A@x.com")], Ok(&["a@x.com"])),
            (
                &["a@x.com"],
                &[(Some("update"), "b@x.com")],
                Ok(&["a@x.com", "b@x.com"]),
            ),
            (&["a@x.com"], &[(Some("REMOVE"), "A@X.COM")], Ok(&[])),
            (
                &[],
                &[(Some("Remove"), "a@x.com")],
                Err("Member not found."),
            ),
            (
                &[],
                &[(Some("Replace"), "a@x.com")],
                Err("Invalid value for field: Action"),
            ),
        ];
        for (before, entries, want) in cases {
            let mut set: Vec<String> = before.iter().map(ToString::to_string).collect();
            let r = apply_actions(&mut set, entries, "Member");
            match want {
                Ok(after) => {
                    assert!(r.is_ok(), "{entries:?}");
                    assert_eq!(set, *after, "{entries:?}");
                }
                Err(m) => assert_eq!(fault(r).1, *m, "{entries:?}"),
            }
        }
    }

    #[test]
    fn list_bodies() {
        let body =
            |v: serde_json::Value| -> DistributionListBody { serde_json::from_value(v).unwrap() };
        let members: Vec<serde_json::Value> = (0..=MAX_LIST_MEMBERS)
            .map(|i| serde_json::json!({"Value": format!("u{i}@x.com")}))
            .collect();
        let cases = [
            (serde_json::json!({}), ""),
            (serde_json::json!({"DisplayName": "Sales"}), ""),
            (
                serde_json::json!({"EmailAddresses": [{"Value": "a@x.com", "AddressProtocol": "x500"}]}),
                "Invalid value for field: AddressProtocol",
            ),
            (serde_json::json!({"Members": members}), "Too many members."),
        ];
        for (b, want) in cases {
            assert_eq!(fault(check_list_body(&body(b.clone()))).1, want, "{b}");
        }
    }

    #[test]
    fn empty_texts_clear() {
        let cases = [(None, None), (Some(""), None), (Some("x"), Some("x"))];
        for (v, want) in cases {
            let v = v.map(str::to_string);
            assert_eq!(empty_none(&v).as_deref(), want, "{v:?}");
        }
    }
}
