-- The API requests sent in the current clock minute (UTC), per endpoint
-- and customer ("scope") and class ("get" or "write"), shared by every
-- process on this state store (issue 12): a new `dirsync sync` starts
-- knowing what the previous run, or the service beside it, spent of the
-- key's per-minute limits. One row per scope and class; a new minute
-- restarts its count. "granted" is what the last take got (returned by
-- the same statement).
CREATE TABLE pace (
    scope TEXT NOT NULL,
    class TEXT NOT NULL,
    minute INTEGER NOT NULL,
    sent INTEGER NOT NULL,
    granted INTEGER NOT NULL,
    PRIMARY KEY (scope, class)
);
