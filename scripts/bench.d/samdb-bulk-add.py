#!/usr/bin/python3
"""Adds the entries of an LDIF file to the scratch Samba DC's database in one
transaction, through Samba's own Python bindings (so every DSDB module runs,
as for an LDAP add). Entries whose DN already exists are skipped.

Why: over LDAP each add is its own transaction, and Samba rewrites the
attribute index records that list every object of a class (objectClass=user,
objectCategory=person) on each one, so adds slow down as the domain grows
(about 4 users/s with 60,000 users present). In one transaction those
records are written once.

Usage (Debian's python3, which has the samba module):
    /usr/bin/python3 scripts/bench.d/samdb-bulk-add.py SMB_CONF LDIF_FILE
"""
import sys
import time

import samba
from samba.auth import system_session
from samba.param import LoadParm
from samba.samdb import SamDB
import ldb


def main():
    conf, path = sys.argv[1], sys.argv[2]
    lp = LoadParm()
    lp.load(conf)
    db = SamDB(url=lp.samdb_url(), lp=lp, session_info=system_session())
    with open(path) as f:
        text = f.read()
    t = time.monotonic()
    added = skipped = 0
    db.transaction_start()
    try:
        for _, msg in db.parse_ldif(text):
            try:
                db.add(msg)
                added += 1
            except ldb.LdbError as e:
                if e.args[0] == ldb.ERR_ENTRY_ALREADY_EXISTS:
                    skipped += 1
                    continue
                raise
        db.transaction_commit()
    except BaseException:
        db.transaction_cancel()
        raise
    s = time.monotonic() - t
    print(f"added {added} entries ({skipped} already present) in {s:.1f} s "
          f"({added / max(s, 0.001):.0f}/s, one transaction)")


if __name__ == "__main__":
    main()
