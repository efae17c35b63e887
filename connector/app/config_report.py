"""``cites-connector config check``: the effective settings, secrets masked, and a verdict on
each dependency (issue 14, item 3).

What an operator needs before ``serve``: which values are in force (whatever file or variable
they came from), and whether the database (reachable, migrated), the broker (reachable, the
connector's user accepted) and the customs endpoint (answers HTTP) are usable. A verdict is
``ok``, ``FAIL`` (unreachable: exit 3), ``BAD`` (the setting itself is wrong: exit 2) or
``skip`` (not configured). The SOAP users and the audit key file, which ``serve`` refuses to
start without, are checked the same way. Probes use short timeouts and write nothing.
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from pydantic import BaseModel, SecretStr

from cites_connector.app.settings import Settings
from cites_connector.app.settings_checks import SECRET_FIELDS
from cites_connector.domain.errors import ConnectorError, InvalidInput, innermost_reason

MASK = "***"
PROBE_TIMEOUT = 5.0


@dataclass(frozen=True)
class Verdict:
    name: str
    status: str  # ok, FAIL, BAD, skip
    detail: str


#: a comma that starts another URL (the node list of CONNECTOR_AMQP_URL)
_NEXT_URL = re.compile(r"\s*,\s*(?=[a-z][a-z0-9+.-]*://)")


def mask_url(url: str) -> str:
    """The URL with its password replaced (database, AMQP, HTTP alike); each URL of a
    comma-separated node list."""
    urls = _NEXT_URL.split(url.strip())
    if len(urls) > 1:
        return ",".join(mask_url(one) for one in urls)
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{parts.username or ''}:{MASK}@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def mask_users(spec: str) -> str:
    """CONNECTOR_SOAP_USERS with every password replaced: user:***[:roles][@offices]."""
    entries = []
    for entry in spec.split(","):
        name, sep, rest = entry.strip().partition(":")
        if not sep:
            entries.append(name)
            continue
        tail = ""
        for mark in (":", "@"):
            if mark in rest:
                tail = rest[rest.index(mark) :]
                break
        entries.append(f"{name}:{MASK}{tail}")
    return ",".join(entries)


def _shown(name: str, value: object) -> object:
    if isinstance(value, SecretStr):
        value = value.get_secret_value()
        if name == "soap_users":
            return mask_users(value)
        return mask_url(value) if "://" in value else MASK
    if name in SECRET_FIELDS and isinstance(value, str):
        return mask_url(value)
    return value


def _toml(value: object) -> str:
    if isinstance(value, tuple):
        value = list(value)
    if isinstance(value, dict):
        inner = ", ".join(f"{getattr(k, 'value', k)} = {_toml(v)}" for k, v in value.items())
        return "{ " + inner + " }" if inner else "{}"
    return json.dumps(value, default=str, ensure_ascii=False)


def effective_lines(settings: Settings) -> Iterator[str]:
    """``key = value`` for every setting in force, nested sections as TOML tables."""
    nested: list[tuple[str, BaseModel]] = []
    for name in Settings.model_fields:
        value = getattr(settings, name)
        if isinstance(value, BaseModel):
            nested.append((name, value))
        elif value is not None:
            yield f"{name} = {_toml(_shown(name, value))}"
        else:
            yield f"# {name} not set"
    yield f"# database in use: {mask_url(settings.effective_database_url)}"
    for name, model in nested:
        yield f"[{name}]"
        for key in type(model).model_fields:
            yield f"{key} = {_toml(getattr(model, key))}"


def _guard(name: str, probe: Callable[[], str]) -> Verdict:
    try:
        return Verdict(name, "ok", probe())
    except InvalidInput as exc:
        return Verdict(name, "BAD", exc.message)
    except ConnectorError as exc:
        return Verdict(name, "FAIL", exc.message)


def check_database(settings: Settings) -> Verdict:
    from cites_connector.adapters.sql.engine import make_engine
    from cites_connector.adapters.sql.migrate import current, schema_problem

    url = settings.effective_database_url
    if url.startswith("postgresql") and "connect_timeout" not in url:
        url += ("&" if "?" in url else "?") + f"connect_timeout={int(PROBE_TIMEOUT)}"

    def probe() -> str:
        from cites_connector.domain.errors import Unavailable

        engine = make_engine(url)
        try:
            problem = schema_problem(engine)
            if problem is not None:
                raise Unavailable(problem)
            return f"{mask_url(settings.effective_database_url)} at revision {current(engine)}"
        finally:
            engine.dispose()

    return _guard("database", probe)


def check_broker(settings: Settings) -> Verdict:
    import pika
    from pika.exceptions import AMQPError

    from cites_connector.domain.errors import Unavailable

    def probe_one(url: str) -> str:
        parameters = pika.URLParameters(url)
        parameters.socket_timeout = PROBE_TIMEOUT
        parameters.blocked_connection_timeout = PROBE_TIMEOUT
        parameters.connection_attempts = 1
        shown = mask_url(url)
        quiet = logging.getLogger("pika")
        level = quiet.level
        quiet.setLevel(logging.CRITICAL)  # pika logs the failure with a traceback itself
        try:
            connection = pika.BlockingConnection(parameters)
        except (AMQPError, OSError) as exc:
            raise Unavailable(f"{shown}: not reachable: {innermost_reason(exc)}") from exc
        finally:
            quiet.setLevel(level)
        connection.close()
        return f"{shown}: connected"

    def probe() -> str:
        from cites_connector.adapters.amqp.connection import node_urls

        nodes = node_urls(settings.amqp_url)
        if len(nodes) == 1:
            return probe_one(nodes[0])
        # a cluster: usable while one node answers; the others are named, not fatal
        said, reached = [], 0
        for node in nodes:
            try:
                said.append(probe_one(node))
                reached += 1
            except Unavailable as exc:
                said.append(str(exc))
        if not reached:
            raise Unavailable("no node reachable: " + "; ".join(said))
        return f"{reached} of {len(nodes)} nodes: " + "; ".join(said)

    return _guard("broker", probe)


def check_customs(settings: Settings) -> Verdict:
    import requests

    from cites_connector.adapters.customs.callback_client import check_endpoint
    from cites_connector.domain.errors import Unavailable

    if not settings.customs_url:
        return Verdict("customs", "skip", "customs_url not set: control results wait in the outbox")
    url = settings.customs_url

    def probe() -> str:
        check_endpoint(url, allow_http=settings.customs_allow_http)
        try:
            answer = requests.get(url, timeout=PROBE_TIMEOUT, allow_redirects=False)
        except requests.RequestException as exc:
            raise Unavailable(f"{mask_url(url)}: not reachable: {innermost_reason(exc)}") from exc
        return f"{mask_url(url)}: answers (HTTP {answer.status_code} to GET)"

    return _guard("customs", probe)


def check_soap(settings: Settings) -> Verdict:
    """What ``serve`` would refuse (exit 2): SOAP users that do not parse, or none while
    authentication is on."""
    from cites_connector.adapters.soap.users import parse_users

    if settings.soap_auth == "off":
        return Verdict("soap", "ok", "authentication off: for local demos only")
    try:
        users = parse_users(settings.soap_users.get_secret_value() if settings.soap_users else None)
    except ValueError as exc:
        return Verdict("soap", "BAD", str(exc))
    if not users:
        return Verdict("soap", "BAD", "authentication is on but CONNECTOR_SOAP_USERS names no user")
    return Verdict("soap", "ok", f"{len(users)} user(s): {', '.join(sorted(users))}")


def check_audit_key(settings: Settings) -> Verdict:
    """``serve`` refuses to start without the audit key file (exit 2); ``migrate`` makes it
    for a new database."""
    path = settings.effective_audit_key_file
    if path.is_file() and os.access(path, os.R_OK):
        return Verdict("audit key", "ok", f"{path} readable")
    return Verdict(
        "audit key",
        "BAD",
        f"no readable audit key file {path}: `cites-connector migrate` makes one for a new "
        "database; otherwise set CONNECTOR_AUDIT_KEY_FILE to the database's key",
    )


def check_dependencies(settings: Settings) -> list[Verdict]:
    return [
        check_soap(settings),
        check_audit_key(settings),
        check_database(settings),
        check_broker(settings),
        check_customs(settings),
        *_epix_check(settings),
    ]


def _epix_check(settings: Settings) -> list[Verdict]:
    from cites_connector.app.config_epix import check_epix  # imports this module

    return [check_epix(settings)]
