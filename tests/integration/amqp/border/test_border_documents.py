"""Which document fits which specimen (contract 5.1 (v2)), through the real paths: permits
published as JSON to ``cites.permits`` by the permit system, CheckDeclaration over HTTP, and
the ledger read back (usage rows, GetPermitBalance)."""

from __future__ import annotations

import pytest

from tests.integration.amqp.border.border_kit import (
    NAMIBIAN_IMPORTER,
    Item,
    Sad,
    flags,
    imported,
    line,
    permit,
    reasons,
    usages,
)

pytestmark = pytest.mark.rabbitmq

HUNTER = {"name": "Kunene Hunting Safaris CC", "country": "NA", "id": "NA-EXP-0107"}
HUNTER_ABROAD = {"name": "Jagd und Natur GmbH", "country": "DE", "id": None}
CIVET_TROPHY = "9705220000"  # collectors' pieces: any listed animal (hs_codes/hs2022.csv)
LIVE_REPTILES = "0106200000"
LIVE_PARROTS = "0106320000"
WORKED_IVORY = "9601100000"
TUSKS = "0507100000"


def home_export(*items: Item) -> Sad:
    return Sad(
        items,
        exporter=(HUNTER["id"], HUNTER["name"]),
        consignee=("", HUNTER_ABROAD["name"]),
    )


def certificate_of_origin(number: str, *lines: dict) -> dict:
    return permit(
        number,
        *lines,
        issuing_country="NA",
        type="CERTIFICATE_OF_ORIGIN",
        exporter=HUNTER,
        importer=HUNTER_ABROAD,
        purpose="H",
    )


def test_a_certificate_of_origin_clears_appendix_iii_and_not_appendix_ii(world):
    world.publish(
        certificate_of_origin(
            "26NA-CO-0031", line("Civettictis civetta", "III", "W", "TRO", "1", origin_country="NA")
        )
    )
    world.publish(
        certificate_of_origin(
            "26NA-CO-0032", line("Python regius", "II", "C", "LIV", "10", origin_country="NA")
        )
    )

    civet = world.check(
        "WDHA-E-CO-1",
        home_export(
            Item(
                CIVET_TROPHY,
                "African civet, mounted trophy",
                "NA",
                "1",
                documents=[("C400", "26NA-CO-0031")],
            )
        ),
    )
    pythons = world.check(
        "WDHA-E-CO-2",
        home_export(
            Item(
                LIVE_REPTILES,
                "live royal pythons",
                "NA",
                "10",
                documents=[("C400", "26NA-CO-0032")],
            )
        ),
    )

    assert civet["Decision"] == "CLEARED"
    [trophy] = civet["Items"]
    assert (trophy["Status"], trophy["PermitNumber"], reasons(trophy)) == (
        "MATCHED",
        "26NA-CO-0031",
        [],
    )
    assert usages(world, "26NA-CO-0031", "NA") == [("WDHA-E-CO-1", "1")]
    assert world.balance("26NA-CO-0031", "NA")["Status"] == "USED"

    assert pythons["Decision"] == "HELD"
    [held] = pythons["Items"]
    assert reasons(held) == ["PERMIT_WRONG_TYPE"]
    assert "Appendix III" in held["Reasons"][0]["Message"]
    assert usages(world, "26NA-CO-0032", "NA") == []
    balance = world.balance("26NA-CO-0032", "NA")
    assert (balance["Status"], balance["Lines"][0]["Remaining"]) == ("VALID", 10)


def test_a_pre_convention_certificate_admits_an_appendix_i_carving_without_import_permit(world):
    dealer = {"name": "Galerie Drouot Antiquites SARL", "country": "FR", "id": "FR-4419032"}
    world.publish(
        permit(
            "FR/PC/2026/00318",
            line("Loxodonta africana", "I", "O", "IVC", "1", origin_country="FR"),
            issuing_country="FR",
            type="PRE_CONVENTION",
            exporter=dealer,
            purpose="P",
        )
    )
    result = world.check(
        "WDHA-I-PC-1",
        imported(
            Item(
                WORKED_IVORY,
                "carved ivory figure, 1920s",
                "FR",
                "1",
                documents=[("C401", "FR/PC/2026/00318")],
            ),
            export_country="FR",
            exporter=dealer,
        ),
    )

    assert result["Decision"] == "CLEARED"
    [carving] = result["Items"]
    assert (carving["Status"], reasons(carving), flags(carving)) == ("MATCHED", [], [])
    assert usages(world, "FR/PC/2026/00318", "FR") == [("WDHA-I-PC-1", "1")]


def grey_parrots(number: str, source: str, purpose: str) -> dict:
    return permit(
        number,
        line("Psittacus erithacus", "I", source, "LIV", "20", origin_country="ZA"),
        purpose=purpose,
    )


def parrots_citing(*numbers: str) -> Sad:
    return imported(
        Item(
            LIVE_PARROTS,
            "live grey parrots",
            "ZA",
            "20",
            net_mass="9",
            documents=[("C401", n) for n in numbers],
        )
    )


def test_appendix_i_imports_by_source_and_purpose(world):
    world.publish(grey_parrots("ZA/2026/E/0077", "D", "T"))  # bred for commerce, registered
    world.publish(grey_parrots("ZA/2026/E/0078", "W", "Z"))  # wild, for a zoo
    world.publish(grey_parrots("ZA/2026/E/0079", "W", "T"))  # wild, commercial
    world.publish(
        permit(
            "26NA000601",
            line("Psittacus erithacus", "I", "W", "LIV", "20", origin_country="ZA"),
            issuing_country="NA",
            type="IMPORT",
            purpose="T",
        )
    )

    bred = world.check("WDHA-I-SRC-D", parrots_citing("ZA/2026/E/0077"))
    wild = world.check("WDHA-I-SRC-W", parrots_citing("ZA/2026/E/0078"))
    traded = world.check("WDHA-I-PUR-T", parrots_citing("ZA/2026/E/0079", "26NA000601"))

    # Art. VII(4): source D is deemed Appendix II, the export permit alone suffices
    assert bred["Decision"] == "CLEARED"
    assert reasons(bred["Items"][0]) == []
    assert usages(world, "ZA/2026/E/0077", "ZA") == [("WDHA-I-SRC-D", "20")]
    # Art. III(3): wild Appendix I needs the home import permit as well
    assert wild["Decision"] == "HELD"
    assert reasons(wild["Items"][0]) == ["IMPORT_PERMIT_REQUIRED"]
    # Art. III(3)(c): and never for commercial purposes, import permit or not
    assert traded["Decision"] == "HELD"
    assert reasons(traded["Items"][0]) == ["PURPOSE_NOT_ALLOWED"]
    for number, country in [
        ("ZA/2026/E/0078", "ZA"),
        ("ZA/2026/E/0079", "ZA"),
        ("26NA000601", "NA"),
    ]:
        assert usages(world, number, country) == []
        assert world.balance(number, country)["Lines"][0]["Remaining"] == 20


def test_elephants_of_namibia_are_appendix_ii_and_of_kenya_appendix_i(world):
    """hs_codes/taxonomy/listings.csv: Loxodonta africana is in Appendix II for the
    populations of BW, NA, ZA and ZW and in Appendix I elsewhere; 0507.10 (ivory, unworked)
    lists it with terms TUS IVP TEE (hs_codes/hs2022.csv)."""
    outfitter = {"name": "Zambezi Taxidermy (Pty) Ltd", "country": "ZA", "id": "ZA-EXP-0713"}
    curio = {"name": "Mombasa Curio Traders Ltd", "country": "KE", "id": None}
    world.publish(
        permit(
            "ZA/2026/R/0412",
            line("Loxodonta africana", "II", "W", "TUS", "2", origin_country="NA"),
            type="RE_EXPORT",
            exporter=outfitter,
            purpose="H",
        )
    )
    world.publish(
        permit(
            "KE-2026-00451",
            line("Loxodonta africana", "II", "W", "TUS", "2", origin_country="KE"),
            issuing_country="KE",
            exporter=curio,
            importer=NAMIBIAN_IMPORTER,
            purpose="H",
        )
    )

    namibian = world.check(
        "WDHA-I-LOX-NA",
        imported(
            Item(
                TUSKS,
                "elephant tusks, hunting trophy",
                "NA",
                "2",
                net_mass="30.5",
                documents=[("C401", "ZA/2026/R/0412")],
            ),
            exporter=outfitter,
        ),
    )
    kenyan = world.check(
        "WDHA-I-LOX-KE",
        imported(
            Item(
                TUSKS,
                "elephant tusks, hunting trophy",
                "KE",
                "2",
                net_mass="30.5",
                documents=[("C401", "KE-2026-00451")],
            ),
            export_country="KE",
            exporter=curio,
        ),
    )

    assert namibian["Decision"] == "CLEARED"
    assert (reasons(namibian["Items"][0]), flags(namibian["Items"][0])) == ([], [])
    assert usages(world, "ZA/2026/R/0412", "ZA") == [("WDHA-I-LOX-NA", "2")]
    assert kenyan["Decision"] == "HELD"
    [tusks] = kenyan["Items"]
    assert reasons(tusks) == ["IMPORT_PERMIT_REQUIRED"]
    assert flags(tusks) == ["APPENDIX_DIFFERS"]  # the line says II: the stricter I applies
    assert usages(world, "KE-2026-00451", "KE") == []
