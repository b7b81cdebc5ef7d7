"""Runs one rackmail 0.6.0 command, unmodified, as its CLI would.

rackmail's entry point (`rackmail.main`) imports every subcommand module,
and `create_login_token.py` uses Python 3.12 f-string syntax, so on older
interpreters the `rackmail` script stops with a SyntaxError before running
anything. This driver imports the one subcommand module it runs and calls
it with the same arguments argparse would build, so every other command
runs on Python 3.11 too; on 3.12+ `createlogintoken` runs as well.

Usage: drive.py COMMAND [name=value ...]
(email=, domain=, password=, fields=, page=, output=, property=, value=,
webmail_url=). The environment carries RACKSPACE_API_HEADER,
RACKSPACE_CUSTOMER_ID, HTTPS_PROXY and REQUESTS_CA_BUNDLE.
"""

import argparse
import importlib
import sys

MODULES = {
    "createuser": ("create_user", "create_user"),
    "deleteuser": ("delete_user", "delete_user"),
    "enableuser": ("enable_user", "enable_user"),
    "disableuser": ("disable_user", "disable_user"),
    "getmailbox": ("get_mailbox", "get_mailbox"),
    "setpassword": ("set_password", "set_password"),
    "createlogintoken": ("create_login_token", "create_login_token"),
    "listall": ("list_all", "search_mailboxes"),
    "set": ("set_property", "set_property"),
}


def main():
    command = sys.argv[1]
    args = argparse.Namespace(
        command=command, email=None, domain=None, password=None, fields=None,
        page=None, output=None, property=None, value=None, webmail_url=None)
    for kv in sys.argv[2:]:
        k, _, v = kv.partition("=")
        setattr(args, k, v)
    module, func = MODULES[command]
    mod = importlib.import_module("rackmail.subcommands." + module)
    getattr(mod, func)(args)


if __name__ == "__main__":
    main()
