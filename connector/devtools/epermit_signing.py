"""Throwaway Management Authority signing keys, and ePermits signed with them (signxml).

The quick start and the tests need signed ePermits without a real Management Authority:
``make_authority`` issues a self-signed certificate for a country's Management Authority
(``CN=Management Authority of Namibia, C=NA``), ``sign_epermit`` signs an ePermit document with
it the way the CITES ePermitting Toolkit recommends (one enveloped XML Signature over the whole
ePermit element, the certificate in ``KeyInfo``). Exclusive canonicalisation keeps the signature
valid when a hub wraps the permit in its SOAP envelope. Keys are unencrypted: demo only.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from pathlib import Path

import pycountry
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID
from lxml import etree
from signxml.algorithms import CanonicalizationMethod
from signxml.signer import XMLSigner

from cites_connector.devtools.certificates import VALID_DAYS
from cites_connector.mappings.safe_xml import parse_xml

SigningKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


@dataclass(frozen=True)
class Authority:
    """A Management Authority's signing key and its certificate."""

    certificate: x509.Certificate
    key: SigningKey

    def write(self, cert_path: Path, key_path: Path | None = None) -> None:
        """The certificate (PEM) and, when asked, the key (PEM, mode 0600)."""
        cert_path.parent.mkdir(parents=True, exist_ok=True)
        cert_path.write_bytes(self.certificate.public_bytes(serialization.Encoding.PEM))
        if key_path is not None:
            key_path.parent.mkdir(parents=True, exist_ok=True)
            key_path.touch(mode=0o600, exist_ok=True)
            key_path.write_bytes(
                self.key.private_bytes(
                    serialization.Encoding.PEM,
                    serialization.PrivateFormat.PKCS8,
                    serialization.NoEncryption(),
                )
            )


def authority_name(country: str, name: str | None = None) -> x509.Name:
    known = pycountry.countries.get(alpha_2=country)
    common = name or f"Management Authority of {known.name if known else country}"
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, country),
            x509.NameAttribute(NameOID.COMMON_NAME, common),
        ]
    )


def make_authority(
    country: str,
    name: str | None = None,
    *,
    key: SigningKey | None = None,
    issuer: Authority | None = None,
    hash_algorithm: hashes.SHA256 | hashes.SHA384 | hashes.SHA512 | None = None,
    days: int = VALID_DAYS,
) -> Authority:
    """A certificate for ``country``'s Management Authority: self-signed, or issued by
    ``issuer`` (a national CA); EC P-256 unless ``key`` is given. Valid ``days`` from now
    (0 or less: expired, for tests)."""
    key = key or ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    subject = authority_name(country, name)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer.certificate.subject if issuer else subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5, days=max(0, 1 - days)))
        .not_valid_after(now + datetime.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=issuer is None, path_length=None), critical=True)
    )
    certificate = builder.sign(issuer.key if issuer else key, hash_algorithm or hashes.SHA256())
    return Authority(certificate, key)


def sign_epermit(
    data: bytes,
    authority: Authority,
    *,
    signature_algorithm: str | None = None,
    digest_algorithm: str = "sha256",
) -> bytes:
    """``data`` (a bare ePermit) with an enveloped signature by ``authority``."""
    root = parse_xml(data)
    algorithm = signature_algorithm or (
        "rsa-sha256" if isinstance(authority.key, rsa.RSAPrivateKey) else "ecdsa-sha256"
    )
    signer = XMLSigner(
        signature_algorithm=algorithm,
        digest_algorithm=digest_algorithm,
        c14n_algorithm=CanonicalizationMethod.EXCLUSIVE_XML_CANONICALIZATION_1_0,
    )
    signed = signer.sign(root, key=authority.key, cert=[authority.certificate])
    return etree.tostring(signed, xml_declaration=True, encoding="UTF-8")
