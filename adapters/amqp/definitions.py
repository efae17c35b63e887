"""The RabbitMQ definitions the connector ships (``config/rabbitmq-definitions.json``): the
topology of contract 3 plus two least-privilege users (contract 3.1 (v2)).

- ``connector`` may declare and bind its own exchanges and queues, consume its queues, and
  publish usage reports, broker notifications, lookups and dead letters. It may **not**
  publish to ``cites.permits``: only the permit system changes permits.
- ``permit-system`` may publish permit events (``cites.permits``), answer lookups (replies go
  through the default exchange, ``amq.default``, to the connector's direct reply-to) and keep
  queues of its own named ``permit-system.*`` (for ``cites.rpc`` lookups and ``cites.usage``
  reports). It can read nothing of the connector's.

Permissions are regular expressions per virtual host, anchored, naming exactly those
resources. RabbitMQ checks ``user_id`` against the publishing connection's user (a publisher
cannot claim to be another user), which is what the permit consumer trusts.

Passwords: the file carries salted SHA-256 hashes (``rabbit_password_hashing_sha256``: base64
of a 4-byte salt followed by SHA-256(salt + UTF-8 password)) of **demo** passwords
(``DEMO_PASSWORDS``), for the quick start and the tests. An operator sets real ones with
``rabbitmqctl change_password`` after importing, or renders a file of their own::

    python -m cites_connector.adapters.amqp.definitions --ask-passwords --vhost /customs \
        > definitions.json

The same module renders the file and checks it (tests compare them), so the file and the code
cannot drift.
"""

from __future__ import annotations

import argparse
import base64
import getpass
import hashlib
import hmac
import json
import os
import re
import sys
from pathlib import Path
from typing import Any

from cites_connector import config as _config_package
from cites_connector.adapters.amqp import topology

CONNECTOR_USER = "connector"
PERMIT_SYSTEM_USER = "permit-system"
#: for the quick start and the tests only: never for a broker that holds real permits
DEMO_PASSWORDS = {
    CONNECTOR_USER: "connector-demo-only",
    PERMIT_SYSTEM_USER: "permit-system-demo-only",
}
HASHING = "rabbit_password_hashing_sha256"
FILE = Path(_config_package.__file__).resolve().parent / "rabbitmq-definitions.json"
#: queues the permit system may create for itself (lookups, usage reports)
PERMIT_SYSTEM_QUEUES = "permit-system."


def _literal(name: str) -> str:
    """A resource name as a regular expression matching only itself (names are of
    ``[A-Za-z0-9._-]``; only the dot is special there)."""
    if not re.fullmatch(r"[A-Za-z0-9._-]+", name):
        raise ValueError(f"unexpected resource name {name!r}")
    return name.replace(".", "\\.")


def _exactly(*names: str) -> str:
    return "^(" + "|".join(_literal(n) for n in names) + ")$"


def permissions(vhost: str = "/") -> list[dict[str, str]]:
    t = topology
    own_queues = (t.PERMITS_QUEUE, t.DEAD_LETTER_QUEUE)
    connector = {
        # declare (idempotently, at start) the exchanges and queues of contract 3
        "configure": _exactly(*(e.name for e in t.EXCHANGES), *own_queues),
        # publish usage, notifications, lookups and dead letters; bind its queues
        "write": _exactly(
            t.USAGE_EXCHANGE,
            t.NOTIFICATIONS_EXCHANGE,
            t.RPC_EXCHANGE,
            t.DEAD_LETTER_EXCHANGE,
            *own_queues,
        ),
        # consume its queues; bind them to the exchanges they read
        "read": _exactly(t.PERMITS_EXCHANGE, t.DEAD_LETTER_EXCHANGE, *own_queues),
    }
    own = _literal(PERMIT_SYSTEM_QUEUES) + ".+"
    permit_system = {
        "configure": f"^{own}$",
        "write": f"^({_literal(t.PERMITS_EXCHANGE)}|{_literal('amq.default')}|{own})$",
        "read": f"^({_literal(t.RPC_EXCHANGE)}|{_literal(t.USAGE_EXCHANGE)}|{own})$",
    }
    return [
        {"user": CONNECTOR_USER, "vhost": vhost, **connector},
        {"user": PERMIT_SYSTEM_USER, "vhost": vhost, **permit_system},
    ]


def password_hash(password: str, salt: bytes | None = None) -> str:
    """RabbitMQ's ``rabbit_password_hashing_sha256`` form of ``password``."""
    salt = os.urandom(4) if salt is None else salt
    if len(salt) != 4:
        raise ValueError("RabbitMQ password salts are 4 bytes")
    digest = hashlib.sha256(salt + password.encode("utf-8")).digest()
    return base64.b64encode(salt + digest).decode("ascii")


def hash_matches(stored: str, password: str) -> bool:
    raw = base64.b64decode(stored)
    return len(raw) == 36 and hmac.compare_digest(password_hash(password, raw[:4]), stored)


def users(hashes: dict[str, str]) -> list[dict[str, object]]:
    return [
        {"name": name, "password_hash": hashes[name], "hashing_algorithm": HASHING, "tags": []}
        for name in (CONNECTOR_USER, PERMIT_SYSTEM_USER)
    ]


def render(
    hashes: dict[str, str],
    *,
    vhost: str = "/",
    delivery_limit: int = topology.BACKSTOP_DELIVERY_LIMIT,
) -> dict[str, Any]:
    """The whole definitions document for one virtual host."""
    return {
        "users": users(hashes),
        "vhosts": [{"name": vhost}],
        "permissions": permissions(vhost),
        **topology.definitions(delivery_limit, vhost),
    }


def for_vhost(document: dict[str, Any], vhost: str) -> dict[str, Any]:
    """``document`` (e.g. the shipped file) moved to another virtual host."""
    moved: dict[str, Any] = json.loads(json.dumps(document))
    moved["vhosts"] = [{"name": vhost}]
    for section in ("permissions", "exchanges", "queues", "bindings"):
        for entry in moved.get(section, []):
            entry["vhost"] = vhost
    return moved


def load(path: Path = FILE) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return document


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m cites_connector.adapters.amqp.definitions",
        description="Print RabbitMQ definitions (rabbitmqctl import_definitions) for the "
        "connector: topology and the users connector and permit-system.",
    )
    parser.add_argument("--vhost", default="/", help="virtual host (default /)")
    parser.add_argument(
        "--delivery-limit",
        type=int,
        default=topology.BACKSTOP_DELIVERY_LIMIT,
        help="x-delivery-limit of cites-connector.permits (CONNECTOR_AMQP_BROKER_DELIVERY_LIMIT)",
    )
    parser.add_argument(
        "--ask-passwords",
        action="store_true",
        help="ask for each user's password instead of the demo passwords",
    )
    args = parser.parse_args(argv)
    if args.ask_passwords:
        hashes = {
            user: password_hash(getpass.getpass(f"password for {user}: "))
            for user in (CONNECTOR_USER, PERMIT_SYSTEM_USER)
        }
    else:
        current = load() if FILE.exists() else {"users": []}
        kept = {
            u["name"]: u["password_hash"]
            for u in current.get("users", [])
            if hash_matches(u["password_hash"], DEMO_PASSWORDS.get(u["name"], ""))
        }
        hashes = {
            user: kept.get(user) or password_hash(DEMO_PASSWORDS[user])
            for user in (CONNECTOR_USER, PERMIT_SYSTEM_USER)
        }
    json.dump(
        render(hashes, vhost=args.vhost, delivery_limit=args.delivery_limit), sys.stdout, indent=2
    )
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
