"""EPIX settings (docs/epix.md): the hub's URL, the TokenId, the client certificate EPIX
authenticates the connector by, the CA its server certificate is checked against, and which
permit source is asked for which issuing country.

Flat ``CONNECTOR_EPIX_*`` variables (``epix_token`` may come from ``CONNECTOR_EPIX_TOKEN_FILE``).
``permit_sources`` routes lookups: ``"NA=amqp,*=epix"`` asks the national permit system for
Namibian permits and EPIX for the others; not set, the home country goes to AMQP and every
other country to EPIX when ``epix_url`` is set (else to AMQP, as before EPIX).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Annotated

import pycountry
from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator
from pydantic_settings import NoDecode

from cites_connector.app.setting_types import OptionalHttpUrl

SOURCES = ("amqp", "epix")


class EpixSettings(BaseModel):
    #: the EPIX hub's SOAP endpoint (https); not set: EPIX is not used
    epix_url: OptionalHttpUrl = None
    #: EPIX's TokenId, sent with every call (secret; CONNECTOR_EPIX_TOKEN_FILE works)
    epix_token: SecretStr | None = None
    #: PEM client certificate and key: EPIX authenticates callers by certificate
    epix_client_cert: Path | None = None
    epix_client_key: Path | None = None
    #: PEM CA certificates the hub's server certificate is checked against (default: the
    #: system's trust store)
    epix_ca_file: Path | None = None
    #: ask GetNonFinalCitesCertificate when GetFinalCitesCertificate has no such certificate
    epix_non_final: bool = False
    #: seconds to connect to the hub and to wait for an endorsement's answer (lookups wait
    #: at most lookup_timeout)
    epix_connect_timeout: float = Field(default=5.0, gt=0)
    epix_confirm_timeout: float = Field(default=30.0, gt=0)
    #: seconds before a declaration held for a foreign permit EPIX did not give is asked for
    #: again by serve; doubled after each try up to epix_reask_max_interval; 0: never re-asked
    epix_reask_interval: float = Field(default=30.0, ge=0, le=3600)
    epix_reask_max_interval: float = Field(default=1800.0, ge=1, le=86400)
    #: lookup routing: COUNTRY=SOURCE pairs, "*" for the others; SOURCE is amqp or epix
    permit_sources: Annotated[dict[str, str], NoDecode] = Field(default_factory=dict)

    @field_validator("permit_sources", mode="before")
    @classmethod
    def _routes(cls, value: str | Mapping[str, object] | Iterable[object] | None) -> dict[str, str]:
        if value is None:
            return {}
        if isinstance(value, str):
            pairs = [p for p in (part.strip() for part in value.split(",")) if p]
            items: list[tuple[str, str]] = []
            for pair in pairs:
                country, sep, source = pair.partition("=")
                if not sep:
                    raise ValueError(
                        f"{pair[:40]!r} is not COUNTRY=SOURCE (expected e.g. NA=amqp,*=epix)"
                    )
                items.append((country.strip(), source.strip()))
        elif isinstance(value, Mapping):
            items = [(str(k), str(v)) for k, v in value.items()]
        else:
            raise ValueError("expected COUNTRY=SOURCE pairs, e.g. NA=amqp,*=epix")
        routes: dict[str, str] = {}
        for country, source in items:
            country, source = country.upper(), source.lower()
            if country != "*" and (
                len(country) != 2 or pycountry.countries.get(alpha_2=country) is None
            ):
                raise ValueError(f"{country[:20]!r} is not an ISO country code or *")
            if source not in SOURCES:
                raise ValueError(
                    f"permit source {source[:20]!r} is not one of {', '.join(SOURCES)}"
                )
            routes[country] = source
        return routes

    @model_validator(mode="after")
    def _epix_needs_url(self) -> EpixSettings:
        if "epix" in self.permit_sources.values() and not self.epix_url:
            raise ValueError("permit_sources routes to epix but epix_url is not set")
        if self.epix_reask_max_interval < self.epix_reask_interval:
            raise ValueError("epix_reask_max_interval is less than epix_reask_interval")
        if self.epix_client_key is not None and self.epix_client_cert is None:
            raise ValueError("epix_client_key is set without epix_client_cert")
        return self
