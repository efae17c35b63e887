"""The simulator's WSGI application: the customs side of SubmitControlResult.

``GET <path>?wsdl`` returns the repository's callback WSDL with its address set to the URL it
was fetched from (and the XSD at ``?xsd=customs-callback.xsd``); ``POST <path>`` takes calls.
``fail_first`` answers the first N calls with HTTP 500 and a ``Server.Unavailable`` fault,
so a demo or a test can watch the connector's outbox retry and then deliver.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs
from wsgiref.types import StartResponse, WSGIEnvironment
from xml.sax.saxutils import escape

import structlog
from lxml import etree

from cites_connector.adapters.customs.wsdl_files import NAMESPACE, WSDL_PATH, XSD_PATH
from cites_connector.devtools.customs_simulator.recorder import CallRecorder, RecordedCall
from cites_connector.devtools.customs_simulator.wsse_check import (
    AuthenticationFailed,
    NonceMemory,
    check_username_token,
)
from cites_connector.domain.errors import ConnectorError
from cites_connector.mappings.safe_xml import parse_xml

log = structlog.get_logger(__name__)

SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
DEFAULT_PATH = "/soap/customs-callback"
MAX_BODY = 5 * 1024 * 1024
_CB = f"{{{NAMESPACE}}}"


class SoapFault(Exception):
    def __init__(self, code: str, message: str, status: int = 500):
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


def _text(parent: etree._Element, name: str) -> str | None:
    return parent.findtext(_CB + name)


def _required(parent: etree._Element, name: str) -> str:
    """An element the schema requires (the request was validated before it is read)."""
    return parent.findtext(_CB + name) or ""


def _reasons(parent: etree._Element | None, container: str, element: str) -> list[dict[str, str]]:
    found = None if parent is None else parent.find(_CB + container)
    if found is None:
        return []
    return [
        {"code": _required(r, "Code"), "message": _required(r, "Message")}
        for r in found.findall(_CB + element)
    ]


def _item(item: etree._Element) -> dict[str, Any]:
    data: dict[str, Any] = {
        "item_number": int(_required(item, "ItemNumber")),
        "hs_code": _text(item, "HsCode"),
        "status": _text(item, "Status"),
    }
    for key, name in (
        ("permit_number", "PermitNumber"),
        ("issuing_country", "IssuingCountry"),
        ("permit_line", "PermitLine"),
        ("quantity", "Quantity"),
        ("unit", "Unit"),
        ("remaining_after", "RemainingAfter"),
    ):
        data[key] = _text(item, name)
    data["reasons"] = _reasons(item, "Reasons", "Reason")
    data["risk_flags"] = _reasons(item, "RiskFlags", "Flag")
    return data


def _envelope(body: str) -> bytes:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<soap:Envelope xmlns:soap="{SOAP_ENV}">'
        f"<soap:Body>{body}</soap:Body></soap:Envelope>"
    ).encode()


def _fault(fault: SoapFault) -> bytes:
    return _envelope(
        f"<soap:Fault><faultcode>soap:{escape(fault.code)}</faultcode>"
        f"<faultstring>{escape(fault.message)}</faultstring></soap:Fault>"
    )


def _response(call: RecordedCall) -> bytes:
    message = "repeat of a callback already received" if call.duplicate else "recorded"
    return _envelope(
        f'<cb:SubmitControlResultResponse xmlns:cb="{NAMESPACE}">'
        f"<cb:CallbackId>{escape(call.callback_id)}</cb:CallbackId>"
        f"<cb:Accepted>true</cb:Accepted>"
        f"<cb:Duplicate>{'true' if call.duplicate else 'false'}</cb:Duplicate>"
        f"<cb:Message>{message}</cb:Message></cb:SubmitControlResultResponse>"
    )


class CustomsSimulator:
    def __init__(
        self,
        recorder: CallRecorder,
        *,
        users: Mapping[str, str] | None = None,
        fail_first: int = 0,
        path: str = DEFAULT_PATH,
        password_type: str = "any",
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ):
        if password_type not in ("any", "digest", "text"):
            raise ValueError(f"password_type {password_type!r} is not any, digest or text")
        self.recorder = recorder
        self.users = dict(users or {})
        #: which UsernameToken password form is accepted: any, digest or text (contract 4)
        self.password_type = password_type
        self._nonces = NonceMemory()
        self.path = path
        self.clock = clock
        self._failures_left = fail_first
        self._lock = threading.Lock()
        self._schema = etree.XMLSchema(etree.parse(str(XSD_PATH)))
        self.calls_received = 0

    # -- WSGI ---------------------------------------------------------------------------------
    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> list[bytes]:
        method, path = environ["REQUEST_METHOD"], environ.get("PATH_INFO") or "/"
        if path.rstrip("/") != self.path:
            return self._reply(start_response, "404 Not Found", b"not found\n", "text/plain")
        if method == "GET":
            return self._get(environ, start_response)
        if method != "POST":
            return self._reply(start_response, "405 Method Not Allowed", b"", "text/plain")
        try:
            call = self._post(environ)
        except SoapFault as fault:
            log.warning("simulator.fault", code=fault.code, error=fault.message)
            status = "500 Internal Server Error" if fault.status == 500 else f"{fault.status} Error"
            return self._reply(start_response, status, _fault(fault))
        log.info(
            "simulator.call",
            callback_id=call.callback_id,
            declaration_id=call.declaration_id,
            version=call.version,
            decision=call.decision,
            duplicate=call.duplicate,
        )
        return self._reply(start_response, "200 OK", _response(call))

    @staticmethod
    def _reply(
        start_response: StartResponse,
        status: str,
        body: bytes,
        content_type: str = "text/xml; charset=utf-8",
    ) -> list[bytes]:
        start_response(status, [("Content-Type", content_type), ("Content-Length", str(len(body)))])
        return [body]

    def _get(self, environ: WSGIEnvironment, start_response: StartResponse) -> list[bytes]:
        query = parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
        host = environ.get("HTTP_HOST") or f"{environ['SERVER_NAME']}:{environ['SERVER_PORT']}"
        url = f"{environ['wsgi.url_scheme']}://{host}{self.path}"
        if "wsdl" in query:
            wsdl = WSDL_PATH.read_text(encoding="utf-8")
            wsdl = wsdl.replace(
                'schemaLocation="customs-callback.xsd"',
                f'schemaLocation="{escape(url)}?xsd=customs-callback.xsd"',
            )
            wsdl = wsdl.replace(
                'location="http://127.0.0.1:8089/soap/customs-callback"',
                f'location="{escape(url)}"',
            )
            return self._reply(start_response, "200 OK", wsdl.encode())
        if query.get("xsd") == [XSD_PATH.name]:
            return self._reply(start_response, "200 OK", XSD_PATH.read_bytes())
        return self._reply(start_response, "404 Not Found", b"ask for ?wsdl\n", "text/plain")

    def _post(self, environ: WSGIEnvironment) -> RecordedCall:
        with self._lock:
            self.calls_received += 1
            if self._failures_left > 0:
                self._failures_left -= 1
                raise SoapFault("Server.Unavailable", "customs system unavailable (simulated)")
        length = int(environ.get("CONTENT_LENGTH") or 0)
        if length > MAX_BODY:
            raise SoapFault("Client.TooLarge", f"request of {length} bytes is over the limit")
        try:
            envelope = parse_xml(environ["wsgi.input"].read(length), max_bytes=MAX_BODY)
        except ConnectorError as exc:
            raise SoapFault(exc.fault_code, exc.message) from exc
        if envelope.tag != f"{{{SOAP_ENV}}}Envelope":
            raise SoapFault("Client.MalformedXml", "not a SOAP 1.1 envelope")
        user = None
        if self.users:
            try:
                user = check_username_token(
                    envelope.find(f"{{{SOAP_ENV}}}Header"),
                    self.users,
                    password_type=self.password_type,
                    nonces=self._nonces,
                    now=self.clock(),
                )
            except AuthenticationFailed as exc:
                raise SoapFault("Client.Authentication", str(exc)) from exc
        body = envelope.find(f"{{{SOAP_ENV}}}Body")
        request = None if body is None or len(body) == 0 else body[0]
        if request is None or request.tag != _CB + "SubmitControlResultRequest":
            raise SoapFault("Client.SchemaViolation", "expected SubmitControlResultRequest")
        with self._lock:  # one schema object, its error log shared: validate one at a time
            valid = self._schema.validate(request)
            error = "" if valid else str(self._schema.error_log.last_error)  # type: ignore[attr-defined]  # lxml-stubs lack it
        if not valid:
            raise SoapFault("Client.SchemaViolation", error)
        return self.recorder.record(
            RecordedCall(
                callback_id=_required(request, "CallbackId"),
                declaration_id=_required(request, "DeclarationId"),
                version=int(_required(request, "Version")),
                decision=_required(request, "Decision"),
                received_at=self.clock().strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
                user=user,
                items=[_item(i) for i in request.iterfind(f"{_CB}Items/{_CB}Item")],
                reasons=_reasons(request, "Reasons", "Reason"),
            )
        )
