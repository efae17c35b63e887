"""Verifying the ledger's audit chain (audit_ledger.py) with the key.

Three passes, each reporting the first row it cannot vouch for:

1. the sealed chain, by position: position 0 is the key's own start (a wrong key fails
   here); every later position names a row that must still exist, match its MAC and give the
   stored link from the link before it;
2. rows not sealed yet: each must match its MAC (they are protected by it alone until the
   next seal; deleting one of them is the one change only the next seal's absence shows);
3. no MAC twice: a keyed row copied under a new id.
"""

from __future__ import annotations

from sqlalchemy import Connection, exists, func, select

from cites_connector.adapters.sql import tables as t
from cites_connector.adapters.sql.audit_ledger import CHAIN, describe, genesis_link, link, vouch
from cites_connector.adapters.sql.audit_mac import same
from cites_connector.adapters.sql.audit_report import ChainReport

_a, _s = t.audit_log.c, t.audit_log_seals.c


def verify(connection: Connection, key: bytes, legacy_rows: int) -> ChainReport:
    """``legacy_rows``: how many rows the keying sealed without a MAC (recorded, keyed, in
    the administration chain's ``audit.keyed`` row)."""
    walk = (
        select(_s.position, _s.row_id.label("sealed_id"), _s.link, t.audit_log)
        .select_from(t.audit_log_seals.outerjoin(t.audit_log, _a.id == _s.row_id))
        .order_by(_s.position)
        .execution_options(yield_per=1000)
    )
    expected, prev, head_at = 0, "", "position 0"

    def broken(row_id: int | None, problem: str) -> ChainReport:
        return ChainReport(
            CHAIN, max(expected - 1, 0), prev, head_at, row_id, problem, sealed=max(expected - 1, 0)
        )

    for rec in connection.execute(walk).mappings():
        position = rec["position"]
        if position != expected:
            return broken(
                rec["sealed_id"],
                f"position {expected} is missing before row {rec['sealed_id']}: a seal was removed",
            )
        if position == 0:
            if rec["sealed_id"] is not None or not same(rec["link"], genesis_link(key)):
                return broken(
                    None,
                    "the chain's start (position 0) does not match the audit "
                    "key: the key is not the one the chain was made with, or "
                    "the start was replaced",
                )
        else:
            if rec["id"] is None:
                return broken(
                    rec["sealed_id"], f"row {rec['sealed_id']} (position {position}) was deleted"
                )
            content, problem = vouch(key, rec, legacy=position <= legacy_rows)
            if problem is not None:
                return broken(rec["id"], problem)
            assert content is not None, "vouch gives the content MAC when it finds no problem"
            if not same(link(key, prev, position, rec["id"], content), rec["link"]):
                return broken(
                    rec["id"],
                    f"{describe(rec)} (position {position}) does not "
                    f"continue the chain: rows were reordered or "
                    f"replaced, or the seals edited",
                )
            head_at = f"position {position}, row {rec['id']}"
        prev, expected = rec["link"], expected + 1
    if expected == 0:
        return ChainReport(
            CHAIN,
            0,
            "",
            "empty",
            None,
            "the ledger audit chain was never keyed: run cites-connector migrate",
        )
    sealed = expected - 1
    waiting = 0
    unsealed = (
        select(t.audit_log)
        .where(~exists().where(_s.row_id == _a.id))
        .order_by(_a.id)
        .execution_options(yield_per=1000)
    )
    for row in connection.execute(unsealed).mappings():
        _, problem = vouch(key, row)
        if problem is not None:
            return ChainReport(
                CHAIN,
                sealed + waiting,
                prev,
                head_at,
                row["id"],
                problem,
                sealed=sealed,
                waiting=waiting,
            )
        waiting += 1
    copy = connection.execute(
        select(func.min(_a.id), func.max(_a.id))
        .where(_a.mac.is_not(None))
        .group_by(_a.mac)
        .having(func.count() > 1)
        .order_by(func.max(_a.id))
        .limit(1)
    ).first()
    if copy is not None:
        original, duplicate = copy
        row = connection.execute(select(t.audit_log).where(_a.id == duplicate)).mappings().one()
        return ChainReport(
            CHAIN,
            sealed + waiting,
            prev,
            head_at,
            duplicate,
            f"{describe(row)} is a copy of row {original}",
            sealed,
            waiting,
        )
    return ChainReport(CHAIN, sealed + waiting, prev, head_at, sealed=sealed, waiting=waiting)
