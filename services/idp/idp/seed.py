"""The demo accounts of the local cloud, so that the README's walkthrough works out of the box.

In the local cloud only (``STRATUS_ENV`` is ``local``/``dev`` AND ``AWS_ENDPOINT_URL`` is a loopback
address — see :func:`stratus_common.environment.in_local_cloud`), the idp creates, on its first ``/auth/token`` or
``/auth/register`` request, if they do not exist yet:

- the user ``demo`` with the password ``stratus-demo-password`` (``IDP_DEMO_USERNAME`` /
  ``IDP_DEMO_PASSWORD`` override them), with the scope ``profile``;
- the machine client ``demo-client`` with the secret ``stratus-demo-client-secret`` (scopes ``api`` and
  ``texts:write``, which the text service wants to add or generate texts).

``IDP_SEED_DEMO=false`` turns this off. Nothing is ever seeded in AWS, whatever the variables say.

``python -m idp.seed`` does the same on demand (local cloud only), against the table named by
``ACCOUNTS_TABLE_NAME``; ``--username NAME --password-stdin`` creates a user anywhere (AWS included).
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
from collections.abc import Callable

from stratus_common.environment import in_local_cloud

from idp.accounts import AccountExists, AccountStore

__all__ = ["DEMO_CLIENT_ID", "DEMO_USERNAME", "ensure_demo", "main", "seed_demo"]

DEMO_USERNAME = "demo"
DEMO_PASSWORD = "stratus-demo-password"  # noqa: S105 - a documented, local-cloud-only demo credential
DEMO_CLIENT_ID = "demo-client"
DEMO_CLIENT_SECRET = "stratus-demo-client-secret"  # noqa: S105 - idem
DEMO_CLIENT_SCOPES = ("api", "texts:write")  # texts:write: POST /texts and /texts/generate

_lock = threading.Lock()
_done = threading.Event()


def seed_demo(accounts: AccountStore) -> list[str]:
    """Create the demo user and client unless they exist; return what was created."""
    created = []
    username = os.environ.get("IDP_DEMO_USERNAME") or DEMO_USERNAME
    password = os.environ.get("IDP_DEMO_PASSWORD") or DEMO_PASSWORD
    try:
        accounts.create_user(username, password)
        created.append(f"user {username}")
    except AccountExists:
        pass
    try:
        accounts.create_client(DEMO_CLIENT_ID, scopes=DEMO_CLIENT_SCOPES, secret=DEMO_CLIENT_SECRET)
        created.append(f"client {DEMO_CLIENT_ID}")
    except AccountExists:
        pass
    return created


def ensure_demo(accounts: Callable[[], AccountStore]) -> None:
    """Seed the demo accounts once per process, in the local cloud only."""
    if _done.is_set():
        return
    with _lock:
        if _done.is_set():
            return
        if in_local_cloud() and os.environ.get("IDP_SEED_DEMO", "true").lower() not in ("false", "0", "no"):
            seed_demo(accounts())
        _done.set()


def reset() -> None:
    """Seed again on the next request (tests)."""
    _done.clear()


def main(argv: list[str] | None = None) -> int:
    """``python -m idp.seed``: seed the demo accounts, or create one user."""
    parser = argparse.ArgumentParser(prog="python -m idp.seed", description=__doc__.split("\n\n")[0])
    parser.add_argument("--username", help="create this user instead of the demo accounts")
    parser.add_argument("--password-stdin", action="store_true", help="read the user's password from stdin")
    args = parser.parse_args(argv)
    from stratus_common.aws import client
    from stratus_common.settings import table_name

    accounts = AccountStore(client("dynamodb"), table_name("accounts"))
    if args.username:
        if not args.password_stdin:
            parser.error("--username needs --password-stdin (a password is never given on the command line)")
        password = sys.stdin.readline().rstrip("\n")
        try:
            user = accounts.create_user(args.username, password)
        except (ValueError, AccountExists) as exc:
            print(f"error: {type(exc).__name__}: {exc}", file=sys.stderr)
            return 1
        print(f"created user {user.username} ({user.subject})")
        return 0
    if not in_local_cloud():
        print("error: the demo accounts (known passwords) are for the local cloud only", file=sys.stderr)
        return 2
    created = seed_demo(accounts)
    print("created " + ", ".join(created) if created else "the demo accounts exist already")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
