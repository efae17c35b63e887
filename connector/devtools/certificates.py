"""Throwaway certificates for mutual TLS: a CA, a server certificate and client certificates.

EPIX authenticates its callers by client certificate (the hub reads the Party from the
certificate's subject, ``C=``), and the connector checks the hub's server certificate. A demo
and the tests need both sides without a real PKI: ``make_test_pki`` writes a CA, a server
certificate for ``localhost``/127.0.0.1 and a client certificate signed by that CA, plus a
client certificate signed by *another* CA (the wrong one, for the refusal tests). Keys are
EC P-256, unencrypted, mode 0600: they protect nothing but a loopback demo.

Used by the EPIX simulator (``simulate-epix certificates``), the quick start and the tests.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

#: long enough for a demo left running, short enough that nobody mistakes these for real ones
VALID_DAYS = 30


@dataclass(frozen=True)
class Issued:
    certificate: x509.Certificate
    key: ec.EllipticCurvePrivateKey


@dataclass(frozen=True)
class TestPki:
    """The files ``make_test_pki`` wrote (PEM)."""

    directory: Path
    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path
    #: a client certificate from an unrelated CA: the simulator must refuse it
    rogue_cert: Path
    rogue_key: Path


def _name(common_name: str, country: str | None) -> x509.Name:
    parts = [x509.NameAttribute(NameOID.COMMON_NAME, common_name)]
    if country:
        parts.insert(0, x509.NameAttribute(NameOID.COUNTRY_NAME, country))
    return x509.Name(parts)


def make_ca(common_name: str = "cites-connector test CA") -> Issued:
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    name = _name(common_name, None)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=VALID_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return Issued(cert, key)


def issue(
    ca: Issued,
    common_name: str,
    *,
    server: bool,
    country: str | None = None,
    hosts: tuple[str, ...] = ("localhost", "127.0.0.1"),
) -> Issued:
    """A leaf certificate signed by ``ca``: for a TLS server (``hosts`` as subject
    alternative names) or a TLS client (``country`` in the subject, as EPIX reads it)."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name, country))
        .issuer_name(ca.certificate.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=VALID_DAYS))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage(
                [ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH]
            ),
            critical=False,
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.key.public_key()),
            critical=False,
        )
    )
    if server:
        names: list[x509.GeneralName] = []
        for host in hosts:
            try:
                names.append(x509.IPAddress(ipaddress.ip_address(host)))
            except ValueError:
                names.append(x509.DNSName(host))
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    return Issued(builder.sign(ca.key, hashes.SHA256()), key)


def write_pem(issued: Issued, cert_path: Path, key_path: Path | None = None) -> None:
    cert_path.write_bytes(issued.certificate.public_bytes(serialization.Encoding.PEM))
    if key_path is not None:
        key_bytes = issued.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(key_bytes)


def make_test_pki(directory: Path, *, client_country: str = "NA") -> TestPki:
    """Write a CA, a server and a client certificate (and a rogue client) into ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    ca = make_ca()
    rogue_ca = make_ca("not the EPIX CA")
    pki = TestPki(
        directory,
        ca=directory / "ca.pem",
        server_cert=directory / "server.pem",
        server_key=directory / "server-key.pem",
        client_cert=directory / "client.pem",
        client_key=directory / "client-key.pem",
        rogue_cert=directory / "rogue-client.pem",
        rogue_key=directory / "rogue-client-key.pem",
    )
    write_pem(ca, pki.ca)
    write_pem(issue(ca, "localhost", server=True), pki.server_cert, pki.server_key)
    client_name = f"cites-connector {client_country}"
    write_pem(
        issue(ca, client_name, server=False, country=client_country),
        pki.client_cert,
        pki.client_key,
    )
    write_pem(
        issue(rogue_ca, client_name, server=False, country=client_country),
        pki.rogue_cert,
        pki.rogue_key,
    )
    return pki
