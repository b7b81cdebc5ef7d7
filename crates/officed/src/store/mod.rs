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
pub mod lists;
pub mod mailboxes;
pub mod page;
pub mod rules;
pub mod spam;
pub mod tokens;

use cloudoffice_api::messages;
use cloudoffice_api::types::{ListItem, ServiceType};
use sqlx::{AnyConnection, Row};

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
pub use mailboxes::{
    mailbox_create, mailbox_delete, mailbox_edit, mailbox_get, mailbox_id, mailbox_list,
    mailbox_rename, MailboxInput, MailboxView, RECOVERY_WINDOW_MS,
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

const LOCK_DOMAIN: &str = "UPDATE domains SET lock_version = lock_version + 1 WHERE id = $1";

/// Takes the per-domain lock (first statement of every write).
async fn lock_domain(c: &mut AnyConnection, domain_id: &str) -> Result<()> {
    let n = sqlx::query(LOCK_DOMAIN)
        .bind(domain_id.to_string())
        .execute(c)
        .await?
        .rows_affected();
    if n == 1 {
        Ok(())
    } else {
        Err(Error::not_authorized("The domain no longer exists."))
    }
}

/// One write in progress in a domain: its transaction, holding the
/// domain's lock. Dereferences to the connection, so the store's helpers
/// take `&mut tx` and queries run on `&mut *tx`.
pub(crate) struct Write {
    tx: sqlx::Transaction<'static, sqlx::Any>,
}

impl std::ops::Deref for Write {
    type Target = AnyConnection;
    fn deref(&self) -> &AnyConnection {
        &self.tx
    }
}

impl std::ops::DerefMut for Write {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        &mut self.tx
    }
}

impl Write {
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

/// Runs one write in `dom`: begins a transaction on the writer pool, takes
/// the domain's lock, runs `op`, writes its audit log entry (as `actor`),
/// and commits. The whole is retried while the database answers with a
/// retryable error (serialization failure, SQLite busy), by the one rule
/// of [`retry_after`]; `op` runs again from the start each time.
///
/// `op` owns the [`Write`] and hands it back in [`Done`] (made with
/// [`Write::logged`] or [`Write::unlogged`]): a closure that borrowed it
/// instead would make every handler's future lose `Send`.
pub(crate) async fn write_in_domain<T, F, Fut>(
    db: &Db,
    actor: &Actor,
    dom: &DomainRow,
    mut op: F,
) -> Result<T>
where
    F: FnMut(Write) -> Fut,
    Fut: std::future::Future<Output = Result<Done<T>>>,
{
    let mut attempt = 0u32;
    loop {
        match write_once(db, actor, dom, &mut op).await {
            Err(e) if retry_after(&e, &mut attempt).await => {}
            other => return other,
        }
    }
}

async fn write_once<T, F, Fut>(db: &Db, actor: &Actor, dom: &DomainRow, op: &mut F) -> Result<T>
where
    F: FnMut(Write) -> Fut,
    Fut: std::future::Future<Output = Result<Done<T>>>,
{
    let mut write = Write {
        tx: db.writer.begin().await?,
    };
    lock_domain(&mut write, &dom.id).await?;
    let mut done = op(write).await?;
    if let Some(entry) = &done.entry {
        audit::record(&mut done.write, Some(&dom.customer_id), actor, entry).await?;
    }
    done.write.tx.commit().await?;
    Ok(done.value)
}
