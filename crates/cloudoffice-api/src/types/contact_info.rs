//! Contact information: the shared [`ContactInfo`] and its two wire
//! spellings, Exchange's ([`ExContactInfo`]) and Rackspace Email's
//! ([`RsContactInfo`]).

use serde::{Deserialize, Serialize};

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
