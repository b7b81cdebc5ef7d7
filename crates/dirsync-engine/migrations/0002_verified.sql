-- The rolling verification: when dirsync last read each synced object's
-- details from the control panel and found them as it wants them (or
-- repaired them); verified_at in unix milliseconds. No foreign key: anchors are rewritten by replacing rows.
CREATE TABLE verified (
    guid        TEXT PRIMARY KEY,
    verified_at INTEGER NOT NULL,
    repaired    INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX verified_at ON verified (verified_at);
