"""What the decider reads of the HS-to-taxon tables: the effective-dated set, one table, one
match (longest prefix, contract section 6). Read-only protocols, so the frozen tables of
``domain/hs_tables.py`` and the impact preview's stand-ins both satisfy them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Protocol

from cites_connector.domain.line_checks import RowView


class HsMatchView(Protocol):
    @property
    def prefix(self) -> str: ...

    @property
    def rows(self) -> Sequence[RowView]: ...


class HsTableView(Protocol):
    @property
    def label(self) -> str: ...

    def lookup(self, hs_code: str) -> HsMatchView | None: ...


class HsTablesView(Protocol):
    def in_force(self, on: date) -> HsTableView | None: ...
