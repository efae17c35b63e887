"""CONNECTOR_SOAP_USERS: user:password[:role+role][@OFFICE+OFFICE] (contract section 9, v2)."""

from __future__ import annotations

import pytest

from cites_connector.adapters.soap.users import Forbidden, SoapUser, parse_users

BOTH = frozenset({"check", "cancel"})


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("customs:pw", SoapUser("customs", "pw", BOTH, None)),
        ("customs:s3cret:pw", SoapUser("customs", "s3cret:pw", BOTH, None)),
        ("clerk:pw:check", SoapUser("clerk", "pw", frozenset({"check"}), None)),
        ("chief:pw:cancel+check", SoapUser("chief", "pw", BOTH, None)),
        ("wdh:pw@WDHA", SoapUser("wdh", "pw", BOTH, frozenset({"WDHA"}))),
        (
            "osh:pw:check@NAOSH+NAWVB",
            SoapUser("osh", "pw", frozenset({"check"}), frozenset({"NAOSH", "NAWVB"})),
        ),
        ("mail:p@ss", SoapUser("mail", "p@ss", BOTH, None)),  # lower case: not an office
        ("odd:p@WDHA:check+cancel", SoapUser("odd", "p@WDHA", BOTH, None)),
        ("odder:x:check:check", SoapUser("odder", "x:check", frozenset({"check"}), None)),
        ("plain:check", SoapUser("plain", "check", BOTH, None)),  # a password, not a role
    ],
)
def test_an_entry_is_read_from_its_end(spec, expected):
    assert parse_users(spec) == {expected.name: expected}


def test_several_entries_and_blanks():
    users = parse_users(" a:1 , ,b:2:cancel ")
    assert sorted(users) == ["a", "b"] and users["b"].roles == {"cancel"}


@pytest.mark.parametrize(
    "spec", ["nosecret-separator", ":secret", "user:", "a:secret-1,a:secret-2"]
)
def test_a_bad_entry_is_refused_without_showing_passwords(spec):
    with pytest.raises(ValueError) as refused:
        parse_users(spec)
    assert "entry" in str(refused.value) and "secret" not in str(refused.value)


def test_roles_and_offices_decide():
    clerk = parse_users("clerk:pw:check@WDHA")["clerk"]
    clerk.require_role("CheckDeclaration")
    clerk.require_role("GetPermitBalance")
    clerk.require_office("wdha", "the SAD")
    with pytest.raises(Forbidden):
        clerk.require_role("CancelDeclaration")
    with pytest.raises(Forbidden):
        clerk.require_office("NAOSH", "the SAD")
    with pytest.raises(Forbidden):
        clerk.require_office(None, "the SAD")
    parse_users("any:pw")["any"].require_office(None, "the SAD")  # no office: every office
