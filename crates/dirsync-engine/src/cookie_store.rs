//! The committed directory cookie in the state store, in parts.
//!
//! An LDAP cookie holds every GUID in scope (1.6 MB at 100,000 objects,
//! 3.2 MB as the hex the store keeps), and each run commits one. Between
//! two runs that changed nothing in scope only its head differs (the
//! server's position and mark); its GUIDs are the same bytes at the same
//! offsets. So it is stored in parts of [`PART`] bytes (`cookie`,
//! `cookie.1`, `cookie.2`, … and the count in `cookie.parts`), and a part
//! equal to the stored one is not written again: an idle run writes one
//! part, not the whole list, and its commit and checkpoint stay small
//! whatever the directory's size. A store written before (one `cookie`
//! row) reads as one part.

use crate::store::{corrupt, put_state, Store, StoreError};

/// Bytes of cookie per stored part.
pub(crate) const PART: usize = 64 * 1024;

fn part_key(i: usize) -> String {
    if i == 0 {
        "cookie".into()
    } else {
        format!("cookie.{i}")
    }
}

impl Store {
    /// The committed directory cookie, if any.
    pub async fn cookie(&self) -> Result<Option<Vec<u8>>, StoreError> {
        let rows: Vec<(String, String)> = sqlx::query_as(
            "SELECT key, value FROM sync_state WHERE key = 'cookie' OR key GLOB 'cookie.*'",
        )
        .fetch_all(&self.pool)
        .await?;
        let get = |k: &str| rows.iter().find(|(key, _)| key == k).map(|(_, v)| v);
        let Some(first) = get("cookie") else {
            return Ok(None);
        };
        let parts = match get("cookie.parts") {
            Some(n) => n
                .parse::<usize>()
                .map_err(|e| corrupt("cookie", format!("cookie.parts: {e}")))?,
            None => 1,
        };
        let mut out = hex::decode(first).map_err(|e| corrupt("cookie", e))?;
        for i in 1..parts {
            let key = part_key(i);
            let part = get(&key).ok_or_else(|| corrupt("cookie", format!("{key} is missing")))?;
            out.extend(hex::decode(part).map_err(|e| corrupt("cookie", format!("{key}: {e}")))?);
        }
        Ok(Some(out))
    }
}

/// Commits `cookie`, writing only the parts that differ from the stored
/// ones; returns how many were written.
pub(crate) async fn set_cookie(
    conn: &mut sqlx::SqliteConnection,
    cookie: &[u8],
) -> Result<usize, StoreError> {
    let parts: Vec<&[u8]> = if cookie.is_empty() {
        vec![cookie]
    } else {
        cookie.chunks(PART).collect()
    };
    let mut written = 0;
    for (i, p) in parts.iter().enumerate() {
        written += usize::from(put_state(&mut *conn, &part_key(i), &hex::encode(p)).await?);
    }
    if parts.len() > 1 {
        put_state(&mut *conn, "cookie.parts", &parts.len().to_string()).await?;
    } else {
        sqlx::query("DELETE FROM sync_state WHERE key = 'cookie.parts'")
            .execute(&mut *conn)
            .await?;
    }
    // Parts a longer cookie left.
    sqlx::query(
        "DELETE FROM sync_state WHERE key GLOB 'cookie.[0-9]*' \
         AND CAST(substr(key, 8) AS INTEGER) >= ?",
    )
    .bind(parts.len() as i64)
    .execute(&mut *conn)
    .await?;
    Ok(written)
}

/// Removes the committed cookie, all its parts.
pub(crate) async fn delete_cookie(conn: &mut sqlx::SqliteConnection) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM sync_state WHERE key = 'cookie' OR key GLOB 'cookie.*'")
        .execute(conn)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A cookie of `n` bytes whose content depends on `seed`.
    fn bytes(n: usize, seed: u8) -> Vec<u8> {
        (0..n).map(|i| (i as u8).wrapping_mul(31) ^ seed).collect()
    }

    #[tokio::test]
    async fn a_cookie_reads_back_whole_and_only_changed_parts_are_written() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(&dir.path().join("state.db")).await.unwrap();
        let big = bytes(3 * PART + 5, 1);
        let mut head_changed = big.clone();
        head_changed[10] ^= 0xff;
        let mut tail_changed = big.clone();
        *tail_changed.last_mut().unwrap() ^= 0xff;
        // (cookie committed, parts written), in order on one store.
        let cases: Vec<(Vec<u8>, usize)> = vec![
            (b"ldif-fingerprint".to_vec(), 1),
            (b"ldif-fingerprint".to_vec(), 0),
            (big.clone(), 4),
            (big.clone(), 0),
            (head_changed, 1),
            (tail_changed.clone(), 2),
            (bytes(PART, 2), 1),
            (bytes(PART + 1, 3), 2),
            (Vec::new(), 1),
            (tail_changed, 4),
        ];
        for (i, (cookie, written)) in cases.into_iter().enumerate() {
            let mut conn = s.pool.acquire().await.unwrap();
            assert_eq!(
                set_cookie(&mut conn, &cookie).await.unwrap(),
                written,
                "case {i}: parts written"
            );
            drop(conn);
            assert_eq!(
                s.cookie().await.unwrap(),
                Some(cookie),
                "case {i}: read back"
            );
        }
        let mut conn = s.pool.acquire().await.unwrap();
        delete_cookie(&mut conn).await.unwrap();
        drop(conn);
        assert_eq!(s.cookie().await.unwrap(), None);
        let left: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM sync_state WHERE key = 'cookie' OR key GLOB 'cookie.*'",
        )
        .fetch_one(&s.pool)
        .await
        .unwrap();
        assert_eq!(left, 0);
    }

    #[tokio::test]
    async fn a_cookie_stored_as_one_row_before_parts_still_reads() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(&dir.path().join("state.db")).await.unwrap();
        let old = bytes(3 * PART, 4);
        sqlx::query("INSERT INTO sync_state (key, value) VALUES ('cookie', ?)")
            .bind(hex::encode(&old))
            .execute(&s.pool)
            .await
            .unwrap();
        assert_eq!(s.cookie().await.unwrap(), Some(old.clone()));
        // Rewritten in parts: the first part replaces the old row.
        let mut conn = s.pool.acquire().await.unwrap();
        assert_eq!(set_cookie(&mut conn, &old).await.unwrap(), 3);
        drop(conn);
        assert_eq!(s.cookie().await.unwrap(), Some(old));
    }
}
