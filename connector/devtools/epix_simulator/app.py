"""The simulator's WSGI application: an EPIX hub's four operations (adapters/epix/wsdl).

- ``GetFinalCitesCertificate`` / ``GetNonFinalCitesCertificate``: the ePermit of that number
  and country from the folder (permits.py), inside the response element as EPIX passes a
  national system's answer on; unknown: a ``Client`` fault ``CertificateNotFound``.
- ``ConfirmQuantities``: recorded (recorder.py); ``fail_first`` answers the first N with HTTP
  500 and a ``Server`` fault, so a test can watch the connector's outbox retry.
- ``ServiceState``: ``Available``.
- ``GET ?wsdl``: the repository's WSDL, its address set to this server; ``GET /calls``: the
  recorded ConfirmQuantities calls as JSON.

With ``token`` set, a call with another TokenId is refused (``Client`` fault ``InvalidToken``).
The client certificate itself is checked by the TLS server (server.py), which puts its
subject into the environment as ``SSL_CLIENT_S_DN``, the variable EPIX's own front end sets.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qs
from wsgiref.types import StartResponse, WSGIEnvironment
from xml.sax.saxutils import escape

import structlog
from lxml import etree

from cites_connector.adapters.epix import wsdl_files as names
from cites_connector.devtools.epix_simulator.permits import Certificate, load_certificates
from cites_connector.devtools.epix_simulator.recorder import ConfirmCall, ConfirmRecorder
from cites_connector.domain.errors import InvalidInput
from cites_connector.mappings.safe_xml import parse_xml

log = structlog.get_logger(__name__)
SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
DEFAULT_PATH = "/api/v1/soap_api/action"
MAX_BODY = 1024 * 1024
_NS = f"{{{names.NAMESPACE}}}"


class Fault(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code, self.message = code, message


def _envelope(body: str | bytes) -> bytes:
    inner = body.decode() if isinstance(body, bytes) else body
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<soapenv:Envelope xmlns:soapenv="{SOAP_ENV}">'
        f"<soapenv:Header/><soapenv:Body>{inner}</soapenv:Body></soapenv:Envelope>"
    ).encode()


def _result(operation: str, text: str) -> bytes:
    return _envelope(
        f'<epix:{operation}Response xmlns:epix="{names.NAMESPACE}">'
        f"<epix:Result>{escape(text)}</epix:Result></epix:{operation}Response>"
    )


class EpixSimulator:
    def __init__(
        self,
        permits: Path,
        recorder: ConfirmRecorder | None = None,
        *,
        fail_first: int = 0,
        token: str | None = None,
        path: str = DEFAULT_PATH,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ):
        self.permits_dir = Path(permits)
        self.recorder = recorder or ConfirmRecorder()
        self.token = token
        self.path = path
        self.clock = clock
        self._failures_left = fail_first
        self._lock = threading.Lock()
        #: every call by operation, including failed and refused ones
        self.calls_received: dict[str, int] = dict.fromkeys(names.OPERATIONS, 0)
        #: (number, country) of every certificate answered
        self.served: list[tuple[str, str]] = []

    def certificates(self) -> dict[tuple[str, str, bool], Certificate]:
        """Read at each call: a file dropped into the folder is served at once."""
        return load_certificates(self.permits_dir)

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> list[bytes]:
        method, path = environ["REQUEST_METHOD"], (environ.get("PATH_INFO") or "/").rstrip("/")
        if method == "GET" and path == "/calls":
            body = json.dumps(self.recorder.as_json()).encode()
            return self._reply(start_response, "200 OK", body, "application/json")
        if path != self.path:
            return self._reply(start_response, "404 Not Found", b"not found\n", "text/plain")
        if method == "GET" and "wsdl" in parse_qs(environ.get("QUERY_STRING", ""), True):
            url = f"https://{environ.get('HTTP_HOST') or environ['SERVER_NAME']}{self.path}"
            wsdl = names.WSDL_PATH.read_text(encoding="utf-8").replace(
                'location="https://localhost:8443/api/v1/soap_api/action"',
                f'location="{escape(url)}"',
            )
            return self._reply(start_response, "200 OK", wsdl.encode())
        if method != "POST":
            return self._reply(start_response, "405 Method Not Allowed", b"", "text/plain")
        try:
            return self._reply(start_response, "200 OK", self._post(environ))
        except Fault as fault:
            log.warning("epix_simulator.fault", code=fault.code, error=fault.message)
            body = _envelope(
                f"<soapenv:Fault><faultcode>soapenv:{escape(fault.code)}</faultcode>"
                f"<faultstring>{escape(fault.message)}</faultstring></soapenv:Fault>"
            )
            return self._reply(start_response, "500 Internal Server Error", body)

    @staticmethod
    def _reply(
        start_response: StartResponse,
        status: str,
        body: bytes,
        content_type: str = "text/xml; charset=utf-8",
    ) -> list[bytes]:
        start_response(status, [("Content-Type", content_type), ("Content-Length", str(len(body)))])
        return [body]

    def _post(self, environ: WSGIEnvironment) -> bytes:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        if length > MAX_BODY:
            raise Fault("Client", f"request of {length} bytes is over the limit")
        try:
            envelope = parse_xml(environ["wsgi.input"].read(length), max_bytes=MAX_BODY)
        except InvalidInput as exc:
            raise Fault("Client", exc.message) from exc
        body = envelope.find(f"{{{SOAP_ENV}}}Body")
        request = None if body is None or len(body) == 0 else body[0]
        operation = "" if request is None else etree.QName(request).localname
        if request is None or operation not in names.OPERATIONS:
            raise Fault("Client", "Invalid Request")
        with self._lock:
            self.calls_received[operation] += 1
        if operation == names.SERVICE_STATE:
            return _result(operation, "Available")
        if self.token is not None and request.findtext(_NS + "TokenId") != self.token:
            raise Fault("Client", "InvalidToken")
        number = request.findtext(_NS + "CertificateNumber") or ""
        country = request.findtext(_NS + "IsoCountryCode") or ""
        if operation == names.CONFIRM:
            return self._confirm(environ, envelope, request, number, country)
        found = self.certificates().get((number, country, operation == names.GET_FINAL))
        if found is None:
            raise Fault("Client", "CertificateNotFound")
        log.info("epix_simulator.certificate", operation=operation, number=number, country=country)
        with self._lock:
            self.served.append((number, country))
        return _envelope(
            f'<v2:{operation}Response xmlns:v2="{names.NAMESPACE}">'.encode()
            + found.xml
            + f"</v2:{operation}Response>".encode()
        )

    def _confirm(
        self,
        environ: WSGIEnvironment,
        envelope: etree._Element,
        request: etree._Element,
        number: str,
        country: str,
    ) -> bytes:
        with self._lock:
            if self._failures_left > 0:
                self._failures_left -= 1
                raise Fault("Server", "national system unavailable (simulated)")
        positions = [
            {
                "id": p.findtext(_NS + "ID") or "",
                "quantity": p.findtext(_NS + "InspectedUnitQuantity") or "",
            }
            for p in request.iterfind(f"{_NS}ConfirmedQuantities/{_NS}CitesPosition")
        ]
        call = self.recorder.record(
            ConfirmCall(
                confirmation_id=envelope.findtext(f"{{{SOAP_ENV}}}Header/{_NS}ConfirmationId"),
                certificate_number=number,
                iso_country_code=country,
                token=request.findtext(_NS + "TokenId") or "",
                received_at=self.clock().strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
                positions=positions,
                client_subject=environ.get("SSL_CLIENT_S_DN"),
            )
        )
        log.info(
            "epix_simulator.confirmed",
            number=number,
            country=country,
            confirmation_id=call.confirmation_id,
            duplicate=call.duplicate,
        )
        return _result(names.CONFIRM, "Duplicate" if call.duplicate else "OK")
