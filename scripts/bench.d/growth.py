#!/usr/bin/env python3
"""Growth benchmark (issue 12): time and peak memory of dirsync's full, 1%-churn and idle
runs as the directory grows, from the LDIF source and the Samba source, into officed on
SQLite and on PostgreSQL, as ratios to floors measured in the same pass.

Run through scripts/bench-growth (which builds the binaries). Every measured row is kept in
docs/benchmarks-growth.json with its date and commit (a row measured again replaces the old
one), and the growth section of docs/BENCHMARKS.md and the chart
docs/benchmarks-growth.svg are written from all kept rows. Nothing is extrapolated.

Floors:
- read floor: LDIF source, reading the file once (`cat FILE > /dev/null`, median of 3);
  Samba source, `ldapsearch` of the in-scope entries with dirsync's attributes (bench.py).
- write floor: the minimum number of API writes for the change (one create per mailbox,
  contact and list with its members, one write per alternate address; one update per
  churned user), against the writes officed logged.
"""

import base64
import datetime as dt
import json
import os
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
import bench as b  # noqa: E402  (shared helpers: officed, dirsync runs, floors, fixtures)

ROOT = b.ROOT
DOC_JSON = os.path.join(ROOT, "docs", "benchmarks-growth.json")
DOC_SVG = os.path.join(ROOT, "docs", "benchmarks-growth.svg")


# ---------------------------------------------------------------- LDIF source

def guid_b64(n):
    return base64.b64encode(bytes([0x5A] * 12) + n.to_bytes(4, "big")).decode()


def ldif_fixture(users, churned=(), mix=None):
    """The LDIF fixture of `users` Exchange users (two alternate addresses each), one
    contact per 10 users and one 25-member distribution list per 50 users, all in the
    Exchange service group. Users in `churned` have another title. `mix` (from
    ldif_mix_churn) adds the mixed churn: new users, other titles, users out of the
    Exchange group (still in the file: leavers are disabled, never deleted) and users out
    of their list."""
    mix = mix or {"new": 0, "titles": set(), "left": set(), "unlisted": set()}
    out = ["version: 1\n\n"]
    members = []
    for i in range(users + mix["new"]):
        dn = f"CN=User {i:06},OU=Staff,DC=example,DC=com"
        title = ("Churned again" if i in mix["titles"] else
                 "Churned" if i in churned else "Engineer")
        out.append(
            f"dn: {dn}\nobjectClass: user\nobjectGUID:: {guid_b64(i + 1)}\n"
            f"sAMAccountName: u{i:06}\nuserPrincipalName: u{i:06}@{b.DOMAIN}\n"
            f"displayName: User {i:06}\ngivenName: User\nsn: {i:06}\ntitle: {title}\n"
            f"userAccountControl: 512\nmail: u{i:06}@{b.DOMAIN}\n"
            f"proxyAddresses: SMTP:u{i:06}@{b.DOMAIN}\n"
            f"proxyAddresses: smtp:user.{i:06}@{b.DOMAIN}\n"
            f"proxyAddresses: smtp:u{i:06}@{b.ALT_DOMAIN}\n\n")
        if i not in mix["left"]:
            members.append(dn)
    for i in range(users // 10):
        dn = f"CN=Contact {i:06},OU=Contacts,DC=example,DC=com"
        out.append(
            f"dn: {dn}\nobjectClass: contact\nobjectGUID:: {guid_b64(10_000_000 + i)}\n"
            f"displayName: Contact {i:06}\nmail: c{i:06}@partner.org\notherMailbox: {b.DOMAIN}\n\n")
        members.append(dn)
    for i in range(users // 50):
        dn = f"CN=List {i:05},OU=Groups,DC=example,DC=com"
        mem = "".join(f"member: CN=User {(i * 25 + j) % users:06},OU=Staff,DC=example,DC=com\n"
                      for j in range(25) if (i * 25 + j) % users not in mix["unlisted"])
        out.append(
            f"dn: {dn}\nobjectClass: group\nobjectGUID:: {guid_b64(20_000_000 + i)}\n"
            f"sAMAccountName: list{i:05}\ngroupType: -2147483646\nmail: list{i:05}@{b.DOMAIN}\n{mem}\n")
        members.append(dn)
    out.append(f"dn: CN=Exchange Users,OU=Groups,DC=example,DC=com\nobjectClass: group\n"
               f"objectGUID:: {guid_b64(30_000_000)}\nsAMAccountName: ExchangeUsers\n"
               + "".join(f"member: {m}\n" for m in members) + "\n")
    return "".join(out)


def ldif_mix_churn(users):
    """1% churn in the mix of bench.py's make_churn: a third new users (three writes each:
    the mailbox and its two alternates), a third title changes (an update each), a third
    removals from groups: half from the Exchange service group (a disable each; taken
    among the users in no list, so no member removal follows), half from their
    distribution list (a member removal each). Lists hold the users below users / 2."""
    n = max(3, users // 100)
    adds, mods, rems = n - 2 * (n // 3), n // 3, n // 3
    leave, unlist = rems // 2, rems - rems // 2
    half = users // 2
    mix = {"new": adds,
           "titles": {half + 2 * k for k in range(mods)},
           "left": {half + 2 * k + 1 for k in range(leave)},
           "unlisted": {25 * k for k in range(unlist)}}
    mix["changes"] = adds + mods + leave + unlist
    mix["floor_writes"] = 3 * adds + mods + leave + unlist
    return mix


def ldif_floor_writes(users):
    return users * 3 + users // 10 + users // 50


def file_floor(path, repeat=3):
    times = []
    for _ in range(repeat):
        t = time.monotonic()
        subprocess.run(["cat", path], stdout=subprocess.DEVNULL, check=True)
        times.append(time.monotonic() - t)
    return statistics.median(times)


class LdifDirsync(b.Dirsync):
    """bench.Dirsync with the LDIF source."""

    def __init__(self, workdir, officed, ldif_path):  # noqa: super().__init__ writes LDAP config
        self.dir = os.path.join(workdir, "dirsync")
        os.makedirs(self.dir, exist_ok=True)
        self.cfg = os.path.join(self.dir, "dirsync.toml")
        self.ui_port = b.free_port()
        lines = [
            "[directory]", 'source = "ldif"', f'ldif_path = "{ldif_path}"', 'ldif_settle = "0s"',
            'exchange_group = "CN=Exchange Users,OU=Groups,DC=example,DC=com"',
            "", "[api]", f'url = "{officed.base}/v1"', f'user_key = "{officed.user_key}"',
            f'account = "{b.ACCOUNT}"',
            "", "[state]", f'path = "{os.path.join(self.dir, "state.db")}"',
            "", "[ui]", "enabled = false", f'listen = "127.0.0.1:{self.ui_port}"',
            "", "[log]", 'format = "json"', 'level = "info"',
            "", "[engine.rate_limit]", "gets_per_min = 10000000", "writes_per_min = 10000000",
            "", "[engine.threshold]", "percent = 100", "min_count = 10000000",
        ]
        with open(self.cfg, "w") as f:
            f.write("\n".join(lines) + "\n")
        secrets = os.path.join(self.dir, "secrets.toml")
        fd = os.open(secrets, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(f'api_secret_key = "{officed.secret}"\n')
        self.n = 0


def row(source, backend, users, kind, r, calls, read_floor_s, floor_writes, floor_kind=None):
    """One measured run. `floor_kind` says what the read floor was: `cat` of the LDIF file,
    `ldapsearch` of the in-scope entries, or `dirsync`: ldapsearch's DirSync search from the
    cookie the run started from (the issue's floor for incremental runs)."""
    return {
        "source": source, "backend": backend, "users": users, "kind": kind,
        "wall_s": round(r["wall_s"], 3), "peak_rss_mb": round(r["peak_rss_mb"], 1),
        "read_floor_s": round(read_floor_s, 3),
        "floor_kind": floor_kind or ("cat" if source == "ldif" else "ldapsearch"),
        "writes": calls["writes"], "gets": calls["gets"],
        "floor_writes": floor_writes, "status": r["report"].get("status"),
        "measured_at": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": b.commit(),
        # The machine is shared: the 1-minute load average as the run ended.
        "load_avg": r.get("load_avg", round(os.getloadavg()[0], 1)),
    }


def ldif_pass(users, backend, work):
    os.makedirs(work, exist_ok=True)
    path = os.path.join(work, "directory.ldif")
    with open(path, "w") as f:
        f.write(ldif_fixture(users))
    floor = file_floor(path)
    b.log(f"--- LDIF {users} users on {backend}: file {os.path.getsize(path) / 1e6:.1f} MB, "
          f"read floor {floor * 1000:.0f} ms")
    o = b.Officed(work, backend, licences=users * 2)
    rows = []
    try:
        ds = LdifDirsync(work, o, path)
        off = o.log_offset()
        full = ds.sync(full=True)
        rows.append(row("ldif", backend, users, "full", full, o.calls_since(off), floor,
                        ldif_floor_writes(users)))
        churned = set(range(0, users, 100))
        with open(path, "w") as f:
            f.write(ldif_fixture(users, churned))
        floor2 = file_floor(path)
        off = o.log_offset()
        inc = ds.sync(full=False)
        rows.append(row("ldif", backend, users, "churn", inc, o.calls_since(off), floor2, len(churned)))
        rows[-1]["mapped"] = inc["report"].get("counts", {}).get("mapped")
        off = o.log_offset()
        idle = ds.sync(full=False)
        rows.append(row("ldif", backend, users, "idle", idle, o.calls_since(off), floor2, 0))
        # What every LDIF rerun cost before the fingerprint: a whole read and plan.
        off = o.log_offset()
        again = ds.sync(full=True)
        rows.append(row("ldif", backend, users, "idle --full", again, o.calls_since(off), floor2, 0))
        # A churn of every kind at once (new users, titles, leavers, list removals).
        mix = ldif_mix_churn(users)
        with open(path, "w") as f:
            f.write(ldif_fixture(users, churned, mix))
        floor3 = file_floor(path)
        off = o.log_offset()
        mixed = ds.sync(full=False)
        rows.append(row("ldif", backend, users, "churn-mix", mixed, o.calls_since(off), floor3,
                        mix["floor_writes"]))
        rows[-1]["mapped"] = mixed["report"].get("counts", {}).get("mapped")
        rows[-1]["changes"] = mix["changes"]
        # The full run's stored report against the whole report as JSON (what was stored
        # before the history kept operations in their rows only).
        db = os.path.join(ds.dir, "state.db")
        q = ("SELECT length(report), (SELECT COUNT(*) FROM outcomes WHERE run_id = runs.id) "
             "FROM runs ORDER BY id LIMIT 1")
        stored, n_rows = (int(x) for x in b.run(["sqlite3", db, q]).stdout.strip().split("|"))
        whole = len(json.dumps(full["report"], separators=(",", ":"), ensure_ascii=False).encode())
        rows[0].update({"stored_report_bytes": stored, "whole_report_bytes": whole, "outcome_rows": n_rows})
        b.log(f"full run: stored report {stored:,} bytes; the whole report as JSON {whole:,} bytes; "
              f"{n_rows:,} outcome rows")
        for r in rows:
            b.log(f"{r['kind']}: {r['wall_s']:.2f} s, {r['peak_rss_mb']:.0f} MB, mapped {r.get('mapped')}, "
                  f"{r['writes']} writes (floor {r['floor_writes']}), {r['gets']} GETs, {r['status']}")
    finally:
        o.close()
    return rows


# ---------------------------------------------------------------- Samba source

def samba_envs(spec):
    """BENCH_SAMBA_ENV: the env file of the benchmark DC for every size, or `N=FILE` words
    naming a DC per size (the 50,000-user fixture kept in one benchmark DC, the 100,000-user
    one in another), with at most one plain FILE for the sizes not named. Returns
    (default file or None, {size: file})."""
    default, per = None, {}
    for word in spec.split():
        n, sep, path = word.partition("=")
        if sep and n.isdigit():
            per[int(n)] = path
        elif default is None:
            default = word
        else:
            raise SystemExit(f"growth: BENCH_SAMBA_ENV names two DCs for every size "
                             f"({default} and {word}); write N=FILE for a DC of one size")
    return default, per


def samba_env_for(users, spec):
    default, per = samba_envs(spec)
    path = per.get(users, default)
    if not path:
        raise SystemExit(f"growth: no benchmark DC for {users:,} users in BENCH_SAMBA_ENV "
                         f"({spec!r}); add {users}=FILE")
    if not os.path.isfile(path):
        raise SystemExit(f"growth: BENCH_SAMBA_ENV names {path}, which does not exist "
                         f"(scripts/bench-dc start writes it)")
    return path


def samba_pass(users, backend, work, env_file):
    """bench.py's pass (full, 1% churn, idle) over its fixture, in the benchmark DC whose
    env file is `env_file` (never the shared test DC by default)."""
    b.use_samba(env_file)
    b.log(f"--- Samba {users} users on {backend}: DC {b.LDAP_URL} ({env_file})")
    fx = b.Fixture(users, rsemail=False)
    fx.ensure()
    floor_writes = fx.floor_writes()["total"]
    res = {}
    # Every Samba pass starts with ensure(), which restores a saved DC: no need to undo the
    # churn by hand then.
    b.measure_pass(fx, backend, work, 0, 1.0, res, revert=not fx.saved)
    rows = []
    for kind, key in (("full", "full"), ("churn", "incremental"), ("idle", "idle")):
        s = res.get(key)
        if not s:
            continue
        fake = {"wall_s": s["wall_s"], "peak_rss_mb": s["peak_rss_mb"], "report": {"status": s["status"]},
                "load_avg": s.get("load_avg")}
        fw = {"full": floor_writes, "churn": res.get("churn", {}).get("min_writes"), "idle": 0}[kind]
        # Incremental runs against the DirSync search from the same cookie; full runs
        # against an ldapsearch of everything in scope.
        dfl = {"churn": res.get("churn_floor"), "idle": res.get("idle_floor")}.get(kind)
        if dfl:
            rows.append(row("samba", backend, users, kind, fake, s["calls"], dfl["median_s"], fw, "dirsync"))
        else:
            rows.append(row("samba", backend, users, kind, fake, s["calls"], res["read_floor"]["median_s"], fw))
    return rows


# ---------------------------------------------------------------- recording

def load_rows():
    if os.path.exists(DOC_JSON):
        with open(DOC_JSON) as f:
            return json.load(f)["rows"]
    return []


def merge(old, new):
    key = lambda r: (r["source"], r["backend"], r["users"], r["kind"])  # noqa: E731
    by = {key(r): r for r in old}
    for r in new:
        by[key(r)] = r
    return sorted(by.values(), key=lambda r: (r["source"], r["backend"], r["kind"], r["users"]))


def ratio(a, f):
    return f"{a / f:.1f}×" if f else "–"


def write_ratio(r):
    f = r["floor_writes"]
    if f is None:
        return "not recorded"
    if f == 0:
        return "0 = floor" if r["writes"] == 0 else "floor 0"
    return ratio(r["writes"], f)


def target(r):
    """Issue 12's target for this row, and whether the row meets it ('' when none applies)."""
    t = None
    if r["kind"] == "idle":
        t, ok = "≤ 0.3 s", r["wall_s"] <= 0.3
    elif r["kind"] == "churn" and r.get("floor_kind") == "dirsync":
        lim = 1.3 * r["read_floor_s"] + 1
        t, ok = f"≤ 1.3 × floor + 1 s = {lim:.2f} s", r["wall_s"] <= lim
    elif r["kind"] == "full" and r["users"] == 10_000:
        t, ok = "≤ 20 s", r["wall_s"] <= 20
    elif r["kind"] == "full" and r["users"] == 100_000:
        t, ok = "≤ 240 s and ≤ 150 MB", r["wall_s"] <= 240 and r["peak_rss_mb"] <= 150
    if t is None:
        return ""
    return f"{t}: {'met' if ok else '**missed**'}"


def floor_text(r):
    name = {"dirsync": "DirSync floor"}.get(r.get("floor_kind"), "floor")
    return f"{ratio(r['wall_s'], r['read_floor_s'])} ({name} {r['read_floor_s'] * 1000:.0f} ms)"


def load_text(r):
    return f"; load average {r['load_avg']}" if r.get("load_avg") is not None else ""


def render(rows):
    L = ["## Growth: time and memory against the directory's size (`scripts/bench-growth`)", "",
         "Written by `scripts/bench-growth` from the rows kept in `docs/benchmarks-growth.json`; "
         "each row says when and at which commit it was measured. Only measured rows are shown: "
         "a size, backend or source that is missing was not run. Release build, officed's "
         "throttle off and dirsync's client limits raised, on this project's shared 2-core machine "
         "(other work ran beside it).", "",
         "Fixture: N Exchange users with two alternate addresses each, one contact per 10 users "
         "and one 25-member list per 50 users. Run kinds: **full** (`sync --full` into an empty "
         "control panel), **churn** (1% of the users' titles changed, then `sync`), **idle** "
         "(`sync` again with no change), **idle --full** (`sync --full` with no change: what every LDIF rerun did before the file fingerprint). Read floor: LDIF, reading the file once (`cat`); Samba, "
         "`ldapsearch` of the same entries, and for churn and idle runs measured since that floor was added, "
         "the **DirSync floor**: `ldapsearch -E dirSync` making dirsync's DirSync search from the cookie the run "
         "started from, to the end of its pages (the issue's floor for incremental runs). Write floor: the "
         "minimum API writes for the change. Targets are issue 12's: full sync ≤ 20 s at 10,000 users and "
         "≤ 4 min and 150 MB at 100,000; 1% churn ≤ 1.3 × the DirSync floor + 1 s; idle ≤ 0.3 s.", "",
         "![time and peak memory against N](benchmarks-growth.svg)", "",
         "| source | backend | N | run | time | × read floor | writes | × write floor | GETs | peak RSS | status | target | measured |",
         "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        L.append(f"| {r['source']} | {r['backend']} | {r['users']:,} | {r['kind']} | {r['wall_s']:.2f} s | "
                 f"{floor_text(r)} | "
                 f"{r['writes']:,} | {write_ratio(r)} | "
                 f"{r['gets']:,} | {r['peak_rss_mb']:.0f} MB | {r['status']} | {target(r)} | "
                 f"{r['measured_at']}, {r['commit']}{load_text(r)} |")
    return "\n".join(L) + "\n"


def svg(rows):
    """Two panels (time, peak RSS) against N, one line per source/backend/run kind."""
    W, H, P = 760, 300, 60
    series = {}
    for r in rows:
        series.setdefault((r["source"], r["backend"], r["kind"]), []).append(r)
    ns = sorted({r["users"] for r in rows}) or [1]
    colors = {"full": "#c0392b", "churn": "#2471a3", "idle": "#229954", "idle --full": "#d68910",
              "churn-mix": "#7d3c98"}
    dash = {("ldif", "sqlite"): "", ("ldif", "postgres"): "6,3", ("samba", "sqlite"): "2,3",
            ("samba", "postgres"): "8,3,2,3"}
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W * 2}" height="{H + 40}" '
           f'font-family="sans-serif" font-size="11">', '<rect width="100%" height="100%" fill="#fff"/>']

    def panel(x0, field, label):
        vmax = max([r[field] for r in rows] + [1e-9]) * 1.1
        nmax = max(ns) * 1.05
        px = lambda n: x0 + P + (W - 2 * P) * n / nmax  # noqa: E731
        py = lambda v: H - P + 20 - (H - 2 * P) * v / vmax  # noqa: E731
        out.append(f'<text x="{x0 + W / 2}" y="16" text-anchor="middle" font-size="13">{label} against N (users)</text>')
        out.append(f'<line x1="{px(0)}" y1="{py(0)}" x2="{px(nmax)}" y2="{py(0)}" stroke="#000"/>')
        out.append(f'<line x1="{px(0)}" y1="{py(0)}" x2="{px(0)}" y2="{py(vmax)}" stroke="#000"/>')
        for n in ns:
            out.append(f'<text x="{px(n)}" y="{py(0) + 14}" text-anchor="middle">{n:,}</text>')
        for i in range(5):
            v = vmax * i / 4
            out.append(f'<text x="{px(0) - 4}" y="{py(v) + 4}" text-anchor="end">{v:.3g}</text>')
        for (src, be, kind), rs in sorted(series.items()):
            rs = sorted(rs, key=lambda r: r["users"])
            pts = " ".join(f"{px(r['users']):.1f},{py(r[field]):.1f}" for r in rs)
            c = colors.get(kind, "#555")
            out.append(f'<polyline points="{pts}" fill="none" stroke="{c}" stroke-width="2" '
                       f'stroke-dasharray="{dash.get((src, be), "")}"/>')
            for r in rs:
                out.append(f'<circle cx="{px(r["users"]):.1f}" cy="{py(r[field]):.1f}" r="3" fill="{c}">'
                           f'<title>{src}/{be} {kind} N={r["users"]}: {r[field]}</title></circle>')

    panel(0, "wall_s", "Time (s)")
    panel(W, "peak_rss_mb", "dirsync peak RSS (MB)")
    y = H + 30
    x = 20
    for (src, be, kind) in sorted(series):
        c = colors.get(kind, "#555")
        out.append(f'<line x1="{x}" y1="{y - 4}" x2="{x + 24}" y2="{y - 4}" stroke="{c}" stroke-width="2" '
                   f'stroke-dasharray="{dash.get((src, be), "")}"/>')
        out.append(f'<text x="{x + 28}" y="{y}">{src}/{be} {kind}</text>')
        x += 190
    out.append("</svg>")
    return "\n".join(out) + "\n"


def record(rows):
    if os.environ.get("BENCH_NO_RECORD") == "1":
        print(render(rows))
        return
    # The measured rows first: a failure below loses no measurement.
    with open(DOC_JSON, "w") as f:
        json.dump({"rows": rows}, f, indent=1)
        f.write("\n")
    text = render(rows)
    print(text)
    with open(DOC_SVG, "w") as f:
        f.write(svg(rows))
    path = os.path.join(ROOT, "docs", "BENCHMARKS.md")
    begin, end = "<!-- growth-bench:start -->", "<!-- growth-bench:end -->"
    block = f"{begin}\n{text.rstrip()}\n{end}\n"
    old = open(path).read() if os.path.exists(path) else "# Benchmarks\n\n"
    if begin in old and end in old:
        new = old[:old.index(begin)] + block + old[old.index(end) + len(end) + 1:]
    else:
        new = old.rstrip("\n") + "\n\n" + block
    with open(path + ".tmp", "w") as f:
        f.write(new)
    os.replace(path + ".tmp", path)
    b.log("recorded in docs/BENCHMARKS.md, docs/benchmarks-growth.json and docs/benchmarks-growth.svg")


def main():
    if sys.argv[1:] == ["--render"]:
        # Rewrite the docs from the kept rows (after a change to the rendering).
        record(load_rows())
        return
    sizes = [int(n) for n in os.environ.get("BENCH_SIZES", "10000 50000 100000").split()]
    backends = os.environ.get("BENCH_BACKENDS", "sqlite postgres").split()
    sources = os.environ.get("BENCH_SOURCES", "ldif samba").split()
    out_dir = os.path.join(ROOT, ".scratch", "bench-growth", b.RUN_TS.strftime("%Y%m%d-%H%M%S"))
    b.log(f"logs in {os.path.relpath(out_dir, ROOT)}")
    new = []
    try:
        for n in sizes:
            for src in sources:
                for be in backends:
                    work = os.path.join(out_dir, f"{src}-{n}-{be}")
                    if src == "ldif":
                        new += ldif_pass(n, be, work)
                    else:
                        new += samba_pass(n, be, work,
                                          samba_env_for(n, os.environ.get("BENCH_SAMBA_ENV", "")))
    finally:
        b.stop_all()
        if new:
            record(merge(load_rows(), new))


if __name__ == "__main__":
    main()
