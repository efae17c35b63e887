"""Console accounts: argon2 password hashes, roles, broker bindings and the login lockout.

Used by ``cites-connector users`` (actor: the operating-system account, contract 7) and by
the console (actor: the logged-in user). Roles (issue 12):

- ``admin``: everything, including the operations pages (outbox retry, dead-letter replay);
- ``reviewer``: edits, proposes, approves and publishes HS tables (never their own: four
  eyes), confirms paper permits;
- ``officer``: declarations, held queue, permits, paper permit entry and confirmation;
- ``viewer``: reads declarations, permits, HS tables and the dashboard;
- ``broker``: only the declarations of its declarant codes.

A password is hashed with argon2id (argon2-cffi's defaults, RFC 9106's second recommended
option); a hash made with older parameters is replaced at the next successful login.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from cites_connector.adapters.sql.console_users import ConsoleUserRecord, SqlConsoleUsers
from cites_connector.domain.errors import InvalidInput

ROLES = ("admin", "reviewer", "officer", "broker", "viewer")
NAME = re.compile(r"[a-z][a-z0-9._-]{1,63}")
DECLARANT_CODE = re.compile(r"[A-Za-z0-9_-]{1,64}")
MIN_PASSWORD, MAX_PASSWORD = 12, 1024

ConsoleUser = ConsoleUserRecord


class UnknownAccount(InvalidInput):
    """No console user of that name."""


@dataclass(frozen=True)
class LoginResult:
    user: ConsoleUser | None
    #: why not: "credentials" (unknown name or wrong password: the page says no more),
    #: "locked" or "disabled"
    refused: str | None = None
    locked_until: datetime | None = None


def check_name(name: str) -> str:
    if not NAME.fullmatch(name):
        raise InvalidInput(
            f"user name {name[:70]!r} is not 2-64 characters of a-z 0-9 . _ - starting with "
            "a letter"
        )
    return name


def check_password(password: str) -> str:
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise InvalidInput(
            f"a password has {MIN_PASSWORD} to {MAX_PASSWORD} characters "
            f"(this one has {len(password)})"
        )
    return password


def check_roles(roles: Iterable[str], codes: Iterable[str]) -> tuple[list[str], list[str]]:
    """Known roles; a broker needs declarant codes and has no other role (it sees only its
    own declarations, so another role would widen that silently)."""
    names = sorted({r.strip().lower() for r in roles if r.strip()})
    unknown = [r for r in names if r not in ROLES]
    if unknown or not names:
        raise InvalidInput(
            f"roles are some of {', '.join(ROLES)} (got {', '.join(unknown) or 'none'})"
        )
    code_list = sorted({c.strip() for c in codes if c.strip()})
    bad = [c for c in code_list if not DECLARANT_CODE.fullmatch(c)]
    if bad:
        raise InvalidInput(f"declarant code {bad[0][:70]!r} is not 1-64 of A-Z a-z 0-9 _ -")
    if "broker" in names and len(names) > 1:
        raise InvalidInput("a broker account has the broker role only")
    if "broker" in names and not code_list:
        raise InvalidInput("a broker account needs at least one declarant code (--code)")
    if code_list and "broker" not in names:
        raise InvalidInput("declarant codes are for broker accounts only")
    return names, code_list


class Accounts:
    def __init__(
        self,
        store: SqlConsoleUsers,
        *,
        clock: Callable[[], datetime],
        max_failures: int = 5,
        lockout: timedelta = timedelta(minutes=15),
        hasher: PasswordHasher | None = None,
    ):
        self.store = store
        self.clock = clock
        self.max_failures = max_failures
        self.lockout = lockout
        self.hasher = hasher or PasswordHasher()
        self._dummy_hash: str | None = None

    @property
    def _dummy(self) -> str:
        """Verified against when the name is unknown (or the account unusable), so that a
        refusal takes as long as a wrong password: names cannot be probed by timing."""
        if self._dummy_hash is None:
            self._dummy_hash = self.hasher.hash("not a password of anyone")
        return self._dummy_hash

    def get(self, name: str) -> ConsoleUser | None:
        return self.store.get(name)

    def all(self) -> list[ConsoleUser]:
        return self.store.all()

    def add(
        self, actor: str, name: str, password: str, roles: Iterable[str], codes: Iterable[str] = ()
    ) -> ConsoleUser:
        check_name(name)
        role_list, code_list = check_roles(roles, codes)
        digest = self.hasher.hash(check_password(password))
        if not self.store.add(actor, name, digest, role_list, code_list, self.clock()):
            raise InvalidInput(f"there is a console user {name} already")
        user = self.store.get(name)
        assert user is not None
        return user

    def set_password(self, actor: str, name: str, password: str) -> None:
        digest = self.hasher.hash(check_password(password))
        self._change(
            actor, name, "console.user.password", {"password_hash": digest}, {}, new_session=True
        )

    def set_disabled(self, actor: str, name: str, disabled: bool) -> None:
        action = "console.user.disabled" if disabled else "console.user.enabled"
        values: dict[str, object] = {"disabled": disabled}
        if not disabled:
            values |= {"failed_logins": 0, "locked_until": None}
        self._change(actor, name, action, values, {}, new_session=disabled)

    def set_roles(
        self, actor: str, name: str, roles: Iterable[str], codes: Iterable[str] = ()
    ) -> None:
        role_list, code_list = check_roles(roles, codes)
        self._change(
            actor,
            name,
            "console.user.roles",
            {"roles": " ".join(role_list), "declarant_codes": code_list},
            {"roles": role_list, "declarant_codes": code_list},
            new_session=True,
        )

    def _change(
        self,
        actor: str,
        name: str,
        action: str,
        values: dict[str, object],
        details: dict[str, object],
        *,
        new_session: bool,
    ) -> None:
        if not self.store.change(
            actor, name, action, values, details, self.clock(), new_session=new_session
        ):
            raise UnknownAccount(f"no console user {name}")

    def end_sessions(self, name: str) -> None:
        """Every session of the account ends (logout): not an account change, not audited."""
        self.store.end_sessions(name)

    def log_in(self, name: str, password: str) -> LoginResult:
        """The user when the password is right and the account usable; a wrong password
        counts toward the lockout even while the account is locked."""
        now = self.clock()
        user = self.store.get(name) if NAME.fullmatch(name) else None
        if user is None:
            self._verify(self._dummy, password)
            return LoginResult(None, "credentials")
        if user.disabled:
            self._verify(self._dummy, password)
            return LoginResult(None, "disabled")
        if user.locked_until is not None and user.locked_until > now:
            self._verify(self._dummy, password)
            return LoginResult(None, "locked", user.locked_until)
        if not self._verify(user.password_hash, password):
            until = now + self.lockout
            locked = self.store.count_failure(
                name, now, max_failures=self.max_failures, lock_until=until
            )
            return LoginResult(
                None, "locked" if locked else "credentials", until if locked else None
            )
        self.store.logged_in(name)
        if self.hasher.check_needs_rehash(user.password_hash):
            self.set_password(name, name, password)
        return LoginResult(self.store.get(name))

    def _verify(self, digest: str, password: str) -> bool:
        if len(password) > MAX_PASSWORD:
            return False
        try:
            return self.hasher.verify(digest, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False
