//! Storage of the control panel, one module per resource, and the one way a
//! change is written: `write_in_domain`.
//!
//! Every write runs in one transaction whose first statement bumps the
//! domain's `lock_version` (the per-domain lock: a row lock on PostgreSQL,
//! the write lock on SQLite), so licence counts hold under concurrency, also
//! across several officed instances on one PostgreSQL. Address uniqueness is
//! the `addresses` primary key `(customer_id, address_key)`, inserted with
//! `ON CONFLICT DO NOTHING`: exactly one of two racing inserts wins, the
//! other gets the rule's fault.
//!
//! This module owns the shared vocabulary (the actor, customer and domain
//! rows, the mailbox service, the clock) and the write wrapper. The
//! resources live in their own modules:
//!
//! - [`page`]: paging and index-search parameters of list calls;
//! - [`domains`]: domain rows, the domain index, licence counters;
//! - `domain_admin`: adding, editing and deleting domains, and their
//!   alternate domains (the Domain page's reseller operations);
//! - [`mailboxes`]: Hosted Exchange and Rackspace Email mailboxes;
//! - [`addresses`]: the customer-wide address table and Exchange alternates;
//! - [`aliases`]: Rackspace Email aliases;
//! - [`contacts`]: Exchange contacts;
//! - [`lists`]: Exchange distribution lists and their members;
//! - [`tokens`]: Rackspace Email login tokens;
//! - [`spam`]: spam settings and spam list entries;
//! - [`contact_info`]: the stored `contact_info` column;
//! - [`audit`]: the audit log, written and read;
//! - [`rules`]: the pure rules every write checks (no I/O).

pub mod addresses;
pub mod aliases;
pub mod audit;
pub mod contact_info;
pub mod contacts;
mod domain_admin;
pub mod domains;
pub(crate) mod group;
pub mod lists;
pub mod mailbox_writes;
pub mod mailboxes;
pub mod page;
mod pg_writes;
pub mod rules;
pub mod spam;
pub mod tokens;

use cloudoffice_api::messages;
use cloudoffice_api::types::{ListItem, ServiceType};
use sqlx::{AnyConnection, Executor, Row};

use crate::db::{internal, retry_after, Db};
use crate::error::{Error, Result};
use crate::validate;

pub use addresses::{mailbox_address_add, mailbox_address_remove, mailbox_addresses};
pub use aliases::{
    alias_address_add, alias_address_remove, alias_create, alias_delete, alias_edit, alias_get,
    alias_list,
};
pub use contacts::{
    contact_create, contact_delete, contact_edit, contact_get, contact_list, ContactRow,
};
pub use domain_admin::{
    alternate_add, alternate_list, alternate_remove, domain_add, domain_delete, domain_edit,
    domain_settings, AlternateKind, DomainChange, STORED_DOMAIN_FIELDS,
};
pub use domains::{customer_domain, domain_by_name, domain_wire, list_domains};
pub use lists::{
    list_create, list_delete, list_edit, list_get, list_list, member_add, member_remove,
    members_get, ListRow,
};
pub use mailbox_writes::{mailbox_create, mailbox_delete, mailbox_edit, mailbox_rename};
pub use mailboxes::{
    mailbox_get, mailbox_id, mailbox_list, MailboxInput, MailboxView, RECOVERY_WINDOW_MS,
};
pub use page::{Page, Search};
pub use rules::MAX_EXTERNAL_ALIAS_TARGETS;
pub use tokens::{rs_login_token, LOGIN_TOKEN_TTL_MS};

/// Current time, unix milliseconds.
pub fn now_ms() -> i64 {
    (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64
}

/// Unix milliseconds as RFC 3339 (empty when out of range).
pub(crate) fn rfc3339(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

/// A new row id.
pub(crate) fn new_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// Who made a change, as written to the audit log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor(pub String);

impl Actor {
    /// A change made through the API with this user key.
    pub fn key(user_key: &str) -> Self {
        Actor(format!("key:{user_key}"))
    }
    /// A change made by an administrator (CLI or library).
    pub fn admin() -> Self {
        Actor("admin".into())
    }
}

/// A customer row.
#[derive(Debug, Clone)]
pub struct Customer {
    pub id: String,
    pub account_number: String,
    pub name: String,
}

/// A domain row plus its aliases and accepted domains (all lower case).
#[derive(Debug, Clone)]
pub struct DomainRow {
    pub id: String,
    pub customer_id: String,
    pub account_number: String,
    pub name: String,
    pub service_type: ServiceType,
    pub ex_licences: i64,
    pub rs_licences: i64,
    /// Live mailboxes per service, as counted by the licence counters.
    pub ex_used: i64,
    pub rs_used: i64,
    pub aliases: Vec<String>,
    pub accepted: Vec<String>,
}

/// The workspace's one mailbox-service enum (Hosted Exchange or Rackspace
/// Email), from `dirsync-model`.
pub use dirsync_model::Service;

/// What officed's storage and faults say about a mailbox service.
pub trait ServiceStore: Copy {
    /// The path segment of its resources: `ex` or `rs`.
    fn code(self) -> &'static str;
    /// The control panel's name of its licences, as the faults say it.
    fn label(self) -> &'static str;
    /// The service's product name, as the faults say it.
    fn product(self) -> &'static str;
    /// The `owner_kind` of its addresses and the audit action prefix.
    fn kind(self) -> &'static str;
    /// 403 unless the domain has this service (see [`rules::check_service`]).
    fn check_domain(self, d: &DomainRow) -> Result<()>;
}

impl ServiceStore for Service {
    fn code(self) -> &'static str {
        match self {
            Service::Exchange => "ex",
            Service::RsEmail => "rs",
        }
    }
    fn label(self) -> &'static str {
        match self {
            Service::Exchange => messages::EXCHANGE_MAILBOXES,
            Service::RsEmail => messages::RSEMAIL_MAILBOXES,
        }
    }
    fn product(self) -> &'static str {
        match self {
            Service::Exchange => "Hosted Exchange",
            Service::RsEmail => "Rackspace Email",
        }
    }
    fn kind(self) -> &'static str {
        match self {
            Service::Exchange => "ex_mailbox",
            Service::RsEmail => "rs_mailbox",
        }
    }
    fn check_domain(self, d: &DomainRow) -> Result<()> {
        rules::check_service(&d.name, d.service_type, self)
    }
}

/// Builds a list item from an object's full answer: `name`,
/// `displayName` (when the resource has one) and the asked `fields=`
/// extras, which must be among `allowed`.
pub fn summarize<T: serde::Serialize>(
    full: &T,
    allowed: &[&str],
    asked: &[String],
) -> Result<ListItem> {
    let v = serde_json::to_value(full).map_err(|e| internal(e.to_string()))?;
    let get = |k: &str| v.get(k).cloned();
    let name = get("name")
        .and_then(|n| n.as_str().map(str::to_string))
        .unwrap_or_default();
    let display_name = get("displayName").and_then(|n| n.as_str().map(str::to_string));
    let mut extra = serde_json::Map::new();
    for f in asked {
        if !allowed.contains(&f.as_str()) {
            return Err(Error::validation(
                format!("Invalid field: {}", validate::printable(f)),
                format!("fields= accepts: {}.", allowed.join(", ")),
            ));
        }
        // A documented field officed has no value for is answered as null.
        extra.insert(f.clone(), get(f).unwrap_or(serde_json::Value::Null));
    }
    Ok(ListItem {
        name,
        display_name,
        extra,
    })
}

/// `SELECT COUNT(*) ...` with string binds.
pub(crate) async fn count_i64(c: &mut AnyConnection, sql: &str, binds: &[&str]) -> Result<i64> {
    let mut q = sqlx::query(sql);
    for b in binds {
        q = q.bind(b.to_string());
    }
    let row = q.fetch_one(c).await?;
    Ok(row.try_get::<i64, _>(0)?)
}

/// The per-domain lock, a write's first statement. `RETURNING` (SQLite
/// and PostgreSQL both have it) answers whether the domain still exists in
/// the same statement.
const LOCK_DOMAIN: &str =
    "UPDATE domains SET lock_version = lock_version + 1 WHERE id = $1 RETURNING lock_version";
/// The lock that also counts one more mailbox of a service: the new count
/// and the licences, which the create compares (a refusal rolls the count
/// back with the rest of its work).
const LOCK_TAKING_EX: &str = "UPDATE domains SET lock_version = lock_version + 1, \
     ex_used = ex_used + 1 WHERE id = $1 RETURNING ex_used AS used, ex_licences AS max";
const LOCK_TAKING_RS: &str = "UPDATE domains SET lock_version = lock_version + 1, \
     rs_used = rs_used + 1 WHERE id = $1 RETURNING rs_used AS used, rs_licences AS max";

/// Takes the per-domain lock (first statement of every write).
async fn lock_domain(c: &mut AnyConnection, domain_id: &str) -> Result<()> {
    let row = sqlx::query(LOCK_DOMAIN)
        .bind(domain_id.to_string())
        .fetch_optional(c)
        .await?;
    match row {
        Some(_) => Ok(()),
        None => Err(Error::not_authorized("The domain no longer exists.")),
    }
}

/// What a write's first statement does besides locking the domain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lock {
    /// Only the lock.
    Domain,
    /// The lock, and one more mailbox of the service counted (see
    /// [`Write::licence`]).
    TakingLicence(Service),
}

impl Lock {
    fn sql(self) -> &'static str {
        match self {
            Lock::Domain => LOCK_DOMAIN,
            Lock::TakingLicence(Service::Exchange) => LOCK_TAKING_EX,
            Lock::TakingLicence(Service::RsEmail) => LOCK_TAKING_RS,
        }
    }
}

/// The connection a write runs on.
enum WriteConn {
    /// Its own transaction (PostgreSQL).
    Tx(sqlx::Transaction<'static, sqlx::Any>),
    /// Its place in the SQLite writer's batch (`group`).
    Group(group::Slot),
}

/// One write in progress in a domain: its transaction (or savepoint of a
/// batch), holding the domain's lock. Dereferences to the connection, so
/// the store's helpers take `&mut tx` and queries run on `&mut *tx`.
pub(crate) struct Write {
    conn: WriteConn,
    /// After [`Lock::TakingLicence`]: the service's mailboxes counted with
    /// the new one, and the domain's licences of it. Over the licences,
    /// the write must fail (see [`Write::check_licence`]).
    licence: Option<(i64, i64)>,
}

impl std::ops::Deref for Write {
    type Target = AnyConnection;
    fn deref(&self) -> &AnyConnection {
        match &self.conn {
            WriteConn::Tx(tx) => tx,
            WriteConn::Group(slot) => slot,
        }
    }
}

impl std::ops::DerefMut for Write {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        match &mut self.conn {
            WriteConn::Tx(tx) => tx,
            WriteConn::Group(slot) => slot,
        }
    }
}

impl Write {
    /// After [`Lock::TakingLicence`]: the licence fault when the new
    /// mailbox is one more than the domain's licences of `svc`.
    pub(crate) fn check_licence(&self, dom: &DomainRow, svc: Service) -> Result<()> {
        let (used, max) = self
            .licence
            .ok_or_else(|| internal("check_licence without Lock::TakingLicence"))?;
        if used <= max {
            return Ok(());
        }
        Err(Error::mailbox_limit(rules::limit_details(
            &dom.name,
            svc,
            used - 1,
            max,
        )))
    }

    /// Ends the write's work with `value` as its answer and this audit log
    /// entry.
    pub(crate) fn logged<T>(
        self,
        value: T,
        action: impl Into<String>,
        target: impl Into<String>,
        detail: serde_json::Value,
    ) -> Done<T> {
        let entry = audit::Entry {
            action: action.into(),
            target: target.into(),
            detail,
        };
        Done {
            write: self,
            value,
            entry: Some(entry),
        }
    }

    /// Ends the write's work with `value`, logging nothing (it changed
    /// nothing).
    pub(crate) fn unlogged<T>(self, value: T) -> Done<T> {
        Done {
            write: self,
            value,
            entry: None,
        }
    }
}

/// A write's work done: the write, its answer and its audit log entry,
/// for `write_in_domain` to log and commit.
pub(crate) struct Done<T> {
    write: Write,
    value: T,
    entry: Option<audit::Entry>,
}

/// Runs one write in `dom`: begins a transaction (on PostgreSQL) or takes
/// its place in the SQLite writer's batch (`group`), takes the domain's
/// lock, runs `op`, writes its audit log entry (as `actor`), and commits
/// (answering once its work is committed, with the batch on SQLite). The
/// whole is retried while the database answers with a retryable error
/// (serialization failure, SQLite busy, a failed batch), by the one rule
/// of [`retry_after`]; `op` runs again from the start each time.
///
/// `op` owns the [`Write`] and hands it back in [`Done`] (made with
/// [`Write::logged`] or [`Write::unlogged`]): a closure that borrowed it
/// instead would make every handler's future lose `Send`.
pub(crate) async fn write_in_domain<T, F, Fut>(
    db: &Db,
    actor: &Actor,
    dom: &DomainRow,
    op: F,
) -> Result<T>
where
    F: FnMut(Write) -> Fut,
    Fut: std::future::Future<Output = Result<Done<T>>>,
{
    write_locking(db, actor, dom, Lock::Domain, op).await
}

/// [`write_in_domain`] whose first statement is `lock` (the domain lock
/// and, for a mailbox create, its licence in the same statement).
pub(crate) async fn write_locking<T, F, Fut>(
    db: &Db,
    actor: &Actor,
    dom: &DomainRow,
    lock: Lock,
    mut op: F,
) -> Result<T>
where
    F: FnMut(Write) -> Fut,
    Fut: std::future::Future<Output = Result<Done<T>>>,
{
    let mut attempt = 0u32;
    loop {
        match write_once(db, actor, dom, lock, &mut op).await {
            Err(e) if retry_after(&e, &mut attempt).await => {}
            other => return other,
        }
    }
}

async fn write_once<T, F, Fut>(
    db: &Db,
    actor: &Actor,
    dom: &DomainRow,
    lock: Lock,
    op: &mut F,
) -> Result<T>
where
    F: FnMut(Write) -> Fut,
    Fut: std::future::Future<Output = Result<Done<T>>>,
{
    // The lock is sent with the statement opening the write (SQLite's
    // batch: one hand-off to the database thread for both).
    let (sql, conn) = match &db.group {
        Some(g) => {
            let slot = g.enter().await?;
            (
                std::borrow::Cow::Owned(format!("{}{}", slot.opening(), lock.sql())),
                WriteConn::Group(slot),
            )
        }
        None => (
            std::borrow::Cow::Borrowed(lock.sql()),
            WriteConn::Tx(db.writer.begin().await?),
        ),
    };
    let mut write = Write {
        conn,
        licence: None,
    };
    // `fetch_all`: with the opening statement first, the row is not the
    // first result, which `fetch_optional` of the `Any` driver would take.
    let rows = sqlx::query(&sql)
        .bind(dom.id.clone())
        .fetch_all(&mut *write)
        .await?;
    let Some(row) = rows.first() else {
        return Err(Error::not_authorized("The domain no longer exists."));
    };
    if let Lock::TakingLicence(_) = lock {
        write.licence = Some((row.try_get("used")?, row.try_get("max")?));
    }
    let Done {
        mut write,
        value,
        entry,
    } = op(write).await?;
    let customer = Some(dom.customer_id.as_str());
    match write.conn {
        WriteConn::Tx(ref mut tx) => {
            if let Some(entry) = &entry {
                audit::record(tx, customer, actor, entry).await?;
            }
        }
        WriteConn::Group(ref mut slot) => {
            // The savepoint (if any) is released with the audit insert.
            let closing = slot.closing();
            match &entry {
                Some(entry) => audit::record_then(slot, customer, actor, entry, closing).await?,
                None if !closing.is_empty() => {
                    slot.execute(closing.trim_start_matches("; ")).await?;
                }
                None => {}
            }
        }
    }
    match write.conn {
        WriteConn::Tx(tx) => tx.commit().await?,
        WriteConn::Group(slot) => slot.finish().await?,
    }
    Ok(value)
}
