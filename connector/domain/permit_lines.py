"""An index of a permit's lines, by letter and by taxon.

A permit may have up to 10,000 lines (contract 3.1 (v2)), while a declaration item needs the
one line that fits it. Looking a line up by letter, or the lines of the taxa an HS code may
hold, must not cost a pass over every line for every item: the index is built once per permit
content (lines are replaced only by an amendment, which makes a new permit) and kept when only
remaining quantities change (``Permit.with_remaining``).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence


class LineIndex:
    """Positions of a permit's lines (in the permit's order) by letter and by taxon."""

    __slots__ = ("_fitting", "positions", "taxa")

    def __init__(self, letters: Sequence[str], taxa: Sequence[str]):
        self.positions: dict[str, int] = {}
        for position, letter in enumerate(letters):
            self.positions.setdefault(letter, position)
        grouped: dict[str, list[int]] = {}
        for position, taxon in enumerate(taxa):
            grouped.setdefault(taxon, []).append(position)
        #: taxon as written on the permit -> positions of its lines, in order
        self.taxa: dict[str, tuple[int, ...]] = {t: tuple(p) for t, p in grouped.items()}
        self._fitting: dict[Hashable, tuple[int, ...]] = {}

    def fitting(self, key: Hashable, fits: Callable[[str], bool]) -> tuple[int, ...]:
        """Positions, in order, of the lines whose taxon ``fits``; remembered under ``key``
        (the HS rows asked about), as the same permit is asked the same question again."""
        found = self._fitting.get(key)
        if found is None:
            found = tuple(
                sorted(
                    p for taxon, positions in self.taxa.items() if fits(taxon) for p in positions
                )
            )
            self._fitting[key] = found
        return found

    def narrowed(
        self, key: Hashable, positions: Sequence[int], keep: Callable[[int], bool]
    ) -> tuple[int, ...]:
        """The ``positions`` that ``keep`` holds to, remembered under ``key``: a question about
        what never changes for this content (a line's taxon and term), asked of a 10,000-line
        permit by every declaration citing it, is answered by one pass."""
        found = self._fitting.get(key)
        if found is None:
            found = tuple(p for p in positions if keep(p))
            self._fitting[key] = found
        return found
