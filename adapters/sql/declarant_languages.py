"""The ``declarant_languages`` table: each choice and its audit record in one transaction.

Setting or removing a declarant's notification language appends ``declarant.language.set``
or ``declarant.language.unset`` to the administration audit chain under the acting user (the
operating-system account for ``cites-connector declarants``, contract 7; the logged-in user
for the console), in the transaction that changes the row.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine, delete, insert, select, update

from cites_connector.adapters.sql import audit_chain
from cites_connector.adapters.sql.codec import utc
from cites_connector.adapters.sql.tables import declarant_languages, declarations
from cites_connector.adapters.sql.transactions import reading, writing
from cites_connector.services.declarant_languages import DeclarantLanguage

_t = declarant_languages


class SqlDeclarantLanguages:
    """``DeclarantLanguageStore`` on the ledger's database."""

    def __init__(self, engine: Engine):
        self.engine = engine

    def language_of(self, declarant_code: str) -> str | None:
        with reading(self.engine) as c:
            row = c.execute(
                select(_t.c.language).where(_t.c.declarant_code == declarant_code)
            ).first()
        return None if row is None else str(row[0])

    def all(self) -> list[DeclarantLanguage]:
        with reading(self.engine) as c:
            rows = c.execute(select(_t).order_by(_t.c.declarant_code)).mappings().all()
        return [
            DeclarantLanguage(r["declarant_code"], r["language"], r["set_by"], utc(r["set_at"]))
            for r in rows
        ]

    def known_codes(self) -> list[str]:
        code = declarations.c.declarant_code
        with reading(self.engine) as c:
            rows = c.execute(select(code).where(code.is_not(None)).distinct().order_by(code))
            return [str(r[0]) for r in rows]

    def set(self, actor: str, declarant_code: str, language: str, at: datetime) -> str | None:
        with writing(self.engine) as c:
            row = c.execute(
                select(_t.c.language).where(_t.c.declarant_code == declarant_code).with_for_update()
            ).first()
            before = None if row is None else str(row[0])
            values = {"language": language, "set_by": actor, "set_at": at}
            if row is None:
                c.execute(insert(_t).values(declarant_code=declarant_code, **values))
            else:
                c.execute(update(_t).where(_t.c.declarant_code == declarant_code).values(**values))
            details = {"language": language, "before": before}
            audit_chain.append(
                c, actor, "declarant.language.set", declarant_code, None, details, at
            )
        return before

    def unset(self, actor: str, declarant_code: str, at: datetime) -> str | None:
        with writing(self.engine) as c:
            row = c.execute(
                select(_t.c.language).where(_t.c.declarant_code == declarant_code).with_for_update()
            ).first()
            if row is None:
                return None
            c.execute(delete(_t).where(_t.c.declarant_code == declarant_code))
            details = {"before": str(row[0])}
            audit_chain.append(
                c, actor, "declarant.language.unset", declarant_code, None, details, at
            )
        return str(row[0])
