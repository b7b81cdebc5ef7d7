#!/usr/bin/env python3
"""Throttled-run benchmark (issue 11, part 3 "Figures"), run through scripts/bench-throttled.

From the LDIF source (growth.py's generated fixture: N Exchange users with two alternate
addresses each, one contact per 10 users, one 25-member list per 50 users), into officed on
SQLite with the documented limits on (`--throttle cloud-office`: 60 GETs and 30 writes a
minute per key) or with those limits multiplied by a scale factor (`--throttle G,W`), and
dirsync's client limits set to the same figures, one pass measures:

  1. the initial full sync: writes against the minimum, GETs, throttle refusals, and the
     write rate achieved against the limit;
  2. an incremental sync after k users changed their title: GETs against k + c, writes
     against k (the minimum);
  3. an idle sync (file unchanged, verification not due);
  4. an idle sync with a verification due (`engine.verify.idle_after_secs = 0`).

Every call is counted from officed's own request log, refusals included (officed logs a
refused request as `refused: throttled` with its method and path; a served one as
`request`). dirsync's run report (`api.throttled`) is read as a cross-check.

The constant c: one page of domains, then per domain each listing its services have
(Exchange: mailboxes, contacts, distribution lists; Rackspace Email: mailboxes, aliases),
one page per 250 items, plus the verification budget B of GETs of one object:

  c = domain pages + listing pages + B

(see crates/dirsync-engine/tests/read_budget.rs). It is computed from the fixture and
reported with the measured list pages next to it.

Each pass keeps its row (keyed by users and scale) in docs/benchmarks-throttled.json; the
section of docs/BENCHMARKS.md between the throttled-bench markers is written from all kept
rows. Only the standard library is used; officed and dirsync processes come from bench.py.
"""

import datetime as dt
import fcntl
import json
import math
import os
import re
import shutil
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
import bench as b  # noqa: E402
import growth  # noqa: E402

USERS = int(os.environ.get("BENCH_THROTTLED_USERS", "2000"))
SCALE = int(os.environ.get("BENCH_THROTTLED_SCALE", "1"))
K = int(os.environ.get("BENCH_THROTTLED_K", "10"))
BUDGET = int(os.environ.get("BENCH_THROTTLED_VERIFY_BUDGET", "10"))
# The documented Cloud Office limits per key and minute.
DOC_GETS, DOC_WRITES = 60, 30
GETS, WRITES = DOC_GETS * SCALE, DOC_WRITES * SCALE
PAGE = 250
DOC_JSON = os.path.join(b.ROOT, "docs", "benchmarks-throttled.json")
BEGIN, END = "<!-- throttled-bench:start -->", "<!-- throttled-bench:end -->"

LINE_RE = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z)\s.*?"
                     r"(request|refused: throttled)\b.*?method=(\S+) path=(\S+)")


def calls(log_path, offset):
    """Calls in officed's log after `offset`: served and refused, GETs and writes, list
    pages apart from GETs of one object, the writes in each clock
    minute, and the times of the first and last write."""
    with open(log_path, "rb") as f:
        f.seek(offset)
        text = f.read().decode("utf-8", "replace")
    c = {"gets": 0, "writes": 0, "list_pages": 0, "object_gets": 0, "refused_gets": 0,
         "refused_writes": 0, "by_kind": {}, "writes_per_minute": {}, "first_write": None,
         "last_write": None}
    for line in text.splitlines():
        m = LINE_RE.match(line)
        if not m:
            continue
        ts, what, method, path = m.groups()
        is_get = method == "GET"
        if what != "request":
            c["refused_gets" if is_get else "refused_writes"] += 1
            continue
        k = b.kind_of(method, path)
        c["by_kind"][k] = c["by_kind"].get(k, 0) + 1
        if is_get:
            c["gets"] += 1
            # officed logs the path without its query: a list page's path ends with the
            # collection's name, a GET of one object's with the object's name.
            c["object_gets" if k.endswith("{}") else "list_pages"] += 1
        else:
            c["writes"] += 1
            minute = ts[:16]
            c["writes_per_minute"][minute] = c["writes_per_minute"].get(minute, 0) + 1
            c["first_write"] = c["first_write"] or ts
            c["last_write"] = ts
    c["refused"] = c["refused_gets"] + c["refused_writes"]
    c["by_kind"] = dict(sorted(c["by_kind"].items(), key=lambda kv: -kv[1]))
    return c


def listing_pages(users):
    """Domain pages plus listing pages for growth.py's fixture: example.com (both services:
    users' mailboxes, users/10 contacts, users/50 lists, no Rackspace Email) and
    alt.example.net (both services, empty): five listings each, one page per 250."""
    pages = lambda n: max(1, math.ceil(n / PAGE))  # noqa: E731
    main = pages(users) + pages(users // 10) + pages(users // 50) + 1 + 1
    return 1 + main + 5


def configure(ds, idle_after_secs):
    """Sets dirsync's client limits to officed's and the verification settings."""
    with open(ds.cfg) as f:
        text = f.read().split("\n# bench-throttled\n")[0]
    text = text.replace("gets_per_min = 10000000", f"gets_per_min = {GETS}")
    text = text.replace("writes_per_min = 10000000", f"writes_per_min = {WRITES}")
    text += ("\n# bench-throttled\n[engine.verify]\n"
             f"budget = {BUDGET}\nfull_budget = {BUDGET}\nidle_after_secs = {idle_after_secs}\n")
    with open(ds.cfg, "w") as f:
        f.write(text)


def measured(o, ds, full, what, min_writes):
    o.logf.flush()
    off = o.log_offset()
    r = ds.sync(full=full)
    time.sleep(0.5)  # let officed's last lines reach the file
    c = calls(o.log_path, off)
    rep = r["report"]
    row = {"run": what, "wall_s": round(r["wall_s"], 1), "status": rep.get("status"),
           "gets": c["gets"], "list_pages": c["list_pages"], "object_gets": c["object_gets"],
           "writes": c["writes"], "min_writes": min_writes, "refused": c["refused"],
           "refused_gets": c["refused_gets"], "refused_writes": c["refused_writes"],
           "report_throttled": (rep.get("api") or {}).get("throttled"),
           "max_writes_in_a_minute": max(c["writes_per_minute"].values(), default=0),
           "first_write": c["first_write"], "last_write": c["last_write"],
           "by_kind": c["by_kind"]}
    b.log(f"{what}: {row['wall_s']} s, {row['gets']} GETs ({row['list_pages']} list pages), "
          f"{row['writes']} writes (minimum {min_writes}), refused {row['refused']}, "
          f"report throttled {row['report_throttled']}, status {row['status']}")
    return row


def run_pass():
    label = f"{USERS}u-x{SCALE}"
    work = os.path.join(b.ROOT, ".scratch", "bench-throttled", label)
    # A pass starts from nothing: a fresh officed, and a fresh dirsync state
    # (an earlier pass's anchors and verification times would not describe it).
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work, exist_ok=True)
    path = os.path.join(work, "directory.ldif")
    with open(path, "w") as f:
        f.write(growth.ldif_fixture(USERS))
    throttle = "cloud-office" if SCALE == 1 else f"{GETS},{WRITES}"
    b.log(f"--- throttled pass {label}: officed --throttle {throttle}; dirsync {GETS} GETs and "
          f"{WRITES} writes a minute; verification budget {BUDGET}; k = {K}")
    started = dt.datetime.now(dt.timezone.utc)
    o = b.Officed(work, "sqlite", licences=USERS * 2, throttle=throttle)
    runs = []
    try:
        ds = growth.LdifDirsync(work, o, path)
        configure(ds, 3600)
        runs.append(measured(o, ds, True, "initial full sync", growth.ldif_floor_writes(USERS)))
        panel = o.panel_counts()
        with open(path, "w") as f:
            f.write(growth.ldif_fixture(USERS, churned=set(range(K))))
        runs.append(measured(o, ds, False, f"incremental, k = {K} changed", K))
        runs.append(measured(o, ds, False, "idle (verification not due)", 0))
        configure(ds, 0)
        runs.append(measured(o, ds, False, "idle (verification due)", 0))
    finally:
        o.close()
    init = runs[0]
    w = init["writes"]
    rate = w / (init["wall_s"] / 60)
    # The time the limits allow at best: the first minute's writes at once, then one
    # minute per further WRITES writes (officed counts per clock minute).
    strict_min_s = (math.ceil(w / WRITES) - 1) * 60
    lp = listing_pages(USERS)
    return {
        "users": USERS, "scale": SCALE, "throttle": throttle, "gets_per_min": GETS,
        "writes_per_min": WRITES, "k": K, "budget": BUDGET, "listing_pages": lp,
        "c": lp + BUDGET, "write_rate_per_min": round(rate, 2),
        "write_rate_ratio": round(rate / WRITES, 4),
        "strict_min_s": strict_min_s,
        "strict_ratio": round(strict_min_s / init["wall_s"], 4) if init["wall_s"] else None,
        "panel": panel, "runs": runs,
        "measured_at": started.strftime("%Y-%m-%d %H:%M UTC"), "commit": b.commit(),
        "load_at_end": open("/proc/loadavg").read().split()[:3],
    }


def fmt_int(n):
    return "—" if n is None else f"{n:,}"


def render(rows):
    lines = [
        "## Throttled runs: reads and write rate within the documented limits (`scripts/bench-throttled`)",
        "",
        "LDIF source (growth fixture: N Exchange users with two alternate addresses each, one contact per",
        "10 users, one 25-member list per 50 users) into officed on SQLite with the documented limits",
        "(`--throttle cloud-office`: 60 GETs and 30 writes a minute per key) or those limits scaled",
        "(`--throttle G,W`), dirsync's `[engine.rate_limit]` set to the same figures. Calls counted in",
        "officed's request log, refusals included. Release build; 2 cores shared with other work.",
        "",
        "c = domain pages + listing pages + B (verification budget of GETs of one object); listing pages",
        "are one per 250 items of each listing (Exchange mailboxes, contacts, lists; Rackspace Email",
        "mailboxes, aliases) of each domain, so c is constant in k and grows by one per 250 objects.",
        "",
        "The write rate is writes ÷ the initial sync's wall time. It can exceed 100%: the limiter sends the",
        "first minute's quota at once, and officed counts per clock minute; \"most writes in a clock minute\"",
        "shows that no minute went over the limit.",
        "",
    ]
    for r in sorted(rows, key=lambda r: (r["scale"], r["users"])):
        init = r["runs"][0]
        lim = ("documented limits" if r["scale"] == 1 else f"limits scaled ×{r['scale']}")
        lines += [
            f"### {r['users']:,} users, {lim}: {r['gets_per_min']} GETs and {r['writes_per_min']} writes a minute "
            f"({r['measured_at']}, commit {r['commit']})",
            "",
            f"B = {r['budget']}; listing pages = {r['listing_pages']}; **c = {r['c']}**; k = {r['k']}, "
            f"so k + c = {r['k'] + r['c']}.",
            "",
            "| run | wall | GETs (list pages + GETs of one) | bound | writes | minimum writes | refusals (officed log) | dirsync `api.throttled` | most writes in a clock minute | status |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|",
        ]
        for i, x in enumerate(r["runs"]):
            bound = ["—", f"k + c = {r['k'] + r['c']}", f"c = {r['c']}", f"c = {r['c']}"][i]
            lines.append(
                f"| {x['run']} | {x['wall_s']:,} s | {x['gets']} ({x['list_pages']} + {x['object_gets']}) | {bound} | "
                f"{fmt_int(x['writes'])} | {fmt_int(x['min_writes'])} | {x['refused']} | {x['report_throttled']} | "
                f"{x['max_writes_in_a_minute']} | {x['status']} |")
        p = r.get("panel") or {}
        lines += [
            "",
            f"Initial sync: {init['writes']:,} writes in {init['wall_s']:,} s = {r['write_rate_per_min']} writes a minute, "
            f"**{r['write_rate_ratio']:.1%} of the {r['writes_per_min']} a minute allowed**; the least time the limits "
            f"allow for these writes (the first minute's writes at once, then one minute per {r['writes_per_min']}) is "
            f"{r['strict_min_s']:,} s, {r['strict_ratio']:.1%} of the wall time. First write {init['first_write']}, "
            f"last {init['last_write']}.",
        ]
        if p:
            lines.append(f"Control panel after it: {p['mailboxes']:,} mailboxes, {p['contacts']:,} contacts, "
                         f"{p['lists']:,} lists, {p['list_members']:,} list members, {p['other_addresses']:,} "
                         "alternate addresses.")
        lines.append(f"Load average at the end of the pass: {' '.join(r['load_at_end'])}.")
        if r.get("note"):
            lines.append(r["note"])
        lines.append("")
    return "\n".join(lines)


def record(row):
    """Keeps `row` in docs/benchmarks-throttled.json (replacing the row of the same users
    and scale) and writes the section of docs/BENCHMARKS.md from all kept rows. Locked, so
    that passes run side by side do not lose each other's rows."""
    os.makedirs(os.path.join(b.ROOT, ".scratch"), exist_ok=True)
    lock = open(os.path.join(b.ROOT, ".scratch", "bench-throttled.lock"), "w")
    fcntl.flock(lock, fcntl.LOCK_EX)
    try:
        rows = []
        if os.path.exists(DOC_JSON):
            with open(DOC_JSON) as f:
                rows = json.load(f)
        if row:
            rows = [x for x in rows if (x["users"], x["scale"]) != (row["users"], row["scale"])] + [row]
            with open(DOC_JSON, "w") as f:
                json.dump(rows, f, indent=1)
                f.write("\n")
        text = render(rows)
        path = os.path.join(b.ROOT, "docs", "BENCHMARKS.md")
        old = open(path).read()
        block = f"{BEGIN}\n{text.rstrip()}\n{END}\n"
        if BEGIN in old and END in old:
            rest = old[old.index(END) + len(END):].lstrip("\n")
            new = old[:old.index(BEGIN)] + block + ("\n" + rest if rest else "")
        else:
            new = old.rstrip("\n") + "\n\n" + block
        with open(path + ".tmp", "w") as f:
            f.write(new)
        os.replace(path + ".tmp", path)
        print(text)
    finally:
        fcntl.flock(lock, fcntl.LOCK_UN)
        lock.close()


def main():
    if "--render" in sys.argv[1:]:
        record(None)
        return
    row = run_pass()
    out = os.path.join(b.ROOT, ".scratch", "bench-throttled", f"{USERS}u-x{SCALE}", "result.json")
    with open(out, "w") as f:
        json.dump(row, f, indent=1)
    if os.environ.get("BENCH_NO_RECORD") == "1":
        print(render([row]))
        return
    record(row)
    b.log("recorded in docs/BENCHMARKS.md and docs/benchmarks-throttled.json")


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        b.stop_all()
        sys.exit(130)
