//! Domains: reading a customer's domain (the scope of every other
//! resource), the domain index, and the per-service licence counters that
//! mailbox creates and deletes move under the domain's lock.

use cloudoffice_api::types::{Domain, DomainList, ServiceType};
use sqlx::{AnyConnection, Row};

use super::rules::{licence_columns, limit_details};
use super::{count_i64, DomainRow, Page, Service};
use crate::db::{internal, Db};
use crate::error::{Error, Result};
use crate::validate;

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

const DOMAIN_SELECT: &str = "SELECT d.id, d.customer_id, c.account_number, d.name, \
     d.service_type, d.ex_licences, d.rs_licences, d.ex_used, d.rs_used \
     FROM domains d JOIN customers c ON c.id = d.customer_id";
/// A domain's aliases (`a`) and accepted domains (`c`), in one statement:
/// every request resolves its domain, and each statement is a round trip.
const ALTERNATE_NAMES: &str = "SELECT 'a' AS kind, name FROM domain_aliases WHERE domain_id = $1 \
     UNION ALL SELECT 'c' AS kind, name FROM accepted_domains WHERE domain_id = $1 \
     ORDER BY kind, name";

async fn fill_domain(c: &mut AnyConnection, mut d: DomainRow) -> Result<DomainRow> {
    let rows = sqlx::query(ALTERNATE_NAMES)
        .bind(d.id.clone())
        .fetch_all(&mut *c)
        .await?;
    for r in &rows {
        let name: String = r.try_get("name")?;
        if r.try_get::<String, _>("kind")? == "a" {
            d.aliases.push(name);
        } else {
            d.accepted.push(name);
        }
    }
    Ok(d)
}

/// The customer's domain `$1` with its aliases and accepted domains, in one
/// statement (every request resolves its domain): a row for the domain
/// (`kind` `d`) and one per alias (`a`) and accepted domain (`c`), each
/// carrying the domain's columns.
const CUSTOMER_DOMAIN: &str = "SELECT d.id, d.customer_id, c.account_number, d.name, \
     d.service_type, d.ex_licences, d.rs_licences, d.ex_used, d.rs_used, 'd' AS kind, d.name AS alt \
     FROM domains d JOIN customers c ON c.id = d.customer_id \
     WHERE d.name = $1 AND d.customer_id = $2 \
     UNION ALL SELECT d.id, d.customer_id, c.account_number, d.name, \
     d.service_type, d.ex_licences, d.rs_licences, d.ex_used, d.rs_used, 'a' AS kind, x.name AS alt \
     FROM domains d JOIN customers c ON c.id = d.customer_id \
     JOIN domain_aliases x ON x.domain_id = d.id \
     WHERE d.name = $1 AND d.customer_id = $2 \
     UNION ALL SELECT d.id, d.customer_id, c.account_number, d.name, \
     d.service_type, d.ex_licences, d.rs_licences, d.ex_used, d.rs_used, 'c' AS kind, x.name AS alt \
     FROM domains d JOIN customers c ON c.id = d.customer_id \
     JOIN accepted_domains x ON x.domain_id = d.id \
     WHERE d.name = $1 AND d.customer_id = $2 \
     ORDER BY kind, alt";

/// The customer's domain `name`. A domain that does not exist and one of
/// another customer answer identically: 403 "Not authorized".
pub async fn customer_domain(db: &Db, customer_id: &str, name: &str) -> Result<DomainRow> {
    let mut c = db.reader().await?;
    let rows = sqlx::query(CUSTOMER_DOMAIN)
        .bind(validate::key(name))
        .bind(customer_id.to_string())
        .fetch_all(&mut *c)
        .await;
    c.settled(&rows);
    domain_from_rows(&rows?)?.ok_or_else(|| not_customers(name))
}

/// The fault for a domain that is not the customer's (or does not exist).
pub(crate) fn not_customers(name: &str) -> Error {
    Error::not_authorized(format!(
        "The domain '{}' is not a domain of this account.",
        validate::printable(name)
    ))
}

/// A domain from the rows of [`CUSTOMER_DOMAIN`] or `admin`'s key lookup
/// with its domain: the domain's columns (`id` NULL or no row: none), and
/// one row per alias (`kind` `a`) or accepted domain (`c`) named `alt`.
pub(crate) fn domain_from_rows(rows: &[sqlx::any::AnyRow]) -> Result<Option<DomainRow>> {
    let Some(first) = rows.first() else {
        return Ok(None);
    };
    if first.try_get::<Option<String>, _>("id")?.is_none() {
        return Ok(None);
    }
    let mut d = domain_from_row(first)?;
    for r in rows {
        let (Some(kind), Some(alt)) = (
            r.try_get::<Option<String>, _>("kind")?,
            r.try_get::<Option<String>, _>("alt")?,
        ) else {
            continue;
        };
        match kind.as_str() {
            "a" => d.aliases.push(alt),
            "c" => d.accepted.push(alt),
            _ => {}
        }
    }
    Ok(Some(d))
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

/// Counts one more mailbox of `svc`, or answers the licence fault when all
/// are in use. Counted under the domain's lock, against the licences as
/// they are now (an admin may have changed them since the domain row was
/// read).
pub(crate) async fn take_licence(
    c: &mut AnyConnection,
    dom: &DomainRow,
    svc: Service,
) -> Result<()> {
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
    Err(Error::mailbox_limit(limit_details(
        &dom.name, svc, used, max,
    )))
}

/// Gives back the licence of a deleted mailbox (same transaction as the delete).
pub(crate) async fn release_licence(
    c: &mut AnyConnection,
    dom: &DomainRow,
    svc: Service,
) -> Result<()> {
    let (used_col, _) = licence_columns(svc);
    sqlx::query(&format!(
        "UPDATE domains SET {used_col} = {used_col} - 1 WHERE id = $1 AND {used_col} > 0"
    ))
    .bind(dom.id.clone())
    .execute(&mut *c)
    .await?;
    Ok(())
}
