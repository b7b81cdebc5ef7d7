//! Fault bodies and the stable fault messages of each rule.
//!
//! Every error response is a JSON object with exactly one key naming the
//! fault kind (`badRequestFault`, `validationFault`, `itemNotFoundFault`,
//! `unauthorizedFault`, `appsFault`), whose value has `message`, `details`
//! and `code` (the HTTP status); an `itemNotFoundFault` also names the
//! `resourceType` that was not found (Domain, Mailbox, ...), as the public
//! "Errors" page documents. The same message is repeated in the
//! `x-error-message` header.
//!
//! Clients map faults to their own error catalogue by message: the texts in
//! [`messages`] are a public contract (taken from the wording users know) and
//! [`RuleViolation::classify`] recognises them.

use serde::{Deserialize, Serialize};

/// The response header that repeats a fault's message.
pub const ERROR_MESSAGE_HEADER: &str = "x-error-message";

/// The fault kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum FaultKind {
    #[serde(rename = "badRequestFault")]
    BadRequest,
    /// A field of the request body that is unknown or has an invalid value
    /// (400): the message names the field.
    #[serde(rename = "validationFault")]
    Validation,
    #[serde(rename = "itemNotFoundFault")]
    ItemNotFound,
    #[serde(rename = "unauthorizedFault")]
    Unauthorized,
    #[serde(rename = "appsFault")]
    Apps,
}

impl FaultKind {
    /// Every fault kind, in the order the API documentation lists them.
    pub const ALL: [FaultKind; 5] = [
        FaultKind::BadRequest,
        FaultKind::Validation,
        FaultKind::ItemNotFound,
        FaultKind::Unauthorized,
        FaultKind::Apps,
    ];

    /// The JSON key of this fault kind.
    pub fn key(self) -> &'static str {
        match self {
            FaultKind::BadRequest => "badRequestFault",
            FaultKind::Validation => "validationFault",
            FaultKind::ItemNotFound => "itemNotFoundFault",
            FaultKind::Unauthorized => "unauthorizedFault",
            FaultKind::Apps => "appsFault",
        }
    }

    /// Parses a JSON key.
    pub fn from_key(key: &str) -> Option<Self> {
        Some(match key {
            "badRequestFault" => FaultKind::BadRequest,
            "validationFault" => FaultKind::Validation,
            "itemNotFoundFault" => FaultKind::ItemNotFound,
            "unauthorizedFault" => FaultKind::Unauthorized,
            "appsFault" => FaultKind::Apps,
            _ => return None,
        })
    }
}

/// The body inside a fault.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FaultDetail {
    pub message: String,
    #[serde(default)]
    pub details: String,
    pub code: u16,
    /// `itemNotFoundFault` only: what was not found (`Domain`, `Mailbox`, ...).
    #[serde(
        default,
        rename = "resourceType",
        skip_serializing_if = "Option::is_none"
    )]
    pub resource_type: Option<String>,
}

/// The schema of a fault body for the OpenAPI document: one key per
/// [`FaultKind`] (exactly one present), each a [`FaultDetail`]. Written by
/// hand because `Fault` serializes by hand; the keys come from
/// [`FaultKind::ALL`], so a new kind shows up in the document.
#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for Fault {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, Ref};
        let mut o = ObjectBuilder::new()
            .description(Some(
                "Exactly one of the keys, naming the fault kind. The message is repeated in the x-error-message header.",
            ))
            .min_properties(Some(1))
            .max_properties(Some(1));
        for k in FaultKind::ALL {
            o = o.property(k.key(), Ref::from_schema_name("FaultDetail"));
        }
        o.into()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for Fault {
    fn schemas(
        schemas: &mut Vec<(
            String,
            utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>,
        )>,
    ) {
        use utoipa::PartialSchema;
        schemas.push(("FaultDetail".into(), FaultDetail::schema()));
    }
}

/// A fault as sent on the wire: `{"<kind>": {"message", "details", "code"}}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    pub kind: FaultKind,
    pub detail: FaultDetail,
}

impl Fault {
    pub fn new(
        kind: FaultKind,
        code: u16,
        message: impl Into<String>,
        details: impl Into<String>,
    ) -> Self {
        Fault {
            kind,
            detail: FaultDetail {
                message: message.into(),
                details: details.into(),
                code,
                resource_type: None,
            },
        }
    }

    /// The same fault naming the resource type that was not found.
    pub fn with_resource_type(mut self, resource_type: impl Into<String>) -> Self {
        self.detail.resource_type = Some(resource_type.into());
        self
    }

    /// Parses a fault body. Returns `None` when the body is not exactly one
    /// recognised fault key.
    pub fn from_json(body: &[u8]) -> Option<Self> {
        let v: serde_json::Map<String, serde_json::Value> = serde_json::from_slice(body).ok()?;
        if v.len() != 1 {
            return None;
        }
        let (k, inner) = v.into_iter().next()?;
        let kind = FaultKind::from_key(&k)?;
        let detail: FaultDetail = serde_json::from_value(inner).ok()?;
        Some(Fault { kind, detail })
    }

    /// The rule this fault reports, recognised by its message.
    pub fn rule(&self) -> Option<RuleViolation> {
        RuleViolation::classify(&self.detail.message)
    }
}

impl Serialize for Fault {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(Some(1))?;
        m.serialize_entry(self.kind.key(), &self.detail)?;
        m.end()
    }
}

impl<'de> Deserialize<'de> for Fault {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = serde_json::Value::deserialize(d)?;
        let bytes = serde_json::to_vec(&v).map_err(serde::de::Error::custom)?;
        Fault::from_json(&bytes)
            .ok_or_else(|| serde::de::Error::custom("not a Cloud Office fault body"))
    }
}

/// The stable fault messages. Texts with placeholders are built by the
/// functions below; clients should match with [`RuleViolation::classify`].
pub mod messages {
    /// No mailbox beyond the purchased licences of its service.
    pub const MAILBOX_LIMIT_EXCEEDED: &str = "Mailbox limit exceeded.";
    /// The domain does not belong to the caller's customer (or does not exist:
    /// the two answer identically), or the key may not act on that customer.
    pub const NOT_AUTHORIZED: &str = "Not authorized";
    /// An alternate address outside the primary and accepted domains, or in a
    /// domain alias (those addresses are created automatically).
    pub const ALTERNATE_ADDRESS_DOMAIN: &str =
        "The alternate address was not in the primary domain or any of the alternate domains.";
    /// Throttling.
    pub const EXCEEDED_REQUEST_LIMITS: &str = "Exceeded request limits";
    /// The stable tail of the "already exists in another service" texts.
    pub const ANOTHER_SERVICE_TAIL: &str =
        "does not already exist in another service in control panel.";
    /// The stable tail of the Service ID text.
    pub const SERVICE_ID_TAIL: &str = "cannot change the Service ID for an object.";
    /// Authentication failed (missing, malformed, stale or wrong signature,
    /// unknown or revoked key). Details say which, never the secret.
    pub const AUTHENTICATION_FAILED: &str = "Authentication failed.";
    /// A stable prefix for the "address already in use" texts.
    pub const ADDRESS_IN_USE_PREFIX: &str = "The email address";
    /// The stable tail of the "address already in use" texts.
    pub const ADDRESS_IN_USE_TAIL: &str = "is already in use in control panel.";
    /// A deleted mailbox cannot be recovered after this many days.
    pub const RECOVERY_DAYS: u32 = 14;

    /// "Error occurred when provisioning user 'jdoe' for Hosted Exchange Mailboxes. Please check that the user does not already exist in another service in control panel."
    ///
    /// `service_label` is `Hosted Exchange Mailboxes` or `Rackspace Email Mailboxes`.
    pub fn user_exists_in_another_service(name: &str, service_label: &str) -> String {
        format!(
            "Error occurred when provisioning user '{name}' for {service_label}. Please check that the user {ANOTHER_SERVICE_TAIL}"
        )
    }

    /// "Error occurred when provisioning group 'Sales' for Hosted Exchange Distribution List: Please check that the group does not already exist in another service in control panel."
    pub fn group_exists_in_another_service(name: &str) -> String {
        format!(
            "Error occurred when provisioning group '{name}' for Hosted Exchange Distribution List: Please check that the group {ANOTHER_SERVICE_TAIL}"
        )
    }

    /// The same rule for contacts and Rackspace Email aliases.
    pub fn object_exists_in_another_service(kind: &str, name: &str, service_label: &str) -> String {
        format!(
            "Error occurred when provisioning {kind} '{name}' for {service_label}. Please check that the {kind} {ANOTHER_SERVICE_TAIL}"
        )
    }

    /// "The Service ID has changed from 'userA' to 'userB'. The control panel cannot change the Service ID for an object."
    pub fn service_id_cannot_change(from: &str, to: &str) -> String {
        format!("The Service ID has changed from '{from}' to '{to}'. The control panel {SERVICE_ID_TAIL}")
    }

    /// An alternate address or list member address that another object already uses.
    pub fn address_in_use(address: &str) -> String {
        format!("{ADDRESS_IN_USE_PREFIX} '{address}' {ADDRESS_IN_USE_TAIL}")
    }

    /// Label of the Exchange mailbox service in the "another service" texts.
    pub const EXCHANGE_MAILBOXES: &str = "Hosted Exchange Mailboxes";
    /// Label of the Rackspace Email mailbox service.
    pub const RSEMAIL_MAILBOXES: &str = "Rackspace Email Mailboxes";
    /// Label for Exchange contacts.
    pub const EXCHANGE_CONTACTS: &str = "Hosted Exchange Contacts";
    /// Label for Rackspace Email aliases.
    pub const RSEMAIL_ALIASES: &str = "Rackspace Email Aliases";
}

/// A rule of the control panel, recognised from a fault message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RuleViolation {
    /// "Mailbox limit exceeded."
    MailboxLimitExceeded,
    /// A user (mailbox, contact or alias) whose address is already used, in
    /// this or the other service.
    UserExistsInAnotherService,
    /// A distribution list whose address is already used.
    GroupExistsInAnotherService,
    /// "Not authorized": the domain is not the customer's.
    NotAuthorized,
    /// Alternate address outside the primary/accepted domains (or in a domain alias).
    AlternateAddressDomain,
    /// An edit tried to change the name (Service ID).
    ServiceIdCannotChange,
    /// An alternate or member address already used elsewhere.
    AddressInUse,
    /// Throttled.
    ExceededRequestLimits,
    /// The signature or key was refused.
    AuthenticationFailed,
}

impl RuleViolation {
    /// Recognises a fault message (case-insensitively, ignoring surrounding space).
    pub fn classify(message: &str) -> Option<Self> {
        use messages::*;
        // Exact texts are compared without a final full stop, so
        // "Authentication failed" and "Authentication failed." are one rule.
        let m = message.trim().trim_end_matches('.').to_ascii_lowercase();
        let exact = |s: &str| m == s.trim_end_matches('.').to_ascii_lowercase();
        let has = |s: &str| m.contains(&s.trim_end_matches('.').to_ascii_lowercase());
        Some(
            if exact(MAILBOX_LIMIT_EXCEEDED) || has("mailbox limit exceeded") {
                RuleViolation::MailboxLimitExceeded
            } else if has(ANOTHER_SERVICE_TAIL)
                && m.starts_with("error occurred when provisioning group")
            {
                RuleViolation::GroupExistsInAnotherService
            } else if has(ANOTHER_SERVICE_TAIL) {
                RuleViolation::UserExistsInAnotherService
            } else if exact(NOT_AUTHORIZED) {
                RuleViolation::NotAuthorized
            } else if has(ALTERNATE_ADDRESS_DOMAIN) {
                RuleViolation::AlternateAddressDomain
            } else if has(SERVICE_ID_TAIL) {
                RuleViolation::ServiceIdCannotChange
            } else if has(ADDRESS_IN_USE_TAIL) {
                RuleViolation::AddressInUse
            } else if exact(EXCEEDED_REQUEST_LIMITS) {
                RuleViolation::ExceededRequestLimits
            } else if exact(AUTHENTICATION_FAILED) {
                RuleViolation::AuthenticationFailed
            } else {
                return None;
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::messages::*;
    use super::*;

    #[test]
    fn fault_roundtrip() {
        let f = Fault::new(
            FaultKind::BadRequest,
            400,
            MAILBOX_LIMIT_EXCEEDED,
            "3 of 3 used",
        );
        let json = serde_json::to_string(&f).unwrap();
        assert_eq!(
            json,
            r#"{"badRequestFault":{"message":"Mailbox limit exceeded.","details":"3 of 3 used","code":400}}"#
        );
        assert_eq!(Fault::from_json(json.as_bytes()).unwrap(), f);
        let back: Fault = serde_json::from_str(&json).unwrap();
        assert_eq!(back, f);
        assert!(Fault::from_json(br#"{"other":{}}"#).is_none());
        assert!(Fault::from_json(b"not json").is_none());
    }

    #[test]
    fn classify_table() {
        let cases: Vec<(String, RuleViolation)> = vec![
            (
                MAILBOX_LIMIT_EXCEEDED.into(),
                RuleViolation::MailboxLimitExceeded,
            ),
            (
                user_exists_in_another_service("jdoe", EXCHANGE_MAILBOXES),
                RuleViolation::UserExistsInAnotherService,
            ),
            (
                object_exists_in_another_service("contact", "ext", EXCHANGE_CONTACTS),
                RuleViolation::UserExistsInAnotherService,
            ),
            (
                group_exists_in_another_service("Sales"),
                RuleViolation::GroupExistsInAnotherService,
            ),
            (NOT_AUTHORIZED.into(), RuleViolation::NotAuthorized),
            (
                ALTERNATE_ADDRESS_DOMAIN.into(),
                RuleViolation::AlternateAddressDomain,
            ),
            (
                service_id_cannot_change("userA", "userB"),
                RuleViolation::ServiceIdCannotChange,
            ),
            (address_in_use("a@example.com"), RuleViolation::AddressInUse),
            (
                EXCEEDED_REQUEST_LIMITS.into(),
                RuleViolation::ExceededRequestLimits,
            ),
            (
                AUTHENTICATION_FAILED.into(),
                RuleViolation::AuthenticationFailed,
            ),
        ];
        for (m, want) in cases {
            assert_eq!(RuleViolation::classify(&m), Some(want), "{m}");
        }
        assert_eq!(RuleViolation::classify("something else"), None);
        assert_eq!(
            RuleViolation::classify("Authentication failed"),
            Some(RuleViolation::AuthenticationFailed)
        );
    }

    #[test]
    fn seed_wording() {
        assert_eq!(
            user_exists_in_another_service("User-Name", EXCHANGE_MAILBOXES),
            "Error occurred when provisioning user 'User-Name' for Hosted Exchange Mailboxes. Please check that the user does not already exist in another service in control panel."
        );
        assert_eq!(
            group_exists_in_another_service("Security Group"),
            "Error occurred when provisioning group 'Security Group' for Hosted Exchange Distribution List: Please check that the group does not already exist in another service in control panel."
        );
    }
}
