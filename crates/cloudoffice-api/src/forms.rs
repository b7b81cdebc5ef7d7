//! Request bodies of add and edit operations (see `lenient` for how values
//! are decoded).
//!
//! One type per resource serves both encodings the service accepts: the
//! documented `application/x-www-form-urlencoded` form and JSON (which the
//! official PowerShell module and other clients send). Field names are the
//! documented ones: Exchange objects use Exchange's contact names
//! (`jobTitle`, `addressLine1`, `city`, `state`, `zip`, `country`) and
//! accept Rackspace Email's (`title`, `businessStreet`, ...) as aliases;
//! Rackspace Email uses its own. Unknown fields are refused
//! (`deny_unknown_fields`): the server answers a `validationFault` naming
//! the field. "Passive" fields are documented settings officed keeps and
//! answers without acting on them (forwarding, vacation, visibility flags).

use serde::{Deserialize, Serialize};

use crate::types::ContactInfo;

/// Passive field values by wire name: `(top level, inside contactInfo)`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Passive {
    pub top: serde_json::Map<String, serde_json::Value>,
    pub contact: serde_json::Map<String, serde_json::Value>,
}

fn passive_of<T: Serialize>(form: &T, top: &[&str], contact: &[&str]) -> Passive {
    let mut out = Passive::default();
    if let Ok(serde_json::Value::Object(m)) = serde_json::to_value(form) {
        for (k, v) in m {
            if top.contains(&k.as_str()) {
                out.top.insert(k, v);
            } else if contact.contains(&k.as_str()) {
                out.contact.insert(k, v);
            }
        }
    }
    out
}

/// Add (`POST`) or edit (`PUT`) an Exchange mailbox.
///
/// On add, `displayName` is required (`password` and `size` as documented,
/// see officed's docs for the defaults it applies). On edit, only the
/// fields present change; `name`, if present, must equal the current name
/// (the Service ID cannot change through an edit). `password` is never
/// stored or echoed. `recoverDeleted=true` on add brings back a mailbox
/// deleted in the last 14 days.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExchangeMailboxForm {
    /// Edit: must equal the current name (the Service ID cannot change).
    #[serde(
        default,
        rename = "name",
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::lenient::opt_string"
    )]
    pub name: Option<String>,
    /// Required on add.
    #[serde(
        default,
        rename = "displayName",
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::lenient::opt_string"
    )]
    pub display_name: Option<String>,
    /// Accepted, never stored.
    #[serde(
        default,
        rename = "password",
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::lenient::opt_string"
    )]
    pub password: Option<String>,
    #[serde(
        default,
        rename = "size",
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::lenient::opt_u32"
    )]
    pub size: Option<u32>,
    #[serde(
        default,
        rename = "enabled",
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::lenient::opt_bool"
    )]
    pub enabled: Option<bool>,
    #[serde(
        default,
        rename = "isHidden",
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::lenient::opt_bool"
    )]
    pub is_hidden: Option<bool>,
    /// Add: recover a mailbox deleted in the last 14 days.
    #[serde(
        default,
        rename = "recoverDeleted",
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::lenient::opt_bool"
    )]
    pub recover_deleted: Option<bool>,
    #[serde(
        default,
        rename = "firstName",
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::lenient::opt_string"
    )]
    pub first_name: Option<String>,
    #[serde(
        default,
        rename = "lastName",
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::lenient::opt_string"
    )]
    pub last_name: Option<String>,
    #[serde(
        default,
        rename = "initials",
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::lenient::opt_string"
    )]
    pub initials: Option<String>,
    #[serde(
        default,
        rename = "jobTitle",
        alias = "title",
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::lenient::opt_string"
    )]
    pub title: Option<String>,
    #[serde(
        default,
        rename = "company",
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::lenient::opt_string"
    )]
    pub company: Option<String>,
    #[serde(
        default,
        rename = "department",
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::lenient::opt_string"
    )]
    pub department: Option<String>,
    #[serde(
        default,
        rename = "office",
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::lenient::opt_string"
    )]
    pub office: Option<String>,
    #[serde(
        default,
        rename = "businessNumber",
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::lenient::opt_string"
    )]
    pub business_number: Option<String>,
    #[serde(
        default,
        rename = "mobileNumber",
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::lenient::opt_string"
    )]
    pub mobile_number: Option<String>,
    #[serde(
        default,
        rename = "faxNumber",
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::lenient::opt_string"
    )]
    pub fax_number: Option<String>,
    #[serde(
        default,
        rename = "pagerNumber",
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::lenient::opt_string"
    )]
    pub pager_number: Option<String>,
    #[serde(
        default,
        rename = "homeNumber",
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::lenient::opt_string"
    )]
    pub home_number: Option<String>,
    #[serde(
        default,
        rename = "addressLine1",
        alias = "businessStreet",
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::lenient::opt_string"
    )]
    pub business_street: Option<String>,
    #[serde(
        default,
        rename = "city",
        alias = "businessCity",
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::lenient::opt_string"
    )]
    pub business_city: Option<String>,
    #[serde(
        default,
        rename = "state",
        alias = "businessState",
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::lenient::opt_string"
    )]
    pub business_state: Option<String>,
    #[serde(
        default,
        rename = "zip",
        alias = "businessPostalCode",
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::lenient::opt_string"
    )]
    pub business_postal_code: Option<String>,
    #[serde(
        default,
        rename = "country",
        alias = "businessCountry",
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::lenient::opt_string"
    )]
    pub business_country: Option<String>,
    #[serde(
        default,
        rename = "customID",
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::lenient::opt_string"
    )]
    pub custom_id: Option<String>,
    #[serde(
        default,
        rename = "employeeType",
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::lenient::opt_string"
    )]
    pub employee_type: Option<String>,
    #[serde(
        default,
        rename = "notes",
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::lenient::opt_string"
    )]
    pub notes: Option<String>,
    #[serde(
        default,
        rename = "isPublicFolderAdmin",
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::lenient::opt_bool"
    )]
    pub is_public_folder_admin: Option<bool>,
    #[serde(
        default,
        rename = "emailForwardingAddress",
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::lenient::opt_string"
    )]
    pub email_forwarding_address: Option<String>,
    #[serde(
        default,
        rename = "visibleInRackspaceEmailCompanyDirectory",
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::lenient::opt_bool"
    )]
    pub visible_in_rackspace_email_company_directory: Option<bool>,
    #[serde(
        default,
        rename = "visibleInExchangeGAL",
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::lenient::opt_bool"
    )]
    pub visible_in_exchange_gal: Option<bool>,
}

impl ExchangeMailboxForm {
    /// Every field: wire name, kind (`string`, `boolean`, `integer`) and the
    /// other spellings accepted.
    pub const FIELDS: &'static [(&'static str, &'static str, &'static [&'static str])] = &[
        ("name", "string", &[]),
        ("displayName", "string", &[]),
        ("password", "string", &[]),
        ("size", "integer", &[]),
        ("enabled", "boolean", &[]),
        ("isHidden", "boolean", &[]),
        ("recoverDeleted", "boolean", &[]),
        ("firstName", "string", &[]),
        ("lastName", "string", &[]),
        ("initials", "string", &[]),
        ("jobTitle", "string", &["title"]),
        ("company", "string", &[]),
        ("department", "string", &[]),
        ("office", "string", &[]),
        ("businessNumber", "string", &[]),
        ("mobileNumber", "string", &[]),
        ("faxNumber", "string", &[]),
        ("pagerNumber", "string", &[]),
        ("homeNumber", "string", &[]),
        ("addressLine1", "string", &["businessStreet"]),
        ("city", "string", &["businessCity"]),
        ("state", "string", &["businessState"]),
        ("zip", "string", &["businessPostalCode"]),
        ("country", "string", &["businessCountry"]),
        ("customID", "string", &[]),
        ("employeeType", "string", &[]),
        ("notes", "string", &[]),
        ("isPublicFolderAdmin", "boolean", &[]),
        ("emailForwardingAddress", "string", &[]),
        ("visibleInRackspaceEmailCompanyDirectory", "boolean", &[]),
        ("visibleInExchangeGAL", "boolean", &[]),
    ];
    /// Documented fields that officed stores and returns but does not act on (wire names).
    pub const PASSIVE: &'static [&'static str] = &[
        "isPublicFolderAdmin",
        "emailForwardingAddress",
        "visibleInRackspaceEmailCompanyDirectory",
        "visibleInExchangeGAL",
    ];
    /// Passive fields answered inside `contactInfo`.
    pub const PASSIVE_CONTACT: &'static [&'static str] = &[];

    /// The contact-info part of the form (fields as given; `Some("")` means clear).
    pub fn contact_info(&self) -> ContactInfo {
        ContactInfo {
            title: self.title.clone(),
            company: self.company.clone(),
            department: self.department.clone(),
            office: self.office.clone(),
            business_number: self.business_number.clone(),
            mobile_number: self.mobile_number.clone(),
            fax_number: self.fax_number.clone(),
            pager_number: self.pager_number.clone(),
            home_number: self.home_number.clone(),
            business_street: self.business_street.clone(),
            business_city: self.business_city.clone(),
            business_state: self.business_state.clone(),
            business_postal_code: self.business_postal_code.clone(),
            business_country: self.business_country.clone(),
            custom_id: self.custom_id.clone(),
            employee_type: self.employee_type.clone(),
            notes: self.notes.clone(),
            extra: Default::default(),
        }
    }

    /// Sets the contact-info fields of the form from `info`.
    pub fn set_contact_info(&mut self, info: &ContactInfo) {
        self.title = info.title.clone();
        self.company = info.company.clone();
        self.department = info.department.clone();
        self.office = info.office.clone();
        self.business_number = info.business_number.clone();
        self.mobile_number = info.mobile_number.clone();
        self.fax_number = info.fax_number.clone();
        self.pager_number = info.pager_number.clone();
        self.home_number = info.home_number.clone();
        self.business_street = info.business_street.clone();
        self.business_city = info.business_city.clone();
        self.business_state = info.business_state.clone();
        self.business_postal_code = info.business_postal_code.clone();
        self.business_country = info.business_country.clone();
        self.custom_id = info.custom_id.clone();
        self.employee_type = info.employee_type.clone();
        self.notes = info.notes.clone();
    }

    /// The passive fields present in the form, typed, by wire name.
    pub fn passive(&self) -> Passive {
        passive_of(self, Self::PASSIVE, Self::PASSIVE_CONTACT)
    }
}

/// Add or edit a Rackspace Email mailbox. On add, `password` and `size`
/// are required, as documented.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RsMailboxForm {
    #[serde(
        default,
        rename = "name",
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::lenient::opt_string"
    )]
    pub name: Option<String>,
    #[serde(
        default,
        rename = "displayName",
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::lenient::opt_string"
    )]
    pub display_name: Option<String>,
    /// Required on add; never stored.
    #[serde(
        default,
        rename = "password",
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::lenient::opt_string"
    )]
    pub password: Option<String>,
    /// Quota in MB; required on add.
    #[serde(
        default,
        rename = "size",
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::lenient::opt_u32"
    )]
    pub size: Option<u32>,
    #[serde(
        default,
        rename = "enabled",
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::lenient::opt_bool"
    )]
    pub enabled: Option<bool>,
    #[serde(
        default,
        rename = "recoverDeleted",
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::lenient::opt_bool"
    )]
    pub recover_deleted: Option<bool>,
    #[serde(
        default,
        rename = "firstName",
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::lenient::opt_string"
    )]
    pub first_name: Option<String>,
    #[serde(
        default,
        rename = "lastName",
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::lenient::opt_string"
    )]
    pub last_name: Option<String>,
    #[serde(
        default,
        rename = "initials",
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::lenient::opt_string"
    )]
    pub initials: Option<String>,
    #[serde(
        default,
        rename = "title",
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::lenient::opt_string"
    )]
    pub title: Option<String>,
    #[serde(
        default,
        rename = "company",
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::lenient::opt_string"
    )]
    pub company: Option<String>,
    #[serde(
        default,
        rename = "department",
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::lenient::opt_string"
    )]
    pub department: Option<String>,
    #[serde(
        default,
        rename = "office",
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::lenient::opt_string"
    )]
    pub office: Option<String>,
    #[serde(
        default,
        rename = "businessNumber",
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::lenient::opt_string"
    )]
    pub business_number: Option<String>,
    #[serde(
        default,
        rename = "mobileNumber",
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::lenient::opt_string"
    )]
    pub mobile_number: Option<String>,
    #[serde(
        default,
        rename = "faxNumber",
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::lenient::opt_string"
    )]
    pub fax_number: Option<String>,
    #[serde(
        default,
        rename = "pagerNumber",
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::lenient::opt_string"
    )]
    pub pager_number: Option<String>,
    #[serde(
        default,
        rename = "homeNumber",
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::lenient::opt_string"
    )]
    pub home_number: Option<String>,
    #[serde(
        default,
        rename = "businessStreet",
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::lenient::opt_string"
    )]
    pub business_street: Option<String>,
    #[serde(
        default,
        rename = "businessCity",
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::lenient::opt_string"
    )]
    pub business_city: Option<String>,
    #[serde(
        default,
        rename = "businessState",
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::lenient::opt_string"
    )]
    pub business_state: Option<String>,
    #[serde(
        default,
        rename = "businessPostalCode",
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::lenient::opt_string"
    )]
    pub business_postal_code: Option<String>,
    #[serde(
        default,
        rename = "businessCountry",
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::lenient::opt_string"
    )]
    pub business_country: Option<String>,
    #[serde(
        default,
        rename = "customID",
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::lenient::opt_string"
    )]
    pub custom_id: Option<String>,
    #[serde(
        default,
        rename = "employeeType",
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::lenient::opt_string"
    )]
    pub employee_type: Option<String>,
    #[serde(
        default,
        rename = "notes",
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::lenient::opt_string"
    )]
    pub notes: Option<String>,
    #[serde(
        default,
        rename = "enableVacationMessage",
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::lenient::opt_bool"
    )]
    pub enable_vacation_message: Option<bool>,
    #[serde(
        default,
        rename = "vacationMessage",
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::lenient::opt_string"
    )]
    pub vacation_message: Option<String>,
    #[serde(
        default,
        rename = "emailForwardingAddresses",
        alias = "enableForwardingAddresses",
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::lenient::opt_string"
    )]
    pub email_forwarding_addresses: Option<String>,
    #[serde(
        default,
        rename = "saveForwardedEmail",
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::lenient::opt_bool"
    )]
    pub save_forwarded_email: Option<bool>,
    #[serde(
        default,
        rename = "visibleInExchangeGAL",
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::lenient::opt_bool"
    )]
    pub visible_in_exchange_gal: Option<bool>,
    #[serde(
        default,
        rename = "visibleInRackspaceEmailCompanyDirectory",
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::lenient::opt_bool"
    )]
    pub visible_in_rackspace_email_company_directory: Option<bool>,
    #[serde(
        default,
        rename = "generationQualifier",
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::lenient::opt_string"
    )]
    pub generation_qualifier: Option<String>,
    #[serde(
        default,
        rename = "organizationUnit",
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::lenient::opt_string"
    )]
    pub organization_unit: Option<String>,
    #[serde(
        default,
        rename = "homeFaxNumber",
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::lenient::opt_string"
    )]
    pub home_fax_number: Option<String>,
    #[serde(
        default,
        rename = "homeStreet",
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::lenient::opt_string"
    )]
    pub home_street: Option<String>,
    #[serde(
        default,
        rename = "homeCity",
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::lenient::opt_string"
    )]
    pub home_city: Option<String>,
    #[serde(
        default,
        rename = "homeState",
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::lenient::opt_string"
    )]
    pub home_state: Option<String>,
    #[serde(
        default,
        rename = "homePostalCode",
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::lenient::opt_string"
    )]
    pub home_postal_code: Option<String>,
    #[serde(
        default,
        rename = "homeCountry",
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::lenient::opt_string"
    )]
    pub home_country: Option<String>,
    #[serde(
        default,
        rename = "userID",
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::lenient::opt_string"
    )]
    pub user_id: Option<String>,
    #[serde(
        default,
        rename = "organizationalStatus",
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::lenient::opt_string"
    )]
    pub organizational_status: Option<String>,
}

impl RsMailboxForm {
    /// Every field: wire name, kind (`string`, `boolean`, `integer`) and the
    /// other spellings accepted.
    pub const FIELDS: &'static [(&'static str, &'static str, &'static [&'static str])] = &[
        ("name", "string", &[]),
        ("displayName", "string", &[]),
        ("password", "string", &[]),
        ("size", "integer", &[]),
        ("enabled", "boolean", &[]),
        ("recoverDeleted", "boolean", &[]),
        ("firstName", "string", &[]),
        ("lastName", "string", &[]),
        ("initials", "string", &[]),
        ("title", "string", &[]),
        ("company", "string", &[]),
        ("department", "string", &[]),
        ("office", "string", &[]),
        ("businessNumber", "string", &[]),
        ("mobileNumber", "string", &[]),
        ("faxNumber", "string", &[]),
        ("pagerNumber", "string", &[]),
        ("homeNumber", "string", &[]),
        ("businessStreet", "string", &[]),
        ("businessCity", "string", &[]),
        ("businessState", "string", &[]),
        ("businessPostalCode", "string", &[]),
        ("businessCountry", "string", &[]),
        ("customID", "string", &[]),
        ("employeeType", "string", &[]),
        ("notes", "string", &[]),
        ("enableVacationMessage", "boolean", &[]),
        ("vacationMessage", "string", &[]),
        (
            "emailForwardingAddresses",
            "string",
            &["enableForwardingAddresses"],
        ),
        ("saveForwardedEmail", "boolean", &[]),
        ("visibleInExchangeGAL", "boolean", &[]),
        ("visibleInRackspaceEmailCompanyDirectory", "boolean", &[]),
        ("generationQualifier", "string", &[]),
        ("organizationUnit", "string", &[]),
        ("homeFaxNumber", "string", &[]),
        ("homeStreet", "string", &[]),
        ("homeCity", "string", &[]),
        ("homeState", "string", &[]),
        ("homePostalCode", "string", &[]),
        ("homeCountry", "string", &[]),
        ("userID", "string", &[]),
        ("organizationalStatus", "string", &[]),
    ];
    /// Documented fields that officed stores and returns but does not act on (wire names).
    pub const PASSIVE: &'static [&'static str] = &[
        "enableVacationMessage",
        "vacationMessage",
        "emailForwardingAddresses",
        "saveForwardedEmail",
        "visibleInExchangeGAL",
        "visibleInRackspaceEmailCompanyDirectory",
    ];
    /// Passive fields answered inside `contactInfo`.
    pub const PASSIVE_CONTACT: &'static [&'static str] = &[
        "generationQualifier",
        "organizationUnit",
        "homeFaxNumber",
        "homeStreet",
        "homeCity",
        "homeState",
        "homePostalCode",
        "homeCountry",
        "userID",
        "organizationalStatus",
    ];

    /// The contact-info part of the form (fields as given; `Some("")` means clear).
    pub fn contact_info(&self) -> ContactInfo {
        ContactInfo {
            title: self.title.clone(),
            company: self.company.clone(),
            department: self.department.clone(),
            office: self.office.clone(),
            business_number: self.business_number.clone(),
            mobile_number: self.mobile_number.clone(),
            fax_number: self.fax_number.clone(),
            pager_number: self.pager_number.clone(),
            home_number: self.home_number.clone(),
            business_street: self.business_street.clone(),
            business_city: self.business_city.clone(),
            business_state: self.business_state.clone(),
            business_postal_code: self.business_postal_code.clone(),
            business_country: self.business_country.clone(),
            custom_id: self.custom_id.clone(),
            employee_type: self.employee_type.clone(),
            notes: self.notes.clone(),
            extra: Default::default(),
        }
    }

    /// Sets the contact-info fields of the form from `info`.
    pub fn set_contact_info(&mut self, info: &ContactInfo) {
        self.title = info.title.clone();
        self.company = info.company.clone();
        self.department = info.department.clone();
        self.office = info.office.clone();
        self.business_number = info.business_number.clone();
        self.mobile_number = info.mobile_number.clone();
        self.fax_number = info.fax_number.clone();
        self.pager_number = info.pager_number.clone();
        self.home_number = info.home_number.clone();
        self.business_street = info.business_street.clone();
        self.business_city = info.business_city.clone();
        self.business_state = info.business_state.clone();
        self.business_postal_code = info.business_postal_code.clone();
        self.business_country = info.business_country.clone();
        self.custom_id = info.custom_id.clone();
        self.employee_type = info.employee_type.clone();
        self.notes = info.notes.clone();
    }

    /// The passive fields present in the form, typed, by wire name.
    pub fn passive(&self) -> Passive {
        passive_of(self, Self::PASSIVE, Self::PASSIVE_CONTACT)
    }
}

/// Add or edit an Exchange contact. `displayName` and `externalEmail` are
/// required on add.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExchangeContactForm {
    #[serde(
        default,
        rename = "name",
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::lenient::opt_string"
    )]
    pub name: Option<String>,
    #[serde(
        default,
        rename = "displayName",
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::lenient::opt_string"
    )]
    pub display_name: Option<String>,
    #[serde(
        default,
        rename = "firstName",
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::lenient::opt_string"
    )]
    pub first_name: Option<String>,
    #[serde(
        default,
        rename = "lastName",
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::lenient::opt_string"
    )]
    pub last_name: Option<String>,
    /// Required on add.
    #[serde(
        default,
        rename = "externalEmail",
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::lenient::opt_string"
    )]
    pub external_email: Option<String>,
    #[serde(
        default,
        rename = "isHidden",
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::lenient::opt_bool"
    )]
    pub is_hidden: Option<bool>,
    #[serde(
        default,
        rename = "jobTitle",
        alias = "title",
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::lenient::opt_string"
    )]
    pub title: Option<String>,
    #[serde(
        default,
        rename = "company",
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::lenient::opt_string"
    )]
    pub company: Option<String>,
    #[serde(
        default,
        rename = "department",
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::lenient::opt_string"
    )]
    pub department: Option<String>,
    #[serde(
        default,
        rename = "office",
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::lenient::opt_string"
    )]
    pub office: Option<String>,
    #[serde(
        default,
        rename = "businessNumber",
        alias = "businessnumber",
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::lenient::opt_string"
    )]
    pub business_number: Option<String>,
    #[serde(
        default,
        rename = "mobileNumber",
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::lenient::opt_string"
    )]
    pub mobile_number: Option<String>,
    #[serde(
        default,
        rename = "faxNumber",
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::lenient::opt_string"
    )]
    pub fax_number: Option<String>,
    #[serde(
        default,
        rename = "pagerNumber",
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::lenient::opt_string"
    )]
    pub pager_number: Option<String>,
    #[serde(
        default,
        rename = "homeNumber",
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::lenient::opt_string"
    )]
    pub home_number: Option<String>,
    #[serde(
        default,
        rename = "addressLine1",
        alias = "businessStreet",
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::lenient::opt_string"
    )]
    pub business_street: Option<String>,
    #[serde(
        default,
        rename = "city",
        alias = "businessCity",
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::lenient::opt_string"
    )]
    pub business_city: Option<String>,
    #[serde(
        default,
        rename = "state",
        alias = "businessState",
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::lenient::opt_string"
    )]
    pub business_state: Option<String>,
    #[serde(
        default,
        rename = "zip",
        alias = "businessPostalCode",
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::lenient::opt_string"
    )]
    pub business_postal_code: Option<String>,
    #[serde(
        default,
        rename = "country",
        alias = "businessCountry",
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::lenient::opt_string"
    )]
    pub business_country: Option<String>,
    #[serde(
        default,
        rename = "customID",
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::lenient::opt_string"
    )]
    pub custom_id: Option<String>,
    #[serde(
        default,
        rename = "employeeType",
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::lenient::opt_string"
    )]
    pub employee_type: Option<String>,
    #[serde(
        default,
        rename = "notes",
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::lenient::opt_string"
    )]
    pub notes: Option<String>,
    #[serde(
        default,
        rename = "initials",
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::lenient::opt_string"
    )]
    pub initials: Option<String>,
}

impl ExchangeContactForm {
    /// Every field: wire name, kind (`string`, `boolean`, `integer`) and the
    /// other spellings accepted.
    pub const FIELDS: &'static [(&'static str, &'static str, &'static [&'static str])] = &[
        ("name", "string", &[]),
        ("displayName", "string", &[]),
        ("firstName", "string", &[]),
        ("lastName", "string", &[]),
        ("externalEmail", "string", &[]),
        ("isHidden", "boolean", &[]),
        ("jobTitle", "string", &["title"]),
        ("company", "string", &[]),
        ("department", "string", &[]),
        ("office", "string", &[]),
        ("businessNumber", "string", &["businessnumber"]),
        ("mobileNumber", "string", &[]),
        ("faxNumber", "string", &[]),
        ("pagerNumber", "string", &[]),
        ("homeNumber", "string", &[]),
        ("addressLine1", "string", &["businessStreet"]),
        ("city", "string", &["businessCity"]),
        ("state", "string", &["businessState"]),
        ("zip", "string", &["businessPostalCode"]),
        ("country", "string", &["businessCountry"]),
        ("customID", "string", &[]),
        ("employeeType", "string", &[]),
        ("notes", "string", &[]),
        ("initials", "string", &[]),
    ];
    /// Documented fields that officed stores and returns but does not act on (wire names).
    pub const PASSIVE: &'static [&'static str] = &["initials"];
    /// Passive fields answered inside `contactInfo`.
    pub const PASSIVE_CONTACT: &'static [&'static str] = &[];

    /// The contact-info part of the form (fields as given; `Some("")` means clear).
    pub fn contact_info(&self) -> ContactInfo {
        ContactInfo {
            title: self.title.clone(),
            company: self.company.clone(),
            department: self.department.clone(),
            office: self.office.clone(),
            business_number: self.business_number.clone(),
            mobile_number: self.mobile_number.clone(),
            fax_number: self.fax_number.clone(),
            pager_number: self.pager_number.clone(),
            home_number: self.home_number.clone(),
            business_street: self.business_street.clone(),
            business_city: self.business_city.clone(),
            business_state: self.business_state.clone(),
            business_postal_code: self.business_postal_code.clone(),
            business_country: self.business_country.clone(),
            custom_id: self.custom_id.clone(),
            employee_type: self.employee_type.clone(),
            notes: self.notes.clone(),
            extra: Default::default(),
        }
    }

    /// Sets the contact-info fields of the form from `info`.
    pub fn set_contact_info(&mut self, info: &ContactInfo) {
        self.title = info.title.clone();
        self.company = info.company.clone();
        self.department = info.department.clone();
        self.office = info.office.clone();
        self.business_number = info.business_number.clone();
        self.mobile_number = info.mobile_number.clone();
        self.fax_number = info.fax_number.clone();
        self.pager_number = info.pager_number.clone();
        self.home_number = info.home_number.clone();
        self.business_street = info.business_street.clone();
        self.business_city = info.business_city.clone();
        self.business_state = info.business_state.clone();
        self.business_postal_code = info.business_postal_code.clone();
        self.business_country = info.business_country.clone();
        self.custom_id = info.custom_id.clone();
        self.employee_type = info.employee_type.clone();
        self.notes = info.notes.clone();
    }

    /// The passive fields present in the form, typed, by wire name.
    pub fn passive(&self) -> Passive {
        passive_of(self, Self::PASSIVE, Self::PASSIVE_CONTACT)
    }
}
