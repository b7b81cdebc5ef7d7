//! Mailbox writes of both services: create, recover, edit, soft delete and
//! administrator rename, each taking or giving back a licence of its
//! domain. The input, rows, answers and reads are in [`super::mailboxes`].

use cloudoffice_api::messages;
use cloudoffice_api::types::{ContactInfo, CONTACT_INFO_FIELDS};
use serde_json::json;

use super::addresses::{
    delete_owner_addresses, domain_id_by_name, insert_address, owner_addresses, primary_in_use,
    remove_member_everywhere, DELETE_ONE,
};
use super::contact_info::{apply_passive, stored_join};
use super::domains::{release_licence, take_licence};
use super::mailboxes::{
    find_recoverable, mailbox_answer, mailbox_wire, require_mailbox, MailboxInput, MailboxRow,
    MailboxView, MAILBOX_COLS, RECOVERY_WINDOW_MS,
};
use super::pg_writes::{self, AnyQuery};
use super::rules::{check_texts, empty_none, keep_service_id};
use super::ServiceStore;
use super::{
    audit, new_id, now_ms, rfc3339, write_in_domain, write_locking, Actor, DomainRow, Lock, Service,
};
use crate::db::{internal, Backend, Db};
use crate::error::{Error, Result};
use crate::validate;

/// The default size of a new mailbox (MB).
const DEFAULT_SIZE_MB: u32 = 25_600;

const INSERT_VALUES: &str =
    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, NULL, NULL, $15)";
const UNDELETE: &str =
    "UPDATE mailboxes SET deleted_at = NULL, deleted_addresses = NULL WHERE id = $1";
const UPDATE: &str = "UPDATE mailboxes SET display_name = $1, first_name = $2, last_name = $3, \
     initials = $4, enabled = $5, hidden = $6, size_mb = $7, contact_info = $8 WHERE id = $9";
const SOFT_DELETE: &str =
    "UPDATE mailboxes SET deleted_at = $1, deleted_addresses = $2 WHERE id = $3";
/// Purges the domain's mailboxes deleted before the recovery window. Naming
/// both services lets the live index find them by time instead of visiting
/// every mailbox of the domain.
const PURGE: &str = "DELETE FROM mailboxes WHERE domain_id = $1 AND service IN ('ex', 'rs') \
     AND deleted_at IS NOT NULL AND deleted_at < $2";
const RENAME_MEMBER: &str =
    "UPDATE ex_list_members SET member_key = $1, member = $2 WHERE member_key = $3";
const RENAME_ADDRESS: &str =
    "UPDATE addresses SET address = $1 WHERE customer_id = $2 AND address_key = $3";
const RENAME: &str = "UPDATE mailboxes SET name = $1, name_key = $2 WHERE id = $3";

/// `POST .../{ex,rs}/mailboxes/{name}`: creates a mailbox (or, with
/// `recoverDeleted=true`, recovers one deleted in the last 14 days).
pub async fn mailbox_create(
    db: &Db,
    actor: &Actor,
    dom: &DomainRow,
    svc: Service,
    name: &str,
    input: &MailboxInput,
) -> Result<MailboxView> {
    svc.check_domain(dom)?;
    validate::local_part("mailbox", name)?;
    if let Some(n) = &input.name {
        if !n.eq_ignore_ascii_case(name) {
            return Err(Error::bad_request(
                "The name in the body does not match the path.",
                format!(
                    "Path name '{name}', body name '{}'.",
                    validate::printable(n)
                ),
            ));
        }
    }
    if input.recover_deleted {
        return mailbox_recover(db, actor, dom, svc, name).await;
    }
    // The documented add needs a password (checked, never stored); size
    // defaults to 25600 MB when absent.
    if input.password.as_deref().unwrap_or("").is_empty() {
        return Err(Error::bad_request(
            "Missing required field: password",
            "A mailbox is added with a password (officed requires it and never stores it).",
        ));
    }
    let display = match (&input.display_name, svc) {
        (Some(d), _) => d.clone(),
        // Rackspace Email does not require a display name: the name serves.
        (None, Service::RsEmail) => name.to_string(),
        (None, Service::Exchange) => {
            return Err(Error::bad_request(
                "Missing required field: displayName",
                "Give the mailbox a display name.",
            ))
        }
    };
    validate::display_name(&display)?;
    let size = input.size.unwrap_or(DEFAULT_SIZE_MB);
    validate::size_mb(size)?;
    check_texts(
        &[
            ("firstName", &input.first_name),
            ("lastName", &input.last_name),
            ("initials", &input.initials),
        ],
        &input.contact,
    )?;
    let mut contact = ContactInfo::default();
    contact.apply(&input.contact);
    let mut passive = serde_json::Map::new();
    apply_passive(&mut contact, &mut passive, &input.passive);
    let contact_json = stored_join(&contact, &passive)?;
    let primary = format!("{name}@{}", dom.name);
    // The row as inserted: the answer is built from it, without reading it
    // back (each statement is a hand-off to the database thread).
    let m = MailboxRow {
        id: new_id(),
        name: name.to_string(),
        display_name: display.clone(),
        first_name: empty_none(&input.first_name),
        last_name: empty_none(&input.last_name),
        initials: empty_none(&input.initials),
        enabled: input.enabled.unwrap_or(true),
        hidden: input.hidden.unwrap_or(false),
        size_mb: i64::from(size),
        usage_mb: 0,
        contact,
        passive,
        created_at: now_ms(),
        deleted_at: None,
        deleted_addresses: None,
    };
    let entry = audit::Entry {
        action: format!("{}.create", svc.kind()),
        target: primary.clone(),
        detail: json!({"displayName": display, "size": size, "enabled": m.enabled}),
    };
    let (m, contact_json, primary, entry) = (&m, &contact_json, &primary, &entry);
    if db.backend == Backend::Postgres {
        // One statement; when it writes nothing, the general create below
        // answers the fault.
        let sql = pg_writes::create_sql(svc, MAILBOX_COLS);
        let bind = |q| bind_new(q, dom, svc, m, contact_json);
        if pg_writes::mailbox_create(db, actor, dom, svc, &sql, bind, entry).await? {
            return Ok(mailbox_answer(dom, m, &[(primary.clone(), true)]));
        }
    }
    // The licence is counted by the write's first statement, with the
    // domain's lock; an address already in use is still the fault answered
    // first, as when the licence was taken after the address.
    write_locking(
        db,
        actor,
        dom,
        Lock::TakingLicence(svc),
        |mut tx| async move {
            if !insert_address(
                &mut tx,
                &dom.customer_id,
                primary,
                &dom.id,
                svc.kind(),
                &m.id,
                true,
            )
            .await?
            {
                return Err(Error::exists(
                    messages::user_exists_in_another_service(name, svc.label()),
                    primary_in_use(primary),
                ));
            }
            tx.check_licence(dom, svc)?;
            let insert =
                format!("INSERT INTO mailboxes ({MAILBOX_COLS}, name_key) {INSERT_VALUES}");
            bind_new(sqlx::query(&insert), dom, svc, m, contact_json)
                .execute(&mut *tx)
                .await?;
            let answer = mailbox_answer(dom, m, &[(primary.clone(), true)]);
            Ok(tx.logged(
                answer,
                entry.action.clone(),
                entry.target.clone(),
                entry.detail.clone(),
            ))
        },
    )
    .await
}

/// Binds a new mailbox row's 15 values, in the order of `MAILBOX_COLS`
/// then `name_key` (`$1`..`$15`; `deleted_at` and `deleted_addresses` are
/// NULL), on `q`.
fn bind_new<'q>(
    q: AnyQuery<'q>,
    dom: &DomainRow,
    svc: Service,
    m: &MailboxRow,
    contact_json: &str,
) -> AnyQuery<'q> {
    q.bind(m.id.clone())
        .bind(dom.id.clone())
        .bind(svc.code().to_string())
        .bind(m.name.clone())
        .bind(m.display_name.clone())
        .bind(m.first_name.clone())
        .bind(m.last_name.clone())
        .bind(m.initials.clone())
        .bind(i64::from(m.enabled))
        .bind(i64::from(m.hidden))
        .bind(m.size_mb)
        .bind(m.usage_mb)
        .bind(contact_json.to_string())
        .bind(m.created_at)
        .bind(validate::key(&m.name))
}

/// Recovers the newest mailbox `name` deleted within the recovery window,
/// with its addresses (unless one was taken since) and a licence.
async fn mailbox_recover(
    db: &Db,
    actor: &Actor,
    dom: &DomainRow,
    svc: Service,
    name: &str,
) -> Result<MailboxView> {
    write_in_domain(db, actor, dom, |mut tx| async move {
        let Some(m) = find_recoverable(&mut tx, dom, svc, name).await? else {
            return Err(Error::not_found(
                "Mailbox not found.",
                format!(
                    "No mailbox named '{}' was deleted from '{}' in the last {} days.",
                    validate::printable(name),
                    dom.name,
                    messages::RECOVERY_DAYS
                ),
            ));
        };
        let addrs: Vec<(String, bool)> = m
            .deleted_addresses
            .as_deref()
            .map(serde_json::from_str)
            .transpose()
            .map_err(|e| internal(format!("deleted_addresses: {e}")))?
            .unwrap_or_default();
        for (a, primary) in &addrs {
            let (_, d) = validate::address(a)?;
            let did = domain_id_by_name(&mut tx, &dom.customer_id, &validate::key(&d)).await?;
            if !insert_address(
                &mut tx,
                &dom.customer_id,
                a,
                &did,
                svc.kind(),
                &m.id,
                *primary,
            )
            .await?
            {
                return Err(Error::exists(
                    messages::user_exists_in_another_service(&m.name, svc.label()),
                    format!("The address '{a}' was taken after the mailbox was deleted."),
                ));
            }
        }
        take_licence(&mut tx, dom, svc).await?;
        sqlx::query(UNDELETE)
            .bind(m.id.clone())
            .execute(&mut *tx)
            .await?;
        let target = format!("{}@{}", m.name, dom.name);
        let detail = json!({"deletedAt": m.deleted_at.map(rfc3339)});
        let live = require_mailbox(&mut tx, dom, svc, name).await?;
        let wire = mailbox_wire(&mut tx, dom, &live).await?;
        Ok(tx.logged(wire, format!("{}.recover", svc.kind()), target, detail))
    })
    .await
}

/// `PUT .../{ex,rs}/mailboxes/{name}`: changes the fields present. The
/// name (Service ID) cannot change here: see [`mailbox_rename`].
pub async fn mailbox_edit(
    db: &Db,
    actor: &Actor,
    dom: &DomainRow,
    svc: Service,
    name: &str,
    input: &MailboxInput,
) -> Result<MailboxView> {
    svc.check_domain(dom)?;
    keep_service_id(
        name,
        input.name.as_deref(),
        "An edit cannot rename a mailbox; an administrator renames it with 'officed \
         rename-mailbox' or POST .../mailboxes/NAME/rename with a key that has the rename \
         permission.",
    )?;
    if let Some(d) = &input.display_name {
        validate::display_name(d)?;
    }
    if let Some(s) = input.size {
        validate::size_mb(s)?;
    }
    check_texts(
        &[
            ("firstName", &input.first_name),
            ("lastName", &input.last_name),
            ("initials", &input.initials),
        ],
        &input.contact,
    )?;
    write_in_domain(db, actor, dom, |mut tx| async move {
        let mut m = require_mailbox(&mut tx, dom, svc, name).await?;
        let mut changed = serde_json::Map::new();
        if let Some(v) = &input.display_name {
            m.display_name = v.clone();
            changed.insert("displayName".into(), json!(v));
        }
        for (f, src, dst) in [
            ("firstName", &input.first_name, &mut m.first_name),
            ("lastName", &input.last_name, &mut m.last_name),
            ("initials", &input.initials, &mut m.initials),
        ] {
            if src.is_some() {
                *dst = empty_none(src);
                changed.insert(f.into(), json!(dst));
            }
        }
        if let Some(v) = input.enabled {
            m.enabled = v;
            changed.insert("enabled".into(), json!(v));
        }
        if let Some(v) = input.hidden {
            m.hidden = v;
            changed.insert("isHidden".into(), json!(v));
        }
        if let Some(v) = input.size {
            m.size_mb = i64::from(v);
            changed.insert("size".into(), json!(v));
        }
        for f in CONTACT_INFO_FIELDS {
            if let Some(Some(v)) = input.contact.get(f) {
                changed.insert(f.into(), json!(v));
            }
        }
        m.contact.apply(&input.contact);
        apply_passive(&mut m.contact, &mut m.passive, &input.passive);
        for (k, v) in input.passive.top.iter().chain(input.passive.contact.iter()) {
            changed.insert(k.clone(), v.clone());
        }
        sqlx::query(UPDATE)
            .bind(m.display_name.clone())
            .bind(m.first_name.clone())
            .bind(m.last_name.clone())
            .bind(m.initials.clone())
            .bind(i64::from(m.enabled))
            .bind(i64::from(m.hidden))
            .bind(m.size_mb)
            .bind(stored_join(&m.contact, &m.passive)?)
            .bind(m.id.clone())
            .execute(&mut *tx)
            .await?;
        let wire = mailbox_wire(&mut tx, dom, &m).await?;
        Ok(tx.logged(
            wire,
            format!("{}.edit", svc.kind()),
            format!("{}@{}", m.name, dom.name),
            serde_json::Value::Object(changed),
        ))
    })
    .await
}

/// `DELETE .../{ex,rs}/mailboxes/{name}`: soft delete. The addresses are
/// released (kept with the row for recovery) and list memberships removed;
/// the row is purged after 14 days.
pub async fn mailbox_delete(
    db: &Db,
    actor: &Actor,
    dom: &DomainRow,
    svc: Service,
    name: &str,
) -> Result<()> {
    svc.check_domain(dom)?;
    write_in_domain(db, actor, dom, |mut tx| async move {
        let m = require_mailbox(&mut tx, dom, svc, name).await?;
        let addrs = owner_addresses(&mut tx, &m.id).await?;
        for (a, _) in &addrs {
            remove_member_everywhere(&mut tx, &dom.customer_id, a).await?;
        }
        delete_owner_addresses(&mut tx, &m.id).await?;
        let now = now_ms();
        sqlx::query(SOFT_DELETE)
            .bind(now)
            .bind(serde_json::to_string(&addrs).map_err(|e| internal(e.to_string()))?)
            .bind(m.id.clone())
            .execute(&mut *tx)
            .await?;
        release_licence(&mut tx, dom, svc).await?;
        sqlx::query(PURGE)
            .bind(dom.id.clone())
            .bind(now - RECOVERY_WINDOW_MS)
            .execute(&mut *tx)
            .await?;
        let addresses: Vec<&String> = addrs.iter().map(|a| &a.0).collect();
        Ok(tx.logged(
            (),
            format!("{}.delete", svc.kind()),
            format!("{}@{}", m.name, dom.name),
            json!({"recoverableUntil": rfc3339(now + RECOVERY_WINDOW_MS), "addresses": addresses}),
        ))
    })
    .await
}

/// Administrator rename of a mailbox (changes its Service ID and primary
/// address; alternates stay). Logged in the audit log.
pub async fn mailbox_rename(
    db: &Db,
    actor: &Actor,
    dom: &DomainRow,
    svc: Service,
    name: &str,
    new_name: &str,
) -> Result<MailboxView> {
    svc.check_domain(dom)?;
    validate::local_part("mailbox", new_name)?;
    write_in_domain(db, actor, dom, |mut tx| async move {
        let m = require_mailbox(&mut tx, dom, svc, name).await?;
        let old_primary = format!("{}@{}", m.name, dom.name);
        let new_primary = format!("{new_name}@{}", dom.name);
        let (old_key, new_key) = (validate::key(&old_primary), validate::key(&new_primary));
        if old_key != new_key {
            let cid = &dom.customer_id;
            if !insert_address(&mut tx, cid, &new_primary, &dom.id, svc.kind(), &m.id, true).await?
            {
                return Err(Error::exists(
                    messages::user_exists_in_another_service(new_name, svc.label()),
                    format!("The address '{new_primary}' is already used."),
                ));
            }
            sqlx::query(DELETE_ONE)
                .bind(cid.clone())
                .bind(old_key.clone())
                .execute(&mut *tx)
                .await?;
            sqlx::query(RENAME_MEMBER)
                .bind(new_key)
                .bind(new_primary.clone())
                .bind(old_key)
                .execute(&mut *tx)
                .await?;
        } else {
            sqlx::query(RENAME_ADDRESS)
                .bind(new_primary.clone())
                .bind(dom.customer_id.clone())
                .bind(old_key)
                .execute(&mut *tx)
                .await?;
        }
        sqlx::query(RENAME)
            .bind(new_name.to_string())
            .bind(validate::key(new_name))
            .bind(m.id.clone())
            .execute(&mut *tx)
            .await?;
        let detail = json!({"from": m.name, "to": new_name});
        let renamed = require_mailbox(&mut tx, dom, svc, new_name).await?;
        let wire = mailbox_wire(&mut tx, dom, &renamed).await?;
        Ok(tx.logged(wire, format!("{}.rename", svc.kind()), old_primary, detail))
    })
    .await
}
