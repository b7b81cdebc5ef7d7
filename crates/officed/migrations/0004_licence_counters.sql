-- officed schema, version 4: licence use kept as counters, and an index of
-- the live (not deleted) mailboxes.
--
-- Every mailbox create checked its licence by counting the domain's live
-- mailboxes of its service, a count that visited every mailbox row to test
-- deleted_at: a create got slower as the domain grew (bench-officed: 1,736
-- creates/s at 645 mailboxes, 547/s at 12,520). The counters are changed
-- in the same transaction as the mailbox, under the domain's lock row:
-- +1 on create and recover (only while below the licences), -1 on delete.
-- The domain's usage on the wire is read from the counters too. The index
-- serves the list pages (in name order) and their totals from index entries.

ALTER TABLE domains ADD COLUMN ex_used BIGINT NOT NULL DEFAULT 0;
ALTER TABLE domains ADD COLUMN rs_used BIGINT NOT NULL DEFAULT 0;

UPDATE domains SET
    ex_used = (SELECT COUNT(*) FROM mailboxes m WHERE m.domain_id = domains.id AND m.service = 'ex' AND m.deleted_at IS NULL),
    rs_used = (SELECT COUNT(*) FROM mailboxes m WHERE m.domain_id = domains.id AND m.service = 'rs' AND m.deleted_at IS NULL);

CREATE INDEX mailboxes_live ON mailboxes(domain_id, service, deleted_at, name_key);
