"""The WS-Security nonce store: PasswordDigest nonces seen, in the ledger's database.

OASIS UsernameToken Profile 1.0 section 3.1 asks the receiver to keep "a cache of used nonces"
for as long as it accepts a token's Created time. Contract section 1 (v2) puts that cache in
the database, so that a request captured on its way to one connector process is refused by
every other process sharing the database, and keys it by the nonce's decoded bytes (hashed):
``AAAA...==``, the same text with a line break inside, or with other unused low bits in its
last character are one nonce, not sixteen.

One statement decides: an insert that, on a conflict, takes over the row only when its window
has passed. Two processes racing with the same nonce cannot both win, on SQLite or PostgreSQL.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime

import structlog
from sqlalchemy import Engine, delete
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError

from cites_connector.adapters.sql import tables as t
from cites_connector.domain.errors import Unavailable

log = structlog.get_logger(__name__)

_n = t.wss_nonces.c
_DIALECTS = {"sqlite": sqlite, "postgresql": postgresql}


def _moment(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, tz=UTC)


class SqlNonceStore:
    """``remember(user, nonce, until, now)``: True the first time a nonce is seen in its window.

    Rows whose window has passed are purged at most every ``purge_every`` seconds, by the
    request that finds the time has come (no extra thread to stop).
    """

    def __init__(
        self, engine: Engine, *, purge_every: float = 60.0, clock: Callable[[], float] = time.time
    ):
        self.engine = engine
        self.purge_every = purge_every
        self.clock = clock
        self._dialect = _DIALECTS[engine.dialect.name]
        self._next_purge = 0.0
        self._purge_lock = threading.Lock()

    def remember(self, user: str, nonce: bytes, until: float, now: float) -> bool:
        key = hashlib.sha256(nonce).hexdigest()
        insert = self._dialect.insert(t.wss_nonces).values(
            username=user, nonce_sha256=key, expires_at=_moment(until)
        )
        upsert = insert.on_conflict_do_update(
            index_elements=[_n.username, _n.nonce_sha256],
            set_={"expires_at": insert.excluded.expires_at},
            where=_n.expires_at < _moment(now),
        ).execution_options(preserve_rowcount=True)
        try:
            with self.engine.begin() as connection:
                fresh = connection.execute(upsert).rowcount == 1
        except DBAPIError as exc:
            log.error("wss.nonce_store_unreachable", error=str(exc.orig).splitlines()[0][:200])
            raise Unavailable("the nonce store (the ledger database) is not reachable") from exc
        self._purge_if_due(now)
        return fresh

    def purge(self, now: float) -> int:
        """Forget nonces whose window has passed; returns how many."""
        with self.engine.begin() as connection:
            gone = connection.execute(
                delete(t.wss_nonces).where(_n.expires_at < _moment(now))
            ).rowcount
        if gone:
            log.info("wss.nonces_purged", count=gone)
        return gone

    def _purge_if_due(self, now: float) -> None:
        with self._purge_lock:
            if now < self._next_purge:
                return
            self._next_purge = now + self.purge_every
        try:
            self.purge(now)
        except DBAPIError as exc:  # the nonce was recorded; a purge can wait for the next turn
            log.warning("wss.nonce_purge_failed", error=str(exc.orig).splitlines()[0][:200])
