//! The Rackspace Email mailbox form, with Rackspace Email's own field names.

use serde::{Deserialize, Serialize};

use super::{passive_of, Passive};

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

    contact_info_accessors!();

    /// The passive fields present in the form, typed, by wire name.
    pub fn passive(&self) -> Passive {
        passive_of(self, Self::PASSIVE, Self::PASSIVE_CONTACT)
    }
}
