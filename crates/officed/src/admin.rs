//! Administrator operations (used by the CLI, `demo`, and embedding
//! programs): customers, domains, licences, API keys, renames, the audit
//! log. Each change is written to the audit log with actor `admin`.

use cloudoffice_api::{Secret, ServiceType};
use rand::distributions::Alphanumeric;
use rand::Rng;
use serde_json::json;
use sqlx::Row;

use crate::crypto::MasterKey;
use crate::db::Db;
use crate::error::{Error, Result};
use crate::store::{self, audit, now_ms, Actor, Customer, DomainRow, Service};
use crate::validate;

pub use crate::store::audit::{audit_log, AuditEntry};

const INSERT_CUSTOMER: &str = "INSERT INTO customers (id, account_number, name, created_at) \
     VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING";
const INSERT_KEY: &str =
    "INSERT INTO api_keys (id, customer_id, user_key, secret_enc, label, created_at, \
     revoked_at, allow_rename, allow_domain_admin) \
     VALUES ($1, $2, $3, $4, $5, $6, NULL, $7, $8) ON CONFLICT DO NOTHING";
const LIVE_KEY: &str = "SELECT k.customer_id, k.secret_enc, k.allow_rename, \
     k.allow_domain_admin, c.account_number \
     FROM api_keys k JOIN customers c ON c.id = k.customer_id \
     WHERE k.user_key = $1 AND k.revoked_at IS NULL";
const ALL_CUSTOMERS: &str = "SELECT c.account_number, c.name, \
     (SELECT COUNT(*) FROM domains d WHERE d.customer_id = c.id) AS domains, \
     (SELECT COUNT(*) FROM api_keys k WHERE k.customer_id = c.id AND k.revoked_at IS NULL) \
     AS active_keys FROM customers c ORDER BY c.account_number";
const ALL_DOMAINS: &str = "SELECT d.name, c.account_number, d.service_type, d.ex_used, \
     d.ex_licences, d.rs_used, d.rs_licences \
     FROM domains d JOIN customers c ON c.id = d.customer_id ORDER BY d.name";
const ALL_KEYS: &str =
    "SELECT k.user_key, c.account_number, k.label, k.revoked_at, k.allow_rename, \
     k.allow_domain_admin \
     FROM api_keys k JOIN customers c ON c.id = k.customer_id \
     ORDER BY c.account_number, k.created_at";

/// Writes an audit log entry for an administrator's change.
async fn audit(
    db: &Db,
    customer_id: Option<&str>,
    action: &str,
    target: &str,
    detail: serde_json::Value,
) -> Result<()> {
    let entry = audit::Entry {
        action: action.to_string(),
        target: target.to_string(),
        detail,
    };
    let mut c = db.pool.acquire().await?;
    audit::record(&mut c, customer_id, &Actor::admin(), &entry).await
}

/// Creates a customer with this account number.
pub async fn create_customer(db: &Db, account_number: &str, name: &str) -> Result<Customer> {
    validate::account_number(account_number)?;
    validate::display_name(name)?;
    let id = uuid::Uuid::new_v4().simple().to_string();
    let n = sqlx::query(INSERT_CUSTOMER)
        .bind(id.clone())
        .bind(account_number.to_string())
        .bind(name.to_string())
        .bind(now_ms())
        .execute(&db.pool)
        .await?
        .rows_affected();
    if n == 0 {
        return Err(Error::bad_request(
            format!("The customer '{account_number}' already exists."),
            "Choose another account number.",
        ));
    }
    audit(
        db,
        Some(&id),
        "customer.create",
        account_number,
        json!({"name": name}),
    )
    .await?;
    Ok(Customer {
        id,
        account_number: account_number.to_string(),
        name: name.to_string(),
    })
}

/// The customer with this account number.
pub async fn customer(db: &Db, account_number: &str) -> Result<Customer> {
    let row =
        sqlx::query("SELECT id, account_number, name FROM customers WHERE account_number = $1")
            .bind(account_number.to_string())
            .fetch_optional(&db.pool)
            .await?;
    match row {
        Some(r) => Ok(Customer {
            id: r.try_get("id")?,
            account_number: r.try_get("account_number")?,
            name: r.try_get("name")?,
        }),
        None => Err(Error::not_found(
            format!(
                "The customer '{}' does not exist.",
                validate::printable(account_number)
            ),
            "Create it first with 'officed customer create'.",
        )),
    }
}

/// What a new domain gets.
#[derive(Debug, Clone)]
pub struct NewDomain {
    /// Owning customer's account number.
    pub customer: String,
    pub name: String,
    pub service_type: ServiceType,
    pub exchange_licences: u32,
    pub rsemail_licences: u32,
    /// Domain aliases (names not hosted anywhere else).
    pub aliases: Vec<String>,
    /// Accepted domains: other domains of the same customer, already created.
    pub accepted: Vec<String>,
}

/// Creates a domain with its licences, aliases and accepted domains.
pub async fn create_domain(db: &Db, d: &NewDomain) -> Result<DomainRow> {
    let cust = customer(db, &d.customer).await?;
    let name = validate::key(&d.name);
    validate::domain_name(&name)?;
    let aliases: Vec<String> = d.aliases.iter().map(|a| validate::key(a)).collect();
    let accepted: Vec<String> = d.accepted.iter().map(|a| validate::key(a)).collect();
    for a in aliases.iter().chain(&accepted) {
        validate::domain_name(a)?;
        if *a == name {
            return Err(Error::bad_request(
                format!("The domain '{name}' cannot be its own alias or accepted domain."),
                "Remove it from --alias/--accepted.",
            ));
        }
    }
    let mut tx = db.pool.begin().await?;
    let taken = sqlx::query("SELECT name FROM domains WHERE name = $1 UNION SELECT name FROM domain_aliases WHERE name = $1")
        .bind(name.clone())
        .fetch_optional(&mut *tx)
        .await?;
    if taken.is_some() {
        return Err(Error::bad_request(
            format!("The domain '{name}' already exists."),
            "A domain name is hosted once, as a domain or as a domain alias.",
        ));
    }
    let id = uuid::Uuid::new_v4().simple().to_string();
    sqlx::query(
        "INSERT INTO domains (id, customer_id, name, service_type, ex_licences, rs_licences, lock_version, created_at) VALUES ($1, $2, $3, $4, $5, $6, 0, $7)",
    )
    .bind(id.clone())
    .bind(cust.id.clone())
    .bind(name.clone())
    .bind(d.service_type.as_str().to_string())
    .bind(i64::from(d.exchange_licences))
    .bind(i64::from(d.rsemail_licences))
    .bind(now_ms())
    .execute(&mut *tx)
    .await?;
    for a in &aliases {
        let dup = sqlx::query("SELECT name FROM domains WHERE name = $1")
            .bind(a.clone())
            .fetch_optional(&mut *tx)
            .await?;
        let n = if dup.is_some() {
            0
        } else {
            sqlx::query("INSERT INTO domain_aliases (name, domain_id) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                .bind(a.clone())
                .bind(id.clone())
                .execute(&mut *tx)
                .await?
                .rows_affected()
        };
        if n == 0 {
            return Err(Error::bad_request(
                format!("The domain alias '{a}' is already hosted."),
                "A domain name is hosted once, as a domain or as a domain alias.",
            ));
        }
    }
    for a in &accepted {
        let own = sqlx::query("SELECT id FROM domains WHERE name = $1 AND customer_id = $2")
            .bind(a.clone())
            .bind(cust.id.clone())
            .fetch_optional(&mut *tx)
            .await?;
        if own.is_none() {
            return Err(Error::bad_request(
                format!(
                    "The accepted domain '{a}' is not a domain of customer '{}'.",
                    cust.account_number
                ),
                "Create that domain for the same customer first.",
            ));
        }
        sqlx::query(
            "INSERT INTO accepted_domains (domain_id, name) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        )
        .bind(id.clone())
        .bind(a.clone())
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    audit(
        db,
        Some(&cust.id),
        "domain.create",
        &name,
        json!({"serviceType": d.service_type.as_str(), "exchangeLicences": d.exchange_licences, "rsEmailLicences": d.rsemail_licences, "aliases": aliases, "accepted": accepted}),
    )
    .await?;
    store::domain_by_name(db, &name).await
}

/// Changes the purchased licences of a domain (`None` keeps a value).
/// Lowering below the mailboxes in use is allowed; new creates are then
/// refused until enough are removed.
pub async fn set_licences(
    db: &Db,
    domain: &str,
    exchange: Option<u32>,
    rsemail: Option<u32>,
) -> Result<DomainRow> {
    let d = store::domain_by_name(db, domain).await?;
    let ex = exchange.map(i64::from).unwrap_or(d.ex_licences);
    let rs = rsemail.map(i64::from).unwrap_or(d.rs_licences);
    sqlx::query("UPDATE domains SET ex_licences = $1, rs_licences = $2, lock_version = lock_version + 1 WHERE id = $3")
        .bind(ex)
        .bind(rs)
        .bind(d.id.clone())
        .execute(&db.pool)
        .await?;
    audit(
        db,
        Some(&d.customer_id),
        "domain.licences",
        &d.name,
        json!({"exchange": {"from": d.ex_licences, "to": ex}, "rsemail": {"from": d.rs_licences, "to": rs}}),
    )
    .await?;
    store::domain_by_name(db, domain).await
}

/// A newly issued API key. The secret is shown once and stored only encrypted.
#[derive(Debug, Clone)]
pub struct IssuedKey {
    pub user_key: String,
    pub secret: Secret,
    pub account_number: String,
}

fn random_string(n: usize) -> String {
    rand::thread_rng()
        .sample_iter(&Alphanumeric)
        .take(n)
        .map(char::from)
        .collect()
}

/// What an API key may do beyond the customer's ordinary operations.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KeyPermissions {
    /// May call the administrator's mailbox rename
    /// (`POST .../mailboxes/{name}/rename`), which changes a Service ID.
    /// Off by default: `officed key issue --allow-rename` grants it.
    pub allow_rename: bool,
    /// May add, edit and delete its own customer's domains and their
    /// alternate domains: the documented "Reseller Only" operations, for a
    /// key that is its customer's own reseller. Off by default:
    /// `officed key issue --allow-domain-admin` grants it.
    pub allow_domain_admin: bool,
}

impl KeyPermissions {
    /// The permissions column of `officed key list`: `-`, `rename`,
    /// `domains` or `rename,domains`.
    pub fn describe(&self) -> String {
        let mut v = Vec::new();
        if self.allow_rename {
            v.push("rename");
        }
        if self.allow_domain_admin {
            v.push("domains");
        }
        if v.is_empty() {
            "-".into()
        } else {
            v.join(",")
        }
    }

    fn from_row(r: &sqlx::any::AnyRow) -> Result<KeyPermissions> {
        Ok(KeyPermissions {
            allow_rename: r.try_get::<i64, _>("allow_rename")? != 0,
            allow_domain_admin: r.try_get::<i64, _>("allow_domain_admin")? != 0,
        })
    }
}

/// Issues an API key for a customer (ordinary permissions).
pub async fn issue_key(
    db: &Db,
    master: &MasterKey,
    account_number: &str,
    label: &str,
) -> Result<IssuedKey> {
    issue_key_with(db, master, account_number, label, KeyPermissions::default()).await
}

/// Issues an API key with these permissions.
pub async fn issue_key_with(
    db: &Db,
    master: &MasterKey,
    account_number: &str,
    label: &str,
    permissions: KeyPermissions,
) -> Result<IssuedKey> {
    let user_key = random_string(20);
    let secret = Secret::new(random_string(28));
    import_key_with(
        db,
        master,
        account_number,
        &user_key,
        &secret,
        label,
        permissions,
    )
    .await?;
    Ok(IssuedKey {
        user_key,
        secret,
        account_number: account_number.to_string(),
    })
}

/// Registers an existing key pair for a customer (for example one moved
/// from another control panel). The user key may not contain `:`.
pub async fn import_key(
    db: &Db,
    master: &MasterKey,
    account_number: &str,
    user_key: &str,
    secret: &Secret,
    label: &str,
) -> Result<()> {
    import_key_with(
        db,
        master,
        account_number,
        user_key,
        secret,
        label,
        KeyPermissions::default(),
    )
    .await
}

/// Registers an existing key pair with these permissions.
pub async fn import_key_with(
    db: &Db,
    master: &MasterKey,
    account_number: &str,
    user_key: &str,
    secret: &Secret,
    label: &str,
    permissions: KeyPermissions,
) -> Result<()> {
    let cust = customer(db, account_number).await?;
    if user_key.is_empty()
        || user_key.len() > 64
        || user_key.contains(':')
        || user_key.chars().any(char::is_control)
    {
        return Err(Error::bad_request(
            "The user key is invalid.",
            "Use 1 to 64 printable characters without ':'.",
        ));
    }
    if secret.is_empty() {
        return Err(Error::bad_request(
            "The secret is empty.",
            "Give a non-empty secret.",
        ));
    }
    let n = sqlx::query(INSERT_KEY)
        .bind(uuid::Uuid::new_v4().simple().to_string())
        .bind(cust.id.clone())
        .bind(user_key.to_string())
        .bind(master.encrypt(user_key, secret))
        .bind(label.to_string())
        .bind(now_ms())
        .bind(i64::from(permissions.allow_rename))
        .bind(i64::from(permissions.allow_domain_admin))
        .execute(&db.pool)
        .await?
        .rows_affected();
    if n == 0 {
        return Err(Error::bad_request(
            format!(
                "The user key '{}' already exists.",
                validate::printable(user_key)
            ),
            "User keys are unique across customers.",
        ));
    }
    audit(
        db,
        Some(&cust.id),
        "api_key.issue",
        user_key,
        json!({"label": label, "allowRename": permissions.allow_rename, "allowDomainAdmin": permissions.allow_domain_admin}),
    )
    .await?;
    Ok(())
}

/// Revokes an API key (requests signed with it fail from now on).
pub async fn revoke_key(db: &Db, user_key: &str) -> Result<()> {
    let row =
        sqlx::query("SELECT customer_id FROM api_keys WHERE user_key = $1 AND revoked_at IS NULL")
            .bind(user_key.to_string())
            .fetch_optional(&db.pool)
            .await?;
    let Some(row) = row else {
        return Err(Error::not_found(
            format!(
                "The API key '{}' does not exist or is already revoked.",
                validate::printable(user_key)
            ),
            "List keys with 'officed key list'.",
        ));
    };
    let cid: String = row.try_get("customer_id")?;
    sqlx::query("UPDATE api_keys SET revoked_at = $1 WHERE user_key = $2")
        .bind(now_ms())
        .bind(user_key.to_string())
        .execute(&db.pool)
        .await?;
    audit(db, Some(&cid), "api_key.revoke", user_key, json!({})).await?;
    Ok(())
}

/// [`LIVE_KEY`] with, in the same statement, the key's customer's domain
/// `$2` (NULL columns when there is none), one row per alias or accepted
/// domain, as [`CUSTOMER_DOMAIN`](crate::store::domains) answers it: the
/// API's requests name their domain, and this saves them a statement.
const LIVE_KEY_WITH_DOMAIN: &str = "SELECT k.customer_id, k.secret_enc, k.allow_rename, \
     k.allow_domain_admin, c.account_number, d.id, d.name, d.service_type, d.ex_licences, \
     d.rs_licences, d.ex_used, d.rs_used, x.kind, x.alt \
     FROM api_keys k JOIN customers c ON c.id = k.customer_id \
     LEFT JOIN domains d ON d.customer_id = k.customer_id AND d.name = $2 \
     LEFT JOIN (SELECT 'a' AS kind, name AS alt, domain_id FROM domain_aliases \
       UNION ALL SELECT 'c' AS kind, name AS alt, domain_id FROM accepted_domains) x \
       ON x.domain_id = d.id \
     WHERE k.user_key = $1 AND k.revoked_at IS NULL \
     ORDER BY x.kind, x.alt";

/// A live API key as the authenticator needs it.
#[derive(Debug, Clone)]
pub struct KeyRecord {
    pub user_key: String,
    pub customer_id: String,
    pub account_number: String,
    pub secret: Secret,
    pub permissions: KeyPermissions,
}

/// Looks up a live key and decrypts its secret. `None` for unknown or revoked keys.
pub async fn lookup_key(db: &Db, master: &MasterKey, user_key: &str) -> Result<Option<KeyRecord>> {
    let mut c = db.reader().await?;
    let row = sqlx::query(LIVE_KEY)
        .bind(user_key.to_string())
        .fetch_optional(&mut *c)
        .await;
    c.settled(&row);
    let row = row?;
    match row {
        Some(r) => key_record(master, user_key, &r),
        None => Ok(None),
    }
}

/// The customer's domain a request names, read with its key
/// ([`lookup_key_with_domain`]).
#[derive(Debug, Clone)]
pub struct KeyDomain {
    /// The name as the request's path gives it.
    pub name: String,
    /// The domain, or `None` when it is not one of the key's customer's.
    pub row: Option<DomainRow>,
}

/// [`lookup_key`] and, in the same statement, the key's customer's domain
/// `domain` (the one the request's path names).
pub async fn lookup_key_with_domain(
    db: &Db,
    master: &MasterKey,
    user_key: &str,
    domain: &str,
) -> Result<Option<(KeyRecord, KeyDomain)>> {
    let mut c = db.reader().await?;
    let rows = sqlx::query(LIVE_KEY_WITH_DOMAIN)
        .bind(user_key.to_string())
        .bind(validate::key(domain))
        .fetch_all(&mut *c)
        .await;
    c.settled(&rows);
    let rows = rows?;
    let Some(r) = rows.first() else {
        return Ok(None);
    };
    let Some(key) = key_record(master, user_key, r)? else {
        return Ok(None);
    };
    let row = store::domains::domain_from_rows(&rows)?;
    Ok(Some((
        key,
        KeyDomain {
            name: domain.to_string(),
            row,
        },
    )))
}

/// The key of a [`LIVE_KEY`] row, its secret decrypted (`None` when it
/// does not decrypt).
fn key_record(
    master: &MasterKey,
    user_key: &str,
    r: &sqlx::any::AnyRow,
) -> Result<Option<KeyRecord>> {
    let enc: String = r.try_get("secret_enc")?;
    let Some(secret) = master.decrypt(user_key, &enc) else {
        tracing::error!(
            user_key,
            "API key secret does not decrypt: wrong master key?"
        );
        return Ok(None);
    };
    Ok(Some(KeyRecord {
        user_key: user_key.to_string(),
        customer_id: r.try_get("customer_id")?,
        account_number: r.try_get("account_number")?,
        secret,
        permissions: KeyPermissions::from_row(r)?,
    }))
}

/// Key listing line (no secrets).
#[derive(Debug, Clone)]
pub struct KeyInfo {
    pub user_key: String,
    pub account_number: String,
    pub label: String,
    pub revoked: bool,
    pub permissions: KeyPermissions,
}

/// All keys (optionally of one customer).
/// A customer in the admin listing.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CustomerInfo {
    pub account_number: String,
    pub name: String,
    pub domains: i64,
    pub active_keys: i64,
}

/// Every customer, by account number, with its domain and live-key counts.
pub async fn list_customers(db: &Db) -> Result<Vec<CustomerInfo>> {
    let rows = sqlx::query(ALL_CUSTOMERS).fetch_all(&db.pool).await?;
    rows.iter()
        .map(|r| {
            Ok(CustomerInfo {
                account_number: r.try_get("account_number")?,
                name: r.try_get("name")?,
                domains: r.try_get("domains")?,
                active_keys: r.try_get("active_keys")?,
            })
        })
        .collect()
}

/// A domain in the admin listing: licences and their use per service.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DomainInfo {
    pub name: String,
    pub account_number: String,
    pub service_type: String,
    pub exchange_used: i64,
    pub exchange_licences: i64,
    pub rsemail_used: i64,
    pub rsemail_licences: i64,
}

/// Every domain (of one customer, when given), by name.
pub async fn list_domains(db: &Db, account_number: Option<&str>) -> Result<Vec<DomainInfo>> {
    let rows = sqlx::query(ALL_DOMAINS).fetch_all(&db.pool).await?;
    let mut out = Vec::new();
    for r in rows {
        let acct: String = r.try_get("account_number")?;
        if account_number.is_some_and(|a| a != acct) {
            continue;
        }
        out.push(DomainInfo {
            name: r.try_get("name")?,
            account_number: acct,
            service_type: r.try_get("service_type")?,
            exchange_used: r.try_get("ex_used")?,
            exchange_licences: r.try_get("ex_licences")?,
            rsemail_used: r.try_get("rs_used")?,
            rsemail_licences: r.try_get("rs_licences")?,
        });
    }
    Ok(out)
}

pub async fn list_keys(db: &Db, account_number: Option<&str>) -> Result<Vec<KeyInfo>> {
    let rows = sqlx::query(ALL_KEYS).fetch_all(&db.pool).await?;
    let mut out = Vec::new();
    for r in rows {
        let acct: String = r.try_get("account_number")?;
        if account_number.is_some_and(|a| a != acct) {
            continue;
        }
        out.push(KeyInfo {
            user_key: r.try_get("user_key")?,
            account_number: acct,
            label: r.try_get("label")?,
            revoked: r.try_get::<Option<i64>, _>("revoked_at")?.is_some(),
            permissions: KeyPermissions::from_row(&r)?,
        });
    }
    Ok(out)
}

/// Renames a mailbox (administrators only: here, or through the API with a
/// key that has [`KeyPermissions::allow_rename`]; the API's edit refuses it).
pub async fn rename_mailbox(
    db: &Db,
    domain: &str,
    exchange: bool,
    name: &str,
    new_name: &str,
) -> Result<()> {
    let d = store::domain_by_name(db, domain).await?;
    let svc = if exchange {
        Service::Exchange
    } else {
        Service::RsEmail
    };
    store::mailbox_rename(db, &Actor::admin(), &d, svc, name, new_name).await?;
    Ok(())
}
