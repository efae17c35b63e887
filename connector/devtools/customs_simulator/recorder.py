"""Where the simulator keeps the calls it received: a SQLite file or a small JSON file.

The recorder decides whether a call is a duplicate (its CallbackId was recorded before), in
the same lock or transaction as it records it, so two parallel deliveries of one callback
are seen as one call and one duplicate, never as two originals.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol


@dataclass(frozen=True)
class RecordedCall:
    callback_id: str
    declaration_id: str
    version: int
    decision: str
    received_at: str
    duplicate: bool = False
    user: str | None = None
    items: list[dict[str, Any]] = field(default_factory=list)
    reasons: list[dict[str, str]] = field(default_factory=list)


class CallRecorder(Protocol):
    def record(self, call: RecordedCall) -> RecordedCall:
        """Store ``call``; the result has ``duplicate`` set when its CallbackId was seen."""

    def calls(self) -> list[RecordedCall]: ...


class SqliteCallRecorder:
    _SCHEMA = """CREATE TABLE IF NOT EXISTS calls (
        seq INTEGER PRIMARY KEY AUTOINCREMENT, callback_id TEXT NOT NULL,
        declaration_id TEXT NOT NULL, version INTEGER NOT NULL, decision TEXT NOT NULL,
        received_at TEXT NOT NULL, duplicate INTEGER NOT NULL, user TEXT, payload TEXT NOT NULL)"""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._transaction() as db:
            db.execute(self._SCHEMA)
            db.execute("CREATE INDEX IF NOT EXISTS calls_callback ON calls (callback_id)")

    def _transaction(self) -> _Transaction:
        db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        return _Transaction(db)

    def record(self, call: RecordedCall) -> RecordedCall:
        with self._transaction() as db:
            seen = db.execute(
                "SELECT 1 FROM calls WHERE callback_id = ?", (call.callback_id,)
            ).fetchone()
            call = replace(call, duplicate=seen is not None)
            db.execute(
                "INSERT INTO calls (callback_id, declaration_id, version, decision, received_at,"
                " duplicate, user, payload) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    call.callback_id,
                    call.declaration_id,
                    call.version,
                    call.decision,
                    call.received_at,
                    int(call.duplicate),
                    call.user,
                    json.dumps({"items": call.items, "reasons": call.reasons}),
                ),
            )
        return call

    def calls(self) -> list[RecordedCall]:
        with self._transaction() as db:
            rows = db.execute(
                "SELECT callback_id, declaration_id, version, decision, received_at,"
                " duplicate, user, payload FROM calls ORDER BY seq"
            ).fetchall()
        return [
            RecordedCall(r[0], r[1], r[2], r[3], r[4], bool(r[5]), r[6], **json.loads(r[7]))
            for r in rows
        ]


class _Transaction:
    """``with`` block = one BEGIN IMMEDIATE transaction, closed at the end (stdlib sqlite3's
    own context manager commits but never closes)."""

    def __init__(self, db: sqlite3.Connection):
        self.db = db

    def __enter__(self) -> sqlite3.Connection:
        self.db.execute("BEGIN IMMEDIATE")
        return self.db

    def __exit__(self, exc_type: type[BaseException] | None, *_: object) -> None:
        try:
            self.db.execute("ROLLBACK" if exc_type else "COMMIT")
        finally:
            self.db.close()


class JsonCallRecorder:
    """A JSON array rewritten whole on each call: fine for a demo's handful of calls."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()

    def _load(self) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        loaded: list[dict[str, Any]] = json.loads(self.path.read_text(encoding="utf-8") or "[]")
        return loaded

    def record(self, call: RecordedCall) -> RecordedCall:
        with self._lock:
            data = self._load()
            call = replace(call, duplicate=any(c["callback_id"] == call.callback_id for c in data))
            data.append(asdict(call))
            tmp = self.path.with_suffix(self.path.suffix + ".tmp")
            tmp.write_text(json.dumps(data, indent=2, ensure_ascii=False), encoding="utf-8")
            os.replace(tmp, self.path)
        return call

    def calls(self) -> list[RecordedCall]:
        with self._lock:
            return [RecordedCall(**c) for c in self._load()]


class MemoryCallRecorder:
    def __init__(self) -> None:
        self._calls: list[RecordedCall] = []
        self._lock = threading.Lock()

    def record(self, call: RecordedCall) -> RecordedCall:
        with self._lock:
            call = replace(
                call, duplicate=any(c.callback_id == call.callback_id for c in self._calls)
            )
            self._calls.append(call)
        return call

    def calls(self) -> list[RecordedCall]:
        with self._lock:
            return list(self._calls)


def open_recorder(path: Path | None) -> CallRecorder:
    """``.json`` files are JSON, anything else SQLite; no path keeps calls in memory."""
    if path is None:
        return MemoryCallRecorder()
    path = Path(path)
    return JsonCallRecorder(path) if path.suffix.lower() == ".json" else SqliteCallRecorder(path)
