"""``reelchat users claim NAME`` and ``reelchat users list``: operator commands for accounts.

Profiles saved before accounts existed are name-only: nobody can sign in to them or sign up over their
names. An operator who has checked who the person is (outside ReelChat) gives such a profile a password
with ``claim``; the person then signs in with it and can change it. ``list`` shows which profiles are
accounts and which are still name-only. The password is read from the terminal without echo, or from
the first line of standard input with ``--password-stdin``; it is never printed or logged.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from typing import Any

from sqlalchemy import select

from agent.settings import Settings, settings_from_args
from agent.store import Accounts, AuthError, FeedbackStore
from agent.store.models import credentials, users


def _read_password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass(f"New password for {args.name}: ")
    if getpass.getpass("Repeat it: ") != first:
        raise AuthError("The two passwords differ; nothing was changed.")
    return first


def cmd_claim(args: argparse.Namespace, settings: Settings) -> int:
    """Set a password for an existing name-only profile."""
    with FeedbackStore.open(settings.db_url, cache_dir=settings.cache_dir) as store:
        accounts = Accounts.from_settings(store, settings)
        if accounts.status(args.name) != "name-only":
            raise AuthError(f"{args.name!r} is not a name-only profile (see reelchat users list).")
        accounts.claim(args.name, _read_password(args))
    print(f"{args.name} is now an account: they sign in with that name and password.")
    return 0


def cmd_list(args: argparse.Namespace, settings: Settings) -> int:
    """Print every stored profile and whether it is an account or name-only."""
    query = select(users.c.id, credentials.c.user_id).outerjoin(credentials).order_by(users.c.id)
    with (
        FeedbackStore.open(settings.db_url, cache_dir=settings.cache_dir) as store,
        store.transaction("list users") as conn,
    ):
        rows = conn.execute(query).all()
    for user_id, account in rows:
        print(f"{'account  ' if account else 'name-only'}  {user_id}")
    return 0


def run(args: argparse.Namespace) -> int:
    """Run ``args.handler``; refused account actions print one line and exit with code 2."""
    try:
        return int(args.handler(args, settings_from_args(args)))
    except AuthError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2


def add_users_parsers(subparsers: Any) -> None:
    """Add ``users claim NAME [--password-stdin]`` and ``users list``."""
    u = subparsers.add_parser("users", help="operator commands for accounts (claim name-only profiles)")
    usub = u.add_subparsers(dest="users_command", required=True)
    c = usub.add_parser("claim", help="set a password for a profile saved before accounts")
    c.add_argument("name")
    c.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    c.set_defaults(func=run, handler=cmd_claim)
    usub.add_parser("list", help="stored profiles: account or name-only").set_defaults(
        func=run, handler=cmd_list
    )
