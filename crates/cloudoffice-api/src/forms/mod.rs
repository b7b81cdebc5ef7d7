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

use serde::Serialize;

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

/// `contact_info()` and `set_contact_info()`: the `types::ContactInfo` part of a
/// form whose contact fields have `ContactInfo`'s Rust names (each form
/// gives them its own wire names).
macro_rules! contact_info_accessors {
    () => {
        /// The contact-info part of the form (fields as given; `Some("")` means clear).
        pub fn contact_info(&self) -> $crate::types::ContactInfo {
            $crate::types::ContactInfo {
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
        pub fn set_contact_info(&mut self, info: &$crate::types::ContactInfo) {
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
    };
}

/// An Exchange form (mailbox or contact): its own fields, then Exchange's
/// contact fields (`jobTitle` to `notes`, with Rackspace Email's names as
/// aliases), then its fields after them. The contact fields are written
/// once here for both forms; `business_number_aliases` are the extra
/// spellings of `businessNumber` a form accepts.
macro_rules! exchange_form {
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            $($before:tt)*
        }
        business_number_aliases: [$($business_number_alias:literal),*],
        fields_after_contact: {
            $($after:tt)*
        }
    ) => {
        $(#[$meta])*
        pub struct $name {
            $($before)*
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
                $(alias = $business_number_alias,)*
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
            $($after)*
        }
    };
}

mod exchange;
mod rsemail;

pub use exchange::{ExchangeContactForm, ExchangeMailboxForm};
pub use rsemail::RsMailboxForm;
