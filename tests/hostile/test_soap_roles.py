"""Issue 9, item 17 (SOAP): roles and customs offices, and a /healthz that names no hosts.

Contract sections 1 and 9 (v2): ``check`` allows CheckDeclaration, GetDecision and
GetPermitBalance, ``cancel`` allows CancelDeclaration; a user limited to offices acts only on
SADs of those offices, and CancelDeclaration and GetDecision look at the stored declaration's
office. Anything else is ``Client.Forbidden`` and changes nothing.
"""

from __future__ import annotations

import pytest
import requests

from cites_connector.adapters.metrics.endpoints import connector_version
from cites_connector.adapters.soap.health import HealthCheck, database_probe
from tests.hostile.soap_kit import (
    BALANCE,
    check_request,
    decision_of,
    envelope,
    ledger_dump,
    post,
    refused,
    running_service,
    wsse_text,
)

PASSWORDS = {
    "checker": "pw-check",
    "canceller": "pw-cancel",
    "both": "pw:both",
    "wdha": "pw-wdha",
    "osh": "pw-osh",
    "osh-clerk": "pw@osh",
}
USERS = (
    "checker:pw-check:check,canceller:pw-cancel:cancel,both:pw:both,"
    "wdha:pw-wdha@WDHA,osh:pw-osh:check+cancel@NAOSH+NAWVB,osh-clerk:pw@osh:check@NAOSH"
)


@pytest.fixture
def service(tmp_path):
    with running_service(tmp_path, users=USERS) as running:
        yield running


def as_user(user: str, request: str) -> bytes:
    return envelope(request, wsse_text(user, PASSWORDS[user]))


def cancel(declaration_id: str) -> str:
    return (
        f"<c:CancelDeclarationRequest><c:DeclarationId>{declaration_id}</c:DeclarationId>"
        "<c:Reason>test</c:Reason></c:CancelDeclarationRequest>"
    )


def get_decision(declaration_id: str) -> str:
    return (
        f"<c:GetDecisionRequest><c:DeclarationId>{declaration_id}</c:DeclarationId>"
        "</c:GetDecisionRequest>"
    )


def cleared_by(service, user: str, declaration_id: str) -> None:
    assert decision_of(post(service, as_user(user, check_request(declaration_id)))) == "CLEARED"


def forbidden(service, user: str, request: str, action: str) -> str:
    before = ledger_dump(service.app.engine)
    message = refused(post(service, as_user(user, request), action), "Client.Forbidden")
    assert ledger_dump(service.app.engine) == before
    return message


def test_a_user_without_the_cancel_role_cannot_cancel(service):
    cleared_by(service, "checker", "ROLE-1")
    message = forbidden(service, "checker", cancel("ROLE-1"), "CancelDeclaration")
    assert "cancel" in message and "pw-check" not in message
    assert service.remaining("26NA000131") == "38"


@pytest.mark.parametrize(
    ("request_xml", "action"),
    [
        (check_request("ROLE-2"), "CheckDeclaration"),
        (get_decision("ROLE-2"), "GetDecision"),
        (BALANCE, "GetPermitBalance"),
    ],
)
def test_a_cancel_only_user_cannot_check_or_read(service, request_xml, action):
    forbidden(service, "canceller", request_xml, action)


def test_the_cancel_role_cancels(service):
    cleared_by(service, "checker", "ROLE-3")
    assert (
        post(service, as_user("canceller", cancel("ROLE-3")), "CancelDeclaration").status_code
        == 200
    )
    assert service.remaining("26NA000131") == "50"


def test_a_user_of_other_offices_cannot_check_this_offices_sad(service):
    message = forbidden(service, "osh", check_request("OFFICE-1"), "CheckDeclaration")
    assert "WDHA" in message and "NAOSH" in message


def test_a_user_of_other_offices_cannot_cancel_or_read_a_stored_declaration(service):
    cleared_by(service, "wdha", "OFFICE-2")
    forbidden(service, "osh", cancel("OFFICE-2"), "CancelDeclaration")
    forbidden(service, "osh", get_decision("OFFICE-2"), "GetDecision")
    assert service.remaining("26NA000131") == "38"


def test_an_amendment_claiming_another_office_is_refused(service):
    """A SAD rewritten to the user's office may not amend (and give back) another office's
    declaration: the stored declaration's office decides."""
    cleared_by(service, "wdha", "OFFICE-3")
    moved = check_request("OFFICE-3", version=2).replace(
        "<Customs_clearance_office_code>WDHA<", "<Customs_clearance_office_code>NAOSH<"
    )
    forbidden(service, "osh", moved, "CheckDeclaration")
    assert service.remaining("26NA000131") == "38"


def test_a_sad_without_an_office_is_refused_to_an_office_limited_user(service):
    no_office = check_request("OFFICE-4").replace(
        "<Customs_clearance_office_code>WDHA</Customs_clearance_office_code>", ""
    )
    forbidden(service, "wdha", no_office, "CheckDeclaration")


def test_office_limited_users_work_in_their_own_office(service):
    cleared_by(service, "wdha", "OFFICE-5")
    assert (
        decision_of(post(service, as_user("wdha", get_decision("OFFICE-5")), "GetDecision"))
        == "CLEARED"
    )
    assert (
        post(service, as_user("wdha", cancel("OFFICE-5")), "CancelDeclaration").status_code == 200
    )
    assert post(service, as_user("osh-clerk", BALANCE), "GetPermitBalance").status_code == 200


def test_healthz_names_components_and_states_only(tmp_path):
    """A probe's message may carry the broker's URL and user (the permit consumer's does);
    /healthz is read over the SOAP port, so it says only which component is down."""

    def consumer_probe() -> None:
        raise ConnectionError(
            "permit consumer [0] not connected to RabbitMQ at amqp://cites-svc@10.20.0.7:5672/cites"
        )

    with running_service(tmp_path) as running:
        running.wsgi.health = HealthCheck(
            [("database", database_probe(running.app.engine)), ("permit-consumer", consumer_probe)]
        )
        response = requests.get(f"{running.url}/healthz", timeout=10)
        running.wsgi.health.close()
    assert response.status_code == 503
    assert response.json() == {
        "status": "unavailable",
        "version": connector_version(),
        "checks": {"database": "ok", "permit-consumer": "down"},
    }


def test_healthz_hides_the_database_host_when_it_is_down(tmp_path):
    url = "postgresql+psycopg://cites-db-user:pw@127.0.0.1:9/cites"
    with running_service(tmp_path, permits=False, database_url=url) as running:
        response = requests.get(f"{running.url}/healthz", timeout=10)
    assert response.status_code == 503
    assert response.json() == {
        "status": "unavailable",
        "version": connector_version(),
        "checks": {"database": "down"},
    }
