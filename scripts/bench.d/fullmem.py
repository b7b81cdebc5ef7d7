#!/usr/bin/env python3
"""Full-sync peak memory, A/B: `dirsync sync --full` from the LDIF source (growth.py's fixture)
into a fresh officed on SQLite and a fresh state store per run, alternating the binaries given,
printing one JSON line per run: wall time, peak RSS (/usr/bin/time), the largest resident
set sampled in each span between progress marks (bench.py `rss_by_phase_mb`) and the marks'
times (`marks_s`, seconds from the start). The span
`read_directory..read_directory_end` is the source's own read (the LDIF parse); what the later
spans add is the engine's (map, plan, apply, record).

Usage: python3 scripts/bench.d/fullmem.py USERS LABEL=BINDIR [LABEL=BINDIR ...] [--rounds N] [--again]
--again: a second `sync --full` on the same state after the first (nothing to write; the run
then also compares the groups against the replica of the last sync), printed as run "again".
BINDIR holds `dirsync` (and, for the first, `officed`). BINDIR@N runs that dirsync with
`[engine] concurrency = N`. --own-officed: each run uses its own BINDIR's officed (for an A/B of
officed), not the first one's. Work files go under $BENCH_WORK
(default: target/bench-fullmem). Prints only; the figures are written to docs/BENCHMARKS.md by
hand, with date, commits and load.
"""
import json
import os
import shutil
import sys

sys.path.insert(0, os.path.dirname(__file__))
import bench as b  # noqa: E402
import growth as g  # noqa: E402


def main():
    args = sys.argv[1:]
    rounds = 1
    again = "--again" in args
    if again:
        args.remove("--again")
    own = "--own-officed" in args
    if own:
        args.remove("--own-officed")
    if "--rounds" in args:
        i = args.index("--rounds")
        rounds = int(args[i + 1])
        del args[i:i + 2]
    users = int(args[0])
    bins = [a.split("=", 1) for a in args[1:]]
    if not bins:
        sys.exit(__doc__)
    root = os.path.join(os.environ.get("BENCH_WORK", os.path.join(b.ROOT, "target", "bench-fullmem")),
                        f"n{users}")
    os.makedirs(root, exist_ok=True)
    path = os.path.join(root, "directory.ldif")
    if not os.path.exists(path):
        with open(path, "w") as f:
            f.write(g.ldif_fixture(users))
    b.OFFICED = os.path.join(os.path.abspath(bins[0][1].partition("@")[0]), "officed")
    for r in range(rounds):
        for label, d in bins:
            d, _, conc = d.partition("@")
            b.DIRSYNC = os.path.join(os.path.abspath(d), "dirsync")
            if own:
                b.OFFICED = os.path.join(os.path.abspath(d), "officed")
            work = os.path.join(root, f"{label}-{r}")
            shutil.rmtree(work, ignore_errors=True)
            os.makedirs(work)
            o = b.Officed(work, "sqlite", licences=users * 2)
            try:
                ds = g.LdifDirsync(work, o, path)
                if conc:
                    with open(ds.cfg) as f:
                        cfg = f.read()
                    with open(ds.cfg, "w") as f:
                        f.write(cfg.replace("[engine.rate_limit]",
                                            f"[engine]\nconcurrency = {int(conc)}\n\n[engine.rate_limit]"))
                for run in ["first", "again"] if again else ["first"]:
                    res = ds.sync(full=True)
                    rep = res["report"]
                    print(json.dumps({
                        "label": label + (f"@{conc}" if conc else ""), "round": r, "run": run, "users": users,
                        "wall_s": round(res["wall_s"], 1), "peak_rss_mb": round(res["peak_rss_mb"], 1),
                        "by_phase": res["rss_by_phase_mb"], "status": rep.get("status"),
                        "marks_s": {k: round(v, 1) for k, v in res["marks"].items()},
                        "planned": rep["counts"]["planned"],
                        "operations_in_report": len(rep["operations"]),
                    }), flush=True)
            finally:
                o.close()
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
