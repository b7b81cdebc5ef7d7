//! Mailboxes of both services (Hosted Exchange and Rackspace Email): the
//! add/edit input, the stored row and its two answer shapes, and the reads.
//! The writes (create, recover, edit, soft delete, administrator rename) are
//! in [`super::mailbox_writes`].

use cloudoffice_api::forms::{ExchangeMailboxForm, Passive, RsMailboxForm};
use cloudoffice_api::messages;
use cloudoffice_api::types::{
    ContactInfo, EmailAddressEntry, ExContactInfo, ExchangeMailbox, RsContactInfo, RsMailbox,
};
use sqlx::{AnyConnection, Row};

use super::addresses::owner_addresses;
use super::contact_info::{stored_split, PassiveFields};
use super::page::Listing;
use super::rules::address_list;
use super::ServiceStore;
use super::{now_ms, rfc3339, DomainRow, Page, Service};
use crate::db::Db;
use crate::error::{Error, Result};
use crate::validate;

/// Deleted mailboxes stay recoverable this long.
pub const RECOVERY_WINDOW_MS: i64 = messages::RECOVERY_DAYS as i64 * 24 * 3600 * 1000;

/// Add/edit input for a mailbox of either service (from the forms).
#[derive(Debug, Clone, Default)]
pub struct MailboxInput {
    pub name: Option<String>,
    pub display_name: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub initials: Option<String>,
    pub enabled: Option<bool>,
    pub hidden: Option<bool>,
    pub size: Option<u32>,
    pub contact: ContactInfo,
    pub recover_deleted: bool,
    /// Documented settings kept without acting on them (see `Passive`).
    pub passive: Passive,
    /// Given on add (required for Rackspace Email, as documented); never stored.
    pub password: Option<String>,
}

impl From<ExchangeMailboxForm> for MailboxInput {
    fn from(f: ExchangeMailboxForm) -> Self {
        let passive = f.passive();
        MailboxInput {
            contact: f.contact_info(),
            name: f.name,
            display_name: f.display_name,
            first_name: f.first_name,
            last_name: f.last_name,
            initials: f.initials,
            enabled: f.enabled,
            hidden: f.is_hidden,
            size: f.size,
            recover_deleted: f.recover_deleted.unwrap_or(false),
            passive,
            password: f.password,
        }
    }
}

impl From<RsMailboxForm> for MailboxInput {
    fn from(f: RsMailboxForm) -> Self {
        let mut passive = f.passive();
        // Forwarding addresses are answered as the documented list.
        if let Some(serde_json::Value::String(v)) = passive.top.remove("emailForwardingAddresses") {
            let list: Vec<serde_json::Value> = v
                .split(',')
                .map(str::trim)
                .filter(|a| !a.is_empty())
                .map(|a| serde_json::Value::String(a.to_string()))
                .collect();
            passive.top.insert(
                "emailForwardingAddressList".into(),
                serde_json::json!({ "emailAddress": list }),
            );
        }
        MailboxInput {
            contact: f.contact_info(),
            name: f.name,
            display_name: f.display_name,
            first_name: f.first_name,
            last_name: f.last_name,
            initials: f.initials,
            enabled: f.enabled,
            hidden: None,
            size: f.size,
            recover_deleted: f.recover_deleted.unwrap_or(false),
            passive,
            password: f.password,
        }
    }
}

pub(super) const MAILBOX_COLS: &str =
    "id, domain_id, service, name, display_name, first_name, last_name, \
     initials, enabled, hidden, size_mb, usage_mb, contact_info, created_at, deleted_at, \
     deleted_addresses";
const LIVE: &str = "domain_id = $1 AND service = $2 AND name_key = $3 AND deleted_at IS NULL";
const RECOVERABLE: &str = "domain_id = $1 AND service = $2 AND name_key = $3 \
     AND deleted_at IS NOT NULL AND deleted_at > $4 ORDER BY deleted_at DESC LIMIT 1";

/// A mailbox as stored.
#[derive(Debug, Clone)]
pub(crate) struct MailboxRow {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(super) display_name: String,
    pub(super) first_name: Option<String>,
    pub(super) last_name: Option<String>,
    pub(super) initials: Option<String>,
    pub(super) enabled: bool,
    pub(super) hidden: bool,
    pub(super) size_mb: i64,
    pub(super) usage_mb: i64,
    pub(super) contact: ContactInfo,
    pub(super) passive: PassiveFields,
    pub(super) created_at: i64,
    pub(super) deleted_at: Option<i64>,
    pub(super) deleted_addresses: Option<String>,
}

fn mailbox_from_row(r: &sqlx::any::AnyRow) -> Result<MailboxRow> {
    let ci: String = r.try_get("contact_info")?;
    let (contact, passive) = stored_split(&ci)?;
    Ok(MailboxRow {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        display_name: r.try_get("display_name")?,
        first_name: r.try_get("first_name")?,
        last_name: r.try_get("last_name")?,
        initials: r.try_get("initials")?,
        enabled: r.try_get::<i64, _>("enabled")? != 0,
        hidden: r.try_get::<i64, _>("hidden")? != 0,
        size_mb: r.try_get("size_mb")?,
        usage_mb: r.try_get("usage_mb")?,
        contact,
        passive,
        created_at: r.try_get("created_at")?,
        deleted_at: r.try_get("deleted_at")?,
        deleted_addresses: r.try_get("deleted_addresses")?,
    })
}

/// The live mailbox `name`.
pub(super) async fn find_mailbox(
    c: &mut AnyConnection,
    dom: &DomainRow,
    svc: Service,
    name: &str,
) -> Result<Option<MailboxRow>> {
    find_row(c, dom, svc, name, false).await
}

/// The newest mailbox `name` deleted within the recovery window.
pub(super) async fn find_recoverable(
    c: &mut AnyConnection,
    dom: &DomainRow,
    svc: Service,
    name: &str,
) -> Result<Option<MailboxRow>> {
    find_row(c, dom, svc, name, true).await
}

async fn find_row(
    c: &mut AnyConnection,
    dom: &DomainRow,
    svc: Service,
    name: &str,
    deleted: bool,
) -> Result<Option<MailboxRow>> {
    let condition = if deleted { RECOVERABLE } else { LIVE };
    let sql = format!("SELECT {MAILBOX_COLS} FROM mailboxes WHERE {condition}");
    let mut q = sqlx::query(&sql)
        .bind(dom.id.clone())
        .bind(svc.code().to_string())
        .bind(validate::key(name));
    if deleted {
        q = q.bind(now_ms() - RECOVERY_WINDOW_MS);
    }
    let row = q.fetch_optional(c).await?;
    row.as_ref().map(mailbox_from_row).transpose()
}

/// The live mailbox `name`, or 404 saying whether it can be recovered.
pub(crate) async fn require_mailbox(
    c: &mut AnyConnection,
    dom: &DomainRow,
    svc: Service,
    name: &str,
) -> Result<MailboxRow> {
    if let Some(m) = find_mailbox(c, dom, svc, name).await? {
        return Ok(m);
    }
    // Say whether it can be recovered.
    let details = match find_recoverable(c, dom, svc, name).await? {
        Some(MailboxRow {
            deleted_at: Some(at),
            ..
        }) => {
            format!(
                "The mailbox '{}' was deleted at {}; it can be recovered until {} by adding it \
                 again with recoverDeleted=true.",
                validate::printable(name),
                rfc3339(at),
                rfc3339(at + RECOVERY_WINDOW_MS)
            )
        }
        _ => format!(
            "No mailbox named '{}' in '{}'.",
            validate::printable(name),
            dom.name
        ),
    };
    Err(Error::not_found("Mailbox not found.", details))
}

pub(super) async fn mailbox_wire(
    c: &mut AnyConnection,
    dom: &DomainRow,
    m: &MailboxRow,
) -> Result<MailboxView> {
    let addrs = owner_addresses(c, &m.id).await?;
    Ok(mailbox_answer(dom, m, &addrs))
}

/// A mailbox as stored, with its addresses, answered in the shape of
/// either service.
#[derive(Debug, Clone)]
pub struct MailboxView {
    row: MailboxRow,
    pub(crate) addresses: Vec<EmailAddressEntry>,
}

impl MailboxView {
    /// The Exchange shape (`GET .../ex/mailboxes/{name}`).
    pub fn exchange(&self) -> ExchangeMailbox {
        let m = &self.row;
        ExchangeMailbox {
            name: m.name.clone(),
            display_name: m.display_name.clone(),
            enabled: m.enabled,
            is_hidden: m.hidden,
            size: m.size_mb as u32,
            current_usage: m.usage_mb as u32,
            created_date: rfc3339(m.created_at),
            contact_info: ExContactInfo::from_common(
                m.first_name.clone(),
                m.last_name.clone(),
                m.initials.clone(),
                &m.contact,
            ),
            email_address_list: self.addresses.clone(),
            extra: {
                // officed has no mobile services: the documented flags are false.
                let mut e = m.passive.clone();
                for f in ["hasBlackBerryMobileService", "hasActiveSyncMobileService"] {
                    e.entry(f).or_insert(serde_json::Value::Bool(false));
                }
                e
            },
        }
    }

    /// The Rackspace Email shape (`GET .../rs/mailboxes/{name}`).
    pub fn rs(&self) -> RsMailbox {
        let m = &self.row;
        RsMailbox {
            name: m.name.clone(),
            display_name: m.display_name.clone(),
            enabled: m.enabled,
            size: m.size_mb as u32,
            current_usage: m.usage_mb as u32,
            created_date: rfc3339(m.created_at),
            contact_info: RsContactInfo {
                first_name: m.first_name.clone(),
                last_name: m.last_name.clone(),
                initials: m.initials.clone(),
                info: m.contact.clone(),
            },
            email_address_list: self.addresses.clone(),
            extra: m.passive.clone(),
        }
    }
}

/// The view of a mailbox row with its stored addresses.
pub(super) fn mailbox_answer(
    dom: &DomainRow,
    m: &MailboxRow,
    addrs: &[(String, bool)],
) -> MailboxView {
    MailboxView {
        row: m.clone(),
        addresses: address_list(dom, &m.name, addrs),
    }
}

/// `GET .../{ex,rs}/mailboxes/{name}`.
pub async fn mailbox_get(
    db: &Db,
    dom: &DomainRow,
    svc: Service,
    name: &str,
) -> Result<MailboxView> {
    svc.check_domain(dom)?;
    let mut c = db.pool.acquire().await?;
    let m = require_mailbox(&mut c, dom, svc, name).await?;
    mailbox_wire(&mut c, dom, &m).await
}

/// The id of a live mailbox (404 `itemNotFoundFault` when there is none),
/// for the resources kept per mailbox (spam settings and lists).
pub async fn mailbox_id(db: &Db, dom: &DomainRow, svc: Service, name: &str) -> Result<String> {
    svc.check_domain(dom)?;
    let mut c = db.pool.acquire().await?;
    Ok(require_mailbox(&mut c, dom, svc, name).await?.id)
}

/// One page of live mailboxes, filtered, without their addresses (list
/// items carry no addresses), and the filtered total.
pub async fn mailbox_list(
    db: &Db,
    dom: &DomainRow,
    svc: Service,
    page: &Page,
) -> Result<(Vec<MailboxView>, u32)> {
    svc.check_domain(dom)?;
    let mut c = db.pool.acquire().await?;
    let listing = Listing {
        cols: MAILBOX_COLS,
        table: "mailboxes",
        scope: "domain_id = $1 AND service = $2 AND deleted_at IS NULL",
        binds: vec![dom.id.clone(), svc.code().to_string()],
        search_cols: &["display_name"],
        enabled_col: Some("enabled"),
    };
    let (rows, total) = listing.fetch(&mut c, page).await?;
    let out = rows
        .iter()
        .map(|r| {
            mailbox_from_row(r).map(|row| MailboxView {
                row,
                addresses: Vec::new(),
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok((out, total))
}
