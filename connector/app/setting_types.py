"""Types of the settings whose form is checked when they are read (issue 14, item 3).

A URL the connector cannot use is refused at start, naming its setting and the expected form,
rather than failing later inside a driver with a traceback: the database URL is parsed the
way SQLAlchemy will parse it (``make_url``), an AMQP URL the way pika will
(``URLParameters``), an HTTP endpoint must be http or https with a host. The messages never
repeat the value itself, which may carry a password.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlsplit, urlunsplit

import pycountry
from pydantic import AfterValidator, BeforeValidator, SecretStr


def _country(value: str) -> str:
    if (
        len(value) != 2
        or not value.isalpha()
        or not value.isupper()
        or pycountry.countries.get(alpha_2=value) is None
    ):
        raise ValueError(
            f"{value[:20]!r} is not an ISO 3166-1 alpha-2 country code (expected e.g. NA)"
        )
    return value


def _upper(value: object) -> object:
    return value.strip().upper() if isinstance(value, str) else value


def _database_url(value: str | None) -> str | None:
    if value is None:
        return None
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        url = make_url(value)
    except (ArgumentError, ValueError) as exc:
        raise ValueError(
            "not a SQLAlchemy database URL (expected e.g. "
            "postgresql+psycopg://user:password@host:5432/db or sqlite:////path/ledger.sqlite3)"
        ) from exc
    if url.get_backend_name() not in ("postgresql", "sqlite"):
        raise ValueError(
            f"unsupported database {url.get_backend_name()!r} (expected postgresql or sqlite)"
        )
    return value


def _amqp_url(value: str) -> str:
    """One AMQP URL, or the comma-separated URLs of a cluster's nodes, each checked."""
    from cites_connector.adapters.amqp.connection import node_urls

    nodes = node_urls(value)
    if not nodes:
        raise ValueError("not an AMQP URL (expected amqp://user:password@host:5672/vhost)")
    for number, node in enumerate(nodes, 1):
        try:
            _one_amqp_url(node)
        except ValueError as exc:
            if len(nodes) == 1:
                raise
            raise ValueError(f"node URL {number} of {len(nodes)}: {exc}") from exc
    return value


def _one_amqp_url(value: str) -> str:
    import pika

    if urlsplit(value).scheme not in ("amqp", "amqps"):
        raise ValueError("not an AMQP URL (expected amqp://user:password@host:5672/vhost)")
    parts = urlsplit(value)
    netloc = parts.netloc
    if parts.username and parts.password is None:
        # a user without a password is a form the deployment example uses (the password comes
        # with CONNECTOR_AMQP_URL from the environment); pika itself cannot parse it, so the
        # rest of the URL is checked with a stand-in password
        netloc = netloc.replace(f"{parts.username}@", f"{parts.username}:x@", 1)
    # ssl_options name certificate files that pika opens while parsing; they belong to the
    # host that connects (checked then, and by `config check`), not to every verb's settings
    query = "&".join(q for q in parts.query.split("&") if q and not q.startswith("ssl_options="))
    value_checked = urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))
    try:
        pika.URLParameters(value_checked)
    except (ValueError, TypeError, IndexError, AttributeError) as exc:
        reason = str(exc).splitlines()[0][:100] if str(exc) else type(exc).__name__
        raise ValueError(
            f"not an AMQP URL pika can use ({reason}; expected "
            "amqp://user:password@host:5672/vhost)"
        ) from exc
    return value


def _secret_amqp_url(value: SecretStr | None) -> SecretStr | None:
    if value is not None:
        _amqp_url(value.get_secret_value())
    return value


def _optional_http_url(value: str | None) -> str | None:
    return None if value is None else _http_url(value)


def _http_url(value: str) -> str:
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError on a port that is not a number
    except ValueError as exc:
        raise ValueError("not a URL (expected https://host[:port]/path)") from exc
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("not an http or https URL with a host (expected https://host/path)")
    return value


#: ISO 3166-1 alpha-2, an assigned code (pycountry's list), upper-cased first
CountryCode = Annotated[str, BeforeValidator(_upper), AfterValidator(_country)]
DatabaseUrl = Annotated[str | None, AfterValidator(_database_url)]
AmqpUrl = Annotated[str, AfterValidator(_amqp_url)]
SecretAmqpUrl = Annotated[SecretStr | None, AfterValidator(_secret_amqp_url)]
HttpUrl = Annotated[str, AfterValidator(_http_url)]
OptionalHttpUrl = Annotated[str | None, AfterValidator(_optional_http_url)]
