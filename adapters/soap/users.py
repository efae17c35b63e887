"""SOAP users, their roles and their customs offices (contract sections 1 and 9, v2).

``CONNECTOR_SOAP_USERS`` holds comma-separated entries
``user:password[:role+role][@OFFICE+OFFICE]``. Roles: ``check`` (CheckDeclaration, GetDecision,
GetPermitBalance) and ``cancel`` (CancelDeclaration); no role means both. Offices are customs office
codes (the SAD's ``Customs_clearance_office_code``); no office means every office. A broker's or a
regional office's account can so be kept from cancelling, or from reading, another office's
declarations: cancelling gives permit quantities back, which is the electronic undoing of an
endorsement (CITES Art. VI(5)), and only the office that cleared may do it.

A password may itself hold ``:`` and ``@``: an entry is read from its end, and a suffix counts
as offices only when it is upper-case office codes, as roles only when it is role names. A
password that ends like one (``p@WDHA``, ``x:check``) is written with its roles spelt out:
``user:p@WDHA:check+cancel``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from cites_connector.domain.errors import ConnectorError

ROLES = ("check", "cancel")
#: which role each operation needs
OPERATION_ROLES = {
    "CheckDeclaration": "check",
    "GetDecision": "check",
    "GetPermitBalance": "check",
    "CancelDeclaration": "cancel",
}

_ROLE_LIST = re.compile(r"(?:check|cancel)(?:\+(?:check|cancel))*")
_OFFICE_LIST = re.compile(r"[A-Z0-9][A-Z0-9_\-]{0,31}(?:\+[A-Z0-9][A-Z0-9_\-]{0,31})*")


class Forbidden(ConnectorError):
    """An authenticated user without the role, or the office, the request needs."""

    fault_code = "Client.Forbidden"
    exit_code = 1


@dataclass(frozen=True)
class SoapUser:
    name: str
    password: str
    roles: frozenset[str] = frozenset(ROLES)
    #: None: every office
    offices: frozenset[str] | None = None

    def require_role(self, operation: str) -> None:
        role = OPERATION_ROLES[operation]
        if role not in self.roles:
            raise Forbidden(
                f"user {self.name} may not call {operation}: it needs the role "
                f"{role!r}, the user has {'+'.join(sorted(self.roles))}"
            )

    def require_office(self, office: str | None, what: str) -> None:
        """``what`` names the declaration for the message: "the SAD", "declaration X"."""
        if self.offices is None:
            return
        if office is None or office.strip().upper() not in self.offices:
            shown = office if office else "no office code"
            raise Forbidden(
                f"user {self.name} may act only for the customs offices "
                f"{', '.join(sorted(self.offices))}; {what} has {shown}"
            )


def parse_users(spec: str | None) -> dict[str, SoapUser]:
    """Read ``CONNECTOR_SOAP_USERS``; a ValueError names the entry, never its password."""
    users: dict[str, SoapUser] = {}
    for position, entry in enumerate((spec or "").split(","), start=1):
        entry = entry.strip()
        if not entry:
            continue
        user = _entry(entry, position)
        if user.name in users:
            raise ValueError(
                f"CONNECTOR_SOAP_USERS entry {position}: user {user.name!r} is listed twice"
            )
        users[user.name] = user
    return users


def _entry(entry: str, position: int) -> SoapUser:
    offices = None
    head, at, tail = entry.rpartition("@")
    if at and ":" in head and _OFFICE_LIST.fullmatch(tail):
        offices, entry = frozenset(tail.split("+")), head
    roles = frozenset(ROLES)
    head, colon, tail = entry.rpartition(":")
    if colon and ":" in head and _ROLE_LIST.fullmatch(tail):
        roles, entry = frozenset(tail.split("+")), head
    name, colon, password = entry.partition(":")
    name = name.strip()
    if not colon or not name or not password:
        raise ValueError(
            f"CONNECTOR_SOAP_USERS entry {position} is not "
            "user:password[:role+role][@OFFICE+OFFICE]"
        )
    return SoapUser(name, password, roles, offices)


def as_users(users: Mapping[str, SoapUser | str] | None) -> dict[str, SoapUser]:
    """Accept {user: password} too (every role, every office), as tests and tools write it."""
    return {
        name: value if isinstance(value, SoapUser) else SoapUser(name, value)
        for name, value in (users or {}).items()
    }
