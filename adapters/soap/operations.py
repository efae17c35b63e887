"""The four operations: a validated request element in, a response element out.

Each handler reads the request's fields, calls the service the CLI calls too, and renders the
result; errors are the services' own (``UnknownDeclaration``, ``StaleVersion``, ...) and carry
their fault code. The ASYCUDA document is handed to the mapping as the element it already is,
never re-serialised.

A user limited to customs offices (contract section 1, v2) may check only a SAD of its
offices, and may not amend, read or cancel a declaration stored for another office: the
stored declaration's office is looked at, not what the request claims.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import structlog
from lxml import etree

from cites_connector.adapters.soap import rendering
from cites_connector.adapters.soap.schema import NS, SchemaViolation
from cites_connector.adapters.soap.users import SoapUser
from cites_connector.domain.decision_dicts import decision_to_dict
from cites_connector.domain.decisions import Decision
from cites_connector.domain.declarations import Declaration
from cites_connector.domain.errors import MappingFailed, UnknownDeclaration
from cites_connector.domain.units import format_decimal
from cites_connector.services.clearance import ClearanceService
from cites_connector.services.permits import PermitService

log = structlog.get_logger(__name__)

SAD_ROOT = "ASYCUDA"


def _text(request: etree._Element, name: str) -> str | None:
    value = request.findtext(f"{{{NS}}}{name}")
    return value.strip() if value is not None else None


def _required_text(request: etree._Element, name: str) -> str:
    """A field the schema requires (validated before any handler runs)."""
    value = _text(request, name)
    if value is None:
        raise SchemaViolation(f"the request has no {name}")
    return value


@dataclass
class Call:
    """One request as the handlers see it."""

    request: etree._Element
    actor: str
    #: filled in by the handler as soon as it knows it, for logs and Faults
    declaration_id: str | None = None
    #: the authenticated user (None with authentication off)
    user: SoapUser | None = None

    @property
    def endorser(self) -> str:
        """Who signs the usages this call writes off (contract 3.2 (v2)): the SOAP user's
        name; ``soap`` when authentication is switched off (a local demo)."""
        return self.user.name if self.user is not None else "soap"

    @property
    def office_limited(self) -> bool:
        return self.user is not None and self.user.offices is not None

    def require_office(self, office: str | None, what: str) -> None:
        if self.user is not None:
            self.user.require_office(office, what)


def declaration_element(request: etree._Element) -> etree._Element:
    """The one ASYCUDA element inside ``Declaration``, in no namespace (contract section 1).

    A client that declared the service namespace as the default namespace makes an unprefixed
    ASYCUDA inherit it; that is refused, with the fix, rather than guessed: the contract says
    the SAD has no namespace, and silently rewriting names could hide a client's other errors.
    """
    holder = request.find(f"{{{NS}}}Declaration")
    elements = [c for c in holder if isinstance(c.tag, str)] if holder is not None else []
    if len(elements) != 1:
        raise SchemaViolation(
            "Declaration must contain exactly one ASYCUDA element, carried as "
            "XML (not as escaped text)"
        )
    sad = elements[0]
    name = etree.QName(sad)
    if name.localname == SAD_ROOT and name.namespace is not None:
        raise MappingFailed(
            f"the ASYCUDA element inside Declaration is in the namespace {name.namespace!r}"
            + (" (inherited from a default namespace declaration)" if name.namespace == NS else "")
            + ': the SAD has no namespace; write it as <ASYCUDA xmlns="">'
        )
    return sad


def precheck(operation: str, request: etree._Element) -> None:
    """Before XSD validation: name the common mistake the schema's message would obscure."""
    if operation != "CheckDeclaration":
        return
    holder = request.find(f"{{{NS}}}Declaration")
    if (
        holder is not None
        and (holder.text or "").strip()
        and not any(isinstance(c.tag, str) for c in holder)
    ):
        raise SchemaViolation(
            "Declaration holds text: the ASYCUDA document must be carried "
            "as XML, not as escaped text"
        )


class Operations:
    """Handlers keyed by operation name, on the services the CLI uses too. ``map_sad`` maps
    the ASYCUDA element with the configured SAD mapping, dated by the policy's day."""

    def __init__(
        self,
        clearance: ClearanceService,
        permits: PermitService,
        map_sad: Callable[[etree._Element], Declaration],
        *,
        home_country: str,
        clock: Callable[[], datetime],
        on_decided: Callable[[Decision, str], None] | None = None,
    ):
        """``on_decided(decision, "soap")`` after each decision stored (not a repeat)."""
        self.on_decided = on_decided
        self.clearance = clearance
        self.permits = permits
        self.map_sad = map_sad
        self.home_country = home_country
        self.clock = clock
        self.handlers: dict[str, Callable[[Call], etree._Element]] = {
            "CheckDeclaration": self.check_declaration,
            "CancelDeclaration": self.cancel_declaration,
            "GetDecision": self.get_decision,
            "GetPermitBalance": self.get_permit_balance,
        }

    def check_declaration(self, call: Call) -> etree._Element:
        declaration_id = call.declaration_id = _required_text(call.request, "DeclarationId")
        version = int(_text(call.request, "Version") or 1)
        declaration = self.map_sad(declaration_element(call.request))
        if call.office_limited:
            call.require_office(declaration.office, "the SAD")
            self._require_stored_office(call, declaration_id, missing_ok=True)
        outcome = self.clearance.clear(
            declaration_id, version, declaration, actor=call.actor, endorsed_by=call.endorser
        )
        if self.on_decided is not None and not outcome.repeated:
            self.on_decided(outcome.decision, "soap")
        return rendering.decision_result(
            "CheckDeclarationResponse", decision_to_dict(outcome.decision)
        )

    def cancel_declaration(self, call: Call) -> etree._Element:
        declaration_id = call.declaration_id = _required_text(call.request, "DeclarationId")
        if call.office_limited:
            self._require_stored_office(call, declaration_id)
        restored = self.clearance.cancel(
            declaration_id, _text(call.request, "Reason"), actor=call.actor
        )
        return rendering.cancel_result(
            declaration_id,
            [
                {
                    "PermitNumber": r.usage.permit_number,
                    "IssuingCountry": r.usage.issuing_country,
                    "PermitLine": r.usage.line,
                    "Quantity": format_decimal(r.usage.quantity),
                    "Unit": r.usage.unit,
                    "RemainingAfter": format_decimal(r.remaining_after),
                }
                for r in restored
            ],
        )

    def get_decision(self, call: Call) -> etree._Element:
        declaration_id = call.declaration_id = _required_text(call.request, "DeclarationId")
        stored = self.clearance.stored(declaration_id)
        call.require_office(stored.declaration.office, f"declaration {declaration_id}")
        return rendering.decision_result(
            "GetDecisionResponse", decision_to_dict(stored.decision), state=stored.state.value
        )

    def _require_stored_office(
        self, call: Call, declaration_id: str, missing_ok: bool = False
    ) -> None:
        try:
            stored = self.clearance.stored(declaration_id)
        except UnknownDeclaration:
            if missing_ok:
                return
            raise
        call.require_office(stored.declaration.office, f"declaration {declaration_id}")

    def get_permit_balance(self, call: Call) -> etree._Element:
        number = _required_text(call.request, "PermitNumber")
        country = _text(call.request, "IssuingCountry")
        balance = self.permits.balance(number, country, prefer_country=self.home_country)
        permit = balance.permit
        return rendering.balance_result(
            {
                "PermitNumber": permit.permit_number,
                "IssuingCountry": permit.issuing_country,
                "Status": permit.balance_status(self.clock().date()).value,
                "ValidFrom": permit.valid_from.isoformat(),
                "ValidUntil": permit.valid_until.isoformat(),
                "Lines": [
                    {
                        "Line": ln.line,
                        "Taxon": ln.taxon,
                        "Quantity": format_decimal(ln.quantity),
                        "Unit": ln.unit,
                        "Remaining": format_decimal(ln.remaining),
                    }
                    for ln in permit.lines
                ],
            }
        )
