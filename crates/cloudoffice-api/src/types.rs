//! Wire types, with the Cloud Office API's field names (camelCase).
//!
//! Responses are JSON. Add and edit requests for mailboxes, aliases and
//! contacts are `application/x-www-form-urlencoded` (the `*Form` types, flat
//! so they encode as forms); distribution lists take JSON
//! ([`DistributionListBody`]). List responses are pages: the items under a
//! kind-specific key plus `offset`, `size` and `total`.

use serde::{Deserialize, Serialize};

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

/// Contact information carried by mailboxes and contacts. Absent fields are
/// omitted; on edit an empty string clears a field.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContactInfo {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub company: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub department: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub office: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub business_number: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mobile_number: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fax_number: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pager_number: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub home_number: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub business_street: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub business_city: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub business_state: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub business_postal_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub business_country: Option<String>,
    #[serde(default, rename = "customID", skip_serializing_if = "Option::is_none")]
    pub custom_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub employee_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
    /// Documented contact fields officed stores and answers without acting
    /// on them (home address, user ID, ...), by wire name.
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::schema::contact_info_extra))]
    #[serde(flatten, default, skip_serializing_if = "serde_json::Map::is_empty")]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

/// The contact-info field names, in wire spelling (form keys and
/// `contactInfo` keys are the same).
pub const CONTACT_INFO_FIELDS: [&str; 17] = [
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
    "notes",
];

impl ContactInfo {
    /// Field by wire name.
    pub fn get(&self, field: &str) -> Option<&Option<String>> {
        Some(match field {
            "title" => &self.title,
            "company" => &self.company,
            "department" => &self.department,
            "office" => &self.office,
            "businessNumber" => &self.business_number,
            "mobileNumber" => &self.mobile_number,
            "faxNumber" => &self.fax_number,
            "pagerNumber" => &self.pager_number,
            "homeNumber" => &self.home_number,
            "businessStreet" => &self.business_street,
            "businessCity" => &self.business_city,
            "businessState" => &self.business_state,
            "businessPostalCode" => &self.business_postal_code,
            "businessCountry" => &self.business_country,
            "customID" => &self.custom_id,
            "employeeType" => &self.employee_type,
            "notes" => &self.notes,
            _ => return None,
        })
    }

    /// Mutable field by wire name.
    pub fn get_mut(&mut self, field: &str) -> Option<&mut Option<String>> {
        Some(match field {
            "title" => &mut self.title,
            "company" => &mut self.company,
            "department" => &mut self.department,
            "office" => &mut self.office,
            "businessNumber" => &mut self.business_number,
            "mobileNumber" => &mut self.mobile_number,
            "faxNumber" => &mut self.fax_number,
            "pagerNumber" => &mut self.pager_number,
            "homeNumber" => &mut self.home_number,
            "businessStreet" => &mut self.business_street,
            "businessCity" => &mut self.business_city,
            "businessState" => &mut self.business_state,
            "businessPostalCode" => &mut self.business_postal_code,
            "businessCountry" => &mut self.business_country,
            "customID" => &mut self.custom_id,
            "employeeType" => &mut self.employee_type,
            "notes" => &mut self.notes,
            _ => return None,
        })
    }

    /// Applies an edit: each `Some` field in `edit` replaces ours; an empty
    /// string clears it.
    pub fn apply(&mut self, edit: &ContactInfo) {
        for f in CONTACT_INFO_FIELDS {
            if let Some(Some(v)) = edit.get(f) {
                let slot = self.get_mut(f).expect("known field");
                *slot = if v.is_empty() { None } else { Some(v.clone()) };
            }
        }
    }
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

/// Exchange's contact information (`contactInfo` of Exchange mailboxes and
/// contacts), with Exchange's documented names (`jobTitle`, `addressLine1`,
/// `city`, `state`, `zip`, `country`); Rackspace Email's names are accepted
/// as aliases when reading.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExContactInfo {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub initials: Option<String>,
    #[serde(default, alias = "title", skip_serializing_if = "Option::is_none")]
    pub job_title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub company: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub department: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub office: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub business_number: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub home_number: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mobile_number: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fax_number: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pager_number: Option<String>,
    #[serde(
        default,
        rename = "addressLine1",
        alias = "businessStreet",
        skip_serializing_if = "Option::is_none"
    )]
    pub address_line1: Option<String>,
    #[serde(
        default,
        alias = "businessCity",
        skip_serializing_if = "Option::is_none"
    )]
    pub city: Option<String>,
    #[serde(
        default,
        alias = "businessState",
        skip_serializing_if = "Option::is_none"
    )]
    pub state: Option<String>,
    #[serde(
        default,
        alias = "businessPostalCode",
        skip_serializing_if = "Option::is_none"
    )]
    pub zip: Option<String>,
    #[serde(
        default,
        alias = "businessCountry",
        skip_serializing_if = "Option::is_none"
    )]
    pub country: Option<String>,
    #[serde(default, rename = "customID", skip_serializing_if = "Option::is_none")]
    pub custom_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub employee_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
}

impl ExContactInfo {
    /// Exchange's shape of names plus the shared contact fields.
    pub fn from_common(
        first_name: Option<String>,
        last_name: Option<String>,
        initials: Option<String>,
        c: &ContactInfo,
    ) -> Self {
        ExContactInfo {
            first_name,
            last_name,
            initials,
            job_title: c.title.clone(),
            company: c.company.clone(),
            department: c.department.clone(),
            office: c.office.clone(),
            business_number: c.business_number.clone(),
            home_number: c.home_number.clone(),
            mobile_number: c.mobile_number.clone(),
            fax_number: c.fax_number.clone(),
            pager_number: c.pager_number.clone(),
            address_line1: c.business_street.clone(),
            city: c.business_city.clone(),
            state: c.business_state.clone(),
            zip: c.business_postal_code.clone(),
            country: c.business_country.clone(),
            custom_id: c.custom_id.clone(),
            employee_type: c.employee_type.clone(),
            notes: c.notes.clone(),
        }
    }

    /// The shared contact fields (names excluded), in the common spelling.
    pub fn common(&self) -> ContactInfo {
        ContactInfo {
            title: self.job_title.clone(),
            company: self.company.clone(),
            department: self.department.clone(),
            office: self.office.clone(),
            business_number: self.business_number.clone(),
            mobile_number: self.mobile_number.clone(),
            fax_number: self.fax_number.clone(),
            pager_number: self.pager_number.clone(),
            home_number: self.home_number.clone(),
            business_street: self.address_line1.clone(),
            business_city: self.city.clone(),
            business_state: self.state.clone(),
            business_postal_code: self.zip.clone(),
            business_country: self.country.clone(),
            custom_id: self.custom_id.clone(),
            employee_type: self.employee_type.clone(),
            notes: self.notes.clone(),
            extra: Default::default(),
        }
    }
}

/// Rackspace Email's contact information: the names plus the shared fields
/// in Rackspace Email's spelling.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RsContactInfo {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub initials: Option<String>,
    #[serde(flatten)]
    pub info: ContactInfo,
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

/// One address of a distribution list in the documented v1 model. On
/// `PUT`, `Action` is `Add`, `Update` or `Remove`; `AddressProtocol` is
/// `smtp` (or `x500`); `AddressPrimary` marks the one primary address.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DlAddress {
    /// `PUT` only: `Add`, `Update` or `Remove`.
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::schema::dl_address_action))]
    #[serde(rename = "Action", default, skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    #[serde(
        rename = "AddressPrimary",
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::lenient::opt_bool"
    )]
    pub address_primary: Option<bool>,
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::schema::dl_address_protocol))]
    #[serde(
        rename = "AddressProtocol",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub address_protocol: Option<String>,
    #[serde(rename = "Value")]
    pub value: String,
}

/// A member or allowed sender of a distribution list (v1 model); `Action`
/// (`Add`, `Remove`) on `PUT`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DlMember {
    /// `PUT` only: `Add` or `Remove`.
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::schema::dl_member_action))]
    #[serde(rename = "Action", default, skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    #[serde(rename = "Value")]
    pub value: String,
}

/// A Hosted Exchange distribution list as `GET .../ex/distributionlists/{name}`
/// answers it (the documented v1 model).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DistributionList {
    #[serde(rename = "Name")]
    pub name: String,
    #[serde(rename = "DisplayName")]
    pub display_name: String,
    #[serde(
        rename = "Description",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub description: Option<String>,
    #[serde(rename = "IsHidden", default)]
    pub is_hidden: bool,
    #[serde(rename = "MemberCount", default)]
    pub member_count: u32,
    /// `name@domain`.
    #[serde(rename = "PrimarySmtpAddress", default)]
    pub primary_smtp_address: String,
    /// Every address: the primary, domain-alias and alternate ones.
    #[serde(rename = "EmailAddresses", default)]
    pub email_addresses: Vec<DlAddress>,
    #[serde(rename = "Members", default)]
    pub members: Vec<DlMember>,
    #[serde(rename = "AcceptMessagesOnlyFrom", default)]
    pub accept_messages_only_from: Vec<DlMember>,
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

/// Add (`POST`) or edit (`PUT`) a distribution list: the documented v1
/// JSON model. On add, `DisplayName` is required and the arrays give the
/// initial sets; on edit, each array entry has an `Action` (`Add`,
/// `Update`, `Remove`; an entry without one is an `Add`).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DistributionListBody {
    #[serde(
        rename = "DisplayName",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub display_name: Option<String>,
    #[serde(
        rename = "Description",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub description: Option<String>,
    #[serde(
        rename = "IsHidden",
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::lenient::opt_bool"
    )]
    pub is_hidden: Option<bool>,
    #[serde(
        rename = "EmailAddresses",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub email_addresses: Option<Vec<DlAddress>>,
    #[serde(rename = "Members", default, skip_serializing_if = "Option::is_none")]
    pub members: Option<Vec<DlMember>>,
    #[serde(
        rename = "AcceptMessagesOnlyFrom",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub accept_messages_only_from: Option<Vec<DlMember>>,
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
