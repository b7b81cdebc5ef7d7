//! Domain add, edit and delete and alternate domains through the API (the
//! Domain page's "Reseller Only" operations), for keys with the domain
//! permission; the handlers check the permission and the customer.
//!
//! Rules (docs/officed.md, "Domains through the API"):
//! - a domain name is hosted once, as a domain or as a domain alias;
//! - an edit may not take away a service the domain still has objects in;
//! - a domain with mailboxes, aliases, contacts, lists, or addresses in it
//!   (alternate addresses of another domain's objects) cannot be deleted;
//!   mailboxes deleted but still recoverable are purged with it;
//! - a domain alias is a name hosted nowhere else; an accepted domain is
//!   another domain of the same customer, and cannot be removed while
//!   alternate addresses of this domain's objects use it.
//!
//! Every write runs in one transaction on the writer pool and is audited.

use cloudoffice_api::{FaultKind, ServiceType};
use serde_json::{json, Map, Value};
use sqlx::{AnyConnection, Row};

use super::{audit, lock_domain, new_id, now_ms, Actor, DomainRow};
use crate::db::{retry, Db};
use crate::error::{Error, Result};
use crate::validate;

/// The documented domain fields officed stores and returns but does not
/// act on (kept as JSON in `domains.settings`): name and JSON kind.
pub const STORED_DOMAIN_FIELDS: &[(&str, &str)] = &[
    ("exchangeExtraStorage", "integer"),
    ("rsEmailBaseMailboxSize", "integer"),
    ("rsEmailExtraStorage", "integer"),
    ("rsEmailProduct", "string"),
    ("archivingServiceEnabled", "boolean"),
    ("blackBerryMobileServiceEnabled", "boolean"),
    ("blackBerryLicenses", "integer"),
    ("activeSyncMobileServiceEnabled", "boolean"),
    ("activeSyncLicenses", "integer"),
];

/// An add or edit of a domain: `None` keeps (edit) or is absent (add).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DomainChange {
    pub service_type: Option<ServiceType>,
    pub exchange_max: Option<u32>,
    pub rsemail_max: Option<u32>,
    /// Stored fields given (names from [`STORED_DOMAIN_FIELDS`]).
    pub settings: Map<String, Value>,
}

/// The two documented kinds of alternate domain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlternateKind {
    /// Every address in the domain also exists in the alias.
    DomainAlias,
    /// Another domain of the customer in which alternate addresses may be.
    AcceptedDomain,
}

impl AlternateKind {
    /// The documented `type` value.
    pub fn as_str(self) -> &'static str {
        match self {
            AlternateKind::DomainAlias => "DomainAlias",
            AlternateKind::AcceptedDomain => "AcceptedDomain",
        }
    }

    /// Parses a `type` value, in any case.
    pub fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_lowercase().as_str() {
            "domainalias" => Some(AlternateKind::DomainAlias),
            "accepteddomain" => Some(AlternateKind::AcceptedDomain),
            _ => None,
        }
    }
}

fn missing(field: &str, details: &str) -> Error {
    Error::bad_request(format!("Missing required field: {field}"), details)
}

/// A 400 `appsFault`: a business rule refuses the change.
fn refused(message: impl Into<String>, details: impl Into<String>) -> Error {
    Error::fault(FaultKind::Apps, 400, message, details)
}

fn domain_exists(name: &str) -> Error {
    Error::exists(
        format!("The domain '{name}' already exists."),
        "A domain name is hosted once, as a domain or as a domain alias.",
    )
}

/// The fields a new domain must have: `serviceType`, and the mailbox
/// count of each service it includes (the Domain page marks
/// `exchangeMaxNumMailboxes` "Required for Adding Exchange service";
/// officed asks the same of `rsEmailMaxNumberMailboxes`).
pub fn check_add(ch: &DomainChange) -> Result<ServiceType> {
    let st = ch.service_type.ok_or_else(|| {
        missing(
            "serviceType",
            "A domain is added with serviceType exchange, rsemail or both.",
        )
    })?;
    if st.has_exchange() && ch.exchange_max.is_none() {
        return Err(missing(
            "exchangeMaxNumMailboxes",
            "A domain with Exchange needs the number of Exchange mailboxes it may have.",
        ));
    }
    if st.has_rsemail() && ch.rsemail_max.is_none() {
        return Err(missing(
            "rsEmailMaxNumberMailboxes",
            "A domain with Rackspace Email needs the number of Rackspace Email mailboxes it may have.",
        ));
    }
    Ok(st)
}

/// Writes the audit entry of a change and commits it.
async fn audited(
    mut tx: sqlx::Transaction<'static, sqlx::Any>,
    customer_id: Option<&str>,
    actor: &Actor,
    action: &str,
    target: &str,
    detail: Value,
) -> Result<()> {
    let entry = audit::Entry {
        action: action.to_string(),
        target: target.to_string(),
        detail,
    };
    audit::record(&mut tx, customer_id, actor, &entry).await?;
    tx.commit().await?;
    Ok(())
}

async fn count(c: &mut AnyConnection, sql: &str, binds: &[&str]) -> Result<i64> {
    let mut q = sqlx::query(sql);
    for b in binds {
        q = q.bind(b.to_string());
    }
    Ok(q.fetch_one(c).await?.try_get::<i64, _>(0)?)
}

/// True when `name` is hosted, as a domain or a domain alias.
async fn hosted(c: &mut AnyConnection, name: &str) -> Result<bool> {
    Ok(sqlx::query(
        "SELECT name FROM domains WHERE name = $1 UNION SELECT name FROM domain_aliases WHERE name = $1",
    )
    .bind(name.to_string())
    .fetch_optional(c)
    .await?
    .is_some())
}

/// Adds domain `name` to the customer (`POST /customers/{c}/domains/{d}`).
pub async fn domain_add(
    db: &Db,
    actor: &Actor,
    customer_id: &str,
    name: &str,
    ch: &DomainChange,
) -> Result<()> {
    let name = validate::key(name);
    validate::domain_name(&name)?;
    let st = check_add(ch)?;
    retry(|| async {
        let mut tx = db.writer.begin().await?;
        if hosted(&mut tx, &name).await? {
            return Err(domain_exists(&name));
        }
        let n = sqlx::query(
            "INSERT INTO domains (id, customer_id, name, service_type, ex_licences, rs_licences, lock_version, created_at, settings) \
             VALUES ($1, $2, $3, $4, $5, $6, 0, $7, $8) ON CONFLICT DO NOTHING",
        )
        .bind(new_id())
        .bind(customer_id.to_string())
        .bind(name.clone())
        .bind(st.as_str().to_string())
        .bind(i64::from(ch.exchange_max.unwrap_or(0)))
        .bind(i64::from(ch.rsemail_max.unwrap_or(0)))
        .bind(now_ms())
        .bind(Value::Object(ch.settings.clone()).to_string())
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if n == 0 {
            return Err(domain_exists(&name));
        }
        audited(
            tx,
            Some(customer_id),
            actor,
            "domain.create",
            &name,
            json!({"serviceType": st.as_str(), "exchangeMaxNumMailboxes": ch.exchange_max, "rsEmailMaxNumberMailboxes": ch.rsemail_max, "settings": ch.settings}),
        )
        .await
    })
    .await
}

/// The objects of `dom` per service: (Exchange mailboxes, contacts and
/// lists; Rackspace Email mailboxes and aliases), live ones only.
async fn objects_per_service(c: &mut AnyConnection, domain_id: &str) -> Result<(i64, i64)> {
    let ex = count(
        c,
        "SELECT (SELECT COUNT(*) FROM mailboxes WHERE domain_id = $1 AND service = 'ex' AND deleted_at IS NULL) \
         + (SELECT COUNT(*) FROM ex_contacts WHERE domain_id = $1) \
         + (SELECT COUNT(*) FROM ex_lists WHERE domain_id = $1)",
        &[domain_id],
    )
    .await?;
    let rs = count(
        c,
        "SELECT (SELECT COUNT(*) FROM mailboxes WHERE domain_id = $1 AND service = 'rs' AND deleted_at IS NULL) \
         + (SELECT COUNT(*) FROM rs_aliases WHERE domain_id = $1)",
        &[domain_id],
    )
    .await?;
    Ok((ex, rs))
}

/// Edits a domain (`PUT`): service type, mailbox counts, stored fields.
/// Lowering a count below the mailboxes in use is allowed, as with
/// `officed domain licences`: new adds are then refused until enough are
/// removed. Taking away a service the domain still has objects in is not.
pub async fn domain_edit(db: &Db, actor: &Actor, dom: &DomainRow, ch: &DomainChange) -> Result<()> {
    retry(|| async {
        let mut tx = db.writer.begin().await?;
        lock_domain(&mut tx, &dom.id).await?;
        let row = sqlx::query("SELECT service_type, ex_licences, rs_licences, settings FROM domains WHERE id = $1")
            .bind(dom.id.clone())
            .fetch_one(&mut *tx)
            .await?;
        let old_st: String = row.try_get("service_type")?;
        let old_st = ServiceType::parse(&old_st).unwrap_or(dom.service_type);
        let st = ch.service_type.unwrap_or(old_st);
        let (ex_objects, rs_objects) = objects_per_service(&mut tx, &dom.id).await?;
        for (had, has, objects, what) in [
            (old_st.has_exchange(), st.has_exchange(), ex_objects, "Hosted Exchange mailboxes, contacts or distribution lists"),
            (old_st.has_rsemail(), st.has_rsemail(), rs_objects, "Rackspace Email mailboxes or aliases"),
        ] {
            if had && !has && objects > 0 {
                return Err(refused(
                    format!("The domain '{}' still has {what}.", dom.name),
                    format!("serviceType {} would remove a service with {objects} objects; delete them first.", st.as_str()),
                ));
            }
        }
        let ex = ch.exchange_max.map(i64::from).unwrap_or(row.try_get("ex_licences")?);
        let rs = ch.rsemail_max.map(i64::from).unwrap_or(row.try_get("rs_licences")?);
        let stored: String = row.try_get("settings")?;
        let mut settings = match serde_json::from_str::<Value>(&stored) {
            Ok(Value::Object(m)) => m,
            _ => Map::new(),
        };
        settings.extend(ch.settings.clone());
        sqlx::query("UPDATE domains SET service_type = $1, ex_licences = $2, rs_licences = $3, settings = $4 WHERE id = $5")
            .bind(st.as_str().to_string())
            .bind(ex)
            .bind(rs)
            .bind(Value::Object(settings).to_string())
            .bind(dom.id.clone())
            .execute(&mut *tx)
            .await?;
        audited(
            tx,
            Some(&dom.customer_id),
            actor,
            "domain.edit",
            &dom.name,
            json!({"serviceType": {"from": old_st.as_str(), "to": st.as_str()}, "exchangeMaxNumMailboxes": ex, "rsEmailMaxNumberMailboxes": rs, "settings": ch.settings}),
        )
        .await
    })
    .await
}

/// Deletes an empty domain (`DELETE`), with its alternate domains, spam
/// settings and recoverable deleted mailboxes; other domains stop
/// accepting it.
pub async fn domain_delete(db: &Db, actor: &Actor, dom: &DomainRow) -> Result<()> {
    retry(|| async {
        let mut tx = db.writer.begin().await?;
        lock_domain(&mut tx, &dom.id).await?;
        let (ex, rs) = objects_per_service(&mut tx, &dom.id).await?;
        let addresses = count(
            &mut tx,
            "SELECT COUNT(*) FROM addresses WHERE domain_id = $1",
            &[&dom.id],
        )
        .await?;
        if ex + rs + addresses > 0 {
            return Err(refused(
                format!("The domain '{}' is not empty.", dom.name),
                format!(
                    "It has {ex} Hosted Exchange objects, {rs} Rackspace Email objects and {addresses} addresses (some may be alternate addresses of another domain's objects); delete or move them first."
                ),
            ));
        }
        let id = dom.id.clone();
        let owned = "SELECT id FROM mailboxes WHERE domain_id = $1";
        for sql in [
            format!("DELETE FROM rs_login_tokens WHERE mailbox_id IN ({owned})"),
            format!("DELETE FROM spam_list_entries WHERE owner_id = $1 OR owner_id IN ({owned})"),
            format!("DELETE FROM spam_settings WHERE owner_id = $1 OR owner_id IN ({owned})"),
            "DELETE FROM mailboxes WHERE domain_id = $1".to_string(),
            "DELETE FROM domain_aliases WHERE domain_id = $1".to_string(),
            "DELETE FROM accepted_domains WHERE domain_id = $1".to_string(),
        ] {
            sqlx::query(&sql).bind(id.clone()).execute(&mut *tx).await?;
        }
        sqlx::query("DELETE FROM accepted_domains WHERE name = $1")
            .bind(dom.name.clone())
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM domains WHERE id = $1")
            .bind(id.clone())
            .execute(&mut *tx)
            .await?;
        audited(
            tx,
            Some(&dom.customer_id),
            actor,
            "domain.delete",
            &dom.name,
            json!({"aliases": dom.aliases, "accepted": dom.accepted}),
        )
        .await
    })
    .await
}

/// The stored fields of a domain (an empty object when none were set).
pub async fn domain_settings(db: &Db, domain_id: &str) -> Result<Map<String, Value>> {
    let row = sqlx::query("SELECT settings FROM domains WHERE id = $1")
        .bind(domain_id.to_string())
        .fetch_optional(&db.pool)
        .await?;
    let Some(row) = row else {
        return Ok(Map::new());
    };
    let s: String = row.try_get("settings")?;
    Ok(match serde_json::from_str::<Value>(&s) {
        Ok(Value::Object(m)) => m,
        _ => Map::new(),
    })
}

/// The alternate domains of `dom`: domain aliases, then accepted domains.
pub fn alternate_list(dom: &DomainRow) -> Vec<(String, AlternateKind)> {
    dom.aliases
        .iter()
        .map(|a| (a.clone(), AlternateKind::DomainAlias))
        .chain(
            dom.accepted
                .iter()
                .map(|a| (a.clone(), AlternateKind::AcceptedDomain)),
        )
        .collect()
}

/// Adds an alternate domain to `dom`.
pub async fn alternate_add(
    db: &Db,
    actor: &Actor,
    dom: &DomainRow,
    name: &str,
    kind: AlternateKind,
) -> Result<()> {
    let name = validate::key(name);
    validate::domain_name(&name)?;
    if name == dom.name {
        return Err(Error::validation(
            "Invalid value for field: name",
            format!("'{name}' is the domain itself, not an alternate domain."),
        ));
    }
    if dom.aliases.contains(&name) || dom.accepted.contains(&name) {
        return Err(Error::exists(
            format!("The alternate domain '{name}' already exists."),
            format!("'{name}' is already an alternate domain of '{}'.", dom.name),
        ));
    }
    retry(|| async {
        let mut tx = db.writer.begin().await?;
        lock_domain(&mut tx, &dom.id).await?;
        match kind {
            AlternateKind::DomainAlias => {
                if hosted(&mut tx, &name).await? {
                    return Err(domain_exists(&name));
                }
                let n = sqlx::query("INSERT INTO domain_aliases (name, domain_id) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                    .bind(name.clone())
                    .bind(dom.id.clone())
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                if n == 0 {
                    return Err(domain_exists(&name));
                }
            }
            AlternateKind::AcceptedDomain => {
                let own = count(
                    &mut tx,
                    "SELECT COUNT(*) FROM domains WHERE name = $1 AND customer_id = $2",
                    &[&name, &dom.customer_id],
                )
                .await?;
                if own == 0 {
                    return Err(Error::bad_request(
                        format!("The accepted domain '{name}' is not a domain of this account."),
                        "An accepted domain is another domain of the same customer: add that domain first.",
                    ));
                }
                sqlx::query("INSERT INTO accepted_domains (domain_id, name) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                    .bind(dom.id.clone())
                    .bind(name.clone())
                    .execute(&mut *tx)
                    .await?;
            }
        }
        audited(
            tx,
            Some(&dom.customer_id),
            actor,
            "domain.alternate.add",
            &dom.name,
            json!({"name": name, "type": kind.as_str()}),
        )
        .await
    })
    .await
}

/// Removes an alternate domain from `dom`. An accepted domain still used
/// by alternate addresses of `dom`'s objects stays (400 `appsFault`).
pub async fn alternate_remove(db: &Db, actor: &Actor, dom: &DomainRow, name: &str) -> Result<()> {
    let name = validate::key(name);
    let kind = if dom.aliases.contains(&name) {
        AlternateKind::DomainAlias
    } else if dom.accepted.contains(&name) {
        AlternateKind::AcceptedDomain
    } else {
        return Err(Error::not_found(
            "Alternate domain not found.",
            format!(
                "'{}' is not an alternate domain of '{}'.",
                validate::printable(&name),
                dom.name
            ),
        ));
    };
    retry(|| async {
        let mut tx = db.writer.begin().await?;
        lock_domain(&mut tx, &dom.id).await?;
        match kind {
            AlternateKind::DomainAlias => {
                sqlx::query("DELETE FROM domain_aliases WHERE name = $1 AND domain_id = $2")
                    .bind(name.clone())
                    .bind(dom.id.clone())
                    .execute(&mut *tx)
                    .await?;
            }
            AlternateKind::AcceptedDomain => {
                let used = count(
                    &mut tx,
                    "SELECT COUNT(*) FROM addresses a JOIN domains ad ON ad.id = a.domain_id \
                     WHERE ad.name = $1 AND a.customer_id = $2 AND a.owner_id IN ( \
                       SELECT id FROM mailboxes WHERE domain_id = $3 UNION SELECT id FROM rs_aliases WHERE domain_id = $3 \
                       UNION SELECT id FROM ex_contacts WHERE domain_id = $3 UNION SELECT id FROM ex_lists WHERE domain_id = $3)",
                    &[&name, &dom.customer_id, &dom.id],
                )
                .await?;
                if used > 0 {
                    return Err(refused(
                        format!("The accepted domain '{name}' is in use."),
                        format!("{used} alternate addresses of objects in '{}' are in '{name}'; remove them first.", dom.name),
                    ));
                }
                sqlx::query("DELETE FROM accepted_domains WHERE name = $1 AND domain_id = $2")
                    .bind(name.clone())
                    .bind(dom.id.clone())
                    .execute(&mut *tx)
                    .await?;
            }
        }
        audited(
            tx,
            Some(&dom.customer_id),
            actor,
            "domain.alternate.remove",
            &dom.name,
            json!({"name": name, "type": kind.as_str()}),
        )
        .await
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alternate_kinds() {
        for (s, want) in [
            ("DomainAlias", Some(AlternateKind::DomainAlias)),
            ("domainalias", Some(AlternateKind::DomainAlias)),
            ("AcceptedDomain", Some(AlternateKind::AcceptedDomain)),
            ("ACCEPTEDDOMAIN", Some(AlternateKind::AcceptedDomain)),
            ("alias", None),
            ("", None),
        ] {
            assert_eq!(AlternateKind::parse(s), want, "{s}");
        }
    }

    #[test]
    fn add_needs_the_documented_fields() {
        let ch = |st: Option<ServiceType>, ex: Option<u32>, rs: Option<u32>| DomainChange {
            service_type: st,
            exchange_max: ex,
            rsemail_max: rs,
            settings: Map::new(),
        };
        let missing = |c: DomainChange| {
            check_add(&c)
                .err()
                .map(|e| e.to_fault().detail.message)
                .unwrap_or_default()
        };
        use ServiceType::*;
        assert_eq!(
            missing(ch(None, Some(1), Some(1))),
            "Missing required field: serviceType"
        );
        assert_eq!(
            missing(ch(Some(Exchange), None, None)),
            "Missing required field: exchangeMaxNumMailboxes"
        );
        assert_eq!(
            missing(ch(Some(Both), Some(1), None)),
            "Missing required field: rsEmailMaxNumberMailboxes"
        );
        assert!(check_add(&ch(Some(RsEmail), None, Some(3))).is_ok());
        assert!(check_add(&ch(Some(Exchange), Some(0), None)).is_ok());
        assert!(check_add(&ch(Some(Both), Some(2), Some(3))).is_ok());
    }
}
