"""Benchmark: HS lookups per second, bundled table against a synthetic 100,000-row table.

Issue item 3 asks that lookup cost not grow with table size; the two rates must be within
20 % of each other. Both tables answer the same query mix: random 10-digit codes, a third of
them built on a bundled prefix so that some hit. Run: ``python bench/hs_lookup.py``.
"""

from __future__ import annotations

import random
import sys
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cites_connector.domain.hs_tables import HsRow, HsRowSet
from cites_connector.hs_codes.bundled import load_bundled_tables

SYNTHETIC_ROWS = 100_000
QUERIES = 200_000
ROUNDS = 7


def synthetic(bundled: HsRowSet, rng: random.Random) -> HsRowSet:
    rows = list(bundled.rows)
    taken = {r.hs_prefix for r in rows}
    while len(rows) < SYNTHETIC_ROWS:
        prefix = "".join(rng.choices("0123456789", k=rng.randint(4, 10)))
        if prefix not in taken:
            taken.add(prefix)
            rows.append(HsRow(prefix, rng.choice(("Felidae", "Dalbergia", "Pythonidae"))))
    return HsRowSet(edition="SYNTH", version=1, effective_from=date(2022, 1, 1), rows=rows)


def queries(bundled: HsRowSet, rng: random.Random) -> list[str]:
    prefixes = sorted({r.hs_prefix for r in bundled.rows})
    codes = []
    for n in range(QUERIES):
        head = rng.choice(prefixes) if n % 3 == 0 else ""
        codes.append(head + "".join(rng.choices("0123456789", k=10 - len(head))))
    return codes


def one_round(table: HsRowSet, codes: list[str]) -> tuple[float, int]:
    lookup = table.lookup
    start = time.perf_counter()
    hits = sum(1 for code in codes if lookup(code) is not None)
    return time.perf_counter() - start, hits


def rates(tables: list[HsRowSet], codes: list[str]) -> list[tuple[float, int]]:
    """Best of ROUNDS per table, the tables taking turns so that machine noise hits both."""
    best = [(float("inf"), 0)] * len(tables)
    for _ in range(ROUNDS):
        for n, table in enumerate(tables):
            best[n] = min(best[n], one_round(table, codes))
    return [(len(codes) / seconds, hits) for seconds, hits in best]


def main() -> None:
    rng = random.Random(2022)
    bundled = load_bundled_tables().in_force(date(2026, 12, 31))
    big = synthetic(bundled, rng)
    codes = queries(bundled, rng)
    (small_rate, small_hits), (big_rate, big_hits) = rates([bundled, big], codes)
    ratio = big_rate / small_rate
    print(
        f"bundled   {len(bundled.rows):>7} rows: {small_rate:>12,.0f} lookups/s "
        f"({small_hits} of {len(codes)} hit)"
    )
    print(
        f"synthetic {len(big.rows):>7} rows: {big_rate:>12,.0f} lookups/s "
        f"({big_hits} of {len(codes)} hit)"
    )
    print(
        f"ratio synthetic/bundled: {ratio:.3f} "
        f"({'within' if 0.8 <= ratio <= 1.2 else 'OUTSIDE'} 20 %)"
    )


if __name__ == "__main__":
    main()
