//! Rackspace Email aliases: an address of the domain that forwards to a
//! list of targets (existing addresses of the customer, or at most four
//! outside its domains). Owns the `rs_aliases` table.

use cloudoffice_api::messages;
use cloudoffice_api::types::RsAliasForm;
use cloudoffice_api::types::{ListItem, RsAlias, RsAliasList};
use serde_json::json;
use sqlx::{AnyConnection, Row};

use super::addresses::{delete_owner_addresses, insert_address, primary_in_use};
use super::page::Listing;
use super::rules::{self, parse_targets, target_domain};
use super::ServiceStore;
use super::{count_i64, new_id, now_ms, write_in_domain, Actor, DomainRow, Page, Service};
use crate::db::{internal, Db};
use crate::error::{Error, Result};
use crate::validate;

const FIND: &str =
    "SELECT id, name, targets FROM rs_aliases WHERE domain_id = $1 AND name_key = $2";
const INSERT: &str = "INSERT INTO rs_aliases (id, domain_id, name, name_key, targets, created_at) \
     VALUES ($1, $2, $3, $4, $5, $6)";
const SET_TARGETS: &str = "UPDATE rs_aliases SET targets = $1 WHERE id = $2";
const DELETE: &str = "DELETE FROM rs_aliases WHERE id = $1";
const IS_DOMAIN: &str = "SELECT COUNT(*) FROM domains WHERE customer_id = $1 AND name = $2";
const IS_ADDRESS: &str =
    "SELECT COUNT(*) FROM addresses WHERE customer_id = $1 AND address_key = $2";

/// The Alias page's checks: a target in one of the customer's domains must
/// exist there; at most four targets are outside them (see
/// [`rules::check_alias_targets`]).
async fn check_alias_targets(
    c: &mut AnyConnection,
    dom: &DomainRow,
    targets: &[String],
) -> Result<()> {
    let mut missing = Vec::new();
    let mut external = 0;
    for t in targets {
        let domain = target_domain(t);
        let local = count_i64(&mut *c, IS_DOMAIN, &[&dom.customer_id, &domain]).await? > 0;
        if !local {
            external += 1;
            continue;
        }
        let key = validate::key(t);
        let exists = count_i64(&mut *c, IS_ADDRESS, &[&dom.customer_id, &key]).await? > 0;
        if !exists {
            missing.push(t.clone());
        }
    }
    rules::check_alias_targets(&missing, external)
}

/// Stores an alias's targets.
async fn set_targets(c: &mut AnyConnection, id: &str, targets: &[String]) -> Result<()> {
    sqlx::query(SET_TARGETS)
        .bind(serde_json::to_string(targets).map_err(|e| internal(e.to_string()))?)
        .bind(id.to_string())
        .execute(c)
        .await?;
    Ok(())
}

/// `POST .../rs/aliases/{alias}/{address}`: adds one forwarding address,
/// with the same checks as a whole list.
pub async fn alias_address_add(
    db: &Db,
    actor: &Actor,
    dom: &DomainRow,
    name: &str,
    address: &str,
) -> Result<()> {
    Service::RsEmail.check_domain(dom)?;
    validate::address(address)?;
    write_in_domain(db, actor, dom, |mut tx| async move {
        let (id, alias) = find_alias(&mut tx, dom, name).await?;
        let mut targets = alias.email_address_list.email_address.clone();
        if !targets.iter().any(|t| t.eq_ignore_ascii_case(address)) {
            targets.push(address.to_string());
        }
        check_alias_targets(&mut tx, dom, &targets).await?;
        set_targets(&mut tx, &id, &targets).await?;
        Ok(tx.logged(
            (),
            "rs_alias.address.add",
            format!("{}@{}", alias.name, dom.name),
            json!({"address": address}),
        ))
    })
    .await
}

/// `DELETE .../rs/aliases/{alias}/{address}`: removes one forwarding
/// address (not the last one: an alias forwards somewhere).
pub async fn alias_address_remove(
    db: &Db,
    actor: &Actor,
    dom: &DomainRow,
    name: &str,
    address: &str,
) -> Result<()> {
    Service::RsEmail.check_domain(dom)?;
    write_in_domain(db, actor, dom, |mut tx| async move {
        let (id, alias) = find_alias(&mut tx, dom, name).await?;
        let mut targets = alias.email_address_list.email_address.clone();
        let Some(i) = targets.iter().position(|t| t.eq_ignore_ascii_case(address)) else {
            return Err(Error::bad_request(
                format!(
                    "Email address {} does not exist in alias {}.",
                    validate::printable(address),
                    alias.name
                ),
                "Remove only an address the alias forwards to.",
            ));
        };
        targets.remove(i);
        if targets.is_empty() {
            return Err(Error::bad_request(
                "An alias must point to a valid email address.",
                "This is the alias's last address: delete the alias instead.",
            ));
        }
        set_targets(&mut tx, &id, &targets).await?;
        Ok(tx.logged(
            (),
            "rs_alias.address.remove",
            format!("{}@{}", alias.name, dom.name),
            json!({"address": address}),
        ))
    })
    .await
}

/// The alias `name` (its id and answer), or 404.
async fn find_alias(
    c: &mut AnyConnection,
    dom: &DomainRow,
    name: &str,
) -> Result<(String, RsAlias)> {
    let row = sqlx::query(FIND)
        .bind(dom.id.clone())
        .bind(validate::key(name))
        .fetch_optional(c)
        .await?;
    let Some(r) = row else {
        return Err(Error::not_found(
            "Alias not found.",
            format!(
                "No alias named '{}' in '{}'.",
                validate::printable(name),
                dom.name
            ),
        ));
    };
    let targets: String = r.try_get("targets")?;
    Ok((
        r.try_get("id")?,
        RsAlias {
            name: r.try_get("name")?,
            email_address_list: serde_json::from_str::<Vec<String>>(&targets)
                .map_err(|e| internal(e.to_string()))?
                .into(),
        },
    ))
}

/// `GET .../rs/aliases`.
pub async fn alias_list(db: &Db, dom: &DomainRow, page: &Page) -> Result<RsAliasList> {
    Service::RsEmail.check_domain(dom)?;
    let mut c = db.pool.acquire().await?;
    let listing = Listing {
        cols: "name, targets",
        table: "rs_aliases",
        scope: "domain_id = $1",
        binds: vec![dom.id.clone()],
        search_cols: &[],
        enabled_col: None,
    };
    let (rows, total) = listing.fetch(&mut c, page).await?;
    let aliases = rows
        .iter()
        .map(|r| {
            let t: String = r.try_get("targets")?;
            let targets: Vec<String> =
                serde_json::from_str(&t).map_err(|e| internal(e.to_string()))?;
            // The documented list item: the number of members, and the
            // member's address when there is exactly one.
            let mut extra = serde_json::Map::new();
            extra.insert("numberOfMembers".into(), json!(targets.len()));
            if let [only] = targets.as_slice() {
                extra.insert("singleMemberName".into(), json!(only));
            }
            Ok(ListItem {
                name: r.try_get("name")?,
                display_name: None,
                extra,
            })
        })
        .collect::<Result<_>>()?;
    Ok(RsAliasList {
        aliases,
        offset: page.offset,
        size: page.size,
        total,
    })
}

/// `GET .../rs/aliases/{alias}`.
pub async fn alias_get(db: &Db, dom: &DomainRow, name: &str) -> Result<RsAlias> {
    Service::RsEmail.check_domain(dom)?;
    let mut c = db.pool.acquire().await?;
    Ok(find_alias(&mut c, dom, name).await?.1)
}

/// `POST .../rs/aliases/{alias}`.
pub async fn alias_create(
    db: &Db,
    actor: &Actor,
    dom: &DomainRow,
    name: &str,
    form: &RsAliasForm,
) -> Result<RsAlias> {
    Service::RsEmail.check_domain(dom)?;
    validate::local_part("alias", name)?;
    let targets = parse_targets(form.alias_emails.as_deref().unwrap_or(""))?;
    let targets = &targets;
    write_in_domain(db, actor, dom, |mut tx| async move {
        let id = new_id();
        let primary = format!("{name}@{}", dom.name);
        if !insert_address(
            &mut tx,
            &dom.customer_id,
            &primary,
            &dom.id,
            "rs_alias",
            &id,
            true,
        )
        .await?
        {
            return Err(Error::exists(
                messages::object_exists_in_another_service(
                    "alias",
                    name,
                    messages::RSEMAIL_ALIASES,
                ),
                primary_in_use(&primary),
            ));
        }
        check_alias_targets(&mut tx, dom, targets).await?;
        sqlx::query(INSERT)
            .bind(id)
            .bind(dom.id.clone())
            .bind(name.to_string())
            .bind(validate::key(name))
            .bind(serde_json::to_string(&targets).map_err(|e| internal(e.to_string()))?)
            .bind(now_ms())
            .execute(&mut *tx)
            .await?;
        let alias = RsAlias {
            name: name.to_string(),
            email_address_list: targets.clone().into(),
        };
        let detail = json!({"aliasEmails": targets});
        Ok(tx.logged(alias, "rs_alias.create", primary, detail))
    })
    .await
}

/// `PUT .../rs/aliases/{alias}`: replaces the forwarding addresses.
pub async fn alias_edit(
    db: &Db,
    actor: &Actor,
    dom: &DomainRow,
    name: &str,
    form: &RsAliasForm,
) -> Result<RsAlias> {
    Service::RsEmail.check_domain(dom)?;
    let targets = parse_targets(form.alias_emails.as_deref().unwrap_or(""))?;
    let targets = &targets;
    write_in_domain(db, actor, dom, |mut tx| async move {
        let (id, mut alias) = find_alias(&mut tx, dom, name).await?;
        check_alias_targets(&mut tx, dom, targets).await?;
        set_targets(&mut tx, &id, targets).await?;
        let target = format!("{}@{}", alias.name, dom.name);
        let detail = json!({"from": alias.email_address_list.email_address, "to": targets});
        alias.email_address_list = targets.clone().into();
        Ok(tx.logged(alias, "rs_alias.edit", target, detail))
    })
    .await
}

/// `DELETE .../rs/aliases/{alias}`.
pub async fn alias_delete(db: &Db, actor: &Actor, dom: &DomainRow, name: &str) -> Result<()> {
    Service::RsEmail.check_domain(dom)?;
    write_in_domain(db, actor, dom, |mut tx| async move {
        let (id, alias) = find_alias(&mut tx, dom, name).await?;
        delete_owner_addresses(&mut tx, &id).await?;
        sqlx::query(DELETE).bind(id).execute(&mut *tx).await?;
        Ok(tx.logged(
            (),
            "rs_alias.delete",
            format!("{}@{}", alias.name, dom.name),
            json!({"aliasEmails": alias.email_address_list.email_address}),
        ))
    })
    .await
}
