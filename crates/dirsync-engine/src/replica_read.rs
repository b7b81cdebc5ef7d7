//! The directory replica as the state store keeps it, read back: whole
//! (an incremental run that is not narrowed replays it), a page at a time,
//! by key, or only its groups' membership. Split from [`crate::store`],
//! which owns the store itself, its migrations and its writes.

use std::collections::HashMap;

use dirsync_model::{DirectoryObject, Guid};
use sqlx::Row;

use crate::store::{corrupt, Store, StoreError, MAX_PARAMS};

impl Store {
    /// These objects of the replica (those it holds), looked up by their
    /// key a batch at a time.
    pub async fn replica_objects(
        &self,
        guids: &[Guid],
    ) -> Result<Vec<DirectoryObject>, StoreError> {
        self.objects_in("replica", "replica object", guids).await
    }

    /// These objects of the staged read (`replica_next`), by GUID, looked
    /// up a batch at a time: what the mapping of a staged read maps.
    pub(crate) async fn staged_objects(
        &self,
        guids: &[Guid],
    ) -> Result<HashMap<Guid, DirectoryObject>, StoreError> {
        let objects = self
            .objects_in("replica_next", "staged object", guids)
            .await?;
        Ok(objects.into_iter().map(|o| (o.guid, o)).collect())
    }

    /// The objects of `table` (`replica` or `replica_next`) with these
    /// GUIDs, a batch of keys per query; `what` names a row that does not
    /// decode.
    async fn objects_in(
        &self,
        table: &'static str,
        what: &'static str,
        guids: &[Guid],
    ) -> Result<Vec<DirectoryObject>, StoreError> {
        let mut out = Vec::with_capacity(guids.len());
        for chunk in guids.chunks(MAX_PARAMS) {
            let mut q = sqlx::QueryBuilder::<sqlx::Sqlite>::new(format!(
                "SELECT object FROM {table} WHERE guid IN "
            ));
            q.push_tuples(chunk, |mut b, g| {
                b.push_bind(g.to_string());
            });
            for r in q.build().fetch_all(&self.pool).await? {
                let j: String = r.try_get("object")?;
                out.push(serde_json::from_str(&j).map_err(|e| corrupt(what, e))?);
            }
        }
        Ok(out)
    }

    /// True once a full read was committed (an incremental run needs it).
    pub async fn has_replica(&self) -> Result<bool, StoreError> {
        Ok(self.state("replica_full_at").await?.is_some())
    }

    /// The service groups of the committed replica (Exchange, Rackspace Email).
    pub async fn replica_groups(&self) -> Result<(Option<Guid>, Option<Guid>), StoreError> {
        let parse_guid = |v: Option<String>| -> Result<Option<Guid>, StoreError> {
            v.filter(|s| !s.is_empty())
                .map(|s| s.parse().map_err(|e| corrupt("service group guid", e)))
                .transpose()
        };
        Ok((
            parse_guid(self.state("exchange_group").await?)?,
            parse_guid(self.state("rsemail_group").await?)?,
        ))
    }

    /// Up to `limit` replica rows (GUID text, object JSON) with a GUID
    /// after `after`, in GUID order: the replica read a page at a time.
    pub async fn replica_page(
        &self,
        after: &str,
        limit: i64,
    ) -> Result<Vec<(String, String)>, StoreError> {
        let rows =
            sqlx::query("SELECT guid, object FROM replica WHERE guid > ? ORDER BY guid LIMIT ?")
                .bind(after)
                .bind(limit)
                .fetch_all(&self.pool)
                .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("guid")?, r.try_get("object")?)))
            .collect()
    }

    /// The replica as a snapshot (service groups and objects).
    pub async fn replica(&self) -> Result<dirsync_model::DirectorySnapshot, StoreError> {
        let (exchange_group, rsemail_group) = self.replica_groups().await?;
        let rows = sqlx::query("SELECT object FROM replica ORDER BY guid")
            .fetch_all(&self.pool)
            .await?;
        let mut objects = Vec::with_capacity(rows.len());
        for r in rows {
            let j: String = r.try_get("object")?;
            objects.push(
                serde_json::from_str::<DirectoryObject>(&j)
                    .map_err(|e| corrupt("replica object", e))?,
            );
        }
        Ok(dirsync_model::DirectorySnapshot {
            exchange_group,
            rsemail_group,
            objects,
        })
    }

    /// The groups' membership at the last sync ([`crate::guard::Membership`]
    /// of the replica), read row by row: only each object's DN and the
    /// groups are kept, never the whole replica. Why: a full run compares
    /// the groups against the last sync (DS204) while it holds this run's
    /// read; loading the replica whole for it held the directory twice.
    pub(crate) async fn replica_membership(&self) -> Result<crate::guard::Membership, StoreError> {
        use futures::TryStreamExt;
        let (ex, rs) = self.replica_groups().await?;
        let service = [ex, rs];
        let mut index = crate::guard::MemberIndex::default();
        let mut groups: Vec<DirectoryObject> = Vec::new();
        let mut rows = sqlx::query("SELECT object FROM replica ORDER BY guid").fetch(&self.pool);
        while let Some(r) = rows.try_next().await? {
            let j: String = r.try_get("object")?;
            let o = serde_json::from_str::<DirectoryObject>(&j)
                .map_err(|e| corrupt("replica object", e))?;
            index.add_dn(&o);
            if crate::guard::MemberIndex::keeps(&o, service) {
                groups.push(o);
            }
        }
        let by_guid = groups.iter().map(|g| (g.guid, g)).collect();
        Ok(index.membership(service, &by_guid))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The last sync's group membership read row by row from the replica
    /// is the one of the whole replica: service groups, their member lists
    /// (one nested in both), members known by GUID and one only by DN.
    #[tokio::test]
    async fn replica_membership_is_the_whole_replicas() {
        use crate::guard::Membership;
        use crate::mapping::tests::{group, snapshot, user};
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(&dir.path().join("state.db")).await.unwrap();
        let u: Vec<DirectoryObject> = (1..=6)
            .map(|i| user(i, &format!("U{i}"), Some(&format!("u{i}@example.com"))))
            .collect();
        let mut outside = user(9, "Outside", None);
        outside.dn = "CN=Outside,OU=Elsewhere,DC=example,DC=com".into();
        let sales = group(
            100,
            "Sales",
            Some("sales@example.com"),
            &[&u[0], &u[1], &outside],
        );
        let mut ex = u[..4].to_vec();
        ex.push(sales.clone());
        let snap = snapshot(ex, vec![u[4].clone(), u[5].clone(), sales], vec![]);
        s.commit_directory(Some(&snap), &[], &[], Some(b"c"))
            .await
            .unwrap();
        let whole = Membership::of(&s.replica().await.unwrap());
        assert_ne!(whole, Membership::default());
        assert_eq!(s.replica_membership().await.unwrap(), whole);
        assert_eq!(whole, Membership::of(&snap));
    }
}
