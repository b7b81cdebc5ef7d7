#!/usr/bin/env python3
"""Samba-source full-sync memory and idle runs, A/B: `dirsync sync --full` from a benchmark
DC's growth fixture (bench.py's `Fixture`, Exchange half only) into a fresh officed on SQLite
and a fresh state store per run, then `--idle K` idle runs (`sync` with nothing changed) on
the same state, alternating the binaries given, printing one JSON line per run: wall time,
peak RSS (/usr/bin/time), the largest resident set sampled in each span between progress
marks (bench.py `rss_by_phase_mb`: `read_directory..read_directory_end` is the directory
read) and the marks' times.

`--ldif`: also runs each binary from the LDIF source with an export of the same objects
(`ldapsearch` of the fixture's OU with dirsync's attributes and the whole `member`), so the
LDAP read and the LDIF read of identical objects are compared in the same pass (label
`LABEL/ldif`).

`--inflate N`: before the idle runs, the committed cookie's list of GUIDs in scope is padded
with random GUIDs to N (GUIDs the DC does not hold), so idle runs on the 10,000-user DC
carry the cookie of an N-object scope (1.6 MB at 100,000) through reading, decoding, the
DirSync path and the store's write, as they would at N. `--bump`: before each idle run, a
write outside dirsync's scope (the Users container's description) moves the DC's
highestCommittedUSN, so the run takes the DirSync search instead of the idle shortcut (what
a DC that writes now and then makes of an idle run).

Usage: BENCH_SAMBA_ENV=.scratch/dirsync-bench-dc10k.env \\
  python3 scripts/bench.d/sambamem.py USERS LABEL=BINDIR [LABEL=BINDIR ...] [--rounds N]
  [--idle K] [--ldif] [--debug] [--inflate N] [--bump]

The DC must hold the fixture of USERS users (scripts/bench-dc restore dsbNk); the runs
only read it. BINDIR holds `dirsync` (and, for the first, `officed`). `--debug` runs the idle
runs with RUST_LOG=debug and keeps their time-stamped stderr (sync-N.log in the work
directory, which is then kept). Work files go under $BENCH_WORK (default:
target/bench-sambamem). Prints only; figures are written to docs/BENCHMARKS.md by hand.
"""
import json
import os
import random
import shutil
import sqlite3
import sys

sys.path.insert(0, os.path.dirname(__file__))
import bench as b  # noqa: E402
import growth as g  # noqa: E402


def export_ldif(fx, path):
    """The fixture's OU as LDIF (every user, contact and group under it, the service group
    with all its members): the same objects dirsync's LDAP read finds."""
    attrs = [a for a in b.ATTRS if not a.startswith("member;")] + ["member"]
    p = b.run(["ldapsearch", "-LLL", "-o", "ldif-wrap=no", *b.LDAP_AUTH, "-E", "pr=1000/noprompt",
               "-b", fx.ex_ou, b.KINDS, *attrs], env=b.LDAP_ENV)
    with open(path, "w") as f:
        f.write("version: 1\n\n" + p.stdout)


def inflate_cookie(state_db, total):
    """Pads the committed envelope's GUIDs in scope (crates/dirsync-directory
    incremental/cookie.rs, version 2) with random GUIDs to `total`, kept sorted."""
    con = sqlite3.connect(state_db)
    try:
        # The cookie's parts (crates/dirsync-engine cookie_store.rs; one row before them).
        rows = dict(con.execute("SELECT key, value FROM sync_state "
                                "WHERE key = 'cookie' OR key GLOB 'cookie.*'").fetchall())
        parts = int(rows.get("cookie.parts", "1"))
        raw = b"".join(bytes.fromhex(rows["cookie" if i == 0 else f"cookie.{i}"]) for i in range(parts))
        if raw[:4] != b"DSYN" or raw[4] != 2:
            raise SystemExit("sambamem: --inflate reads version 2 envelopes only")
        i = 4 + 1 + 1 + 8
        n = int.from_bytes(raw[i:i + 4], "big")
        i += 4 + n
        if raw[i] == 1:
            i += 1 + 8
            n = int.from_bytes(raw[i:i + 4], "big")
            i += 4 + n
        else:
            i += 1
        count = int.from_bytes(raw[i:i + 4], "big")
        guids = [raw[i + 4 + 16 * k:i + 20 + 16 * k] for k in range(count)]
        rnd = random.Random(12)
        guids += [rnd.randbytes(16) for _ in range(max(0, total - count))]
        guids.sort()
        new = raw[:i] + len(guids).to_bytes(4, "big") + b"".join(guids)
        # Written back as one row, which every build reads (a build that stores parts
        # rewrites them all on its first idle run).
        con.execute("DELETE FROM sync_state WHERE key GLOB 'cookie.*'")
        con.execute("UPDATE sync_state SET value = ? WHERE key = 'cookie'", (new.hex(),))
        con.commit()
    finally:
        con.close()
    return len(new)


def bump():
    """A write outside dirsync's scope: moves the DC's highestCommittedUSN."""
    b.ldapmodify(f"dn: CN=Users,{b.BASE_DN}\nchangetype: modify\nreplace: description\n"
                 f"description: sambamem {random.random()}\n-\n\n")


def one(label, r, run, res):
    rep = res["report"]
    print(json.dumps({
        "label": label, "round": r, "run": run,
        "wall_s": round(res["wall_s"], 3), "peak_rss_mb": round(res["peak_rss_mb"], 1),
        "by_phase": res["rss_by_phase_mb"], "status": rep.get("status"),
        "marks_s": {k: round(v, 3) for k, v in res["marks"].items()},
        "planned": rep.get("counts", {}).get("planned"),
        "load": open("/proc/loadavg").read().split()[0],
    }), flush=True)


def main():
    args = sys.argv[1:]
    rounds, idle = 1, 0

    def flag(name):
        if name in args:
            args.remove(name)
            return True
        return False

    def opt(name, default):
        if name in args:
            i = args.index(name)
            v = int(args[i + 1])
            del args[i:i + 2]
            return v
        return default

    ldif = flag("--ldif")
    debug = flag("--debug")
    bumps = flag("--bump")
    inflate = opt("--inflate", 0)
    rounds = opt("--rounds", rounds)
    idle = opt("--idle", idle)
    users = int(args[0])
    bins = [a.split("=", 1) for a in args[1:]]
    if not bins:
        sys.exit(__doc__)
    fx = b.Fixture(users, rsemail=False)
    root = os.path.join(os.environ.get("BENCH_WORK", os.path.join(b.ROOT, "target", "bench-sambamem")),
                        f"n{users}")
    os.makedirs(root, exist_ok=True)
    ldif_path = os.path.join(root, "samba-export.ldif")
    if ldif and not os.path.exists(ldif_path):
        export_ldif(fx, ldif_path)
    b.OFFICED = os.path.join(os.path.abspath(bins[0][1]), "officed")
    sources = ["samba"] + (["ldif"] if ldif else [])
    for r in range(rounds):
        for label, d in bins:
            for src in sources:
                b.DIRSYNC = os.path.join(os.path.abspath(d), "dirsync")
                name = label if src == "samba" else f"{label}/ldif"
                work = os.path.join(root, f"{name.replace('/', '-')}-{r}")
                shutil.rmtree(work, ignore_errors=True)
                os.makedirs(work)
                o = b.Officed(work, "sqlite", licences=users * 2)
                try:
                    if src == "samba":
                        ds = b.Dirsync(work, o, fx, rate_limit=10_000_000)
                    else:
                        ds = g.LdifDirsync(work, o, ldif_path)
                        with open(ds.cfg) as f:
                            cfg = f.read()
                        with open(ds.cfg, "w") as f:
                            f.write(cfg.replace("CN=Exchange Users,OU=Groups,DC=example,DC=com", fx.ex_group))
                    one(name, r, "full", ds.sync(full=True))
                    if inflate and src == "samba":
                        size = inflate_cookie(os.path.join(ds.dir, "state.db"), inflate)
                        print(json.dumps({"label": name, "round": r, "cookie_bytes": size}), flush=True)
                    if debug:
                        os.environ["RUST_LOG"] = "debug"
                    try:
                        for k in range(idle):
                            if bumps:
                                bump()
                            one(name, r, f"idle{k}", ds.sync(full=False))
                    finally:
                        os.environ.pop("RUST_LOG", None)
                finally:
                    o.close()
                if not debug:
                    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
