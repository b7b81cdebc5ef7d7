//! The `addresses` table: one row per address a customer uses (primary or
//! alternate, of any mailbox, alias, contact or list), unique per customer.
//! Owns inserting and reading addresses, removing an address from every
//! list, and the Exchange mailbox alternate-address operations.

use cloudoffice_api::messages;
use cloudoffice_api::types::EmailAddressList;
use serde_json::json;
use sqlx::{AnyConnection, Row};

use super::mailboxes::{mailbox_get, require_mailbox};
use super::pg_writes;
use super::rules::check_alternate;
use super::ServiceStore;
use super::{now_ms, write_in_domain, Actor, DomainRow, Service};
use crate::db::{Backend, Db};
use crate::error::{Error, Result};
use crate::validate;

const INSERT: &str = "INSERT INTO addresses (customer_id, address_key, address, domain_id, \
     owner_kind, owner_id, is_primary, created_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING";
/// An alternate address of the live mailbox `$9` (of service `$8` in
/// domain `$7`), inserted unless the customer already uses it; answers the
/// mailbox's stored name, or no row when the mailbox is not there or the
/// address is in use.
const INSERT_FOR_MAILBOX: &str = "INSERT INTO addresses (customer_id, address_key, address, \
     domain_id, owner_kind, owner_id, is_primary, created_at) \
     SELECT $1, $2, $3, $4, $5, m.id, 0, $6 FROM mailboxes m \
     WHERE m.domain_id = $7 AND m.service = $8 AND m.name_key = $9 AND m.deleted_at IS NULL \
     ON CONFLICT DO NOTHING \
     RETURNING (SELECT name FROM mailboxes WHERE id = addresses.owner_id) AS name";
const OF_OWNER: &str = "SELECT address, is_primary FROM addresses WHERE owner_id = $1 \
     ORDER BY is_primary DESC, address_key";
const DOMAIN_ID: &str = "SELECT id FROM domains WHERE name = $1 AND customer_id = $2";
const REMOVE_MEMBER_EVERYWHERE: &str = "DELETE FROM ex_list_members WHERE member_key = $1 \
     AND list_id IN (SELECT l.id FROM ex_lists l JOIN domains d ON d.id = l.domain_id \
     WHERE d.customer_id = $2)";
const IS_PRIMARY: &str = "SELECT is_primary FROM addresses \
     WHERE customer_id = $1 AND address_key = $2 AND owner_id = $3";
pub(crate) const DELETE_ONE: &str =
    "DELETE FROM addresses WHERE customer_id = $1 AND address_key = $2";
pub(crate) const DELETE_OF_OWNER: &str = "DELETE FROM addresses WHERE owner_id = $1";

/// The fault's details when an address is already used.
pub(crate) const IN_USE_DETAILS: &str =
    "Another mailbox, alias, contact or distribution list of this account already has this \
     address.";

/// The fault's details when an object's primary address is already used.
pub(crate) fn primary_in_use(primary: &str) -> String {
    format!(
        "The address '{primary}' is already used by a mailbox, alias, contact or distribution \
         list."
    )
}

/// Inserts an address; `false` when the customer already uses it.
pub(crate) async fn insert_address(
    c: &mut AnyConnection,
    customer_id: &str,
    address: &str,
    domain_id: &str,
    owner_kind: &str,
    owner_id: &str,
    primary: bool,
) -> Result<bool> {
    let n = sqlx::query(INSERT)
        .bind(customer_id.to_string())
        .bind(validate::key(address))
        .bind(address.to_string())
        .bind(domain_id.to_string())
        .bind(owner_kind.to_string())
        .bind(owner_id.to_string())
        .bind(i64::from(primary))
        .bind(now_ms())
        .execute(c)
        .await?
        .rows_affected();
    Ok(n == 1)
}

/// An object's stored addresses (address, is primary), primary first.
pub(crate) async fn owner_addresses(
    c: &mut AnyConnection,
    owner_id: &str,
) -> Result<Vec<(String, bool)>> {
    let rows = sqlx::query(OF_OWNER)
        .bind(owner_id.to_string())
        .fetch_all(c)
        .await?;
    rows.iter()
        .map(|r| {
            Ok((
                r.try_get::<String, _>("address")?,
                r.try_get::<i64, _>("is_primary")? != 0,
            ))
        })
        .collect()
}

/// Deletes every address of an object.
pub(crate) async fn delete_owner_addresses(c: &mut AnyConnection, owner_id: &str) -> Result<()> {
    sqlx::query(DELETE_OF_OWNER)
        .bind(owner_id.to_string())
        .execute(c)
        .await?;
    Ok(())
}

/// Domain id owning `domain_name` within the customer (primary or accepted).
pub(crate) async fn domain_id_by_name(
    c: &mut AnyConnection,
    customer_id: &str,
    name: &str,
) -> Result<String> {
    let row = sqlx::query(DOMAIN_ID)
        .bind(name.to_string())
        .bind(customer_id.to_string())
        .fetch_optional(c)
        .await?;
    match row {
        Some(r) => Ok(r.try_get("id")?),
        None => Err(Error::alternate_domain(format!(
            "'{name}' is not a domain of this customer."
        ))),
    }
}

/// Removes `address` from every distribution list of the customer.
pub(crate) async fn remove_member_everywhere(
    c: &mut AnyConnection,
    customer_id: &str,
    address: &str,
) -> Result<()> {
    sqlx::query(REMOVE_MEMBER_EVERYWHERE)
        .bind(validate::key(address))
        .bind(customer_id.to_string())
        .execute(c)
        .await?;
    Ok(())
}

/// `GET .../ex/mailboxes/{name}/emailaddresses`.
pub async fn mailbox_addresses(db: &Db, dom: &DomainRow, name: &str) -> Result<EmailAddressList> {
    let m = mailbox_get(db, dom, Service::Exchange, name).await?;
    Ok(EmailAddressList {
        email_address_list: m.addresses,
    })
}

/// `POST .../ex/mailboxes/{name}/emailaddresses/{address}`: adds an alternate address.
pub async fn mailbox_address_add(
    db: &Db,
    actor: &Actor,
    dom: &DomainRow,
    name: &str,
    address: &str,
) -> Result<()> {
    Service::Exchange.check_domain(dom)?;
    let addr_domain = check_alternate(dom, address)?;
    let addr_domain = &addr_domain;
    if db.backend == Backend::Postgres
        && addr_domain.eq_ignore_ascii_case(&dom.name)
        && pg_writes::address_add(db, actor, dom, name, address, now_ms()).await?
    {
        // Done in one statement; when it writes nothing, the general add
        // below answers the fault.
        return Ok(());
    }
    write_in_domain(db, actor, dom, |mut tx| async move {
        // Most alternates are in the mailbox's own domain, locked above.
        let did = if addr_domain.eq_ignore_ascii_case(&dom.name) {
            dom.id.clone()
        } else {
            // The faults in their usual order: no such mailbox first.
            require_mailbox(&mut tx, dom, Service::Exchange, name).await?;
            domain_id_by_name(&mut tx, &dom.customer_id, addr_domain).await?
        };
        // The mailbox is found and its address inserted in one statement.
        let row = sqlx::query(INSERT_FOR_MAILBOX)
            .bind(dom.customer_id.clone())
            .bind(validate::key(address))
            .bind(address.to_string())
            .bind(did)
            .bind(Service::Exchange.kind())
            .bind(now_ms())
            .bind(dom.id.clone())
            .bind(Service::Exchange.code())
            .bind(validate::key(name))
            .fetch_optional(&mut *tx)
            .await?;
        let owner: String = match row {
            Some(r) => r.try_get("name")?,
            None => {
                // Refused: the mailbox's own fault when it is not there,
                // else the address is in use.
                require_mailbox(&mut tx, dom, Service::Exchange, name).await?;
                return Err(Error::exists(
                    messages::address_in_use(address),
                    IN_USE_DETAILS,
                ));
            }
        };
        // The answer is empty: the owner's addresses are not read back.
        Ok(tx.logged(
            (),
            "ex_mailbox.address.add",
            format!("{owner}@{}", dom.name),
            json!({"address": address}),
        ))
    })
    .await
}

/// `DELETE .../ex/mailboxes/{name}/emailaddresses/{address}`.
pub async fn mailbox_address_remove(
    db: &Db,
    actor: &Actor,
    dom: &DomainRow,
    name: &str,
    address: &str,
) -> Result<()> {
    Service::Exchange.check_domain(dom)?;
    write_in_domain(db, actor, dom, |mut tx| async move {
        let m = require_mailbox(&mut tx, dom, Service::Exchange, name).await?;
        let row = sqlx::query(IS_PRIMARY)
            .bind(dom.customer_id.clone())
            .bind(validate::key(address))
            .bind(m.id.clone())
            .fetch_optional(&mut *tx)
            .await?;
        match row {
            None => {
                return Err(Error::not_found(
                    "Email address not found.",
                    format!(
                        "'{}' is not an alternate address of '{}'.",
                        validate::printable(address),
                        m.name
                    ),
                ))
            }
            Some(r) if r.try_get::<i64, _>("is_primary")? != 0 => {
                return Err(Error::bad_request(
                    "The primary address cannot be removed.",
                    format!("'{address}' is the primary address of '{}'.", m.name),
                ))
            }
            Some(_) => {}
        }
        sqlx::query(DELETE_ONE)
            .bind(dom.customer_id.clone())
            .bind(validate::key(address))
            .execute(&mut *tx)
            .await?;
        Ok(tx.logged(
            (),
            "ex_mailbox.address.remove",
            format!("{}@{}", m.name, dom.name),
            json!({"address": address}),
        ))
    })
    .await
}
