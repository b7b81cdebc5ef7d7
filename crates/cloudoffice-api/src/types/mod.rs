//! Wire types, with the Cloud Office API's field names (camelCase).
//!
//! Responses are JSON. Add and edit requests for mailboxes, aliases and
//! contacts are `application/x-www-form-urlencoded` (the `*Form` types, flat
//! so they encode as forms); distribution lists take JSON
//! ([`DistributionListBody`]). List responses are pages: the items under a
//! kind-specific key plus `offset`, `size` and `total`.

use serde::{Deserialize, Serialize};

mod contact_info;
mod lists;

pub use contact_info::*;
pub use lists::*;

/// Which mailbox services a domain has.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ServiceType {
    /// Hosted Exchange only.
    Exchange,
    /// Rackspace Email only.
    #[serde(rename = "rsemail")]
    RsEmail,
    /// Both services.
    Both,
}

impl ServiceType {
    pub fn as_str(self) -> &'static str {
        match self {
            ServiceType::Exchange => "exchange",
            ServiceType::RsEmail => "rsemail",
            ServiceType::Both => "both",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s.to_ascii_lowercase().as_str() {
            "exchange" => ServiceType::Exchange,
            "rsemail" => ServiceType::RsEmail,
            "both" => ServiceType::Both,
            _ => return None,
        })
    }
    /// True when Exchange objects (mailboxes, contacts, lists) may exist.
    pub fn has_exchange(self) -> bool {
        matches!(self, ServiceType::Exchange | ServiceType::Both)
    }
    /// True when Rackspace Email objects (mailboxes, aliases) may exist.
    pub fn has_rsemail(self) -> bool {
        matches!(self, ServiceType::RsEmail | ServiceType::Both)
    }
}

/// A Rackspace Email login token (`POST .../rs/mailboxes/{name}/loginToken`):
/// the clients (rackmail, Ruby) read `token` and hand it to webmail as the
/// session id.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginToken {
    pub token: String,
}

/// A hosted domain.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Domain {
    pub name: String,
    pub account_number: String,
    pub service_type: ServiceType,
    /// Purchased Exchange mailbox licences.
    pub exchange_max_num_mailboxes: u32,
    /// Exchange mailboxes that count against the licences (disabled ones
    /// included). The documented name is `exchangeUsedStorage` (the Domain
    /// page: it "actually return\[s\] the number of active mailboxes");
    /// officed's older name is still read.
    #[serde(rename = "exchangeUsedStorage", alias = "exchangeUsedMailboxes")]
    pub exchange_used_mailboxes: u32,
    /// Purchased Rackspace Email mailbox licences.
    pub rs_email_max_number_mailboxes: u32,
    /// Rackspace Email mailboxes that count against the licences, under the
    /// documented name `rsEmailUsedStorage` (see `exchange_used_mailboxes`).
    #[serde(rename = "rsEmailUsedStorage", alias = "rsEmailUsedMailboxes")]
    pub rs_email_used_mailboxes: u32,
    /// Domain aliases: every object gets `local@alias` automatically; such
    /// addresses cannot be added by hand.
    #[serde(default)]
    pub aliases: Vec<String>,
    /// Accepted domains: alternate addresses may be in these (or the domain itself).
    #[serde(default)]
    pub accepted_domains: Vec<String>,
    /// Documented as always `false` ("The field 'publicFoldersEnabled' from
    /// Show Domain result always returns 'false'"); officed has no public
    /// folders.
    #[serde(default)]
    pub public_folders_enabled: bool,
}

/// One address of a mailbox or list. The primary (`name@domain`) is
/// listed first with `replyTo: true`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EmailAddressEntry {
    pub address: String,
    #[serde(default)]
    pub reply_to: bool,
}

/// A Hosted Exchange mailbox as `GET .../ex/mailboxes/{name}` answers it.
/// `name` is the local part (the Service ID). Documented settings officed
/// keeps without acting on them (`isPublicFolderAdmin`,
/// `emailForwardingAddress`, visibility flags) are in `extra`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExchangeMailbox {
    pub name: String,
    pub display_name: String,
    pub enabled: bool,
    pub is_hidden: bool,
    /// Quota in MB.
    pub size: u32,
    /// Used MB.
    pub current_usage: u32,
    /// RFC 3339.
    #[cfg_attr(feature = "openapi", schema(format = DateTime))]
    pub created_date: String,
    #[serde(default)]
    pub contact_info: ExContactInfo,
    /// Primary, domain-alias and alternate addresses.
    #[serde(default)]
    pub email_address_list: Vec<EmailAddressEntry>,
    /// Other documented fields, by wire name.
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::schema::exchange_mailbox_extra))]
    #[serde(flatten, default)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

/// A Rackspace Email mailbox as `GET .../rs/mailboxes/{name}` answers it.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RsMailbox {
    pub name: String,
    pub display_name: String,
    pub enabled: bool,
    /// Quota in MB.
    pub size: u32,
    pub current_usage: u32,
    #[cfg_attr(feature = "openapi", schema(format = DateTime))]
    pub created_date: String,
    #[serde(default)]
    pub contact_info: RsContactInfo,
    /// Primary, domain-alias and alternate addresses (an officed extension:
    /// Rackspace Email documents no alternate addresses on mailboxes).
    #[serde(default)]
    pub email_address_list: Vec<EmailAddressEntry>,
    /// Other documented fields (vacation, forwarding, visibility), by wire name.
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::schema::rs_mailbox_extra))]
    #[serde(flatten, default)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

/// A list of addresses in the documented nesting `{"emailAddress": [...]}`
/// (XML `<emailAddressList><emailAddress>...</emailAddress></emailAddressList>`).
/// A plain array is read too.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct AddressList {
    #[serde(rename = "emailAddress")]
    pub email_address: Vec<String>,
}

impl<'de> Deserialize<'de> for AddressList {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Either {
            Wrapped {
                #[serde(rename = "emailAddress", default)]
                email_address: Vec<String>,
            },
            Plain(Vec<String>),
        }
        Ok(AddressList {
            email_address: match Either::deserialize(d)? {
                Either::Wrapped { email_address } => email_address,
                Either::Plain(v) => v,
            },
        })
    }
}

impl From<Vec<String>> for AddressList {
    fn from(email_address: Vec<String>) -> Self {
        AddressList { email_address }
    }
}

/// A Rackspace Email alias: `name@domain` forwarding to the listed addresses.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RsAlias {
    pub name: String,
    #[serde(default)]
    pub email_address_list: AddressList,
}

/// A Hosted Exchange contact: `name@domain` in the address book, mail goes to `externalEmail`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExchangeContact {
    pub name: String,
    pub display_name: String,
    pub external_email: String,
    pub is_hidden: bool,
    #[serde(default)]
    pub contact_info: ExContactInfo,
    /// Other documented fields, by wire name.
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::schema::exchange_contact_extra))]
    #[serde(flatten, default)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

/// One item of a list page: the documented summary (`name`, `displayName`)
/// plus the `fields=` extras asked for, by wire name.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListItem {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::schema::list_item_extra))]
    #[serde(flatten, default)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

macro_rules! page {
    ($(#[$m:meta])* $name:ident, $item:ty, $field:ident, $key:literal) => {
        $(#[$m])*
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
        // The derive cannot read `rename = $key`; camelCase gives the same
        // key for every page type (a test checks the document's keys).
        #[serde(rename_all = "camelCase")]
        pub struct $name {
            #[serde(rename = $key)]
            pub $field: Vec<$item>,
            pub offset: u32,
            pub size: u32,
            pub total: u32,
        }
    };
}

page!(
    /// `GET /customers/{c}/domains`: `{"domains": [...], "offset", "size", "total"}`.
    DomainList, Domain, domains, "domains"
);
page!(
    /// `GET .../ex/mailboxes`: `{"mailboxes": [...], ...}`.
    ExchangeMailboxList, ListItem, mailboxes, "mailboxes"
);
page!(
    /// `GET .../rs/mailboxes`: `{"rsMailboxes": [...], ...}`.
    RsMailboxList, ListItem, rs_mailboxes, "rsMailboxes"
);
page!(
    /// `GET .../rs/aliases`: `{"aliases": [...], ...}`.
    RsAliasList, ListItem, aliases, "aliases"
);
page!(
    /// `GET .../ex/contacts`: `{"contacts": [...], ...}`.
    ExchangeContactList, ListItem, contacts, "contacts"
);
/// `GET .../ex/distributionlists`: `{"distributionlists": [...], ...}`
/// (the documented key is all lower case; `distributionLists` is read too).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DistributionListList {
    #[serde(rename = "distributionlists", alias = "distributionLists")]
    pub distribution_lists: Vec<ListItem>,
    pub offset: u32,
    pub size: u32,
    pub total: u32,
}

/// `GET .../ex/mailboxes/{name}/emailaddresses`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EmailAddressList {
    pub email_address_list: Vec<EmailAddressEntry>,
}

/// `GET .../ex/distributionlists/{name}/members`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberList {
    pub members: Vec<String>,
}

/// Query of list calls: paging (`size` default 50, at most 250; `offset`),
/// `fields=` (comma-separated documented extras), and the documented
/// filters `enabled=`, `startswith=` or `contains=` (not both of the last
/// two).
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PageQuery {
    /// Items per page (default 50, at most 250).
    #[cfg_attr(feature = "openapi", param(minimum = 1, maximum = 250, default = 50))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u32>,
    /// Items to skip.
    #[cfg_attr(feature = "openapi", param(minimum = 0, default = 0))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offset: Option<u32>,
    /// Comma-separated documented extras to add to each item.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fields: Option<String>,
    /// Mailboxes: only enabled (`true`) or disabled (`false`) ones.
    #[cfg_attr(feature = "openapi", param(value_type = Option<bool>))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<String>,
    /// Name (or display name) starts with this; `0-9` means a digit. Not
    /// with `contains`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub startswith: Option<String>,
    /// Name (or display name, external address) contains this. Not with
    /// `startswith`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contains: Option<String>,
    /// Domain index: only these domains (comma-separated names).
    #[serde(
        default,
        rename = "domainNames",
        skip_serializing_if = "Option::is_none"
    )]
    pub domain_names: Option<String>,
}

/// Add or edit a Rackspace Email alias, form-encoded: `aliasEmails` is a
/// comma-separated list of forwarding targets (replaces the list on edit).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RsAliasForm {
    /// Comma-separated forwarding addresses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alias_emails: Option<String>,
}

/// Rename a mailbox (`POST .../ex|rs/mailboxes/{name}/rename`), form-encoded.
///
/// Renaming changes the mailbox's name (its Service ID) and primary
/// address; alternate addresses and list memberships follow it. Only API
/// keys with the rename permission may call it (others get 403
/// `Not authorized`); an edit (`PUT`) never renames.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MailboxRenameForm {
    /// The new name: the local part of the new primary address.
    pub new_name: String,
}

/// Health check answer (`GET /healthz`).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Health {
    pub status: String,
    pub database: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::forms::*;

    #[test]
    fn form_roundtrip_with_bools_and_contact_info() {
        let mut f = ExchangeMailboxForm {
            display_name: Some("Jane Doe".into()),
            enabled: Some(false),
            size: Some(2048),
            ..Default::default()
        };
        f.set_contact_info(&ContactInfo {
            business_city: Some("Blacksburg".into()),
            custom_id: Some("E42".into()),
            ..Default::default()
        });
        let enc = serde_urlencoded::to_string(&f).unwrap();
        assert_eq!(
            enc,
            "displayName=Jane+Doe&size=2048&enabled=false&city=Blacksburg&customID=E42"
        );
        let back: ExchangeMailboxForm = serde_urlencoded::from_str(&enc).unwrap();
        assert_eq!(back, f);
        // Rackspace Email's spelling is accepted for Exchange too; .NET booleans.
        let alias: ExchangeMailboxForm = serde_urlencoded::from_str(
            "businessCity=Blacksburg&enabled=False&isPublicFolderAdmin=True",
        )
        .unwrap();
        assert_eq!(alias.business_city.as_deref(), Some("Blacksburg"));
        assert_eq!(alias.enabled, Some(false));
        assert_eq!(
            alias.passive().top.get("isPublicFolderAdmin"),
            Some(&serde_json::Value::Bool(true))
        );
        assert!(serde_urlencoded::from_str::<ExchangeMailboxForm>("bogus=1").is_err());
        assert!(serde_urlencoded::from_str::<ExchangeMailboxForm>("enabled=maybe").is_err());
    }

    #[test]
    fn list_shapes() {
        let l = RsMailboxList {
            rs_mailboxes: vec![],
            offset: 0,
            size: 50,
            total: 0,
        };
        assert_eq!(
            serde_json::to_string(&l).unwrap(),
            r#"{"rsMailboxes":[],"offset":0,"size":50,"total":0}"#
        );
        let l = DistributionListList {
            distribution_lists: vec![],
            offset: 0,
            size: 50,
            total: 0,
        };
        assert!(serde_json::to_string(&l)
            .unwrap()
            .contains("\"distributionlists\""));
    }

    #[test]
    fn contact_info_apply_clears_and_sets() {
        let mut a = ContactInfo {
            title: Some("Eng".into()),
            company: Some("Acme".into()),
            ..Default::default()
        };
        a.apply(&ContactInfo {
            title: Some(String::new()),
            department: Some("R&D".into()),
            ..Default::default()
        });
        assert_eq!(a.title, None);
        assert_eq!(a.company.as_deref(), Some("Acme"));
        assert_eq!(a.department.as_deref(), Some("R&D"));
        let json = serde_json::to_value(&a).unwrap();
        assert_eq!(json["department"], "R&D");
        for f in CONTACT_INFO_FIELDS {
            assert!(a.get(f).is_some(), "{f}");
        }
    }

    #[test]
    fn service_type_wire() {
        assert_eq!(
            serde_json::to_string(&ServiceType::RsEmail).unwrap(),
            "\"rsemail\""
        );
        assert_eq!(ServiceType::parse("Both"), Some(ServiceType::Both));
        assert_eq!(ServiceType::parse("x"), None);
    }
}
