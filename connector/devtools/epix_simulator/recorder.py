"""The ConfirmQuantities calls the simulator received: in memory, and in a JSON file when one
is given (``simulate-epix calls`` reads it; the tests also read ``GET /calls``).

A call is a duplicate when its ConfirmationId (the connector's usage id) was recorded before:
decided under the same lock as the recording, so two parallel deliveries are one original and
one duplicate.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class ConfirmCall:
    confirmation_id: str | None
    certificate_number: str
    iso_country_code: str
    token: str
    received_at: str
    positions: list[dict[str, str]] = field(default_factory=list)
    #: the caller's certificate subject, as EPIX reads it (e.g. "C=NA, CN=...")
    client_subject: str | None = None
    duplicate: bool = False


class ConfirmRecorder:
    def __init__(self, path: Path | None = None):
        self.path = Path(path) if path is not None else None
        self._lock = threading.Lock()
        self._calls: list[ConfirmCall] = []
        if self.path is not None and self.path.exists():
            self._calls = [ConfirmCall(**c) for c in json.loads(self.path.read_text() or "[]")]

    def record(self, call: ConfirmCall) -> ConfirmCall:
        with self._lock:
            seen = call.confirmation_id is not None and any(
                c.confirmation_id == call.confirmation_id for c in self._calls
            )
            call = replace(call, duplicate=seen)
            self._calls.append(call)
            self._save()
            return call

    def calls(self) -> list[ConfirmCall]:
        with self._lock:
            return list(self._calls)

    def as_json(self) -> list[dict[str, Any]]:
        return [asdict(c) for c in self.calls()]

    def _save(self) -> None:
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        partial = self.path.with_suffix(self.path.suffix + ".part")
        partial.write_text(json.dumps([asdict(c) for c in self._calls], indent=1))
        os.replace(partial, self.path)


def read_calls(path: Path) -> list[ConfirmCall]:
    return ConfirmRecorder(path).calls()
