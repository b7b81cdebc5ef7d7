//! How one plan operation is written: the object it is about ([`Subject`]),
//! the fields dirsync manages and compares, and the anchors' state hash.

use dirsync_model::{EmailAddress, Guid};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::types::{
    Anchor, DesiredContact, DesiredList, DesiredMailbox, Fields, OpKind, PlanOp, Service,
    TargetKind,
};

/// The name fields dirsync manages, besides the contact information.
const NAME_FIELDS: [&str; 4] = ["displayName", "firstName", "lastName", "initials"];

/// Contact information no directory attribute maps to: left to the control panel.
const UNMANAGED_CONTACT_INFO: [&str; 1] = ["notes"];

/// The fields dirsync manages on mailboxes and contacts (wire names): the
/// names, then the API's contact information
/// ([`CONTACT_INFO_FIELDS`](cloudoffice_api::CONTACT_INFO_FIELDS)), so a
/// field the API gains is managed (or listed as unmanaged) in one place.
pub fn managed_fields() -> impl Iterator<Item = &'static str> {
    NAME_FIELDS.into_iter().chain(
        cloudoffice_api::CONTACT_INFO_FIELDS
            .into_iter()
            .filter(|f| !UNMANAGED_CONTACT_INFO.contains(f)),
    )
}

/// SHA-256 (hex) of a value's JSON form: the anchors' "last written" hash.
pub fn state_hash<T: Serialize>(v: &T) -> String {
    let json = serde_json::to_vec(v).unwrap_or_default();
    hex::encode(Sha256::digest(json))
}

/// Groups `fields` names for messages.
pub fn field_names(f: &Fields) -> String {
    f.keys().map(AsRef::as_ref).collect::<Vec<_>>().join(", ")
}

/// The managed fields of `desired` that differ from `current`, with their
/// desired values (an absent field counts as empty).
pub(super) fn diff_fields(desired: &Fields, current: &Fields, managed: &[&'static str]) -> Fields {
    let mut out = Fields::new();
    for k in managed {
        let want = desired.get(*k).map(String::as_str).unwrap_or("");
        let have = current.get(*k).map(String::as_str).unwrap_or("");
        if want != have {
            out.insert((*k).into(), want.to_string());
        }
    }
    out
}

/// The managed fields of a mailbox of `service`: Rackspace Email has no initials.
pub(super) fn mailbox_fields(service: Service) -> Vec<&'static str> {
    managed_fields()
        .filter(|f| service == Service::Exchange || *f != "initials")
        .collect()
}

/// The managed fields of a contact: those of an Exchange object without the
/// initials, and the external address.
pub(super) fn contact_fields() -> Vec<&'static str> {
    let mut managed: Vec<&str> = managed_fields().filter(|f| *f != "initials").collect();
    managed.push("externalEmail");
    managed
}

/// The directory object an operation is about, and the kind and service of
/// control-panel object it maps to: what every operation on it repeats.
#[derive(Debug, Clone, Copy)]
pub(super) struct Subject<'a> {
    pub kind: TargetKind,
    pub service: Service,
    pub guid: Guid,
    pub dn: &'a str,
    pub label: &'a str,
}

impl<'a> Subject<'a> {
    pub fn mailbox(m: &'a DesiredMailbox) -> Self {
        Subject {
            kind: TargetKind::Mailbox,
            service: m.service,
            guid: m.guid,
            dn: &m.dn,
            label: &m.label,
        }
    }

    pub fn contact(c: &'a DesiredContact) -> Self {
        Subject {
            kind: TargetKind::Contact,
            service: Service::Exchange,
            guid: c.guid,
            dn: &c.dn,
            label: &c.label,
        }
    }

    pub fn list(l: &'a DesiredList) -> Self {
        Subject {
            kind: TargetKind::List,
            service: Service::Exchange,
            guid: l.guid,
            dn: &l.dn,
            label: &l.label,
        }
    }

    /// An anchored object that left the scope, labelled by its DN's first RDN.
    pub fn leaver(a: &'a Anchor, label: &'a str) -> Self {
        Subject {
            kind: a.kind,
            service: a.service,
            guid: a.guid,
            dn: &a.dn,
            label,
        }
    }

    /// Operation `op` on the control-panel object `target`, run in `phase`,
    /// with no fields, address or members (see [`PlanOp::with_fields`] and
    /// [`PlanOp::with_address`]).
    pub fn op(&self, op: OpKind, target: &EmailAddress, phase: u8, reason: String) -> PlanOp {
        PlanOp {
            seq: 0,
            phase,
            op,
            kind: self.kind,
            service: self.service,
            target: target.clone(),
            guid: Some(self.guid),
            dn: Some(self.dn.to_string()),
            label: self.label.to_string(),
            fields: Fields::new(),
            address: None,
            members: Vec::new(),
            reason,
        }
    }
}

impl PlanOp {
    /// The operation with the fields it sends.
    pub(super) fn with_fields(self, fields: Fields) -> Self {
        PlanOp { fields, ..self }
    }

    /// The operation with the address (or member) it adds, removes or renames to.
    pub(super) fn with_address(self, address: impl Into<String>) -> Self {
        PlanOp {
            address: Some(address.into()),
            ..self
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The managed fields as they were listed by hand before they were
    /// derived from the API's contact information.
    #[test]
    fn managed_fields_are_the_names_and_the_contact_info() {
        let want = [
            "displayName",
            "firstName",
            "lastName",
            "initials",
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
        ];
        assert_eq!(managed_fields().collect::<Vec<_>>(), want);
        assert!(!mailbox_fields(Service::RsEmail).contains(&"initials"));
        assert!(mailbox_fields(Service::Exchange).contains(&"initials"));
        assert_eq!(contact_fields().last(), Some(&"externalEmail"));
    }
}
