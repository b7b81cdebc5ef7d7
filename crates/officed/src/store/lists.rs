//! Exchange distribution lists (the v1 JSON model): the list, its
//! addresses (primary, alternates, domain-alias twins), its members and
//! allowed senders. Owns the `ex_lists` and `ex_list_members` tables.

use cloudoffice_api::messages;
use cloudoffice_api::types::{
    DistributionList, DistributionListBody, DistributionListList, DlAddress, DlMember,
    EmailAddressEntry, ListItem, MemberList,
};
use serde_json::json;
use sqlx::{AnyConnection, Row};

use super::addresses::{
    delete_owner_addresses, domain_id_by_name, insert_address, owner_addresses, primary_in_use,
    remove_member_everywhere, IN_USE_DETAILS,
};
use super::page::Listing;
use super::rules::{apply_actions, check_alternate, check_list_body, list_address_list};
use super::ServiceStore;
use super::{new_id, now_ms, write_in_domain, Actor, DomainRow, Page, Service};
use crate::db::{internal, Db};
use crate::error::{Error, Result};
use crate::validate;

const FIND: &str = "SELECT id, name, display_name, hidden, extra FROM ex_lists \
     WHERE domain_id = $1 AND name_key = $2";
const MEMBERS: &str = "SELECT member FROM ex_list_members WHERE list_id = $1 ORDER BY member_key";
const OWNER_OF: &str = "SELECT owner_id FROM addresses WHERE customer_id = $1 AND address_key = $2";
const ADD_MEMBER: &str = "INSERT INTO ex_list_members (list_id, member_key, member) \
     VALUES ($1, $2, $3) ON CONFLICT DO NOTHING";
const REMOVE_MEMBER: &str = "DELETE FROM ex_list_members WHERE list_id = $1 AND member_key = $2";
const REMOVE_MEMBERS: &str = "DELETE FROM ex_list_members WHERE list_id = $1";
const DELETE_ALTERNATES: &str = "DELETE FROM addresses WHERE owner_id = $1 AND is_primary = 0";
const INSERT: &str = "INSERT INTO ex_lists (id, domain_id, name, name_key, display_name, hidden, \
     created_at, extra) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";
const UPDATE: &str = "UPDATE ex_lists SET display_name = $1, hidden = $2, extra = $3 WHERE id = $4";
const DELETE: &str = "DELETE FROM ex_lists WHERE id = $1";

/// Settings of a list kept without acting on them (`extra` column).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
struct ListExtra {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    accept_from: Vec<String>,
}

/// A distribution list as stored, with its addresses and members.
#[derive(Debug, Clone)]
pub struct ListRow {
    pub name: String,
    pub display_name: String,
    pub hidden: bool,
    extra: ListExtra,
    /// Stored addresses (primary and alternates; alias twins are derived).
    stored: Vec<(String, bool)>,
    pub addresses: Vec<EmailAddressEntry>,
    pub members: Vec<String>,
}

impl ListRow {
    /// The documented v1 shape.
    pub fn wire(&self, dom: &DomainRow) -> DistributionList {
        let member = |v: &String| DlMember {
            action: None,
            value: v.clone(),
        };
        DistributionList {
            name: self.name.clone(),
            display_name: self.display_name.clone(),
            description: self.extra.description.clone(),
            is_hidden: self.hidden,
            member_count: self.members.len() as u32,
            primary_smtp_address: format!("{}@{}", self.name, dom.name),
            email_addresses: self
                .addresses
                .iter()
                .map(|a| DlAddress {
                    action: None,
                    address_primary: Some(a.reply_to),
                    address_protocol: Some("smtp".into()),
                    value: a.address.clone(),
                })
                .collect(),
            members: self.members.iter().map(member).collect(),
            accept_messages_only_from: self.extra.accept_from.iter().map(member).collect(),
        }
    }
}

/// The list `name` (its id and row), or 404.
async fn find_list(
    c: &mut AnyConnection,
    dom: &DomainRow,
    name: &str,
) -> Result<(String, ListRow)> {
    let row = sqlx::query(FIND)
        .bind(dom.id.clone())
        .bind(validate::key(name))
        .fetch_optional(&mut *c)
        .await?;
    let Some(r) = row else {
        return Err(Error::not_found(
            "Distribution list not found.",
            format!(
                "No distribution list named '{}' in '{}'.",
                validate::printable(name),
                dom.name
            ),
        ));
    };
    let id: String = r.try_get("id")?;
    let lname: String = r.try_get("name")?;
    let extra: String = r.try_get("extra")?;
    let stored = owner_addresses(c, &id).await?;
    let members = list_members(c, &id).await?;
    Ok((
        id,
        ListRow {
            addresses: list_address_list(dom, &lname, &stored),
            stored,
            name: lname,
            display_name: r.try_get("display_name")?,
            hidden: r.try_get::<i64, _>("hidden")? != 0,
            extra: serde_json::from_str(&extra)
                .map_err(|e| internal(format!("list extra: {e}")))?,
            members,
        },
    ))
}

async fn list_members(c: &mut AnyConnection, list_id: &str) -> Result<Vec<String>> {
    let rows = sqlx::query(MEMBERS)
        .bind(list_id.to_string())
        .fetch_all(c)
        .await?;
    rows.iter().map(|r| Ok(r.try_get("member")?)).collect()
}

/// `GET .../ex/distributionlists`.
pub async fn list_list(db: &Db, dom: &DomainRow, page: &Page) -> Result<DistributionListList> {
    Service::Exchange.check_domain(dom)?;
    let mut c = db.pool.acquire().await?;
    let listing = Listing {
        cols: "name, display_name",
        table: "ex_lists",
        scope: "domain_id = $1",
        binds: vec![dom.id.clone()],
        search_cols: &["display_name"],
        enabled_col: None,
    };
    let (rows, total) = listing.fetch(&mut c, page).await?;
    let lists = rows
        .iter()
        .map(|r| {
            Ok(ListItem {
                name: r.try_get("name")?,
                display_name: Some(r.try_get("display_name")?),
                extra: Default::default(),
            })
        })
        .collect::<Result<_>>()?;
    Ok(DistributionListList {
        distribution_lists: lists,
        offset: page.offset,
        size: page.size,
        total,
    })
}

/// `GET .../ex/distributionlists/{name}`.
pub async fn list_get(db: &Db, dom: &DomainRow, name: &str) -> Result<ListRow> {
    Service::Exchange.check_domain(dom)?;
    let mut c = db.pool.acquire().await?;
    Ok(find_list(&mut c, dom, name).await?.1)
}

/// Adds `member` (an existing address of the customer, not one of the
/// list's own); `false` when it already is a member.
async fn add_member(
    c: &mut AnyConnection,
    dom: &DomainRow,
    list_id: &str,
    list_name: &str,
    member: &str,
) -> Result<bool> {
    validate::address(member)?;
    let exists = sqlx::query(OWNER_OF)
        .bind(dom.customer_id.clone())
        .bind(validate::key(member))
        .fetch_optional(&mut *c)
        .await?;
    match exists {
        None => {
            return Err(Error::bad_request(
                format!(
                    "The member '{}' was not found in control panel.",
                    validate::printable(member)
                ),
                "Members must be mailboxes, contacts or lists of this account; create them first.",
            ))
        }
        Some(r) if r.try_get::<String, _>("owner_id")? == list_id => {
            return Err(Error::bad_request(
                "A distribution list cannot be a member of itself.",
                format!("'{member}' is an address of '{list_name}'."),
            ))
        }
        Some(_) => {}
    }
    let n = sqlx::query(ADD_MEMBER)
        .bind(list_id.to_string())
        .bind(validate::key(member))
        .bind(member.to_string())
        .execute(c)
        .await?
        .rows_affected();
    Ok(n == 1)
}

/// Replaces a list's alternate addresses with `alternates` (checked).
async fn set_list_alternates(
    tx: &mut AnyConnection,
    dom: &DomainRow,
    id: &str,
    alternates: &[String],
) -> Result<()> {
    sqlx::query(DELETE_ALTERNATES)
        .bind(id.to_string())
        .execute(&mut *tx)
        .await?;
    for a in alternates {
        let d = check_alternate(dom, a)?;
        let did = domain_id_by_name(&mut *tx, &dom.customer_id, &d).await?;
        if !insert_address(&mut *tx, &dom.customer_id, a, &did, "ex_list", id, false).await? {
            return Err(Error::exists(messages::address_in_use(a), IN_USE_DETAILS));
        }
    }
    Ok(())
}

/// `POST .../ex/distributionlists/{name}` (v1 JSON body).
pub async fn list_create(
    db: &Db,
    actor: &Actor,
    dom: &DomainRow,
    name: &str,
    body: &DistributionListBody,
) -> Result<ListRow> {
    Service::Exchange.check_domain(dom)?;
    validate::local_part("distribution list", name)?;
    check_list_body(body)?;
    let display = body.display_name.clone().ok_or_else(|| {
        Error::bad_request(
            "Missing required field: DisplayName",
            "A distribution list is created with a DisplayName.",
        )
    })?;
    let primary = format!("{name}@{}", dom.name);
    let alternates: Vec<String> = body
        .email_addresses
        .iter()
        .flatten()
        .map(|a| a.value.trim().to_string())
        .filter(|a| !a.eq_ignore_ascii_case(&primary))
        .collect();
    for a in &alternates {
        check_alternate(dom, a)?;
    }
    let extra = ListExtra {
        description: body.description.clone().filter(|d| !d.is_empty()),
        accept_from: body
            .accept_messages_only_from
            .iter()
            .flatten()
            .map(|m| m.value.clone())
            .collect(),
    };
    let extra_json = serde_json::to_string(&extra).map_err(|e| internal(e.to_string()))?;
    let (alternates, display, extra_json, primary) = (&alternates, &display, &extra_json, &primary);
    write_in_domain(db, actor, dom, |mut tx| async move {
        let id = new_id();
        if !insert_address(
            &mut tx,
            &dom.customer_id,
            primary,
            &dom.id,
            "ex_list",
            &id,
            true,
        )
        .await?
        {
            return Err(Error::exists(
                messages::group_exists_in_another_service(name),
                primary_in_use(primary),
            ));
        }
        sqlx::query(INSERT)
            .bind(id.clone())
            .bind(dom.id.clone())
            .bind(name.to_string())
            .bind(validate::key(name))
            .bind(display.clone())
            .bind(i64::from(body.is_hidden.unwrap_or(false)))
            .bind(now_ms())
            .bind(extra_json.clone())
            .execute(&mut *tx)
            .await?;
        set_list_alternates(&mut tx, dom, &id, alternates).await?;
        for m in body.members.iter().flatten() {
            add_member(&mut tx, dom, &id, name, &m.value).await?;
        }
        let (_, l) = find_list(&mut tx, dom, name).await?;
        let detail = serde_json::to_value(body).unwrap_or_default();
        Ok(tx.logged(l, "ex_list.create", primary.clone(), detail))
    })
    .await
}

/// `(Action, value)` of each member or sender entry of an edit.
fn member_entries(items: &[DlMember]) -> Vec<(Option<&str>, &str)> {
    items
        .iter()
        .map(|m| (m.action.as_deref(), m.value.as_str()))
        .collect()
}

/// `(Action, value)` of each address entry of an edit.
fn address_entries(items: &[DlAddress]) -> Vec<(Option<&str>, &str)> {
    items
        .iter()
        .map(|a| (a.action.as_deref(), a.value.trim()))
        .collect()
}

/// `PUT .../ex/distributionlists/{name}` (v1 JSON body): scalar fields
/// replace; array entries add or remove one address, member or sender.
/// The primary address and the domain-alias twins cannot be added or
/// removed.
pub async fn list_edit(
    db: &Db,
    actor: &Actor,
    dom: &DomainRow,
    name: &str,
    body: &DistributionListBody,
) -> Result<ListRow> {
    Service::Exchange.check_domain(dom)?;
    check_list_body(body)?;
    write_in_domain(db, actor, dom, |mut tx| async move {
        let (id, l) = find_list(&mut tx, dom, name).await?;
        let primary = format!("{}@{}", l.name, dom.name);
        let mut extra = l.extra.clone();
        if let Some(d) = &body.description {
            extra.description = Some(d.clone()).filter(|d| !d.is_empty());
        }
        if let Some(senders) = &body.accept_messages_only_from {
            apply_actions(&mut extra.accept_from, &member_entries(senders), "Sender")?;
        }
        sqlx::query(UPDATE)
            .bind(body.display_name.clone().unwrap_or(l.display_name.clone()))
            .bind(i64::from(body.is_hidden.unwrap_or(l.hidden)))
            .bind(serde_json::to_string(&extra).map_err(|e| internal(e.to_string()))?)
            .bind(id.clone())
            .execute(&mut *tx)
            .await?;
        if let Some(addresses) = &body.email_addresses {
            let mut alternates: Vec<String> = l
                .stored
                .iter()
                .filter(|(_, p)| !p)
                .map(|(a, _)| a.clone())
                .collect();
            for a in addresses {
                let v = a.value.trim();
                let derived = l
                    .addresses
                    .iter()
                    .any(|e| e.address.eq_ignore_ascii_case(v))
                    && !alternates.iter().any(|x| x.eq_ignore_ascii_case(v));
                if v.eq_ignore_ascii_case(&primary) || derived {
                    return Err(Error::bad_request(
                        "The address cannot be changed.",
                        format!(
                            "'{}' is the list's primary address or one of its domain-alias \
                             addresses: those follow the list and cannot be added or removed.",
                            validate::printable(v)
                        ),
                    ));
                }
            }
            apply_actions(
                &mut alternates,
                &address_entries(addresses),
                "Email address",
            )?;
            set_list_alternates(&mut tx, dom, &id, &alternates).await?;
        }
        if let Some(wanted) = &body.members {
            let mut members = l.members.clone();
            apply_actions(&mut members, &member_entries(wanted), "Member")?;
            sqlx::query(REMOVE_MEMBERS)
                .bind(id.clone())
                .execute(&mut *tx)
                .await?;
            for m in &members {
                add_member(&mut tx, dom, &id, name, m).await?;
            }
        }
        let (_, l) = find_list(&mut tx, dom, name).await?;
        let detail = serde_json::to_value(body).unwrap_or_default();
        Ok(tx.logged(l, "ex_list.edit", primary, detail))
    })
    .await
}

/// `DELETE .../ex/distributionlists/{name}`.
pub async fn list_delete(db: &Db, actor: &Actor, dom: &DomainRow, name: &str) -> Result<()> {
    Service::Exchange.check_domain(dom)?;
    write_in_domain(db, actor, dom, |mut tx| async move {
        let (id, l) = find_list(&mut tx, dom, name).await?;
        for a in &l.addresses {
            remove_member_everywhere(&mut tx, &dom.customer_id, &a.address).await?;
        }
        sqlx::query(REMOVE_MEMBERS)
            .bind(id.clone())
            .execute(&mut *tx)
            .await?;
        delete_owner_addresses(&mut tx, &id).await?;
        sqlx::query(DELETE).bind(id).execute(&mut *tx).await?;
        Ok(tx.logged(
            (),
            "ex_list.delete",
            format!("{}@{}", l.name, dom.name),
            json!({"members": l.members}),
        ))
    })
    .await
}

/// `GET .../ex/distributionlists/{name}/members`.
pub async fn members_get(db: &Db, dom: &DomainRow, name: &str) -> Result<MemberList> {
    Ok(MemberList {
        members: list_get(db, dom, name).await?.members,
    })
}

/// `POST .../ex/distributionlists/{name}/members/{member}`.
pub async fn member_add(
    db: &Db,
    actor: &Actor,
    dom: &DomainRow,
    name: &str,
    member: &str,
) -> Result<MemberList> {
    Service::Exchange.check_domain(dom)?;
    write_in_domain(db, actor, dom, |mut tx| async move {
        let (id, l) = find_list(&mut tx, dom, name).await?;
        let added = add_member(&mut tx, dom, &id, &l.name, member).await?;
        let members = MemberList {
            members: list_members(&mut tx, &id).await?,
        };
        Ok(if added {
            tx.logged(
                members,
                "ex_list.member.add",
                format!("{}@{}", l.name, dom.name),
                json!({"member": member}),
            )
        } else {
            tx.unlogged(members)
        })
    })
    .await
}

/// `DELETE .../ex/distributionlists/{name}/members/{member}`.
pub async fn member_remove(
    db: &Db,
    actor: &Actor,
    dom: &DomainRow,
    name: &str,
    member: &str,
) -> Result<()> {
    Service::Exchange.check_domain(dom)?;
    write_in_domain(db, actor, dom, |mut tx| async move {
        let (id, l) = find_list(&mut tx, dom, name).await?;
        let n = sqlx::query(REMOVE_MEMBER)
            .bind(id)
            .bind(validate::key(member))
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if n == 0 {
            return Err(Error::not_found(
                "Member not found.",
                format!(
                    "'{}' is not a member of '{}'.",
                    validate::printable(member),
                    l.name
                ),
            ));
        }
        Ok(tx.logged(
            (),
            "ex_list.member.remove",
            format!("{}@{}", l.name, dom.name),
            json!({"member": member}),
        ))
    })
    .await
}
