"""Broker notifications in the broker's language (issue 14): catalogs complete for every
reason code, the declarant's language chosen per notification, the default language for a
declarant without one, English for a language without a catalog."""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from lxml import html as lxml_html
from pydantic import ValidationError

from cites_connector.adapters.amqp.publisher import AmqpDeliverer
from cites_connector.adapters.notifications.catalogs import (
    available_languages,
    read_catalog,
    template_catalog,
)
from cites_connector.adapters.notifications.renderer import (
    BrokenTemplate,
    NotificationRenderer,
)
from cites_connector.adapters.notifications.samples import SAMPLE_NOTIFICATIONS
from cites_connector.adapters.outbox.delivery import RetryableDeliveryError
from cites_connector.adapters.outbox.store import OutboxRow
from cites_connector.app.settings import load_settings
from cites_connector.domain.decisions import ReasonCode
from cites_connector.mappings.amqp_names import NOTIFICATIONS_EXCHANGE
from cites_connector.mappings.outbox_messages import broker_notification, declarant_of
from tests.builders import bundled_decider, declaration, item, permit

REPO_TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
SHIPPED = ("en", "es", "fr")
PLACEHOLDER = re.compile(r"%\([a-z_]+\)s")


@pytest.fixture(scope="module")
def renderer() -> NotificationRenderer:
    return NotificationRenderer.from_directory()


def held_notification(declarant: str = "BRK-0042") -> OutboxRow:
    """The outbox row of a real held declaration: item 2 cites no permit."""
    decider = bundled_decider(permit())
    decision = decider.decide("NA-WDH-2026-E-1042", 1, declaration(item(1), item(2, cites=None)))
    message = broker_notification(
        replace(decision, declarant_code=declarant), "decided", "message-1"
    )
    assert message is not None
    return OutboxRow(
        1,
        message.message_id,
        message.channel,
        message.destination,
        message.routing_key,
        message.ordering_key,
        dict(message.body),
        {},
        datetime(2026, 12, 3, tzinfo=UTC),
        0,
    )


def delivered(deliverer: AmqpDeliverer, row: OutboxRow) -> dict:
    return json.loads(deliverer.body(row))


# -- the catalogs -----------------------------------------------------------------------------


def test_english_french_and_spanish_are_shipped():
    assert available_languages() == SHIPPED


@pytest.mark.parametrize("language", SHIPPED)
def test_every_reason_code_is_explained_in_every_catalog(language):
    catalog = read_catalog(language)
    missing = [
        code.value
        for code in ReasonCode
        if code.value not in catalog
        or not catalog[code.value].string
        or catalog[code.value].fuzzy
        or catalog[code.value].string == code.value
    ]
    assert not missing, f"{language}: no explanation for {missing}"


@pytest.mark.parametrize("language", SHIPPED)
def test_every_text_of_the_templates_is_translated_with_its_placeholders(language):
    catalog = read_catalog(language)
    for wanted in template_catalog():
        if not wanted.id:
            continue
        entry = catalog.get(wanted.id)
        assert entry is not None and entry.string and not entry.fuzzy, (language, wanted.id)
        assert sorted(PLACEHOLDER.findall(entry.string)) == sorted(
            PLACEHOLDER.findall(wanted.id)
        ), (language, wanted.id, entry.string)


def test_french_and_spanish_use_the_conventions_vocabulary():
    french, spanish = read_catalog("fr"), read_catalog("es")
    assert "Organe de gestion" in french["PERMIT_CANCELLED"].string
    assert "Autoridad Administrativa" in spanish["PERMIT_CANCELLED"].string
    assert "permis" in french["PERMIT_EXPIRED"].string
    assert "permiso" in spanish["PERMIT_EXPIRED"].string
    assert "certificat" in french["NO_PERMIT_REFERENCED"].string
    assert "certificado" in spanish["NO_PERMIT_REFERENCED"].string


# -- rendering in a language ------------------------------------------------------------------


def test_a_french_declarant_gets_its_notification_in_french(renderer):
    deliverer = AmqpDeliverer(
        "amqp://unused", renderer=renderer, language_of={"BRK-0042": "fr"}.get
    )

    body = delivered(deliverer, held_notification("BRK-0042"))

    assert body["language"] == "fr"
    text, page = body["text"], body["html"]
    assert text.startswith("Contrôle CITES de la déclaration NA-WDH-2026-E-1042 (version 1)")
    assert "Décision : RETENUE" in text
    assert (
        "Motif :       L'article ne mentionne aucun permis ni certificat CITES. "
        "(NO_PERMIT_REFERENCED)"
    ) in text
    assert "                Détails (en anglais) : item 2 (HS 01062000, " in text
    document = lxml_html.document_fromstring(page)
    assert document.get("lang") == "fr"
    assert [th.text_content() for th in document.findall(".//thead/tr/th")][:4] == [
        "Article",
        "Code SH",
        "Désignation",
        "Décision",
    ]
    # the wire fields are the contract's, whatever the language
    assert body["decision"] == "HELD" and body["items"][1]["reasons"][0]["code"] == (
        "NO_PERMIT_REFERENCED"
    )


def test_units_are_words_of_the_language(renderer):
    cleared = SAMPLE_NOTIFICATIONS[0]

    text, _ = renderer.render(cleared, "es")

    assert "Imputado:     40 especímenes" in text
    assert "Saldo:        0 especímenes (permiso agotado)\n" in text
    assert "Imputado:     12.5 kg" in text


def test_a_declarant_without_a_language_gets_the_default_language():
    spanish_default = NotificationRenderer.from_directory(default_language="es")
    deliverer = AmqpDeliverer("amqp://unused", renderer=spanish_default, language_of={}.get)

    body = delivered(deliverer, held_notification("BRK-0042"))

    assert body["language"] == "es"
    assert body["text"].startswith("Control CITES de la declaración NA-WDH-2026-E-1042")


def test_an_unroutable_declarant_gets_the_default_language_without_a_lookup():
    asked: list[str] = []

    def language_of(code: str) -> str | None:
        asked.append(code)
        return "fr"

    french_default = NotificationRenderer.from_directory(default_language="fr")
    deliverer = AmqpDeliverer("amqp://unused", renderer=french_default, language_of=language_of)

    body = delivered(deliverer, held_notification("BRK 0042.#"))

    assert asked == [] and body["language"] == "fr"


def test_a_language_without_a_catalog_falls_back_to_english():
    spanish_default = NotificationRenderer.from_directory(default_language="es")
    deliverer = AmqpDeliverer(
        "amqp://unused", renderer=spanish_default, language_of={"BRK-0042": "de"}.get
    )

    body = delivered(deliverer, held_notification("BRK-0042"))

    assert body["language"] == "en"
    assert body["text"].startswith("CITES check of declaration NA-WDH-2026-E-1042 (version 1)")
    assert "cites no CITES permit or certificate (NO_PERMIT_REFERENCED)" in body["text"]


def test_english_keeps_the_deciders_detailed_message(renderer):
    text, _ = renderer.render(SAMPLE_NOTIFICATIONS[1], "en")

    assert "Reason:       45 specimens declared, 40 left on permit 26NA000123 line A" in text
    assert "Details (in English)" not in text


def test_an_entry_missing_from_a_catalog_is_taken_from_english(tmp_path):
    copy = tmp_path / "templates"
    shutil.copytree(REPO_TEMPLATES, copy)
    po = copy / "notifications/locale/fr/LC_MESSAGES/messages.po"
    text = po.read_text(encoding="utf-8")
    text = text.replace('msgstr "Le permis a expiré."', 'msgstr ""')
    text = text.replace('msgstr "Code SH"', 'msgstr ""')
    po.write_text(text, encoding="utf-8")
    renderer = NotificationRenderer.from_directory(copy)
    body = dict(SAMPLE_NOTIFICATIONS[1])
    body["reasons"] = [{"code": "PERMIT_EXPIRED", "message": "permit X expired on 2026-01-31"}]

    text, page = renderer.render(body, "fr")

    assert "  - The permit has expired. (PERMIT_EXPIRED)" in text
    assert "HS code</th>" in page and "Désignation</th>" in page


def test_a_translation_that_breaks_a_placeholder_stops_the_start_naming_the_template(tmp_path):
    copy = tmp_path / "templates"
    shutil.copytree(REPO_TEMPLATES, copy)
    po = copy / "notifications/locale/es/LC_MESSAGES/messages.po"
    text = po.read_text(encoding="utf-8")
    po.write_text(text.replace("(versión %(version)s)", "(versión %(versión)s)"), "utf-8")

    with pytest.raises(BrokenTemplate, match="broker"):
        NotificationRenderer.from_directory(copy)


def test_a_default_language_without_a_catalog_is_refused_by_the_renderer():
    with pytest.raises(BrokenTemplate, match="available: en, es, fr"):
        NotificationRenderer.from_directory(default_language="de")


def test_a_lookup_that_fails_leaves_the_notification_to_be_retried(renderer):
    def broken(code: str) -> str | None:
        raise OSError("database unreachable")

    deliverer = AmqpDeliverer("amqp://unused", renderer=renderer, language_of=broken)

    with pytest.raises(RetryableDeliveryError, match="language of declarant BRK-0042"):
        deliverer.body(held_notification("BRK-0042"))


@pytest.mark.parametrize(
    ("routing_key", "declarant"),
    [
        ("broker.BRK-0042", "BRK-0042"),
        ("broker.unroutable", None),
        ("usage.recorded", None),
        ("broker.a.b", None),
    ],
)
def test_the_declarant_is_read_back_from_the_routing_key(routing_key, declarant):
    assert declarant_of(routing_key) == declarant


def test_the_notification_exchange_is_the_one_rendered():
    assert held_notification().destination == NOTIFICATIONS_EXCHANGE


# -- the setting ------------------------------------------------------------------------------


def test_the_default_language_is_english_and_may_be_any_with_a_catalog(monkeypatch):
    assert load_settings(home_country="NA").notification_default_language == "en"
    monkeypatch.setenv("CONNECTOR_NOTIFICATION_DEFAULT_LANGUAGE", "fr")
    assert load_settings(home_country="NA").notification_default_language == "fr"


def test_a_default_language_without_a_catalog_is_refused_naming_the_available_ones(
    monkeypatch,
):
    monkeypatch.setenv("CONNECTOR_NOTIFICATION_DEFAULT_LANGUAGE", "de")

    with pytest.raises(ValidationError, match=r"no notification catalog for 'de' \(available: "):
        load_settings(home_country="NA")
