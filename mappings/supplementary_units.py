"""Customs supplementary units (UN/ECE Recommendation 20) translated to CITES units.

A SAD gives the supplementary quantity in the unit the tariff prescribes for the heading,
written as a Rec. 20 common code (``KGM``, ``MTQ``, ``NAR``...); a CITES permit line gives its
quantity in a CITES unit (``KIL``, ``CUM``..., none for a number of specimens: CITES
Guidelines for the preparation of annual reports). The table itself lives in
``sad_mapping.toml`` so that an administration can add the codes its tariff uses.

Rec. 20 pitfalls the table avoids: customs ``CTM`` is the *metric carat*, not the CITES
``CTM`` centimetre (Rec. 20 writes centimetre ``CMT``); a ``TNE`` is a tonne, CITES ``TON``.

How :func:`SupplementaryUnits.to_cites` answers, for ``DeclarationItem.supplementary_unit``:

- a specimen count (``NMB``, ``NAR``, ``C62``, ``PCE``, ``H87``, ``NO``, ``U``): ``None``, the
  CITES way of saying "number of specimens";
- a mapped code: the CITES unit code (``KGM`` -> ``KIL``);
- any other code: ``"UNKNOWN:" + code``. The mapping does not fail for it: the item may not
  be a CITES item at all. The marker is not a CITES unit, so the decision layer reports
  ``UNIT_INCOMPATIBLE`` when a permit line has to be compared with it, and the raw code stays
  in ``supplementary_unit_code`` for the officer's message. ``None`` is never used for an
  unknown code, because ``None`` means specimens. A quantity written with no code at all
  gets ``"UNKNOWN:"`` (and ``supplementary_unit_code`` ``None``) for the same reason.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from cites_connector.domain.units import CITES_UNITS

UNKNOWN_PREFIX = "UNKNOWN:"


@dataclass(frozen=True)
class SupplementaryUnits:
    #: customs codes that count specimens
    specimens: frozenset[str]
    #: customs code -> CITES unit code
    cites: Mapping[str, str]

    @classmethod
    def from_table(cls, specimens: list[str], cites: Mapping[str, str]) -> SupplementaryUnits:
        """Build from the TOML table; ``ValueError`` names a target that is not a CITES unit."""
        for code, target in cites.items():
            if not isinstance(target, str) or target not in CITES_UNITS:
                raise ValueError(
                    f"{code} = {target!r}: {target!r} is not a CITES unit "
                    f"(expected one of {', '.join(sorted(u for u in CITES_UNITS if u))})"
                )
        normal = {_norm(code): target for code, target in cites.items()}
        both = normal.keys() & {_norm(code) for code in specimens}
        if both:
            raise ValueError(f"{', '.join(sorted(both))} listed both as specimens and as a unit")
        return cls(frozenset(_norm(c) for c in specimens), MappingProxyType(normal))

    def to_cites(self, code: str | None) -> str | None:
        """The CITES unit for a customs code: ``None`` = specimens, ``UNKNOWN:<code>`` unmapped."""
        norm = _norm(code or "")
        if norm in self.specimens:
            return None
        if norm in self.cites:
            return self.cites[norm]
        return UNKNOWN_PREFIX + norm


def is_unknown(unit: str | None) -> bool:
    return unit is not None and unit.startswith(UNKNOWN_PREFIX)


def _norm(code: str) -> str:
    return code.strip().upper()
