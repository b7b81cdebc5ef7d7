-- The rolling verification's sample in a narrowed run (verify.rs, Store::oldest_verified)
-- takes the synced objects verified longest ago, ties broken by GUID. A full run stamps every
-- object with one verified_at, so the index on verified_at alone (its ties in rowid order)
-- left SQLite to join and sort every anchor: 0.08-0.10 s per run at 50,000 users. With
-- (verified_at, guid) the sample walks the index in its order and stops at its size. The old
-- index is dropped: this one serves its query (the latest verification) as well.
CREATE INDEX verified_at_guid ON verified (verified_at, guid);
DROP INDEX verified_at;
