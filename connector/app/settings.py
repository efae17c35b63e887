"""Settings: defaults in config/connector.toml, overridden by CONNECTOR_* environment variables.

The names of contract section 9 are fixed. Secrets are SecretStr without defaults; nothing
is read at import time: ``load_settings`` is called by the bootstrap or by a test.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from cites_connector import config as _config_package
from cites_connector.app.setting_types import (
    AmqpUrl,
    CountryCode,
    DatabaseUrl,
    HttpUrl,
    OptionalHttpUrl,
    SecretAmqpUrl,
)
from cites_connector.app.settings_checks import SecretFiles, check_toml_keys
from cites_connector.app.settings_epix import EpixSettings
from cites_connector.app.settings_i18n import I18nSettings
from cites_connector.app.settings_outbox import OutboxSettings
from cites_connector.app.settings_signatures import SignatureSettings
from cites_connector.domain.decisions import ReasonCode, Severity
from cites_connector.mappings.sad_mapping import variant_names

DEFAULT_CONFIG = Path(_config_package.__file__).resolve().parent / "connector.toml"


class LoggingSettings(BaseModel):
    level: str = "INFO"
    format: Literal["json", "console"] = "json"


class Settings(EpixSettings, SignatureSettings, I18nSettings, OutboxSettings, BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="CONNECTOR_", env_nested_delimiter="__", extra="ignore"
    )

    home_country: CountryCode
    data_dir: Path = Path("./var")
    database_url: DatabaseUrl = None
    amqp_url: AmqpUrl = "amqp://guest:guest@127.0.0.1:5672/%2F"
    soap_host: str = "127.0.0.1"
    soap_port: int = Field(default=8088, ge=1, le=65535)
    soap_users: SecretStr | None = None
    soap_auth: Literal["on", "off"] = "on"
    soap_public_url: OptionalHttpUrl = None
    #: WS-Security (contract 1, v2): how old a Created time may be, and how long a digest
    #: nonce is remembered (seconds); how far ahead of our clock a Created time may be
    soap_nonce_window_seconds: float = Field(default=300.0, ge=10)
    soap_clock_skew_seconds: float = Field(default=60.0, ge=0)
    #: SOAP connections held open at once (slow clients wait beside normal ones, issue 9)
    soap_connection_limit: int = Field(default=1000, ge=10, le=100_000)
    #: seconds a connection may take to send a request's headers, counted from its opening
    #: or its previous answer (an idle keep-alive connection is closed after it too)
    soap_header_timeout_seconds: float = Field(default=20.0, gt=0)
    #: seconds without a byte, while a request body is read or an answer written
    soap_idle_timeout_seconds: float = Field(default=60.0, gt=0)
    #: address of the TLS reverse proxy whose X-Forwarded-* headers are believed
    #: (docs/reverse-proxy.md); not set: the headers are removed
    soap_trusted_proxy: str | None = None
    customs_url: OptionalHttpUrl = None
    customs_user: str | None = None
    customs_password: SecretStr | None = None
    #: contract 4 (v2): plain http:// customs endpoints are refused unless this is true (the
    #: quick start and the tests set it; production uses https)
    customs_allow_http: bool = False
    #: contract 4 (v2): how the customs callback's UsernameToken carries the password
    customs_password_type: Literal["digest", "text"] = "digest"
    lookup_timeout: float = Field(default=5.0, gt=0)
    max_request_bytes: int = Field(default=5 * 1024 * 1024, gt=0)
    sad_mapping_file: Path | None = None
    #: contract 2 (v2): a bundled mapping variant (config/sad-variants/<name>.toml) for a
    #: national export; at most one of this and sad_mapping_file
    sad_mapping_variant: str | None = None
    speciesplus_url: HttpUrl = "https://api.speciesplus.net/api/v1"
    speciesplus_token: SecretStr | None = None
    transit_concerned: bool = False
    severities: dict[ReasonCode, Severity] = Field(default_factory=dict)
    #: contract 5 (v2): days a declaration date may lie before the day of the check
    max_backdate_days: int = Field(default=3, ge=0, le=366)
    #: the administration's time zone (IANA name): "the day of the check" is the date there
    timezone: str = "UTC"
    #: contract 5 (v2), Art. VI(2): months after its issue a foreign export permit or
    #: re-export certificate is usable at import (a Party may set fewer: Art. XIV(1))
    foreign_permit_months: int = Field(default=6, ge=1, le=120)
    #: contract 5 (v2): customs office codes designated for CITES trade (Art. VIII(3)); empty:
    #: every office. Comma-separated in the environment
    designated_offices: Annotated[tuple[str, ...], NoDecode] = ()
    logging: LoggingSettings = Field(default_factory=LoggingSettings)
    #: HS table administrators and their role (issue 5), by operating-system account (the
    #: account running the command is the actor, contract 7): one not listed may only read.
    #: Env: CONNECTOR_HS_ROLES='{"amutenya":"editor","jshikongo":"approver"}'
    hs_roles: dict[str, Literal["viewer", "editor", "approver"]] = Field(default_factory=dict)
    #: how often a running process looks for a newly published HS table version, seconds
    hs_tables_refresh_seconds: float = Field(default=2.0, ge=0)
    #: RabbitMQ permit consumer (issue 4): unacknowledged messages each consumer may hold,
    #: consumer threads (each its own connection), and the delivery limit (contract 3: default
    #: 5), counted by the connector per processing attempt (issue 9, item 7)
    amqp_prefetch: int = Field(default=20, ge=1, le=65535)
    amqp_workers: int = Field(default=1, ge=1, le=64)
    amqp_delivery_limit: int = Field(default=5, ge=1)
    #: x-delivery-limit of the quorum queue cites-connector.permits: a backstop only, since
    #: RabbitMQ 3.x counts every return, the prefetched messages of a closed connection too
    #: (changing it means re-creating the queue, or a policy)
    amqp_broker_delivery_limit: int = Field(default=1000, ge=1)
    #: a consumer holding one message this long, or idle this long while messages wait, is
    #: reported stuck by /healthz (503)
    amqp_stuck_seconds: float = Field(default=60.0, gt=0)
    #: AMQP users (the broker-checked user_id) whose permit events and lookup replies are
    #: trusted (contract 3.1, 3.3 (v2)); comma-separated in the environment
    permit_publishers: Annotated[tuple[str, ...], NoDecode] = ("permit-system",)
    #: largest accepted step from a permit's stored version (contract 3.1 (v2))
    permit_max_version_step: int = Field(default=1000, ge=1)
    #: permit lookups (contract 3.3 (v2)): at most this many per declaration, all under one
    #: deadline (lookup_timeout); a "not found" answer is remembered this many seconds
    lookup_max_per_declaration: int = Field(default=10, ge=0, le=100)
    lookup_negative_ttl: float = Field(default=60.0, ge=0)
    #: `dlq replay` publishes permit events again as a permit publisher: the URL of that
    #: user's connection (e.g. amqp://permit-system:...@host/vhost); unset, replay refuses
    dlq_replay_url: SecretAmqpUrl = None
    #: longest wait between two reconnection attempts to RabbitMQ, seconds (capped back-off)
    amqp_reconnect_max_seconds: float = Field(default=30.0, gt=0)
    #: outbox rows a lane claimed are its own this long, renewed while it works on them;
    #: after a crash (kill -9) they are delivered again once it has passed (at least once,
    #: same message ids)
    outbox_lease_seconds: float = Field(default=10.0, ge=2)
    #: a message still failing (network, HTTP 5xx, broker down) after this many attempts is
    #: failed: shown by ``outbox status``, sent again only by ``outbox retry`` (contract 4 and
    #: 3.4, v2). With the relay's back-off (1 s doubling to 5 min) 100 attempts are about
    #: 8 hours; a refusal (HTTP 4xx, a Client fault) fails at once
    outbox_max_attempts: int = Field(default=100, ge=1)

    #: contract 9 (v2): the secret key of the audit chains (HMAC-SHA-256); default: the file
    #: ``audit.key`` in the data directory, made by the first ``migrate`` (docs/audit.md)
    audit_key_file: Path | None = None
    #: how often ``serve`` links new ledger audit rows into the chain (the rows written since
    #: the last seal are protected by their own MAC only, and a deleted one is not noticed)
    audit_seal_seconds: float = Field(default=10.0, gt=0)

    #: the web console (issue 12, docs/console.md): served by ``serve`` on its own port,
    #: loopback by default; its session cookies are signed with the key in this file (made,
    #: mode 0600, on first use; default ``console.key`` in the data directory)
    console_enabled: bool = True
    console_host: str = "127.0.0.1"
    console_port: int = Field(default=8089, ge=0, le=65535)
    console_secret_key_file: Path | None = None
    #: the TLS reverse proxy in front of the console whose X-Forwarded-* are believed; when
    #: set, session cookies are also marked Secure (unless console_secure_cookies says)
    console_trusted_proxy: str | None = None
    console_secure_cookies: bool | None = None
    #: a session ends after this many minutes without a request
    console_session_minutes: float = Field(default=480.0, gt=0)
    #: this many wrong passwords in a row lock an account for console_lockout_minutes
    console_lockout_failures: int = Field(default=5, ge=1, le=100)
    console_lockout_minutes: float = Field(default=15.0, gt=0)
    console_threads: int = Field(default=4, ge=1, le=64)

    @field_validator("permit_publishers", mode="before")
    @classmethod
    def _publisher_list(cls, value: str | Iterable[object]) -> tuple[str, ...]:
        if isinstance(value, str):
            value = value.split(",")
        names = tuple(str(v).strip() for v in value if str(v).strip())
        if not names:
            raise ValueError("name at least one permit publisher (an AMQP user name)")
        too_long = [n for n in names if len(n) > 100]
        if too_long:
            raise ValueError(f"AMQP user names are at most 100 characters: {too_long[0][:40]}")
        return names

    @field_validator("designated_offices", mode="before")
    @classmethod
    def _office_list(cls, value: str | Iterable[object]) -> tuple[str, ...]:
        if isinstance(value, str):
            value = value.split(",")
        offices = tuple(dict.fromkeys(str(v).strip() for v in value if str(v).strip()))
        bad = [o for o in offices if len(o) > 32 or not o.isprintable() or " " in o]
        if bad:
            raise ValueError(f"not a customs office code: {bad[0][:40]!r}")
        return offices

    @model_validator(mode="after")
    def _backstop_above_own_limit(self) -> Settings:
        if self.amqp_broker_delivery_limit < self.amqp_delivery_limit:
            raise ValueError(
                f"amqp_broker_delivery_limit ({self.amqp_broker_delivery_limit}) must not be "
                f"below amqp_delivery_limit ({self.amqp_delivery_limit}): RabbitMQ would "
                "dead-letter messages before the connector's own count does"
            )
        return self

    @model_validator(mode="after")
    def _one_sad_mapping(self) -> Settings:
        if self.sad_mapping_variant is not None:
            if self.sad_mapping_file is not None:
                raise ValueError(
                    "set sad_mapping_file or sad_mapping_variant, not both (copy the variant "
                    "and point sad_mapping_file at the copy to change it)"
                )
            if self.sad_mapping_variant not in variant_names():
                raise ValueError(
                    f"no SAD mapping variant {self.sad_mapping_variant!r} "
                    f"(bundled: {', '.join(variant_names())})"
                )
        return self

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(
                f"unknown time zone {value!r} (an IANA name such as 'Africa/Windhoek' or 'UTC')"
            ) from exc
        return value

    @property
    def taxonomy_dir(self) -> Path:
        """Where a Species+ refresh writes the taxonomy that replaces the bundled one."""
        return self.data_dir / "taxonomy"

    @property
    def effective_trust_dir(self) -> Path:
        """The folder of the issuing Management Authorities' certificates."""
        return self.epermit_trust_dir or self.data_dir / "trust"

    @property
    def effective_audit_key_file(self) -> Path:
        return self.audit_key_file or self.data_dir / "audit.key"

    @property
    def effective_console_secret_key_file(self) -> Path:
        return self.console_secret_key_file or self.data_dir / "console.key"

    @property
    def console_cookies_secure(self) -> bool:
        if self.console_secure_cookies is not None:
            return self.console_secure_cookies
        return self.console_trusted_proxy is not None

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'connector.sqlite3').resolve()}"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml_file = cls.model_config.get("toml_file") or DEFAULT_CONFIG
        return (
            init_settings,
            env_settings,
            SecretFiles(settings_cls, os.environ),
            TomlConfigSettingsSource(settings_cls, toml_file=toml_file),
        )


def load_settings(config_file: Path | None = None, **overrides: Any) -> Settings:
    """Build settings from a TOML file (default config/connector.toml), env and overrides."""
    path = Path(config_file) if config_file else DEFAULT_CONFIG
    if not path.is_file():
        raise FileNotFoundError(f"configuration file {path} does not exist")
    check_toml_keys(path, Settings)
    bound = type(
        "Settings",
        (Settings,),
        {"model_config": SettingsConfigDict(**{**Settings.model_config, "toml_file": path})},
    )
    settings: Settings = bound(**overrides)
    return settings
