"""Settings an operator can trust (issue 14, item 3): every problem named in one line.

- a value of the wrong form names its environment variable and TOML key and the expected form
  (``describe``), never a pydantic report or a traceback;
- a key the TOML file does not know is refused, naming the nearest known key
  (``check_toml_keys``): a misspelt key would otherwise be ignored and its default used;
- a ``CONNECTOR_*`` variable the connector does not know is reported, not refused
  (``unknown_environment``): platforms inject such names (Kubernetes service links for a
  service called ``connector``: ``CONNECTOR_PORT``, ``CONNECTOR_SERVICE_HOST``, ...);
- a secret may come from a file, ``CONNECTOR_<KEY>_FILE`` (``SecretFiles``), the convention
  of container platforms (Docker and Kubernetes secrets mounted as files).
"""

from __future__ import annotations

import difflib
import os
import re
import tomllib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource

from cites_connector.domain.errors import InvalidInput

PREFIX = "CONNECTOR_"
#: settings that may be read from a file named by CONNECTOR_<KEY>_FILE
SECRET_FIELDS = (
    "soap_users",
    "customs_password",
    "dlq_replay_url",
    "speciesplus_token",
    "amqp_url",
    "database_url",
    "epix_token",
)
#: variables the connector reads that are not settings
OTHER_VARIABLES = (
    "CONNECTOR_CONFIG",
    "CONNECTOR_SOAP_THREADS",
    "CONNECTOR_SIMULATOR_RECORD",
)
#: the test suite's own variables (servers, browsers): CONNECTOR_TEST_*
TEST_PREFIX = "CONNECTOR_TEST_"
#: injected by platforms, never ours: Kubernetes service links of a service "connector"
#: (CONNECTOR_SERVICE_HOST, CONNECTOR_SERVICE_PORT[_<name>], CONNECTOR_PORT[_<n>_TCP[_...]])
PLATFORM = re.compile(
    r"CONNECTOR_(SERVICE_HOST|SERVICE_PORT(_\w+)?|PORT(_\d+_(TCP|UDP|SCTP)(_PROTO|_PORT|_ADDR)?)?)"
)


class InvalidSettings(InvalidInput):
    """A setting missing or of the wrong form, an unknown key, an unreadable secret file:
    exit code 2, one line."""


def _is_model(annotation: object) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def _fields(model: type[BaseModel], key: str = "") -> Iterator[tuple[str, FieldInfo]]:
    for name, field in model.model_fields.items():
        if _is_model(field.annotation):
            yield from _fields(field.annotation, f"{key}{name}.")  # type: ignore[arg-type]
        else:
            yield f"{key}{name}", field


def env_name(key: str) -> str:
    return PREFIX + key.replace(".", "__").upper()


def known_variables(model: type[BaseSettings]) -> set[str]:
    names = {env_name(key) for key, _ in _fields(model)}
    return names | {env_name(f) + "_FILE" for f in SECRET_FIELDS} | set(OTHER_VARIABLES)


def describe(exc: ValidationError, model: type[BaseModel], toml_file: Path | None) -> str:
    """One line naming each bad setting (variable and key) and the form it should have."""
    keys = {key for key, _ in _fields(model)}
    parts = []
    for error in exc.errors(include_url=False, include_input=False):
        loc = [str(p) for p in error["loc"]]
        key = next(
            (".".join(loc[:n]) for n in range(len(loc), 0, -1) if ".".join(loc[:n]) in keys),
            ".".join(loc),
        )
        detail = error["msg"].removeprefix("Value error, ")
        where = f"{env_name(key)} (TOML key {key})" if key else "the settings"
        entry = loc[len(key.split(".")) :] if key in keys else []
        if entry and all(part.replace("_", "").isalnum() for part in entry):
            # an entry of a table setting (severities, hs_roles): name the entry itself
            name = "__".join(entry)
            where = f"{env_name(key)}__{name} (TOML key {key}.{'.'.join(entry)})"
        if key in SECRET_FIELDS and os.environ.get(env_name(key) + "_FILE"):
            where = f"the file of {env_name(key)}_FILE (TOML key {key})"
        if error["type"] == "missing":
            file = f" in {toml_file}" if toml_file else ""
            parts.append(f"{where} is required: set the variable or the key{file}")
        else:
            parts.append(f"{where}: {detail}")
    return "invalid settings: " + "; ".join(parts)


def _unknown_keys(table: Mapping[str, Any], model: type[BaseModel], key: str = "") -> Iterator[str]:
    for name, value in table.items():
        field = model.model_fields.get(name)
        if field is None:
            known = list(model.model_fields)
            near = difflib.get_close_matches(name, known, n=1)
            hint = f" (did you mean {key}{near[0]}?)" if near else ""
            yield f"unknown key {key}{name}{hint}"
        elif _is_model(field.annotation) and isinstance(value, Mapping):
            yield from _unknown_keys(value, field.annotation, f"{key}{name}.")  # type: ignore[arg-type]


def check_toml_keys(path: Path, model: type[BaseModel]) -> None:
    """Refuse a settings file that does not parse or holds a key no setting has."""
    try:
        table = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidSettings(f"cannot read the settings file {path}: {exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise InvalidSettings(f"the settings file {path} is not TOML: {exc}") from exc
    problems = list(_unknown_keys(table, model))
    if problems:
        raise InvalidSettings(f"settings file {path}: " + "; ".join(problems))


def unknown_environment(environ: Mapping[str, str], model: type[BaseSettings]) -> list[str]:
    """A warning for each CONNECTOR_* variable no setting reads (platform names excepted)."""
    known = known_variables(model)
    nested = tuple(env_name(k) + "__" for k, f in _fields(model) if "dict" in str(f.annotation))
    warnings = []
    for name in sorted(environ):
        upper = name.upper()
        if not upper.startswith(PREFIX) or upper in known or upper.startswith(nested):
            continue
        if PLATFORM.fullmatch(upper) or upper.startswith(TEST_PREFIX):
            continue
        near = difflib.get_close_matches(upper, sorted(known), n=1)
        hint = f" (did you mean {near[0]}?)" if near else ""
        warnings.append(f"unknown environment variable {name}, ignored{hint}")
    return warnings


class SecretFiles(PydanticBaseSettingsSource):
    """CONNECTOR_<KEY>_FILE: the secret is the content of that file (one trailing newline
    removed). Setting both the variable and its _FILE is refused: which one wins would be a
    guess."""

    def __init__(self, settings_cls: type[BaseSettings], environ: Mapping[str, str]):
        super().__init__(settings_cls)
        self.environ = {k.upper(): v for k, v in environ.items()}

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False  # every value comes from __call__

    def __call__(self) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for name in SECRET_FIELDS:
            variable = env_name(name) + "_FILE"
            path = self.environ.get(variable)
            if not path:
                continue
            if env_name(name) in self.environ:
                raise InvalidSettings(f"set {env_name(name)} or {variable}, not both")
            try:
                text = Path(path).read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
                raise InvalidSettings(f"{variable}: cannot read {path}: {why}") from exc
            values[name] = text.removesuffix("\n").removesuffix("\r")
        return values
