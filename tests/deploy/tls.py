"""Throwaway TLS material for the deployment tests, made with the openssl command: a CA, one
server certificate for every name the tests use, a client certificate from that CA, and a
client certificate from another CA that must be refused. ECDSA P-256: quick to make."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

SERVER_NAMES = ("customs-gw.example.na", "console.customs-gw.example.na", "localhost")


@dataclass(frozen=True)
class TestPki:
    directory: Path
    ca_cert: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path
    rogue_cert: Path
    rogue_key: Path
    client_cn: str = "asycuda-gateway.customs.example.na"


def _openssl(openssl: str, *args: str) -> None:
    done = subprocess.run([openssl, *args], capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"openssl {' '.join(args[:2])} failed: {done.stderr}")


def _ca(openssl: str, directory: Path, name: str) -> tuple[Path, Path]:
    key, cert = directory / f"{name}.key", directory / f"{name}.crt"
    _openssl(
        openssl,
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-keyout",
        str(key),
        "-out",
        str(cert),
        "-days",
        "2",
        "-subj",
        f"/CN={name} test CA",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
    )
    return cert, key


def _leaf(
    openssl: str, directory: Path, name: str, subject: str, ca: tuple[Path, Path], extensions: str
) -> tuple[Path, Path]:
    key, csr, cert = (
        directory / f"{name}.key",
        directory / f"{name}.csr",
        directory / f"{name}.crt",
    )
    ext = directory / f"{name}.ext"
    ext.write_text(extensions)
    _openssl(
        openssl,
        "req",
        "-new",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-keyout",
        str(key),
        "-out",
        str(csr),
        "-subj",
        subject,
    )
    _openssl(
        openssl,
        "x509",
        "-req",
        "-in",
        str(csr),
        "-CA",
        str(ca[0]),
        "-CAkey",
        str(ca[1]),
        "-CAcreateserial",
        "-out",
        str(cert),
        "-days",
        "2",
        "-extfile",
        str(ext),
    )
    key.chmod(0o600)
    return cert, key


def make_pki(directory: Path, openssl: str = "openssl") -> TestPki:
    ca = _ca(openssl, directory, "ca")
    rogue_ca = _ca(openssl, directory, "rogue-ca")
    names = ",".join(f"DNS:{n}" for n in SERVER_NAMES)
    server = _leaf(
        openssl,
        directory,
        "server",
        "/CN=customs-gw.example.na",
        ca,
        f"subjectAltName={names},IP:127.0.0.1\n"
        "extendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature\n",
    )
    client_ext = "extendedKeyUsage=clientAuth\nkeyUsage=critical,digitalSignature\n"
    client = _leaf(
        openssl,
        directory,
        "client",
        "/O=Customs/CN=asycuda-gateway.customs.example.na",
        ca,
        client_ext,
    )
    rogue = _leaf(openssl, directory, "rogue", "/CN=somebody-else", rogue_ca, client_ext)
    return TestPki(directory, ca[0], server[0], server[1], client[0], client[1], rogue[0], rogue[1])
