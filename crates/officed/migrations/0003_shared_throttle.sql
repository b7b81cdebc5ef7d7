-- officed schema, version 3: throttle counters shared by every instance on
-- one PostgreSQL database, so a key gets its per-minute limits once, not
-- once per instance behind a balancer. One row per key and clock minute;
-- rows older than the previous minute are deleted as the minutes turn.
-- (A SQLite database is served by one process, which counts in memory.)

CREATE TABLE api_throttle (
    user_key TEXT NOT NULL,
    minute   BIGINT NOT NULL,
    gets     BIGINT NOT NULL,
    writes   BIGINT NOT NULL,
    PRIMARY KEY (user_key, minute)
);
