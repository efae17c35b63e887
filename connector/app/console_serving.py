"""The console beside SOAP in ``serve``: its Flask app, its session key, its own server.

The console listens on CONNECTOR_CONSOLE_HOST:PORT (loopback, 8089 by default), served by the
same waitress server class as SOAP (graceful stop, header deadline). Its session cookies are
signed with the key in ``console_secret_key_file`` (default ``console.key`` in the data
directory), made on first use with mode 0600: every process serving the console on one
database needs the same file, or a user's session works on one process only.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from pathlib import Path

import structlog
from flask import Flask

from cites_connector.adapters.soap.waitress_server import SoapServer
from cites_connector.app.application import Application
from cites_connector.app.console_backend import ConsoleBackend, build_console_backend
from cites_connector.app.settings import Settings
from cites_connector.domain.errors import InvalidInput

log = structlog.get_logger("connector.serve")

KEY_BYTES = 32


class ConsoleFactory:
    """How the console's Flask app is made from its backend (``create_console_app``): handed
    in by the CLI, since the composition root does not import the console above it."""

    def __init__(self, create: Callable[..., Flask]):
        self.create = create


def console_secret_key(path: Path) -> bytes:
    """The key in ``path``, made (32 random bytes, hex, mode 0600) when there is none."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another process made it first: read theirs
        else:
            with os.fdopen(fd, "w", encoding="ascii") as out:
                out.write(secrets.token_hex(KEY_BYTES) + "\n")
    text = path.read_text(encoding="ascii").strip()
    try:
        key = bytes.fromhex(text)
    except ValueError as exc:
        raise InvalidInput(f"{path} does not hold a hex key (console_secret_key_file)") from exc
    if len(key) < 16:
        raise InvalidInput(f"{path} holds a key of {len(key)} bytes; at least 16 are needed")
    return key


def build_console_app(app: Application, factory: ConsoleFactory) -> Flask:
    settings = app.settings
    backend: ConsoleBackend = build_console_backend(app)
    return factory.create(
        backend,
        secret_key=console_secret_key(settings.effective_console_secret_key_file),
        secure_cookies=settings.console_cookies_secure,
        session_minutes=settings.console_session_minutes,
    )


def build_console_server(
    settings: Settings, wsgi: Flask, *, host: str | None = None, port: int | None = None
) -> SoapServer:
    """Waitress on CONNECTOR_CONSOLE_HOST:PORT (``port=0``: a free one, for tests)."""
    return SoapServer(
        wsgi,
        host=settings.console_host if host is None else host,
        port=settings.console_port if port is None else port,
        threads=settings.console_threads,
        max_body_bytes=5 * 1024 * 1024,
        connection_limit=200,
        header_timeout=settings.soap_header_timeout_seconds,
        idle_timeout=settings.soap_idle_timeout_seconds,
        trusted_proxy=settings.console_trusted_proxy,
    )


def build_console(app: Application, factory: ConsoleFactory | None) -> SoapServer | None:
    """The console on its own port. It is not what customs depends on: when its address
    cannot be listened on, ``serve`` logs the error and runs SOAP and the workers without it
    (a bad key file stops ``serve``, as any bad setting does)."""
    settings = app.settings
    if factory is None or not settings.console_enabled:
        return None
    wsgi = build_console_app(app, factory)
    try:
        return build_console_server(settings, wsgi)
    except OSError as exc:
        log.error(
            "console.listen_failed",
            address=f"{settings.console_host}:{settings.console_port}",
            error=str(exc),
        )
        return None
