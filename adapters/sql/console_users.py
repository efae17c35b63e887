"""The console's user accounts in SQL: each change and its audit record in one transaction.

Every change of an account (added, disabled, enabled, password, roles) appends a record to the
administration audit chain in the same transaction, under the acting user: the operating-system
account for ``cites-connector users`` (contract 7), the logged-in user for the console. A
lockout is recorded too; a failed login that does not lock only counts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, insert, select, update
from sqlalchemy.engine import RowMapping

from cites_connector.adapters.sql import audit_chain
from cites_connector.adapters.sql.codec import utc
from cites_connector.adapters.sql.console_tables import console_users
from cites_connector.adapters.sql.transactions import reading, writing

_u = console_users


@dataclass(frozen=True)
class ConsoleUserRecord:
    name: str
    password_hash: str
    roles: frozenset[str]
    declarant_codes: tuple[str, ...]
    disabled: bool
    failed_logins: int
    locked_until: datetime | None
    session_epoch: int


def _record(row: RowMapping) -> ConsoleUserRecord:
    return ConsoleUserRecord(
        name=row["name"],
        password_hash=row["password_hash"],
        roles=frozenset(row["roles"].split()),
        declarant_codes=tuple(row["declarant_codes"] or ()),
        disabled=bool(row["disabled"]),
        failed_logins=int(row["failed_logins"]),
        locked_until=utc(row["locked_until"]),
        session_epoch=int(row["session_epoch"]),
    )


class SqlConsoleUsers:
    """Accounts by name; the rules (hashing, lockout, roles) are the caller's."""

    def __init__(self, engine: Engine):
        self.engine = engine

    def get(self, name: str) -> ConsoleUserRecord | None:
        with reading(self.engine) as c:
            row = c.execute(select(_u).where(_u.c.name == name)).mappings().first()
        return None if row is None else _record(row)

    def all(self) -> list[ConsoleUserRecord]:
        with reading(self.engine) as c:
            rows = c.execute(select(_u).order_by(_u.c.name)).mappings().all()
        return [_record(r) for r in rows]

    def add(
        self,
        actor: str,
        name: str,
        password_hash: str,
        roles: Sequence[str],
        codes: Sequence[str],
        at: datetime,
    ) -> bool:
        """False when the name is taken (nothing written)."""
        with writing(self.engine) as c:
            if c.execute(select(_u.c.name).where(_u.c.name == name)).first() is not None:
                return False
            c.execute(
                insert(_u).values(
                    name=name,
                    password_hash=password_hash,
                    roles=" ".join(sorted(roles)),
                    declarant_codes=list(codes),
                    disabled=False,
                    failed_logins=0,
                    session_epoch=0,
                    created_at=at,
                    created_by=actor,
                )
            )
            details = {"roles": sorted(roles), "declarant_codes": list(codes)}
            audit_chain.append(c, actor, "console.user.added", name, None, details, at)
        return True

    def change(
        self,
        actor: str,
        name: str,
        action: str,
        values: dict[str, Any],
        details: dict[str, Any],
        at: datetime,
        *,
        new_session: bool = False,
    ) -> bool:
        """Update one account and audit it; ``new_session`` ends its open sessions. False
        when there is no such account."""
        with writing(self.engine) as c:
            changes = dict(values)
            if new_session:
                changes["session_epoch"] = _u.c.session_epoch + 1
            done = c.execute(update(_u).where(_u.c.name == name).values(**changes)).rowcount
            if not done:
                return False
            audit_chain.append(c, actor, action, name, None, details, at)
        return True

    def count_failure(
        self, name: str, at: datetime, *, max_failures: int, lock_until: datetime
    ) -> bool:
        """One more failed login; at ``max_failures`` the account is locked until
        ``lock_until`` (audited, the count starts again). True when this failure locked it."""
        with writing(self.engine) as c:
            row = c.execute(
                select(_u.c.failed_logins).where(_u.c.name == name).with_for_update()
            ).first()
            if row is None:
                return False
            failures = int(row[0]) + 1
            if failures < max_failures:
                c.execute(update(_u).where(_u.c.name == name).values(failed_logins=failures))
                return False
            c.execute(
                update(_u).where(_u.c.name == name).values(failed_logins=0, locked_until=lock_until)
            )
            audit_chain.append(
                c,
                "console",
                "console.user.locked",
                name,
                f"{failures} failed logins",
                {"locked_until": lock_until.isoformat()},
                at,
            )
            return True

    def logged_in(self, name: str) -> None:
        with writing(self.engine) as c:
            c.execute(
                update(_u).where(_u.c.name == name).values(failed_logins=0, locked_until=None)
            )

    def end_sessions(self, name: str) -> None:
        with writing(self.engine) as c:
            c.execute(
                update(_u).where(_u.c.name == name).values(session_epoch=_u.c.session_epoch + 1)
            )
