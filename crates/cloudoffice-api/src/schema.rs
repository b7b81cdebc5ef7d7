//! OpenAPI schemas of what the `ToSchema` derive cannot see (feature
//! `openapi`, for officed's document).
//!
//! Documented settings that officed stores and answers without acting on
//! them travel in flattened maps (`extra`) whose keys are the forms'
//! `PASSIVE` tables. These functions describe those maps from the same
//! tables (kinds from the forms' `FIELDS`), so a new passive field appears
//! in the document without another edit. The derive places them with
//! `#[schema(schema_with = ...)]` on the `extra` fields.

use utoipa::openapi::schema::{Object, ObjectBuilder, Ref, Type};
use utoipa::openapi::RefOr;

use crate::forms::{ExchangeContactForm, ExchangeMailboxForm, RsMailboxForm};

/// A form field table: wire name, kind, other spellings.
type Fields = &'static [(&'static str, &'static str, &'static [&'static str])];

const PASSIVE_NOTE: &str = "stored and returned; officed does not act on it";

fn kind(fields: Fields, name: &str) -> Type {
    match fields.iter().find(|f| f.0 == name).map(|f| f.1) {
        Some("boolean") => Type::Boolean,
        Some("integer") => Type::Integer,
        _ => Type::String,
    }
}

fn passive(fields: Fields, names: &[&str], description: &str) -> ObjectBuilder {
    let mut o = ObjectBuilder::new().description(Some(description));
    for n in names {
        o = o.property(
            *n,
            ObjectBuilder::new()
                .schema_type(kind(fields, n))
                .description(Some(PASSIVE_NOTE)),
        );
    }
    o
}

/// `ExchangeMailbox.extra`: the Exchange mailbox's passive settings.
pub fn exchange_mailbox_extra() -> Object {
    passive(
        ExchangeMailboxForm::FIELDS,
        ExchangeMailboxForm::PASSIVE,
        "Documented settings officed stores and answers without acting on them.",
    )
    .build()
}

/// `RsMailbox.extra`: the Rackspace Email mailbox's passive settings. The
/// form's comma-separated `emailForwardingAddresses` is answered as the
/// documented `emailForwardingAddressList` (officed's store does that).
pub fn rs_mailbox_extra() -> Object {
    let names: Vec<&str> = RsMailboxForm::PASSIVE
        .iter()
        .copied()
        .filter(|n| *n != "emailForwardingAddresses")
        .collect();
    passive(
        RsMailboxForm::FIELDS,
        &names,
        "Documented settings officed stores and answers without acting on them.",
    )
    .property(
        "emailForwardingAddressList",
        RefOr::Ref(Ref::from_schema_name("AddressList")),
    )
    .build()
}

/// `ContactInfo.extra`: Rackspace Email's passive contact fields.
pub fn contact_info_extra() -> Object {
    passive(
        RsMailboxForm::FIELDS,
        RsMailboxForm::PASSIVE_CONTACT,
        "Documented contact fields officed stores and answers without acting on them (Rackspace Email).",
    )
    .build()
}

/// `ExchangeContact.extra`: the Exchange contact's passive fields.
pub fn exchange_contact_extra() -> Object {
    passive(
        ExchangeContactForm::FIELDS,
        ExchangeContactForm::PASSIVE,
        "Documented fields officed stores and answers without acting on them.",
    )
    .build()
}

/// `ListItem.extra`: the `fields=` extras asked for, by wire name; alias
/// lists always carry `numberOfMembers` and `singleMemberName`.
pub fn list_item_extra() -> Object {
    ObjectBuilder::new()
        .description(Some(
            "The documented extras asked for with fields= (any documented field of the resource), by wire name.",
        ))
        .property(
            "numberOfMembers",
            ObjectBuilder::new()
                .schema_type(Type::Integer)
                .minimum(Some(0)),
        )
        .property(
            "singleMemberName",
            ObjectBuilder::new().schema_type(Type::String),
        )
        .additional_properties(Some(utoipa::openapi::schema::AdditionalProperties::FreeForm(true)))
        .build()
}

fn one_of_strings(values: &[&str], description: &str) -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(values.iter().copied()))
        .description(Some(description))
        .build()
}

/// `DlAddress.Action`.
pub fn dl_address_action() -> Object {
    one_of_strings(
        &["Add", "Update", "Remove"],
        "PUT only (an entry without one is an Add).",
    )
}

/// `DlMember.Action`.
pub fn dl_member_action() -> Object {
    one_of_strings(
        &["Add", "Remove"],
        "PUT only (an entry without one is an Add).",
    )
}

/// `DlAddress.AddressProtocol`.
pub fn dl_address_protocol() -> Object {
    one_of_strings(
        &["smtp"],
        "The address type; officed keeps smtp addresses only.",
    )
}
