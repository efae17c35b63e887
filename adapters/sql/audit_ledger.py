"""The ledger's audit rows: keyed at insert, linked into one chain by a separate sealing step.

Every clearance, cancellation and permit event writes an audit row in its own transaction,
from several processes sharing one PostgreSQL. A chain linked at insert (each row MAC'ing the
one before) would make every such transaction wait for the one before it to commit: one
global lock, which issue 14 forbids. So the work is split (docs/audit.md):

1. **At insert** each row gets a random nonce and ``mac`` = HMAC-SHA-256(key, its content
   and nonce): no field of it can be changed, and no row added, without the key. The MAC
   needs no other row, so inserts never wait for each other.
2. **Sealing** (``serve`` every ``audit_seal_seconds``, ``audit seal``, ``audit verify``)
   links rows that committed since the last seal, in id order, into ``audit_log_seals``:
   ``link`` = HMAC(key, previous link, position, row id, row MAC). Deleting, reordering or
   replacing a sealed row, or removing a seal, breaks the chain there. Sealers serialise among
   themselves (an advisory lock), never with clearances: they only read ``audit_log``.

Ids are given out before commit, so a row may commit after a row with a higher id was sealed;
it is then sealed in a later batch: the chain's order is the order of sealing, not of ids. A
routine seal looks back ``LOOKBACK`` ids behind the last sealed one for such rows, a full seal
(``audit seal --full``, ``audit verify``, ``serve`` at start) looks at every row. A row the
sealer cannot vouch for (no MAC, a MAC that does not verify, a copy of a sealed row) stops
sealing there, so it can never be made part of the chain: ``audit verify`` names it.

Rows written before the ledger was keyed (migration 0006) have no MAC: the first keying seals
them as they are (audit_adopt.py), and only those may stay without a MAC.
"""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import structlog
from sqlalchemy import Connection, bindparam, exists, func, insert, select

from cites_connector.adapters.sql import tables as t
from cites_connector.adapters.sql.audit_chain import recorded_key_id
from cites_connector.adapters.sql.audit_key import checked_key
from cites_connector.adapters.sql.audit_mac import as_stored, iso_utc, mac, same
from cites_connector.adapters.sql.codec import Row, utc

log = structlog.get_logger(__name__)
CHAIN = "ledger"
#: pg_advisory_xact_lock key of sealing: b"CITESEAL" read as a big-endian integer
SEAL_LOCK_KEY = int.from_bytes(b"CITESEAL", "big")
#: how far behind the last sealed id a routine seal looks for rows that committed late
LOOKBACK = 10_000
BATCH = 2_000
#: MACs asked per statement when looking for copies of sealed rows (_copies_of_sealed)
COPIES_CHUNK = 100
_a, _s = t.audit_log.c, t.audit_log_seals.c
#: an engine without a key is warned about once per process
_warned = threading.Event()


# -- keying a row at insert ------------------------------------------------------------------


def row_mac(key: bytes, row: Row) -> str:
    return mac(
        key,
        "ledger-row",
        {
            "nonce": row["nonce"],
            "at": iso_utc(row["at"]),
            "actor": row["actor"],
            "action": row["action"],
            "subject": row["subject"],
            "details": as_stored(row["details"]),
        },
    )


def keyed_row(
    connection: Connection,
    actor: str,
    action: str,
    subject: str,
    details: dict[str, Any],
    at: datetime,
) -> dict[str, Any]:
    """The values of one audit row, with its nonce and MAC (the ledger's ``add_audit``).

    An engine built without the audit key (a bare test engine) writes the row without a MAC,
    with a warning: ``audit verify`` reports such a row and the sealer never links it."""
    row = {
        "actor": actor,
        "action": action,
        "subject": subject,
        "details": details,
        "at": utc(at),
        "nonce": None,
        "mac": None,
    }
    key = checked_key(connection, recorded_key_id)
    if key is None:
        if not _warned.is_set():
            log.warning(
                "audit.rows_without_key",
                detail="this engine carries no audit key: "
                "its audit rows have no MAC and will not verify",
            )
            _warned.set()
        return row
    row["nonce"] = secrets.token_hex(16)
    row["mac"] = row_mac(key, row)
    return row


# -- the chain -----------------------------------------------------------------------------------


def genesis_link(key: bytes) -> str:
    return mac(key, "ledger-genesis", {})


def link(key: bytes, prev: str, position: int, row_id: int, content_mac: str) -> str:
    return mac(
        key,
        "ledger-link",
        {"prev": prev, "position": position, "row_id": row_id, "row_mac": content_mac},
    )


def describe(row: Row) -> str:
    return f"row {row['id']} ({row['action']} {row['subject']})"


def vouch(key: bytes, row: Row, *, legacy: bool = False) -> tuple[str | None, str | None]:
    """(the row's content MAC, None) or (None, what is wrong with it)."""
    computed = row_mac(key, row)
    if row["mac"] is None:
        if legacy:
            return computed, None
        return None, (
            f"{describe(row)} has no MAC: it was not written by the connector with the audit key"
        )
    if not same(computed, row["mac"]):
        return None, (
            f"{describe(row)} does not match its MAC: it was changed after it was "
            f"written, or the audit key is not the one it was written with"
        )
    return computed, None


@dataclass(frozen=True)
class SealedRow:
    position: int
    row_id: int
    subject: str


@dataclass
class Sealed:
    rows: list[SealedRow] = field(default_factory=list)
    head: str | None = None
    position: int = 0
    #: the row sealing stopped at, and why
    stopped_at: int | None = None
    problem: str | None = None


def _head(connection: Connection) -> tuple[int, str] | None:
    found = connection.execute(
        select(_s.position, _s.link).order_by(_s.position.desc()).limit(1)
    ).first()
    return None if found is None else (found.position, found.link)


def start_chain(connection: Connection, key: bytes, at: datetime) -> int:
    """Position 0 and, sealed as they are, the rows written before the chain was keyed;
    returns how many (audit_adopt.py, once per database)."""
    connection.execute(
        insert(t.audit_log_seals).values(
            position=0, row_id=None, link=genesis_link(key), sealed_at=at
        )
    )
    done = seal_batch(connection, key, at, full=True, legacy=True, limit=None)
    return len(done.rows)


def seal_batch(
    connection: Connection,
    key: bytes,
    at: datetime,
    *,
    full: bool = False,
    legacy: bool = False,
    limit: int | None = BATCH,
) -> Sealed:
    """Link the rows not sealed yet, in id order, after the last seal (one transaction)."""
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({SEAL_LOCK_KEY})")
    head = _head(connection)
    if head is None:
        return Sealed(
            problem="the ledger audit chain is not keyed yet: run cites-connector migrate"
        )
    position, prev = head
    done = Sealed(head=prev, position=position)
    floor = -1
    if not full:
        last = connection.execute(select(func.max(_s.row_id))).scalar()
        floor = -1 if last is None else last - LOOKBACK
    query = (
        select(t.audit_log)
        .where(_a.id > floor, ~exists().where(_s.row_id == _a.id))
        .order_by(_a.id)
    )
    candidates = list(connection.execute(query if limit is None else query.limit(limit)).mappings())
    copies = _copies_of_sealed(connection, [r["mac"] for r in candidates if r["mac"]])
    seals = []
    for row in candidates:
        content, problem = vouch(key, row, legacy=legacy)
        if problem is None and row["mac"] in copies:
            problem = f"{describe(row)} is a copy of row {copies[row['mac']]}"
        if problem is not None:
            done.stopped_at, done.problem = row["id"], problem
            break
        assert content is not None, "vouch gives the content MAC when it finds no problem"
        if row["mac"] is not None:
            copies[row["mac"]] = row["id"]
        position += 1
        prev = link(key, prev, position, row["id"], content)
        seals.append({"position": position, "row_id": row["id"], "link": prev, "sealed_at": at})
        done.rows.append(SealedRow(position, row["id"], row["subject"]))
    if seals:
        connection.execute(insert(t.audit_log_seals), seals)
    done.head, done.position = prev, position
    return done


def _copies_of_sealed(connection: Connection, macs: list[str]) -> dict[str, int]:
    """MACs among ``macs`` that a sealed row already has (a copied row), by that row's id.

    Asked ``COPIES_CHUNK`` MACs at a time, the last chunk padded with its own last MAC, so the
    statement's text is one and the same whatever the number of rows: an ``IN`` list as long
    as the batch would be a new statement for every batch size, and each one stays in the
    driver's statement cache of every pooled connection (Python's sqlite3 keeps up to 128
    prepared statements per connection, about 250 bytes per ``?``): ``serve`` grew by 20 MB
    and more under load (bench/README.md, ``memory_flat.py``)."""
    wanted = list(dict.fromkeys(macs))
    found: dict[str, int] = {}
    for start in range(0, len(wanted), COPIES_CHUNK):
        chunk = wanted[start : start + COPIES_CHUNK]
        chunk += [chunk[-1]] * (COPIES_CHUNK - len(chunk))
        found.update(connection.execute(_COPIES, {"macs": chunk}).all())
    return found


_COPIES = (
    select(_a.mac, func.min(_a.id))
    .join(t.audit_log_seals, _s.row_id == _a.id)
    .where(_a.mac.in_(bindparam("macs", expanding=True)))
    .group_by(_a.mac)
)
