"""SINGLE permits on SQL: the declaration using the permit (``Balances.mark_used`` and
``release_use``), for ``SqlPermits`` (permit_rows.py), which keeps the views they update."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import replace

from sqlalchemy import Connection

from cites_connector.adapters.sql.balance_statements import MARK_USED, RELEASE_USE
from cites_connector.domain.permits import Permit


class PermitUses(ABC):
    c: Connection

    @abstractmethod
    def _view(self, permit_number: str, issuing_country: str) -> Permit | None: ...

    @abstractmethod
    def _replace_view(self, changed: Permit) -> None: ...

    def _used_by(self, permit_number: str, issuing_country: str, used_by: str | None) -> None:
        view = self._view(permit_number, issuing_country)
        if view is not None:
            self._replace_view(replace(view, used_by=used_by).with_lines_from(view))

    def mark_used(self, permit_number: str, issuing_country: str, declaration_id: str) -> bool:
        result = self.c.execute(
            MARK_USED,
            {"number": permit_number, "country": issuing_country, "declaration_id": declaration_id},
        )
        if result.rowcount != 1:
            return False
        self._used_by(permit_number, issuing_country, declaration_id)
        return True

    def release_use(self, permit_number: str, issuing_country: str, declaration_id: str) -> None:
        result = self.c.execute(
            RELEASE_USE,
            {"number": permit_number, "country": issuing_country, "declaration_id": declaration_id},
        )
        if result.rowcount == 1:
            self._used_by(permit_number, issuing_country, None)
