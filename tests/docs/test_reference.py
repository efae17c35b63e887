"""The integrator's reference (docs/reference/) stays true to the code, and the repository
documents itself: no link or text points outside it.

Names are found by walking the objects the code defines (the click group, the Settings model,
the ReasonCode enum, the error classes, the AMQP topology), not by listing them here, so that a
new reason code, setting, command or fault fails this test until it is documented. The imports
are few and at the top: when a module moves, only they change.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
import subprocess
from pathlib import Path

import click
import pytest
from pydantic import BaseModel

from cites_connector.adapters import amqp as amqp_package
from cites_connector.adapters import soap as soap_package
from cites_connector.adapters.amqp import topology
from cites_connector.app.settings import Settings
from cites_connector.cli import main as cli_main
from cites_connector.domain import errors
from cites_connector.domain.decisions import ReasonCode

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = ROOT / "docs" / "reference"
#: the packages whose module-level string constants may hold dead-letter reasons
DEAD_LETTER_SOURCES = (
    "cites_connector.adapters.amqp",
    "cites_connector.services",
    "cites_connector.mappings",
)
#: the x-rejection-reason codes of interface version 2 and the connector's own
DEAD_LETTER_REASONS = (
    "UNTRUSTED_PUBLISHER",
    "PERMIT_CANCELLED_FINAL",
    "IMPLAUSIBLE_VERSION",
    "MESSAGE_ID_CONFLICT",
    "PROCESSING_FAILED",
    "PROCESSING_INTERRUPTED",
    "SIGNATURE_INVALID",
    "SIGNATURE_MISSING",
)
#: text that would point outside the repository (the external contract, the domain primer);
#: spelt in two parts so that this file does not hold them itself
FORBIDDEN = (".." + "/shared", "INTERFACES" + ".md", "CITES-" + "PRIMER")


def page(name: str) -> str:
    return (REFERENCE / name).read_text(encoding="utf-8")


def code_spans(text: str) -> set[str]:
    """Every `code span` of a Markdown text, and each word of it."""
    spans = set(re.findall(r"`([^`\n]+)`", text))
    return spans | {word for span in spans for word in re.split(r"[\s\[\]|=,()]+", span) if word}


# -- reason codes, settings, CLI, faults, AMQP ----------------------------------------------------


def test_every_reason_code_is_in_the_decision_rules():
    documented = code_spans(page("decision-rules.md"))
    missing = [code.value for code in ReasonCode if code.value not in documented]
    assert not missing, f"reason codes missing from docs/reference/decision-rules.md: {missing}"


def _settings_fields(model: type[BaseModel], key: str = "", env: str = "CONNECTOR_"):
    """(TOML key, environment variable) of every field, nested models walked."""
    for name, field in model.model_fields.items():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            yield from _settings_fields(annotation, f"{key}{name}.", f"{env}{name.upper()}__")
        else:
            yield f"{key}{name}", f"{env}{name.upper()}"


def test_every_setting_and_its_environment_variable_is_in_settings_md():
    documented = code_spans(page("settings.md"))
    fields = list(_settings_fields(Settings))
    assert len(fields) > 30, "the Settings model was not walked"
    missing = [name for pair in fields for name in pair if name not in documented]
    assert not missing, f"settings missing from docs/reference/settings.md: {missing}"


def _click_group() -> click.Group:
    groups = [v for v in vars(cli_main).values() if isinstance(v, click.Group)]
    assert len(groups) == 1, f"expected one click group in {cli_main.__name__}, found {groups}"
    return groups[0]


def _commands(command: click.Command, path: tuple[str, ...] = ()):
    yield path, command
    if isinstance(command, click.Group):
        for name, sub in command.commands.items():
            yield from _commands(sub, (*path, name))


def test_every_command_and_option_is_in_cli_md():
    text = page("cli.md")
    documented = code_spans(text)
    missing = []
    commands = list(_commands(_click_group()))
    assert len(commands) > 30, "the click group was not walked"
    for path, command in commands:
        words = " ".join(path)
        if path and not any(span.startswith(words) for span in re.findall(r"`([^`\n]+)`", text)):
            missing.append(words)
        for param in command.params:
            if isinstance(param, click.Option):
                missing += [f"{words} {opt}" for opt in param.opts if opt not in documented]
    assert not missing, f"commands or options missing from docs/reference/cli.md: {missing}"


def test_every_exit_code_is_in_cli_md():
    text = page("cli.md")
    for code in (0, 1, 2, 3):
        assert f"| `{code}` |" in text


def _fault_codes() -> set[str]:
    """``fault_code`` of every error the SOAP service can answer with: the domain's errors and
    those of every module of the SOAP adapter."""
    sources = {errors.__name__}
    for module in pkgutil.walk_packages(soap_package.__path__, f"{soap_package.__name__}."):
        importlib.import_module(module.name)
        sources.add(module.name)
    codes, pending = set(), [errors.ConnectorError]
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        if cls.__module__ in sources:
            codes.add(cls.fault_code)
    return codes


def test_every_fault_code_is_in_soap_md():
    codes = _fault_codes()
    assert {"Client.Authentication", "Client.Forbidden", "Client.UnsupportedMedia"} <= codes
    faults = page("soap.md").split("## Faults", 1)[1]
    documented = code_spans(faults)
    missing = sorted(code for code in codes if code not in documented)
    assert not missing, f"fault codes missing from docs/reference/soap.md, Faults: {missing}"


def test_every_exchange_queue_and_routing_key_of_the_topology_is_in_amqp_md():
    documented = code_spans(page("amqp.md"))
    names = {e.name for e in topology.EXCHANGES} | {q.name for q in topology.queues()}
    names |= {b.routing_key for b in topology.BINDINGS}
    names |= {
        value for name, value in vars(topology).items() if name.isupper() and isinstance(value, str)
    }
    missing = sorted(name for name in names if name not in documented)
    assert not missing, f"AMQP names missing from docs/reference/amqp.md: {missing}"


def _string_constants(package_names: tuple[str, ...]) -> set[str]:
    values = set()
    for package_name in package_names:
        package = importlib.import_module(package_name)
        for module in pkgutil.walk_packages(package.__path__, f"{package_name}."):
            loaded = importlib.import_module(module.name)
            values |= {v for k, v in vars(loaded).items() if k.isupper() and isinstance(v, str)}
    return values


def test_every_dead_letter_reason_is_defined_and_in_amqp_md():
    assert amqp_package.__name__ in DEAD_LETTER_SOURCES
    defined = _string_constants(DEAD_LETTER_SOURCES)
    undefined = [r for r in DEAD_LETTER_REASONS if r not in defined]
    assert not undefined, f"dead-letter reasons no longer defined in the code: {undefined}"
    section = page("amqp.md").split("## Dead letters", 1)[1]
    missing = [r for r in DEAD_LETTER_REASONS if f"| `{r}` |" not in section]
    assert not missing, f"dead-letter reasons missing from docs/reference/amqp.md: {missing}"


def test_the_reference_names_interface_version_2():
    assert "interface version 2" in page("README.md")
    for name in (
        "soap.md",
        "sad-mapping.md",
        "amqp.md",
        "customs-callback.md",
        "decision-rules.md",
        "settings.md",
        "cli.md",
    ):
        assert f"]({name})" in page("README.md"), f"{name} is not linked from the index"


# -- links and pointers ---------------------------------------------------------------------------


def _slug(heading: str) -> str:
    """GitHub's anchor of a Markdown heading."""
    text = re.sub(r"[`*_]", "", heading.strip().lower())
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def _anchors(path: Path) -> set[str]:
    text = path.read_text(encoding="utf-8")
    text = re.sub(r"```.*?```", "", text, flags=re.DOTALL)
    return {_slug(m) for m in re.findall(r"^#{1,6}\s+(.+?)\s*$", text, flags=re.MULTILINE)}


def _markdown_files() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)")


@pytest.mark.parametrize("path", _markdown_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_resolve(path: Path):
    text = re.sub(r"```.*?```", "", path.read_text(encoding="utf-8"), flags=re.DOTALL)
    broken = []
    for target in LINK.findall(text):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target):
            continue  # http:, https:, mailto:
        file_part, _, anchor = target.partition("#")
        resolved = (path.parent / file_part).resolve() if file_part else path
        if not resolved.exists():
            broken.append(f"{target}: no such file")
        elif ROOT not in resolved.parents and resolved != ROOT:
            broken.append(f"{target}: outside the repository")
        elif anchor and resolved.suffix == ".md" and anchor not in _anchors(resolved):
            broken.append(f"{target}: no heading with anchor #{anchor}")
    assert not broken, f"broken links in {path.relative_to(ROOT)}: {broken}"


def _tracked_files() -> list[str]:
    listed = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True
    ).stdout.decode()
    return [name for name in listed.split("\0") if name and not name.startswith("tests/fixtures/")]


def _pointers(name: str) -> list[str]:
    path = ROOT / name
    if not path.is_file():
        return []
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        return []
    return [f"{name}: {word}" for word in FORBIDDEN if word in text]


def test_no_file_points_outside_the_repository():
    found = [hit for name in _tracked_files() for hit in _pointers(name)]
    assert not found, f"files pointing outside the repository: {found}"
