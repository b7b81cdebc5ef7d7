//! The replica's keys (`replica_keys`, migration 6): each replica object's
//! DN, its members' DNs (a group other than a service group) and the
//! addresses it carries, so that a narrowed run's lookups
//! ([`super::lookup`]) are index seeks instead of scans of every row's
//! JSON.
//!
//! The keys are computed by SQLite from the stored JSON, with the same
//! expressions the lookups used to filter the whole table by (trimmed,
//! lower case; an address is what follows the first `:` of a
//! proxyAddresses value, or `mail`): a lookup finds the rows the scan
//! found, no more, no fewer. They are written in the transaction that
//! writes the replica rows they describe ([`crate::store::Store::commit`]).

use dirsync_model::Guid;

use crate::store::StoreError;

/// The service groups, whose members are not keyed.
const SERVICE_GROUPS: &str =
    "(SELECT value FROM sync_state WHERE key IN ('exchange_group', 'rsemail_group'))";

/// The statements that key the replica rows `{rows}` (a condition on the
/// replica row `r`), into `replica_keys`.
fn statements(rows: &str) -> [String; 4] {
    statements_into("replica_keys", rows)
}

/// The statements that write the keys of the replica rows `{rows}` into
/// `table` (`replica_keys`, or the staging table of [`rekey_diff`]).
fn statements_into(table: &str, rows: &str) -> [String; 4] {
    [
        format!(
            "INSERT OR IGNORE INTO {table} (kind, key, guid) \
             SELECT 'd', lower(trim(json_extract(r.object, '$.dn'))), r.guid FROM replica r WHERE {rows}"
        ),
        format!(
            "INSERT OR IGNORE INTO {table} (kind, key, guid) \
             SELECT 'm', lower(trim(m.value)), r.guid FROM replica r, json_each(r.object, '$.members') m \
             WHERE {rows} AND json_extract(r.object, '$.kind') = 'group' AND r.guid NOT IN {SERVICE_GROUPS}"
        ),
        format!(
            "INSERT OR IGNORE INTO {table} (kind, key, guid) \
             SELECT 'a', lower(trim(substr(p.value, instr(p.value, ':') + 1))), r.guid \
             FROM replica r, json_each(r.object, '$.proxy_addresses') p WHERE {rows}"
        ),
        format!(
            "INSERT OR IGNORE INTO {table} (kind, key, guid) \
             SELECT 'a', lower(trim(json_extract(r.object, '$.mail'))), r.guid FROM replica r \
             WHERE {rows} AND json_extract(r.object, '$.mail') IS NOT NULL"
        ),
    ]
}

/// Keys the whole replica again (after a full read replaced it, or once
/// after the migration that added the keys).
pub(crate) async fn rekey_all(conn: &mut sqlx::SqliteConnection) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM replica_keys")
        .execute(&mut *conn)
        .await?;
    for sql in statements("1") {
        sqlx::query(&sql).execute(&mut *conn).await?;
    }
    sqlx::query("DELETE FROM sync_state WHERE key = 'replica_keys'")
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Keys these objects again: the keys of their rows now are computed
/// aside, and only the difference is written (see [`rekey_diff`]).
pub(crate) async fn rekey(
    conn: &mut sqlx::SqliteConnection,
    guids: &[Guid],
) -> Result<(), StoreError> {
    if guids.is_empty() {
        return Ok(());
    }
    let keys: Vec<String> = guids.iter().map(ToString::to_string).collect();
    let json = serde_json::Value::from(keys).to_string();
    rekey_diff(conn, "SELECT value FROM json_each(?1)", Some(&json)).await
}

/// The staging table of [`rekey_diff`]: the keys the objects rekeyed have
/// now (a temporary table of the commit's connection, emptied after use).
const NEXT_KEYS: &str = "temp.replica_keys_next";

/// Keys again the objects `{objects}` (a query of GUIDs, bound to `bind`
/// as `?1` when given) by writing only what changed: the keys their rows
/// have now are written to a temporary table, the keys they no longer have
/// are deleted from `replica_keys`, and the new ones inserted; the keys they
/// keep are left as they are. Why: a changed list of a few hundred members
/// (or a renamed object) was keyed by deleting and inserting every one of
/// its member keys, and a 1% churn touching most lists rewrote tens of
/// thousands of key rows (and their index pages, through the WAL) for a
/// few hundred member changes.
async fn rekey_diff(
    conn: &mut sqlx::SqliteConnection,
    objects: &str,
    bind: Option<&str>,
) -> Result<(), StoreError> {
    let steps_before = [
        "CREATE TEMP TABLE IF NOT EXISTS replica_keys_next (kind TEXT NOT NULL, key TEXT NOT NULL, \
         guid TEXT NOT NULL, PRIMARY KEY (kind, key, guid)) WITHOUT ROWID"
            .to_string(),
        format!("DELETE FROM {NEXT_KEYS}"),
    ];
    for sql in steps_before {
        sqlx::query(&sql).execute(&mut *conn).await?;
    }
    let rows = format!("r.guid IN ({objects})");
    let mut steps: Vec<String> = statements_into(NEXT_KEYS, &rows).into();
    steps.push(format!(
        "DELETE FROM replica_keys WHERE guid IN ({objects}) AND NOT EXISTS ( \
           SELECT 1 FROM {NEXT_KEYS} n \
           WHERE n.kind = replica_keys.kind AND n.key = replica_keys.key AND n.guid = replica_keys.guid)"
    ));
    steps.push(format!(
        "INSERT OR IGNORE INTO replica_keys (kind, key, guid) SELECT kind, key, guid FROM {NEXT_KEYS}"
    ));
    for sql in steps {
        let mut query = sqlx::query(&sql);
        if let Some(b) = bind {
            if sql.contains("?1") {
                query = query.bind(b);
            }
        }
        query.execute(&mut *conn).await?;
    }
    sqlx::query(&format!("DELETE FROM {NEXT_KEYS}"))
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// The objects a staged commit keys again (a temporary table of the
/// commit's connection, filled by [`replace_from_staging`] and emptied by
/// [`rekey_staged`]).
const CHANGED: &str = "temp.replica_changed";

/// Replaces the replica with the staged full read (`replica_next`) by
/// writing only the rows that differ: the objects no longer read are
/// deleted, the new ones and those whose JSON changed (its hash differs, or
/// the stored row has none yet) are written, the rest are left as they are.
/// Why: a full run that changed nothing rewrote every row of the replica and
/// its keys (seconds at 100,000 objects); now its commit reads the two
/// tables side by side and writes nothing. The objects written or deleted,
/// and the service groups as they were before (whose members' keys depend on
/// being one), are noted for [`rekey_staged`]. Empties `replica_next`.
pub(crate) async fn replace_from_staging(
    conn: &mut sqlx::SqliteConnection,
) -> Result<(), StoreError> {
    let steps = [
        "CREATE TEMP TABLE IF NOT EXISTS replica_changed (guid TEXT PRIMARY KEY)".to_string(),
        format!("DELETE FROM {CHANGED}"),
        format!(
            "INSERT OR IGNORE INTO {CHANGED} (guid) SELECT r.guid FROM replica r \
             WHERE NOT EXISTS (SELECT 1 FROM replica_next n WHERE n.guid = r.guid)"
        ),
        format!(
            "INSERT OR IGNORE INTO {CHANGED} (guid) SELECT n.guid FROM replica_next n \
             LEFT JOIN replica r ON r.guid = n.guid \
             WHERE r.guid IS NULL OR r.hash IS NULL OR n.hash IS NULL OR r.hash <> n.hash"
        ),
        format!("INSERT OR IGNORE INTO {CHANGED} (guid) SELECT value FROM {SERVICE_GROUPS}"),
        "DELETE FROM replica \
         WHERE NOT EXISTS (SELECT 1 FROM replica_next n WHERE n.guid = replica.guid)"
            .to_string(),
        format!(
            "INSERT OR REPLACE INTO replica (guid, object, hash) \
             SELECT n.guid, n.object, n.hash FROM replica_next n \
             WHERE n.guid IN (SELECT guid FROM {CHANGED})"
        ),
        "DELETE FROM replica_next".to_string(),
    ];
    for sql in steps {
        sqlx::query(&sql).execute(&mut *conn).await?;
    }
    Ok(())
}

/// Keys again the objects [`replace_from_staging`] noted, and the service
/// groups as they are now (the commit has written them): the keys of their
/// rows now (none for a deleted one) replace their old ones, only the
/// difference written ([`rekey_diff`]).
/// The keys of every other object stay as they were: their rows did not
/// change, nor did whether they are a service group.
pub(crate) async fn rekey_staged(conn: &mut sqlx::SqliteConnection) -> Result<(), StoreError> {
    sqlx::query(&format!(
        "INSERT OR IGNORE INTO {CHANGED} (guid) SELECT value FROM {SERVICE_GROUPS}"
    ))
    .execute(&mut *conn)
    .await?;
    rekey_diff(conn, &format!("SELECT guid FROM {CHANGED}"), None).await?;
    sqlx::query(&format!("DELETE FROM {CHANGED}"))
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Keys the replica once if the migration that added the keys found rows
/// in it (its `replica_keys` mark).
pub(crate) async fn rekey_if_marked(pool: &sqlx::SqlitePool) -> Result<(), StoreError> {
    let marked = sqlx::query("SELECT 1 FROM sync_state WHERE key = 'replica_keys'")
        .fetch_optional(pool)
        .await?
        .is_some();
    if marked {
        let mut tx = pool.begin().await?;
        rekey_all(&mut tx).await?;
        tx.commit().await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use dirsync_model::DirectoryObject;
    use sqlx::Row;

    use crate::mapping::tests::{group, snapshot, user};
    use crate::store::Store;

    /// Every key row as (kind, key, DN of the object keyed).
    async fn keys(s: &Store) -> BTreeSet<(String, String, String)> {
        let rows = sqlx::query(
            "SELECT k.kind, k.key, json_extract(r.object, '$.dn') AS dn \
             FROM replica_keys k LEFT JOIN replica r ON r.guid = k.guid",
        )
        .fetch_all(&s.pool)
        .await
        .unwrap();
        rows.iter()
            .map(|r| {
                let dn: Option<String> = r.get("dn");
                (
                    r.get("kind"),
                    r.get("key"),
                    dn.unwrap_or_else(|| "(no replica row)".into()),
                )
            })
            .collect()
    }

    fn set(rows: &[(&str, &str, &str)]) -> BTreeSet<(String, String, String)> {
        rows.iter()
            .map(|(k, key, dn)| (k.to_string(), key.to_string(), dn.to_string()))
            .collect()
    }

    const ANN: &str = "CN=Ann,OU=Staff,DC=example,DC=com";
    const BOB: &str = "CN=Bob,OU=Staff,DC=example,DC=com";
    const SALES: &str = "CN=Sales,OU=Groups,DC=example,DC=com";
    const EXG: &str = "CN=Exchange Users,OU=Groups,DC=example,DC=com";
    const RSG: &str = "CN=Rackspace Email Users,OU=Groups,DC=example,DC=com";

    /// The keys follow the replica through a full commit, an insert, an
    /// address change, a member change, a rename and a delete; the service
    /// groups' members are not keyed.
    #[tokio::test]
    async fn keys_follow_every_replica_write() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(&dir.path().join("state.db")).await.unwrap();
        let mut ann = user(1, "Ann", Some(" Ann@Example.com"));
        ann.proxy_addresses = vec!["SMTP:ann@example.com".into(), "smtp:A@Example.com ".into()];
        let bob = user(2, "Bob", Some("bob@example.com"));
        let sales = group(10, "Sales", Some("sales@example.com"), &[&ann]);
        let snap = snapshot(
            vec![ann.clone(), bob.clone(), sales.clone()],
            vec![],
            vec![],
        );
        s.commit_directory(Some(&snap), &[], &[], Some(b"c1"))
            .await
            .unwrap();
        let lower = |d: &str| d.to_ascii_lowercase();
        let mut want = set(&[
            ("d", &lower(ANN), ANN),
            ("d", &lower(BOB), BOB),
            ("d", &lower(SALES), SALES),
            ("d", &lower(EXG), EXG),
            ("d", &lower(RSG), RSG),
            ("a", "ann@example.com", ANN),
            ("a", "a@example.com", ANN),
            ("a", "bob@example.com", BOB),
            ("a", "sales@example.com", SALES),
            ("m", &lower(ANN), SALES),
        ]);
        assert_eq!(keys(&s).await, want, "after the full commit");

        // Insert: a new user; change: Bob's address; Sales gains a member.
        let cat = user(3, "Cat", Some("cat@example.com"));
        let mut bob2 = bob.clone();
        bob2.mail = Some("robert@example.com".into());
        let mut sales2 = sales.clone();
        sales2.members.push(BOB.into());
        let ups: Vec<&DirectoryObject> = vec![&cat, &bob2, &sales2];
        s.commit_directory(None, &ups, &[], Some(b"c2"))
            .await
            .unwrap();
        let cat_dn = "CN=Cat,OU=Staff,DC=example,DC=com";
        want.remove(&("a".into(), "bob@example.com".into(), BOB.into()));
        want.extend(set(&[
            ("d", &lower(cat_dn), cat_dn),
            ("a", "cat@example.com", cat_dn),
            ("a", "robert@example.com", BOB),
            ("m", &lower(BOB), SALES),
        ]));
        assert_eq!(keys(&s).await, want, "after insert and changes");

        // Rename: Ann's DN changes (and Sales' member with it); delete: Cat.
        let mut ann2 = ann.clone();
        ann2.dn = "CN=Ann Lee,OU=Staff,DC=example,DC=com".into();
        let mut sales3 = sales2.clone();
        sales3.members = vec![ann2.dn.clone(), BOB.into()];
        let ups: Vec<&DirectoryObject> = vec![&ann2, &sales3];
        s.commit_directory(None, &ups, &[cat.guid], Some(b"c3"))
            .await
            .unwrap();
        let renamed = ann2.dn.as_str();
        let want_now = set(&[
            ("d", &lower(renamed), renamed),
            ("d", &lower(BOB), BOB),
            ("d", &lower(SALES), SALES),
            ("d", &lower(EXG), EXG),
            ("d", &lower(RSG), RSG),
            ("a", "ann@example.com", renamed),
            ("a", "a@example.com", renamed),
            ("a", "robert@example.com", BOB),
            ("a", "sales@example.com", SALES),
            ("m", &lower(renamed), SALES),
            ("m", &lower(BOB), SALES),
        ]);
        assert_eq!(keys(&s).await, want_now, "after rename and delete");

        // The lookups seek the keys: by DN, by member, by address.
        let dns = |v: Vec<DirectoryObject>| -> Vec<String> {
            let mut d: Vec<String> = v.into_iter().map(|o| o.dn).collect();
            d.sort();
            d
        };
        assert_eq!(
            dns(s.replica_by_dn(&[lower(BOB), lower(ANN)]).await.unwrap()),
            vec![BOB.to_string()]
        );
        assert_eq!(
            dns(s.replica_groups_with_member(&[lower(BOB)]).await.unwrap()),
            vec![SALES.to_string()]
        );
        assert_eq!(
            dns(s
                .replica_address_holders(&["a@example.com".into(), "bob@example.com".into()])
                .await
                .unwrap()),
            vec![renamed.to_string()]
        );

        // A full commit keys the replica again from scratch.
        let snap = snapshot(vec![bob2.clone()], vec![], vec![]);
        s.commit_directory(Some(&snap), &[], &[], Some(b"c4"))
            .await
            .unwrap();
        let want_full = set(&[
            ("d", &lower(BOB), BOB),
            ("d", &lower(EXG), EXG),
            ("d", &lower(RSG), RSG),
            ("a", "robert@example.com", BOB),
        ]);
        assert_eq!(keys(&s).await, want_full, "after a second full commit");
    }

    /// Every key row of the replica as [`super::rekey_all`] writes it.
    async fn keys_from_scratch(s: &Store) -> BTreeSet<(String, String, String)> {
        let mut tx = s.pool.begin().await.unwrap();
        super::rekey_all(&mut tx).await.unwrap();
        let rows = sqlx::query(
            "SELECT k.kind, k.key, json_extract(r.object, '$.dn') AS dn \
             FROM replica_keys k LEFT JOIN replica r ON r.guid = k.guid",
        )
        .fetch_all(&mut *tx)
        .await
        .unwrap();
        tx.rollback().await.unwrap();
        rows.iter()
            .map(|r| {
                let dn: Option<String> = r.get("dn");
                (r.get("kind"), r.get("key"), dn.unwrap_or_default())
            })
            .collect()
    }

    async fn stage_and_commit(s: &Store, snap: &dirsync_model::DirectorySnapshot) {
        s.stage_replica(snap).await.unwrap();
        s.commit(crate::store::Commit {
            staged: Some((snap.exchange_group, snap.rsemail_group)),
            ..Default::default()
        })
        .await
        .unwrap();
    }

    /// A staged (full) commit keys again only the objects whose row it
    /// wrote or deleted, and the service groups: a key row planted on an
    /// unchanged object survives it (a rekey of the whole table would drop
    /// it), the changed object's old address is gone and its new one found
    /// by the lookups, and the keys are those a rekey from scratch writes.
    #[tokio::test]
    async fn a_staged_commit_rekeys_only_what_changed() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(&dir.path().join("state.db")).await.unwrap();
        let ann = user(1, "Ann", Some("ann@example.com"));
        let bob = user(2, "Bob", Some("bob@example.com"));
        let cat = user(3, "Cat", Some("cat@example.com"));
        let sales = group(10, "Sales", Some("sales@example.com"), &[&ann]);
        let snap = snapshot(
            vec![ann.clone()],
            vec![],
            vec![bob.clone(), cat.clone(), sales.clone()],
        );
        stage_and_commit(&s, &snap).await;
        assert_eq!(keys(&s).await, keys_from_scratch(&s).await, "first commit");
        assert!(keys(&s).await.contains(&(
            "m".to_string(),
            ANN.to_ascii_lowercase(),
            SALES.to_string()
        )));

        // A key no rekey would write, on Bob, who does not change.
        let plant = || async {
            sqlx::query("INSERT INTO replica_keys (kind, key, guid) VALUES ('a', 'planted@x', ?)")
                .bind(bob.guid.to_string())
                .execute(&s.pool)
                .await
                .unwrap();
        };
        let planted = ("a".to_string(), "planted@x".to_string(), BOB.to_string());
        plant().await;

        // Ann's address changes, Cat goes, Dan comes, Sales gains Bob.
        let mut ann2 = ann.clone();
        ann2.mail = Some("ann.lee@example.com".into());
        let dan = user(4, "Dan", Some("dan@example.com"));
        let mut sales2 = sales.clone();
        sales2.members.push(BOB.into());
        let snap2 = snapshot(
            vec![ann2.clone()],
            vec![],
            vec![bob.clone(), dan.clone(), sales2.clone()],
        );
        stage_and_commit(&s, &snap2).await;
        let mut got = keys(&s).await;
        assert!(got.remove(&planted), "Bob was keyed again: {got:?}");
        assert_eq!(got, keys_from_scratch(&s).await, "after the changes");
        let dns =
            |v: Vec<DirectoryObject>| -> Vec<String> { v.into_iter().map(|o| o.dn).collect() };
        assert_eq!(
            dns(s
                .replica_address_holders(&["ann.lee@example.com".into()])
                .await
                .unwrap()),
            vec![ANN.to_string()]
        );
        assert!(s
            .replica_address_holders(&["ann@example.com".into(), "cat@example.com".into()])
            .await
            .unwrap()
            .is_empty());
        assert_eq!(
            dns(s
                .replica_groups_with_member(&[BOB.to_ascii_lowercase()])
                .await
                .unwrap()),
            vec![SALES.to_string()]
        );
        let mut replica = s.replica().await.unwrap().objects;
        let mut want = snap2.objects.clone();
        replica.sort_by_key(|o| o.guid);
        want.sort_by_key(|o| o.guid);
        assert_eq!(replica, want, "the replica is the staged read");

        // Sales becomes the Exchange group, nothing else changes: its
        // members are no longer keyed; Bob still is not keyed again.
        let mut snap3 = snap2.clone();
        snap3.exchange_group = Some(sales.guid);
        stage_and_commit(&s, &snap3).await;
        let mut got = keys(&s).await;
        assert!(got.remove(&planted), "Bob was keyed again: {got:?}");
        assert_eq!(got, keys_from_scratch(&s).await, "after the group change");
        assert!(s
            .replica_groups_with_member(&[BOB.to_ascii_lowercase()])
            .await
            .unwrap()
            .is_empty());
    }

    /// Keying a changed object again writes only the keys it gained and
    /// deletes only those it lost: a list that swaps one member of three
    /// costs one key row deleted and one inserted (counted by triggers on
    /// the commit's connection), and ends with the keys a rekey from scratch
    /// writes.
    #[tokio::test]
    async fn a_rekey_writes_only_the_keys_that_changed() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(&dir.path().join("state.db")).await.unwrap();
        let ann = user(1, "Ann", Some("ann@example.com"));
        let bob = user(2, "Bob", Some("bob@example.com"));
        let cat = user(3, "Cat", Some("cat@example.com"));
        let sales = group(10, "Sales", Some("sales@example.com"), &[&ann, &bob, &cat]);
        let snap = snapshot(
            vec![ann.clone(), bob.clone(), cat.clone()],
            vec![],
            vec![sales.clone()],
        );
        s.commit_directory(Some(&snap), &[], &[], Some(b"c1"))
            .await
            .unwrap();
        let mut conn = s.pool.acquire().await.unwrap();
        for sql in [
            "CREATE TEMP TABLE written (op TEXT, kind TEXT, key TEXT)",
            "CREATE TEMP TRIGGER keys_ins AFTER INSERT ON main.replica_keys \
             BEGIN INSERT INTO written VALUES ('insert', new.kind, new.key); END",
            "CREATE TEMP TRIGGER keys_del AFTER DELETE ON main.replica_keys \
             BEGIN INSERT INTO written VALUES ('delete', old.kind, old.key); END",
        ] {
            sqlx::query(sql).execute(&mut *conn).await.unwrap();
        }
        let dan_dn = "CN=Dan,OU=Staff,DC=example,DC=com";
        let mut sales2 = sales.clone();
        sales2.members = vec![
            ANN.into(),
            dan_dn.into(),
            "CN=Cat,OU=Staff,DC=example,DC=com".into(),
        ];
        sqlx::query("UPDATE replica SET object = ? WHERE guid = ?")
            .bind(serde_json::to_string(&sales2).unwrap())
            .bind(sales.guid.to_string())
            .execute(&mut *conn)
            .await
            .unwrap();
        super::rekey(&mut conn, &[sales.guid]).await.unwrap();
        let written: BTreeSet<(String, String, String)> =
            sqlx::query("SELECT op, kind, key FROM written")
                .fetch_all(&mut *conn)
                .await
                .unwrap()
                .iter()
                .map(|r| (r.get("op"), r.get("kind"), r.get("key")))
                .collect();
        let row = |op: &str, key: &str| (op.to_string(), "m".to_string(), key.to_ascii_lowercase());
        assert_eq!(
            written,
            BTreeSet::from([row("delete", BOB), row("insert", dan_dn)])
        );
        drop(conn);
        assert_eq!(keys(&s).await, keys_from_scratch(&s).await);
    }

    /// A replica written before the keys existed is keyed when the store is
    /// next opened (the migration's mark), once.
    #[tokio::test]
    async fn a_marked_replica_is_keyed_on_open() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.db");
        let s = Store::open(&path).await.unwrap();
        let ann = user(1, "Ann", Some("ann@example.com"));
        let sales = group(10, "Sales", None, &[&ann]);
        let snap = snapshot(vec![ann, sales], vec![], vec![]);
        s.commit_directory(Some(&snap), &[], &[], Some(b"c1"))
            .await
            .unwrap();
        let keyed = keys(&s).await;
        assert_eq!(keyed.len(), 6, "{keyed:?}");
        // As the migration leaves a replica written by an older dirsync.
        sqlx::query("DELETE FROM replica_keys")
            .execute(&s.pool)
            .await
            .unwrap();
        sqlx::query("INSERT INTO sync_state (key, value) VALUES ('replica_keys', 'stale')")
            .execute(&s.pool)
            .await
            .unwrap();
        drop(s);
        let s = Store::open(&path).await.unwrap();
        assert_eq!(keys(&s).await, keyed);
        let mark = sqlx::query("SELECT 1 FROM sync_state WHERE key = 'replica_keys'")
            .fetch_optional(&s.pool)
            .await
            .unwrap();
        assert!(mark.is_none());
    }
}
