"""Benchmark: clearing against a 10,000-line permit, beside the same against a 10-line one.

A permit may have up to 10,000 lines (contract 3.1 (v2) field limits). A decision must not cost
more because the cited permit is long: target, the large permit's time per declaration at most
twice the small one's. Both permits are MULTIPLE export permits of the same shape: the first
half of the lines are for species the HS code of the declared goods does not cover (birds,
mammals, plants), the second half for reptiles it does, the first of them Python regius; every
line holds 1,000,000 specimens, so that every declaration clears and writes off.

Each iteration is ``ClearanceService.clear`` of a distinct export declaration (two CITES items
of live pythons citing the permit, one item that is not CITES goods), through the whole stack
built by ``cites_connector.app``: permit loading, decision rules, conditional UPDATEs, usage,
outbox, decision and audit rows, one ledger transaction.

Run: ``python bench/large_permit.py [--lines 10000] [--count N] [--rounds N] [--profile]
[--database-url URL]``. Without ``--database-url`` it uses a fresh SQLite file in a temporary
directory; a PostgreSQL database should be a scratch one (the permits and decisions stay). The
exit status is 0 when the target is met, 1 otherwise.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import itertools
import os
import pstats
import string
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cites_connector.adapters.sql.migrate import upgrade
from cites_connector.app import Application, build_application
from cites_connector.app.log_setup import configure_logging
from cites_connector.app.settings import load_settings
from cites_connector.domain.declarations import (
    AttachedDocument,
    Declaration,
    DeclarationItem,
    Flow,
)
from cites_connector.domain.permits import Party
from cites_connector.mappings.permit_json import parse_permit

TARGET_RATIO = 2.0
HOME = "NA"
#: a fixed clock inside the permits' validity, so the figures do not depend on today's date
CLOCK = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
#: not covered by HS 0106.20 (live reptiles): the first half of each permit
OTHER_TAXA = [
    ("Psittacus erithacus", "LIV"),
    ("Loxodonta africana", "TUS"),
    ("Aloe ferox", "EXT"),
    ("Panthera leo", "TRO"),
    ("Ara ararauna", "LIV"),
    ("Dendrobium cruentum", "LIV"),
    ("Ceratotherium simum", "HOR"),
    ("Chamaeleo", "SKI"),
]
#: plants come from source A (artificially propagated): C is refused for a plant (Res. Conf.
#: 12.3, Annex 5; services/permits.py)
PLANTS = {"Aloe ferox", "Dendrobium cruentum"}
#: covered by HS 0106.20 (Pythonidae, Boidae, Varanus...): the second half
REPTILES = [
    ("Python regius", "LIV"),
    ("Boa constrictor", "LIV"),
    ("Varanus niloticus", "LIV"),
    ("Python sebae", "LIV"),
    ("Naja naja", "LIV"),
    ("Morelia viridis", "LIV"),
]
EXPORTER = {"name": "Okavango Reptile Exports CC", "country": HOME, "id": "NA-EXP-0042"}
IMPORTER = {"name": "Terrarium Handel GmbH", "country": "DE", "id": None}


def letters(count: int) -> list[str]:
    """A, B, ... Z, AA, AB, ... as on CITES forms with many lines."""
    found: list[str] = []
    for size in itertools.count(1):
        for combo in itertools.product(string.ascii_uppercase, repeat=size):
            found.append("".join(combo))
            if len(found) == count:
                return found
    raise AssertionError("unreachable: itertools.count never ends")


def permit(number: str, lines: int) -> dict:
    half = lines // 2
    body = []
    for index, letter in enumerate(letters(lines)):
        taxa = OTHER_TAXA if index < half else REPTILES
        taxon, term = taxa[(index if index < half else index - half) % len(taxa)]
        body.append(
            {
                "line": letter,
                "taxon": taxon,
                "term": term,
                "appendix": "II",
                "source": "A" if taxon in PLANTS else "C",
                "quantity": "1000000",
                "unit": None,
                "origin_country": HOME,
                "description": f"line {letter}",
            }
        )
    return {
        "permit_number": number,
        "issuing_country": HOME,
        "version": 1,
        "type": "EXPORT",
        "status": "VALID",
        "issued_on": "2026-11-02",
        "valid_from": "2026-11-02",
        "valid_until": "2027-05-01",
        "consignment_policy": "MULTIPLE",
        "exporter": EXPORTER,
        "importer": IMPORTER,
        "purpose": "T",
        "lines": body,
    }


def declaration(number: str) -> Declaration:
    def pythons(item: int) -> DeclarationItem:
        return DeclarationItem(
            number=item,
            hs_code="0106200000",
            description="LIVE PYTHONS",
            supplementary_quantity=Decimal(1),
            supplementary_unit=None,
            supplementary_unit_code="NMB",
            net_mass=Decimal(1),
            documents=(AttachedDocument("C400", number),),
        )

    tubs = DeclarationItem(
        number=3, hs_code="3926909700", description="PLASTIC TUBS", net_mass=Decimal(8)
    )
    return Declaration(
        declaration_type="EX",
        flow=Flow.EXPORT,
        date=CLOCK.date(),
        items=(pythons(1), pythons(2), tubs),
        office="WDHA",
        exporter=Party(**EXPORTER),
        consignee=Party(**IMPORTER),
        declarant_code="BRK-0917",
        export_country=HOME,
        destination_country="DE",
    )


def build(directory: Path, database_url: str | None, lines: int) -> Application:
    settings = load_settings(
        home_country=HOME,
        data_dir=directory,
        **({"database_url": database_url} if database_url else {}),
    )
    app = build_application(settings, clock=lambda: CLOCK)
    upgrade(app.engine)
    for number, size in (("26NA800010", 10), (f"26NA8{lines:05d}", lines)):
        app.permits.apply(parse_permit(permit(number, size)))
    return app


def timed(app: Application, number: str, count: int) -> float:
    """Seconds per declaration for ``count`` clearances citing permit ``number``."""
    decl = declaration(number)
    started = time.perf_counter()
    for _ in range(count):
        outcome = app.clearance.clear(f"B-{uuid.uuid4().hex[:12]}", 1, decl)
        assert outcome.decision.cleared, outcome.decision
    return (time.perf_counter() - started) / count


def profile(app: Application, number: str, count: int) -> str:
    profiler = cProfile.Profile()
    profiler.enable()
    timed(app, number, count)
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(18)
    return out.getvalue()


def run(label: str, database_url: str | None, args) -> bool:
    with tempfile.TemporaryDirectory() as directory:
        started = time.perf_counter()
        app = build(Path(directory), database_url, args.lines)
        stored = time.perf_counter() - started
        small, large = "26NA800010", f"26NA8{args.lines:05d}"
        timed(app, small, args.warmup)
        timed(app, large, args.warmup)
        times: dict[str, list[float]] = {small: [], large: []}
        for _ in range(args.rounds):  # interleaved: a busy machine slows both sides alike
            for number in (small, large):
                times[number].append(timed(app, number, args.count))
        best = {number: min(values) for number, values in times.items()}
        ratio = best[large] / best[small]
        print(
            f"\n== {label}  (permits stored in {stored:.1f} s, best of {args.rounds} rounds "
            f"of {args.count})"
        )
        print(f"  10-line permit      {best[small] * 1000:8.2f} ms per declaration")
        print(f"  {args.lines:,}-line permit {best[large] * 1000:8.2f} ms per declaration")
        print(f"  ratio large/small   {ratio:8.2f}   (target <= {TARGET_RATIO})")
        if args.profile:
            print(profile(app, large, args.count))
        app.close()
        return ratio <= TARGET_RATIO


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=10_000)
    parser.add_argument("--count", type=int, default=100)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL"))
    args = parser.parse_args()
    with open(os.devnull, "w") as devnull:
        configure_logging("WARNING", "json", devnull)
        ok = run("SQLite", None, args)
        if args.database_url:
            ok = run("PostgreSQL", args.database_url, args) and ok
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
