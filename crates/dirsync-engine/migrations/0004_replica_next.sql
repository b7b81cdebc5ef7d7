-- A full read staged for its commit (issue 12): a run writes the snapshot
-- here once it has mapped it, and drops it from memory; the commit then
-- replaces the replica with these rows in its one transaction. Empty
-- between runs.
CREATE TABLE replica_next (
    guid   TEXT PRIMARY KEY,
    object TEXT NOT NULL
);
