"""The trust store of signed ePermits: the issuing Management Authorities' certificates.

A folder with, per issuing country (ISO alpha-2, upper case), ``<CC>.pem`` holding one or
more PEM certificates and/or a folder ``<CC>/`` of ``*.pem`` files (docs/signatures.md). The
files are read when a country's certificates are first asked for and again whenever one of
them changes (size or modification time), so adding a certificate needs no restart. A file
that does not read as PEM certificates is logged and skipped; a missing folder trusts nobody.
"""

from __future__ import annotations

import re
import threading
from pathlib import Path

import structlog
from cryptography import x509

from cites_connector.mappings.epermit_signature import Policy, SignatureRules

log = structlog.get_logger(__name__)
_COUNTRY = re.compile(r"[A-Z]{2}")


class TrustStore:
    def __init__(self, directory: Path):
        self.directory = directory
        self._lock = threading.Lock()
        self._cache: dict[str, tuple[tuple[tuple[str, int, int], ...], list[x509.Certificate]]] = {}

    def files(self, country: str) -> list[Path]:
        if not _COUNTRY.fullmatch(country):
            return []
        single = self.directory / f"{country}.pem"
        found = [single] if single.is_file() else []
        folder = self.directory / country
        if folder.is_dir():
            found += sorted(p for p in folder.glob("*.pem") if p.is_file())
        return found

    def certificates(self, country: str) -> list[x509.Certificate]:
        """The certificates trusted for ``country`` (none for an unknown one)."""
        files = self.files(country)
        stamp = tuple((str(p), st.st_size, st.st_mtime_ns) for p in files for st in [p.stat()])
        with self._lock:
            cached = self._cache.get(country)
            if cached is not None and cached[0] == stamp:
                return cached[1]
        loaded: list[x509.Certificate] = []
        for path in files:
            try:
                loaded += x509.load_pem_x509_certificates(path.read_bytes())
            except (ValueError, OSError) as exc:
                log.error("epermit.trust_file_unreadable", path=str(path), error=str(exc))
        with self._lock:
            self._cache[country] = (stamp, loaded)
        return loaded

    def countries(self) -> list[str]:
        """The countries with at least one certificate file (for config check)."""
        if not self.directory.is_dir():
            return []
        names = {p.stem for p in self.directory.glob("*.pem")} | {
            p.name for p in self.directory.iterdir() if p.is_dir()
        }
        return sorted(c for c in names if _COUNTRY.fullmatch(c) and self.files(c))


def signature_rules(policy: Policy, directory: Path) -> SignatureRules:
    """The rules ``parse_epermit`` applies: ``policy`` over the trust store in ``directory``."""
    return SignatureRules(policy=policy, trusted=TrustStore(directory).certificates)
