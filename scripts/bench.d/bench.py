#!/usr/bin/env python3
"""The measuring half of scripts/bench (run it through scripts/bench, which
builds the binaries and starts the Samba DC and PostgreSQL first).

Every figure it prints or records is measured in this run; definitions are in
docs/benchmarks-method.md. Only the standard library is used.
"""

import base64
import datetime as dt
import hashlib
import json
import os
import platform
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BIN = os.path.abspath(os.path.join(ROOT, os.environ.get("BENCH_BIN_DIR", "target/release")))
DIRSYNC = os.path.join(BIN, "dirsync")
OFFICED = os.path.join(BIN, "officed")
FIXTURE = os.path.join(BIN, "examples", "ad-fixture")  # a dirsync-directory example
STEP_TIMEOUT = int(os.environ.get("BENCH_STEP_TIMEOUT", "3600"))
LATENCY_TIMEOUT = int(os.environ.get("BENCH_LATENCY_TIMEOUT", "900"))
ACCOUNT = "100001"
DOMAIN = "example.com"
ALT_DOMAIN = "alt.example.net"
KINDS = "(|(objectClass=user)(objectClass=group)(objectClass=contact))"
# The attributes dirsync asks for (crates/dirsync-directory/src/entry.rs ATTRIBUTES).
ATTRS = [
    "objectGUID", "objectClass", "distinguishedName", "sAMAccountName", "userPrincipalName",
    "mail", "proxyAddresses", "displayName", "givenName", "sn", "initials", "title", "company",
    "department", "physicalDeliveryOfficeName", "telephoneNumber", "mobile",
    "facsimileTelephoneNumber", "pager", "homePhone", "streetAddress", "l", "st", "postalCode",
    "co", "employeeID", "employeeType", "otherMailbox", "userAccountControl", "whenChanged",
    "uSNChanged", "member;range=0-1499",
]

CHILDREN = []  # processes to stop on exit
RUN_TS = dt.datetime.now(dt.timezone.utc)
RUN_ID = RUN_TS.strftime("%H%M%S")
OUT_DIR = os.path.join(ROOT, ".scratch", "bench", RUN_TS.strftime("%Y%m%d-%H%M%S"))


def log(msg):
    print(f"== [{dt.datetime.now(dt.timezone.utc):%H:%M:%S}] {msg}", file=sys.stderr, flush=True)


def fail(msg):
    raise SystemExit(f"bench: {msg}")


def read_env(path):
    env = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith("#") and "=" in line:
                k, v = line.split("=", 1)
                env[k] = v
    return env


def read_env_if(path):
    return read_env(path) if os.path.exists(path) else {}


PG_URL = read_env_if(os.path.join(ROOT, ".scratch", "postgres.env")).get("DIRSYNC_TEST_PG_URL", "")


def use_samba(path):
    """Points every LDAP helper, fixture and dirsync configuration of this module at the DC
    whose env file is `path` (missing: none; the LDIF source needs no DC).

    A DC that scripts/bench-dc started leaves a note in its directory saying how to reach it
    through that script: a fixture loaded into it is kept as a copy of the loaded DC
    (`scripts/bench-dc save dsbNk`), which later runs restore in place of loading again."""
    global SAMBA, BASE_DN, LDAP_URL, LDAP_ENV, LDAP_AUTH, BENCH_DC
    SAMBA = read_env_if(path)
    BASE_DN = SAMBA.get("DIRSYNC_TEST_LDAP_BASE_DN", "")
    LDAP_URL = SAMBA.get("DIRSYNC_TEST_LDAP_URL", "")
    LDAP_ENV = dict(os.environ, LDAPTLS_CACERT=SAMBA.get("DIRSYNC_TEST_LDAP_CA_FILE", ""))
    LDAP_AUTH = ["-x", "-H", LDAP_URL, "-D", SAMBA.get("DIRSYNC_TEST_LDAP_BIND_DN", ""),
                 "-w", SAMBA.get("DIRSYNC_TEST_LDAP_PASSWORD", "")]
    BENCH_DC = read_env_if(os.path.join(SAMBA.get("DIRSYNC_TEST_SAMBA_DIR") or "/nonexistent",
                                        "bench-dc.env"))


# The DC to read: BENCH_SAMBA_ENV names its env file (scripts/bench-growth passes the
# benchmark DC's, and may pick another DC per size through use_samba); the default is the
# test DC's.
use_samba(os.environ.get("BENCH_SAMBA_ENV") or os.path.join(ROOT, ".scratch", "samba.env"))
# BENCH_FIXTURE_LOAD=offline loads into a DC that scripts/bench-dc started offline
# (`ad-fixture --ldif`, then `scripts/bench-dc load`, resumable) instead of over LDAP; neither
# held its rate as the domain grew (docs/BENCHMARKS.md, fixture-100k), so LDAP stays the default.
FIXTURE_LOAD = os.environ.get("BENCH_FIXTURE_LOAD", "ldap")


def run(cmd, timeout=STEP_TIMEOUT, env=None, input=None, check=True):
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env, input=input)
    if check and p.returncode != 0:
        shown = " ".join(c if "Pw" not in c else "***" for c in cmd[:6])
        fail(f"{shown} ... failed (exit {p.returncode}):\n{p.stderr[-3000:]}")
    return p


# ---------------------------------------------------------------- LDAP helpers

def parse_ldif(text):
    """Entries of `ldapsearch -LLL -o ldif-wrap=no` output: list of dicts name -> [values]."""
    out, cur = [], None
    for line in text.splitlines():
        if not line:
            if cur:
                out.append(cur)
            cur = None
            continue
        if line.startswith("#"):
            continue
        k, rest = line.split(":", 1)
        if rest.startswith(":"):
            v = base64.b64decode(rest[1:].strip()).decode("utf-8", "replace")
        else:
            v = rest[1:] if rest.startswith(" ") else rest
        cur = cur or {}
        cur.setdefault(k.lower(), []).append(v)
    if cur:
        out.append(cur)
    return out


def ldapsearch(base, flt, attrs, scope="sub"):
    p = run(["ldapsearch", "-LLL", "-o", "ldif-wrap=no", *LDAP_AUTH, "-E", "pr=1000/noprompt",
             "-s", scope, "-b", base, flt, *attrs], env=LDAP_ENV, check=False)
    if p.returncode not in (0, 32):
        fail(f"ldapsearch {flt} under {base} failed (exit {p.returncode}): {p.stderr[-1000:]}")
    return [e for e in parse_ldif(p.stdout) if "dn" in e]


def ldif_attr(name, value):
    if value.isascii() and value == value.strip() and not value.startswith((":", "<")):
        return f"{name}: {value}"
    return f"{name}:: {base64.b64encode(value.encode()).decode()}"


def ldapmodify(ldif):
    if ldif.strip():
        run(["ldapmodify", *LDAP_AUTH], env=LDAP_ENV, input=ldif)


def ldapdelete(dns):
    if dns:
        # ldapdelete -f reads one DN per line; non-ASCII DNs are passed as they are (UTF-8).
        run(["ldapdelete", "-c", *LDAP_AUTH], env=LDAP_ENV, input="\n".join(dns) + "\n", check=False)


# ---------------------------------------------------------------- fixture

class Fixture:
    """One size: an Exchange OU (users, contacts, lists) and a Rackspace Email OU (users)."""

    def __init__(self, users, contacts=1000, lists=200, name=None, rsemail=True):
        k = f"{users // 1000}k" if users % 1000 == 0 else str(users)
        self.name = name or f"dsb{k}"
        self.users = users
        self.contacts = contacts
        self.lists = lists
        self.ex_users = users // 2 if rsemail else users
        self.rs_users = users - self.ex_users
        self.ex_ou = f"OU={self.name}x,{BASE_DN}"
        self.rs_ou = f"OU={self.name}r,{BASE_DN}"
        self.ex_tag = f"b{k}x"[:9]
        self.rs_tag = f"b{k}r"[:9]
        self.ex_group = f"CN=Exchange {self.name},{self.ex_ou}"
        self.rs_group = f"CN=Rackspace {self.name},{self.rs_ou}" if self.rs_users else None
        self.load_seconds = {}

    def exchange_half(self):
        """Only the Exchange OU of this size's fixture (N/2 users, the contacts and lists):
        `BENCH_SIZES=50000x`, for when the Rackspace Email half is not loaded."""
        self.users = self.ex_users
        self.rs_users = 0
        self.rs_group = None
        self.half = True

    def describe(self):
        return {"users": self.users, "ex_users": self.ex_users, "rs_users": self.rs_users,
                "name": self.name, "load_seconds": self.load_seconds,
                "exchange_half": getattr(self, "half", False)}

    def _count(self, ou, flt):
        return len(ldapsearch(ou, flt, ["1.1"]))

    def parts(self):
        parts = [("x", self.ex_ou, self.ex_users, self.contacts, self.lists, self.ex_tag,
                  f"Exchange {self.name}")]
        if self.rs_users:
            parts.append(("r", self.rs_ou, self.rs_users, 0, 0, self.rs_tag, f"Rackspace {self.name}"))
        return parts

    def ensure(self):
        parts = self.parts()
        # Whether the DC now has a saved copy of this fixture, which the next ensure() restores.
        self.saved = False
        if BENCH_DC and self.restore_saved():
            self.saved = True
            return
        if FIXTURE_LOAD == "offline":
            self.load_offline(parts)
        for suffix, ou, users, contacts, lists, tag, group in parts:
            self.cleanup_leftovers(ou, tag)
            have = self._count(ou, f"(&(objectCategory=person)(objectClass=user)(sAMAccountName={tag}u*))")
            grp = ldapsearch(ou, f"(cn={group})", ["1.1"])
            expected_members = users + contacts + lists
            if have == users and grp:
                # The objects are there; a load that stopped before its membership step
                # (or during it) left the service group short.
                members = self._count(ou, f"(memberOf={grp[0]['dn'][0]})")
                if members == expected_members:
                    log(f"fixture {ou}: {have} users present, reused")
                    continue
                if members:
                    fail(f"{ou}: its service group has {members} of {expected_members} members "
                         f"(a load stopped while adding them). Delete the OU (samba-tool ou delete "
                         f"'{ou}' --force-subtree-delete -H {LDAP_URL} -U Administrator) and run again.")
                log(f"fixture {ou}: {have} users present without memberships; adding them")
                t = time.monotonic()
                p = run([FIXTURE, "--ou", ou.split(",")[0][3:], "--tag", tag, "--users", str(users),
                         "--contacts", str(contacts), "--groups", str(lists), "--service-group", group,
                         "--domain", DOMAIN, "--members-only"], env=dict(os.environ, **SAMBA),
                        timeout=4 * STEP_TIMEOUT)
                log(p.stdout.strip() + f" (memberships only, {time.monotonic() - t:.1f} s)")
                continue
            if have:
                fail(f"{ou} holds {have} fixture users, not {users} (an interrupted load?). "
                     f"Delete the OU (samba-tool ou delete '{ou}' --force-subtree-delete "
                     f"-H {LDAP_URL} -U Administrator) and run again.")
            log(f"loading {users} users, {contacts} contacts, {lists} lists into {ou} "
                f"(service group '{group}', {expected_members} members)")
            t = time.monotonic()
            p = run([FIXTURE, "--ou", ou.split(",")[0][3:], "--tag", tag, "--users", str(users),
                     "--contacts", str(contacts), "--groups", str(lists), "--service-group", group,
                     "--domain", DOMAIN], env=dict(os.environ, **SAMBA), timeout=4 * STEP_TIMEOUT)
            self.load_seconds[suffix] = time.monotonic() - t
            log(p.stdout.strip())
        if BENCH_DC:
            t = time.monotonic()
            log(bench_dc("save", self.name).stdout.strip().splitlines()[0])
            self.load_seconds["save"] = time.monotonic() - t
            self.saved = True

    def restore_saved(self):
        """Brings back the benchmark DC's saved copy with this fixture (True), undoing what
        earlier passes changed in it; False when there is none yet."""
        if bench_dc("saved", self.name, check=False).returncode != 0:
            return False
        t = time.monotonic()
        bench_dc("restore", self.name)
        self.load_seconds["restore"] = time.monotonic() - t
        log(f"fixture {self.name}: restored the saved benchmark DC "
            f"{BENCH_DC['BENCH_DC_DIR']}.{self.name} in {self.load_seconds['restore']:.1f} s")
        return True

    def load_offline(self, parts):
        """Loads the parts that are missing or short offline (ensure() then checks them over
        LDAP and saves the loaded DC for the next run)."""
        if not BENCH_DC:
            fail("BENCH_FIXTURE_LOAD=offline needs a DC started by scripts/bench-dc "
                 f"(no bench-dc.env in {SAMBA.get('DIRSYNC_TEST_SAMBA_DIR')})")
        # A part with fewer users than it should have is a load that stopped: loading the
        # same LDIF again skips what is there (bench-dc load resumes).
        missing = [p for p in parts
                   if self._count(p[1], f"(&(objectCategory=person)(sAMAccountName={p[5]}u*))") != p[2]
                   or not ldapsearch(p[1], f"(cn={p[6]})", ["1.1"])]
        if not missing:
            return
        path = os.path.join(ROOT, ".scratch", f"fixture-{self.name}.ldif")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        try:
            with open(path, "wb") as out:
                for suffix, ou, users, contacts, lists, tag, group in missing:
                    part = f"{path}.{suffix}"
                    run([FIXTURE, "--ou", ou.split(",")[0][3:], "--tag", tag, "--users", str(users),
                         "--contacts", str(contacts), "--groups", str(lists), "--service-group", group,
                         "--domain", DOMAIN, "--ldif", part], env=dict(os.environ, **SAMBA))
                    with open(part, "rb") as f:
                        shutil.copyfileobj(f, out)
                    os.remove(part)
            log(f"loading {', '.join(p[1] for p in missing)} offline (scripts/bench-dc load)")
            t = time.monotonic()
            p = bench_dc("load", path, timeout=4 * STEP_TIMEOUT)
            self.load_seconds["offline"] = time.monotonic() - t
            for line in p.stdout.splitlines():
                if line.startswith("samdb_load: loaded"):
                    log(line)
        finally:
            if os.path.exists(path):
                os.remove(path)

    def cleanup_leftovers(self, ou, tag):
        """Churn and latency users of an interrupted earlier run."""
        left = ldapsearch(ou, f"(|(sAMAccountName={tag}c*)(sAMAccountName={tag}l*))", ["1.1"])
        if left:
            log(f"removing {len(left)} churn/latency users left by an earlier run in {ou}")
            ldapdelete([e["dn"][0] for e in left])

    def users_of(self, ou, tag):
        return ldapsearch(ou, f"(&(objectCategory=person)(objectClass=user)(sAMAccountName={tag}u*))",
                          ["sAMAccountName", "title", "userAccountControl", "memberOf", "mail",
                           "proxyAddresses"])

    def floor_writes(self, officed_domains_ok=True):
        """The minimum number of API writes to create everything in scope (definition in
        docs/benchmarks-method.md), computed from what the DC holds: one create per mailbox,
        contact and list (members inline), one call per alternate address or alias."""
        users = 0
        alternates = 0
        for ou, tag in [(self.ex_ou, self.ex_tag)] + ([(self.rs_ou, self.rs_tag)] if self.rs_users else []):
            for u in self.users_of(ou, tag):
                users += 1
                alternates += sum(1 for p in u.get("proxyaddresses", []) if p.startswith("smtp:"))
        contacts = self._count(self.ex_ou, "(objectClass=contact)")
        lists = ldapsearch(self.ex_ou, f"(&(objectClass=group)(!(cn=Exchange {self.name})))",
                           ["member;range=0-1499"])
        members = sum(len(v) for e in lists for k, v in e.items() if k.startswith("member"))
        # A list's members ride on its create (DistributionListBody.members), so they add no call.
        return {"mailboxes": users, "alternates": alternates, "contacts": contacts,
                "lists": len(lists), "list_members_inline": members,
                "total": users + alternates + contacts + len(lists)}


def bench_dc(*args, check=True, timeout=STEP_TIMEOUT):
    """scripts/bench-dc ARGS for the benchmark DC in use (see BENCH_DC)."""
    return run([os.path.join(ROOT, "scripts", "bench-dc"), *args], env=dict(os.environ, **BENCH_DC),
               check=check, timeout=timeout)


# ---------------------------------------------------------------- processes

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stop(p, sig=signal.SIGTERM, wait=20):
    if p.poll() is None:
        p.send_signal(sig)
        try:
            p.wait(wait)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
    if p in CHILDREN:
        CHILDREN.remove(p)


def stop_all(*_):
    for p in list(CHILDREN):
        stop(p, wait=5)


def wait_http(url, timeout=60):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.1)
    fail(f"{url} did not answer within {timeout} s")


def peak_rss_kb(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


REQ_RE = re.compile(r"method=(\S+) path=(\S+)")
ID_AFTER = {"customers", "domains", "mailboxes", "contacts", "distributionlists", "members",
            "emailaddresses", "aliases"}


def kind_of(method, path):
    segs = path.split("?")[0].strip("/").split("/")
    out = []
    for i, s in enumerate(segs):
        out.append("{}" if i > 0 and segs[i - 1] in ID_AFTER else s)
    return f"{method} /" + "/".join(out[1:] if out and out[0] == "v1" else out)


class Officed:
    def __init__(self, workdir, backend, licences, throttle=None):
        self.dir = os.path.join(workdir, "officed")
        os.makedirs(self.dir, exist_ok=True)
        self.backend = backend
        self.pg_db = None
        if backend == "postgres":
            self.pg_db = f"dsbench_{RUN_ID}_{random.randrange(10**6)}"
            run(["psql", PG_URL, "-qtAc", f"CREATE DATABASE {self.pg_db}"])
            self.db_url = PG_URL.rsplit("/", 1)[0] + "/" + self.pg_db
        else:
            self.db_url = "sqlite://" + os.path.join(self.dir, "officed.db")
        self.env = dict(os.environ, OFFICED_DATABASE_URL=self.db_url, OFFICED_DATA_DIR=self.dir,
                        RUST_LOG="warn,officed=info,officed::api::auth=debug")
        self.env.pop("OFFICED_MASTER_KEY", None)
        self.admin("customer", "create", "--account", ACCOUNT, "--name", "Bench Ltd")
        self.admin("domain", "create", "--customer", ACCOUNT, "--name", ALT_DOMAIN, "--service", "both",
                   "--exchange-licences", "0", "--rsemail-licences", "0")
        self.admin("domain", "create", "--customer", ACCOUNT, "--name", DOMAIN, "--service", "both",
                   "--exchange-licences", str(licences), "--rsemail-licences", str(licences),
                   "--accepted", ALT_DOMAIN)
        self.user_key, self.secret = self.admin("key", "issue", "--customer", ACCOUNT, "--plain").split()
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = os.path.join(self.dir, "officed.log")
        args = [OFFICED, "serve", "--bind", f"127.0.0.1:{self.port}"]
        if throttle:
            args += ["--throttle", throttle]
        self.logf = open(self.log_path, "wb")
        self.proc = subprocess.Popen(args, env=self.env, stdout=self.logf, stderr=subprocess.STDOUT)
        CHILDREN.append(self.proc)
        wait_http(self.base + "/healthz")

    def admin(self, *args):
        return run([OFFICED, *args], env=self.env).stdout.strip()

    def log_offset(self):
        self.logf.flush()
        return os.path.getsize(self.log_path)

    def calls_since(self, offset):
        time.sleep(0.3)  # let the last lines reach the file
        with open(self.log_path, "rb") as f:
            f.seek(offset)
            text = f.read().decode("utf-8", "replace")
        kinds = {}
        for m in REQ_RE.finditer(text):
            k = kind_of(m.group(1), m.group(2))
            kinds[k] = kinds.get(k, 0) + 1
        gets = sum(v for k, v in kinds.items() if k.startswith("GET "))
        total = sum(kinds.values())
        return {"total": total, "gets": gets, "writes": total - gets,
                "by_kind": dict(sorted(kinds.items(), key=lambda kv: -kv[1]))}

    def panel_counts(self):
        """What the control panel holds, read from officed's database."""
        q = ("SELECT (SELECT COUNT(*) FROM mailboxes WHERE deleted_at IS NULL), (SELECT COUNT(*) FROM ex_contacts), "
             "(SELECT COUNT(*) FROM ex_lists), (SELECT COUNT(*) FROM ex_list_members), "
             "(SELECT COUNT(*) FROM addresses WHERE is_primary = 0) + (SELECT COUNT(*) FROM rs_aliases)")
        if self.pg_db:
            out = run(["psql", self.db_url, "-qtAc", q], check=False).stdout
        else:
            out = run(["sqlite3", self.db_url[len("sqlite://"):], q], check=False).stdout
        try:
            m, c, l, lm, a = (int(x) for x in out.strip().split("|"))
        except ValueError:
            return None
        return {"mailboxes": m, "contacts": c, "lists": l, "list_members": lm, "other_addresses": a}

    def peak_rss_mb(self):
        kb = peak_rss_kb(self.proc.pid)
        return None if kb is None else kb / 1024

    def get(self, path):
        ua = "dirsync-bench"
        ts = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%d%H%M%S")
        h = base64.b64encode(hashlib.sha1((self.user_key + ua + ts + self.secret).encode()).digest())
        req = urllib.request.Request(self.base + "/v1" + path, headers={
            "User-Agent": ua, "X-Api-Signature": f"{self.user_key}:{ts}:{h.decode()}",
            "Accept": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=5) as r:
                return r.status
        except urllib.error.HTTPError as e:
            return e.code

    def close(self):
        stop(self.proc)
        self.logf.close()
        if self.pg_db:
            run(["psql", PG_URL, "-qtAc", f"DROP DATABASE IF EXISTS {self.pg_db} WITH (FORCE)"], check=False)
        db = os.path.join(self.dir, "officed.db")
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(db + suffix):
                os.remove(db + suffix)


class Dirsync:
    def __init__(self, workdir, officed, fx, rate_limit=None):
        self.dir = os.path.join(workdir, "dirsync")
        os.makedirs(self.dir, exist_ok=True)
        self.cfg = os.path.join(self.dir, "dirsync.toml")
        self.ui_port = free_port()
        lines = [
            "[directory]",
            'source = "ldap"',
            f'url = "{LDAP_URL}"',
            f'ca_file = "{SAMBA["DIRSYNC_TEST_LDAP_CA_FILE"]}"',
            f'bind_dn = "{SAMBA["DIRSYNC_TEST_LDAP_BIND_DN"]}"',
            f'base_dn = "{BASE_DN}"',
            f'exchange_group = "{fx.ex_group}"',
        ]
        if fx.rs_group:
            lines.append(f'rsemail_group = "{fx.rs_group}"')
        lines += [
            "", "[api]", f'url = "{officed.base}/v1"', f'user_key = "{officed.user_key}"',
            f'account = "{ACCOUNT}"',
            "", "[state]", f'path = "{os.path.join(self.dir, "state.db")}"',
            "", "[schedule]", 'interval = "1s"',
            "", "[ui]", "enabled = false", f'listen = "127.0.0.1:{self.ui_port}"',
            "", "[log]", 'format = "json"', 'level = "info"',
        ]
        if rate_limit:
            lines += ["", "[engine.rate_limit]", f"gets_per_min = {rate_limit}",
                      f"writes_per_min = {rate_limit}"]
        with open(self.cfg, "w") as f:
            f.write("\n".join(lines) + "\n")
        secrets = os.path.join(self.dir, "secrets.toml")
        fd = os.open(secrets, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(f'ldap_bind_password = "{SAMBA["DIRSYNC_TEST_LDAP_PASSWORD"]}"\n'
                    f'api_secret_key = "{officed.secret}"\n')
        self.n = 0

    def sync(self, full):
        """One `dirsync sync`: wall time, peak RSS, phase marks (from the plain progress
        lines, time-stamped as they arrive) and the stored run report."""
        self.n += 1
        rss = os.path.join(self.dir, f"rss-{self.n}.txt")
        cmd = ["/usr/bin/time", "-f", "%M", "-o", rss, DIRSYNC, "--config", self.cfg, "sync"]
        if full:
            cmd.append("--full")
        lines = []
        t0 = time.monotonic()
        p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        CHILDREN.append(p)

        def reader():
            for line in p.stderr:
                lines.append((time.monotonic() - t0, line.rstrip("\n")))

        th = threading.Thread(target=reader, daemon=True)
        th.start()
        rss_samples = []

        def sampler():
            # dirsync is the child of /usr/bin/time; sample its resident set every 100 ms.
            pid = None
            while p.poll() is None:
                try:
                    if pid is None:
                        with open(f"/proc/{p.pid}/task/{p.pid}/children") as f:
                            kids = f.read().split()
                        pid = int(kids[0]) if kids else None
                    if pid is not None:
                        with open(f"/proc/{pid}/status") as f:
                            for line in f:
                                if line.startswith("VmRSS:"):
                                    rss_samples.append((time.monotonic() - t0, int(line.split()[1])))
                except (OSError, ValueError):
                    pass
                time.sleep(0.1)

        sm = threading.Thread(target=sampler, daemon=True)
        sm.start()
        try:
            rc = p.wait(STEP_TIMEOUT)
        except subprocess.TimeoutExpired:
            stop(p)
            fail(f"dirsync sync took more than {STEP_TIMEOUT} s")
        wall = time.monotonic() - t0
        th.join(5)
        CHILDREN.remove(p)
        with open(os.path.join(self.dir, f"sync-{self.n}.log"), "w") as f:
            f.writelines(f"{t:9.3f} {l}\n" for t, l in lines)
        if rc not in (0, 1):
            tail = "\n".join(l for _, l in lines[-30:])
            fail(f"dirsync sync exited {rc}:\n{tail}")
        with open(rss) as f:
            peak_mb = int(f.read().split()[-1]) / 1024
        marks = parse_marks(lines)
        with open(os.path.join(self.dir, f"rss-samples-{self.n}.txt"), "w") as f:
            f.writelines(f"{t:.3f} {kb}\n" for t, kb in rss_samples)
        runs = json.loads(run([DIRSYNC, "--config", self.cfg, "history", "--limit", "1", "--json"]).stdout)
        report = json.loads(run([DIRSYNC, "--config", self.cfg, "history", "show",
                                 str(runs[0]["id"]), "--json"]).stdout)
        read_s = None
        if "read_directory" in marks and "read_directory_end" in marks:
            read_s = marks["read_directory_end"] - marks["read_directory"]
        # Largest resident set seen in each span between progress marks.
        names = ["read_directory", "read_directory_end", "read_target", "read_target_end", "plan_end",
                 "apply_end"]
        pts = [(n, marks[n]) for n in names if n in marks] + [("exit", wall)]
        rss_by_phase = {}
        for (a, ta), (b, tb) in zip(pts, pts[1:]):
            vals = [kb for t, kb in rss_samples if ta <= t <= tb]
            if vals:
                rss_by_phase[f"{a}..{b}"] = round(max(vals) / 1024)
        return {"wall_s": wall, "exit": rc, "peak_rss_mb": peak_mb, "marks": marks,
                "read_s": read_s, "report": report, "rss_by_phase_mb": rss_by_phase,
                "load_avg": round(os.getloadavg()[0], 1)}

    def serve(self):
        p = subprocess.Popen([DIRSYNC, "--config", self.cfg, "serve"], stdout=subprocess.DEVNULL,
                             stderr=open(os.path.join(self.dir, "serve.log"), "w"))
        CHILDREN.append(p)
        wait_http(f"http://127.0.0.1:{self.ui_port}/healthz")
        return p


def parse_marks(lines):
    """Progress marks from dirsync's stderr: plain `phase: done/total` lines, or (with
    log.format = json) `{"message":"progress","phase":..,"done":..,"total":..}` events.
    Returns phase -> first time seen and phase_end -> time it reached done == total."""
    marks = {}
    for t, l in lines:
        ev = None
        m = re.match(r"^(\w+): (\d+)/(\d+)$", l)
        if m:
            ev = (m.group(1), int(m.group(2)), int(m.group(3)))
        elif l.startswith("{") and '"progress"' in l:
            try:
                j = json.loads(l)
                if j.get("message") == "progress":
                    ev = (j["phase"], int(j["done"]), int(j["total"]))
            except (ValueError, KeyError):
                pass
        if ev:
            marks.setdefault(ev[0], t)
            if ev[1] == ev[2]:
                marks[ev[0] + "_end"] = t
    return marks


def op_counts(report):
    by = {}
    for o in report.get("operations", []):
        if o.get("result") == "done":
            k = f'{o["op"]} {o["kind"]}'
            by[k] = by.get(k, 0) + 1
    return by


def codes(report):
    c = {}
    for f in report.get("findings", []):
        c[f["code"]] = c.get(f["code"], 0) + 1
    for o in report.get("operations", []):
        if o.get("code"):
            c[o["code"]] = c.get(o["code"], 0) + 1
    return c


# ---------------------------------------------------------------- measurements

def read_floor(fx, repeat=3):
    """ldapsearch fetching the in-scope entries with dirsync's attributes: per service
    group, the group itself and one paged memberOf search. Median of `repeat` runs."""
    groups = [fx.ex_group] + ([fx.rs_group] if fx.rs_group else [])
    times = []
    entries = 0
    for _ in range(repeat):
        t = time.monotonic()
        n = 0
        for g in groups:
            for args in (["-s", "base", "-b", g, "(objectClass=*)"],
                         ["-b", BASE_DN, f"(&(memberOf={g}){KINDS})"]):
                p = subprocess.run(["ldapsearch", "-LLL", *LDAP_AUTH, "-E", "pr=1000/noprompt",
                                    *args, *ATTRS], env=LDAP_ENV, capture_output=True, text=True,
                                   timeout=STEP_TIMEOUT)
                if p.returncode != 0:
                    fail(f"ldapsearch (read floor) failed: {p.stderr[-500:]}")
                n += p.stdout.count("\ndn: ") + p.stdout.startswith("dn: ") + p.stdout.count("\ndn:: ")
        times.append(time.monotonic() - t)
        entries = n
    return {"median_s": statistics.median(times), "runs_s": times, "entries": entries}


# The attributes dirsync's DirSync search asks for (crates/dirsync-directory: ATTRIBUTES,
# then isDeleted and name) and its flags: LDAP_DIRSYNC_INCREMENTAL_VALUES, 1 MiB a page.
DIRSYNC_ATTRS = [a for a in ATTRS if not a.startswith("member;")] + ["member", "isDeleted", "name"]
DIRSYNC_FLAGS = "2147483648/1048576"


def committed_dirsync_cookie(state_db):
    """The DirSync cookie in dirsync's committed envelope (crates/dirsync-directory
    incremental/cookie.rs: `DSYN`, version, method 1 = DirSync, scope fingerprint (u64),
    position length (u32) and bytes), base64 for ldapsearch; None for another method.
    The envelope is stored in parts (crates/dirsync-engine cookie_store.rs: `cookie`,
    `cookie.1`, ... and their count in `cookie.parts`; a store written before parts holds
    one `cookie` row), joined here in order."""
    import sqlite3
    con = sqlite3.connect(f"file:{state_db}?mode=ro", uri=True)
    try:
        rows = dict(con.execute(
            "SELECT key, value FROM sync_state WHERE key = 'cookie' OR key GLOB 'cookie.*'"))
    finally:
        con.close()
    if "cookie" not in rows:
        return None
    parts = int(rows.get("cookie.parts", "1"))
    keys = ["cookie"] + [f"cookie.{i}" for i in range(1, parts)]
    missing = [k for k in keys if k not in rows]
    if missing:
        raise SystemExit(f"{state_db}: the stored cookie lacks part(s) {', '.join(missing)}")
    raw = b"".join(bytes.fromhex(rows[k]) for k in keys)
    if raw[:4] != b"DSYN" or raw[5] != 1:
        return None
    n = int.from_bytes(raw[14:18], "big")
    if len(raw) < 18 + n:
        raise SystemExit(f"{state_db}: the stored cookie is cut short ({len(raw)} bytes, "
                         f"its DirSync position needs {18 + n})")
    return base64.b64encode(raw[18:18 + n]).decode()


def dirsync_floor(cookie, repeat=3):
    """The floor of an incremental run (issue 12): `ldapsearch` making the DirSync search
    dirsync makes, from the same cookie, following the continue flag to the end. Read-only
    (the server's cookie is only handed back), so it repeats; median of `repeat` runs."""
    times = []
    entries = 0
    for _ in range(repeat):
        t = time.monotonic()
        c, n = cookie, 0
        while True:
            p = subprocess.run(["ldapsearch", "-LLL", *LDAP_AUTH, "-E", f"!dirSync={DIRSYNC_FLAGS}/{c}",
                                "-b", BASE_DN, KINDS, *DIRSYNC_ATTRS], env=LDAP_ENV,
                               capture_output=True, text=True, timeout=STEP_TIMEOUT)
            if p.returncode != 0:
                fail(f"ldapsearch (DirSync floor) failed: {p.stderr[-500:]}")
            n += p.stdout.count("\ndn: ") + p.stdout.startswith("dn: ") + p.stdout.count("\ndn:: ")
            m = re.search(r"^# cookie:: (\S+)", p.stdout, re.M)
            if "continueFlag=1" not in p.stdout or not m:
                break
            c = m.group(1)
        times.append(time.monotonic() - t)
        entries = n
    return {"median_s": statistics.median(times), "runs_s": times, "entries": entries}


def new_user_ldif(ou, group, tag, i, title="Engineer"):
    sam = f"{tag}{i}"
    dn = f"CN=Bench {sam},{ou}"
    mail = f"bench.{sam}@{DOMAIN}".lower()
    alts = [f"smtp:{sam.lower()}a{k}@{ALT_DOMAIN if k == 2 else DOMAIN}" for k in range(1 + i % 3)]
    attrs = [("objectClass", v) for v in ("top", "person", "organizationalPerson", "user")] + [
        ("sAMAccountName", sam), ("userPrincipalName", f"{sam}@{DOMAIN}"),
        ("userAccountControl", "544"), ("givenName", "Bench"), ("sn", sam), ("displayName", f"Bench {sam}"),
        ("mail", mail), ("proxyAddresses", f"SMTP:{mail}")] + [("proxyAddresses", a) for a in alts] + [
        ("title", title), ("department", "Engineering"), ("company", "Example Ltd"),
        ("telephoneNumber", f"+1 210 555 {i % 10000:04}")]
    ldif = f"dn: {dn}\nchangetype: add\n" + "\n".join(ldif_attr(k, v) for k, v in attrs) + "\n\n"
    ldif += f"{ldif_attr('dn', group)}\nchangetype: modify\nadd: member\n{ldif_attr('member', dn)}\n-\n\n"
    return dn, mail.split("@")[0], 1 + len(alts), ldif


def make_churn(fx, percent):
    """1% churn: a third new users (half per service), a third attribute changes, a third
    removals from groups (Rackspace Email users from their service group: a disable each;
    Exchange users from their distribution list: a member removal each)."""
    n = max(3, round(fx.users * percent / 100))
    adds = n - 2 * (n // 3)
    mods = n // 3
    rems = n // 3
    ex = [u for u in fx.users_of(fx.ex_ou, fx.ex_tag) if u.get("useraccountcontrol") == ["544"]]
    rs = [u for u in fx.users_of(fx.rs_ou, fx.rs_tag) if u.get("useraccountcontrol") == ["544"]] if fx.rs_users else []
    rnd = random.Random(7)
    rnd.shuffle(ex)
    rnd.shuffle(rs)
    apply, revert, min_writes = [], [], 0
    added = []
    for i in range(adds):
        rsemail = fx.rs_users and i % 2 == 1
        ou, group, tag = (fx.rs_ou, fx.rs_group, fx.rs_tag) if rsemail else (fx.ex_ou, fx.ex_group, fx.ex_tag)
        dn, _, writes, ldif = new_user_ldif(ou, group, f"{tag}c{RUN_ID}", i)
        apply.append(ldif)
        added.append(dn)
        min_writes += writes
    # Modifications: alternate between the services.
    pool = [u for pair in zip(ex, rs) for u in pair] if rs else list(ex)
    mod_users, pool = pool[:mods], pool[mods:]
    for u in mod_users:
        dn = u["dn"][0]
        old = u.get("title", [None])[0]
        apply.append(f"{ldif_attr('dn', dn)}\nchangetype: modify\nreplace: title\n"
                     f"{ldif_attr('title', 'Churned ' + RUN_ID)}\n-\n\n")
        revert.append(f"{ldif_attr('dn', dn)}\nchangetype: modify\nreplace: title\n"
                      + (ldif_attr("title", old) + "\n" if old else "") + "-\n\n")
        min_writes += 1
    used = {u["dn"][0] for u in mod_users}
    rem_svc = rems // 2 if rs else 0
    rem_dl = rems - rem_svc
    for u in [u for u in rs if u["dn"][0] not in used][:rem_svc]:
        dn = u["dn"][0]
        apply.append(f"{ldif_attr('dn', fx.rs_group)}\nchangetype: modify\ndelete: member\n{ldif_attr('member', dn)}\n-\n\n")
        revert.append(f"{ldif_attr('dn', fx.rs_group)}\nchangetype: modify\nadd: member\n{ldif_attr('member', dn)}\n-\n\n")
        min_writes += 1
    done = 0
    for u in [u for u in ex if u["dn"][0] not in used]:
        if done == rem_dl:
            break
        dls = [g for g in u.get("memberof", []) if g.lower() != fx.ex_group.lower()]
        if not dls:
            continue
        dn = u["dn"][0]
        apply.append(f"{ldif_attr('dn', dls[0])}\nchangetype: modify\ndelete: member\n{ldif_attr('member', dn)}\n-\n\n")
        revert.append(f"{ldif_attr('dn', dls[0])}\nchangetype: modify\nadd: member\n{ldif_attr('member', dn)}\n-\n\n")
        min_writes += 1
        done += 1
    return {"changes": adds + mods + rem_svc + done, "adds": adds, "modifies": mods,
            "removed_from_service_group": rem_svc, "removed_from_list": done,
            "min_writes": min_writes, "apply": "".join(apply), "revert": "".join(revert), "added": added}


def latency(fx, officed, ds, samples):
    """Change-to-visible: a new user added to the Rackspace Email group (or the Exchange
    group) with `dirsync serve` at schedule.interval = 1s; time from ldapmodify returning
    to the mailbox answering 200 on the API, polled every 50 ms."""
    p = ds.serve()
    # Wait for the first scheduled run to be over before sampling.
    time.sleep(3)
    out, dns = [], []
    rsemail = bool(fx.rs_users)
    ou, group, tag = (fx.rs_ou, fx.rs_group, fx.rs_tag) if rsemail else (fx.ex_ou, fx.ex_group, fx.ex_tag)
    svc = "rs" if rsemail else "ex"
    try:
        for i in range(samples):
            time.sleep(random.uniform(0.2, 1.2))
            dn, name, _, ldif = new_user_ldif(ou, group, f"{tag}l{RUN_ID}", i)
            ta = time.monotonic()
            ldapmodify(ldif)
            t0 = time.monotonic()
            dns.append(dn)
            while True:
                if officed.get(f"/customers/{ACCOUNT}/domains/{DOMAIN}/{svc}/mailboxes/{name}") == 200:
                    break
                if time.monotonic() - t0 > LATENCY_TIMEOUT:
                    log(f"  {name} did not become visible within {LATENCY_TIMEOUT} s; stopping the latency run")
                    out.append({"visible_s": None, "ldapmodify_s": t0 - ta})
                    return summarize_latency(out)
                time.sleep(0.05)
            out.append({"visible_s": time.monotonic() - t0, "ldapmodify_s": t0 - ta})
            log(f"  latency sample {i + 1}: {out[-1]['visible_s']:.2f} s")
    finally:
        stop(p, wait=STEP_TIMEOUT)
        ldapdelete(dns)
    return summarize_latency(out)


def summarize_latency(out):
    v = [s["visible_s"] for s in out if s["visible_s"] is not None]
    return {"samples_s": v, "median_s": statistics.median(v) if v else None, "max_s": max(v) if v else None,
            "timed_out": sum(1 for s in out if s["visible_s"] is None), "timeout_s": LATENCY_TIMEOUT}


def summarize_sync(r, officed_calls):
    rep = r["report"]
    return {
        "wall_s": r["wall_s"], "exit": r["exit"], "peak_rss_mb": r["peak_rss_mb"], "read_s": r["read_s"],
        "marks": r["marks"], "status": rep.get("status"), "counts": rep.get("counts"),
        "api": rep.get("api"), "ops_done": op_counts(rep), "codes": codes(rep),
        "engine_ms": rep.get("duration_ms"), "calls": officed_calls,
        "rss_by_phase_mb": r.get("rss_by_phase_mb"), "load_avg": r.get("load_avg"),
    }


def measure_pass(fx, backend, workdir, latency_samples, churn_percent, res, revert=True):
    """Fills `res` as it goes, so a pass that fails half-way still leaves its figures.
    `revert=False` leaves the churn in the DC, for a caller whose next pass restores the
    saved DC anyway (undoing it in seconds, where deleting the new users from a service
    group of 100,000 members took minutes)."""
    log(f"--- {fx.users} users on {backend}")
    res.update({"backend": backend, "users": fx.users})
    res["read_floor"] = read_floor(fx)
    log(f"read floor (ldapsearch, median of 3): {res['read_floor']['median_s']:.2f} s, "
        f"{res['read_floor']['entries']} entries")
    o = Officed(workdir, backend, licences=fx.users * 2)
    try:
        ds = Dirsync(workdir, o, fx, rate_limit=10_000_000)
        off = o.log_offset()
        log("full initial sync")
        full = ds.sync(full=True)
        res["full"] = summarize_sync(full, o.calls_since(off))
        res["full"]["officed_peak_rss_mb"] = o.peak_rss_mb()
        res["full"]["panel"] = o.panel_counts()
        f = res["full"]
        log(f"full sync: {f['wall_s']:.1f} s, {f['calls']['total']} calls "
            f"({f['calls']['writes']} writes), dirsync {f['peak_rss_mb']:.0f} MB, "
            f"officed {f['officed_peak_rss_mb']:.0f} MB, status {f['status']}")

        churn = make_churn(fx, churn_percent)
        res["churn"] = {k: v for k, v in churn.items() if k not in ("apply", "revert", "added")}
        try:
            t = time.monotonic()
            ldapmodify(churn["apply"])
            res["churn"]["ldapmodify_s"] = time.monotonic() - t
            log(f"churn applied in AD: {res['churn']['changes']} changes")
            state_db = os.path.join(ds.dir, "state.db")
            cookie = committed_dirsync_cookie(state_db)
            if cookie:
                res["churn_floor"] = dirsync_floor(cookie)
                log(f"DirSync floor (ldapsearch from the committed cookie, median of 3): "
                    f"{res['churn_floor']['median_s']:.2f} s, {res['churn_floor']['entries']} entries")
            off = o.log_offset()
            inc = ds.sync(full=False)
            res["incremental"] = summarize_sync(inc, o.calls_since(off))
            log(f"incremental: {inc['wall_s']:.2f} s, {res['incremental']['calls']['total']} calls")
            cookie = committed_dirsync_cookie(state_db)
            if cookie:
                res["idle_floor"] = dirsync_floor(cookie)
                log(f"DirSync floor with no change: {res['idle_floor']['median_s']:.2f} s, "
                    f"{res['idle_floor']['entries']} entries")
            off = o.log_offset()
            idle = ds.sync(full=False)
            res["idle"] = summarize_sync(idle, o.calls_since(off))
            log(f"idle incremental: {idle['wall_s']:.2f} s, {res['idle']['calls']['total']} calls")
            if latency_samples:
                log(f"change-to-visible latency, dirsync serve at 1 s ({latency_samples} samples)")
                res["latency"] = latency(fx, o, ds, latency_samples)
        finally:
            if revert:
                ldapdelete(churn["added"])
                ldapmodify(churn["revert"])
            else:
                log("churn left in the benchmark DC: the next pass restores its saved copy")
        res["officed_peak_rss_mb_end"] = o.peak_rss_mb()
    finally:
        o.close()


def throttled(users, workdir):
    fx = Fixture(users, contacts=0, lists=0, name=f"dsbt{users}", rsemail=False)
    fx.ensure()
    log(f"--- throttled run: {users} users, officed --throttle cloud-office, dirsync default rate limits")
    o = Officed(workdir, "sqlite", licences=users * 2, throttle="cloud-office")
    try:
        ds = Dirsync(workdir, o, fx)
        off = o.log_offset()
        r = ds.sync(full=True)
        calls = o.calls_since(off)
        s = summarize_sync(r, calls)
        w, g = calls["writes"], calls["gets"]
        strict = max((-(-w // 30) - 1) * 60, (-(-g // 60) - 1) * 60, 0)
        steady = max(w / 30 * 60, g / 60 * 60)
        s.update({"users": users, "strict_min_s": strict, "steady_min_s": steady,
                  "write_rate_per_min": w / (r["wall_s"] / 60), "floor": fx.floor_writes()})
        log(f"throttled: {r['wall_s']:.1f} s for {w} writes and {g} GETs; throttled answers: "
            f"{(s['api'] or {}).get('throttled')}")
        return s
    finally:
        o.close()


# ---------------------------------------------------------------- recording

def machine():
    cpu = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(l.split(":", 1)[1].strip() for l in f if l.startswith("model name"))
    except (OSError, StopIteration):
        pass
    mem = ""
    with open("/proc/meminfo") as f:
        mem = f"{int(f.readline().split()[1]) / 1024 / 1024:.0f} GiB RAM"
    samba = run(["samba", "--version"], check=False).stdout.strip().replace("Version", "Samba", 1)
    pg = run(["psql", "--version"], check=False).stdout.strip()
    return f"{cpu}, {os.cpu_count()} cores, {mem}, Linux {platform.release()}; {samba}; {pg}"


def commit():
    """The commit the measured binaries were built from: BENCH_COMMIT when the binaries come
    from elsewhere than this work tree (e.g. another branch's release build), else HEAD
    (marked when the work tree has uncommitted changes)."""
    if os.environ.get("BENCH_COMMIT"):
        return os.environ["BENCH_COMMIT"]
    c = run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"]).stdout.strip()
    dirty = run(["git", "-C", ROOT, "status", "--porcelain", "--untracked-files=no"]).stdout.strip()
    return c + (" (work tree with uncommitted changes of other work in progress)" if dirty else "")


def fmt_kinds(calls, top=8):
    items = list(calls["by_kind"].items())
    s = ", ".join(f"{k} ×{v}" for k, v in items[:top])
    if len(items) > top:
        s += f", {len(items) - top} more kinds"
    return s or "none"


def render(results, thr, notes=(), analysis=()):
    L = []
    L.append(f"## End-to-end sync benchmark (`scripts/bench`), {RUN_TS:%Y-%m-%d %H:%M} UTC")
    L.append("")
    L.append(f"- Machine: {machine()}.")
    L.append(f"- Commit when recorded: {commit()}.")
    L.append("- **Other work ran on the machine at the same time** (other sessions compiling and "
             "running tests on the 2 cores), so wall times are noisy upper bounds.")
    L.append("- Method and definitions: [benchmarks-method.md](benchmarks-method.md); each run of `scripts/bench` replaces this section. dirsync runs with "
             "its defaults except `[engine.rate_limit]` raised to 10,000,000/min for the unthrottled "
             "passes (officed's throttling is off there); concurrency is the default (4).")
    seen = set()
    for r in results:
        fx = r["fixture"]
        if fx["load_seconds"] and fx["name"] not in seen:
            seen.add(fx["name"])
            L.append(f"- Fixture load ({fx['name']}): " + ", ".join(
                f"{'Exchange OU' if k == 'x' else 'Rackspace Email OU'} {v:.0f} s" for k, v in fx["load_seconds"].items())
                + " (ad-fixture).")
    for n in notes:
        L.append(f"- {n}")
    L.append("")
    for n in sorted({r["users"] for r in results}):
        rs = [r for r in results if r["users"] == n]
        fx = rs[0]["fixture"]
        fl = rs[0]["floor"]
        L.append(f"### {n:,} users ({fx['ex_users']:,} Exchange + {fx['rs_users']:,} Rackspace Email, "
                 f"{fl['contacts']:,} contacts, {fl['lists']} lists)")
        L.append("")
        hdr = "| measure | " + " | ".join(("SQLite" if r["backend"] == "sqlite" else "PostgreSQL")
                                          + (f" ({r['label']})" if r.get("label") else "") for r in rs) + " | target |"
        L.append(hdr)
        L.append("|---" * (len(rs) + 2) + "|")

        def row(name, f, target=""):
            vals = []
            for r in rs:
                try:
                    vals.append(f(r))
                except (KeyError, TypeError, ZeroDivisionError, AttributeError):
                    vals.append("—")
            L.append(f"| {name} | " + " | ".join(vals) + f" | {target} |")

        row("full sync: wall time", lambda r: f"{r['full']['wall_s']:.1f} s",
            "≤ 20 s at 10,000 (SQLite)" if n == 10000 else "")
        row("full sync: objects/s (in scope ÷ wall)",
            lambda r: f"{r['full']['counts']['in_scope'] / r['full']['wall_s']:,.0f} ({r['full']['counts']['in_scope']:,} objects)")
        row("full sync: status / findings", lambda r: f"{r['full']['status']}; " + (
            ", ".join(f"{k} ×{v}" for k, v in r['full']['codes'].items()) or "none"))
        row("full sync: phases (read directory / load state / read panel / plan / apply / record+exit)", lambda r: phases(r["full"]))
        row("full sync: API calls (officed log)", lambda r: f"{r['full']['calls']['total']:,} "
            f"({r['full']['calls']['gets']:,} GET, {r['full']['calls']['writes']:,} writes)")
        row("full sync: calls by kind", lambda r: fmt_kinds(r["full"]["calls"]))
        row("full sync: peak RSS dirsync", lambda r: f"{r['full']['peak_rss_mb']:.0f} MB",
            "≤ 150 MB at 50,000" if n == 50000 else "")
        span = {"read_directory": "read directory", "read_directory_end": "load state", "read_target": "read panel",
                "read_target_end": "plan", "plan_end": "apply", "apply_end": "record+exit"}
        row("full sync: dirsync RSS by phase (largest of 100 ms samples)", lambda r: ", ".join(
            f"{span.get(k.split('..')[0], k)} {v} MB" for k, v in r["full"]["rss_by_phase_mb"].items()) or "—")
        row("full sync: peak RSS officed", lambda r: f"{r['full']['officed_peak_rss_mb']:.0f} MB")
        row("read floor: ldapsearch (median of 3)", lambda r: f"{r['read_floor']['median_s']:.2f} s ({r['read_floor']['entries']:,} entries)")
        row("read: dirsync read phase", lambda r: f"{r['full']['read_s']:.2f} s")
        row("read ratio dirsync ÷ ldapsearch", lambda r: f"{r['full']['read_s'] / r['read_floor']['median_s']:.2f}×", "≤ 1.2×")
        row("control panel after full sync (officed DB): mailboxes / contacts / lists / list members / alternates + aliases",
            lambda r: "{mailboxes:,} / {contacts:,} / {lists:,} / {list_members:,} / {other_addresses:,}".format(**r["full"]["panel"]),
            f"in AD: {fl['mailboxes']:,} / {fl['contacts']:,} / {fl['lists']} / {fl.get('list_members_inline', fl.get('list_members', 0)):,} / {fl['alternates']:,} alternates")
        row("write floor: minimum changes", lambda r: f"{r['floor']['total']:,}")
        row("writes made (officed log)", lambda r: f"{r['full']['calls']['writes']:,}")
        row("write ratio writes ÷ changes", lambda r: f"{r['full']['calls']['writes'] / r['floor']['total']:.3f}", "1.000")
        row("1% churn: changes in AD", lambda r: f"{r['churn']['changes']} ({r['churn']['adds']} adds, "
            f"{r['churn']['modifies']} modifies, {r['churn']['removed_from_service_group']} + "
            f"{r['churn']['removed_from_list']} group removals) = {r['churn']['min_writes']} minimum writes")
        row("incremental: wall time", lambda r: f"{r['incremental']['wall_s']:.2f} s",
            "≤ 2 s at 50,000" if n == 50000 else "")
        row("incremental: calls", lambda r: f"{r['incremental']['calls']['total']} ({r['incremental']['calls']['gets']} GET, "
            f"{r['incremental']['calls']['writes']} writes)")
        row("incremental: calls ÷ changes", lambda r: f"{r['incremental']['calls']['total'] / r['churn']['changes']:.2f} "
            f"(writes ÷ minimum writes {r['incremental']['calls']['writes'] / r['churn']['min_writes']:.2f})")
        row("incremental: phases (as above)", lambda r: phases(r["incremental"]))
        row("incremental: calls by kind", lambda r: fmt_kinds(r["incremental"]["calls"]))
        row("idle incremental: wall time", lambda r: f"{r['idle']['wall_s']:.2f} s", "≤ 0.3 s")
        row("idle incremental: calls", lambda r: f"{r['idle']['calls']['total']} ({r['idle']['calls']['writes']} writes)", "0 writes")
        row("idle incremental: phases (as above)", lambda r: phases(r["idle"]))
        row("idle incremental: calls by kind", lambda r: fmt_kinds(r["idle"]["calls"]))
        row("idle incremental: peak RSS dirsync", lambda r: f"{r['idle']['peak_rss_mb']:.0f} MB")
        row("change-to-visible latency (serve, 1 s interval)", lambda r: fmt_latency(r["latency"]), "≤ 10 s")
        L.append("")
    if thr:
        w = thr["calls"]["writes"]
        g = thr["calls"]["gets"]
        L.append(f"### Throttled run ({thr['users']:,} users, officed `--throttle cloud-office`: 60 GETs and 30 writes per minute per key)")
        L.append("")
        L.append("| measure | value | target |")
        L.append("|---|---|---|")
        L.append(f"| wall time | {thr['wall_s']:.1f} s | |")
        L.append(f"| calls | {thr['calls']['total']} ({g} GET, {w} writes; minimum changes {thr['floor']['total']}) | |")
        L.append(f"| minimum time the limits allow | {thr['strict_min_s']:.0f} s (first window at once, then 30 writes / 60 GETs per further minute); "
                 f"{thr['steady_min_s']:.0f} s at the steady rate | |")
        L.append(f"| achieved write rate | {thr['write_rate_per_min']:.1f} writes/min = {thr['write_rate_per_min'] / 30 * 100:.0f}% of the allowed 30/min; "
                 f"strict minimum ÷ wall = {thr['strict_min_s'] / thr['wall_s'] * 100:.0f}% | ≥ 95% |")
        L.append(f"| throttle rejections (dirsync's API stats) | {(thr['api'] or {}).get('throttled')} (retries {(thr['api'] or {}).get('retries')}) | 0 |")
        L.append(f"| status | {thr['status']}; " + (", ".join(f"{k} ×{v}" for k, v in thr['codes'].items()) or "no findings") + " | |")
        L.append("")
    if analysis:
        L.append("### Where the time and memory go")
        L.append("")
        L += [f"- {a}" for a in analysis]
        L.append("")
    return "\n".join(L) + "\n"


def fmt_latency(lat):
    parts = []
    if lat["samples_s"]:
        parts.append(f"median {lat['median_s']:.2f} s, max {lat['max_s']:.2f} s "
                     f"({len(lat['samples_s'])} samples: " + ", ".join(f"{v:.2f}" for v in lat["samples_s"]) + ")")
    if lat.get("timed_out"):
        parts.append(f"{lat['timed_out']} change(s) not visible within {lat['timeout_s']} s")
    return "; ".join(parts)


def phases(s):
    """Spans between dirsync's progress lines: read directory / load state / read control
    panel / plan / apply / record the run and exit."""
    m = s["marks"]
    try:
        pts = [m["read_directory"], m["read_directory_end"], m["read_target"], m["read_target_end"],
               m["plan_end"], m.get("apply_end", m["plan_end"]), s["wall_s"]]
        return " / ".join(f"{b - a:.2f}" for a, b in zip(pts, pts[1:])) + " s"
    except KeyError:
        return "—"


def main():
    os.makedirs(OUT_DIR, exist_ok=True)
    signal.signal(signal.SIGTERM, lambda *_: (stop_all(), sys.exit(143)))
    sizes = os.environ.get("BENCH_SIZES", "10000 50000").split()
    backends = os.environ.get("BENCH_BACKENDS", "sqlite postgres").split()
    thr_users = int(os.environ.get("BENCH_THROTTLED_USERS", "2000"))
    samples = int(os.environ.get("BENCH_LATENCY_SAMPLES", "5"))
    churn = float(os.environ.get("BENCH_CHURN_PERCENT", "1"))
    log(f"results and logs in {os.path.relpath(OUT_DIR, ROOT)}")
    results, thr = [], None
    try:
        for n in sizes:
            fx = Fixture(int(str(n).rstrip("x")))
            if str(n).endswith("x"):
                fx.exchange_half()
            fx.ensure()
            floor = fx.floor_writes()
            log(f"write floor for {n} users: {floor}")
            for b in backends:
                work = os.path.join(OUT_DIR, f"{n}-{b}")
                r = {"floor": floor, "fixture": fx.describe()}
                results.append(r)
                measure_pass(fx, b, work, samples, churn, r)
                with open(os.path.join(OUT_DIR, "results.json"), "w") as f:
                    json.dump({"passes": results}, f, indent=1)
        if thr_users:
            thr = throttled(thr_users, os.path.join(OUT_DIR, "throttled"))
    finally:
        stop_all()
        with open(os.path.join(OUT_DIR, "results.json"), "w") as f:
            json.dump({"passes": results, "throttled": thr}, f, indent=1)
    record(render(results, thr))


def record(text):
    """Prints the section and puts it in docs/BENCHMARKS.md between this script's markers
    (replacing its previous section there, leaving every other section alone), or appends it."""
    print(text)
    if os.environ.get("BENCH_NO_RECORD") == "1":
        return
    path = os.path.join(ROOT, "docs", "BENCHMARKS.md")
    begin, end = "<!-- e2e-bench:start -->", "<!-- e2e-bench:end -->"
    block = f"{begin}\n{text.rstrip()}\n{end}\n"
    old = open(path).read() if os.path.exists(path) else "# Benchmarks\n\n"
    if begin in old and end in old:
        rest = old[old.index(end) + len(end):].lstrip("\n")
        new = old[:old.index(begin)] + block + ("\n" + rest if rest else "")
    else:
        new = old.rstrip("\n") + "\n\n" + block
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(new)
    os.replace(tmp, path)
    log(f"recorded in {os.path.relpath(path, ROOT)}")


def recover_pass(workdir, backend, users, floor_median_s, floor_entries, churn_percent=1.0):
    """`bench.py --recover DIR BACKEND USERS LDAPSEARCH_S ENTRIES`: rebuilds a pass's figures
    from the files a run leaves in DIR (sync logs, GNU time output, dirsync's run history,
    officed's request log) when the run itself stopped before writing them. Prints JSON."""
    fx = Fixture(users)
    d = os.path.join(workdir, "dirsync")
    cfg = os.path.join(d, "dirsync.toml")
    runs = json.loads(run([DIRSYNC, "--config", cfg, "history", "--limit", "20", "--json"]).stdout)
    runs = sorted(runs, key=lambda r: r["id"])
    with open(os.path.join(workdir, "officed", "officed.log"), errors="replace") as f:
        olines = f.read().splitlines()

    def ts(text):
        return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()

    out = {"backend": backend, "users": users, "fixture": fx.describe(), "floor": fx.floor_writes(),
           "read_floor": {"median_s": floor_median_s, "entries": floor_entries}, "recovered": True}
    for n, name in [(1, "full"), (2, "incremental"), (3, "idle")]:
        logp = os.path.join(d, f"sync-{n}.log")
        if not os.path.exists(logp):
            continue
        lines = []
        with open(logp) as f:
            for line in f:
                t, _, rest = line.strip().partition(" ")
                lines.append((float(t), rest))
        # Absolute start: a JSON log line's timestamp minus its offset.
        t_abs = next(ts(json.loads(l)["timestamp"]) - t for t, l in lines if l.startswith("{"))
        marks = parse_marks(lines)
        wall = lines[-1][0]
        kinds = {}
        for l in olines:
            m = REQ_RE.search(l)
            if m and t_abs - 0.5 <= ts(l.split()[0]) <= t_abs + wall + 1:
                k = kind_of(m.group(1), m.group(2))
                kinds[k] = kinds.get(k, 0) + 1
        gets = sum(v for k, v in kinds.items() if k.startswith("GET "))
        calls = {"total": sum(kinds.values()), "gets": gets, "writes": sum(kinds.values()) - gets,
                 "by_kind": dict(sorted(kinds.items(), key=lambda kv: -kv[1]))}
        rep = json.loads(run([DIRSYNC, "--config", cfg, "history", "show", str(runs[n - 1]["id"]), "--json"]).stdout)
        with open(os.path.join(d, f"rss-{n}.txt")) as f:
            peak = int(f.read().split()[-1]) / 1024
        read_s = marks["read_directory_end"] - marks["read_directory"] if "read_directory_end" in marks else None
        out[name] = summarize_sync({"wall_s": wall, "exit": rep.get("exit_code"), "peak_rss_mb": peak,
                                    "marks": marks, "read_s": read_s, "report": rep}, calls)
        out[name]["wall_is_last_output"] = True
    n = max(3, round(users * churn_percent / 100))
    adds, mods, rems = n - 2 * (n // 3), n // 3, n // 3
    out["churn"] = {"changes": adds + mods + rems, "adds": adds, "modifies": mods,
                    "removed_from_service_group": rems // 2, "removed_from_list": rems - rems // 2,
                    "min_writes": sum(2 + i % 3 for i in range(adds)) + mods + rems}
    print(json.dumps({"passes": [out]}, indent=1))


def render_files(paths):
    """`bench.py --render [--label L] A/results.json [--label L2] B/results.json [--note TEXT] [--analysis TEXT]`: one section from the
    passes of earlier runs (e.g. a SQLite pass and a PostgreSQL pass run separately)."""
    results, thr, notes, analysis, label = [], None, [], [], None
    it = iter(paths)
    for p in it:
        if p in ("--note", "--analysis"):
            (notes if p == "--note" else analysis).append(next(it))
            continue
        if p == "--label":
            label = next(it)
            continue
        with open(p) as f:
            d = json.load(f)
        for r in d.get("passes", []):
            if "backend" in r:
                if label:
                    r["label"] = label
                results.append(r)
        thr = d.get("throttled") or thr
    record(render(results, thr, notes, analysis))


if __name__ == "__main__":
    try:
        if sys.argv[1:2] == ["--recover"]:
            a = sys.argv[2:]
            recover_pass(a[0], a[1], int(a[2]), float(a[3]), int(a[4]))
            sys.exit(0)
        if sys.argv[1:2] == ["--render"]:
            render_files(sys.argv[2:])
            sys.exit(0)
        main()
    except KeyboardInterrupt:
        stop_all()
        sys.exit(130)
