"""Outbox rows: the messages a domain event means, on the wire the receiver expects.

The services record domain events (``domain/events.py``) in their unit of work; the ledger
adapters turn each into messages here and write them in the same transaction as the change
they report, so a usage is published at least once after its write-off commits and never if
it did not (contract 3.2). The relay renders and delivers them; message ids (the events' ids)
are stable for de-duplication. Exchange names come from ``mappings/amqp_names.py``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import structlog

from cites_connector.domain.decision_dicts import decision_to_dict
from cites_connector.domain.decisions import Decision, Reason
from cites_connector.domain.events import (
    DeclarationDecided,
    DeclarationReleased,
    Event,
    PermitWithdrawn,
    UsageRecorded,
    UsageReversed,
)
from cites_connector.domain.units import format_decimal
from cites_connector.domain.usages import Usage
from cites_connector.mappings.amqp_names import NOTIFICATIONS_EXCHANGE, USAGE_EXCHANGE

#: the customs callback goes over SOAP, not AMQP; the relay tells them apart by ``channel``
AMQP, CUSTOMS_CALLBACK = "amqp", "customs-callback"
#: contract 3.4 (v2): where a notification goes when its declarant code cannot be a routing key
UNROUTABLE_BROKER_KEY = "broker.unroutable"
#: contract 3.4 (v2): the declarant codes that may become a routing-key word. A topic routing
#: key is words separated by dots, ``*`` and ``#`` are wildcards in bindings, and AMQP caps
#: the key at 255 bytes: a code outside this form could reach another broker's queue or make
#: RabbitMQ refuse the message on every attempt.
ROUTABLE_DECLARANT_CODE = re.compile(r"[A-Za-z0-9_-]{1,64}")

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class OutboxMessage:
    message_id: str
    channel: str
    destination: str
    routing_key: str
    body: dict[str, Any]
    #: messages with the same ordering key are delivered in the order they were written
    ordering_key: str | None = None
    headers: dict[str, Any] = field(default_factory=dict)


def _utc(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def usage_body(usage: Usage) -> dict[str, Any]:
    return {
        "usage_id": usage.usage_id,
        "permit_number": usage.permit_number,
        "issuing_country": usage.issuing_country,
        "line": usage.line,
        "declaration_id": usage.declaration_id,
        "declaration_version": usage.declaration_version,
        "item_number": usage.item_number,
        "quantity": format_decimal(usage.quantity),
        "unit": usage.unit,
        "remaining_after": format_decimal(usage.remaining_after),
        "permit_used_up": usage.permit_used_up,
        "office_code": usage.office_code,
        "recorded_at": _utc(usage.recorded_at),
        # the electronic endorsement (contract 3.2 (v2)); null for usages recorded before it
        "endorsed_by": usage.endorsed_by,
        "port": usage.port,
        "exit_date": None if usage.exit_date is None else usage.exit_date.isoformat(),
        "declared_quantity": (
            None if usage.declared_quantity is None else format_decimal(usage.declared_quantity)
        ),
        "declared_unit": usage.declared_unit,
    }


def usage_recorded(usage: Usage) -> OutboxMessage:
    return OutboxMessage(
        usage.usage_id,
        AMQP,
        USAGE_EXCHANGE,
        "usage.recorded",
        usage_body(usage),
        f"{usage.permit_number}/{usage.issuing_country}",
    )


def usage_reversed(usage: Usage, remaining_after: Decimal, at: datetime) -> OutboxMessage:
    body = usage_body(usage) | {
        "remaining_after": format_decimal(remaining_after),
        "permit_used_up": False,
        "reversed_at": _utc(at),
    }
    return OutboxMessage(
        f"{usage.usage_id}:reversed",
        AMQP,
        USAGE_EXCHANGE,
        "usage.reversed",
        body,
        f"{usage.permit_number}/{usage.issuing_country}",
    )


def broker_routing_key(declarant_code: str) -> str:
    """``broker.<declarant code>``, or ``broker.unroutable`` (with a warning) for a code that
    is not 1–64 characters of ``A-Z a-z 0-9 _ -`` (contract 3.4, v2). The code comes from the
    SAD, that is from the trader's side: it is data, never routing syntax."""
    if ROUTABLE_DECLARANT_CODE.fullmatch(declarant_code):
        return f"broker.{declarant_code}"
    log.warning(
        "notification.declarant_code_unroutable",
        declarant_code=declarant_code[:80],
        length=len(declarant_code),
        routing_key=UNROUTABLE_BROKER_KEY,
    )
    return UNROUTABLE_BROKER_KEY


def declarant_of(routing_key: str) -> str | None:
    """The declarant code a notification's routing key was made from (``broker.<code>``);
    None for ``broker.unroutable`` and any other key: the relay then writes the notification
    in the default language."""
    prefix, _, code = routing_key.partition(".")
    if prefix != "broker" or routing_key == UNROUTABLE_BROKER_KEY:
        return None
    return code if ROUTABLE_DECLARANT_CODE.fullmatch(code) else None


def broker_notification(
    decision: Decision, event: str, message_id: str, data: Mapping[str, Any] | None = None
) -> OutboxMessage | None:
    """Contract 3.4: routed by the declarant's code; text and html are rendered by the relay.

    A declaration without a declarant code has nobody to notify: no message. ``data`` is
    ``decision_to_dict(decision)`` when the caller has it already.
    """
    if not decision.declarant_code:
        return None
    if data is None:
        data = decision_to_dict(decision)
    body = {
        "declaration_id": decision.declaration_id,
        "version": decision.version,
        "decision": decision.decision.value,
        "event": event,
        "items": data["items"],
        "reasons": data["reasons"],
    }
    return OutboxMessage(
        message_id,
        AMQP,
        NOTIFICATIONS_EXCHANGE,
        broker_routing_key(decision.declarant_code),
        body,
        decision.declaration_id,
    )


def customs_callback(
    decision: Decision,
    callback_id: str,
    reasons: Sequence[Reason] = (),
    data: Mapping[str, Any] | None = None,
) -> OutboxMessage:
    """Contract 4: SubmitControlResult, sent when a decision changes without a call from
    customs. ``CallbackId`` (= the message id) lets the customs side drop repeats; the
    ``reasons`` add declaration-level news (e.g. a permit cancelled after clearance);
    ``data`` is ``decision_to_dict(decision)`` when the caller has it already."""
    if data is None:
        data = decision_to_dict(decision)
    body = {
        "callback_id": callback_id,
        "declaration_id": decision.declaration_id,
        "version": decision.version,
        "decision": decision.decision.value,
        "items": data["items"],
        "reasons": data["reasons"]
        + [{"code": r.code.value, "message": r.message} for r in reasons],
    }
    return OutboxMessage(
        callback_id,
        CUSTOMS_CALLBACK,
        "SubmitControlResult",
        "SubmitControlResult",
        body,
        decision.declaration_id,
    )


def messages_for(event: Event) -> list[OutboxMessage]:
    """The outbox rows an event means, in delivery order (none for a notification nobody can
    receive: a declaration without a declarant code)."""
    match event:
        case UsageRecorded(usage):
            return [usage_recorded(usage)]
        case UsageReversed(usage, remaining_after, reversed_at):
            return [usage_reversed(usage, remaining_after, reversed_at)]
        case DeclarationDecided():
            notice = broker_notification(event.decision, event.how, event.event_id, event.payload)
            return [] if notice is None else [notice]
        case DeclarationReleased():
            return [customs_callback(event.decision, event.event_id, data=event.payload)]
        case PermitWithdrawn():
            return [customs_callback(event.decision, event.event_id, (event.reason,))]
    raise TypeError(f"not an outbox event: {event!r}")  # pragma: no cover


def rows_for(events: Sequence[Event]) -> list[OutboxMessage]:
    return [m for e in events for m in messages_for(e)]
