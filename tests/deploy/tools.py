"""Helpers of the deployment kit's tests (deploy/): the real ``cites-connector`` command and
real Debian tools (nginx, promtool, systemd-analyze, rabbitmq-server, pg_dump).

These tests drive the connector only as a command (a subprocess), never through its Python
modules, so that they keep proving the kit whatever the code looks like inside. A tool that is
missing is installed with apt-get; when that is not possible the test is skipped with the
reason, except under CI (``CI`` set), where it fails: CI must prove the kit.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"


def connector_command() -> str:
    """The ``cites-connector`` console script of the interpreter running the tests."""
    found = Path(sys.executable).parent / "cites-connector"
    if found.exists():
        return str(found)
    which = shutil.which("cites-connector")
    if which is None:
        pytest.fail("the cites-connector command is not installed (scripts/test.sh installs it)")
    return which


def unavailable(reason: str):
    """Skip, or under CI fail: CI must run every deployment test."""
    if os.environ.get("CI"):
        pytest.fail(f"CI must provide this: {reason}")
    pytest.skip(reason)


def debian_tool(command: str, package: str, *, search: tuple[str, ...] = ()) -> str:
    """The path of ``command``, installing the Debian ``package`` when it is missing."""

    def find() -> str | None:
        for candidate in search:
            if Path(candidate).is_file() and os.access(candidate, os.X_OK):
                return candidate
        return shutil.which(command) or next(
            (
                str(p)
                for p in (Path("/usr/sbin") / command, Path("/usr/bin") / command)
                if p.is_file()
            ),
            None,
        )

    path = find()
    if path:
        return path
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        unavailable(
            f"{command} is missing and cannot be installed here (Debian package "
            f"{package}; needs root and apt-get)"
        )
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    install = ["apt-get", "install", "-y", "-qq", "--no-install-recommends", package]
    done = subprocess.run(install, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        subprocess.run(["apt-get", "update", "-qq"], env=env, capture_output=True)
        done = subprocess.run(install, env=env, capture_output=True, text=True)
    path = find()
    if not path:
        unavailable(
            f"installing the Debian package {package} for {command} failed: "
            f"{done.stderr.strip()[-300:]}"
        )
    return path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def connector_env(**overrides: str) -> dict[str, str]:
    """A clean environment for the connector: no CONNECTOR_* of the caller leaks in."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONNECTOR_")}
    env["PATH"] = f"{Path(connector_command()).parent}{os.pathsep}{env.get('PATH', '')}"
    env.update(overrides)
    return env


def run(
    args: list[str], env: dict[str, str] | None = None, *, timeout: float = 120, **kwargs
) -> subprocess.CompletedProcess:
    return subprocess.run(args, env=env, capture_output=True, text=True, timeout=timeout, **kwargs)


def postgres_bin() -> str:
    """The PostgreSQL client programs of the test server's major version."""
    found = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/pg_dump"),
        key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0,
    )
    if not found:
        unavailable("no PostgreSQL client programs under /usr/lib/postgresql/*/bin")
    return str(found[-1].parent)
