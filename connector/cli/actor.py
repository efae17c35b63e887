"""Who runs an administrative command: the operating-system account, never a claim.

Contract 7 (v2): the administrative verbs (``hs``, ``suspensions``, ``quotas``,
``declarations cancel``, ``outbox retry``, ``dlq replay``) record as the actor the account
running the command, so that one person cannot propose a table as one name and approve it as
another. The account is the *effective* uid's entry in the password database: ``$USER``,
``$LOGNAME`` (which ``getpass.getuser`` reads first) and a ``--user`` option are set by the
caller and prove nothing. A person acts as another account only with that account's rights
(``sudo -u``, ``su``), which the system grants and logs.

Every administrative verb takes its actor from :func:`acting`; a ``--user`` given to one of
them is refused with exit 2 (a hidden option, so that old scripts get a clear message rather
than click's "no such option").
"""

from __future__ import annotations

import functools
import os
import pwd
import sys
from collections.abc import Callable
from typing import Any, NoReturn, TypeVar

import click

EXIT_USAGE = 2
R = TypeVar("R")


def os_account() -> str:
    """The effective uid's account name; ``#<uid>`` when the uid has no password entry (a
    container started with a bare ``--user 1234``), as sudo writes an unnamed uid."""
    uid = os.geteuid()
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"#{uid}"


def _refuse_user(value: str) -> NoReturn:
    click.echo(
        f"error: --user {value} is refused: administrative commands record the "
        f"operating-system account that runs them ({os_account()}); run the command "
        f"as that person's own account (e.g. sudo -u NAME cites-connector ...)",
        err=True,
    )
    sys.exit(EXIT_USAGE)


def refuses_user(command: Callable[..., R]) -> Callable[..., R]:
    """A hidden ``--user`` that is refused: for the administrative verbs that only read."""

    @click.option("--user", "claimed_user", hidden=True, default=None)
    @functools.wraps(command)
    def wrapper(*args: Any, claimed_user: str | None = None, **kwargs: Any) -> R:
        if claimed_user is not None:
            _refuse_user(claimed_user)
        return command(*args, **kwargs)

    return wrapper


def acting(command: Callable[..., R]) -> Callable[..., R]:
    """The command receives ``actor``: the OS account running it; ``--user`` is refused."""

    @refuses_user
    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> R:
        return command(*args, actor=os_account(), **kwargs)

    return wrapper
