#!/usr/bin/python3
"""Offline load of an LDIF fixture into a stopped benchmark Samba AD DC (issue 12).

Run by `scripts/bench-dc load FILE` (which stops the DC first and starts it again after),
with Debian's /usr/bin/python3: Samba's Python bindings (python3-samba, a dependency of the
samba package) open the DC's sam.ldb directly, through Samba's whole module stack, as
`ldbadd -H sam.ldb` would: objectClass and schema checks, sAMAccountName uniqueness, RIDs
from the DC's own pool (it is the RID master, so a spent pool is refilled locally),
objectGUID, nTSecurityDescriptor, replPropertyMetaData and the memberOf back links. It
skips the LDAP server, but not the cost that grows with the domain: each add rewrites the
index records that list every object of its class (docs/BENCHMARKS.md, fixture-100k).

Usage: samdb_load.py DC_DIR FILE.ldif [--batch N] [--resume] [--limit N]
  --batch N   records per transaction (default 1: each add commits on its own, which
              measured cheaper per add than batches of 10 to 400 on Samba 4.17 in a small
              domain; see docs/BENCHMARKS.md, fixture-100k, for larger ones).
  --resume    skip the records whose DN exists (a load that was stopped: every add before
              it is committed), so the load goes on where it stopped.
  --limit N   stop after adding N records (to measure the rate at a given domain size).
Prints the rate (objects/s, wall and CPU) every 5,000 records and at the end the rate of
the first and the last 10% of the records. An add that fails stops the load with the
record's DN and Samba's message; an OU that already exists is reused.
"""

import argparse
import os
import sys
import time

try:
    import ldb
    from samba.auth import system_session
    from samba.param import LoadParm
    from samba.samdb import SamDB
except ImportError as e:
    sys.exit(f"samdb_load: Samba's Python bindings are missing ({e}); run it with "
             f"/usr/bin/python3 on a machine with the samba package installed")


def records(path):
    """The LDIF file's records, one text each (split at blank lines)."""
    cur = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                cur.append(line)
            elif cur:
                yield "".join(cur)
                cur = []
    if cur:
        yield "".join(cur)


def dc_running(dc_dir):
    try:
        with open(os.path.join(dc_dir, "run", "samba.pid")) as f:
            pid = int("".join(c for c in f.read() if c.isdigit()) or "0")
    except OSError:
        return False
    if not pid:
        return False
    try:
        os.kill(pid, 0)
        return True
    except OSError:
        return False


def exists(db, dn):
    try:
        return len(db.search(base=dn, scope=ldb.SCOPE_BASE, attrs=[])) == 1
    except ldb.LdbError as e:
        if e.args[0] == ldb.ERR_NO_SUCH_OBJECT:
            return False
        raise


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("dc_dir")
    ap.add_argument("ldif")
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--resume", action="store_true")
    ap.add_argument("--limit", type=int, default=0)
    a = ap.parse_args()
    if dc_running(a.dc_dir):
        sys.exit(f"samdb_load: the DC in {a.dc_dir} is running; stop it first "
                 f"(scripts/bench-dc load stops and restarts it)")
    total = sum(1 for _ in records(a.ldif))
    lp = LoadParm()
    lp.load(os.path.join(a.dc_dir, "etc", "smb.conf"))
    db = SamDB(url=os.path.join(a.dc_dir, "private", "sam.ldb"), lp=lp,
               session_info=system_session())
    t0, c0 = time.monotonic(), time.process_time()
    tick_t, tick_c, tick_n = t0, c0, 0
    tenth = max(1, total // 10)
    first = last = None
    last_start = None
    n = 0
    in_txn = 0
    skipped = 0
    for rec in records(a.ldif):
        if a.limit and n - skipped >= a.limit:
            break
        if n == total - tenth:
            last_start = (time.monotonic(), time.process_time(), n)
        for _, msg in db.parse_ldif(rec):
            if a.resume and exists(db, msg.dn):
                skipped += 1
                break
            if a.batch > 1 and in_txn == 0:
                db.transaction_start()
            try:
                db.add(msg)
            except ldb.LdbError as e:
                code, text = e.args
                if code == ldb.ERR_ENTRY_ALREADY_EXISTS and "organizationalUnit" in rec.split("\n\n")[0] \
                        and n == 0:
                    print(f"samdb_load: {msg.dn} exists; reused", flush=True)
                else:
                    if in_txn:
                        db.transaction_cancel()
                    sys.exit(f"samdb_load: adding record {n + 1} of {total} ({msg.dn}) failed: "
                             f"{text} (LDB error {code}); the records before it are loaded")
            if a.batch > 1:
                in_txn += 1
                if in_txn >= a.batch:
                    db.transaction_commit()
                    in_txn = 0
        n += 1
        if skipped == n:
            t0, c0 = tick_t, tick_c = time.monotonic(), time.process_time()
            tick_n = n
            continue
        if n == tenth and not skipped:
            first = (n / (time.monotonic() - t0), n / max(time.process_time() - c0, 1e-9))
        if n % 5000 == 0 or n == total:
            now, cpu = time.monotonic(), time.process_time()
            k = n - tick_n
            print(f"samdb_load: {n} of {total} records, {k / (now - tick_t):.0f} objects/s "
                  f"({1000 * (cpu - tick_c) / k:.2f} ms CPU each) over the last {k}", flush=True)
            tick_t, tick_c, tick_n = now, cpu, n
    if in_txn:
        db.transaction_commit()
    if n > tick_n and n % 5000 and n != total:
        now, cpu = time.monotonic(), time.process_time()
        k = n - tick_n
        print(f"samdb_load: {n} of {total} records, {k / (now - tick_t):.0f} objects/s "
              f"({1000 * (cpu - tick_c) / k:.2f} ms CPU each) over the last {k}", flush=True)
    wall = time.monotonic() - t0
    if skipped:
        print(f"samdb_load: skipped {skipped} records that were loaded already", flush=True)
    n -= skipped
    if last_start:
        lt, lc, ln = last_start
        last = ((n - ln) / (time.monotonic() - lt), (n - ln) / max(time.process_time() - lc, 1e-9))
    msg = (f"samdb_load: loaded {n} records in {wall:.1f} s ({n / wall:.0f} objects/s, "
           f"{n / max(time.process_time() - c0, 1e-9):.0f} per CPU second)")
    if first and last:
        msg += (f"; first 10%: {first[0]:.0f} objects/s ({first[1]:.0f} per CPU s), "
                f"last 10%: {last[0]:.0f} objects/s ({last[1]:.0f} per CPU s)")
    print(msg, flush=True)


if __name__ == "__main__":
    main()
