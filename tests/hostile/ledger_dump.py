"""A full dump of the ledger's tables, to assert that a refused attack changed nothing.

Every table the database holds is read (reflected, so a table added by a later migration is
covered without editing this file), rows sorted, except the bookkeeping that a refusal may
rightly write: the Alembic version and the replay caches (``inbox`` records a dead-lettered
message id so that a redelivery is not applied; nonce stores remember a refused nonce;
``delivery_attempts`` counts how often the permit consumer tried a message).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, MetaData, select

#: tables a refusal may write to without changing what the ledger says
BOOKKEEPING = frozenset({"alembic_version", "inbox", "delivery_attempts", "wss_nonces"})


def ledger_dump(engine: Engine, *, exclude: frozenset[str] = BOOKKEEPING) -> dict[str, list[Any]]:
    """{table name: sorted rows}; equal dumps mean an unchanged ledger."""
    meta = MetaData()
    meta.reflect(bind=engine)
    dump: dict[str, list[Any]] = {}
    with engine.connect() as connection:
        for name, table in sorted(meta.tables.items()):
            if name in exclude:
                continue
            rows = connection.execute(select(table)).all()
            dump[name] = sorted(tuple(repr(v) for v in row) for row in rows)
    return dump
