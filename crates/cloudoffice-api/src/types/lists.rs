//! Hosted Exchange distribution lists in the documented v1 model: the
//! list as `GET` answers it, its addresses and members, and the add/edit body.

use serde::{Deserialize, Serialize};

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
