"""Signed ePermits (docs/signatures.md): what each policy accepts and refuses, read through
``parse_epermit`` with documents signed in the test by throwaway keys."""

from __future__ import annotations

import datetime

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from cites_connector.devtools.epermit_signing import make_authority
from cites_connector.mappings.epermit_signature import (
    SIGNATURE_INVALID,
    SIGNATURE_MISSING,
    SignatureRefused,
    SignatureRules,
    signer_name,
)
from cites_connector.mappings.epermit_xml import parse_epermit
from tests.signing import (
    PARROTS_COUNTRY,
    altered,
    parrots,
    rsa_authority,
    rules,
    sha1_signed,
    signature_moved_into_forgery,
    signed,
    south_africa,
    wrapped_inside_forgery,
    wrapped_next_to_forgery,
)


def read(document: bytes, signature_rules: SignatureRules):
    return parse_epermit(document, version=1, signatures=signature_rules)


def refused(document: bytes, signature_rules: SignatureRules) -> SignatureRefused:
    with pytest.raises(SignatureRefused) as caught:
        read(document, signature_rules)
    return caught.value


@pytest.mark.parametrize("policy", ["require", "verify"])
def test_a_valid_signature_by_a_trusted_authority_is_accepted_and_the_signer_recorded(policy):
    za = south_africa()
    permit = read(signed(za), rules(policy, ("ZA", za.certificate)))
    # RFC 4514: a comma inside a value is escaped, so the name cannot be misread
    assert permit.signer == "CN=Department of Forestry\\, Fisheries and the Environment, C=ZA"
    assert not permit.unsigned
    assert permit.lines[0].quantity == 30


def test_rsa_2048_and_sha512_are_accepted():
    za = rsa_authority(2048)
    document = signed(za, signature_algorithm="rsa-sha512", digest_algorithm="sha512")
    assert read(document, rules("require", ("ZA", za.certificate))).signer == signer_name(
        za.certificate
    )


def test_a_certificate_issued_by_a_trusted_national_ca_is_trusted():
    ca = make_authority("ZA", "South African CITES CA")
    signing = make_authority("ZA", "DFFE permit office", issuer=ca)
    permit = read(signed(signing), rules("require", ("ZA", ca.certificate)))
    assert permit.signer == "CN=DFFE permit office, C=ZA"


def test_an_unsigned_epermit_is_flagged_under_verify_and_refused_under_require():
    za = south_africa()
    permit = read(parrots(), rules("verify", ("ZA", za.certificate)))
    assert permit.unsigned and permit.signer is None
    assert refused(parrots(), rules("require", ("ZA", za.certificate))).code == SIGNATURE_MISSING


def test_policy_off_looks_at_nothing():
    za = south_africa()
    off = rules("off")
    assert not read(parrots(), off).unsigned
    permit = read(altered(signed(za)), off)  # not even a broken signature
    assert permit.signer is None and not permit.unsigned
    assert permit.lines[0].quantity == 300


ATTACKS = {
    "altered after signing": lambda za: altered(signed(za)),
    "SHA-1": sha1_signed,
    "signed element next to a forged one": lambda za: wrapped_next_to_forgery(signed(za)),
    "signed element inside a forged one": lambda za: wrapped_inside_forgery(signed(za)),
    "signature moved onto a forgery": lambda za: signature_moved_into_forgery(signed(za)),
}


@pytest.mark.parametrize("attack", ATTACKS, ids=list(ATTACKS))
@pytest.mark.parametrize("policy", ["require", "verify"])
def test_a_bad_signature_is_refused_under_require_and_verify(attack, policy):
    za = rsa_authority(2048)  # SHA-1 needs RSA
    refusal = refused(ATTACKS[attack](za), rules(policy, ("ZA", za.certificate)))
    assert refusal.code == SIGNATURE_INVALID
    assert refusal.message.startswith("SIGNATURE_INVALID: ")


def test_a_signer_not_in_the_trust_store_is_refused():
    za, stranger = south_africa(), make_authority("ZA", "Department of Forestry (not really)")
    refusal = refused(signed(stranger), rules("verify", ("ZA", za.certificate)))
    assert refusal.code == SIGNATURE_INVALID
    assert "not trusted for ZA" in refusal.detail


def test_a_certificate_trusted_for_another_country_is_not_trusted_for_this_one():
    namibia = make_authority("NA")
    refusal = refused(signed(namibia), rules("verify", ("NA", namibia.certificate)))
    assert f"no Management Authority certificate for {PARROTS_COUNTRY}" in refusal.detail


def test_an_rsa_key_under_2048_bits_is_refused():
    weak = rsa_authority(1024)
    refusal = refused(signed(weak), rules("verify", ("ZA", weak.certificate)))
    assert "1024 bits" in refusal.detail


def test_an_expired_certificate_is_refused():
    old = make_authority("ZA", days=-1)
    refusal = refused(signed(old), rules("verify", ("ZA", old.certificate)))
    assert refusal.code == SIGNATURE_INVALID


def test_a_signed_permit_inside_an_epix_envelope_verifies():
    za = make_authority("ZA", key=ec.generate_private_key(ec.SECP384R1()))
    document = signed(za, signature_algorithm="ecdsa-sha384", digest_algorithm="sha384")
    inner = document.split(b"?>", 1)[1]
    envelope = (
        b'<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" '
        b'xmlns:x="urn:example:epix"><soap:Body><x:Answer>' + inner + b"</x:Answer>"
        b"</soap:Body></soap:Envelope>"
    )
    assert read(envelope, rules("require", ("ZA", za.certificate))).signer


def test_the_policy_must_be_known():
    with pytest.raises(ValueError):
        SignatureRules(policy="maybe")  # type: ignore[arg-type]


def test_signer_name_reads_most_significant_last():
    za = make_authority("ZA")
    assert signer_name(za.certificate) == "CN=Management Authority of South Africa, C=ZA"
    assert za.certificate.not_valid_after_utc > datetime.datetime.now(datetime.UTC)
