"""The core on its database, built from ``Settings``: what every CLI verb works with.

``build_application`` makes the engine (the audit key attached), the SQL ledger, the HS
table store, the rulebook and, through ``build_services`` (the one place services are
constructed), the permit and clearance services. Nothing connects here: SQLAlchemy connects
on first use. What ``serve`` adds on top is in ``serving.py``.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from types import MappingProxyType
from zoneinfo import ZoneInfo

from lxml import etree
from sqlalchemy import Engine

from cites_connector.adapters.amqp.permit_lookup import AmqpPermitLookup
from cites_connector.adapters.epermit_trust import signature_rules
from cites_connector.adapters.metrics.instruments import TimedPermitLookup
from cites_connector.adapters.metrics.registry import ConnectorMetrics
from cites_connector.adapters.sql.audit_key import AuditKeyFile, with_audit_key
from cites_connector.adapters.sql.engine import make_engine
from cites_connector.adapters.sql.hs_store import SqlHsTableStore
from cites_connector.adapters.sql.ledger import SqlAlchemyLedger
from cites_connector.adapters.sql.permit_batch import permit_batch_rows
from cites_connector.app.epix_wiring import (
    build_ledger,
    foreign_permit_waits,
    routed_lookup_port,
    store_looked_up,
    watch_epix,
)
from cites_connector.app.settings import Settings
from cites_connector.domain.decision_policy import DecisionPolicy
from cites_connector.domain.decisions import DEFAULT_SEVERITIES
from cites_connector.domain.declarations import Declaration
from cites_connector.domain.listings import Listings
from cites_connector.domain.taxonomy import Taxonomy
from cites_connector.hs_codes.bundled import load_bundled_tables
from cites_connector.hs_codes.nomenclature import load_cites_terms, load_nomenclature
from cites_connector.hs_codes.taxonomy_data import (
    TAXA_FILE,
    load_bundled_taxonomy,
    load_listings_dir,
    load_taxonomy_dir,
)
from cites_connector.mappings.asycuda_sad import map_declaration
from cites_connector.mappings.sad_mapping import SadMapping
from cites_connector.services.clearance import ClearanceService
from cites_connector.services.decider_factory import Rulebook
from cites_connector.services.hs_admin import HsAdminService
from cites_connector.services.metrics import NO_METRICS, ClearanceMetrics
from cites_connector.services.permit_lookup import PermitLookupPort, UnknownPermitLookup
from cites_connector.services.permits import PermitService
from cites_connector.services.ports import Ledger
from cites_connector.services.reask import ForeignPermitWaits
from cites_connector.services.service_state import ServiceState

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


def new_id() -> str:
    return str(uuid.uuid4())


@dataclass
class Application:
    """The core on its database: what every CLI verb and the SOAP operations work with."""

    settings: Settings
    engine: Engine
    ledger: SqlAlchemyLedger
    rulebook: Rulebook
    sad_mapping: SadMapping
    clearance: ClearanceService
    permits: PermitService
    clock: Clock
    #: what is known of the dependencies' reachability (EPIX): /healthz, the console
    service_state: ServiceState = field(default_factory=ServiceState)
    #: held declarations waiting for a permit from EPIX (None: EPIX is not asked)
    foreign_waits: ForeignPermitWaits | None = None

    def map_sad(self, source: bytes | etree._Element, today: date | None = None) -> Declaration:
        return map_declaration(
            source,
            self.sad_mapping,
            today=today or self.rulebook.policy.day_of(self.clock()),
            max_bytes=self.settings.max_request_bytes,
        )

    def close(self) -> None:
        self.engine.dispose()


# -- the core ---------------------------------------------------------------------------------


def load_sad_mapping(settings: Settings) -> SadMapping:
    """The administration's file, a bundled national variant, or the default (contract 2)."""
    if settings.sad_mapping_file:
        return SadMapping.from_file(settings.sad_mapping_file)
    if settings.sad_mapping_variant:
        return SadMapping.variant(settings.sad_mapping_variant)
    return SadMapping.default()


def build_policy(settings: Settings, mapping: SadMapping) -> DecisionPolicy:
    severities = dict(DEFAULT_SEVERITIES) | dict(settings.severities)
    return DecisionPolicy(
        home_country=settings.home_country,
        cites_document_codes=mapping.cites_document_codes,
        not_concerned_codes=mapping.not_concerned_document_codes,
        exemption_codes=mapping.exemption_document_codes,
        severities=MappingProxyType(severities),
        transit_concerned=settings.transit_concerned,
        max_backdate_days=settings.max_backdate_days,
        zone=ZoneInfo(settings.timezone),
        foreign_permit_months=settings.foreign_permit_months,
        designated_offices=frozenset(settings.designated_offices),
    )


def load_listings(settings: Settings) -> Listings:
    """The listings by population beside the taxonomy in force: the data directory's when a
    Species+ import wrote them, else the bundled ones (contract 5.1 (v2))."""
    return load_listings_dir(settings.taxonomy_dir)


def load_taxonomy(settings: Settings) -> Taxonomy:
    """The Species+-refreshed taxonomy in the data directory if there is one, else the bundled."""
    if (settings.taxonomy_dir / TAXA_FILE).exists():
        return load_taxonomy_dir(settings.taxonomy_dir)
    return load_bundled_taxonomy()


@dataclass(frozen=True)
class Services:
    clearance: ClearanceService
    permits: PermitService


def build_services(
    ledger: Ledger,
    rulebook: Rulebook,
    *,
    clock: Clock,
    new_id: Callable[[], str] = new_id,
    max_version_step: int | None = None,
    lookup: UnknownPermitLookup | None = None,
    metrics: ClearanceMetrics = NO_METRICS,
) -> Services:
    """The one place services are constructed (tests on the in-memory ledger too). With a
    ``lookup`` (contract 3.3), a permit found is stored as a permit event of its publisher."""
    step = {} if max_version_step is None else {"max_version_step": max_version_step}
    permits = PermitService(
        ledger, rulebook, clock=clock, new_id=new_id, batch_rows=permit_batch_rows, **step
    )
    clearance = ClearanceService(
        ledger,
        rulebook,
        clock=clock,
        new_id=new_id,
        lookup=lookup,
        store_found=store_looked_up(permits) if lookup is not None else None,
        metrics=metrics,
    )
    return Services(clearance=clearance, permits=permits)


def build_permit_lookup(
    settings: Settings, metrics: ConnectorMetrics | None = None
) -> UnknownPermitLookup:
    """Contract 3.3: unknown permits are asked of the permit system, all at once under one
    deadline; nothing connects until a declaration cites one. With ``metrics`` each lookup
    is timed (cites_connector_permit_lookup_seconds)."""
    port: PermitLookupPort = AmqpPermitLookup(
        settings.amqp_url,
        publishers=settings.permit_publishers,
        max_bytes=settings.max_request_bytes,
        signatures=signature_rules(settings.epermit_signatures, settings.effective_trust_dir),
    )
    if metrics is not None:
        port = TimedPermitLookup(port, metrics, source="amqp")
    return UnknownPermitLookup(
        routed_lookup_port(settings, port, metrics),  # EPIX for foreign permits (docs/epix.md)
        timeout=settings.lookup_timeout,
        max_per_declaration=settings.lookup_max_per_declaration,
        negative_ttl=settings.lookup_negative_ttl,
    )


def build_application(
    settings: Settings,
    *,
    clock: Clock = utc_now,
    ask_permit_system: bool = False,
    metrics: ConnectorMetrics | None = None,
) -> Application:
    """``ask_permit_system``: look unknown permits up over AMQP (``serve``; the CLI does not).
    ``metrics``: what ``serve`` exports at /metrics (the CLI counts nothing)."""
    # the audit key rides on the engine: whatever writes audit rows through it keys them
    engine = with_audit_key(
        make_engine(settings.effective_database_url),
        AuditKeyFile(settings.effective_audit_key_file),
    )
    ledger = build_ledger(engine, settings)  # with EPIX: endorsing EPIX permits' usages
    mapping = load_sad_mapping(settings)
    bundled = load_bundled_tables()  # only until `migrate` has put the tables in the database
    hs_tables = SqlHsTableStore(
        engine, refresh_seconds=settings.hs_tables_refresh_seconds, fallback=lambda: bundled
    )
    rulebook = Rulebook(
        tables=hs_tables.tables,
        taxonomy=load_taxonomy(settings),
        policy=build_policy(settings, mapping),
        listings=load_listings(settings),
    )
    lookup = build_permit_lookup(settings, metrics) if ask_permit_system else None
    state = ServiceState(clock)
    watch_epix(state, settings, lookup)  # /healthz and the console say whether EPIX answers
    services = build_services(
        ledger,
        rulebook,
        clock=clock,
        max_version_step=settings.permit_max_version_step,
        lookup=lookup,
        metrics=metrics or NO_METRICS,
    )
    return Application(
        settings=settings,
        engine=engine,
        ledger=ledger,
        rulebook=rulebook,
        sad_mapping=mapping,
        clearance=services.clearance,
        permits=services.permits,
        clock=clock,
        service_state=state,
        foreign_waits=foreign_permit_waits(settings, ledger, rulebook),
    )


def build_hs_admin(app: Application) -> HsAdminService:
    """The HS table administration (``cites-connector hs``) on the application's database."""
    return HsAdminService(
        SqlHsTableStore(app.engine),
        roles=dict(app.settings.hs_roles),
        taxonomy=app.rulebook.taxonomy,
        terms=load_cites_terms(),
        nomenclature=load_nomenclature,
        clock=app.clock,
    )
