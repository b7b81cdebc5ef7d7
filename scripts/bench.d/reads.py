#!/usr/bin/env python3
"""The read-budget benchmark (issue 11, part 3), run through scripts/bench-reads.

Against officed with the documented limits (`--throttle cloud-office`: 60 GETs
and 30 writes a minute per key) and dirsync's default client limits, it
measures, from officed's own request log:

  1. an initial full sync of N Exchange users (writes, GETs, time, write rate);
  2. an incremental sync after k users changed a field in AD: GETs and writes,
     against the bound k + c (c = domain pages + listing pages + verification
     budget, see crates/dirsync-engine/tests/read_budget.rs);
  3. an idle incremental sync (no change; the last verification is recent);
  4. an idle incremental sync with a verification due (engine.verify.idle_after_secs = 0);

and the throttle refusals dirsync met (its run reports' api.throttled) in all of them.
Only the standard library is used; the fixture and processes come from bench.py.
"""

import json
import math
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
import bench  # noqa: E402
from bench import Dirsync, Fixture, Officed, ldapmodify, ldif_attr, log, record  # noqa: E402

USERS = int(os.environ.get("BENCH_READS_USERS", "2000"))
K = int(os.environ.get("BENCH_READS_K", "10"))
THROTTLE = os.environ.get("BENCH_READS_THROTTLE", "cloud-office")
# dirsync's client limits: the documented ones unless the throttle is scaled.
GETS = int(os.environ.get("BENCH_READS_GETS_PER_MIN", "60"))
WRITES = int(os.environ.get("BENCH_READS_WRITES_PER_MIN", "30"))
BUDGET = int(os.environ.get("BENCH_READS_VERIFY_BUDGET", "10"))
PAGE = 250


def configure(ds, idle_after_secs):
    """Appends (or replaces) the engine's rate limits and verification settings."""
    with open(ds.cfg) as f:
        text = f.read().split("\n# bench-reads\n")[0]
    text += ("\n# bench-reads\n[engine.rate_limit]\n"
             f"gets_per_min = {GETS}\nwrites_per_min = {WRITES}\n"
             "\n[engine.verify]\n"
             f"budget = {BUDGET}\nfull_budget = {BUDGET}\nidle_after_secs = {idle_after_secs}\n")
    with open(ds.cfg, "w") as f:
        f.write(text)


def measured(o, ds, full, what):
    off = o.log_offset()
    r = ds.sync(full=full)
    calls = o.calls_since(off)
    rep = r["report"]
    v = rep.get("verification") or {}
    row = {"what": what, "wall_s": round(r["wall_s"], 1), "status": rep.get("status"),
           "gets": calls["gets"], "writes": calls["writes"],
           "throttled": (rep.get("api") or {}).get("throttled"),
           "list_pages": v.get("list_pages"), "object_reads": v.get("object_reads"),
           "needed_reads": v.get("needed_reads"), "counts": rep.get("counts"),
           "by_kind": calls["by_kind"]}
    log(f"{what}: {row['wall_s']} s, {row['gets']} GETs, {row['writes']} writes, "
        f"throttled {row['throttled']}, status {row['status']}")
    return row


def main():
    fx = Fixture(USERS, contacts=0, lists=0, name=f"dsbr{USERS}", rsemail=False)
    fx.ensure()
    workdir = os.path.join(bench.OUT_DIR, "reads")
    os.makedirs(workdir, exist_ok=True)
    log(f"--- reads: {USERS} users, officed --throttle {THROTTLE}, dirsync {GETS} GETs/{WRITES} writes a minute, "
        f"verification budget {BUDGET}, k = {K}")
    o = Officed(workdir, "sqlite", licences=USERS * 2, throttle=THROTTLE)
    rows, revert = [], ""
    try:
        ds = Dirsync(workdir, o, fx)
        configure(ds, 3600)
        initial = measured(o, ds, True, "initial full sync")
        initial["write_rate_per_min"] = round(initial["writes"] / (initial["wall_s"] / 60), 1)
        initial["write_limit_share"] = round(initial["write_rate_per_min"] / WRITES, 3)
        rows.append(initial)

        users = fx.users_of(fx.ex_ou, fx.ex_tag)[:K]
        apply = []
        for u in users:
            dn = u["dn"][0]
            old = u.get("title", [None])[0]
            apply.append(f"{ldif_attr('dn', dn)}\nchangetype: modify\nreplace: title\n"
                         f"{ldif_attr('title', 'Reads ' + bench.RUN_ID)}\n-\n\n")
            revert += (f"{ldif_attr('dn', dn)}\nchangetype: modify\nreplace: title\n"
                       + (ldif_attr("title", old) + "\n" if old else "") + "-\n\n")
        ldapmodify("".join(apply))
        inc = measured(o, ds, False, f"incremental, k = {len(users)} changed")
        rows.append(inc)
        rows.append(measured(o, ds, False, "idle (verification not due)"))
        configure(ds, 0)
        rows.append(measured(o, ds, False, "idle (verification due)"))
    finally:
        if revert:
            ldapmodify(revert)
        o.close()

    # The domains page, then two domains with both services: five listings each, and
    # the users' Exchange mailbox listing takes one page per 250.
    listing_pages = 1 + 2 * 5 + max(0, math.ceil(USERS / PAGE) - 1)
    c = listing_pages + BUDGET
    lines = [
        f"## Reads within the documented limits ({bench.RUN_TS:%Y-%m-%d %H:%M} UTC, commit {bench.commit()})",
        "",
        f"officed `--throttle {THROTTLE}`; dirsync client limits {GETS} GETs and {WRITES} writes a minute; "
        f"{USERS} Exchange users; verification budget B = {BUDGET}; "
        f"c = listing pages + B = {listing_pages} + {BUDGET} = {c} (estimated from the user count; "
        "the measured list pages are in the table). Counted in officed's request log.",
        "",
        "| run | wall s | GETs | of which list pages | GETs of one | writes | throttled | status |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        lines.append(f"| {r['what']} | {r['wall_s']} | {r['gets']} | {r['list_pages']} | {r['object_reads']} | "
                     f"{r['writes']} | {r['throttled']} | {r['status']} |")
    lines += ["", f"Incremental with k = {K}: {inc['gets']} GETs against the bound k + c = {K + c}; "
              f"{inc['writes']} writes for {K} changed users.",
              (f"Initial sync write rate: {initial['write_rate_per_min']} a minute "
               f"({initial['write_limit_share']:.1%} of the {WRITES} a minute limit)."
               if initial["wall_s"] >= 120 else
               "Initial sync write rate: not meaningful (the run took less than two minutes, "
               "within the limiter's first rolling window)."), ""]
    with open(os.path.join(workdir, "reads.json"), "w") as f:
        json.dump(rows, f, indent=1)
    text = "\n".join(lines)
    if os.environ.get("BENCH_NO_RECORD") == "1":
        print(text)
        return
    # Its own marked section in docs/BENCHMARKS.md.
    path = os.path.join(bench.ROOT, "docs", "BENCHMARKS.md")
    begin, end = "<!-- reads-bench:start -->", "<!-- reads-bench:end -->"
    block = f"{begin}\n{text.rstrip()}\n{end}\n"
    old = open(path).read() if os.path.exists(path) else "# Benchmarks\n\n"
    if begin in old and end in old:
        new = old[:old.index(begin)] + block + old[old.index(end) + len(end):].lstrip("\n")
    else:
        new = old.rstrip("\n") + "\n\n" + block
    with open(path, "w") as f:
        f.write(new)
    print(text)
    log("recorded in docs/BENCHMARKS.md")


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        bench.stop_all()
        sys.exit(130)
