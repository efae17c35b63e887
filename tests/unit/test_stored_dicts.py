"""The stored forms of decisions and declarations (issue 14): ``compact_decision`` and
``compact_declaration`` build what the generic ``compact`` walk built, byte for byte, on every
decision of the case table, every real SAD export, and generated decisions and declarations."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cites_connector.domain.decision_dicts import (
    compact_decision,
    compact_declaration,
    decision_to_dict,
    declaration_to_dict,
)
from cites_connector.domain.decisions import (
    Decision,
    DeclarationDecision,
    ItemDecision,
    ItemStatus,
    Reason,
    ReasonCode,
    WriteOff,
)
from cites_connector.domain.declarations import AttachedDocument, Declaration, DeclarationItem, Flow
from cites_connector.domain.permits import Party
from tests.memory_ledger import MemoryLedger
from tests.unit.test_decision_cases import CASES, build_declaration, decide_case
from tests.unit.test_real_sad_decisions import DECIDED, by_file, decided


def compact(data: Any) -> Any:
    """The reference: drop absent values (None, empty lists) from nested dicts, generically."""
    if isinstance(data, dict):
        return {
            k: compact(v) if isinstance(v, dict | list) else v
            for k, v in data.items()
            if v is not None and not (isinstance(v, list) and not v)
        }
    if isinstance(data, list):
        return [compact(v) if isinstance(v, dict | list) else v for v in data]
    return data


def _same(old: Any, new: Any) -> None:
    assert orjson.dumps(new) == orjson.dumps(old)
    assert new == old


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_the_case_tables_decisions_and_declarations_are_stored_as_before(
    case: dict[str, Any],
) -> None:
    payload = dict(decide_case(MemoryLedger(), case).payload)
    _same(compact(payload), compact_decision(payload))
    declaration = declaration_to_dict(build_declaration(case["declaration"]))
    _same(compact(declaration), compact_declaration(declaration))


@pytest.mark.parametrize("entry", DECIDED, ids=by_file)
def test_real_sad_decisions_are_stored_as_before(entry: dict[str, Any]) -> None:
    payload = decision_to_dict(decided(entry))
    _same(compact(payload), compact_decision(payload))


def test_the_compacted_form_leaves_its_input_alone() -> None:
    payload = decision_to_dict(
        Decision("D", 1, DeclarationDecision.NOT_CONCERNED, (ItemDecision(1, "01", _NC),))
    )
    before = orjson.dumps(payload)
    compact_decision(payload)
    assert orjson.dumps(payload) == before


_NC = ItemStatus.NOT_CONCERNED
_text = st.none() | st.text(max_size=4)
_amount = st.decimals(min_value=0, max_value=10**6, places=3, allow_nan=False)
_reasons = st.lists(
    st.builds(Reason, st.sampled_from(list(ReasonCode)), st.text(max_size=4)), max_size=2
).map(tuple)
_write_off = st.builds(
    WriteOff,
    st.text(max_size=3),
    st.text(max_size=2),
    st.text(max_size=1),
    st.integers(1, 9),
    _amount,
    _text,
    _amount,
    st.booleans(),
    st.booleans(),
)
_item = st.builds(
    ItemDecision,
    item_number=st.integers(1, 99),
    hs_code=st.text(max_size=8),
    status=st.sampled_from(list(ItemStatus)),
    description=_text,
    permit_number=_text,
    issuing_country=_text,
    permit_line=_text,
    quantity=st.none() | _amount,
    unit=_text,
    remaining_after=st.none() | _amount,
    reasons=_reasons,
    risk_flags=_reasons,
    write_offs=st.lists(_write_off, max_size=2).map(tuple),
    taxa=st.lists(st.text(max_size=4), max_size=2).map(tuple),
)
_decision = st.builds(
    Decision,
    declaration_id=st.text(max_size=4),
    version=st.integers(1, 9),
    decision=st.sampled_from(list(DeclarationDecision)),
    items=st.lists(_item, max_size=3).map(tuple),
    reasons=_reasons,
    hs_table=_text,
    declarant_code=_text,
    office=_text,
)
_party = st.builds(Party, _text, _text, _text)
_declaration = st.builds(
    Declaration,
    declaration_type=st.text(max_size=3),
    flow=st.sampled_from(list(Flow)),
    date=st.just(date(2026, 12, 1)),
    date_defaulted=st.booleans(),
    office=_text,
    office_name=_text,
    procedure=_text,
    exporter=_party,
    consignee=_party,
    declarant_code=_text,
    declarant_name=_text,
    export_country=_text,
    destination_country=_text,
    items=st.lists(
        st.builds(
            DeclarationItem,
            number=st.integers(1, 99),
            hs_code=st.text(max_size=8),
            description=_text,
            origin_country=_text,
            net_mass=st.none() | _amount,
            supplementary_quantity=st.none() | _amount,
            supplementary_unit=_text,
            supplementary_unit_code=_text,
            documents=st.lists(st.builds(AttachedDocument, st.text(max_size=4), _text)).map(tuple),
        ),
        max_size=3,
    ).map(tuple),
)


@settings(max_examples=300, deadline=None)
@given(_decision)
def test_generated_decisions_are_stored_as_before(decision: Decision) -> None:
    payload = decision_to_dict(decision)
    _same(compact(payload), compact_decision(payload))


@settings(max_examples=300, deadline=None)
@given(_declaration)
def test_generated_declarations_are_stored_as_before(declaration: Declaration) -> None:
    data = declaration_to_dict(declaration)
    _same(compact(data), compact_declaration(data))


def test_an_empty_decimal_list_is_not_a_quantity() -> None:
    # a zero stays: only None and empty lists are dropped
    payload = decision_to_dict(
        Decision(
            "D",
            1,
            DeclarationDecision.CLEARED,
            (ItemDecision(1, "01", ItemStatus.MATCHED, quantity=Decimal(0)),),
        )
    )
    assert compact_decision(payload)["items"][0]["quantity"] == "0"
