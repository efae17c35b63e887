"""The console dashboard's figures: declarations per day by decision, the most frequent hold
reasons, and permits nearing exhaustion or expiry. Each query is bounded by date or count."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import Engine, and_, func, select

from cites_connector.adapters.sql.console_reads import reason_codes
from cites_connector.adapters.sql.tables import decisions, declarations, permit_lines, permits
from cites_connector.adapters.sql.transactions import reading
from cites_connector.domain.units import LEDGER_PLACES

_x, _d, _p, _l = decisions, declarations, permits, permit_lines
SCALE = 10**LEDGER_PLACES


@dataclass(frozen=True)
class NearlyDone:
    permit_number: str
    issuing_country: str
    line: str | None
    taxon: str | None
    valid_until: date
    #: remaining share of the line, 0..1 (None: the permit is listed for its expiry)
    remaining_share: float | None


@dataclass(frozen=True)
class Dashboard:
    since: date
    #: (day, decision) -> count, by declaration date
    per_day: dict[tuple[date, str], int]
    held_reasons: list[tuple[str, int]]
    held_now: int
    nearly_used_up: list[NearlyDone]
    expiring: list[NearlyDone]


class SqlConsoleDashboard:
    def __init__(self, engine: Engine):
        self.engine = engine

    def read(self, now: datetime, since: date, held_sample: int = 2000) -> Dashboard:
        today = now.date()
        with reading(self.engine) as c:
            per_day = {
                (r[0], r[1]): int(r[2])
                for r in c.execute(
                    select(_x.c.declaration_date, _x.c.decision, func.count())
                    .where(_x.c.declaration_date >= since)
                    .group_by(_x.c.declaration_date, _x.c.decision)
                )
            }
            held = c.execute(
                select(_x.c.payload)
                .join(
                    _d,
                    and_(
                        _x.c.declaration_id == _d.c.declaration_id,
                        _x.c.version == _d.c.latest_version,
                    ),
                )
                .where(_d.c.state == "HELD")
                .order_by(_d.c.updated_at.desc())
                .limit(held_sample)
            ).scalars()
            counts: Counter[str] = Counter()
            held_now = 0
            for payload in held:
                held_now += 1
                counts.update(reason_codes(payload))
            usable = and_(_p.c.status == "VALID", _p.c.used_by.is_(None), _p.c.valid_until >= today)
            low = c.execute(
                select(
                    _p.c.permit_number,
                    _p.c.issuing_country,
                    _l.c.line,
                    _l.c.taxon,
                    _p.c.valid_until,
                    _l.c.remaining_micro,
                    _l.c.quantity_micro,
                )
                .join(_l, _l.c.permit_id == _p.c.id)
                .where(
                    usable,
                    _p.c.consignment_policy == "MULTIPLE",
                    _l.c.quantity_micro > 0,
                    _l.c.remaining_micro * 5 <= _l.c.quantity_micro,
                )
                .order_by(_l.c.remaining_micro)
                .limit(20)
            ).all()
            soon = c.execute(
                select(_p.c.permit_number, _p.c.issuing_country, _p.c.valid_until)
                .where(usable, _p.c.valid_until <= today + timedelta(days=30))
                .order_by(_p.c.valid_until)
                .limit(20)
            ).all()
        return Dashboard(
            since=since,
            per_day=per_day,
            held_reasons=counts.most_common(8),
            held_now=held_now,
            nearly_used_up=[
                NearlyDone(r[0], r[1], r[2], r[3], r[4], r[5] / r[6] if r[6] else 0.0) for r in low
            ],
            expiring=[NearlyDone(r[0], r[1], None, None, r[2], None) for r in soon],
        )
