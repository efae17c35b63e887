"""What the web console works with, built from the application (the console's composition).

The console (``cites_connector.console``) is an application-layer package like the CLI, but it
reaches storage and the message broker only through this object: the services the CLI uses
(clearance, permits, the HS administration), the console's own SQL reads and accounts, the
outbox, the dead letters and the audit checks. The types it shows are re-exported here, so
the console imports nothing from the adapters (import-linter contract).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from cites_connector.adapters.amqp.dead_letters import DeadLetter, list_dead_letters
from cites_connector.adapters.amqp.dlq_replay import ReplayResult, replay_dead_letters
from cites_connector.adapters.outbox.status import OutboxStatus
from cites_connector.adapters.outbox.store import SqlOutboxStore
from cites_connector.adapters.sql.admin_actions import record_admin_action
from cites_connector.adapters.sql.audit_checks import verify_chains
from cites_connector.adapters.sql.audit_report import AuditReport
from cites_connector.adapters.sql.console_audit import AuditRow, latest_audit
from cites_connector.adapters.sql.console_dashboard import Dashboard, SqlConsoleDashboard
from cites_connector.adapters.sql.console_permits import (
    PaperPermitRow,
    PermitRow,
    SqlConsolePermits,
)
from cites_connector.adapters.sql.console_reads import (
    DeclarationFilter,
    DeclarationRow,
    HeldRow,
    Page,
    SqlConsoleReads,
    TimelineEntry,
    VersionRow,
)
from cites_connector.adapters.sql.console_users import SqlConsoleUsers
from cites_connector.app.application import Application
from cites_connector.app.console_accounts import ROLES, Accounts, ConsoleUser, LoginResult
from cites_connector.app.declarant_wiring import build_declarant_languages, language_names
from cites_connector.app.epix_wiring import EPIX
from cites_connector.domain.errors import InvalidInput
from cites_connector.domain.permits import Permit
from cites_connector.hs_codes.nomenclature import load_cites_terms, load_nomenclature
from cites_connector.mappings.permit_json import parse_permit, permit_to_json
from cites_connector.mappings.speciesplus_trade import read_quotas, read_suspensions
from cites_connector.services.declarant_languages import DeclarantLanguages
from cites_connector.services.hs_admin import HsAdminService
from cites_connector.services.service_state import DependencyState
from cites_connector.services.trade_imports import TradeImports
from cites_connector.services.trade_ports import Proposal

__all__ = [
    "ROLES",
    "AuditReport",
    "AuditRow",
    "ConsoleBackend",
    "ConsoleUser",
    "Dashboard",
    "DeadLetter",
    "DeclarationFilter",
    "DeclarationRow",
    "Dependencies",
    "HeldRow",
    "LoginResult",
    "OutboxStatus",
    "Page",
    "PaperPermitRow",
    "PermitRow",
    "Proposal",
    "ReplayResult",
    "TimelineEntry",
    "VersionRow",
    "build_console_backend",
]


@dataclass(frozen=True)
class Dependencies:
    """What the operations page shows of the dependencies (ServiceState)."""

    #: reachable, unreachable, unknown or not configured
    epix: str
    epix_state: DependencyState | None
    #: held declarations waiting for a permit from EPIX (None: EPIX is not asked)
    waiting_for_epix: int | None
    others: list[DependencyState]


#: console roles that act on HS tables, as the HS administration's roles (an approver may
#: also edit; four eyes keeps anyone from approving what they proposed or edited)
HS_ROLE_OF = {"admin": "approver", "reviewer": "approver"}


def _hs_role(user: ConsoleUser) -> str:
    """The table administration's role of a console user: the highest their roles give."""
    return max(
        (HS_ROLE_OF.get(r, "viewer") for r in user.roles),
        key=["viewer", "editor", "approver"].index,
        default="viewer",
    )


def actor_of(user_name: str) -> str:
    """The audit actor of a console user: ``console:NAME``, never to be mistaken for an
    operating-system account of the same name (contract 7's actors)."""
    return f"console:{user_name}"


@dataclass
class ConsoleBackend:
    app: Application
    accounts: Accounts
    reads: SqlConsoleReads
    permits_read: SqlConsolePermits
    dashboard_read: SqlConsoleDashboard
    outbox: SqlOutboxStore
    hs_factory: Callable[[Mapping[str, str]], HsAdminService]
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def clock(self) -> Callable[[], datetime]:
        return self.app.clock

    # -- HS tables: the service the CLI uses, with the console user's role -----------------------

    def hs_admin(self, user: ConsoleUser) -> HsAdminService:
        return self.hs_factory({actor_of(user.name): _hs_role(user)})

    # -- trade suspensions and export quotas: the service the CLI uses, with the same roles ------

    def trade_admin(self, user: ConsoleUser) -> TradeImports:
        """The CLI's ``suspensions``/``quotas`` service, the console user acting with the role
        their console roles give on HS tables (``HS_ROLE_OF``): the service checks it, and
        four eyes on imports (the proposer cannot approve or reject)."""
        app = self.app
        return TradeImports(
            app.ledger,
            roles={actor_of(user.name): _hs_role(user)},
            taxonomy=app.rulebook.taxonomy,
            home_country=app.rulebook.policy.home_country,
            clock=app.clock,
        )

    def propose_import(
        self,
        user: ConsoleUser,
        kind: str,
        raw: bytes,
        source: str,
        reason: str,
        *,
        taxon: str | None = None,
        year: int | None = None,
        term: str | None = None,
    ) -> Proposal:
        """A Species+ ``cites_legislation`` response proposed for import, read as the CLI's
        ``suspensions import`` / ``quotas import`` read it (the whole file refused when any
        entry is malformed); ``source`` names the file (name and SHA-256) in the audit."""
        service = self.trade_admin(user)
        who = actor_of(user.name)
        if kind == "suspensions":
            found = read_suspensions(raw, taxon=taxon)
            return service.propose_suspensions(
                who, found.suspensions, source, reason, found.skipped
            )
        quotas = read_quotas(raw, home=service.home, taxon=taxon, year=year, term=term)
        return service.propose_quotas(who, quotas.quotas, source, reason, quotas.other_countries)

    # -- operations -------------------------------------------------------------------------------

    # -- the language of each declarant's notifications: the service the CLI uses ------------------

    def declarant_languages(self) -> DeclarantLanguages:
        return build_declarant_languages(self.app)

    def language_names(self) -> dict[str, str]:
        return language_names()

    def outbox_status(self, failures: int = 50) -> OutboxStatus:
        return self.outbox.status(failures)

    def dependencies(self) -> Dependencies:
        """EPIX's reachability as ``serve`` last saw it, and how many held declarations
        wait for a permit from it (services/reask.py)."""
        app = self.app
        state = app.service_state
        waits = app.foreign_waits
        return Dependencies(
            epix=state.word(EPIX),
            epix_state=state.get(EPIX),
            waiting_for_epix=len(waits.waiting()) if waits is not None else None,
            others=[s for s in state.all() if s.name != EPIX],
        )

    def outbox_retry(self, actor: str, ids: list[int] | None) -> list[int]:
        return self.outbox.retry(self.clock(), ids, actor=actor)

    def dead_letters(self, limit: int = 50) -> tuple[list[DeadLetter], int]:
        return list_dead_letters(self.app.settings.amqp_url, limit)

    def replay(self, actor: str, message_id: str | None) -> ReplayResult:
        url = self.app.settings.dlq_replay_url
        if url is None:
            raise InvalidInput(
                "replay needs CONNECTOR_DLQ_REPLAY_URL, the permit publisher's connection: "
                "permit events are trusted only from a permit publisher"
            )
        record_admin_action(
            self.app.engine,
            actor,
            "dlq.replay",
            message_id or "all",
            {"message_id": message_id, "all": message_id is None},
            self.clock(),
        )
        return replay_dead_letters(self.app.settings.amqp_url, url.get_secret_value(), message_id)

    def verify_audit(self) -> AuditReport:
        return verify_chains(self.app.engine, seal=False)

    def latest_audit(self, last: int = 50) -> list[AuditRow]:
        return latest_audit(self.app.engine, last)

    def record(self, actor: str, action: str, subject: str, details: dict[str, Any]) -> None:
        record_admin_action(self.app.engine, actor, action, subject, details, self.clock())

    # -- paper permits ----------------------------------------------------------------------------

    def parse_permit(self, body: dict[str, Any]) -> Permit:
        """A permit typed in from paper, checked as an electronic one (contract 3.1)."""
        return parse_permit(body)

    def permit_body(self, permit: Permit) -> dict[str, Any]:
        return permit_to_json(permit)

    def dashboard(self, days: int = 14) -> Dashboard:
        now = self.clock()
        return self.dashboard_read.read(now, since=(now - timedelta(days=days)).date())


def build_console_backend(app: Application) -> ConsoleBackend:
    settings = app.settings
    engine = app.engine

    def hs_factory(roles: Mapping[str, str]) -> HsAdminService:
        from cites_connector.adapters.sql.hs_store import SqlHsTableStore

        return HsAdminService(
            SqlHsTableStore(engine),
            roles=dict(roles),
            taxonomy=app.rulebook.taxonomy,
            terms=load_cites_terms(),
            nomenclature=load_nomenclature,
            clock=app.clock,
        )

    return ConsoleBackend(
        app=app,
        accounts=Accounts(
            SqlConsoleUsers(engine),
            clock=app.clock,
            max_failures=settings.console_lockout_failures,
            lockout=timedelta(minutes=settings.console_lockout_minutes),
        ),
        reads=SqlConsoleReads(engine),
        permits_read=SqlConsolePermits(engine),
        dashboard_read=SqlConsoleDashboard(engine),
        outbox=SqlOutboxStore(engine),
        hs_factory=hs_factory,
    )
