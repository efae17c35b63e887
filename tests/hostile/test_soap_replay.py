"""Issue 9, item 8: replayed and stale WS-Security tokens (contract section 1, v2).

Each refusal is ``Client.Authentication`` and leaves the ledger as it was. The nonce store is
the database, so a request captured on its way to one connector process is refused by another
sharing the database; the nonce is known by its bytes, so re-spelling its Base64 text does not
make it new.
"""

from __future__ import annotations

import base64

import pytest
from lxml import etree

from tests.hostile.soap_kit import (
    BALANCE,
    WSSE,
    WSU,
    check_request,
    decision_of,
    digest_header,
    envelope,
    fresh_nonce,
    ledger_dump,
    post,
    refused,
    running_service,
    text_header_with_timestamp,
    timestamp,
    utc,
)

_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


def spellings(nonce: bytes) -> list[str]:
    """Base64 texts that decode to the 16 bytes of ``nonce``, the canonical one first.

    The last data character of a 16-byte nonce carries 2 bits and 4 unused ones: 16 letters
    decode alike. XML whitespace may stand anywhere (xsd:base64Binary), padding may be left off.
    """
    canonical = base64.b64encode(nonce).decode()
    assert len(canonical) == 24 and canonical.endswith("==")
    head, last = canonical[:21], _ALPHABET.index(canonical[21])
    letters = [_ALPHABET[(last & 0b110000) | low] for low in range(16)]
    variants = [head + c + "==" for c in sorted(letters, key=lambda c: c != canonical[21])]
    variants += [
        " " + canonical,
        canonical + "\n",
        "\n\t" + canonical + "  ",
        canonical[:12] + "\n" + canonical[12:],
        canonical[:8] + "\r\n" + canonical[8:],
        " ".join(canonical[i : i + 4] for i in range(0, 24, 4)),
        canonical[:-2],
        canonical[:-1],
        canonical[:-2] + "\n=\n=",
    ]
    assert len(set(variants)) == len(variants) == 25
    assert all(base64.b64decode("".join(v.split()).rstrip("=") + "==") == nonce for v in variants)
    return variants


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    with running_service(tmp_path_factory.mktemp("replay")) as running:
        yield running


NONCE = fresh_nonce()
SPELLINGS = spellings(NONCE)


@pytest.fixture(scope="module")
def first_use(service):
    """The nonce used once, in its canonical spelling, by a genuine balance enquiry."""
    created = utc()
    response = post(
        service,
        envelope(BALANCE, digest_header(NONCE, SPELLINGS[0], created=created)),
        "GetPermitBalance",
    )
    assert response.status_code == 200, response.text
    return created


@pytest.mark.parametrize("spelling", SPELLINGS[1:], ids=[repr(s) for s in SPELLINGS[1:]])
def test_every_spelling_of_a_used_nonce_is_a_replay(service, first_use, spelling):
    before = ledger_dump(service.app.engine)
    body = envelope(
        check_request("REPLAY-SPELT"), digest_header(NONCE, spelling, created=first_use)
    )
    message = refused(post(service, body), "Client.Authentication")
    assert "used before" in message
    assert ledger_dump(service.app.engine) == before


@pytest.fixture(params=["sqlite", "postgres"])
def two_processes(request, tmp_path):
    """Two connector services (each its own application, engine and server) on one database."""
    overrides = (
        {}
        if request.param == "sqlite"
        else {"database_url": request.getfixturevalue("postgres_url")}
    )
    with (
        running_service(tmp_path, **overrides) as first,
        running_service(tmp_path, **overrides) as second,
    ):
        yield first, second


def test_a_request_replayed_to_another_process_sharing_the_database_is_refused(two_processes):
    """The captured CancelDeclaration would otherwise undo the amended declaration's
    write-offs: the endorsement gone, the goods already cleared."""
    first, second = two_processes
    assert (
        decision_of(post(first, envelope(check_request("REPLAY-X1"), digest_header(fresh_nonce()))))
        == "CLEARED"
    )
    cancel = envelope(
        "<c:CancelDeclarationRequest><c:DeclarationId>REPLAY-X1</c:DeclarationId>"
        "</c:CancelDeclarationRequest>",
        digest_header(fresh_nonce()),
    )
    assert post(first, cancel, "CancelDeclaration").status_code == 200
    assert (
        decision_of(
            post(
                first, envelope(check_request("REPLAY-X1", version=2), digest_header(fresh_nonce()))
            )
        )
        == "CLEARED"
    )
    before = ledger_dump(second.app.engine)
    message = refused(post(second, cancel, "CancelDeclaration"), "Client.Authentication")
    assert "used before" in message
    assert ledger_dump(second.app.engine) == before
    assert second.remaining("26NA000131") == "38"


STALE = {
    "token Created older than the window": lambda: digest_header(fresh_nonce(), created=utc(-301)),
    "token Created beyond the allowed skew": lambda: digest_header(fresh_nonce(), created=utc(+90)),
    "Timestamp Created older than the window": lambda: text_header_with_timestamp(
        timestamp(utc(-400), utc(+60))
    ),
    "Timestamp Created beyond the allowed skew": lambda: text_header_with_timestamp(
        timestamp(utc(+120), utc(+400))
    ),
    "Timestamp Expires in the past": lambda: text_header_with_timestamp(
        timestamp(utc(-120), utc(-5))
    ),
    "Timestamp Expires before Created": lambda: text_header_with_timestamp(
        timestamp(utc(-10), utc(-20))
    ),
    "Timestamp without Created": lambda: text_header_with_timestamp(
        f"<wsu:Timestamp><wsu:Expires>{utc(60)}</wsu:Expires></wsu:Timestamp>"
    ),
    "two Timestamps": lambda: text_header_with_timestamp(
        timestamp(utc(), utc(60)) + timestamp(utc(), utc(60))
    ),
    "Timestamp Created not a time": lambda: text_header_with_timestamp(
        timestamp("yesterday", utc(60))
    ),
    "digest and Timestamp both stale": lambda: digest_header(
        fresh_nonce(), created=utc(-600), timestamp=timestamp(utc(-600), utc(-300))
    ),
}


@pytest.mark.parametrize("case", list(STALE))
def test_a_stale_or_expired_request_is_refused(service, case):
    before = ledger_dump(service.app.engine)
    refused(
        post(service, envelope(check_request("STALE-1"), STALE[case]())), "Client.Authentication"
    )
    assert ledger_dump(service.app.engine) == before


def test_a_fresh_timestamp_is_accepted_and_the_response_carries_one(service):
    response = post(
        service,
        envelope(BALANCE, text_header_with_timestamp(timestamp(utc(+30), utc(+300)))),
        "GetPermitBalance",
    )
    assert response.status_code == 200, response.text
    root = etree.fromstring(response.content)
    stamp = root.find(
        f"{{http://schemas.xmlsoap.org/soap/envelope/}}Header/{{{WSSE}}}Security/{{{WSU}}}Timestamp"
    )
    assert stamp is not None
    assert stamp.findtext(f"{{{WSU}}}Created") < stamp.findtext(f"{{{WSU}}}Expires")


def test_a_response_has_no_timestamp_when_the_request_had_none(service):
    response = post(service, envelope(BALANCE), "GetPermitBalance")
    assert response.status_code == 200
    assert b"Timestamp" not in response.content
