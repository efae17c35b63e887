"""Running ``cites-connector serve`` the way deploy/systemd/cites-connector.service runs it: its
ExecStart command line (the installed path swapped for the test's own command), its
CONNECTOR_CONFIG, the environment file's variables, and SIGTERM to stop."""

from __future__ import annotations

import configparser
import contextlib
import json
import shlex
import signal
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from tests.deploy.tools import DEPLOY, connector_command

UNIT = DEPLOY / "systemd" / "cites-connector.service"
INSTALLED = "/opt/cites-connector/venv/bin/cites-connector"
SYSTEM_CONFIG = "/etc/cites-connector/connector.toml"


def unit_section(path: Path, section: str = "Service") -> dict[str, list[str]]:
    """A unit file's section: every key with all its values (systemd allows repeats)."""
    parser = configparser.ConfigParser(
        strict=False, interpolation=None, dict_type=_MultiDict, empty_lines_in_values=False
    )
    parser.optionxform = str  # systemd keys are case-sensitive
    parser.read_string(path.read_text())
    return {key: value.split("\n") for key, value in parser[section].items()}


class _MultiDict(dict):
    """Keeps every value of a key given several times, joined by newlines."""

    def __setitem__(self, key, value):
        if key in self and isinstance(value, list) and isinstance(self[key], list):
            self[key].extend(value)
        else:
            super().__setitem__(key, value)


def serve_argv() -> list[str]:
    """The unit's ExecStart, with the test's cites-connector for the installed one."""
    exec_start = unit_section(UNIT)["ExecStart"]
    assert len(exec_start) == 1, exec_start
    argv = shlex.split(exec_start[0])
    assert argv[0] == INSTALLED, argv
    return [connector_command(), *argv[1:]]


def unit_config_path() -> str:
    values = [v for v in unit_section(UNIT)["Environment"] if v.startswith("CONNECTOR_CONFIG=")]
    assert values == [f"CONNECTOR_CONFIG={SYSTEM_CONFIG}"], values
    return SYSTEM_CONFIG


def env_file_values(path: Path) -> dict[str, str]:
    """The variables of an environment file, read by bash as the backup scripts read it."""
    done = subprocess.run(
        ["bash", "-c", 'set -a; . "$1"; env -0', "_", str(path)],
        env={"PATH": "/usr/bin:/bin"},
        capture_output=True,
        check=True,
    )
    pairs = (item.split("=", 1) for item in done.stdout.decode().split("\0") if "=" in item)
    baseline = {"PWD", "SHLVL", "_", "PATH", "OLDPWD"}
    return {k: v for k, v in pairs if k not in baseline}


def http_get(url: str, timeout: float = 5.0) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as reply:
            return reply.status, reply.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


@contextlib.contextmanager
def serving(
    env: dict[str, str], log: Path, port: int, *, ready_within: float = 60
) -> Iterator[subprocess.Popen]:
    """Start serve, wait until /healthz answers 200, stop it with SIGTERM, and check that it
    stopped cleanly (exit 0, ``serve.stopped`` logged), as systemd's stop would."""
    with log.open("wb") as out:
        process = subprocess.Popen(serve_argv(), env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + ready_within
        status, body = 0, b""
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise AssertionError(f"serve exited {process.returncode}:\n{log.read_text()}")
            try:
                status, body = http_get(f"http://127.0.0.1:{port}/healthz", timeout=5)
            except OSError:
                status = 0
            if status == 200:
                break
            time.sleep(0.3)
        else:
            raise AssertionError(
                f"serve not healthy within {ready_within} s (last {status} "
                f"{body[:300]!r}):\n{log.read_text()[-3000:]}"
            )
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=75)  # the unit's TimeoutStopSec
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
                raise AssertionError(
                    "serve did not stop within TimeoutStopSec after SIGTERM"
                ) from None
    assert process.returncode == 0, f"serve exited {process.returncode}:\n{log.read_text()}"
    assert "serve.stopped" in {e.get("event") for e in log_events(log)}


def log_events(log: Path) -> list[dict]:
    events = []
    for line in log.read_text().splitlines():
        try:
            events.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return events
