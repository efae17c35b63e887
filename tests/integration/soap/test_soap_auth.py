"""WS-Security UsernameToken on the clearance service (contract section 1)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from zeep.wsse.username import UsernameToken

from cites_connector.adapters.soap.clearance_client import ClearanceFault
from tests.integration.soap.conftest import SAMPLE_SAD, USERS, envelope, fault_of


def refused(call) -> ClearanceFault:
    with pytest.raises(ClearanceFault) as caught:
        call()
    assert caught.value.code == "Client.Authentication"
    assert caught.value.faultcode == "soap:Client.Authentication"
    return caught.value


def test_password_text_and_password_digest_are_both_accepted(service):
    assert service.client(digest=False).get_permit_balance("26NA000123")["Status"] == "VALID"
    digest = service.client(digest=True)
    assert digest.check_declaration("AUTH-1", 1, SAMPLE_SAD)["Decision"] == "CLEARED"
    assert digest.get_decision("AUTH-1")["Decision"] == "CLEARED"  # a fresh nonce per call


def test_a_password_with_a_colon_is_read_whole(service):
    assert ":" in USERS["customs"]
    assert service.client("customs").get_permit_balance("26NA000123")


def test_a_request_without_a_token_is_refused_and_writes_nothing(service):
    fault = refused(lambda: service.client(user=None).check_declaration("A-0", 1, SAMPLE_SAD))
    assert "UsernameToken" in fault.message
    assert service.remaining("26NA000123") == "40"


def test_a_wrong_password_is_refused_and_writes_nothing(service):
    client = service.client("customs", password="guess")
    fault = refused(lambda: client.check_declaration("A-1", 1, SAMPLE_SAD))
    assert "guess" not in fault.message
    assert service.remaining("26NA000123") == "40"


def test_an_unknown_user_is_refused(service):
    refused(lambda: service.client("mallory", password="x").get_permit_balance("26NA000123"))


def test_a_wrong_digest_is_refused(service):
    client = service.client("customs", password="guess", digest=True)
    refused(lambda: client.check_declaration("A-2", 1, SAMPLE_SAD))
    assert service.remaining("26NA000131") == "50"


def test_a_replayed_nonce_is_refused(service):
    client = service.client(digest=True)
    client.client.wsse = UsernameToken(
        "customs",
        USERS["customs"],
        use_digest=True,
        nonce="the-same-nonce",
        created=datetime.now(UTC),
    )
    assert client.get_permit_balance("26NA000123")["Status"] == "VALID"
    fault = refused(lambda: client.check_declaration("A-3", 1, SAMPLE_SAD))
    assert "used before" in fault.message
    assert service.remaining("26NA000123") == "40"


def test_a_digest_created_outside_the_window_is_refused(service):
    client = service.client(digest=True)
    client.client.wsse = UsernameToken(
        "customs", USERS["customs"], use_digest=True, created=datetime.now(UTC) - timedelta(hours=1)
    )
    fault = refused(lambda: client.get_permit_balance("26NA000123"))
    assert "Created" in fault.message


def test_a_digest_without_nonce_and_created_is_refused(service):
    header = (
        '<soap:Header><wsse:Security xmlns:wsse="http://docs.oasis-open.org/wss/2004/01/'
        'oasis-200401-wss-wssecurity-secext-1.0.xsd"><wsse:UsernameToken>'
        '<wsse:Username>customs</wsse:Username><wsse:Password Type="http://docs.oasis-'
        'open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordDigest">'
        "AAAA</wsse:Password></wsse:UsernameToken></wsse:Security></soap:Header>"
    )
    body = (
        "<c:GetPermitBalanceRequest><c:PermitNumber>26NA000123</c:PermitNumber>"
        "</c:GetPermitBalanceRequest>"
    )
    code, message, _ = fault_of(service.post(envelope(body, header), "GetPermitBalance"))
    assert code == "Client.Authentication" and "Nonce" in message


def test_with_auth_off_calls_need_no_token(open_service):
    client = open_service.client(user=None)
    assert client.check_declaration("OFF-1", 1, SAMPLE_SAD)["Decision"] == "CLEARED"
    assert open_service.remaining("26NA000131") == "38"


def zeep_timestamp(seconds: int = 300):
    """A wsu:Timestamp as zeep's users build one (zeep.wsse.utils.WSU)."""
    from zeep.wsse.utils import WSU

    now = datetime.now(UTC).replace(microsecond=0)
    return WSU.Timestamp(
        WSU.Created(now.isoformat().replace("+00:00", "Z")),
        WSU.Expires((now + timedelta(seconds=seconds)).isoformat().replace("+00:00", "Z")),
    )


@pytest.mark.parametrize("digest", [False, True])
def test_zeep_with_a_timestamp_reads_the_timestamped_reply(service, digest):
    """The reply's Security header (mustUnderstand, with a wsu:Timestamp) does not trouble
    zeep, with either password type."""
    client = service.client(digest=digest)
    client.client.wsse = UsernameToken(
        "customs", USERS["customs"], use_digest=digest, timestamp_token=zeep_timestamp()
    )
    assert client.check_declaration("TS-1", 1, SAMPLE_SAD)["Decision"] in ("CLEARED", "HELD")


def test_the_same_nonce_is_refused_by_another_service_on_the_same_database(tmp_path):
    from tests.integration.soap.conftest import running_service

    token = UsernameToken(
        "customs", USERS["customs"], use_digest=True, nonce="once only", created=datetime.now(UTC)
    )
    with running_service(tmp_path) as first, running_service(tmp_path) as second:
        one, two = first.client(digest=True), second.client(digest=True)
        one.client.wsse = two.client.wsse = token
        assert one.get_permit_balance("26NA000123")["Status"] == "VALID"
        fault = refused(lambda: two.get_permit_balance("26NA000123"))
    assert "used before" in fault.message
