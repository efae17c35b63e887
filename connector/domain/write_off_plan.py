"""The write-offs a decision plans: what each item takes from its permit line, counted across
the items of one declaration (several items may draw on the same line; their sum must fit)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from cites_connector.domain.decisions import WriteOff
from cites_connector.domain.permits import ConsignmentPolicy, Permit, PermitLine

LineKey = tuple[str, str, str]


@dataclass
class Draws:
    """Quantities taken by earlier items of the same declaration (several items, one line)."""

    taken: dict[LineKey, Decimal]

    def of(self, permit: Permit, letter: str) -> Decimal:
        return self.taken.get((*permit.key, letter), Decimal(0))

    def record(self, write_off: WriteOff) -> None:
        key = (write_off.permit_number, write_off.issuing_country, write_off.line)
        self.taken[key] = self.taken.get(key, Decimal(0)) + write_off.quantity


def plan_write_off(
    permit: Permit, line: PermitLine, item_number: int, amount: Decimal, draws: Draws
) -> WriteOff:
    """The write-off of ``amount``, computed before it is added to ``draws``."""

    def left(letter: str, remaining: Decimal) -> Decimal:
        return remaining - draws.of(permit, letter) - (amount if letter == line.line else 0)

    single = permit.consignment_policy is ConsignmentPolicy.SINGLE
    # a MULTIPLE permit is used up when no line has anything left: count the lines with a
    # quantity left, less those this declaration empties (no pass over every line)
    drawn = {key[2] for key in draws.taken if key[:2] == permit.key} | {line.line}
    positions = permit.index.positions
    lines = {letter: permit.lines[positions[letter]] for letter in drawn}
    emptied = sum(
        1 for letter, ln in lines.items() if ln.remaining > 0 and left(letter, ln.remaining) <= 0
    )
    used_up = single or permit.lines_remaining - emptied == 0
    return WriteOff(
        permit.permit_number,
        permit.issuing_country,
        line.line,
        item_number,
        amount,
        line.unit,
        left(line.line, line.remaining),
        used_up,
        single,
    )
