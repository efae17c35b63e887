"""``cites-connector users`` (the OS account is the actor) and the console beside SOAP in
``serve``'s composition: its own port, real HTTP, a port already taken."""

from __future__ import annotations

import json
import socket

import pytest
import requests
from click.testing import CliRunner
from sqlalchemy import select

from cites_connector.adapters.sql.hs_schema import admin_audit
from cites_connector.app import build_application
from cites_connector.app.console_serving import ConsoleFactory, build_console, console_secret_key
from cites_connector.app.settings import load_settings
from cites_connector.cli.actor import os_account
from cites_connector.cli.main import cli
from cites_connector.console.web import create_console_app
from cites_connector.domain.errors import InvalidInput

PASSWORD = "a long enough password"


@pytest.fixture
def run(tmp_path, monkeypatch):
    monkeypatch.setenv("CONNECTOR_HOME_COUNTRY", "NA")
    monkeypatch.setenv("CONNECTOR_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("CONNECTOR_LOGGING__LEVEL", "WARNING")
    runner = CliRunner()

    def invoke(*args: str, stdin: str | None = None):
        return runner.invoke(cli, list(args), input=stdin, catch_exceptions=False)

    assert invoke("migrate").exit_code == 0
    return invoke


def _audit(tmp_path) -> list[tuple[str, str, str]]:
    app = build_application(load_settings(home_country="NA", data_dir=tmp_path / "var"))
    with app.engine.connect() as c:
        rows = [(r.actor, r.action, r.subject) for r in c.execute(select(admin_audit))]
    app.close()
    return rows


def test_users_add_list_roles_passwd_disable_enable(run, tmp_path):
    added = run(
        "users", "add", "amutenya", "--role", "admin", "--password-stdin", stdin=PASSWORD + "\n"
    )
    assert added.exit_code == 0, added.output
    assert (
        run(
            "users",
            "add",
            "kalahari",
            "--role",
            "broker",
            "--code",
            "BRK-0917",
            "--password-stdin",
            stdin=PASSWORD + "\n",
        ).exit_code
        == 0
    )
    assert run("users", "roles", "amutenya", "--role", "admin", "--role", "reviewer").exit_code == 0
    assert (
        run(
            "users", "passwd", "amutenya", "--password-stdin", stdin="another long password\n"
        ).exit_code
        == 0
    )
    assert run("users", "disable", "kalahari").exit_code == 0
    listed = json.loads(run("users", "list", "--json").output)
    assert {u["name"]: u["roles"] for u in listed} == {
        "amutenya": ["admin", "reviewer"],
        "kalahari": ["broker"],
    }
    assert [u["disabled"] for u in listed] == [False, True]
    assert run("users", "enable", "kalahari").exit_code == 0
    actions = [(a, act) for a, act, _ in _audit(tmp_path) if act.startswith("console.")]
    me = os_account()
    assert actions == [
        (me, "console.user.added"),
        (me, "console.user.added"),
        (me, "console.user.roles"),
        (me, "console.user.password"),
        (me, "console.user.disabled"),
        (me, "console.user.enabled"),
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["users", "add", "x", "--role", "admin"], "user name"),
        (["users", "add", "bob", "--role", "root"], "roles are some of"),
        (["users", "add", "bob", "--role", "broker"], "declarant code"),
        (
            ["users", "add", "bob", "--role", "broker", "--role", "admin", "--code", "B1"],
            "broker role only",
        ),
        (["users", "disable", "nobody-here"], "no console user"),
    ],
)
def test_bad_user_commands_exit_2_and_change_nothing(run, tmp_path, args, message):
    result = (
        run(*args, "--password-stdin", stdin=PASSWORD + "\n") if args[1] == "add" else run(*args)
    )
    assert result.exit_code == 2 and message in result.output
    assert not [a for a in _audit(tmp_path) if a[1].startswith("console.")]


def test_a_short_password_is_refused(run):
    result = run("users", "add", "bob", "--role", "viewer", "--password-stdin", stdin="short\n")
    assert result.exit_code == 2 and "12 to 1024 characters" in result.output


def test_users_refuses_a_claimed_user(run):
    result = run("users", "disable", "bob", "--user", "someone-else")
    assert result.exit_code == 2 and "is refused" in result.output


# -- the console in serve's composition --------------------------------------------------------


def test_the_console_is_served_on_its_own_port_over_http(tmp_path):
    settings = load_settings(home_country="NA", data_dir=tmp_path / "var", console_port=0)
    app = build_application(settings)
    server = build_console(app, ConsoleFactory(create_console_app))
    assert server is not None
    server.start()
    try:
        response = requests.get(f"{server.url}/declarations/", timeout=10, allow_redirects=False)
        assert response.status_code == 302 and response.headers["Location"].startswith("/login")
        login = requests.get(f"{server.url}/login", timeout=10)
        assert (
            login.status_code == 200
            and "frame-ancestors 'none'" in login.headers["Content-Security-Policy"]
        )
    finally:
        server.stop(grace=5)
        app.close()
    key_file = tmp_path / "var" / "console.key"
    assert key_file.stat().st_mode & 0o777 == 0o600


def test_a_taken_console_port_leaves_serve_running_without_the_console(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        settings = load_settings(home_country="NA", data_dir=tmp_path / "var", console_port=port)
        app = build_application(settings)
        assert build_console(app, ConsoleFactory(create_console_app)) is None
        app.close()


def test_the_console_can_be_switched_off(tmp_path):
    settings = load_settings(home_country="NA", data_dir=tmp_path / "var", console_enabled=False)
    app = build_application(settings)
    assert build_console(app, ConsoleFactory(create_console_app)) is None
    app.close()


def test_a_bad_key_file_is_a_clear_error(tmp_path):
    bad = tmp_path / "console.key"
    bad.write_text("not hex\n")
    with pytest.raises(InvalidInput, match="does not hold a hex key"):
        console_secret_key(bad)
    bad.write_text("abcd\n")
    with pytest.raises(InvalidInput, match="at least 16"):
        console_secret_key(bad)
