#!/usr/bin/env python3
"""A/B of the Samba churn run (issue 12, item 2): two dirsync binaries alternated on the
same state, the same DirSync changes and the same control panel, in the same pass.

The benchmark DC's fixture of N Exchange users (bench.py's Fixture, rsemail=False; it must
be loaded already: at 50,000 the OU dsb50kx) is synced once in full by binary A into a
fresh officed on SQLite. That state S0 (dirsync's state store and officed's database) is
kept. B's starting state is S0 opened once by B with no directory change (its migrations and
one-time work done there, not in a measured run); both S0 copies then have their
write-ahead log checkpointed away, so neither side's first write pays for the full sync's
log. Then bench.py's make_churn (1%: a third new users, a third title changes, a third
removals from distribution lists) is applied to the DC once, the DirSync floor is measured from S0's cookie, and ROUNDS times, alternating
which binary goes first, each binary's S0 is restored (dirsync's store and officed's
database both) and `dirsync sync` timed with /usr/bin/time; after each churn run an idle
run (`sync` again) is timed too. Every run reads the same DirSync changes from the same
cookie and writes the same operations into the same control panel. The churn is reverted
when asked (REVERT=1: the added users deleted, the other changes undone); until then it
stays applied and later passes (KEEP) reuse it, as applying and reverting take minutes.

Usage: A=/path/to/old/bin/dir B=/path/to/new/bin/dir N=50000 ROUNDS=3 \
       BENCH_SAMBA_ENV=/path/to/bench-dc.env python3 scripts/bench.d/churn_ab.py
Environment: KEEP=DIR reuses the full sync and S0 kept in DIR by an earlier pass (only the
rounds run again; DIR is printed by every pass); RUST_LOG is passed to dirsync (phase logs
in each run's sync-*.log). Prints one line per run and a summary; writes nothing in docs/.
"""

import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
import bench as b  # noqa: E402


def copy_files(src_dir, dst_dir, name):
    os.makedirs(dst_dir, exist_ok=True)
    for suffix in ("", "-wal", "-shm"):
        d = os.path.join(dst_dir, name + suffix)
        if os.path.exists(d):
            os.remove(d)
        s = os.path.join(src_dir, name + suffix)
        if os.path.exists(s):
            shutil.copy2(s, d)


def checkpoint(db):
    """Folds a SQLite database's write-ahead log into it and removes the log (the last
    connection to close removes it), so that a run started on a copy does not pay for an
    earlier run's log."""
    con = sqlite3.connect(db)
    try:
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
    finally:
        con.close()


class SavedOfficed(b.Officed):
    """An officed serving a copy of a saved database (same customer, key and secret)."""

    def __init__(self, workdir, saved_db, user_key, secret, port):  # noqa: no super(): no new customer
        self.dir = os.path.join(workdir, "officed")
        os.makedirs(self.dir, exist_ok=True)
        self.backend, self.pg_db = "sqlite", None
        copy_files(os.path.dirname(saved_db), self.dir, "officed.db")
        shutil.copy2(os.path.join(os.path.dirname(saved_db), "master.key"), self.dir)
        self.db_url = "sqlite://" + os.path.join(self.dir, "officed.db")
        self.env = dict(os.environ, OFFICED_DATABASE_URL=self.db_url, OFFICED_DATA_DIR=self.dir,
                        RUST_LOG="warn,officed=info,officed::api::auth=debug")
        self.env.pop("OFFICED_MASTER_KEY", None)
        self.user_key, self.secret = user_key, secret
        # The full sync's port: dirsync's clean marker holds the API address, and a run
        # against another one is not narrowed (its plan settings changed).
        self.port = port
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = os.path.join(self.dir, "officed.log")
        self.logf = open(self.log_path, "wb")
        self.proc = subprocess.Popen([b.OFFICED, "serve", "--bind", f"127.0.0.1:{self.port}"],
                                     env=self.env, stdout=self.logf, stderr=subprocess.STDOUT)
        b.CHILDREN.append(self.proc)
        b.wait_http(self.base + "/healthz")

    def close(self):
        b.stop(self.proc)
        self.logf.close()


def point_config(cfg, officed):
    """Rewrites the api url of a dirsync config to this officed."""
    with open(cfg) as f:
        lines = f.read().splitlines()
    out = [f'url = "{officed.base}/v1"' if l.startswith("url = \"http") else l for l in lines]
    with open(cfg, "w") as f:
        f.write("\n".join(out) + "\n")


def main():
    bins = {"A": os.environ["A"], "B": os.environ["B"]}
    users = int(os.environ.get("N", "50000"))
    rounds = int(os.environ.get("ROUNDS", "3"))
    keep = os.environ.get("KEEP")
    work = keep or os.path.join(b.ROOT, ".scratch", "bench-churn-ab", b.RUN_TS.strftime("%Y%m%d-%H%M%S"))
    os.makedirs(work, exist_ok=True)
    b.log(f"work dir {work}; A = {bins['A']}, B = {bins['B']}")
    fx = b.Fixture(users, rsemail=False)
    meta_path = os.path.join(work, "s0.json")
    if not os.path.exists(meta_path):
        fx.ensure()
        b.DIRSYNC, b.OFFICED = (os.path.join(bins["A"], x) for x in ("dirsync", "officed"))
        o = b.Officed(os.path.join(work, "full"), "sqlite", licences=users * 2)
        try:
            ds = b.Dirsync(os.path.join(work, "full"), o, fx, rate_limit=10_000_000)
            full = ds.sync(full=True)
            b.log(f"full sync by A: {full['wall_s']:.1f} s, {full['peak_rss_mb']:.0f} MB, "
                  f"{full['report'].get('status')}")
        finally:
            b.stop(o.proc)
            o.logf.close()
        copy_files(ds.dir, os.path.join(work, "s0-A"), "state.db")
        copy_files(o.dir, os.path.join(work, "s0-officed"), "officed.db")
        shutil.copy2(os.path.join(o.dir, "master.key"), os.path.join(work, "s0-officed"))
        with open(meta_path, "w") as f:
            json.dump({"user_key": o.user_key, "secret": o.secret, "cfg": ds.cfg, "port": o.port,
                       "full_wall_s": full["wall_s"], "full_rss_mb": full["peak_rss_mb"]}, f)
    with open(meta_path) as f:
        meta = json.load(f)
    saved_officed = os.path.join(work, "s0-officed", "officed.db")
    run_dir = os.path.join(work, "run")
    ds = b.Dirsync.__new__(b.Dirsync)
    ds.dir, ds.cfg, ds.n = os.path.join(run_dir, "dirsync"), os.path.join(run_dir, "dirsync", "dirsync.toml"), 0
    os.makedirs(ds.dir, exist_ok=True)
    shutil.copy2(meta["cfg"], ds.cfg)
    shutil.copy2(os.path.join(os.path.dirname(meta["cfg"]), "secrets.toml"), os.path.join(ds.dir, "secrets.toml"))
    with open(ds.cfg) as f:
        cfg = f.read().replace(os.path.dirname(meta["cfg"]), ds.dir)
    with open(ds.cfg, "w") as f:
        f.write(cfg)

    def start(k):
        copy_files(os.path.join(work, f"s0-{k}"), ds.dir, "state.db")
        b.OFFICED = os.path.join(bins["A"], "officed")
        o = SavedOfficed(run_dir, saved_officed, meta["user_key"], meta["secret"], meta["port"])
        point_config(ds.cfg, o)
        b.DIRSYNC = os.path.join(bins[k], "dirsync")
        return o

    churn_path = os.path.join(work, "churn.json")
    if not os.path.exists(churn_path):
        # S0 catches up with what changed in the DC since it was taken (earlier passes'
        # reverted churns), so that the churn's changes are all the runs read.
        o = start("A")
        try:
            up = ds.sync(full=False)
        finally:
            o.close()
        b.log(f"S0 caught up by A: {up['wall_s']:.2f} s, {up['report'].get('status')}")
        copy_files(ds.dir, os.path.join(work, "s0-A"), "state.db")
        copy_files(o.dir, os.path.join(work, "s0-officed"), "officed.db")

    # B's S0: A's, opened once by B (`dirsync history` opens the store: its migrations and
    # one-time work run there, not in a measured run, and read no directory change).
    copy_files(os.path.join(work, "s0-A"), ds.dir, "state.db")
    t = time.monotonic()
    b.run([os.path.join(bins["B"], "dirsync"), "--config", ds.cfg, "history", "--limit", "1"])
    b.log(f"B opened A's state once: {time.monotonic() - t:.2f} s")
    copy_files(ds.dir, os.path.join(work, "s0-B"), "state.db")
    # Both starting states without a write-ahead log: A's S0 was copied as the full sync and
    # catch-up left it (a WAL of ~150 MB at 50,000 users), while B's `history` closed the
    # store and so folded the WAL into the database. Left so, A's churn run paid the
    # checkpoint of the full sync's WAL at its first write (0.07-0.14 s) and B's did not.
    for k in ("A", "B"):
        checkpoint(os.path.join(work, f"s0-{k}", "state.db"))

    cookie = b.committed_dirsync_cookie(os.path.join(work, "s0-A", "state.db"))
    if os.path.exists(churn_path):
        # Applied by an earlier pass and kept (a churn's apply and revert take minutes on
        # a 50,000-member group): every pass reads the same changes from S0's cookie.
        with open(churn_path) as f:
            churn = json.load(f)
        b.log(f"churn kept from an earlier pass: {churn['changes']} changes")
    else:
        churn = b.make_churn(fx, 1.0)
        t = time.monotonic()
        b.ldapmodify(churn["apply"])
        with open(churn_path, "w") as f:
            json.dump(churn, f)
        b.log(f"churn applied in {time.monotonic() - t:.1f} s: {churn['changes']} changes ({churn['adds']} new "
              f"users, {churn['modifies']} titles, {churn['removed_from_list']} list removals), floor "
              f"{churn['min_writes']} writes")
    results = {"A": [], "B": []}
    floor = None
    try:
        floor = b.dirsync_floor(cookie) if cookie else None
        if floor:
            b.log(f"DirSync floor from S0's cookie: {floor['median_s']:.3f} s ({floor['runs_s']}), "
                  f"{floor['entries']} entries")
        for r in range(rounds):
            for k in (["A", "B"] if r % 2 == 0 else ["B", "A"]):
                o = start(k)
                try:
                    off = o.log_offset()
                    res = ds.sync(full=False)
                    calls = o.calls_since(off)
                    off = o.log_offset()
                    idle = ds.sync(full=False)
                    icalls = o.calls_since(off)
                finally:
                    o.close()
                rep = res["report"]
                c = rep.get("counts", {})
                line = (f"round {r + 1} {k}: churn {res['wall_s']:.2f} s, {res['peak_rss_mb']:.0f} MB, "
                        f"{calls['writes']} writes, {calls['gets']} GETs, mapped {c.get('mapped')}, "
                        f"{rep.get('status')}; idle {idle['wall_s']:.2f} s, {idle['peak_rss_mb']:.0f} MB, "
                        f"{icalls['total']} calls; log {ds.dir}/sync-{ds.n - 1}.log")
                b.log(line)
                results[k].append((res["wall_s"], res["peak_rss_mb"], calls["writes"], calls["gets"],
                                   idle["wall_s"], idle["peak_rss_mb"]))
    finally:
        b.stop_all()
        if os.environ.get("REVERT") == "1":
            b.ldapdelete(churn["added"])
            b.ldapmodify(churn["revert"])
            os.remove(churn_path)
            b.log("churn reverted")
        else:
            b.log(f"churn left applied for the next pass (REVERT=1 KEEP={work} ROUNDS=0 reverts it)")
    for k in ("A", "B"):
        if not results[k]:
            continue
        w = [x[0] for x in results[k]]
        m = [x[1] for x in results[k]]
        iw = [x[4] for x in results[k]]
        print(f"{k}: churn wall median {statistics.median(w):.2f} s (runs {', '.join(f'{x:.2f}' for x in w)}), "
              f"peak RSS {', '.join(f'{x:.0f}' for x in m)} MB, writes {[x[2] for x in results[k]]}, "
              f"GETs {[x[3] for x in results[k]]}; idle {', '.join(f'{x:.2f}' for x in iw)} s, "
              f"{', '.join(f'{x[5]:.0f}' for x in results[k])} MB")
    if results["A"] and results["B"]:
        ratio = statistics.median([x[0] for x in results["B"]]) / statistics.median([x[0] for x in results["A"]])
        print(f"B/A churn wall (medians): {ratio:.3f}")
    if floor:
        print(f"DirSync floor {floor['median_s']:.3f} s: target 1.3 x floor + 1 s = {1.3 * floor['median_s'] + 1:.2f} s")
    print("load:", subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())


if __name__ == "__main__":
    main()
