"""The v2 decision settings (contract 9): CONNECTOR_FOREIGN_PERMIT_MONTHS and
CONNECTOR_DESIGNATED_OFFICES, from the default TOML, the environment, into the policy."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from cites_connector.app.application import build_policy
from cites_connector.app.settings import load_settings
from cites_connector.domain.decisions import ReasonCode, Severity
from cites_connector.mappings.sad_mapping import SadMapping


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    for name in ("CONNECTOR_FOREIGN_PERMIT_MONTHS", "CONNECTOR_DESIGNATED_OFFICES"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CONNECTOR_HOME_COUNTRY", "NA")


def policy():
    return build_policy(load_settings(), SadMapping.default())


def test_the_defaults_are_six_months_and_every_office():
    made = policy()
    assert made.foreign_permit_months == 6
    assert made.designated_offices == frozenset()


def test_the_new_checks_are_risk_flags_by_default():
    made = policy()
    assert made.severity(ReasonCode.OFFICE_NOT_DESIGNATED) is Severity.FLAG
    assert made.severity(ReasonCode.APPENDIX_DIFFERS) is Severity.FLAG
    assert made.severity(ReasonCode.PURPOSE_NOT_ALLOWED) is Severity.BLOCK
    assert made.severity(ReasonCode.QUANTITY_EXCEEDS_EXPORTED) is Severity.BLOCK
    assert made.severity(ReasonCode.ORIGIN_MISMATCH) is Severity.BLOCK


def test_the_environment_sets_them(monkeypatch):
    monkeypatch.setenv("CONNECTOR_FOREIGN_PERMIT_MONTHS", "5")
    monkeypatch.setenv("CONNECTOR_DESIGNATED_OFFICES", " NAWDH, NAWVB ,,NAHKI")
    made = policy()
    assert made.foreign_permit_months == 5
    assert made.designated_offices == frozenset({"NAWDH", "NAWVB", "NAHKI"})


def test_the_office_severity_can_be_made_blocking(monkeypatch):
    monkeypatch.setenv("CONNECTOR_SEVERITIES", '{"OFFICE_NOT_DESIGNATED": "block"}')
    assert policy().severity(ReasonCode.OFFICE_NOT_DESIGNATED) is Severity.BLOCK


@pytest.mark.parametrize("months", ["0", "-1", "six", "121"])
def test_a_month_count_that_makes_no_sense_is_refused(monkeypatch, months):
    monkeypatch.setenv("CONNECTOR_FOREIGN_PERMIT_MONTHS", months)
    with pytest.raises(ValidationError, match="foreign_permit_months"):
        load_settings()


def test_an_office_code_with_a_blank_inside_is_refused(monkeypatch):
    monkeypatch.setenv("CONNECTOR_DESIGNATED_OFFICES", "NA WDH")
    with pytest.raises(ValidationError, match="customs office code"):
        load_settings()
