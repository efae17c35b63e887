"""TRADE_SUSPENDED and QUOTA_EXCEEDED over real HTTP: CheckDeclaration called by zeep on the
served WSDL, the suspension and the quota stored as an administrator stores them."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from cites_connector.domain.trade_controls import ExportQuota, Suspension, TradeFlow
from cites_connector.services.trade_admin import TradeControlAdmin
from tests.integration.soap.conftest import CLOCK, SAMPLE_SAD

ADMIN = "amutenya"


def administration(service) -> TradeControlAdmin:
    app = service.app
    return TradeControlAdmin(
        app.ledger,
        roles={ADMIN: "editor"},
        taxonomy=app.rulebook.taxonomy,
        home_country="NA",
        clock=lambda: CLOCK,
    )


def crocodile_quota(kilograms: str) -> ExportQuota:
    return ExportQuota(
        country="NA",
        taxon="Crocodylus niloticus",
        year=2026,
        quantity=Decimal(kilograms),
        unit="KIL",
        term="SKI",
    )


def test_an_export_of_a_suspended_taxon_is_held_naming_the_notification(service):
    administration(service).add_suspension(
        ADMIN,
        Suspension(
            country="NA",
            taxon="Pythonidae",
            flow=TradeFlow.EXPORT,
            starts_on=date(2026, 11, 1),
            reference="CITES Notif. No. 2026/099",
        ),
        "Standing Committee recommendation",
    )
    result = service.client().check_declaration("SUS-E1042", 1, SAMPLE_SAD)

    assert result["Decision"] == "HELD"
    pythons, skins, _ = result["Items"]
    assert pythons["Status"] == "HELD"
    [reason] = pythons["Reasons"]
    assert reason["Code"] == "TRADE_SUSPENDED"
    assert "CITES Notif. No. 2026/099" in reason["Message"]
    assert skins["Reasons"] == []
    assert service.remaining("26NA000123") == "40"
    assert service.remaining("26NA000131") == "50"


def test_an_export_over_the_quota_is_held_and_one_within_it_counts(service):
    admin = administration(service)
    admin.set_quota(ADMIN, crocodile_quota("11.999"), "2026 quota")
    held = service.client().check_declaration("QUO-E1042", 1, SAMPLE_SAD)
    assert held["Decision"] == "HELD"
    skins = held["Items"][1]
    assert [r["Code"] for r in skins["Reasons"]] == ["QUOTA_EXCEEDED"]
    assert service.remaining("26NA000131") == "50"

    admin.set_quota(ADMIN, crocodile_quota("12"), "quota corrected")
    cleared = service.client().check_declaration("QUO-E1042", 2, SAMPLE_SAD)
    assert cleared["Decision"] == "CLEARED"
    [quota] = admin.quotas(2026)
    assert quota.used == Decimal(12)
