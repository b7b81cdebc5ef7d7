-- Anchors: objectGUID -> the control-panel object it is tied to.
CREATE TABLE anchors (
    guid        TEXT PRIMARY KEY,
    kind        TEXT NOT NULL,
    service     TEXT NOT NULL,
    address     TEXT NOT NULL,
    dn          TEXT NOT NULL,
    hash        TEXT NOT NULL,
    disabled_at INTEGER,
    updated_at  INTEGER NOT NULL
);
CREATE INDEX anchors_address ON anchors (address);

-- The local replica of the directory objects in scope (JSON), so that an
-- incremental read can be applied and the desired state recomputed.
CREATE TABLE replica (
    guid   TEXT PRIMARY KEY,
    object TEXT NOT NULL
);

-- Key/value state committed with the replica: the directory cookie, the
-- service group GUIDs of the last full read.
CREATE TABLE sync_state (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- Run history.
CREATE TABLE runs (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    started_at  TEXT NOT NULL,
    finished_at TEXT,
    trigger     TEXT NOT NULL,
    mode        TEXT NOT NULL,
    full        INTEGER NOT NULL,
    status      TEXT NOT NULL,
    counts      TEXT,
    report      TEXT
);

-- Each object's outcome in a run, with its code.
CREATE TABLE outcomes (
    run_id  INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    idx     INTEGER NOT NULL,
    dn      TEXT,
    guid    TEXT,
    op      TEXT,
    result  TEXT NOT NULL,
    code    TEXT,
    message TEXT,
    PRIMARY KEY (run_id, idx)
);
CREATE INDEX outcomes_code ON outcomes (code);
