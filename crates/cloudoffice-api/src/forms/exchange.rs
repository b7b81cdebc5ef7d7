//! The Exchange forms: mailbox and contact, which share Exchange's
//! contact fields (see `exchange_form!`).

use serde::{Deserialize, Serialize};

use super::{passive_of, Passive};

exchange_form! {
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
    }
    business_number_aliases: [],
    fields_after_contact: {
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

    contact_info_accessors!();

    /// The passive fields present in the form, typed, by wire name.
    pub fn passive(&self) -> Passive {
        passive_of(self, Self::PASSIVE, Self::PASSIVE_CONTACT)
    }
}

exchange_form! {
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
    }
    business_number_aliases: ["businessnumber"],
    fields_after_contact: {
        #[serde(
            default,
            rename = "initials",
            skip_serializing_if = "Option::is_none",
            deserialize_with = "crate::lenient::opt_string"
        )]
        pub initials: Option<String>,
    }
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

    contact_info_accessors!();

    /// The passive fields present in the form, typed, by wire name.
    pub fn passive(&self) -> Passive {
        passive_of(self, Self::PASSIVE, Self::PASSIVE_CONTACT)
    }
}
