"""The console on a real SQLite ledger, driven through Flask's test client.

``Console`` builds the application as ``serve`` does (settings, ``build_application``,
``build_console_backend``, ``create_console_app``), migrates the database, loads the sample
permits and makes one account per role. Forms are posted with the CSRF token the page gave,
as a browser would; ``post(..., csrf=False)`` leaves it out.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from flask import Flask
from flask.testing import FlaskClient

from cites_connector.adapters.sql.migrate import upgrade
from cites_connector.app import Application, build_application
from cites_connector.app.console_backend import ConsoleBackend, build_console_backend
from cites_connector.app.settings import load_settings
from cites_connector.console.web import create_console_app
from cites_connector.mappings.permit_json import parse_permit_list

ROOT = Path(__file__).resolve().parents[2]
SAMPLE_PERMITS = (ROOT / "examples" / "permits-namibia.json").read_bytes()
SAD = ROOT / "tests" / "fixtures" / "sad"

#: the paper permit form as an officer fills it (the 40 captive-bred royal pythons of SAD 1)
PAPER_PERMIT = {
    "permit_number": "26NA000999",
    "issuing_country": "NA",
    "security_stamp": "0099999",
    "purpose": "T",
    "exporter_name": "Okavango Reptile Exports CC",
    "exporter_country": "NA",
    "exporter_id": "NA-EXP-0042",
    "importer_name": "Terrarium Handel GmbH",
    "importer_country": "DE",
    "line0_line": "A",
    "line0_taxon": "Python regius",
    "line0_quantity": "40",
    "line0_appendix": "II",
    "line0_source": "C",
    "line0_term": "LIV",
    "line0_origin": "NA",
}
START = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)
PASSWORD = "correct horse battery"
#: one account per role (two reviewers and two officers for four eyes), brokers by code
ACCOUNTS = {
    "ada": (["admin"], []),
    "rita": (["reviewer"], []),
    "rob": (["reviewer"], []),
    "otto": (["officer"], []),
    "olga": (["officer"], []),
    "vic": (["viewer"], []),
    "bert": (["broker"], ["BRK-0917"]),
    "bea": (["broker"], ["BRK-0001"]),
}
CSRF = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')


class Clock:
    """Settable: tests move time forward (lockouts, waiting times)."""

    def __init__(self, now: datetime = START):
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> None:
        self.now += timedelta(**kwargs)


@dataclass
class Console:
    app: Application
    backend: ConsoleBackend
    web: Flask
    clock: Clock
    clients: dict[str, FlaskClient] = field(default_factory=dict)

    def client(self, name: str | None = None) -> FlaskClient:
        """A browser of its own, logged in as ``name`` (None: not logged in)."""
        if name is None:
            return self.web.test_client()
        if name not in self.clients:
            client = self.web.test_client()
            response = self.login(client, name)
            assert response.status_code == 302, response.get_data(as_text=True)
            self.clients[name] = client
        return self.clients[name]

    def login(self, client: FlaskClient, name: str, password: str = PASSWORD):
        token = csrf_of(client.get("/login").get_data(as_text=True))
        return client.post(
            "/login", data={"username": name, "password": password, "csrf_token": token}
        )

    def clear(
        self,
        sad: str,
        declaration_id: str,
        version: int = 1,
        actor: str = "customs",
        replace: dict[str, str] | None = None,
    ):
        """Decide a fixture SAD as CheckDeclaration does; ``replace``: text to change in it
        first (another permit number, another declarant code)."""
        text = (SAD / sad).read_text(encoding="utf-8")
        for old, new in (replace or {}).items():
            text = text.replace(old, new)
        declaration = self.app.map_sad(text.encode())
        return self.app.clearance.clear(declaration_id, version, declaration, actor=actor)


def csrf_of(html: str) -> str:
    found = CSRF.search(html)
    assert found, "the page has no CSRF token"
    return found.group(1)


def post(
    client: FlaskClient,
    url: str,
    data: dict | None = None,
    *,
    page: str | None = None,
    csrf: bool = True,
):
    """POST a form as a browser would: with the token of the page it was on (``page``,
    default the URL itself, else the start page)."""
    form = dict(data or {})
    if csrf:
        source = client.get(page or url)
        html = source.get_data(as_text=True)
        if not CSRF.search(html):
            html = client.get("/declarations/").get_data(as_text=True)
        form["csrf_token"] = csrf_of(html)
    return client.post(url, data=form)


#: argon2 with small costs: the tests make many accounts and logins (the parameters are the
#: only difference; production keeps argon2-cffi's defaults)
FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


def make_console(tmp_path: Path, *, template: Path | None = None, **overrides) -> Console:
    """A migrated ledger with the sample permits and the accounts; ``template``: a data
    directory made so before, copied (migrating takes most of a second)."""
    clock = Clock()
    data_dir = tmp_path / "var"
    if template is not None:
        shutil.copytree(template, data_dir)
    settings = load_settings(home_country="NA", data_dir=data_dir, **overrides)
    app = build_application(settings, clock=clock)
    backend = build_console_backend(app)
    backend.accounts.hasher = FAST_HASHER
    if template is None:
        upgrade(app.engine)
        for permit in parse_permit_list(SAMPLE_PERMITS):
            app.permits.apply(permit)
        for name, (roles, codes) in ACCOUNTS.items():
            backend.accounts.add("root", name, PASSWORD, roles, codes)
    web = create_console_app(backend, secret_key=b"k" * 32)
    return Console(app, backend, web, clock)


@pytest.fixture(scope="session")
def console_template(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("console-template")
    made = make_console(root)
    made.app.close()
    return root / "var"


@pytest.fixture
def console(tmp_path, console_template) -> Iterator[Console]:
    made = make_console(tmp_path, template=console_template)
    yield made
    made.app.close()
