//! The state store lookups of a narrowed run: objects of the replica (or
//! only their GUIDs) by DN, the groups that hold a DN as member, the
//! objects and anchors that hold an address, and the verification times
//! of a few objects.
//!
//! Each lookup is an index seek per key asked in the replica's keys
//! ([`super::keys`]) and returns the few rows that match, so the run never
//! loads, maps or scans the replica. The keys are coarse (lower case,
//! trimmed); the caller checks each row it gets with the mapping's own
//! parsing.

use std::collections::HashMap;

use dirsync_model::{DirectoryObject, EmailAddress, Guid};
use futures::TryStreamExt;
use sqlx::Row;

use super::pins::{PinAnchor, PinRow};
use crate::store::{anchor_row, corrupt, guid_pairs, kind_from, service_from, Store, StoreError};
use crate::types::Anchor;

fn keys_json(keys: &[String]) -> String {
    serde_json::Value::from(keys.to_vec()).to_string()
}

impl Store {
    /// The replica objects with a key of `kind` (see [`super::keys`]) among
    /// `keys`: one index seek per key.
    async fn replica_keyed(
        &self,
        kind: &str,
        keys: &[String],
    ) -> Result<Vec<DirectoryObject>, StoreError> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let json = keys_json(keys);
        let mut rows = sqlx::query(
            "SELECT object FROM replica WHERE guid IN ( \
               SELECT guid FROM replica_keys WHERE kind = ?1 AND key IN (SELECT value FROM json_each(?2)))",
        )
        .bind(kind)
        .bind(&json)
        .fetch(&self.pool);
        let mut out = Vec::new();
        while let Some(r) = rows.try_next().await? {
            let j: String = r.try_get("object")?;
            out.push(serde_json::from_str(&j).map_err(|e| corrupt("replica object", e))?);
        }
        Ok(out)
    }

    /// The replica objects whose DN (trimmed, lower case) is one of `dns`
    /// (given trimmed and lower case).
    pub(crate) async fn replica_by_dn(
        &self,
        dns: &[String],
    ) -> Result<Vec<DirectoryObject>, StoreError> {
        self.replica_keyed("d", dns).await
    }

    /// The replica objects whose DN (trimmed, lower case) is one of `dns`
    /// (given so), each with what pinning needs of its anchor
    /// ([`PinRow`]), in one query: a DN two objects share comes back
    /// twice. The pins of a churn that touches most large lists are tens
    /// of thousands of members; their GUIDs were looked up by DN, then
    /// their whole anchors by GUID (a second list of tens of thousands
    /// bound, every anchor's DN and hash decoded), 0.2–0.7 s at 50,000
    /// users; joined here and reduced to the columns pinning reads.
    pub(crate) async fn pin_rows_by_dn(&self, dns: &[String]) -> Result<Vec<PinRow>, StoreError> {
        if dns.is_empty() {
            return Ok(Vec::new());
        }
        let json = keys_json(dns);
        let mut rows = sqlx::query(
            "SELECT k.key, k.guid, a.kind, a.service, a.address, a.disabled_at IS NOT NULL AS disabled \
             FROM replica_keys k LEFT JOIN anchors a ON a.guid = k.guid \
             WHERE k.kind = 'd' AND k.key IN (SELECT value FROM json_each(?1))",
        )
        .bind(&json)
        .fetch(&self.pool);
        let mut out = Vec::with_capacity(dns.len());
        while let Some(r) = rows.try_next().await? {
            let guid: &str = r.try_get("guid")?;
            let kind: Option<&str> = r.try_get("kind")?;
            let anchor = match kind {
                None => None,
                Some(kind) => {
                    let address: &str = r.try_get("address")?;
                    Some(PinAnchor {
                        kind: kind_from(kind)?,
                        service: service_from(r.try_get("service")?)?,
                        disabled: r.try_get("disabled")?,
                        address: EmailAddress::parse(address)
                            .map_err(|e| corrupt("anchor address", e))?
                            .lower()
                            .to_string(),
                    })
                }
            };
            out.push(PinRow {
                guid: guid.parse().map_err(|e| corrupt("replica key guid", e))?,
                dn: r.try_get("key")?,
                anchor,
            });
        }
        Ok(out)
    }

    /// The replica groups other than the service groups that have one of
    /// `dns` (trimmed, lower case) as a member.
    pub(crate) async fn replica_groups_with_member(
        &self,
        dns: &[String],
    ) -> Result<Vec<DirectoryObject>, StoreError> {
        self.replica_keyed("m", dns).await
    }

    /// The replica objects that may hold one of `addresses` (lower case)
    /// in `mail` or `proxyAddresses`.
    pub(crate) async fn replica_address_holders(
        &self,
        addresses: &[String],
    ) -> Result<Vec<DirectoryObject>, StoreError> {
        self.replica_keyed("a", addresses).await
    }

    /// The anchors at one of `addresses` (lower case): (GUID, lower address).
    pub(crate) async fn anchors_at(
        &self,
        addresses: &[String],
    ) -> Result<Vec<(Guid, String)>, StoreError> {
        if addresses.is_empty() {
            return Ok(Vec::new());
        }
        let rows = sqlx::query(
            "SELECT guid, lower(address) AS address FROM anchors \
             WHERE lower(address) IN (SELECT value FROM json_each(?1))",
        )
        .bind(keys_json(addresses))
        .fetch_all(&self.pool)
        .await?;
        guid_pairs(&rows, "address", "anchor guid")
    }

    /// The anchors of these objects (those that have one), in one query
    /// whatever their number, each row decoded as it comes: a narrowed
    /// run's list members (tens of thousands when a churn touches most
    /// large lists) were asked 999 at a time, one statement and its bound
    /// parameters per batch. The lookups here stream their rows rather than
    /// holding every raw row beside what is made of them.
    pub(crate) async fn anchors_by_guid(&self, guids: &[Guid]) -> Result<Vec<Anchor>, StoreError> {
        if guids.is_empty() {
            return Ok(Vec::new());
        }
        let keys: Vec<String> = guids.iter().map(ToString::to_string).collect();
        let json = keys_json(&keys);
        drop(keys);
        let mut rows = sqlx::query(
            "SELECT guid, kind, service, address, dn, hash, disabled_at FROM anchors \
             WHERE guid IN (SELECT value FROM json_each(?1))",
        )
        .bind(&json)
        .fetch(&self.pool);
        let mut out = Vec::with_capacity(guids.len());
        while let Some(r) = rows.try_next().await? {
            out.push(anchor_row(&r)?);
        }
        Ok(out)
    }

    /// When these objects were last verified (those that were).
    pub(crate) async fn verified_of(
        &self,
        guids: &[Guid],
    ) -> Result<HashMap<Guid, i64>, StoreError> {
        if guids.is_empty() {
            return Ok(HashMap::new());
        }
        let keys: Vec<String> = guids.iter().map(ToString::to_string).collect();
        let rows = sqlx::query(
            "SELECT guid, verified_at FROM verified WHERE guid IN (SELECT value FROM json_each(?1))",
        )
        .bind(keys_json(&keys))
        .fetch_all(&self.pool)
        .await?;
        Ok(guid_pairs::<i64>(&rows, "verified_at", "verified guid")?
            .into_iter()
            .collect())
    }
}
