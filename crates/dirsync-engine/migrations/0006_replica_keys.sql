-- The replica's keys (issue 12): a narrowed incremental run looks objects up by DN, the lists
-- that hold a DN as member and the objects that carry an address. Before, each lookup parsed
-- every replica row's JSON (json_each over the whole table); with this table each is an index
-- seek. Rows: kind 'd' = the object's DN, 'm' = a member DN of a group other than a service
-- group (the narrowed run reads those from the groups themselves), 'a' = an address in mail
-- or proxyAddresses; key = trimmed and lower case, as the lookups ask. Written by the store in
-- the same transaction as the replica rows it describes (narrow/keys.rs holds the SQL).
CREATE TABLE replica_keys (
    kind TEXT NOT NULL,
    key  TEXT NOT NULL,
    guid TEXT NOT NULL,
    PRIMARY KEY (kind, key, guid)
) WITHOUT ROWID;
CREATE INDEX replica_keys_guid ON replica_keys (guid);
-- The anchors looked up by address, case-blind (Store::anchors_at).
CREATE INDEX anchors_address_lower ON anchors (lower(address));
-- Rows already in the replica are keyed once, when the store is next opened (the SQL that
-- writes the keys lives in one place, narrow/keys.rs).
INSERT INTO sync_state (key, value) SELECT 'replica_keys', 'stale' WHERE EXISTS (SELECT 1 FROM replica);
