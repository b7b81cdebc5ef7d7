#!/usr/bin/env python3
"""A/B of the LDIF churn rerun (issue 12, streamed parse and diff): two dirsync binaries
alternated on the same state, in the same pass.

The growth fixture (scripts/bench.d/growth.py) of N users is synced once in full by binary A
(the older schema); the state store is kept. Binary B's starting state is A's, opened once by
B with the same file content (its migrations and its one-time work, such as hashing the
replica, are done there, not in a measured run). Then, ROUNDS times, alternating which binary
goes first: the binary's starting state is restored, 1% of the users get a new title (a new
one each run, so every run writes the same number of updates), and `dirsync sync` is timed
with /usr/bin/time (wall time, peak RSS); officed's log gives the writes and GETs.

Usage: A=/path/to/old/bin/dir B=/path/to/new/bin/dir N=50000 ROUNDS=3 \
       python3 scripts/bench.d/ldif_stream_ab.py
Prints one line per run and a summary; writes nothing in docs/.
"""

import os
import shutil
import statistics
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
import bench as b  # noqa: E402
import growth as g  # noqa: E402


def copy_state(src_dir, dst_dir):
    os.makedirs(dst_dir, exist_ok=True)
    for suffix in ("", "-wal", "-shm"):
        d = os.path.join(dst_dir, "state.db" + suffix)
        if os.path.exists(d):
            os.remove(d)
        s = os.path.join(src_dir, "state.db" + suffix)
        if os.path.exists(s):
            shutil.copy2(s, d)


def main():
    a_dir, b_dir = os.environ["A"], os.environ["B"]
    users = int(os.environ.get("N", "50000"))
    rounds = int(os.environ.get("ROUNDS", "3"))
    bins = {"A": os.path.join(a_dir, "dirsync"), "B": os.path.join(b_dir, "dirsync")}
    work = os.path.join(b.ROOT, ".scratch", "bench-ldif-ab", b.RUN_TS.strftime("%Y%m%d-%H%M%S"))
    os.makedirs(work, exist_ok=True)
    b.log(f"logs in {os.path.relpath(work, b.ROOT)}; A = {bins['A']}, B = {bins['B']}")
    path = os.path.join(work, "directory.ldif")
    base = g.ldif_fixture(users)
    with open(path, "w") as f:
        f.write(base)
    floor = g.file_floor(path)
    b.log(f"{users} users: file {os.path.getsize(path) / 1e6:.1f} MB, read floor {floor * 1000:.0f} ms")
    o = b.Officed(work, "sqlite", licences=users * 2)
    try:
        ds = g.LdifDirsync(work, o, path)
        b.DIRSYNC = bins["A"]
        full = ds.sync(full=True)
        b.log(f"full sync by A: {full['wall_s']:.1f} s, {full['peak_rss_mb']:.0f} MB, "
              f"{full['report'].get('status')}")
        saved = {k: os.path.join(work, f"state-{k}") for k in bins}
        copy_state(ds.dir, saved["A"])
        # B's starting state: A's, opened once by B on the same content (a new file time).
        with open(path, "w") as f:
            f.write(base)
        b.DIRSYNC = bins["B"]
        warm = ds.sync(full=False)
        b.log(f"B's first run on A's state (same content): {warm['wall_s']:.2f} s, "
              f"{warm['peak_rss_mb']:.0f} MB, {warm['report'].get('status')}")
        copy_state(ds.dir, saved["B"])
        churned = set(range(0, users, 100))
        results = {"A": [], "B": []}
        for r in range(rounds):
            order = ["A", "B"] if r % 2 == 0 else ["B", "A"]
            for k in order:
                copy_state(saved[k], ds.dir)
                text = g.ldif_fixture(users, churned).replace("title: Churned", f"title: Churn {r}{k}")
                with open(path, "w") as f:
                    f.write(text)
                b.DIRSYNC = bins[k]
                off = o.log_offset()
                res = ds.sync(full=False)
                calls = o.calls_since(off)
                rep = res["report"]
                line = (f"round {r + 1} {k}: {res['wall_s']:.2f} s, {res['peak_rss_mb']:.0f} MB, "
                        f"{calls['writes']} writes, {calls['gets']} GETs, full={rep.get('full')}, "
                        f"{rep.get('status')}, updated {rep.get('counts', {}).get('updated')}")
                b.log(line)
                results[k].append((res["wall_s"], res["peak_rss_mb"], calls["writes"], calls["gets"]))
        for k in ("A", "B"):
            w = [x[0] for x in results[k]]
            m = [x[1] for x in results[k]]
            print(f"{k}: wall median {statistics.median(w):.2f} s (runs {', '.join(f'{x:.2f}' for x in w)}), "
                  f"peak RSS median {statistics.median(m):.0f} MB (runs {', '.join(f'{x:.0f}' for x in m)}), "
                  f"writes {[x[2] for x in results[k]]}, GETs {[x[3] for x in results[k]]}")
        ratio = statistics.median([x[0] for x in results["B"]]) / statistics.median([x[0] for x in results["A"]])
        print(f"B/A wall (medians): {ratio:.3f}; read floor {floor * 1000:.0f} ms; "
              f"target 1.3 x floor + 1 s = {1.3 * floor + 1:.2f} s")
        print("load:", subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())
    finally:
        o.close()
        b.stop_all()


if __name__ == "__main__":
    main()
