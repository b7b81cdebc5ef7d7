//! The audit log: every change, by whom, to what. Written by
//! [`record`] (through `write_in_domain` for the customers' writes,
//! directly by [`crate::admin`]), read by [`audit_log`].

use sqlx::{AnyConnection, Row};

use super::{new_id, now_ms, rfc3339, Actor};
use crate::db::Db;
use crate::error::Result;

/// One change to log: what was done, to which object, with which values.
#[derive(Debug, Clone)]
pub struct Entry {
    /// `resource.verb`, for example `ex_mailbox.create`.
    pub action: String,
    /// The object, usually its primary address or name.
    pub target: String,
    pub detail: serde_json::Value,
}

const INSERT: &str = "INSERT INTO audit_log (id, at, customer_id, actor, action, target, detail) \
     VALUES ($1, $2, $3, $4, $5, $6, $7)";

/// Writes one audit log entry on `c` (inside the change's transaction when
/// there is one).
pub async fn record(
    c: &mut AnyConnection,
    customer_id: Option<&str>,
    actor: &Actor,
    entry: &Entry,
) -> Result<()> {
    record_then(c, customer_id, actor, entry, "").await
}

/// [`record`], with `then` (`"; STATEMENT"`, no parameters) run after the
/// insert in the same call: on SQLite, one hand-off to the database
/// thread instead of two.
pub(crate) async fn record_then(
    c: &mut AnyConnection,
    customer_id: Option<&str>,
    actor: &Actor,
    entry: &Entry,
    then: &str,
) -> Result<()> {
    let sql = if then.is_empty() {
        std::borrow::Cow::Borrowed(INSERT)
    } else {
        std::borrow::Cow::Owned(format!("{INSERT}{then}"))
    };
    sqlx::query(&sql)
        .bind(new_id())
        .bind(now_ms())
        .bind(customer_id.map(str::to_string))
        .bind(actor.0.clone())
        .bind(entry.action.clone())
        .bind(entry.target.clone())
        .bind(entry.detail.to_string())
        .execute(c)
        .await?;
    Ok(())
}

/// One audit log entry, as listed.
#[derive(Debug, Clone, serde::Serialize)]
pub struct AuditEntry {
    pub at: String,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub detail: serde_json::Value,
}

/// The most recent `limit` audit entries, newest first.
pub async fn audit_log(db: &Db, limit: u32) -> Result<Vec<AuditEntry>> {
    let rows = sqlx::query(&format!(
        "SELECT at, actor, action, target, detail FROM audit_log ORDER BY at DESC, id LIMIT {limit}"
    ))
    .fetch_all(&db.pool)
    .await?;
    rows.iter()
        .map(|r| {
            let detail: String = r.try_get("detail")?;
            Ok(AuditEntry {
                at: rfc3339(r.try_get("at")?),
                actor: r.try_get("actor")?,
                action: r.try_get("action")?,
                target: r.try_get("target")?,
                detail: serde_json::from_str(&detail).unwrap_or(serde_json::Value::Null),
            })
        })
        .collect()
}
