"""The secret key of the audit chains (contract 9, v2: ``CONNECTOR_AUDIT_KEY_FILE``).

Whoever can write the database can rewrite rows and recompute any unkeyed hash; with an
HMAC-SHA-256 key kept outside the database they cannot. The key file holds 32 random bytes
as hexadecimal text (easy to copy into a password safe). The first ``migrate`` makes it in
the data directory, mode 0600, and says to keep a copy elsewhere: without the key the chains
cannot be verified, and whoever holds it can forge them. A key file any account may read is
refused, like ssh refuses a private key others can read; a group of administrators may be
given read access (mode 0640) or an ACL.

The key travels with the database engine, as one of its execution options
(:func:`with_audit_key`): every component writing audit rows through that engine (ledger,
HS table store, outbox) finds it there, and one built from a bare engine has none. The
database records the key's id (an HMAC of a fixed label, not the key) when the chains are
keyed; the first audit write of a process checks it (:func:`checked_key`), so a process
started with another key file refuses to write instead of starting a chain nobody can verify.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import stat
import threading
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import Connection, Engine

from cites_connector.domain.errors import ConnectorError

#: the engine execution option carrying the key source
OPTION = "cites_audit_key"
KEY_BYTES = 32


class AuditKeyError(ConnectorError):
    """The audit key is missing, unreadable, exposed or not the database's: a configuration
    fault of this installation, never the caller's."""

    fault_code = "Server.Configuration"
    exit_code = 2


def key_id(key: bytes) -> str:
    """A public name for the key: safe to store and print, useless to forge MACs."""
    return hmac.new(key, b"cites-connector audit key id", hashlib.sha256).hexdigest()[:16]


class AuditKeySource:
    """Where the key comes from; loads it once. ``recorded_id`` is checked against the key
    on the first audit write of the process (see :func:`checked_key`)."""

    description = "the audit key"

    def __init__(self) -> None:
        self._key: bytes | None = None
        self._checked = False
        self._lock = threading.Lock()

    def _read(self) -> bytes:
        raise NotImplementedError

    def ensure(self) -> bool:
        """Make the key if there is none; True when it was made now."""
        return False

    def load(self) -> bytes:
        with self._lock:
            if self._key is None:
                self._key = self._read()
            return self._key

    def checked(self, recorded: str | None) -> bytes:
        """The key, once its id was compared with the one the database ``recorded`` when its
        chains were keyed (None: not keyed yet, nothing to compare)."""
        key = self.load()
        if recorded is not None and recorded != key_id(key):
            raise AuditKeyError(
                f"{self.description} (key id {key_id(key)}) is not the key "
                f"this database's audit chains were made with (key id "
                f"{recorded}): use that key file"
            )
        if recorded is not None:
            self._checked = True
        return key


class StaticAuditKey(AuditKeySource):
    """A key given by the caller (a secrets manager, a test)."""

    def __init__(self, key: bytes):
        super().__init__()
        if len(key) < KEY_BYTES:
            raise AuditKeyError(f"an audit key needs at least {KEY_BYTES} bytes")
        self._given = key

    def _read(self) -> bytes:
        return self._given


class AuditKeyFile(AuditKeySource):
    def __init__(self, path: Path):
        super().__init__()
        self.path = Path(path)
        self.description = f"the audit key file {self.path}"

    def ensure(self) -> bool:
        """Make a new key (mode 0600) unless the file exists; never overwrites one."""
        if self.path.exists():
            return False
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another migrate made it meanwhile: use theirs
            return False
        with os.fdopen(fd, "w", encoding="ascii") as out:
            out.write(secrets.token_hex(KEY_BYTES) + "\n")
        return True

    def _read(self) -> bytes:
        try:
            mode = stat.S_IMODE(os.stat(self.path).st_mode)
            text = self.path.read_text(encoding="ascii").strip()
        except FileNotFoundError:
            raise AuditKeyError(
                f"{self.description} does not exist: set "
                f"CONNECTOR_AUDIT_KEY_FILE to the key this database was keyed "
                f"with (for a new database, cites-connector migrate makes "
                f"one)"
            ) from None
        except (OSError, UnicodeDecodeError) as exc:
            raise AuditKeyError(f"{self.description} cannot be read: {exc}") from None
        if mode & 0o007:
            raise AuditKeyError(
                f"{self.description} may be read by every account (mode "
                f"{mode:04o}): chmod 600 it (or 640 for a group of "
                f"administrators)"
            )
        try:
            key = bytes.fromhex(text)
        except ValueError:
            raise AuditKeyError(f"{self.description} does not hold a hexadecimal key") from None
        if len(key) < KEY_BYTES:
            raise AuditKeyError(
                f"{self.description} holds {len(key)} bytes; an audit key needs {KEY_BYTES}"
            )
        return key


def with_audit_key(engine: Engine, source: AuditKeySource) -> Engine:
    """The same engine (same pool, same events) carrying the key source."""
    return engine.execution_options(**{OPTION: source})


def key_source(bind: Engine | Connection) -> AuditKeySource | None:
    return bind.get_execution_options().get(OPTION)


def checked_key(
    connection: Connection, recorded_id: Callable[[Connection], str | None]
) -> bytes | None:
    """The key for an audit write on ``connection`` (None: the engine carries none).

    Until it matched once, the key's id is compared with the one the database recorded when
    its chains were keyed (``recorded_id``), so a process with another key file refuses to
    write; after that, one query less per write."""
    source = key_source(connection)
    if source is None:
        return None
    if source._checked:
        return source.load()
    return source.checked(recorded_id(connection))
