//! Storage and rules. Every write runs in one transaction whose first
//! statement bumps the domain's `lock_version` (the per-domain lock: a row
//! lock on PostgreSQL, the write lock on SQLite), so licence counts hold
//! under concurrency, also across several officed instances on one
//! PostgreSQL. Address uniqueness is the `addresses` primary key
//! `(customer_id, address_key)`, inserted with `ON CONFLICT DO NOTHING`:
//! exactly one of two racing inserts wins, the other gets the rule's fault.

use cloudoffice_api::forms::*;
use cloudoffice_api::types::*;
use cloudoffice_api::{messages, paths};
use serde_json::json;
use sqlx::{AnyConnection, Row};

use crate::db::{internal, retry, Db};
use crate::error::{Error, Result};
use crate::validate;

mod domain_admin;
pub use domain_admin::{
    alternate_add, alternate_list, alternate_remove, domain_add, domain_delete, domain_edit,
    domain_settings, AlternateKind, DomainChange, STORED_DOMAIN_FIELDS,
};

/// Deleted mailboxes stay recoverable this long.
pub const RECOVERY_WINDOW_MS: i64 = messages::RECOVERY_DAYS as i64 * 24 * 3600 * 1000;

/// Current time, unix milliseconds.
pub fn now_ms() -> i64 {
    (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64
}

fn rfc3339(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

fn new_id() -> String {
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

/// Paging and filter parameters of a list call, already validated.
#[derive(Debug, Clone, Default)]
pub struct Page {
    pub size: u32,
    pub offset: u32,
    /// `fields=`: documented extras asked for, by wire name.
    pub fields: Vec<String>,
    /// `enabled=true|false` (mailboxes).
    pub enabled: Option<bool>,
    /// `startswith=` or `contains=`.
    pub search: Option<Search>,
    /// Domain index `domainNames=`: only these (lower case).
    pub names: Vec<String>,
}

/// The documented index search: one of `startswith=` or `contains=`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Search {
    /// `startswith=`; `0-9` means "starts with a digit".
    StartsWith(String),
    Contains(String),
}

/// Escapes `%`, `_` and `\` for a `LIKE ... ESCAPE '\'` pattern.
fn like_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        if matches!(ch, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(ch);
    }
    out
}

impl Page {
    /// Validates a query: size 1..=250 (default 50), offset >= 0, at most
    /// one of `startswith`/`contains`, `enabled` a boolean.
    pub fn from_query(q: PageQuery) -> Result<Page> {
        let size = q.size.unwrap_or(paths::DEFAULT_PAGE_SIZE);
        if size == 0 || size > paths::MAX_PAGE_SIZE {
            return Err(Error::bad_request(
                format!("The page size {size} is invalid."),
                format!("size must be between 1 and {}.", paths::MAX_PAGE_SIZE),
            ));
        }
        let search = match (q.startswith, q.contains) {
            (Some(_), Some(_)) => {
                return Err(Error::bad_request(
                    "Only one of startswith and contains may be given.",
                    "The index search takes either ?startswith=xx or ?contains=xx, not both.",
                ))
            }
            (Some(s), None) => Some(Search::StartsWith(s)),
            (None, Some(c)) => Some(Search::Contains(c)),
            (None, None) => None,
        };
        let enabled = match q.enabled.as_deref() {
            None => None,
            Some(v) => Some(cloudoffice_api::lenient::parse_bool(v).ok_or_else(|| {
                Error::bad_request(
                    format!("Invalid value for enabled: {}", validate::printable(v)),
                    "enabled= takes true or false.",
                )
            })?),
        };
        let fields = q
            .fields
            .as_deref()
            .unwrap_or("")
            .split(',')
            .map(str::trim)
            .filter(|f| !f.is_empty())
            .map(str::to_string)
            .collect();
        let names = q
            .domain_names
            .as_deref()
            .unwrap_or("")
            .split(',')
            .map(|n| n.trim().to_ascii_lowercase())
            .filter(|n| !n.is_empty())
            .collect();
        Ok(Page {
            size,
            offset: q.offset.unwrap_or(0),
            fields,
            enabled,
            search,
            names,
        })
    }

    /// The filter as SQL conditions (each starting with ` AND `), with
    /// placeholders from `$next` on, and their values. `name_col` holds
    /// lower-case keys; `search_cols` are also searched (case-insensitively).
    pub fn filter_sql(
        &self,
        name_col: &str,
        search_cols: &[&str],
        enabled_col: Option<&str>,
        next: usize,
    ) -> (String, Vec<String>) {
        let mut sql = String::new();
        let mut binds = Vec::new();
        if let (Some(e), Some(col)) = (self.enabled, enabled_col) {
            sql.push_str(&format!(" AND {col} = {}", i64::from(e)));
        }
        match &self.search {
            Some(Search::StartsWith(s)) if s == "0-9" => {
                sql.push_str(&format!(" AND {name_col} >= '0' AND {name_col} < ':'"));
            }
            Some(search) => {
                let pattern = match search {
                    Search::StartsWith(w) => format!("{}%", like_escape(&w.to_lowercase())),
                    Search::Contains(w) => format!("%{}%", like_escape(&w.to_lowercase())),
                };
                let mut ors = vec![format!("{name_col} LIKE ${} ESCAPE '\\'", next)];
                for c in search_cols {
                    ors.push(format!("LOWER({c}) LIKE ${next} ESCAPE '\\'"));
                }
                sql.push_str(&format!(" AND ({})", ors.join(" OR ")));
                binds.push(pattern);
            }
            None => {}
        }
        (sql, binds)
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

/// Mailbox service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Svc {
    Ex,
    Rs,
}

impl Svc {
    pub fn code(self) -> &'static str {
        match self {
            Svc::Ex => "ex",
            Svc::Rs => "rs",
        }
    }
    pub fn label(self) -> &'static str {
        match self {
            Svc::Ex => messages::EXCHANGE_MAILBOXES,
            Svc::Rs => messages::RSEMAIL_MAILBOXES,
        }
    }
    fn kind(self) -> &'static str {
        match self {
            Svc::Ex => "ex_mailbox",
            Svc::Rs => "rs_mailbox",
        }
    }
    fn check_domain(self, d: &DomainRow) -> Result<()> {
        let ok = match self {
            Svc::Ex => d.service_type.has_exchange(),
            Svc::Rs => d.service_type.has_rsemail(),
        };
        if ok {
            Ok(())
        } else {
            Err(Error::not_authorized(format!(
                "The domain '{}' has no {} service.",
                d.name,
                match self {
                    Svc::Ex => "Hosted Exchange",
                    Svc::Rs => "Rackspace Email",
                }
            )))
        }
    }
}

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

/// The `contact_info` column: the shared contact fields (passive contact
/// fields in their `extra`) and, under `_passive`, the passive top-level
/// fields. Rows written before passive fields existed have no `_passive`.
fn stored_split(json: &str) -> Result<(ContactInfo, serde_json::Map<String, serde_json::Value>)> {
    let mut v: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(json).map_err(|e| internal(format!("contact_info: {e}")))?;
    let passive = match v.remove(PASSIVE_KEY) {
        Some(serde_json::Value::Object(m)) => m,
        _ => Default::default(),
    };
    let info = serde_json::from_value(serde_json::Value::Object(v))
        .map_err(|e| internal(format!("contact_info: {e}")))?;
    Ok((info, passive))
}

const PASSIVE_KEY: &str = "_passive";

fn stored_join(
    info: &ContactInfo,
    passive: &serde_json::Map<String, serde_json::Value>,
) -> Result<String> {
    let mut v = match serde_json::to_value(info).map_err(|e| internal(e.to_string()))? {
        serde_json::Value::Object(m) => m,
        _ => Default::default(),
    };
    if !passive.is_empty() {
        v.insert(
            PASSIVE_KEY.into(),
            serde_json::Value::Object(passive.clone()),
        );
    }
    serde_json::to_string(&v).map_err(|e| internal(e.to_string()))
}

/// Applies passive fields of an add or edit to the stored ones (an empty
/// string clears a field).
fn apply_passive(
    info: &mut ContactInfo,
    top: &mut serde_json::Map<String, serde_json::Value>,
    p: &Passive,
) {
    for (dst, src) in [(&mut info.extra, &p.contact), (top, &p.top)] {
        for (k, v) in src {
            if v.as_str() == Some("") {
                dst.remove(k);
            } else {
                dst.insert(k.clone(), v.clone());
            }
        }
    }
}

fn check_texts(input_texts: &[(&str, &Option<String>)], contact: &ContactInfo) -> Result<()> {
    for (f, v) in input_texts {
        if let Some(v) = v {
            validate::text_field(f, v)?;
        }
    }
    for f in CONTACT_INFO_FIELDS {
        if let Some(Some(v)) = contact.get(f) {
            validate::text_field(f, v)?;
        }
    }
    Ok(())
}

fn empty_none(v: &Option<String>) -> Option<String> {
    v.as_ref().filter(|s| !s.is_empty()).cloned()
}

// ---------------------------------------------------------------- helpers

async fn audit(
    c: &mut AnyConnection,
    customer_id: Option<&str>,
    actor: &Actor,
    action: &str,
    target: &str,
    detail: serde_json::Value,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO audit_log (id, at, customer_id, actor, action, target, detail) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(new_id())
    .bind(now_ms())
    .bind(customer_id.map(str::to_string))
    .bind(actor.0.clone())
    .bind(action.to_string())
    .bind(target.to_string())
    .bind(detail.to_string())
    .execute(c)
    .await?;
    Ok(())
}

async fn lock_domain(c: &mut AnyConnection, domain_id: &str) -> Result<()> {
    let n = sqlx::query("UPDATE domains SET lock_version = lock_version + 1 WHERE id = $1")
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

/// Inserts an address; `false` when the customer already uses it.
async fn insert_address(
    c: &mut AnyConnection,
    customer_id: &str,
    address: &str,
    domain_id: &str,
    owner_kind: &str,
    owner_id: &str,
    primary: bool,
) -> Result<bool> {
    let n = sqlx::query(
        "INSERT INTO addresses (customer_id, address_key, address, domain_id, owner_kind, owner_id, is_primary, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING",
    )
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

async fn owner_addresses(c: &mut AnyConnection, owner_id: &str) -> Result<Vec<(String, bool)>> {
    let rows = sqlx::query("SELECT address, is_primary FROM addresses WHERE owner_id = $1 ORDER BY is_primary DESC, address_key")
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

fn address_list(dom: &DomainRow, name: &str, stored: &[(String, bool)]) -> Vec<EmailAddressEntry> {
    let mut out = Vec::new();
    for (a, primary) in stored.iter().filter(|(_, p)| *p) {
        out.push(EmailAddressEntry {
            address: a.clone(),
            reply_to: *primary,
        });
    }
    for alias in &dom.aliases {
        out.push(EmailAddressEntry {
            address: format!("{name}@{alias}"),
            reply_to: false,
        });
    }
    for (a, _) in stored.iter().filter(|(_, p)| !*p) {
        out.push(EmailAddressEntry {
            address: a.clone(),
            reply_to: false,
        });
    }
    out
}

/// Checks an alternate address for an object in `dom`: must be valid, in
/// the primary domain or an accepted domain, never in a domain alias.
fn check_alternate(dom: &DomainRow, address: &str) -> Result<String> {
    let (_, d) = validate::address(address)?;
    let d = validate::key(&d);
    if dom.aliases.contains(&d) {
        return Err(Error::alternate_domain(format!(
            "'{address}' is in the domain alias '{d}': addresses in a domain alias are created automatically and cannot be added by hand."
        )));
    }
    if d != dom.name && !dom.accepted.contains(&d) {
        return Err(Error::alternate_domain(format!(
            "'{address}' is not in '{}' or its accepted domains ({}).",
            dom.name,
            if dom.accepted.is_empty() {
                "none".to_string()
            } else {
                dom.accepted.join(", ")
            }
        )));
    }
    Ok(d)
}

/// Domain id owning `domain_name` within the customer (primary or accepted).
async fn domain_id_by_name(c: &mut AnyConnection, customer_id: &str, name: &str) -> Result<String> {
    let row = sqlx::query("SELECT id FROM domains WHERE name = $1 AND customer_id = $2")
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

async fn count_i64(c: &mut AnyConnection, sql: &str, binds: &[&str]) -> Result<i64> {
    let mut q = sqlx::query(sql);
    for b in binds {
        q = q.bind(b.to_string());
    }
    let row = q.fetch_one(c).await?;
    Ok(row.try_get::<i64, _>(0)?)
}

// ---------------------------------------------------------------- customers and domains

fn domain_from_row(r: &sqlx::any::AnyRow) -> Result<DomainRow> {
    let st: String = r.try_get("service_type")?;
    Ok(DomainRow {
        id: r.try_get("id")?,
        customer_id: r.try_get("customer_id")?,
        account_number: r.try_get("account_number")?,
        name: r.try_get("name")?,
        service_type: ServiceType::parse(&st)
            .ok_or_else(|| internal(format!("bad service type {st}")))?,
        ex_licences: r.try_get("ex_licences")?,
        rs_licences: r.try_get("rs_licences")?,
        ex_used: r.try_get("ex_used")?,
        rs_used: r.try_get("rs_used")?,
        aliases: vec![],
        accepted: vec![],
    })
}

const DOMAIN_SELECT: &str = "SELECT d.id, d.customer_id, c.account_number, d.name, d.service_type, d.ex_licences, d.rs_licences, d.ex_used, d.rs_used \
     FROM domains d JOIN customers c ON c.id = d.customer_id";

async fn fill_domain(c: &mut AnyConnection, mut d: DomainRow) -> Result<DomainRow> {
    let rows = sqlx::query("SELECT name FROM domain_aliases WHERE domain_id = $1 ORDER BY name")
        .bind(d.id.clone())
        .fetch_all(&mut *c)
        .await?;
    d.aliases = rows
        .iter()
        .map(|r| r.try_get("name"))
        .collect::<Result<_, _>>()?;
    let rows = sqlx::query("SELECT name FROM accepted_domains WHERE domain_id = $1 ORDER BY name")
        .bind(d.id.clone())
        .fetch_all(&mut *c)
        .await?;
    d.accepted = rows
        .iter()
        .map(|r| r.try_get("name"))
        .collect::<Result<_, _>>()?;
    Ok(d)
}

/// The customer's domain `name`. A domain that does not exist and one of
/// another customer answer identically: 403 "Not authorized".
pub async fn customer_domain(db: &Db, customer_id: &str, name: &str) -> Result<DomainRow> {
    let mut c = db.pool.acquire().await?;
    let row = sqlx::query(&format!(
        "{DOMAIN_SELECT} WHERE d.name = $1 AND d.customer_id = $2"
    ))
    .bind(validate::key(name))
    .bind(customer_id.to_string())
    .fetch_optional(&mut *c)
    .await?;
    match row {
        Some(r) => fill_domain(&mut c, domain_from_row(&r)?).await,
        None => Err(Error::not_authorized(format!(
            "The domain '{}' is not a domain of this account.",
            validate::printable(name)
        ))),
    }
}

/// Any domain by name (admin use).
pub async fn domain_by_name(db: &Db, name: &str) -> Result<DomainRow> {
    let mut c = db.pool.acquire().await?;
    let row = sqlx::query(&format!("{DOMAIN_SELECT} WHERE d.name = $1"))
        .bind(validate::key(name))
        .fetch_optional(&mut *c)
        .await?;
    match row {
        Some(r) => fill_domain(&mut c, domain_from_row(&r)?).await,
        None => Err(Error::not_found(
            "Domain not found.",
            format!("No domain named '{}'.", validate::printable(name)),
        )),
    }
}

/// The wire form of a domain (with usage counts).
pub fn domain_wire(d: &DomainRow) -> Domain {
    Domain {
        name: d.name.clone(),
        account_number: d.account_number.clone(),
        service_type: d.service_type,
        exchange_max_num_mailboxes: d.ex_licences as u32,
        exchange_used_mailboxes: d.ex_used as u32,
        rs_email_max_number_mailboxes: d.rs_licences as u32,
        rs_email_used_mailboxes: d.rs_used as u32,
        aliases: d.aliases.clone(),
        accepted_domains: d.accepted.clone(),
        public_folders_enabled: false,
    }
}

/// One page of the customer's domains.
pub async fn list_domains(db: &Db, customer_id: &str, page: Page) -> Result<DomainList> {
    let (mut filter, mut binds) = page.filter_sql("d.name", &[], None, 2);
    if !page.names.is_empty() {
        let marks: Vec<String> = (0..page.names.len())
            .map(|i| format!("${}", 2 + binds.len() + i))
            .collect();
        filter.push_str(&format!(" AND d.name IN ({})", marks.join(", ")));
        binds.extend(page.names.iter().cloned());
    }
    let rows = {
        let mut c = db.pool.acquire().await?;
        let sql = format!(
            "{DOMAIN_SELECT} WHERE d.customer_id = $1{filter} ORDER BY d.name LIMIT {} OFFSET {}",
            page.size, page.offset
        );
        let mut q = sqlx::query(&sql).bind(customer_id.to_string());
        for b in &binds {
            q = q.bind(b.clone());
        }
        q.fetch_all(&mut *c).await?
    };
    let mut domains = Vec::new();
    for r in &rows {
        let mut c = db.pool.acquire().await?;
        let d = fill_domain(&mut c, domain_from_row(r)?).await?;
        drop(c);
        domains.push(domain_wire(&d));
    }
    let mut c = db.pool.acquire().await?;
    let mut args: Vec<&str> = vec![customer_id];
    args.extend(binds.iter().map(String::as_str));
    let total = count_i64(
        &mut c,
        &format!("SELECT COUNT(*) FROM domains d WHERE d.customer_id = $1{filter}"),
        &args,
    )
    .await?;
    Ok(DomainList {
        domains,
        offset: page.offset,
        size: page.size,
        total: total as u32,
    })
}

// ---------------------------------------------------------------- mailboxes

const MAILBOX_COLS: &str = "id, domain_id, service, name, display_name, first_name, last_name, initials, enabled, hidden, size_mb, usage_mb, contact_info, created_at, deleted_at, deleted_addresses";

#[derive(Debug, Clone)]
struct MailboxRow {
    id: String,
    name: String,
    display_name: String,
    first_name: Option<String>,
    last_name: Option<String>,
    initials: Option<String>,
    enabled: bool,
    hidden: bool,
    size_mb: i64,
    usage_mb: i64,
    contact: ContactInfo,
    passive: serde_json::Map<String, serde_json::Value>,
    created_at: i64,
    deleted_at: Option<i64>,
    deleted_addresses: Option<String>,
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

async fn find_mailbox(
    c: &mut AnyConnection,
    dom: &DomainRow,
    svc: Svc,
    name: &str,
) -> Result<Option<MailboxRow>> {
    let row = sqlx::query(&format!(
        "SELECT {MAILBOX_COLS} FROM mailboxes WHERE domain_id = $1 AND service = $2 AND name_key = $3 AND deleted_at IS NULL"
    ))
    .bind(dom.id.clone())
    .bind(svc.code().to_string())
    .bind(validate::key(name))
    .fetch_optional(c)
    .await?;
    row.as_ref().map(mailbox_from_row).transpose()
}

async fn require_mailbox(
    c: &mut AnyConnection,
    dom: &DomainRow,
    svc: Svc,
    name: &str,
) -> Result<MailboxRow> {
    if let Some(m) = find_mailbox(c, dom, svc, name).await? {
        return Ok(m);
    }
    // Say whether it can be recovered.
    let deleted = sqlx::query(
        "SELECT deleted_at FROM mailboxes WHERE domain_id = $1 AND service = $2 AND name_key = $3 AND deleted_at IS NOT NULL AND deleted_at > $4 ORDER BY deleted_at DESC LIMIT 1",
    )
    .bind(dom.id.clone())
    .bind(svc.code().to_string())
    .bind(validate::key(name))
    .bind(now_ms() - RECOVERY_WINDOW_MS)
    .fetch_optional(&mut *c)
    .await?;
    let details = match deleted {
        Some(r) => {
            let at: i64 = r.try_get("deleted_at")?;
            format!(
                "The mailbox '{}' was deleted at {}; it can be recovered until {} by adding it again with recoverDeleted=true.",
                validate::printable(name),
                rfc3339(at),
                rfc3339(at + RECOVERY_WINDOW_MS)
            )
        }
        None => format!(
            "No mailbox named '{}' in '{}'.",
            validate::printable(name),
            dom.name
        ),
    };
    Err(Error::not_found("Mailbox not found.", details))
}

async fn mailbox_wire(
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
    addresses: Vec<EmailAddressEntry>,
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
fn mailbox_answer(dom: &DomainRow, m: &MailboxRow, addrs: &[(String, bool)]) -> MailboxView {
    MailboxView {
        row: m.clone(),
        addresses: address_list(dom, &m.name, addrs),
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

/// `GET .../{ex,rs}/mailboxes/{name}`.
pub async fn mailbox_get(db: &Db, dom: &DomainRow, svc: Svc, name: &str) -> Result<MailboxView> {
    svc.check_domain(dom)?;
    let mut c = db.pool.acquire().await?;
    let m = require_mailbox(&mut c, dom, svc, name).await?;
    mailbox_wire(&mut c, dom, &m).await
}

/// The id of a live mailbox (404 `itemNotFoundFault` when there is none),
/// for the resources kept per mailbox (spam settings and lists).
pub async fn mailbox_id(db: &Db, dom: &DomainRow, svc: Svc, name: &str) -> Result<String> {
    svc.check_domain(dom)?;
    let mut c = db.pool.acquire().await?;
    Ok(require_mailbox(&mut c, dom, svc, name).await?.id)
}

/// How long a Rackspace Email login token lives (milliseconds).
pub const LOGIN_TOKEN_TTL_MS: i64 = 5 * 60 * 1000;

/// `POST .../rs/mailboxes/{name}/loginToken`: a new random token for the
/// mailbox (32 random bytes, hex). Only its SHA-256 hash is stored, with an
/// expiry; expired tokens are removed on the way.
pub async fn rs_login_token(db: &Db, dom: &DomainRow, name: &str) -> Result<String> {
    use rand::RngCore;
    use sha2::{Digest, Sha256};
    Svc::Rs.check_domain(dom)?;
    let mut raw = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut raw);
    let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
    let token = hex(&raw);
    let hash = hex(&Sha256::digest(token.as_bytes()));
    let now = now_ms();
    let mut c = db.pool.acquire().await?;
    let m = require_mailbox(&mut c, dom, Svc::Rs, name).await?;
    sqlx::query("DELETE FROM rs_login_tokens WHERE expires_at < $1")
        .bind(now)
        .execute(&mut *c)
        .await?;
    sqlx::query(
        "INSERT INTO rs_login_tokens (token_hash, mailbox_id, created_at, expires_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(hash)
    .bind(m.id.clone())
    .bind(now)
    .bind(now + LOGIN_TOKEN_TTL_MS)
    .execute(&mut *c)
    .await?;
    Ok(token)
}

/// One page of live mailboxes, filtered, without their addresses (list
/// items carry no addresses), and the filtered total.
pub async fn mailbox_list(
    db: &Db,
    dom: &DomainRow,
    svc: Svc,
    page: &Page,
) -> Result<(Vec<MailboxView>, u32)> {
    svc.check_domain(dom)?;
    let mut c = db.pool.acquire().await?;
    let (filter, binds) = page.filter_sql("name_key", &["display_name"], Some("enabled"), 3);
    let sql = format!(
        "SELECT {MAILBOX_COLS} FROM mailboxes WHERE domain_id = $1 AND service = $2 AND deleted_at IS NULL{filter} ORDER BY name_key LIMIT {} OFFSET {}",
        page.size, page.offset
    );
    let mut q = sqlx::query(&sql)
        .bind(dom.id.clone())
        .bind(svc.code().to_string());
    for b in &binds {
        q = q.bind(b.clone());
    }
    let rows = q.fetch_all(&mut *c).await?;
    let out = rows
        .iter()
        .map(|r| {
            mailbox_from_row(r).map(|row| MailboxView {
                row,
                addresses: Vec::new(),
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let mut args: Vec<&str> = vec![&dom.id, svc.code()];
    args.extend(binds.iter().map(String::as_str));
    let total = count_i64(
        &mut c,
        &format!("SELECT COUNT(*) FROM mailboxes WHERE domain_id = $1 AND service = $2 AND deleted_at IS NULL{filter}"),
        &args,
    )
    .await?;
    Ok((out, total as u32))
}

fn limit_details(dom: &DomainRow, svc: Svc, used: i64, max: i64) -> String {
    format!(
        "All {max} purchased {} licences of '{}' are in use ({used} mailboxes, disabled ones included). Add licences or remove a mailbox.",
        match svc {
            Svc::Ex => "Hosted Exchange",
            Svc::Rs => "Rackspace Email",
        },
        dom.name
    )
}

async fn take_licence(c: &mut AnyConnection, dom: &DomainRow, svc: Svc) -> Result<()> {
    // Counted under the domain's lock, against the licences as they are now
    // (an admin may have changed them since the domain row was read).
    let (used_col, max_col) = licence_columns(svc);
    let n = sqlx::query(&format!(
        "UPDATE domains SET {used_col} = {used_col} + 1 WHERE id = $1 AND {used_col} < {max_col}"
    ))
    .bind(dom.id.clone())
    .execute(&mut *c)
    .await?
    .rows_affected();
    if n == 1 {
        return Ok(());
    }
    let row = sqlx::query(&format!(
        "SELECT {used_col} AS used, {max_col} AS max FROM domains WHERE id = $1"
    ))
    .bind(dom.id.clone())
    .fetch_one(&mut *c)
    .await?;
    let (used, max): (i64, i64) = (row.try_get("used")?, row.try_get("max")?);
    Err(Error::mailbox_limit(limit_details(dom, svc, used, max)))
}

/// Gives back the licence of a deleted mailbox (same transaction as the delete).
async fn release_licence(c: &mut AnyConnection, dom: &DomainRow, svc: Svc) -> Result<()> {
    let (used_col, _) = licence_columns(svc);
    sqlx::query(&format!(
        "UPDATE domains SET {used_col} = {used_col} - 1 WHERE id = $1 AND {used_col} > 0"
    ))
    .bind(dom.id.clone())
    .execute(&mut *c)
    .await?;
    Ok(())
}

/// The domain's counter and licence columns of a service.
fn licence_columns(svc: Svc) -> (&'static str, &'static str) {
    match svc {
        Svc::Ex => ("ex_used", "ex_licences"),
        Svc::Rs => ("rs_used", "rs_licences"),
    }
}

/// `POST .../{ex,rs}/mailboxes/{name}`: creates a mailbox (or, with
/// `recoverDeleted=true`, recovers one deleted in the last 14 days).
pub async fn mailbox_create(
    db: &Db,
    actor: &Actor,
    dom: &DomainRow,
    svc: Svc,
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
        return retry(|| mailbox_recover(db, actor, dom, svc, name)).await;
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
        (None, Svc::Rs) => name.to_string(),
        (None, Svc::Ex) => {
            return Err(Error::bad_request(
                "Missing required field: displayName",
                "Give the mailbox a display name.",
            ))
        }
    };
    validate::display_name(&display)?;
    let size = input.size.unwrap_or(25_600);
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
    retry(|| async {
        let mut tx = db.writer.begin().await?;
        lock_domain(&mut tx, &dom.id).await?;
        let id = new_id();
        let primary = format!("{name}@{}", dom.name);
        if !insert_address(&mut tx, &dom.customer_id, &primary, &dom.id, svc.kind(), &id, true).await? {
            return Err(Error::exists(
                messages::user_exists_in_another_service(name, svc.label()),
                format!("The address '{primary}' is already used by a mailbox, alias, contact or distribution list."),
            ));
        }
        take_licence(&mut tx, dom, svc).await?;
        // The row as inserted: the answer is built from it, without reading
        // it back (each statement is a hand-off to the database thread).
        let m = MailboxRow {
            id: id.clone(),
            name: name.to_string(),
            display_name: display.clone(),
            first_name: empty_none(&input.first_name),
            last_name: empty_none(&input.last_name),
            initials: empty_none(&input.initials),
            enabled: input.enabled.unwrap_or(true),
            hidden: input.hidden.unwrap_or(false),
            size_mb: i64::from(size),
            usage_mb: 0,
            contact: contact.clone(),
            passive: passive.clone(),
            created_at: now_ms(),
            deleted_at: None,
            deleted_addresses: None,
        };
        sqlx::query(&format!(
            "INSERT INTO mailboxes ({MAILBOX_COLS}, name_key) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, NULL, NULL, $15)"
        ))
        .bind(m.id.clone())
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
        .bind(contact_json.clone())
        .bind(m.created_at)
        .bind(validate::key(name))
        .execute(&mut *tx)
        .await?;
        audit(
            &mut tx,
            Some(&dom.customer_id),
            actor,
            &format!("{}.create", svc.kind()),
            &primary,
            json!({"displayName": display, "size": size, "enabled": input.enabled.unwrap_or(true)}),
        )
        .await?;
        tx.commit().await?;
        Ok(mailbox_answer(dom, &m, &[(primary, true)]))
    })
    .await
}

async fn mailbox_recover(
    db: &Db,
    actor: &Actor,
    dom: &DomainRow,
    svc: Svc,
    name: &str,
) -> Result<MailboxView> {
    let mut tx = db.writer.begin().await?;
    lock_domain(&mut tx, &dom.id).await?;
    let row = sqlx::query(&format!(
        "SELECT {MAILBOX_COLS} FROM mailboxes WHERE domain_id = $1 AND service = $2 AND name_key = $3 AND deleted_at IS NOT NULL AND deleted_at > $4 ORDER BY deleted_at DESC LIMIT 1"
    ))
    .bind(dom.id.clone())
    .bind(svc.code().to_string())
    .bind(validate::key(name))
    .bind(now_ms() - RECOVERY_WINDOW_MS)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(row) = row else {
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
    let m = mailbox_from_row(&row)?;
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
    sqlx::query("UPDATE mailboxes SET deleted_at = NULL, deleted_addresses = NULL WHERE id = $1")
        .bind(m.id.clone())
        .execute(&mut *tx)
        .await?;
    audit(
        &mut tx,
        Some(&dom.customer_id),
        actor,
        &format!("{}.recover", svc.kind()),
        &format!("{}@{}", m.name, dom.name),
        json!({"deletedAt": m.deleted_at.map(rfc3339)}),
    )
    .await?;
    let m = require_mailbox(&mut tx, dom, svc, name).await?;
    let wire = mailbox_wire(&mut tx, dom, &m).await?;
    tx.commit().await?;
    Ok(wire)
}

/// The service-ID rule shared by every edit: an edit may repeat the object's
/// name (in any case) but never change it; renames are a separate,
/// permissioned operation.
fn keep_service_id(name: &str, requested: Option<&str>, details: &str) -> Result<()> {
    match requested {
        Some(n) if !n.eq_ignore_ascii_case(name) => Err(Error::bad_request(
            messages::service_id_cannot_change(name, n),
            details,
        )),
        _ => Ok(()),
    }
}

/// `PUT .../{ex,rs}/mailboxes/{name}`: changes the fields present. The
/// name (Service ID) cannot change here: see [`mailbox_rename`].
pub async fn mailbox_edit(
    db: &Db,
    actor: &Actor,
    dom: &DomainRow,
    svc: Svc,
    name: &str,
    input: &MailboxInput,
) -> Result<MailboxView> {
    svc.check_domain(dom)?;
    keep_service_id(name, input.name.as_deref(), "An edit cannot rename a mailbox; an administrator renames it with 'officed rename-mailbox' or POST .../mailboxes/NAME/rename with a key that has the rename permission.")?;
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
    retry(|| async {
        let mut tx = db.writer.begin().await?;
        lock_domain(&mut tx, &dom.id).await?;
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
        sqlx::query(
            "UPDATE mailboxes SET display_name = $1, first_name = $2, last_name = $3, initials = $4, enabled = $5, hidden = $6, size_mb = $7, contact_info = $8 WHERE id = $9",
        )
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
        audit(
            &mut tx,
            Some(&dom.customer_id),
            actor,
            &format!("{}.edit", svc.kind()),
            &format!("{}@{}", m.name, dom.name),
            serde_json::Value::Object(changed),
        )
        .await?;
        let wire = mailbox_wire(&mut tx, dom, &m).await?;
        tx.commit().await?;
        Ok(wire)
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
    svc: Svc,
    name: &str,
) -> Result<()> {
    svc.check_domain(dom)?;
    retry(|| async {
        let mut tx = db.writer.begin().await?;
        lock_domain(&mut tx, &dom.id).await?;
        let m = require_mailbox(&mut tx, dom, svc, name).await?;
        let addrs = owner_addresses(&mut tx, &m.id).await?;
        for (a, _) in &addrs {
            sqlx::query(
                "DELETE FROM ex_list_members WHERE member_key = $1 AND list_id IN (SELECT l.id FROM ex_lists l JOIN domains d ON d.id = l.domain_id WHERE d.customer_id = $2)",
            )
            .bind(validate::key(a))
            .bind(dom.customer_id.clone())
            .execute(&mut *tx)
            .await?;
        }
        sqlx::query("DELETE FROM addresses WHERE owner_id = $1")
            .bind(m.id.clone())
            .execute(&mut *tx)
            .await?;
        let now = now_ms();
        sqlx::query("UPDATE mailboxes SET deleted_at = $1, deleted_addresses = $2 WHERE id = $3")
            .bind(now)
            .bind(serde_json::to_string(&addrs).map_err(|e| internal(e.to_string()))?)
            .bind(m.id.clone())
            .execute(&mut *tx)
            .await?;
        release_licence(&mut tx, dom, svc).await?;
        // Purges the domain's mailboxes deleted before the recovery window.
        // Naming both services lets the live index find them by time
        // instead of visiting every mailbox of the domain.
        sqlx::query("DELETE FROM mailboxes WHERE domain_id = $1 AND service IN ('ex', 'rs') AND deleted_at IS NOT NULL AND deleted_at < $2")
            .bind(dom.id.clone())
            .bind(now - RECOVERY_WINDOW_MS)
            .execute(&mut *tx)
            .await?;
        audit(
            &mut tx,
            Some(&dom.customer_id),
            actor,
            &format!("{}.delete", svc.kind()),
            &format!("{}@{}", m.name, dom.name),
            json!({"recoverableUntil": rfc3339(now + RECOVERY_WINDOW_MS), "addresses": addrs.iter().map(|a| &a.0).collect::<Vec<_>>()}),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    })
    .await
}

/// Administrator rename of a mailbox (changes its Service ID and primary
/// address; alternates stay). Logged in the audit log.
pub async fn mailbox_rename(
    db: &Db,
    actor: &Actor,
    dom: &DomainRow,
    svc: Svc,
    name: &str,
    new_name: &str,
) -> Result<MailboxView> {
    svc.check_domain(dom)?;
    validate::local_part("mailbox", new_name)?;
    retry(|| async {
        let mut tx = db.writer.begin().await?;
        lock_domain(&mut tx, &dom.id).await?;
        let m = require_mailbox(&mut tx, dom, svc, name).await?;
        let old_primary = format!("{}@{}", m.name, dom.name);
        let new_primary = format!("{new_name}@{}", dom.name);
        if validate::key(&old_primary) != validate::key(&new_primary) {
            if !insert_address(
                &mut tx,
                &dom.customer_id,
                &new_primary,
                &dom.id,
                svc.kind(),
                &m.id,
                true,
            )
            .await?
            {
                return Err(Error::exists(
                    messages::user_exists_in_another_service(new_name, svc.label()),
                    format!("The address '{new_primary}' is already used."),
                ));
            }
            sqlx::query("DELETE FROM addresses WHERE customer_id = $1 AND address_key = $2")
                .bind(dom.customer_id.clone())
                .bind(validate::key(&old_primary))
                .execute(&mut *tx)
                .await?;
            sqlx::query(
                "UPDATE ex_list_members SET member_key = $1, member = $2 WHERE member_key = $3",
            )
            .bind(validate::key(&new_primary))
            .bind(new_primary.clone())
            .bind(validate::key(&old_primary))
            .execute(&mut *tx)
            .await?;
        } else {
            sqlx::query(
                "UPDATE addresses SET address = $1 WHERE customer_id = $2 AND address_key = $3",
            )
            .bind(new_primary.clone())
            .bind(dom.customer_id.clone())
            .bind(validate::key(&old_primary))
            .execute(&mut *tx)
            .await?;
        }
        sqlx::query("UPDATE mailboxes SET name = $1, name_key = $2 WHERE id = $3")
            .bind(new_name.to_string())
            .bind(validate::key(new_name))
            .bind(m.id.clone())
            .execute(&mut *tx)
            .await?;
        audit(
            &mut tx,
            Some(&dom.customer_id),
            actor,
            &format!("{}.rename", svc.kind()),
            &old_primary,
            json!({"from": m.name, "to": new_name}),
        )
        .await?;
        let m = require_mailbox(&mut tx, dom, svc, new_name).await?;
        let wire = mailbox_wire(&mut tx, dom, &m).await?;
        tx.commit().await?;
        Ok(wire)
    })
    .await
}

/// `GET .../ex/mailboxes/{name}/emailaddresses`.
pub async fn mailbox_addresses(db: &Db, dom: &DomainRow, name: &str) -> Result<EmailAddressList> {
    let m = mailbox_get(db, dom, Svc::Ex, name).await?;
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
) -> Result<EmailAddressList> {
    Svc::Ex.check_domain(dom)?;
    let addr_domain = check_alternate(dom, address)?;
    retry(|| async {
        let mut tx = db.writer.begin().await?;
        lock_domain(&mut tx, &dom.id).await?;
        let m = require_mailbox(&mut tx, dom, Svc::Ex, name).await?;
        // Most alternates are in the mailbox's own domain, locked above.
        let did = if addr_domain.eq_ignore_ascii_case(&dom.name) {
            dom.id.clone()
        } else {
            domain_id_by_name(&mut tx, &dom.customer_id, &addr_domain).await?
        };
        if !insert_address(&mut tx, &dom.customer_id, address, &did, Svc::Ex.kind(), &m.id, false).await? {
            return Err(Error::exists(
                messages::address_in_use(address),
                "Another mailbox, alias, contact or distribution list of this account already has this address.",
            ));
        }
        audit(
            &mut tx,
            Some(&dom.customer_id),
            actor,
            "ex_mailbox.address.add",
            &format!("{}@{}", m.name, dom.name),
            json!({"address": address}),
        )
        .await?;
        let addrs = owner_addresses(&mut tx, &m.id).await?;
        tx.commit().await?;
        Ok(EmailAddressList {
            email_address_list: address_list(dom, &m.name, &addrs),
        })
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
    Svc::Ex.check_domain(dom)?;
    retry(|| async {
        let mut tx = db.writer.begin().await?;
        lock_domain(&mut tx, &dom.id).await?;
        let m = require_mailbox(&mut tx, dom, Svc::Ex, name).await?;
        let row = sqlx::query("SELECT is_primary FROM addresses WHERE customer_id = $1 AND address_key = $2 AND owner_id = $3")
            .bind(dom.customer_id.clone())
            .bind(validate::key(address))
            .bind(m.id.clone())
            .fetch_optional(&mut *tx)
            .await?;
        match row {
            None => {
                return Err(Error::not_found(
                    "Email address not found.",
                    format!("'{}' is not an alternate address of '{}'.", validate::printable(address), m.name),
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
        sqlx::query("DELETE FROM addresses WHERE customer_id = $1 AND address_key = $2")
            .bind(dom.customer_id.clone())
            .bind(validate::key(address))
            .execute(&mut *tx)
            .await?;
        audit(
            &mut tx,
            Some(&dom.customer_id),
            actor,
            "ex_mailbox.address.remove",
            &format!("{}@{}", m.name, dom.name),
            json!({"address": address}),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    })
    .await
}

// ---------------------------------------------------------------- Rackspace Email aliases

fn parse_targets(s: &str) -> Result<Vec<String>> {
    let mut out: Vec<String> = Vec::new();
    for t in s.split(',').map(str::trim).filter(|t| !t.is_empty()) {
        validate::address(t)?;
        if !out.iter().any(|o| o.eq_ignore_ascii_case(t)) {
            out.push(t.to_string());
        }
    }
    if out.is_empty() {
        return Err(Error::bad_request(
            "An alias must point to a valid email address.",
            "Give one or more comma-separated addresses in aliasEmails.",
        ));
    }
    if out.len() > 4000 {
        return Err(Error::bad_request(
            "Too many alias addresses.",
            "An alias forwards to at most 4000 addresses.",
        ));
    }
    Ok(out)
}

/// External (non-local) targets an alias may have, as documented.
pub const MAX_EXTERNAL_ALIAS_TARGETS: usize = 4;

/// The Alias page's checks: a target in one of the customer's domains must
/// exist there; at most four targets are outside them.
async fn check_alias_targets(
    c: &mut AnyConnection,
    dom: &DomainRow,
    targets: &[String],
) -> Result<()> {
    let mut missing = Vec::new();
    let mut external = 0;
    for t in targets {
        let domain = t
            .rsplit_once('@')
            .map(|(_, d)| d.to_ascii_lowercase())
            .unwrap_or_default();
        let local = count_i64(
            &mut *c,
            "SELECT COUNT(*) FROM domains WHERE customer_id = $1 AND name = $2",
            &[&dom.customer_id, &domain],
        )
        .await?
            > 0;
        if !local {
            external += 1;
            continue;
        }
        let exists = count_i64(
            &mut *c,
            "SELECT COUNT(*) FROM addresses WHERE customer_id = $1 AND address_key = $2",
            &[&dom.customer_id, &validate::key(t)],
        )
        .await?
            > 0;
        if !exists {
            missing.push(t.clone());
        }
    }
    if !missing.is_empty() {
        return Err(Error::bad_request(
            format!(
                "An alias must point to a valid email address. The following email addresses do not exist: {}",
                missing.join(", ")
            ),
            "Targets in this account's domains must be existing mailboxes, contacts, lists or aliases.",
        ));
    }
    if external > MAX_EXTERNAL_ALIAS_TARGETS {
        return Err(Error::bad_request(
            "Max number of non-local email recipients reached.",
            format!("An alias forwards to at most {MAX_EXTERNAL_ALIAS_TARGETS} addresses outside this account's domains."),
        ));
    }
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
    Svc::Rs.check_domain(dom)?;
    validate::address(address)?;
    retry(|| async {
        let mut tx = db.writer.begin().await?;
        lock_domain(&mut tx, &dom.id).await?;
        let (id, alias) = find_alias(&mut tx, dom, name).await?;
        let mut targets = alias.email_address_list.email_address.clone();
        if !targets.iter().any(|t| t.eq_ignore_ascii_case(address)) {
            targets.push(address.to_string());
        }
        check_alias_targets(&mut tx, dom, &targets).await?;
        sqlx::query("UPDATE rs_aliases SET targets = $1 WHERE id = $2")
            .bind(serde_json::to_string(&targets).map_err(|e| internal(e.to_string()))?)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        audit(
            &mut tx,
            Some(&dom.customer_id),
            actor,
            "rs_alias.address.add",
            &format!("{}@{}", alias.name, dom.name),
            json!({"address": address}),
        )
        .await?;
        tx.commit().await?;
        Ok(())
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
    Svc::Rs.check_domain(dom)?;
    retry(|| async {
        let mut tx = db.writer.begin().await?;
        lock_domain(&mut tx, &dom.id).await?;
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
        sqlx::query("UPDATE rs_aliases SET targets = $1 WHERE id = $2")
            .bind(serde_json::to_string(&targets).map_err(|e| internal(e.to_string()))?)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        audit(
            &mut tx,
            Some(&dom.customer_id),
            actor,
            "rs_alias.address.remove",
            &format!("{}@{}", alias.name, dom.name),
            json!({"address": address}),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    })
    .await
}

async fn find_alias(
    c: &mut AnyConnection,
    dom: &DomainRow,
    name: &str,
) -> Result<(String, RsAlias)> {
    let row = sqlx::query(
        "SELECT id, name, targets FROM rs_aliases WHERE domain_id = $1 AND name_key = $2",
    )
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
    Svc::Rs.check_domain(dom)?;
    let mut c = db.pool.acquire().await?;
    let (filter, binds) = page.filter_sql("name_key", &[], None, 2);
    let sql = format!(
        "SELECT name, targets FROM rs_aliases WHERE domain_id = $1{filter} ORDER BY name_key LIMIT {} OFFSET {}",
        page.size, page.offset
    );
    let mut q = sqlx::query(&sql).bind(dom.id.clone());
    for b in &binds {
        q = q.bind(b.clone());
    }
    let rows = q.fetch_all(&mut *c).await?;
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
    let mut args: Vec<&str> = vec![&dom.id];
    args.extend(binds.iter().map(String::as_str));
    let total = count_i64(
        &mut c,
        &format!("SELECT COUNT(*) FROM rs_aliases WHERE domain_id = $1{filter}"),
        &args,
    )
    .await?;
    Ok(RsAliasList {
        aliases,
        offset: page.offset,
        size: page.size,
        total: total as u32,
    })
}

/// `GET .../rs/aliases/{alias}`.
pub async fn alias_get(db: &Db, dom: &DomainRow, name: &str) -> Result<RsAlias> {
    Svc::Rs.check_domain(dom)?;
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
    Svc::Rs.check_domain(dom)?;
    validate::local_part("alias", name)?;
    let targets = parse_targets(form.alias_emails.as_deref().unwrap_or(""))?;
    retry(|| async {
        let mut tx = db.writer.begin().await?;
        lock_domain(&mut tx, &dom.id).await?;
        let id = new_id();
        let primary = format!("{name}@{}", dom.name);
        if !insert_address(&mut tx, &dom.customer_id, &primary, &dom.id, "rs_alias", &id, true).await? {
            return Err(Error::exists(
                messages::object_exists_in_another_service("alias", name, messages::RSEMAIL_ALIASES),
                format!("The address '{primary}' is already used by a mailbox, alias, contact or distribution list."),
            ));
        }
        check_alias_targets(&mut tx, dom, &targets).await?;
        sqlx::query("INSERT INTO rs_aliases (id, domain_id, name, name_key, targets, created_at) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(id)
            .bind(dom.id.clone())
            .bind(name.to_string())
            .bind(validate::key(name))
            .bind(serde_json::to_string(&targets).map_err(|e| internal(e.to_string()))?)
            .bind(now_ms())
            .execute(&mut *tx)
            .await?;
        audit(&mut tx, Some(&dom.customer_id), actor, "rs_alias.create", &primary, json!({"aliasEmails": targets})).await?;
        tx.commit().await?;
        Ok(RsAlias {
            name: name.to_string(),
            email_address_list: targets.clone().into(),
        })
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
    Svc::Rs.check_domain(dom)?;
    let targets = parse_targets(form.alias_emails.as_deref().unwrap_or(""))?;
    retry(|| async {
        let mut tx = db.writer.begin().await?;
        lock_domain(&mut tx, &dom.id).await?;
        let (id, mut alias) = find_alias(&mut tx, dom, name).await?;
        check_alias_targets(&mut tx, dom, &targets).await?;
        sqlx::query("UPDATE rs_aliases SET targets = $1 WHERE id = $2")
            .bind(serde_json::to_string(&targets).map_err(|e| internal(e.to_string()))?)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        audit(
            &mut tx,
            Some(&dom.customer_id),
            actor,
            "rs_alias.edit",
            &format!("{}@{}", alias.name, dom.name),
            json!({"from": alias.email_address_list.email_address, "to": targets}),
        )
        .await?;
        tx.commit().await?;
        alias.email_address_list = targets.clone().into();
        Ok(alias)
    })
    .await
}

/// `DELETE .../rs/aliases/{alias}`.
pub async fn alias_delete(db: &Db, actor: &Actor, dom: &DomainRow, name: &str) -> Result<()> {
    Svc::Rs.check_domain(dom)?;
    retry(|| async {
        let mut tx = db.writer.begin().await?;
        lock_domain(&mut tx, &dom.id).await?;
        let (id, alias) = find_alias(&mut tx, dom, name).await?;
        sqlx::query("DELETE FROM addresses WHERE owner_id = $1")
            .bind(id.clone())
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM rs_aliases WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        audit(
            &mut tx,
            Some(&dom.customer_id),
            actor,
            "rs_alias.delete",
            &format!("{}@{}", alias.name, dom.name),
            json!({"aliasEmails": alias.email_address_list.email_address}),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    })
    .await
}

// ---------------------------------------------------------------- Exchange contacts

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
    passive: serde_json::Map<String, serde_json::Value>,
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

const CONTACT_COLS: &str =
    "id, name, display_name, first_name, last_name, external_email, hidden, contact_info";

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
    Svc::Ex.check_domain(dom)?;
    let mut c = db.pool.acquire().await?;
    let (filter, binds) = page.filter_sql("name_key", &["display_name", "external_email"], None, 2);
    let sql = format!(
        "SELECT {CONTACT_COLS} FROM ex_contacts WHERE domain_id = $1{filter} ORDER BY name_key LIMIT {} OFFSET {}",
        page.size, page.offset
    );
    let mut q = sqlx::query(&sql).bind(dom.id.clone());
    for b in &binds {
        q = q.bind(b.clone());
    }
    let rows = q.fetch_all(&mut *c).await?;
    let contacts = rows.iter().map(contact_from_row).collect::<Result<_>>()?;
    let mut args: Vec<&str> = vec![&dom.id];
    args.extend(binds.iter().map(String::as_str));
    let total = count_i64(
        &mut c,
        &format!("SELECT COUNT(*) FROM ex_contacts WHERE domain_id = $1{filter}"),
        &args,
    )
    .await?;
    Ok((contacts, total as u32))
}

/// `GET .../ex/contacts/{name}`.
pub async fn contact_get(db: &Db, dom: &DomainRow, name: &str) -> Result<ContactRow> {
    Svc::Ex.check_domain(dom)?;
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
    Svc::Ex.check_domain(dom)?;
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
    retry(|| async {
        let mut tx = db.writer.begin().await?;
        lock_domain(&mut tx, &dom.id).await?;
        let id = new_id();
        let primary = format!("{name}@{}", dom.name);
        if !insert_address(&mut tx, &dom.customer_id, &primary, &dom.id, "ex_contact", &id, true).await? {
            return Err(Error::exists(
                messages::object_exists_in_another_service("contact", name, messages::EXCHANGE_CONTACTS),
                format!("The address '{primary}' is already used by a mailbox, alias, contact or distribution list."),
            ));
        }
        sqlx::query(&format!(
            "INSERT INTO ex_contacts ({CONTACT_COLS}, domain_id, name_key, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
        ))
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
        audit(
            &mut tx,
            Some(&dom.customer_id),
            actor,
            "ex_contact.create",
            &primary,
            json!({"displayName": display, "externalEmail": external}),
        )
        .await?;
        let contact = find_contact(&mut tx, dom, name).await?;
        tx.commit().await?;
        Ok(contact)
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
    Svc::Ex.check_domain(dom)?;
    keep_service_id(
        name,
        form.name.as_deref(),
        "An edit cannot rename a contact.",
    )?;
    contact_texts(form)?;
    retry(|| async {
        let mut tx = db.writer.begin().await?;
        lock_domain(&mut tx, &dom.id).await?;
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
        sqlx::query(
            "UPDATE ex_contacts SET display_name = $1, first_name = $2, last_name = $3, external_email = $4, hidden = $5, contact_info = $6 WHERE id = $7",
        )
        .bind(ct.display_name.clone())
        .bind(ct.first_name.clone())
        .bind(ct.last_name.clone())
        .bind(ct.external_email.clone())
        .bind(i64::from(ct.hidden))
        .bind(stored_join(&ct.info, &ct.passive)?)
        .bind(ct.id.clone())
        .execute(&mut *tx)
        .await?;
        let detail = serde_json::to_value(form).unwrap_or_default();
        audit(&mut tx, Some(&dom.customer_id), actor, "ex_contact.edit", &format!("{}@{}", ct.name, dom.name), detail).await?;
        tx.commit().await?;
        Ok(ct)
    })
    .await
}

/// `DELETE .../ex/contacts/{name}`.
pub async fn contact_delete(db: &Db, actor: &Actor, dom: &DomainRow, name: &str) -> Result<()> {
    Svc::Ex.check_domain(dom)?;
    retry(|| async {
        let mut tx = db.writer.begin().await?;
        lock_domain(&mut tx, &dom.id).await?;
        let ct = find_contact(&mut tx, dom, name).await?;
        let id = ct.id.clone();
        let primary = format!("{}@{}", ct.name, dom.name);
        remove_member_everywhere(&mut tx, &dom.customer_id, &primary).await?;
        sqlx::query("DELETE FROM addresses WHERE owner_id = $1")
            .bind(id.clone())
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM ex_contacts WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        audit(
            &mut tx,
            Some(&dom.customer_id),
            actor,
            "ex_contact.delete",
            &primary,
            json!({}),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    })
    .await
}

async fn remove_member_everywhere(
    c: &mut AnyConnection,
    customer_id: &str,
    address: &str,
) -> Result<()> {
    sqlx::query(
        "DELETE FROM ex_list_members WHERE member_key = $1 AND list_id IN (SELECT l.id FROM ex_lists l JOIN domains d ON d.id = l.domain_id WHERE d.customer_id = $2)",
    )
    .bind(validate::key(address))
    .bind(customer_id.to_string())
    .execute(c)
    .await?;
    Ok(())
}

// ---------------------------------------------------------------- Exchange distribution lists

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

async fn find_list(
    c: &mut AnyConnection,
    dom: &DomainRow,
    name: &str,
) -> Result<(String, ListRow)> {
    let row = sqlx::query("SELECT id, name, display_name, hidden, extra FROM ex_lists WHERE domain_id = $1 AND name_key = $2")
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
    // "Each email address entry using the primary domain will result in a
    // corresponding entry for each domain alias" (v1 list model).
    let mut addresses = address_list(dom, &lname, &stored);
    for (a, _) in stored.iter().filter(|(_, p)| !*p) {
        if let Some((local, d)) = a.rsplit_once('@') {
            if d.eq_ignore_ascii_case(&dom.name) {
                for alias in &dom.aliases {
                    addresses.push(EmailAddressEntry {
                        address: format!("{local}@{alias}"),
                        reply_to: false,
                    });
                }
            }
        }
    }
    Ok((
        id,
        ListRow {
            addresses,
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
    let rows =
        sqlx::query("SELECT member FROM ex_list_members WHERE list_id = $1 ORDER BY member_key")
            .bind(list_id.to_string())
            .fetch_all(c)
            .await?;
    rows.iter().map(|r| Ok(r.try_get("member")?)).collect()
}

/// `GET .../ex/distributionlists`.
pub async fn list_list(db: &Db, dom: &DomainRow, page: &Page) -> Result<DistributionListList> {
    Svc::Ex.check_domain(dom)?;
    let mut c = db.pool.acquire().await?;
    let (filter, binds) = page.filter_sql("name_key", &["display_name"], None, 2);
    let sql = format!(
        "SELECT name, display_name FROM ex_lists WHERE domain_id = $1{filter} ORDER BY name_key LIMIT {} OFFSET {}",
        page.size, page.offset
    );
    let mut q = sqlx::query(&sql).bind(dom.id.clone());
    for b in &binds {
        q = q.bind(b.clone());
    }
    let rows = q.fetch_all(&mut *c).await?;
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
    let mut args: Vec<&str> = vec![&dom.id];
    args.extend(binds.iter().map(String::as_str));
    let total = count_i64(
        &mut c,
        &format!("SELECT COUNT(*) FROM ex_lists WHERE domain_id = $1{filter}"),
        &args,
    )
    .await?;
    Ok(DistributionListList {
        distribution_lists: lists,
        offset: page.offset,
        size: page.size,
        total: total as u32,
    })
}

/// `GET .../ex/distributionlists/{name}`.
pub async fn list_get(db: &Db, dom: &DomainRow, name: &str) -> Result<ListRow> {
    Svc::Ex.check_domain(dom)?;
    let mut c = db.pool.acquire().await?;
    Ok(find_list(&mut c, dom, name).await?.1)
}

async fn add_member(
    c: &mut AnyConnection,
    dom: &DomainRow,
    list_id: &str,
    list_name: &str,
    member: &str,
) -> Result<bool> {
    validate::address(member)?;
    let exists =
        sqlx::query("SELECT owner_id FROM addresses WHERE customer_id = $1 AND address_key = $2")
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
    let n = sqlx::query("INSERT INTO ex_list_members (list_id, member_key, member) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING")
        .bind(list_id.to_string())
        .bind(validate::key(member))
        .bind(member.to_string())
        .execute(c)
        .await?
        .rows_affected();
    Ok(n == 1)
}

/// What an edit asks for one entry: add or remove (`Update` of an entry
/// keeps it, adding it when missing).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ListAction {
    Add,
    Remove,
}

fn list_action(a: Option<&str>) -> Result<ListAction> {
    match a.map(|a| a.trim().to_ascii_lowercase()).as_deref() {
        None | Some("add" | "update") => Ok(ListAction::Add),
        Some("remove") => Ok(ListAction::Remove),
        Some(other) => Err(Error::validation(
            "Invalid value for field: Action",
            format!(
                "Action must be 'Add', 'Update' or 'Remove', not '{}'.",
                validate::printable(other)
            ),
        )),
    }
}

/// Applies `Add`/`Remove` entries to a set of addresses (case-insensitive).
fn apply_actions(
    set: &mut Vec<String>,
    entries: &[(Option<&str>, &str)],
    what: &str,
) -> Result<()> {
    for (action, value) in entries {
        validate::address(value)?;
        let key = validate::key(value);
        let pos = set.iter().position(|s| validate::key(s) == key);
        match (list_action(*action)?, pos) {
            (ListAction::Add, None) => set.push((*value).to_string()),
            (ListAction::Add, Some(_)) => {}
            (ListAction::Remove, Some(i)) => {
                set.remove(i);
            }
            (ListAction::Remove, None) => {
                return Err(Error::not_found(
                    format!("{what} not found."),
                    format!("'{}' is not in the list.", validate::printable(value)),
                ))
            }
        }
    }
    Ok(())
}

fn check_list_body(body: &DistributionListBody) -> Result<()> {
    if let Some(d) = &body.display_name {
        validate::display_name(d)?;
    }
    if let Some(d) = &body.description {
        validate::text_field("Description", d)?;
    }
    for a in body.email_addresses.iter().flatten() {
        if let Some(p) = &a.address_protocol {
            if !p.eq_ignore_ascii_case("smtp") {
                return Err(Error::validation(
                    "Invalid value for field: AddressProtocol",
                    "officed keeps smtp addresses only.",
                ));
            }
        }
    }
    if body.members.as_ref().is_some_and(|m| m.len() > 10_000) {
        return Err(Error::bad_request(
            "Too many members.",
            "A list has at most 10000 members.",
        ));
    }
    for m in body.accept_messages_only_from.iter().flatten() {
        validate::address(&m.value)?;
    }
    Ok(())
}

/// Replaces a list's alternate addresses with `alternates` (checked).
async fn set_list_alternates(
    tx: &mut AnyConnection,
    dom: &DomainRow,
    id: &str,
    alternates: &[String],
) -> Result<()> {
    sqlx::query("DELETE FROM addresses WHERE owner_id = $1 AND is_primary = 0")
        .bind(id.to_string())
        .execute(&mut *tx)
        .await?;
    for a in alternates {
        let d = check_alternate(dom, a)?;
        let did = domain_id_by_name(&mut *tx, &dom.customer_id, &d).await?;
        if !insert_address(&mut *tx, &dom.customer_id, a, &did, "ex_list", id, false).await? {
            return Err(Error::exists(
                messages::address_in_use(a),
                "Another mailbox, alias, contact or distribution list of this account already has this address.",
            ));
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
    Svc::Ex.check_domain(dom)?;
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
    retry(|| async {
        let mut tx = db.writer.begin().await?;
        lock_domain(&mut tx, &dom.id).await?;
        let id = new_id();
        if !insert_address(&mut tx, &dom.customer_id, &primary, &dom.id, "ex_list", &id, true).await? {
            return Err(Error::exists(
                messages::group_exists_in_another_service(name),
                format!("The address '{primary}' is already used by a mailbox, alias, contact or distribution list."),
            ));
        }
        sqlx::query("INSERT INTO ex_lists (id, domain_id, name, name_key, display_name, hidden, created_at, extra) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)")
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
        set_list_alternates(&mut tx, dom, &id, &alternates).await?;
        for m in body.members.iter().flatten() {
            add_member(&mut tx, dom, &id, name, &m.value).await?;
        }
        audit(&mut tx, Some(&dom.customer_id), actor, "ex_list.create", &primary, serde_json::to_value(body).unwrap_or_default())
            .await?;
        let (_, l) = find_list(&mut tx, dom, name).await?;
        tx.commit().await?;
        Ok(l)
    })
    .await
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
    Svc::Ex.check_domain(dom)?;
    check_list_body(body)?;
    retry(|| async {
        let mut tx = db.writer.begin().await?;
        lock_domain(&mut tx, &dom.id).await?;
        let (id, l) = find_list(&mut tx, dom, name).await?;
        let primary = format!("{}@{}", l.name, dom.name);
        let mut extra = l.extra.clone();
        if let Some(d) = &body.description {
            extra.description = Some(d.clone()).filter(|d| !d.is_empty());
        }
        if let Some(entries) = &body.accept_messages_only_from {
            let e: Vec<(Option<&str>, &str)> = entries.iter().map(|m| (m.action.as_deref(), m.value.as_str())).collect();
            apply_actions(&mut extra.accept_from, &e, "Sender")?;
        }
        sqlx::query("UPDATE ex_lists SET display_name = $1, hidden = $2, extra = $3 WHERE id = $4")
            .bind(body.display_name.clone().unwrap_or(l.display_name.clone()))
            .bind(i64::from(body.is_hidden.unwrap_or(l.hidden)))
            .bind(serde_json::to_string(&extra).map_err(|e| internal(e.to_string()))?)
            .bind(id.clone())
            .execute(&mut *tx)
            .await?;
        if let Some(entries) = &body.email_addresses {
            let mut alternates: Vec<String> = l.stored.iter().filter(|(_, p)| !p).map(|(a, _)| a.clone()).collect();
            for a in entries {
                let v = a.value.trim();
                let derived = l.addresses.iter().any(|e| e.address.eq_ignore_ascii_case(v))
                    && !alternates.iter().any(|x| x.eq_ignore_ascii_case(v));
                if v.eq_ignore_ascii_case(&primary) || derived {
                    return Err(Error::bad_request(
                        "The address cannot be changed.",
                        format!("'{}' is the list's primary address or one of its domain-alias addresses: those follow the list and cannot be added or removed.", validate::printable(v)),
                    ));
                }
            }
            let e: Vec<(Option<&str>, &str)> = entries.iter().map(|a| (a.action.as_deref(), a.value.trim())).collect();
            apply_actions(&mut alternates, &e, "Email address")?;
            set_list_alternates(&mut tx, dom, &id, &alternates).await?;
        }
        if let Some(entries) = &body.members {
            let mut members = l.members.clone();
            let e: Vec<(Option<&str>, &str)> = entries.iter().map(|m| (m.action.as_deref(), m.value.as_str())).collect();
            apply_actions(&mut members, &e, "Member")?;
            sqlx::query("DELETE FROM ex_list_members WHERE list_id = $1").bind(id.clone()).execute(&mut *tx).await?;
            for m in &members {
                add_member(&mut tx, dom, &id, name, m).await?;
            }
        }
        audit(
            &mut tx,
            Some(&dom.customer_id),
            actor,
            "ex_list.edit",
            &primary,
            serde_json::to_value(body).unwrap_or_default(),
        )
        .await?;
        let (_, l) = find_list(&mut tx, dom, name).await?;
        tx.commit().await?;
        Ok(l)
    })
    .await
}

/// `DELETE .../ex/distributionlists/{name}`.
pub async fn list_delete(db: &Db, actor: &Actor, dom: &DomainRow, name: &str) -> Result<()> {
    Svc::Ex.check_domain(dom)?;
    retry(|| async {
        let mut tx = db.writer.begin().await?;
        lock_domain(&mut tx, &dom.id).await?;
        let (id, l) = find_list(&mut tx, dom, name).await?;
        for a in &l.addresses {
            remove_member_everywhere(&mut tx, &dom.customer_id, &a.address).await?;
        }
        sqlx::query("DELETE FROM ex_list_members WHERE list_id = $1")
            .bind(id.clone())
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM addresses WHERE owner_id = $1")
            .bind(id.clone())
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM ex_lists WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        audit(
            &mut tx,
            Some(&dom.customer_id),
            actor,
            "ex_list.delete",
            &format!("{}@{}", l.name, dom.name),
            json!({"members": l.members}),
        )
        .await?;
        tx.commit().await?;
        Ok(())
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
    Svc::Ex.check_domain(dom)?;
    retry(|| async {
        let mut tx = db.writer.begin().await?;
        lock_domain(&mut tx, &dom.id).await?;
        let (id, l) = find_list(&mut tx, dom, name).await?;
        if add_member(&mut tx, dom, &id, &l.name, member).await? {
            audit(
                &mut tx,
                Some(&dom.customer_id),
                actor,
                "ex_list.member.add",
                &format!("{}@{}", l.name, dom.name),
                json!({"member": member}),
            )
            .await?;
        }
        let members = list_members(&mut tx, &id).await?;
        tx.commit().await?;
        Ok(MemberList { members })
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
    Svc::Ex.check_domain(dom)?;
    retry(|| async {
        let mut tx = db.writer.begin().await?;
        lock_domain(&mut tx, &dom.id).await?;
        let (id, l) = find_list(&mut tx, dom, name).await?;
        let n = sqlx::query("DELETE FROM ex_list_members WHERE list_id = $1 AND member_key = $2")
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
        audit(
            &mut tx,
            Some(&dom.customer_id),
            actor,
            "ex_list.member.remove",
            &format!("{}@{}", l.name, dom.name),
            json!({"member": member}),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    })
    .await
}
