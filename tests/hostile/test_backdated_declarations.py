"""Issue 9, item 17 (the date rule): a declaration dated to suit an expired permit.

The permit checks compare the permit's validity with the declaration's date, which the trader's
broker writes. Before the fix a declaration backdated into the validity of an expired permit
cleared against it. Contract 5 (v2): ``DECLARATION_DATE_IMPLAUSIBLE`` — the date may not lie in
the future nor more than ``CONNECTOR_MAX_BACKDATE_DAYS`` (default 3) days before the day of the
check (in ``CONNECTOR_TIMEZONE``, default UTC). The service's clock here reads 2026-11-28
10:00 UTC.
"""

from __future__ import annotations

import json

import pytest

from cites_connector.mappings.permit_json import parse_permit
from tests.hostile.clearance_kit import codes, edited_sad, soap_service, write_offs
from tests.integration.soap.conftest import SAMPLE_PERMITS

DATE = "Identification/Registration/Date"


def expired_permit() -> bytes:
    """The sample python permit, but valid only until 2026-11-20."""
    permit = json.loads(SAMPLE_PERMITS)[0] | {
        "permit_number": "26NA000099",
        "valid_from": "2026-09-01",
        "issued_on": "2026-09-01",
        "valid_until": "2026-11-20",
    }
    return json.dumps(permit).encode()


def test_a_declaration_backdated_into_an_expired_permits_validity_is_held(tmp_path):
    sad = edited_sad(
        {DATE: "19/11/2026", "Item/Attached_documents[2]/Attached_document_reference": "26NA000099"}
    )
    with soap_service(tmp_path) as service:
        service.app.permits.apply(parse_permit(expired_permit()))
        before = write_offs(service.app.engine)

        result = service.client().check_declaration("BACK-1", 1, sad)

        assert result["Decision"] == "HELD"
        assert codes(result["Reasons"]) == ["DECLARATION_DATE_IMPLAUSIBLE"]
        message = result["Reasons"][0]["Message"]
        assert "2026-11-19" in message and "2026-11-28" in message and "3 days" in message
        assert write_offs(service.app.engine) == before


@pytest.mark.parametrize("declared", ["24/11/2026", "29/11/2026", "2027-01-15", "01/01/1990"])
def test_a_date_in_the_future_or_more_than_three_days_back_holds_everything(tmp_path, declared):
    with soap_service(tmp_path) as service:
        before = write_offs(service.app.engine)

        result = service.client().check_declaration("DATE-1", 1, edited_sad({DATE: declared}))

        assert result["Decision"] == "HELD"
        assert codes(result["Reasons"]) == ["DECLARATION_DATE_IMPLAUSIBLE"]
        assert write_offs(service.app.engine) == before


def test_the_day_of_the_check_follows_the_configured_time_zone(tmp_path):
    # 2026-11-28 10:00 UTC is already 2026-11-29 in Kiribati (UTC+14): the 29th is today there
    tomorrow_in_utc = edited_sad({DATE: "29/11/2026"})
    with soap_service(tmp_path, timezone="Pacific/Kiritimati") as service:
        result = service.client().check_declaration("TZ-1", 1, tomorrow_in_utc)
    assert result["Decision"] == "CLEARED" and result["Reasons"] == []


@pytest.mark.parametrize("declared", ["25/11/2026", "28/11/2026"])
def test_three_days_back_and_today_are_plausible(tmp_path, declared):
    with soap_service(tmp_path) as service:
        result = service.client().check_declaration("DATE-OK", 1, edited_sad({DATE: declared}))
    assert result["Decision"] == "CLEARED"
