//! Converting the control panel's wire objects into [`TargetState`] (pure).

use cloudoffice_api as api;
use dirsync_model::{DomainName, EmailAddress};

use crate::types::*;

fn info_fields(f: &mut Fields, info: &api::ContactInfo) {
    for name in api::CONTACT_INFO_FIELDS {
        if let Some(Some(v)) = info.get(name) {
            if !v.is_empty() {
                f.insert((*name).into(), v.clone());
            }
        }
    }
}

fn put(f: &mut Fields, k: &'static str, v: &Option<String>) {
    if let Some(v) = v.as_ref().filter(|v| !v.is_empty()) {
        f.insert(k.into(), v.clone());
    }
}

fn addr(name: &str, domain: &DomainName) -> Option<EmailAddress> {
    EmailAddress::parse(&format!("{name}@{domain}")).ok()
}

fn addresses<C: FromIterator<EmailAddress>>(list: &[api::EmailAddressEntry]) -> C {
    list.iter()
        .filter_map(|e| EmailAddress::parse(&e.address).ok())
        .collect()
}

/// A domain.
pub fn domain(d: &api::Domain) -> Option<TargetDomain> {
    Some(TargetDomain {
        name: DomainName::parse(&d.name).ok()?,
        exchange: d.service_type.has_exchange(),
        rs_email: d.service_type.has_rsemail(),
        exchange_limit: d.exchange_max_num_mailboxes,
        exchange_used: d.exchange_used_mailboxes,
        rs_email_limit: d.rs_email_max_number_mailboxes,
        rs_email_used: d.rs_email_used_mailboxes,
        aliases: d
            .aliases
            .iter()
            .filter_map(|a| DomainName::parse(a).ok())
            .collect(),
        accepted: d
            .accepted_domains
            .iter()
            .filter_map(|a| DomainName::parse(a).ok())
            .collect(),
    })
}

/// An Exchange mailbox of `domain`.
pub fn exchange_mailbox(m: &api::ExchangeMailbox, domain: &DomainName) -> Option<TargetMailbox> {
    let mut fields = Fields::new();
    fields.insert("displayName".into(), m.display_name.clone());
    put(&mut fields, "firstName", &m.contact_info.first_name);
    put(&mut fields, "lastName", &m.contact_info.last_name);
    put(&mut fields, "initials", &m.contact_info.initials);
    info_fields(&mut fields, &m.contact_info.common());
    Some(TargetMailbox {
        service: Service::Exchange,
        address: addr(&m.name, domain)?,
        enabled: m.enabled,
        fields,
        addresses: addresses(&m.email_address_list),
        written_as: None,
    })
}

/// A Rackspace Email mailbox of `domain`.
pub fn rs_mailbox(m: &api::RsMailbox, domain: &DomainName) -> Option<TargetMailbox> {
    let mut fields = Fields::new();
    fields.insert("displayName".into(), m.display_name.clone());
    put(&mut fields, "firstName", &m.contact_info.first_name);
    put(&mut fields, "lastName", &m.contact_info.last_name);
    info_fields(&mut fields, &m.contact_info.info);
    Some(TargetMailbox {
        service: Service::RsEmail,
        address: addr(&m.name, domain)?,
        enabled: m.enabled,
        fields,
        addresses: addresses(&m.email_address_list),
        written_as: None,
    })
}

/// An Exchange contact of `domain`.
pub fn contact(c: &api::ExchangeContact, domain: &DomainName) -> Option<TargetContact> {
    let mut fields = Fields::new();
    fields.insert("displayName".into(), c.display_name.clone());
    put(&mut fields, "firstName", &c.contact_info.first_name);
    put(&mut fields, "lastName", &c.contact_info.last_name);
    info_fields(&mut fields, &c.contact_info.common());
    Some(TargetContact {
        address: addr(&c.name, domain)?,
        external: c.external_email.clone(),
        fields,
    })
}

/// A distribution list of `domain`.
pub fn list(l: &api::DistributionList, domain: &DomainName) -> Option<TargetList> {
    Some(TargetList {
        address: addr(&l.name, domain)?,
        display_name: l.display_name.clone(),
        addresses: l
            .email_addresses
            .iter()
            .filter_map(|e| EmailAddress::parse(&e.value).ok())
            .collect(),
        members: l
            .members
            .iter()
            .map(|m| m.value.to_ascii_lowercase())
            .collect(),
    })
}

/// A Rackspace Email alias of `domain`.
pub fn alias(a: &api::RsAlias, domain: &DomainName) -> Option<TargetAlias> {
    Some(TargetAlias {
        address: addr(&a.name, domain)?,
        targets: a
            .email_address_list
            .email_address
            .iter()
            .map(|t| t.trim().to_ascii_lowercase())
            .collect(),
    })
}
