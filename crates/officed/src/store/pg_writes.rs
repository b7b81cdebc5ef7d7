//! The API's two most frequent writes on PostgreSQL, mailbox create and
//! alternate-address add, each as one statement in its own (implicit)
//! transaction: one round trip instead of `write_in_domain`'s six
//! (`BEGIN`, lock, insert, insert, audit, `COMMIT`) and the pool's ping.
//!
//! Why it holds the same rules: each statement is a data-modifying `WITH`
//! whose first part takes the domain's row lock (`FOR NO KEY UPDATE`, the
//! lock `write_in_domain`'s `UPDATE domains` takes), and every change in it
//! depends on the checks before it, so a statement either does the whole
//! write or nothing:
//! - create: the address is inserted only while the locked domain has a
//!   licence free (`ON CONFLICT DO NOTHING`: the `addresses` key decides a
//!   race, as in the general path); the mailbox, the licence count and the
//!   audit entry only when the address was inserted.
//! - address add: the mailbox is read `FOR SHARE` after the domain lock is
//!   held (its row as committed then, not as when the statement began: a
//!   mailbox deleted or renamed meanwhile is not found); the address and
//!   the audit entry only when it was found and the address inserted.
//!
//! When a statement does nothing (no licence, address in use, no such
//! mailbox, domain gone), the caller runs the write again the general way
//! (`write_in_domain`), which answers the fault in the usual order with
//! its usual details: the rare paths keep one implementation.

use sqlx::any::{AnyArguments, AnyRow};
use sqlx::query::Query;
use sqlx::{Any, Row};

use super::{audit, new_id, Actor, DomainRow, Service, ServiceStore};
use crate::db::{retry_after, Db};
use crate::error::Result;

/// A query with its binds, as sqlx's `Any` driver builds it.
pub(crate) type AnyQuery<'q> = Query<'q, Any, AnyArguments<'q>>;

/// The create. Binds `$1`..`$15` are the mailbox row (`mailbox_writes::bind_new`:
/// id, domain id, service, ..., created_at, name_key), then `$16` customer
/// id, `$17` address key, `$18` address, `$19` owner kind, and the audit
/// entry: `$20` id, `$21` actor, `$22` action, `$23` detail (its time is
/// the mailbox's `created_at`, `$14`). `{used}`/`{max}` are the service's
/// licence columns.
const CREATE: &str = "WITH dom AS MATERIALIZED ( \
       SELECT {used} AS used, {max} AS max FROM domains WHERE id = $2 FOR NO KEY UPDATE \
     ), addr AS ( \
       INSERT INTO addresses (customer_id, address_key, address, domain_id, owner_kind, \
         owner_id, is_primary, created_at) \
       SELECT $16, $17, $18, $2, $19, $1, 1, $14 FROM dom WHERE dom.used < dom.max \
       ON CONFLICT DO NOTHING RETURNING owner_id \
     ), counted AS ( \
       UPDATE domains SET lock_version = lock_version + 1, {used} = {used} + 1 \
       WHERE id = $2 AND EXISTS (SELECT 1 FROM addr) \
     ), mailbox AS ( \
       INSERT INTO mailboxes ({cols}, name_key) \
       SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, NULL, NULL, $15 \
       FROM addr \
     ), logged AS ( \
       INSERT INTO audit_log (id, at, customer_id, actor, action, target, detail) \
       SELECT $20, $14, $16, $21, $22, $18, $23 FROM addr \
     ) \
     SELECT (SELECT COUNT(*) FROM addr) AS done";

/// The address add, for an address in the mailbox's own domain: `$1`
/// customer id, `$2` address key, `$3` address, `$4` domain id, `$5` owner
/// kind, `$6` time, `$7` service code, `$8` mailbox name key, and the
/// audit entry: `$9` id, `$10` actor, `$11` detail, `$12` `@domain` (its
/// target is the mailbox's stored name and `$12`).
const ADDRESS_ADD: &str = "WITH dom AS MATERIALIZED ( \
       SELECT id FROM domains WHERE id = $4 FOR NO KEY UPDATE \
     ), mbox AS MATERIALIZED ( \
       SELECT m.id, m.name FROM mailboxes m \
       WHERE m.domain_id = $4 AND m.service = $7 AND m.name_key = $8 \
         AND m.deleted_at IS NULL AND EXISTS (SELECT 1 FROM dom) \
       FOR SHARE OF m \
     ), addr AS ( \
       INSERT INTO addresses (customer_id, address_key, address, domain_id, owner_kind, \
         owner_id, is_primary, created_at) \
       SELECT $1, $2, $3, $4, $5, mbox.id, 0, $6 FROM mbox \
       ON CONFLICT DO NOTHING RETURNING owner_id \
     ), logged AS ( \
       INSERT INTO audit_log (id, at, customer_id, actor, action, target, detail) \
       SELECT $9, $6, $1, $10, 'ex_mailbox.address.add', mbox.name || $12, $11 \
       FROM addr JOIN mbox ON mbox.id = addr.owner_id \
     ) \
     SELECT (SELECT COUNT(*) FROM addr) AS done";

/// The create statement for `svc`, with the mailbox's columns `cols`.
pub(crate) fn create_sql(svc: Service, cols: &str) -> String {
    let (used, max) = match svc {
        Service::Exchange => ("ex_used", "ex_licences"),
        Service::RsEmail => ("rs_used", "rs_licences"),
    };
    CREATE
        .replace("{used}", used)
        .replace("{max}", max)
        .replace("{cols}", cols)
}

/// Runs one write statement built by `make` on a held connection, retried
/// by [`retry_after`]: whether it did its write (its `done` count is 1).
async fn run<'q, F>(db: &Db, make: F) -> Result<bool>
where
    F: Fn() -> AnyQuery<'q>,
{
    let mut attempt = 0u32;
    loop {
        let result = one(db, make()).await;
        match result {
            Err(e) if retry_after(&e, &mut attempt).await => {}
            Err(e) => return Err(e),
            Ok(row) => return Ok(row.try_get::<i64, _>("done")? == 1),
        }
    }
}

async fn one(db: &Db, q: AnyQuery<'_>) -> Result<AnyRow> {
    let mut c = db.reader().await?;
    let row = q.fetch_one(&mut *c).await;
    c.settled(&row);
    Ok(row?)
}

/// Creates a mailbox in one statement (see the module's documentation).
/// `bind_mailbox` binds the row's 15 values (`$1`..`$15`) on the query it
/// is given; `entry`'s target is the mailbox's primary address.
/// `Ok(false)`: nothing was written; run the general create.
pub(crate) async fn mailbox_create<'q, B>(
    db: &Db,
    actor: &Actor,
    dom: &DomainRow,
    svc: Service,
    sql: &'q str,
    bind_mailbox: B,
    entry: &audit::Entry,
) -> Result<bool>
where
    B: Fn(AnyQuery<'q>) -> AnyQuery<'q>,
{
    let audit_id = new_id();
    let detail = entry.detail.to_string();
    let primary = &entry.target;
    run(db, || {
        bind_mailbox(sqlx::query(sql))
            .bind(dom.customer_id.clone())
            .bind(crate::validate::key(primary))
            .bind(primary.clone())
            .bind(svc.kind())
            .bind(audit_id.clone())
            .bind(actor.0.clone())
            .bind(entry.action.clone())
            .bind(detail.clone())
    })
    .await
}

/// Adds an alternate address, in the mailbox's own domain, to the live
/// Exchange mailbox `name` in one statement (see the module's
/// documentation). `Ok(false)`: nothing was written; run the general add.
pub(crate) async fn address_add(
    db: &Db,
    actor: &Actor,
    dom: &DomainRow,
    name: &str,
    address: &str,
    now: i64,
) -> Result<bool> {
    let audit_id = new_id();
    let detail = serde_json::json!({ "address": address }).to_string();
    run(db, || {
        sqlx::query(ADDRESS_ADD)
            .bind(dom.customer_id.clone())
            .bind(crate::validate::key(address))
            .bind(address.to_string())
            .bind(dom.id.clone())
            .bind(Service::Exchange.kind())
            .bind(now)
            .bind(Service::Exchange.code())
            .bind(crate::validate::key(name))
            .bind(audit_id.clone())
            .bind(actor.0.clone())
            .bind(detail.clone())
            .bind(format!("@{}", dom.name))
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each service's statement counts its own licences, and no
    /// placeholder is left unfilled.
    #[test]
    fn create_statement_per_service() {
        for (svc, used, other) in [
            (Service::Exchange, "ex_used", "rs_used"),
            (Service::RsEmail, "rs_used", "ex_used"),
        ] {
            let sql = create_sql(svc, "id, name");
            assert!(sql.contains(&format!("{used} = {used} + 1")), "{sql}");
            assert!(!sql.contains(other), "{sql}");
            assert!(!sql.contains('{'), "{sql}");
            assert!(sql.contains("INSERT INTO mailboxes (id, name, name_key)"));
        }
    }
}
