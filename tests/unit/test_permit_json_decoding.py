"""Decoding a permit body (mappings/permit_json_problems.load): a decoder built once and the
duplicate-key check done in C (issue 14) accept and refuse exactly what ``json.loads`` with the
duplicate-refusing hook did, with the same messages. The reference below is that code."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cites_connector.domain.errors import InvalidPermit
from cites_connector.mappings.permit_json_problems import load


def _reference_hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj: dict[str, Any] = {}
    for key, value in pairs:
        if key in obj:
            raise ValueError(f"duplicate key {key!r}")
        obj[key] = value
    return obj


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def reference(data: bytes | str) -> Any:
    """``load`` as it was: ``json.loads`` with its arguments on every call."""
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise InvalidPermit(
                f"invalid JSON: the body is not UTF-8 ({exc.reason} at byte {exc.start})"
            ) from None
    try:
        return json.loads(
            data,
            parse_float=Decimal,
            parse_constant=_no_constant,
            object_pairs_hook=_reference_hook,
        )
    except (ValueError, RecursionError) as exc:
        raise InvalidPermit(f"invalid JSON: {exc}") from None


def outcome(decode, data: bytes | str) -> tuple[str, Any]:
    try:
        value = decode(data)
    except InvalidPermit as refused:
        return "refused", refused.message
    return "value", (value, json.dumps(value, default=repr))  # types too: Decimal vs int


KEYS = st.sampled_from(["line", "quantity", "version", "a", "b", "\u00e9", 'q"uote'])
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.text(max_size=8),
    st.sampled_from(["1.5", "1e3", "-0.0", "NaN", "Infinity", "-Infinity", "12345678901234567890"]),
)


@st.composite
def json_texts(draw: st.DrawFn, depth: int = 0) -> str:
    """JSON-like text: objects that may repeat a key, numbers with fractions and exponents,
    the constants the contract refuses, and now and then a broken piece."""
    kind = draw(st.sampled_from(["scalar", "object", "list"] if depth < 3 else ["scalar"]))
    if kind == "scalar":
        value = draw(SCALARS)
        if isinstance(value, str) and value in ("1.5", "1e3", "-0.0", "NaN", "Infinity"):
            return value
        if isinstance(value, str) and value in ("-Infinity", "12345678901234567890"):
            return value
        return json.dumps(value)
    if kind == "list":
        items = draw(st.lists(json_texts(depth + 1), max_size=3))
        return "[" + ", ".join(items) + "]"
    keys = draw(st.lists(KEYS, max_size=4))  # may repeat: a duplicate key
    members = [f"{json.dumps(k)}: {draw(json_texts(depth + 1))}" for k in keys]
    return "{" + ",".join(members) + "}"


@settings(max_examples=400, deadline=None)
@given(
    json_texts(),
    st.sampled_from(["", "\ufeff", "\ufeff\ufeff", " "]),
    st.sampled_from(["", " ", ",", "}", "]", '"', "x"]),
    st.booleans(),
)
def test_load_decodes_and_refuses_exactly_as_the_reference(text, prefix, suffix, as_bytes):
    data: bytes | str = prefix + text + suffix
    if as_bytes:
        data = data.encode()
    assert outcome(load, data) == outcome(reference, data)


@pytest.mark.parametrize(
    "data, message",
    [
        ('{"a": 1, "b": {"c": 2, "c": 3}}', "invalid JSON: duplicate key 'c'"),
        ('{"a": 1, "b": 2, "a": 3, "b": 4}', "invalid JSON: duplicate key 'a'"),
        (
            '{"lines": [{"line": "A", "quantity": "1", "quantity": "2"}]}',
            "duplicate key 'quantity'",
        ),
        ("\ufeff{}", "invalid JSON: Unexpected UTF-8 BOM (decode using utf-8-sig)"),
        ('{"q": NaN}', "invalid JSON: NaN is not a JSON number"),
    ],
)
def test_refusals_name_the_first_duplicate_and_keep_their_messages(data, message):
    with pytest.raises(InvalidPermit) as refused:
        load(data)
    assert refused.value.message.startswith(message) or message in refused.value.message
    assert outcome(load, data) == outcome(reference, data)


def test_a_body_with_a_bom_and_fractions_decodes_as_before():
    body = '\ufeff{"quantity": 1.50, "version": 2, "a": [1e2, {"b": null}]}'.encode()
    assert load(body) == {
        "quantity": Decimal("1.50"),
        "version": 2,
        "a": [Decimal("1e2"), {"b": None}],
    }
    assert outcome(load, body) == outcome(reference, body)
