"""EPIX on the connector's own records: the name a permit from EPIX is stored under, and the
outbox row of the endorsement back to the exporting country (``ConfirmQuantities``).

A permit found through EPIX is stored like a looked-up permit (contract 3.3) with the
publisher ``epix`` (the audit trail's actor) and an inbox entry ``epix:<country>:<number>``:
a durable mark, written in the permit's own transaction, that tells the write-off later that
this permit came from EPIX and its usages are to be confirmed there.

One row per usage (one permit line written off by one declaration item): the message id is
the usage id with ``:epix``, and the usage id travels as the call's ConfirmationId, so a
repeat (the outbox delivers at least once) is recognisable on the other side.
"""

from __future__ import annotations

from typing import Any

from cites_connector.domain.units import format_decimal
from cites_connector.domain.usages import Usage
from cites_connector.mappings.outbox_messages import OutboxMessage

#: the outbox channel of the endorsements: its own, so the relay can give EPIX its own lane
EPIX_CONFIRM = "epix.confirm"
#: the publisher (audit actor, inbox source) of permits obtained from EPIX
EPIX_PUBLISHER = "epix"


def epix_mark(permit_number: str, issuing_country: str) -> str:
    """The inbox message id that marks a permit as obtained from EPIX."""
    return f"{EPIX_PUBLISHER}:{issuing_country}:{permit_number}"


def confirm_body(usage: Usage) -> dict[str, Any]:
    return {
        "usage_id": usage.usage_id,
        "permit_number": usage.permit_number,
        "issuing_country": usage.issuing_country,
        # EPIX's CitesPosition: the permit line and the quantity inspected, in its unit
        "positions": [{"line": usage.line, "quantity": format_decimal(usage.quantity)}],
        "unit": usage.unit,
        "declaration_id": usage.declaration_id,
        "declaration_version": usage.declaration_version,
        "item_number": usage.item_number,
    }


def confirm_quantities(usage: Usage) -> OutboxMessage:
    return OutboxMessage(
        f"{usage.usage_id}:epix",
        EPIX_CONFIRM,
        "ConfirmQuantities",
        "ConfirmQuantities",
        confirm_body(usage),
        f"epix/{usage.issuing_country}/{usage.permit_number}",
    )
