"""Broker notifications rendered from the editable templates (contract 3.4)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from lxml import html as lxml_html

from cites_connector.adapters.notifications.renderer import (
    DEFAULT_DIRECTORY,
    HTML_TEMPLATE,
    TEXT_TEMPLATE,
    BrokenTemplate,
    NotificationRenderer,
)
from cites_connector.adapters.notifications.samples import SAMPLE_NOTIFICATIONS
from cites_connector.mappings.outbox_messages import broker_notification
from tests.builders import (
    bundled_decider,
    declaration,
    item,
    permit,
    permit_line,
)

REPO_TEMPLATES = Path(__file__).resolve().parents[2] / "templates"


@pytest.fixture(scope="module")
def renderer() -> NotificationRenderer:
    return NotificationRenderer.from_directory()


@pytest.fixture
def template_copy(tmp_path: Path) -> Path:
    """A copy of the shipped templates an administrator could break."""
    copy = tmp_path / "templates"
    shutil.copytree(REPO_TEMPLATES, copy)
    return copy


def notification(*items, permits=None, event: str = "decided") -> dict:
    """The body ``messages.broker_notification`` builds for a real decision."""
    decider = bundled_decider(*(permits if permits is not None else [permit()]))
    decision = decider.decide("NA-WDH-2026-E-1042", 1, declaration(*items))
    return broker_notification(decision, event, "message-1").body


def table_rows(page: str) -> list[list[str]]:
    document = lxml_html.document_fromstring(page)
    return [
        [" ".join(cell.text_content().split()) for cell in row.findall("td")]
        for row in document.findall(".//table/tbody/tr")
    ]


def break_template(directory: Path, name: str, old: str, new: str) -> None:
    path = directory / name
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


# -- rendering --------------------------------------------------------------------------------


def test_default_templates_are_the_repository_folder():
    assert DEFAULT_DIRECTORY == REPO_TEMPLATES


@pytest.mark.parametrize(
    "sample", SAMPLE_NOTIFICATIONS, ids=lambda s: f"{s['decision']}-{s['event']}"
)
def test_every_sample_renders_as_text_and_html_naming_the_declaration(renderer, sample):
    text, page = renderer.render(sample)

    assert f"declaration {sample['declaration_id']} (version {sample['version']})" in text
    assert f"declaration {sample['declaration_id']} (version {sample['version']})" in page
    assert len(table_rows(page)) == len(sample["items"])


def test_cleared_declaration_shows_permit_line_written_off_and_remaining(renderer):
    body = notification(item(specimens=3), permits=[permit("26NA000123", permit_line(quantity=10))])

    text, page = renderer.render(body)

    assert body["decision"] == "CLEARED"
    assert table_rows(page) == [
        [
            "1",
            "01062000",
            "—",
            "Matched to permit",
            "26NA000123 (NA), line A",
            "3 specimens",
            "7 specimens (permit used up)",
            "—",
        ]
    ]  # SINGLE: one consignment
    assert "Written off:  3 specimens" in text
    assert "Decision: CLEARED" in text


def test_held_item_shows_its_reasons_in_plain_words_and_nothing_written_off(renderer):
    body = notification(item(1), item(2, cites=None))

    text, page = renderer.render(body)

    first, second = table_rows(page)
    assert body["decision"] == "HELD"
    assert first[3:7] == [
        "Fits its permit; waits for the other items",
        "26NA000123 (NA), line A",
        "nothing",
        "—",
    ]
    assert second[3] == "Held"
    assert "cites no CITES permit or certificate (NO_PERMIT_REFERENCED)" in second[7]
    assert "cites no CITES permit or certificate (NO_PERMIT_REFERENCED)" in text
    assert "Nothing has been written off" in text


def test_quantity_in_kilograms_reads_kg(renderer):
    sample = SAMPLE_NOTIFICATIONS[0]

    _, page = renderer.render(sample)

    skins = table_rows(page)[1]
    assert skins[5:7] == ["12.5 kg", "23 kg"]  # a MULTIPLE permit line drawn down


def test_cancellation_reports_quantities_given_back(renderer):
    text, page = renderer.render(SAMPLE_NOTIFICATIONS[2])

    assert "has been cancelled" in text
    assert "Given back:   40 specimens" in text
    assert "<th" in page and "Given back</th>" in page


def test_goods_description_with_markup_is_escaped_in_html(renderer):
    body = notification(item(description='<script>alert("x")</script><b>pythons</b>'))

    text, page = renderer.render(body)

    assert "<script>" not in page and "<b>pythons" not in page
    assert "&lt;script&gt;" in page
    assert table_rows(page)[0][2] == '<script>alert("x")</script><b>pythons</b>'
    assert '<script>alert("x")</script>' in text  # plain text is not HTML: no escaping


def test_html_is_an_html5_document_with_inline_styles_only(renderer):
    _, page = renderer.render(SAMPLE_NOTIFICATIONS[1])

    document = lxml_html.document_fromstring(page)
    assert page.startswith("<!DOCTYPE html>")
    assert document.get("lang") == "en"
    assert document.find(".//meta").get("charset") == "utf-8"
    assert document.findall(".//style") == [] and document.findall(".//link") == []
    assert [th.text_content() for th in document.findall(".//thead/tr/th")] == [
        "Item",
        "HS code",
        "Description",
        "Decision",
        "Permit and line",
        "Written off",
        "Remaining on the line",
        "Reasons",
    ]


# -- broken templates are caught at start-up --------------------------------------------------


def test_template_with_a_syntax_error_fails_at_construction_naming_file_and_line(template_copy):
    break_template(template_copy, HTML_TEMPLATE, "{% endfor %}\n</tbody>", "{% endfo %}\n</tbody>")

    with pytest.raises(BrokenTemplate) as caught:
        NotificationRenderer.from_directory(template_copy)

    message = caught.value.message
    assert message.startswith(
        f"notification template {HTML_TEMPLATE} ({template_copy / HTML_TEMPLATE}), line "
    )
    assert "endfo" in message


def test_template_with_an_unknown_variable_fails_at_construction_naming_file_and_line(
    template_copy,
):
    break_template(template_copy, TEXT_TEMPLATE, "{{ item.hs_code }}", "{{ item.hs_cod }}")
    broken_line = next(
        number
        for number, line in enumerate(
            (template_copy / TEXT_TEMPLATE).read_text().splitlines(), start=1
        )
        if "hs_cod " in line
    )

    with pytest.raises(BrokenTemplate) as caught:
        NotificationRenderer.from_directory(template_copy)

    assert caught.value.message.startswith(
        f"notification template {TEXT_TEMPLATE} ({template_copy / TEXT_TEMPLATE}), "
        f"line {broken_line}: "
    )
    assert "hs_cod" in caught.value.message


def test_unknown_variable_in_a_rarely_taken_branch_is_caught_at_construction(template_copy):
    # only the cancellation sample takes this branch: written_off short-circuits otherwise
    break_template(
        template_copy, HTML_TEMPLATE, "(written_off or given_back)", "(written_off or given_bak)"
    )

    with pytest.raises(BrokenTemplate, match="given_bak"):
        NotificationRenderer.from_directory(template_copy)


def test_missing_template_fails_at_construction(template_copy):
    (template_copy / TEXT_TEMPLATE).unlink()

    with pytest.raises(BrokenTemplate, match=f"{TEXT_TEMPLATE} is missing"):
        NotificationRenderer.from_directory(template_copy)


def test_template_cannot_reach_python_internals(template_copy):
    break_template(template_copy, TEXT_TEMPLATE, '{{ "=" * 60 }}', "{{ items.__class__.__mro__ }}")

    with pytest.raises(BrokenTemplate, match="unsafe"):
        NotificationRenderer.from_directory(template_copy)


def test_body_lacking_a_field_fails_with_a_message_naming_template_and_field(renderer):
    body = dict(SAMPLE_NOTIFICATIONS[0])
    del body["event"]

    with pytest.raises(BrokenTemplate, match="'event' is undefined"):
        renderer.render(body)
