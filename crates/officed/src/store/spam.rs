//! Spam settings and spam list entries of domains and Rackspace Email
//! mailboxes (the `spam_settings` and `spam_list_entries` tables), keyed by
//! the owner's id. officed stores and answers them; it filters no mail. The
//! rules of an edit and of an entry are in `api::spam`.

use serde_json::Value;
use sqlx::Row;

use super::now_ms;
use crate::db::Db;
use crate::error::Result;

const SETTINGS: &str = "SELECT settings FROM spam_settings WHERE owner_id = $1";
const SAVE_SETTINGS: &str = "INSERT INTO spam_settings (owner_id, settings) VALUES ($1, $2) \
     ON CONFLICT (owner_id) DO UPDATE SET settings = excluded.settings";
const ENTRIES: &str =
    "SELECT entry FROM spam_list_entries WHERE owner_id = $1 AND list = $2 ORDER BY entry_key";
const ADD_ENTRY: &str = "INSERT INTO spam_list_entries (owner_id, list, entry_key, entry, \
     added_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (owner_id, list, entry_key) DO NOTHING";
const REMOVE_ENTRY: &str =
    "DELETE FROM spam_list_entries WHERE owner_id = $1 AND list = $2 AND entry_key = $3";

/// The owner's stored settings; `None` when it has none (or they do not
/// read as JSON): the defaults apply.
pub async fn settings(db: &Db, owner: &str) -> Result<Option<Value>> {
    let row = sqlx::query(SETTINGS)
        .bind(owner.to_string())
        .fetch_optional(&db.pool)
        .await?;
    Ok(match row {
        Some(r) => serde_json::from_str(&r.try_get::<String, _>("settings")?).ok(),
        None => None,
    })
}

/// Stores the owner's settings, replacing any.
pub async fn save_settings(db: &Db, owner: &str, settings: &Value) -> Result<()> {
    sqlx::query(SAVE_SETTINGS)
        .bind(owner.to_string())
        .bind(settings.to_string())
        .execute(&db.pool)
        .await?;
    Ok(())
}

/// The entries of one of the owner's lists, in key order.
pub async fn entries(db: &Db, owner: &str, list: &str) -> Result<Vec<String>> {
    let rows = sqlx::query(ENTRIES)
        .bind(owner.to_string())
        .bind(list.to_string())
        .fetch_all(&db.pool)
        .await?;
    rows.iter().map(|r| Ok(r.try_get("entry")?)).collect()
}

/// Adds an entry (stored as its key) unless the list has it.
pub async fn add_entry(db: &Db, owner: &str, list: &str, key: &str) -> Result<()> {
    sqlx::query(ADD_ENTRY)
        .bind(owner.to_string())
        .bind(list.to_string())
        .bind(key.to_string())
        .bind(key.to_string())
        .bind(now_ms())
        .execute(&db.pool)
        .await?;
    Ok(())
}

/// Removes an entry; `false` when the list did not have it.
pub async fn remove_entry(db: &Db, owner: &str, list: &str, key: &str) -> Result<bool> {
    let n = sqlx::query(REMOVE_ENTRY)
        .bind(owner.to_string())
        .bind(list.to_string())
        .bind(key.to_string())
        .execute(&db.pool)
        .await?
        .rows_affected();
    Ok(n > 0)
}
