"""The console's permit reads and the paper permits waiting for a second user.

A paper permit (contingency, issue 12) is kept here as the contract 3.1 body an officer typed
in, until a second user confirms it; the confirmation then goes through the permit service
like an electronic permit. ``by_hand`` tells every view which stored permits came from paper.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Engine, and_, exists, insert, select, update

from cites_connector.adapters.sql import audit_chain
from cites_connector.adapters.sql.codec import utc
from cites_connector.adapters.sql.console_tables import paper_permits
from cites_connector.adapters.sql.tables import permit_lines, permits
from cites_connector.adapters.sql.transactions import reading, writing

_p, _l, _pp = permits, permit_lines, paper_permits
ENTERED, CONFIRMED, DISCARDED = "ENTERED", "CONFIRMED", "DISCARDED"


@dataclass(frozen=True)
class PermitRow:
    permit_number: str
    issuing_country: str
    type: str
    status: str
    valid_from: date
    valid_until: date
    used_by: str | None
    by_hand: bool


@dataclass(frozen=True)
class PaperPermitRow:
    id: int
    permit_number: str
    issuing_country: str
    body: dict[str, Any]
    state: str
    entered_by: str
    entered_at: datetime
    decided_by: str | None
    decided_at: datetime | None
    note: str | None


def _paper(m: Any) -> PaperPermitRow:
    return PaperPermitRow(
        id=m["id"],
        permit_number=m["permit_number"],
        issuing_country=m["issuing_country"],
        body=m["body"],
        state=m["state"],
        entered_by=m["entered_by"],
        entered_at=utc(m["entered_at"]),
        decided_by=m["decided_by"],
        decided_at=utc(m["decided_at"]),
        note=m["note"],
    )


_BY_HAND = exists().where(
    _pp.c.permit_number == _p.c.permit_number,
    _pp.c.issuing_country == _p.c.issuing_country,
    _pp.c.state == CONFIRMED,
)


class SqlConsolePermits:
    def __init__(self, engine: Engine):
        self.engine = engine

    def search(
        self,
        *,
        number: str | None = None,
        country: str | None = None,
        taxon: str | None = None,
        page: int = 1,
        per_page: int = 50,
    ) -> tuple[list[PermitRow], bool]:
        """Permits by number prefix, issuing country and a line's taxon (name prefix)."""
        query = select(
            _p.c.permit_number,
            _p.c.issuing_country,
            _p.c.type,
            _p.c.status,
            _p.c.valid_from,
            _p.c.valid_until,
            _p.c.used_by,
            _BY_HAND.label("by_hand"),
        )
        if number:
            query = query.where(_p.c.permit_number.startswith(number, autoescape=True))
        if country:
            query = query.where(_p.c.issuing_country == country)
        if taxon:
            query = query.where(
                exists().where(
                    _l.c.permit_id == _p.c.id, _l.c.taxon.startswith(taxon, autoescape=True)
                )
            )
        query = (
            query.order_by(_p.c.valid_until.desc(), _p.c.permit_number)
            .limit(per_page + 1)
            .offset((page - 1) * per_page)
        )
        with reading(self.engine) as c:
            rows = [PermitRow(**dict(m)) for m in c.execute(query).mappings()]
        return rows[:per_page], len(rows) > per_page

    def by_hand(self, permit_number: str, issuing_country: str) -> PaperPermitRow | None:
        """The confirmed paper entry a stored permit came from, if it did."""
        with reading(self.engine) as c:
            m = (
                c.execute(
                    select(_pp)
                    .where(
                        _pp.c.permit_number == permit_number,
                        _pp.c.issuing_country == issuing_country,
                        _pp.c.state == CONFIRMED,
                    )
                    .order_by(_pp.c.id.desc())
                )
                .mappings()
                .first()
            )
        return None if m is None else _paper(m)

    def hand_entered(self, keys: list[tuple[str, str]]) -> set[tuple[str, str]]:
        if not keys:
            return set()
        numbers = sorted({k[0] for k in keys})
        with reading(self.engine) as c:
            rows = c.execute(
                select(_pp.c.permit_number, _pp.c.issuing_country).where(
                    _pp.c.permit_number.in_(numbers), _pp.c.state == CONFIRMED
                )
            )
            return {(r[0], r[1]) for r in rows} & set(keys)

    def signatures(self, keys: list[tuple[str, str]]) -> dict[tuple[str, str], str]:
        """Who signed each of these permits (``signed by ...``, ``unsigned``), for those that
        came as checked ePermits (docs/signatures.md)."""
        if not keys:
            return {}
        numbers = sorted({k[0] for k in keys})
        with reading(self.engine) as c:
            rows = c.execute(
                select(_p.c.permit_number, _p.c.issuing_country, _p.c.signer, _p.c.unsigned).where(
                    _p.c.permit_number.in_(numbers)
                )
            )
            return {
                (r[0], r[1]): f"signed by {r[2]}" if r[2] else "unsigned"
                for r in rows
                if (r[0], r[1]) in set(keys) and (r[2] or r[3])
            }

    # -- paper entries ------------------------------------------------------------------------

    def enter(self, actor: str, body: dict[str, Any], at: datetime) -> int:
        with writing(self.engine) as c:
            new_id = c.execute(
                insert(_pp)
                .values(
                    permit_number=body["permit_number"],
                    issuing_country=body["issuing_country"],
                    body=body,
                    state=ENTERED,
                    entered_by=actor,
                    entered_at=at,
                )
                .returning(_pp.c.id)
            ).scalar_one()
            audit_chain.append(
                c,
                actor,
                "permit.paper.entered",
                f"{body['permit_number']}/{body['issuing_country']}",
                None,
                {"entry": new_id, "lines": len(body.get("lines", ()))},
                at,
            )
            return int(new_id)

    def entries(self, state: str | None = ENTERED, limit: int = 100) -> list[PaperPermitRow]:
        query = select(_pp).order_by(_pp.c.id.desc()).limit(limit)
        if state:
            query = query.where(_pp.c.state == state)
        with reading(self.engine) as c:
            return [_paper(m) for m in c.execute(query).mappings()]

    def entry(self, entry_id: int) -> PaperPermitRow | None:
        with reading(self.engine) as c:
            m = c.execute(select(_pp).where(_pp.c.id == entry_id)).mappings().first()
        return None if m is None else _paper(m)

    def decide(
        self, entry_id: int, actor: str, state: str, at: datetime, note: str | None = None
    ) -> bool:
        """Move an ENTERED entry to CONFIRMED or DISCARDED once (audited); False if it was
        decided already (another user was quicker)."""
        with writing(self.engine) as c:
            done = c.execute(
                update(_pp)
                .where(and_(_pp.c.id == entry_id, _pp.c.state == ENTERED))
                .values(state=state, decided_by=actor, decided_at=at, note=note)
            ).rowcount
            if not done:
                return False
            row = c.execute(select(_pp).where(_pp.c.id == entry_id)).mappings().one()
            audit_chain.append(
                c,
                actor,
                f"permit.paper.{state.lower()}",
                f"{row['permit_number']}/{row['issuing_country']}",
                note,
                {"entry": entry_id, "entered_by": row["entered_by"]},
                at,
            )
            return True
