"""Comparing traders named on a permit and on a declaration (check PARTY_MISMATCH).

ASYCUDA puts the address under the name in one field (``Exporter_name`` holds name, street and
country on separate lines), so only the first line is the name. Trader ids are compared when
both documents carry one, because names are typed differently by different authorities.
"""

from __future__ import annotations

import re
import unicodedata

from connector.domain.permits import Party

_NOT_WORD = re.compile(r"[^\w]+", re.UNICODE)


def normalise_name(name: str | None) -> str | None:
    if not name:
        return None
    first_line = name.strip().splitlines()[0]
    folded = unicodedata.normalize("NFKD", first_line).encode("ascii", "ignore").decode()
    words = _NOT_WORD.sub(" ", folded.casefold()).split()
    return " ".join(words) or None


def normalise_id(value: str | None) -> str | None:
    if not value or not value.strip():
        return None
    return re.sub(r"[\s\-_/.]", "", value).casefold()


def same_party(on_permit: Party, on_declaration: Party) -> bool | None:
    """True/False when comparable, None when either side gives neither id nor name."""
    permit_id, declared_id = normalise_id(on_permit.id), normalise_id(on_declaration.id)
    if permit_id and declared_id:
        return permit_id == declared_id
    permit_name = normalise_name(on_permit.name)
    declared_name = normalise_name(on_declaration.name)
    if permit_name and declared_name:
        return permit_name == declared_name
    return None
