"""Builds the application from settings: the one place where adapters meet the core.

Nothing connects at import time; ``bootstrap`` opens the database engine lazily (SQLAlchemy
connects on first use) and hands out services that only know the ports.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from types import MappingProxyType
from zoneinfo import ZoneInfo

from cites_connector.adapters.sql.audit_key import AuditKeyFile, with_audit_key
from cites_connector.adapters.sql.engine import make_engine
from cites_connector.adapters.sql.hs_store import SqlHsTableStore
from cites_connector.adapters.sql.ledger import SqlAlchemyLedger
from cites_connector.domain.decision_policy import DecisionPolicy
from cites_connector.domain.decisions import DEFAULT_SEVERITIES
from cites_connector.domain.declarations import Declaration
from cites_connector.hs_codes.bundled import load_bundled_tables
from cites_connector.hs_codes.taxonomy_data import (
    TAXA_FILE,
    load_bundled_taxonomy,
    load_taxonomy_dir,
)
from cites_connector.mappings.asycuda_sad import map_declaration
from cites_connector.mappings.sad_mapping import SadMapping
from cites_connector.services.clearance import ClearanceService
from cites_connector.services.decider_factory import Rulebook
from cites_connector.services.permits import PermitService
from cites_connector.settings import Settings


def utc_now() -> datetime:
    return datetime.now(UTC)


def new_id() -> str:
    return str(uuid.uuid4())


@dataclass
class App:
    settings: Settings
    engine: object
    ledger: SqlAlchemyLedger
    rulebook: Rulebook
    sad_mapping: SadMapping
    clearance: ClearanceService
    permits: PermitService
    clock: Callable[[], datetime]

    def map_sad(self, source: bytes | object, today: date | None = None) -> Declaration:
        return map_declaration(
            source,
            self.sad_mapping,
            today=today or self.rulebook.policy.day_of(self.clock()),
            max_bytes=self.settings.max_request_bytes,
        )

    def close(self) -> None:
        self.engine.dispose()


def build_policy(settings: Settings, mapping: SadMapping) -> DecisionPolicy:
    severities = dict(DEFAULT_SEVERITIES) | dict(settings.severities)
    return DecisionPolicy(
        home_country=settings.home_country,
        cites_document_codes=mapping.cites_document_codes,
        not_concerned_codes=mapping.not_concerned_document_codes,
        severities=MappingProxyType(severities),
        transit_concerned=settings.transit_concerned,
        max_backdate_days=settings.max_backdate_days,
        zone=ZoneInfo(settings.timezone),
    )


def load_taxonomy(settings: Settings):
    """The Species+-refreshed taxonomy in the data directory if there is one, else the bundled."""
    if (settings.taxonomy_dir / TAXA_FILE).exists():
        return load_taxonomy_dir(settings.taxonomy_dir)
    return load_bundled_taxonomy()


def bootstrap(settings: Settings, *, clock: Callable[[], datetime] = utc_now) -> App:
    # the audit key rides on the engine: whatever writes audit rows through it keys them
    engine = with_audit_key(
        make_engine(settings.effective_database_url),
        AuditKeyFile(settings.effective_audit_key_file),
    )
    ledger = SqlAlchemyLedger(engine)
    mapping = (
        SadMapping.from_file(settings.sad_mapping_file)
        if settings.sad_mapping_file
        else SadMapping.default()
    )
    bundled = load_bundled_tables()  # only until `migrate` has put the tables in the database
    hs_tables = SqlHsTableStore(
        engine, refresh_seconds=settings.hs_tables_refresh_seconds, fallback=lambda: bundled
    )
    rulebook = Rulebook(
        tables=hs_tables.tables,
        taxonomy=load_taxonomy(settings),
        policy=build_policy(settings, mapping),
    )
    return App(
        settings=settings,
        engine=engine,
        ledger=ledger,
        rulebook=rulebook,
        sad_mapping=mapping,
        clearance=ClearanceService(ledger, rulebook, clock=clock, new_id=new_id),
        permits=PermitService(
            ledger,
            rulebook,
            clock=clock,
            new_id=new_id,
            max_version_step=settings.permit_max_version_step,
        ),
        clock=clock,
    )
