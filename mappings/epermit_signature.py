"""The XML Signature of an ePermit, checked with signxml (the CITES ePermitting Toolkit's advice).

An issuing Management Authority signs the ePermit element with one *enveloped* signature over
the whole element (``<ds:Reference URI="">`` with the enveloped-signature transform), the
signing certificate in ``KeyInfo/X509Data``. What is believed of a signed document is only what
signxml returns as verified (``signed_xml``): the mapping reads that, never the document as
received, which is what defeats signature wrapping (a signed element moved next to a forged
one). On top of signxml's own checks:

- exactly one ``ds:Signature`` in the payload (the bare document, or the SOAP Body around the
  permit), and it is a child of the ePermit element;
- exactly one reference, and it is ``URI=""``: the whole element, nothing less;
- digests SHA-256, SHA-384 or SHA-512; signatures RSA or ECDSA with one of those; an RSA key
  of 2048 bits or more, an EC key of 256 bits or more (no SHA-1, no short keys);
- the signing certificate is trusted for the permit's issuing country: one of that country's
  certificates in the trust store, or issued by one. The country is the signed document's, so
  this is checked after mapping (``check_trusted``).

Nothing here reads files: the trust store's certificates come in through ``SignatureRules``.
"""

from __future__ import annotations

import base64
import binascii
import datetime
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from lxml import etree
from signxml.algorithms import DigestAlgorithm, SignatureMethod
from signxml.exceptions import SignXMLException
from signxml.verifier import SignatureConfiguration, XMLVerifier

from cites_connector.domain.errors import PermitEventRefused

SIGNATURE_INVALID = "SIGNATURE_INVALID"
SIGNATURE_MISSING = "SIGNATURE_MISSING"
DS = "http://www.w3.org/2000/09/xmldsig#"
_NS = {"ds": DS}

#: ``require``: unsigned or badly signed is refused; ``verify``: badly signed is refused,
#: unsigned accepted (risk flag PERMIT_UNSIGNED); ``off``: signatures are not looked at
Policy = Literal["require", "verify", "off"]
POLICIES: tuple[Policy, ...] = ("require", "verify", "off")

DIGESTS = frozenset({DigestAlgorithm.SHA256, DigestAlgorithm.SHA384, DigestAlgorithm.SHA512})
SIGNATURE_METHODS = frozenset(
    {
        SignatureMethod.RSA_SHA256,
        SignatureMethod.RSA_SHA384,
        SignatureMethod.RSA_SHA512,
        SignatureMethod.ECDSA_SHA256,
        SignatureMethod.ECDSA_SHA384,
        SignatureMethod.ECDSA_SHA512,
    }
)
MIN_RSA_BITS = 2048
MIN_EC_BITS = 256

_CONFIG = SignatureConfiguration(
    location="./",
    expect_references=1,
    signature_methods=SIGNATURE_METHODS,
    digest_algorithms=DIGESTS,
)


class SignatureRefused(PermitEventRefused):
    """An ePermit the policy refuses: ``code`` is ``SIGNATURE_INVALID`` or
    ``SIGNATURE_MISSING`` (the dead letter's ``x-rejection-reason``), ``detail`` says why."""


def _no_certificates(country: str) -> Sequence[x509.Certificate]:
    return ()


@dataclass(frozen=True)
class SignatureRules:
    """The policy and the trust store: ``trusted(country)`` gives the certificates of that
    country's Management Authorities (ISO alpha-2 code)."""

    policy: Policy = "verify"
    trusted: Callable[[str], Sequence[x509.Certificate]] = _no_certificates

    def __post_init__(self) -> None:
        if self.policy not in POLICIES:
            raise ValueError(f"signature policy {self.policy!r} is not one of {POLICIES}")


@dataclass(frozen=True)
class Signed:
    """A verified document: ``element`` is the signed data alone (the signature removed)."""

    element: etree._Element
    certificate: x509.Certificate

    @property
    def signer(self) -> str:
        return signer_name(self.certificate)


@dataclass(frozen=True)
class Unsigned:
    """A document without a signature, or one not looked at (policy ``off``)."""

    element: etree._Element
    #: False under policy ``off``: nobody looked
    checked: bool = True


def signer_name(certificate: x509.Certificate) -> str:
    """The certificate's subject, most significant part last (``CN=..., C=NA``)."""
    return ", ".join(rdn.rfc4514_string() for rdn in reversed(certificate.subject.rdns))


def verify_epermit(
    element: etree._Element, rules: SignatureRules, scope: etree._Element | None = None
) -> Signed | Unsigned:
    """Check the signature of the ePermit ``element`` (``scope``: the payload it came in, the
    SOAP Body or the element itself). Raises ``SignatureRefused``; the trust in the signer is
    checked by ``check_trusted`` once the issuing country is read from the signed data."""
    if rules.policy == "off":
        return Unsigned(element, checked=False)
    scope = element if scope is None else scope
    signatures = list(scope.iter(f"{{{DS}}}Signature"))
    if not signatures:
        if rules.policy == "require":
            raise SignatureRefused(
                SIGNATURE_MISSING,
                "the ePermit is not signed, and CONNECTOR_EPERMIT_SIGNATURES is require",
            )
        return Unsigned(element)
    if len(signatures) > 1:
        raise _invalid(f"the document carries {len(signatures)} signatures; one is expected")
    signature = signatures[0]
    if signature.getparent() is not element:
        raise _invalid(
            "the signature is not a child of the ePermit element (an enveloped signature "
            "over the whole permit is expected)"
        )
    references = signature.findall("ds:SignedInfo/ds:Reference", _NS)
    if len(references) != 1 or references[0].get("URI") != "":
        uris = ", ".join(repr(r.get("URI")) for r in references) or "none"
        raise _invalid(f'the signature must have one reference, URI="" (the whole permit): {uris}')
    certificate = _signing_certificate(signature)
    _check_key(certificate)
    try:
        result = XMLVerifier().verify(element, x509_cert=certificate, expect_config=_CONFIG)
    except (SignXMLException, ValueError) as exc:
        raise _invalid(_short(str(exc) or type(exc).__name__)) from None
    if isinstance(result, list):  # pragma: no cover - expect_references=1 gives one result
        raise _invalid("the signature has several references")
    signed = result.signed_xml
    if signed is None or etree.QName(signed).text != etree.QName(element).text:
        raise _invalid("the signed data is not the ePermit element")
    return Signed(signed, certificate)


def check_trusted(
    certificate: x509.Certificate,
    country: str,
    rules: SignatureRules,
    now: datetime.datetime | None = None,
) -> None:
    """``SIGNATURE_INVALID`` unless ``certificate`` is one trusted for ``country``, or was
    issued by one (its signature checked, both within their validity)."""
    anchors = list(rules.trusted(country))
    if not anchors:
        raise _invalid(
            f"no Management Authority certificate for {country} in the trust store "
            f"(CONNECTOR_EPERMIT_TRUST_DIR); signed by {signer_name(certificate)}"
        )
    now = now or datetime.datetime.now(datetime.UTC)
    for anchor in anchors:
        if not anchor.not_valid_before_utc <= now <= anchor.not_valid_after_utc:
            continue
        if anchor == certificate:
            return
        if anchor.subject == certificate.issuer:
            try:
                certificate.verify_directly_issued_by(anchor)
            except (InvalidSignature, ValueError, TypeError):
                continue
            return
    raise _invalid(
        f"the signer {signer_name(certificate)} is not trusted for {country}: neither one "
        "of its Management Authority certificates in the trust store nor issued by one"
    )


def _signing_certificate(signature: etree._Element) -> x509.Certificate:
    texts = signature.findall("ds:KeyInfo/ds:X509Data/ds:X509Certificate", _NS)
    if not texts:
        raise _invalid("the signature carries no X509Certificate in KeyInfo")
    try:
        return x509.load_der_x509_certificate(
            base64.b64decode("".join((texts[0].text or "").split()))
        )
    except (ValueError, binascii.Error):
        raise _invalid("the signature's X509Certificate cannot be read") from None


def _check_key(certificate: x509.Certificate) -> None:
    key = certificate.public_key()
    if isinstance(key, rsa.RSAPublicKey):
        if key.key_size < MIN_RSA_BITS:
            raise _invalid(f"an RSA key of {key.key_size} bits: at least {MIN_RSA_BITS} needed")
    elif isinstance(key, ec.EllipticCurvePublicKey):
        if key.key_size < MIN_EC_BITS:
            raise _invalid(f"an EC key of {key.key_size} bits: at least {MIN_EC_BITS} needed")
    else:
        raise _invalid(f"a {type(key).__name__} key: RSA or EC keys only")


def _invalid(detail: str) -> SignatureRefused:
    return SignatureRefused(SIGNATURE_INVALID, detail)


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= 300 else text[:297] + "..."
