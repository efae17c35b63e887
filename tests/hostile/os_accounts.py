"""Running the real ``cites-connector`` as other operating-system accounts.

The administrative verbs record the OS account that runs them (contract 7, v2), so the tests
of four eyes need two real accounts. The tests run as root (scripts/test.sh, CI); they use the
system accounts every Debian system has, ``daemon`` and ``nobody``, so nothing is added to the
machine, and run the installed console script as each with ``subprocess`` (``user=``). The
ledger is the test's PostgreSQL database (a server: no file permissions to share); the data
directory is a world-readable temporary directory, and each account gets its own copy of the
audit key (mode 0600, owned by it), as an administrator's account would be given read access
to the key on a real server.
"""

from __future__ import annotations

import os
import pwd
import shutil
import stat
import subprocess
import sys
import sysconfig
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pytest

CONSOLE_SCRIPT = Path(sys.executable).parent / "cites-connector"
ACCOUNTS = ("daemon", "nobody")
#: the console script's own code, run by an interpreter the account can execute
ENTRY = (
    "import site, sys; sys.path.insert(0, {project!r}); site.addsitedir({deps!r}); "
    "sys.argv[0] = 'cites-connector'; from cites_connector.cli.main import main; main()"
)


def _reachable_by_others(path: Path) -> bool:
    """Every directory above ``path`` searchable and ``path`` executable by any account."""
    path = path.resolve()
    return all(os.stat(part).st_mode & stat.S_IXOTH for part in (*reversed(path.parents), path))


_staged: list[str] = []


def _stage_installation() -> Path:
    """A copy of the installation that every account may read, made once per session.

    The clone (and its .venv) may sit in a private directory (``mktemp -d`` is mode 0700, as
    in CI), where ``nobody`` cannot read the project's code. So the project is installed
    (built as a wheel, not editable) into a world-readable directory, beside a copy of the
    venv's packages without the editable install's hooks, which point into the clone."""
    root = Path(tempfile.mkdtemp(prefix="cites-os-install-"))
    os.chmod(root, 0o755)
    project = Path(__file__).resolve().parents[2]
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "-q",
            "--no-deps",
            "--disable-pip-version-check",
            "--target",
            str(root / "project"),
            str(project),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    shutil.copytree(
        sysconfig.get_paths()["purelib"],
        root / "deps",
        ignore=shutil.ignore_patterns(
            "__editable__*", "*.egg-link", "cites_connector*", "__pycache__"
        ),
    )
    for directory, _, files in os.walk(root):
        os.chmod(directory, 0o755)
        for name in files:
            os.chmod(os.path.join(directory, name), 0o644)
    _staged.append(str(root))
    return root


def cli_command() -> list[str]:
    """How another account runs the installed ``cites-connector``.

    The venv's console script when its interpreter and the clone are reachable by any account
    (a venv made from /usr/bin/python3 in a public directory). Otherwise the same entry point
    runs under the system interpreter of the same version (``-S``: nothing from the system's
    own packages) on a world-readable copy of the installation (``_stage_installation``).
    """
    project = Path(__file__).resolve().parents[2]
    if _reachable_by_others(Path(sys._base_executable)) and _reachable_by_others(project):
        return [str(CONSOLE_SCRIPT)]
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    system = Path("/usr/bin") / version
    if not system.exists() or not _reachable_by_others(system):
        pytest.skip(f"no {version} that other accounts may run (the venv's is private)")
    root = Path(_staged[0]) if _staged else _stage_installation()
    return [
        str(system),
        "-S",
        "-c",
        ENTRY.format(project=str(root / "project"), deps=str(root / "deps")),
    ]


def require_root_and_accounts() -> None:
    if os.geteuid() != 0:
        if os.environ.get("CI"):
            pytest.fail("the OS-account tests need root (scripts/test.sh runs them as root)")
        pytest.skip("needs root to run commands as other OS accounts")
    for name in ACCOUNTS:
        try:
            pwd.getpwnam(name)
        except KeyError:
            pytest.fail(f"the system account {name!r} is missing")


@dataclass
class Done:
    exit_code: int
    stdout: str
    stderr: str

    @property
    def error_lines(self) -> list[str]:
        return [line for line in self.stderr.splitlines() if line.startswith("error:")]


@dataclass
class Connector:
    """The console script against one database and data directory, as any account."""

    database_url: str
    env: dict[str, str] = field(default_factory=dict)
    home: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="cites-os-")))

    def __post_init__(self) -> None:
        os.chmod(self.home, 0o755)
        (self.home / "var").mkdir(mode=0o755)

    def key_for(self, account: str) -> Path | None:
        """The account's own copy of the audit key migrate made (None before there is one)."""
        made = self.home / "var" / "audit.key"
        if not made.exists():
            return None
        copy = self.home / f"audit-{account}.key"
        if not copy.exists():
            shutil.copyfile(made, copy)
            entry = pwd.getpwnam(account)
            os.chown(copy, entry.pw_uid, entry.pw_gid)
            os.chmod(copy, 0o600)
        return copy

    def run(self, *args: str, account: str = "root", env: dict[str, str] | None = None) -> Done:
        environment = {
            "PATH": "/usr/bin:/bin",
            "HOME": str(self.home),
            "LANG": "C.UTF-8",
            "CONNECTOR_HOME_COUNTRY": "NA",
            "CONNECTOR_DATA_DIR": str(self.home / "var"),
            "CONNECTOR_DATABASE_URL": self.database_url,
            "CONNECTOR_LOGGING__LEVEL": "WARNING",
            **self.env,
            **(env or {}),
        }
        key = self.key_for(account) if account != "root" else None
        if key is not None:
            environment["CONNECTOR_AUDIT_KEY_FILE"] = str(key)
        done = subprocess.run(
            [*cli_command(), *args],
            capture_output=True,
            text=True,
            env=environment,
            cwd=self.home,
            timeout=120,
            user=None if account == "root" else account,
        )
        return Done(done.returncode, done.stdout, done.stderr)

    def close(self) -> None:
        shutil.rmtree(self.home, ignore_errors=True)
