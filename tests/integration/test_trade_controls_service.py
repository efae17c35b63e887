"""Suspensions and quotas through the clearance service, on the fake, SQLite and PostgreSQL:
a quota is counted with the write-off, given back with it, and a suspension holds.

The quota and suspension are stored as an administrator stores them (TradeControlAdmin), so
the decision reads them from the ledger in its own transaction.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from cites_connector.domain.decisions import DeclarationDecision, ReasonCode
from cites_connector.domain.hs_admin import NotPermitted
from cites_connector.domain.permits import ConsignmentPolicy
from cites_connector.domain.trade_controls import ExportQuota, Suspension, TradeFlow
from cites_connector.hs_codes.taxonomy_data import load_bundled_taxonomy
from cites_connector.mappings.speciesplus_trade import read_quotas, read_suspensions
from cites_connector.services.trade_imports import ProposalRefused, TradeImports
from cites_connector.services.trade_ports import ProposalStatus
from tests.integration.kit import TODAY, export, permit, python_item, pythons, services

ADMIN = "amutenya"
APPROVER = "jshikongo"
REAL = Path(__file__).parents[1] / "fixtures" / "speciesplus" / "real"


def administration(ledger) -> TradeImports:
    return TradeImports(
        ledger,
        roles={ADMIN: "editor", APPROVER: "approver"},
        taxonomy=load_bundled_taxonomy(),
        home_country="NA",
        clock=lambda: datetime(2026, 11, 28, 8, 0, tzinfo=UTC),
    )


def python_quota(quantity=10, used=0) -> ExportQuota:
    return ExportQuota(
        country="NA",
        taxon="Python regius",
        year=TODAY.year,
        quantity=Decimal(quantity),
        used=Decimal(used),
    )


def used(ledger) -> Decimal:
    with ledger.snapshot() as uow:
        [quota] = uow.trade.quotas()
    return quota.used


def test_a_quota_counts_each_clearance_and_holds_the_one_over(ledger_backend):
    clearance, permits = services(ledger_backend)
    permits.apply(permit("M40", pythons(40), policy=ConsignmentPolicy.MULTIPLE))
    administration(ledger_backend).set_quota(ADMIN, python_quota(10), "2026 quota")

    first = clearance.clear("D1", 1, export(python_item(1, 7, "M40"))).decision
    exact = clearance.clear("D2", 1, export(python_item(1, 3, "M40"))).decision
    over = clearance.clear("D3", 1, export(python_item(1, 1, "M40"))).decision

    assert first.cleared and exact.cleared
    assert over.decision is DeclarationDecision.HELD
    assert [r.code for r in over.items[0].reasons] == [ReasonCode.QUOTA_EXCEEDED]
    assert used(ledger_backend) == 10


def test_an_amendment_and_a_cancellation_give_the_quota_back(ledger_backend):
    clearance, permits = services(ledger_backend)
    permits.apply(permit("M40", pythons(40), policy=ConsignmentPolicy.MULTIPLE))
    administration(ledger_backend).set_quota(ADMIN, python_quota(10), "2026 quota")

    assert clearance.clear("D1", 1, export(python_item(1, 8, "M40"))).decision.cleared
    # version 2 asks for 10: the 8 of version 1 come back first, so 10 fit
    assert clearance.clear("D1", 2, export(python_item(1, 10, "M40"))).decision.cleared
    assert used(ledger_backend) == 10
    assert active_charges(ledger_backend, "D1") == [Decimal(10)]  # version 1's was given back
    clearance.cancel("D1", 2)
    assert used(ledger_backend) == 0
    assert active_charges(ledger_backend, "D1") == []


def active_charges(ledger, declaration_id: str) -> list[Decimal]:
    """What an impact preview gives back before deciding the declaration again."""
    with ledger.snapshot() as uow:
        return [amount for _, amount in uow.trade.charges_of(declaration_id)]


def test_setting_a_quota_again_keeps_what_the_year_used(ledger_backend):
    clearance, permits = services(ledger_backend)
    permits.apply(permit("M40", pythons(40), policy=ConsignmentPolicy.MULTIPLE))
    admin = administration(ledger_backend)
    admin.set_quota(ADMIN, python_quota(10), "2026 quota")
    assert clearance.clear("D1", 1, export(python_item(1, 6, "M40"))).decision.cleared
    admin.set_quota(ADMIN, python_quota(5), "quota cut by notification")
    assert used(ledger_backend) == 6
    held = clearance.clear("D2", 1, export(python_item(1, 1, "M40"))).decision
    assert held.decision is DeclarationDecision.HELD


def test_a_suspension_added_holds_and_removed_clears(ledger_backend):
    clearance, permits = services(ledger_backend)
    permits.apply(permit("M40", pythons(40), policy=ConsignmentPolicy.MULTIPLE))
    admin = administration(ledger_backend)
    added = admin.add_suspension(
        ADMIN,
        Suspension(
            country="NA",
            taxon="Pythonidae",
            flow=TradeFlow.EXPORT,
            starts_on=TODAY,
            reference="CITES Notif. No. 2026/101",
            sources=frozenset({"C"}),
        ),
        "Standing Committee recommendation",
    )
    held = clearance.clear("D1", 1, export(python_item(1, 1, "M40"))).decision
    assert held.decision is DeclarationDecision.HELD
    assert "CITES Notif. No. 2026/101" in held.items[0].reasons[0].message
    assert added.id is not None
    admin.remove_suspension(ADMIN, added.id, "entered in error")
    assert clearance.clear("D2", 1, export(python_item(1, 1, "M40"))).decision.cleared


def test_every_change_is_audited_with_its_actor_and_a_viewer_changes_nothing(ledger_backend):
    admin = administration(ledger_backend)
    with pytest.raises(NotPermitted):
        admin.set_quota("visitor", python_quota(), "not mine to set")
    admin.set_quota(ADMIN, python_quota(), "2026 quota")
    if hasattr(ledger_backend, "engine"):
        from sqlalchemy import select

        from cites_connector.adapters.sql.hs_schema import admin_audit

        with ledger_backend.engine.connect() as c:
            rows = c.execute(select(admin_audit.c.actor, admin_audit.c.action)).all()
        assert ("amutenya", "quota.set") in [tuple(r) for r in rows]
        assert all(actor != "visitor" for actor, _ in rows)
    else:
        actions = [(a.actor, a.action) for a in ledger_backend.state.hs.admin_audit]
        assert actions == [("amutenya", "quota.set")]
    with ledger_backend.snapshot() as uow:
        assert len(uow.trade.quotas()) == 1


def test_an_import_applies_only_when_a_second_person_approves_it(ledger_backend):
    admin = administration(ledger_backend)
    raw = (REAL / "taxon_concepts_4521_cites_legislation.json").read_bytes()
    found = read_suspensions(raw, taxon="Loxodonta africana").suspensions
    proposal = admin.propose_suspensions(ADMIN, found, "4521.json", "Species+ refresh")
    assert admin.suspensions() == []
    with pytest.raises(NotPermitted):
        admin.approve(ADMIN, "suspensions", proposal.number, "my own")

    done = admin.approve(APPROVER, "suspensions", proposal.number, "checked against Species+")
    assert (done.added, done.replaced, done.unchanged) == (13, 0, 0)
    assert len(admin.suspensions()) == 13
    with pytest.raises(ProposalRefused):
        admin.approve(APPROVER, "suspensions", proposal.number, "twice")

    again = admin.propose_suspensions(ADMIN, found, "4521.json", "refresh")
    assert admin.approve(APPROVER, "suspensions", again.number, "ok").unchanged == 13
    rejected = admin.propose_suspensions(ADMIN, found[:1], "one.json", "x")
    admin.reject(APPROVER, "suspensions", rejected.number, "wrong file")
    statuses = [p.status for p in admin.proposals("suspensions")]
    assert statuses == [ProposalStatus.REJECTED, ProposalStatus.APPROVED, ProposalStatus.APPROVED]


def test_an_approved_quota_import_keeps_what_the_year_used(ledger_backend):
    clearance, permits = services(ledger_backend)
    permits.apply(permit("M40", pythons(40), policy=ConsignmentPolicy.MULTIPLE))
    admin = administration(ledger_backend)
    admin.set_quota(ADMIN, python_quota(10), "2026 quota")
    assert clearance.clear("D1", 1, export(python_item(1, 4, "M40"))).decision.cleared
    raw = (REAL / "taxon_concepts_4521_cites_legislation.json").read_bytes()
    found = read_quotas(raw, home="NA", taxon="Python regius", year=TODAY.year)
    assert len(found.quotas) == 1 and found.other_countries == 4
    proposal = admin.propose_quotas(ADMIN, found.quotas, "4521.json", "x", found.other_countries)
    done = admin.approve(APPROVER, "quotas", proposal.number, "ok")
    assert (done.added, done.replaced) == (0, 1)
    [quota] = admin.quotas(TODAY.year)
    assert (quota.quantity, quota.used) == (Decimal(180), Decimal(4))
