#!/usr/bin/env python3
"""The staged commit's replica and key writes, before and after 7d31768, A/B on a copy of a
real state store (issue 12): `python3 scripts/bench.d/commit_keys.py STATE.db [--rounds N]`.

STATE.db is a dirsync state store after a full sync (e.g. copied with `sqlite3 … .backup` from a
fullmem.py run). Each round copies it, stages the replica again in replica_next (as a full run
does: unchanged, or with 1% of the objects' `title` changed), and times the commit's replica
and key statements in one transaction (WAL, synchronous = FULL, as the store): "old" replaces
the whole replica and keys it from scratch (rekey_all), "new" writes and keys only the rows that
differ (narrow/keys.rs replace_from_staging + rekey_staged). The SQL is copied from
crates/dirsync-engine/src/narrow/keys.rs; prints one JSON line per timing."""
import json
import os
import shutil
import sqlite3
import sys
import time

SERVICE = "(SELECT value FROM sync_state WHERE key IN ('exchange_group', 'rsemail_group'))"


def statements(rows):
    return [
        "INSERT OR IGNORE INTO replica_keys (kind, key, guid) SELECT 'd', "
        f"lower(trim(json_extract(r.object, '$.dn'))), r.guid FROM replica r WHERE {rows}",
        "INSERT OR IGNORE INTO replica_keys (kind, key, guid) SELECT 'm', lower(trim(m.value)), "
        f"r.guid FROM replica r, json_each(r.object, '$.members') m WHERE {rows} AND "
        f"json_extract(r.object, '$.kind') = 'group' AND r.guid NOT IN {SERVICE}",
        "INSERT OR IGNORE INTO replica_keys (kind, key, guid) SELECT 'a', "
        "lower(trim(substr(p.value, instr(p.value, ':') + 1))), r.guid FROM replica r, "
        f"json_each(r.object, '$.proxy_addresses') p WHERE {rows}",
        "INSERT OR IGNORE INTO replica_keys (kind, key, guid) SELECT 'a', "
        "lower(trim(json_extract(r.object, '$.mail'))), r.guid FROM replica r "
        f"WHERE {rows} AND json_extract(r.object, '$.mail') IS NOT NULL",
    ]


OLD = ["DELETE FROM replica",
       "INSERT INTO replica (guid, object, hash) SELECT guid, object, hash FROM replica_next",
       "DELETE FROM replica_next", "DELETE FROM replica_keys"] + statements("1")

CH = "temp.replica_changed"
NEW = [
    "CREATE TEMP TABLE IF NOT EXISTS replica_changed (guid TEXT PRIMARY KEY)",
    f"DELETE FROM {CH}",
    f"INSERT OR IGNORE INTO {CH} (guid) SELECT r.guid FROM replica r "
    "WHERE NOT EXISTS (SELECT 1 FROM replica_next n WHERE n.guid = r.guid)",
    f"INSERT OR IGNORE INTO {CH} (guid) SELECT n.guid FROM replica_next n "
    "LEFT JOIN replica r ON r.guid = n.guid "
    "WHERE r.guid IS NULL OR r.hash IS NULL OR n.hash IS NULL OR r.hash <> n.hash",
    f"INSERT OR IGNORE INTO {CH} (guid) SELECT value FROM {SERVICE}",
    "DELETE FROM replica WHERE NOT EXISTS (SELECT 1 FROM replica_next n WHERE n.guid = replica.guid)",
    "INSERT OR REPLACE INTO replica (guid, object, hash) SELECT n.guid, n.object, n.hash "
    f"FROM replica_next n WHERE n.guid IN (SELECT guid FROM {CH})",
    "DELETE FROM replica_next",
    f"INSERT OR IGNORE INTO {CH} (guid) SELECT value FROM {SERVICE}",
    f"DELETE FROM replica_keys WHERE guid IN (SELECT guid FROM {CH})",
] + statements(f"r.guid IN (SELECT guid FROM {CH})") + [f"DELETE FROM {CH}"]


def one(src, work, variant, churn):
    shutil.copyfile(src, work)
    c = sqlite3.connect(work, isolation_level=None)
    c.execute("PRAGMA journal_mode = WAL")
    c.execute("PRAGMA synchronous = FULL")
    c.execute("DELETE FROM replica_next")
    c.execute("INSERT INTO replica_next (guid, object, hash) SELECT guid, object, hash FROM replica")
    if churn:
        # 1% of the objects changed: another title, so another hash.
        c.execute("UPDATE replica_next SET object = json_set(object, '$.info.title', 'Churned'), "
                  "hash = 'changed-' || guid WHERE (rowid % 100) = 0")
    c.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    t = time.monotonic()
    c.execute("BEGIN")
    for sql in (OLD if variant == "old" else NEW):
        c.execute(sql)
    c.execute("COMMIT")
    dt = time.monotonic() - t
    keys = c.execute("SELECT count(*) FROM replica_keys").fetchone()[0]
    c.close()
    for f in [work, work + "-wal", work + "-shm"]:
        if os.path.exists(f):
            os.remove(f)
    return dt, keys


def main():
    args = sys.argv[1:]
    rounds = 2
    if "--rounds" in args:
        i = args.index("--rounds")
        rounds = int(args[i + 1])
        del args[i:i + 2]
    if not args:
        sys.exit(__doc__)
    src = args[0]
    work = src + ".commit-bench"
    for r in range(rounds):
        for churn in [False, True]:
            for variant in ["old", "new"]:
                dt, keys = one(src, work, variant, churn)
                print(json.dumps({"round": r, "variant": variant, "churn_pct": 1 if churn else 0,
                                  "commit_s": round(dt, 2), "keys": keys}), flush=True)


if __name__ == "__main__":
    main()
