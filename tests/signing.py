"""Signed ePermits for the tests: throwaway Management Authority keys and certificates made
with cryptography, documents signed with signxml (``cites_connector.devtools.epermit_signing``),
and the tricks an attacker plays on them (altered after signing, SHA-1, a short key, a signed
element moved next to a forged one)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa
from lxml import etree
from signxml.algorithms import CanonicalizationMethod
from signxml.signer import XMLSigner

from cites_connector.devtools.epermit_signing import Authority, make_authority, sign_epermit
from cites_connector.mappings.epermit_signature import SignatureRules

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "epermit"
PARROTS = FIXTURES / "26ZA004431-psittacus-box14-v2.xml"
#: the parrots permit: 30 birds on line A, issued by South Africa
PARROTS_NUMBER, PARROTS_COUNTRY = "26ZA004431", "ZA"
DS = "http://www.w3.org/2000/09/xmldsig#"
SOAP = "http://schemas.xmlsoap.org/soap/envelope/"


def parrots() -> bytes:
    return PARROTS.read_bytes()


def south_africa() -> Authority:
    return make_authority("ZA", "Department of Forestry, Fisheries and the Environment")


def rules(policy: str, *trusted: tuple[str, x509.Certificate]) -> SignatureRules:
    by_country: dict[str, list[x509.Certificate]] = {}
    for country, certificate in trusted:
        by_country.setdefault(country, []).append(certificate)

    def lookup(country: str) -> Sequence[x509.Certificate]:
        return by_country.get(country, [])

    return SignatureRules(policy=policy, trusted=lookup)  # type: ignore[arg-type]


def signed(authority: Authority, data: bytes | None = None, **options: str) -> bytes:
    return sign_epermit(parrots() if data is None else data, authority, **options)


def altered(document: bytes) -> bytes:
    """One quantity changed after signing: 30 birds become 300."""
    changed = document.replace(b">30<", b">300<", 1)
    assert changed != document
    return changed


class _Sha1Signer(XMLSigner):
    """signxml refuses to make SHA-1 signatures; an attacker's tool does not."""

    def check_deprecated_methods(self) -> None:
        return None


def sha1_signed(authority: Authority, data: bytes | None = None) -> bytes:
    signer = _Sha1Signer(
        signature_algorithm="rsa-sha1",
        digest_algorithm="sha1",
        c14n_algorithm=CanonicalizationMethod.EXCLUSIVE_XML_CANONICALIZATION_1_0,
    )
    root = etree.fromstring(parrots() if data is None else data)
    out = signer.sign(root, key=authority.key, cert=[authority.certificate])
    return etree.tostring(out)


def rsa_authority(bits: int, country: str = "ZA") -> Authority:
    return make_authority(
        country,
        key=rsa.generate_private_key(public_exponent=65537, key_size=bits),
        hash_algorithm=hashes.SHA256(),
    )


def wrapped_next_to_forgery(document: bytes) -> bytes:
    """The genuine signed permit moved into an EPIX-like SOAP Body *after* a forged, unsigned
    copy of it (300 birds): a reader that takes the first permit reads the forgery."""
    genuine = etree.fromstring(document)
    forged = etree.fromstring(altered(document))
    for signature in forged.findall(f"{{{DS}}}Signature"):
        forged.remove(signature)
    envelope = etree.Element(f"{{{SOAP}}}Envelope", nsmap={"soap": SOAP})
    body = etree.SubElement(envelope, f"{{{SOAP}}}Body")
    body.append(forged)
    body.append(genuine)
    return etree.tostring(envelope)


def wrapped_inside_forgery(document: bytes) -> bytes:
    """A forged permit (300 birds) that carries the genuine signed one, signature and all, as
    its last child: the signature is valid over the genuine element, which is not the root."""
    genuine = etree.fromstring(document)
    forged = etree.fromstring(altered(document))
    for signature in forged.findall(f"{{{DS}}}Signature"):
        forged.remove(signature)
    forged.append(genuine)
    return etree.tostring(forged)


def signature_moved_into_forgery(document: bytes) -> bytes:
    """The genuine signature element moved onto a forged permit (300 birds)."""
    genuine = etree.fromstring(document)
    signature = genuine.find(f"{{{DS}}}Signature")
    assert signature is not None
    forged = etree.fromstring(altered(document))
    for old in forged.findall(f"{{{DS}}}Signature"):
        forged.remove(old)
    forged.append(signature)
    return etree.tostring(forged)
