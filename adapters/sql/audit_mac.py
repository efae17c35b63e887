"""What the audit chains compute: a canonical form of a row, and HMAC-SHA-256 over it.

A MAC must come out the same when the row is read back on SQLite or PostgreSQL, so what is
MAC'd is a canonical JSON (sorted keys, no spaces, by orjson) of values in a form that
survives the round trip: the instant as ISO 8601 UTC with microseconds (SQLite keeps wall
time without an offset, PostgreSQL an instant), and a JSON column's value as it will be read
back (the engine writes JSON with orjson, so the value is passed through orjson first). Every MAC
names its chain and purpose, so a value made for one can never pass for another.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime
from typing import Any

import orjson


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def as_stored(value: Any) -> Any:
    """A JSON column's value as the database gives it back (engine.py's serializer)."""
    return orjson.loads(orjson.dumps(value, default=str))


def iso_utc(value: datetime | str) -> str:
    """An instant as ISO 8601 UTC with microseconds; text is parsed first (SQLite)."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def mac(key: bytes, purpose: str, fields: dict[str, Any]) -> str:
    """HMAC-SHA-256 over sorted-key compact JSON (orjson: it runs in every clearance, where
    the standard library's encoder costs several times as much)."""
    body = orjson.dumps({"purpose": purpose, **fields}, option=orjson.OPT_SORT_KEYS)
    return hmac.new(key, body, hashlib.sha256).hexdigest()


def same(a: str | None, b: str | None) -> bool:
    return a is not None and b is not None and hmac.compare_digest(a, b)


def sha256_json(value: Any) -> str:
    """The unkeyed hash of the administration chain before it was keyed (migration 0006)."""
    return hashlib.sha256(canonical_json(value).encode("utf-8")).hexdigest()
