"""Where the SAD mapping finds each field: element paths, as the mapping file names them.

Paths are element names separated by "/", relative to the ``ASYCUDA`` root, to one ``Item``,
or to one repeated block; each field lists alternatives, the first one present wins.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

#: a relative element path: names separated by "/", no wildcards, predicates or axes
PATH = re.compile(r"[A-Za-z_][\w.\-]*(/[A-Za-z_][\w.\-]*)*")

Paths = tuple[str, ...]


@dataclass(frozen=True)
class DeclarationPaths:
    """Paths relative to the ``ASYCUDA`` root; each a list of alternatives, first present wins."""

    office: Paths
    #: the office's name, for the endorsement's ``port`` (contract 3.2, v2); may be empty
    office_name: Paths
    type: Paths
    procedure: Paths
    date: Paths
    exporter_code: Paths
    exporter_name: Paths
    consignee_code: Paths
    consignee_name: Paths
    declarant_code: Paths
    declarant_name: Paths
    export_country: Paths
    destination_country: Paths
    #: the repeated item element
    items: str


@dataclass(frozen=True)
class ItemPaths:
    """Paths relative to one ``Item`` (or, for the inner keys, to one repeated block)."""

    hs_code: Paths
    #: appended to the HS code in order when present (ASYCUDA ``Precision_1``: national digits)
    hs_code_national: Paths
    description: Paths
    origin_country: Paths
    net_mass: Paths
    supplementary_unit: str
    supplementary_unit_code: Paths
    supplementary_unit_quantity: Paths
    documents: str
    document_code: Paths
    document_reference: Paths
    #: ASYCUDA's own licence field (read when ``[documents] licence`` names a code)
    licence_number: Paths


#: keys whose list of alternatives may be empty (the field is then never read)
MAY_BE_EMPTY = frozenset({"hs_code_national", "office_name", "licence_number"})
