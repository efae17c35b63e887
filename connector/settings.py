"""Settings: defaults in config/connector.toml, overridden by CONNECTOR_* environment variables.

The names of contract section 9 are fixed. Secrets are SecretStr without defaults; nothing
is read at import time: ``load_settings`` is called by the bootstrap or by a test.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, Field, SecretStr, field_validator
from pydantic_settings import (
    BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict, TomlConfigSettingsSource,
)

from connector.domain.decisions import ReasonCode, Severity

DEFAULT_CONFIG = Path(__file__).resolve().parent.parent / "config" / "connector.toml"


class LoggingSettings(BaseModel):
    level: str = "INFO"
    format: Literal["json", "console"] = "json"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CONNECTOR_", env_nested_delimiter="__",
                                      extra="ignore")

    home_country: str = Field(pattern=r"^[A-Z]{2}$")
    data_dir: Path = Path("./var")
    database_url: str | None = None
    amqp_url: str = "amqp://guest:guest@127.0.0.1:5672/%2F"
    soap_host: str = "127.0.0.1"
    soap_port: int = 8088
    soap_users: SecretStr | None = None
    soap_auth: Literal["on", "off"] = "on"
    soap_public_url: str | None = None
    customs_url: str | None = None
    customs_user: str | None = None
    customs_password: SecretStr | None = None
    lookup_timeout: float = 5.0
    max_request_bytes: int = 5 * 1024 * 1024
    sad_mapping_file: Path | None = None
    speciesplus_url: str = "https://api.speciesplus.net/api/v1"
    speciesplus_token: SecretStr | None = None
    transit_concerned: bool = False
    severities: dict[ReasonCode, Severity] = Field(default_factory=dict)
    #: contract 5 (v2): days a declaration date may lie before the day of the check
    max_backdate_days: int = Field(default=3, ge=0, le=366)
    #: the administration's time zone (IANA name): "the day of the check" is the date there
    timezone: str = "UTC"
    logging: LoggingSettings = Field(default_factory=LoggingSettings)
    #: HS table administrators and their role (issue 5): a user not listed may only read.
    #: Env: CONNECTOR_HS_ROLES='{"amutenya":"editor","jshikongo":"approver"}'
    hs_roles: dict[str, Literal["viewer", "editor", "approver"]] = Field(default_factory=dict)
    #: how often a running process looks for a newly published HS table version, seconds
    hs_tables_refresh_seconds: float = Field(default=2.0, ge=0)
    #: RabbitMQ permit consumer (issue 4): unacknowledged messages each consumer may hold,
    #: consumer threads (each its own connection), and the delivery limit of the quorum queue
    #: cites-connector.permits (contract 3: default 5; changing it means re-creating the queue)
    amqp_prefetch: int = Field(default=20, ge=1, le=65535)
    amqp_workers: int = Field(default=1, ge=1, le=64)
    amqp_delivery_limit: int = Field(default=5, ge=1)
    #: longest wait between two reconnection attempts to RabbitMQ, seconds (capped back-off)
    amqp_reconnect_max_seconds: float = Field(default=30.0, gt=0)
    #: outbox rows a relay claimed are its own this long; after a crash (kill -9) they are
    #: delivered again once it has passed (at least once, same message ids)
    outbox_lease_seconds: float = Field(default=120.0, ge=2)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r} (an IANA name such as "
                             f"'Africa/Windhoek' or 'UTC')") from exc
        return value

    @field_validator("home_country", mode="before")
    @classmethod
    def _upper(cls, value: str) -> str:
        return value.strip().upper() if isinstance(value, str) else value

    @property
    def taxonomy_dir(self) -> Path:
        """Where a Species+ refresh writes the taxonomy that replaces the bundled one."""
        return self.data_dir / "taxonomy"

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'connector.sqlite3').resolve()}"

    @classmethod
    def settings_customise_sources(cls, settings_cls: type[BaseSettings],
                                   init_settings: PydanticBaseSettingsSource,
                                   env_settings: PydanticBaseSettingsSource,
                                   dotenv_settings: PydanticBaseSettingsSource,
                                   file_secret_settings: PydanticBaseSettingsSource):
        toml_file = cls.model_config.get("toml_file") or DEFAULT_CONFIG
        return (init_settings, env_settings,
                TomlConfigSettingsSource(settings_cls, toml_file=toml_file))


def load_settings(config_file: Path | None = None, **overrides) -> Settings:
    """Build settings from a TOML file (default config/connector.toml), env and overrides."""
    path = Path(config_file) if config_file else DEFAULT_CONFIG
    if not path.is_file():
        raise FileNotFoundError(f"configuration file {path} does not exist")
    bound = type("Settings", (Settings,), {
        "model_config": SettingsConfigDict(**{**Settings.model_config, "toml_file": path})})
    return bound(**overrides)
