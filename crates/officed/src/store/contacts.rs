//! Exchange contacts: an external address shown in the domain's address
//! book under a name of the domain. Owns the `ex_contacts` table.

use cloudoffice_api::forms::ExchangeContactForm;
use cloudoffice_api::messages;
use cloudoffice_api::types::{ContactInfo, ExContactInfo, ExchangeContact};
use serde_json::json;
use sqlx::{AnyConnection, Row};

use super::addresses::{
    delete_owner_addresses, insert_address, primary_in_use, remove_member_everywhere,
};
use super::contact_info::{apply_passive, stored_join, stored_split, PassiveFields};
use super::page::Listing;
use super::rules::{check_texts, empty_none, keep_service_id};
use super::ServiceStore;
use super::{new_id, now_ms, write_in_domain, Actor, DomainRow, Page, Service};
use crate::db::Db;
use crate::error::{Error, Result};
use crate::validate;

const CONTACT_COLS: &str =
    "id, name, display_name, first_name, last_name, external_email, hidden, contact_info";
const INSERT_VALUES: &str = "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)";
const UPDATE: &str = "UPDATE ex_contacts SET display_name = $1, first_name = $2, \
     last_name = $3, external_email = $4, hidden = $5, contact_info = $6 WHERE id = $7";
const DELETE: &str = "DELETE FROM ex_contacts WHERE id = $1";

/// A contact as stored.
#[derive(Debug, Clone)]
pub struct ContactRow {
    id: String,
    name: String,
    display_name: String,
    first_name: Option<String>,
    last_name: Option<String>,
    external_email: String,
    hidden: bool,
    info: ContactInfo,
    passive: PassiveFields,
}

impl ContactRow {
    /// The documented shape (`GET .../ex/contacts/{name}`).
    pub fn wire(&self) -> ExchangeContact {
        let mut extra = self.passive.clone();
        let initials = match extra.remove("initials") {
            Some(serde_json::Value::String(s)) => Some(s),
            _ => None,
        };
        ExchangeContact {
            name: self.name.clone(),
            display_name: self.display_name.clone(),
            external_email: self.external_email.clone(),
            is_hidden: self.hidden,
            contact_info: ExContactInfo::from_common(
                self.first_name.clone(),
                self.last_name.clone(),
                initials,
                &self.info,
            ),
            extra,
        }
    }
}

fn contact_from_row(r: &sqlx::any::AnyRow) -> Result<ContactRow> {
    let ci: String = r.try_get("contact_info")?;
    let (info, passive) = stored_split(&ci)?;
    Ok(ContactRow {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        display_name: r.try_get("display_name")?,
        first_name: r.try_get("first_name")?,
        last_name: r.try_get("last_name")?,
        external_email: r.try_get("external_email")?,
        hidden: r.try_get::<i64, _>("hidden")? != 0,
        info,
        passive,
    })
}

async fn find_contact(c: &mut AnyConnection, dom: &DomainRow, name: &str) -> Result<ContactRow> {
    let row = sqlx::query(&format!(
        "SELECT {CONTACT_COLS} FROM ex_contacts WHERE domain_id = $1 AND name_key = $2"
    ))
    .bind(dom.id.clone())
    .bind(validate::key(name))
    .fetch_optional(c)
    .await?;
    match row {
        Some(r) => contact_from_row(&r),
        None => Err(Error::not_found(
            "Contact not found.",
            format!(
                "No contact named '{}' in '{}'.",
                validate::printable(name),
                dom.name
            ),
        )),
    }
}

/// `GET .../ex/contacts`: one filtered page and the filtered total.
pub async fn contact_list(db: &Db, dom: &DomainRow, page: &Page) -> Result<(Vec<ContactRow>, u32)> {
    Service::Exchange.check_domain(dom)?;
    let mut c = db.pool.acquire().await?;
    let listing = Listing {
        cols: CONTACT_COLS,
        table: "ex_contacts",
        scope: "domain_id = $1",
        binds: vec![dom.id.clone()],
        search_cols: &["display_name", "external_email"],
        enabled_col: None,
    };
    let (rows, total) = listing.fetch(&mut c, page).await?;
    let contacts = rows.iter().map(contact_from_row).collect::<Result<_>>()?;
    Ok((contacts, total))
}

/// `GET .../ex/contacts/{name}`.
pub async fn contact_get(db: &Db, dom: &DomainRow, name: &str) -> Result<ContactRow> {
    Service::Exchange.check_domain(dom)?;
    let mut c = db.pool.acquire().await?;
    find_contact(&mut c, dom, name).await
}

fn contact_texts(form: &ExchangeContactForm) -> Result<()> {
    check_texts(
        &[
            ("firstName", &form.first_name),
            ("lastName", &form.last_name),
        ],
        &form.contact_info(),
    )?;
    if let Some(d) = &form.display_name {
        validate::display_name(d)?;
    }
    if let Some(e) = &form.external_email {
        validate::address(e)?;
    }
    Ok(())
}

/// `POST .../ex/contacts/{name}`.
pub async fn contact_create(
    db: &Db,
    actor: &Actor,
    dom: &DomainRow,
    name: &str,
    form: &ExchangeContactForm,
) -> Result<ContactRow> {
    Service::Exchange.check_domain(dom)?;
    validate::local_part("contact", name)?;
    contact_texts(form)?;
    let external = form.external_email.clone().ok_or_else(|| {
        Error::bad_request(
            "Missing required field: externalEmail",
            "Give the contact's external address.",
        )
    })?;
    let display = form.display_name.clone().ok_or_else(|| {
        Error::bad_request(
            "Missing required field: displayName",
            "Give the contact a display name (required on add, as documented).",
        )
    })?;
    let mut info = ContactInfo::default();
    info.apply(&form.contact_info());
    let mut passive = serde_json::Map::new();
    apply_passive(&mut info, &mut passive, &form.passive());
    let stored = stored_join(&info, &passive)?;
    let (display, external, stored) = (&display, &external, &stored);
    write_in_domain(db, actor, dom, |mut tx| async move {
        let id = new_id();
        let primary = format!("{name}@{}", dom.name);
        if !insert_address(
            &mut tx,
            &dom.customer_id,
            &primary,
            &dom.id,
            "ex_contact",
            &id,
            true,
        )
        .await?
        {
            return Err(Error::exists(
                messages::object_exists_in_another_service(
                    "contact",
                    name,
                    messages::EXCHANGE_CONTACTS,
                ),
                primary_in_use(&primary),
            ));
        }
        let insert = format!(
            "INSERT INTO ex_contacts ({CONTACT_COLS}, domain_id, name_key, created_at) \
             {INSERT_VALUES}"
        );
        sqlx::query(&insert)
            .bind(id.clone())
            .bind(name.to_string())
            .bind(display.clone())
            .bind(empty_none(&form.first_name))
            .bind(empty_none(&form.last_name))
            .bind(external.clone())
            .bind(i64::from(form.is_hidden.unwrap_or(false)))
            .bind(stored.clone())
            .bind(dom.id.clone())
            .bind(validate::key(name))
            .bind(now_ms())
            .execute(&mut *tx)
            .await?;
        let contact = find_contact(&mut tx, dom, name).await?;
        let detail = json!({"displayName": display, "externalEmail": external});
        Ok(tx.logged(contact, "ex_contact.create", primary, detail))
    })
    .await
}

/// `PUT .../ex/contacts/{name}`.
pub async fn contact_edit(
    db: &Db,
    actor: &Actor,
    dom: &DomainRow,
    name: &str,
    form: &ExchangeContactForm,
) -> Result<ContactRow> {
    Service::Exchange.check_domain(dom)?;
    keep_service_id(
        name,
        form.name.as_deref(),
        "An edit cannot rename a contact.",
    )?;
    contact_texts(form)?;
    write_in_domain(db, actor, dom, |mut tx| async move {
        let mut ct = find_contact(&mut tx, dom, name).await?;
        if let Some(v) = &form.display_name {
            ct.display_name = v.clone();
        }
        if form.first_name.is_some() {
            ct.first_name = empty_none(&form.first_name);
        }
        if form.last_name.is_some() {
            ct.last_name = empty_none(&form.last_name);
        }
        if let Some(v) = &form.external_email {
            ct.external_email = v.clone();
        }
        if let Some(v) = form.is_hidden {
            ct.hidden = v;
        }
        ct.info.apply(&form.contact_info());
        apply_passive(&mut ct.info, &mut ct.passive, &form.passive());
        sqlx::query(UPDATE)
            .bind(ct.display_name.clone())
            .bind(ct.first_name.clone())
            .bind(ct.last_name.clone())
            .bind(ct.external_email.clone())
            .bind(i64::from(ct.hidden))
            .bind(stored_join(&ct.info, &ct.passive)?)
            .bind(ct.id.clone())
            .execute(&mut *tx)
            .await?;
        let target = format!("{}@{}", ct.name, dom.name);
        let detail = serde_json::to_value(form).unwrap_or_default();
        Ok(tx.logged(ct, "ex_contact.edit", target, detail))
    })
    .await
}

/// `DELETE .../ex/contacts/{name}`.
pub async fn contact_delete(db: &Db, actor: &Actor, dom: &DomainRow, name: &str) -> Result<()> {
    Service::Exchange.check_domain(dom)?;
    write_in_domain(db, actor, dom, |mut tx| async move {
        let ct = find_contact(&mut tx, dom, name).await?;
        let primary = format!("{}@{}", ct.name, dom.name);
        remove_member_everywhere(&mut tx, &dom.customer_id, &primary).await?;
        delete_owner_addresses(&mut tx, &ct.id).await?;
        sqlx::query(DELETE)
            .bind(ct.id.clone())
            .execute(&mut *tx)
            .await?;
        Ok(tx.logged((), "ex_contact.delete", primary, json!({})))
    })
    .await
}
