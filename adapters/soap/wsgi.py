"""The clearance service as a WSGI application (contract sections 1 and 9).

Routes: ``POST /soap/clearance`` (the four operations), ``GET /soap/clearance?wsdl`` and
``?xsd=clearance.xsd``, ``GET /healthz``, and, only when built with ``bench_baseline=True``
(``cites-connector serve --bench-baseline``), ``POST /bench/baseline``, which reads the body and
returns a fixed response so that the benchmark can set the full operation beside the cost of
HTTP alone on the same server.

Order of checks on a POST: size, hardened parse, SOAP version, WS-Security, operation, XSD,
then the operation. Every request is logged once with its operation, declaration id, HTTP
status, fault code and duration; Faults go out with HTTP 500 (SOAP 1.1 section 6.2).
"""

from __future__ import annotations

import json
import re
import time
from typing import Any, Callable, Iterable

import structlog
from structlog.contextvars import bound_contextvars

from adapters.soap import rendering
from adapters.soap.envelope import read_envelope
from adapters.soap.health import HealthCheck, default_probes
from adapters.soap.operations import Call, Operations, precheck
from adapters.soap.schema import NS, XSD_NAME, SchemaViolation, WsdlDocument, validate, xsd_bytes
from adapters.soap.wssecurity import SECURITY, UsernameTokenVerifier
from connector.domain.errors import ConnectorError, TooLarge

log = structlog.get_logger("adapters.soap")

SOAP_PATH = "/soap/clearance"
BASELINE_PATH = "/bench/baseline"
_XML = "text/xml; charset=utf-8"
_HOST = re.compile(r"^[A-Za-z0-9.\-]+(:\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](:\d{1,5})?$")
_UNDERSTOOD = frozenset({SECURITY})

StartResponse = Callable[..., Any]


class ClearanceWsgiApp:
    def __init__(self, app: Any, *, users: dict[str, str] | None = None, auth: bool = True,
                 public_url: str | None = None, health: HealthCheck | None = None,
                 bench_baseline: bool = False):
        if auth and not users:
            raise ValueError("SOAP authentication is on but no users are configured "
                             "(CONNECTOR_SOAP_USERS, or CONNECTOR_SOAP_AUTH=off for demos)")
        self.app = app
        self.max_bytes = app.settings.max_request_bytes
        self.verifier = UsernameTokenVerifier(users or {}) if auth else None
        self.public_url = public_url
        self.health = health or HealthCheck(default_probes(app))
        self.operations = Operations(app)
        self.wsdl = WsdlDocument()
        self.bench_baseline = bench_baseline
        self._baseline_body = rendering.envelope(rendering.decision_result(
            "CheckDeclarationResponse", {"declaration_id": "BASELINE", "version": 1,
                                         "decision": "NOT_CONCERNED", "items": [],
                                         "reasons": []}))

    # -- routing --------------------------------------------------------------------------------

    def __call__(self, environ: dict, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        method = environ.get("REQUEST_METHOD", "GET")
        if path == SOAP_PATH:
            if method == "POST":
                return self._soap(environ, start_response)
            if method in ("GET", "HEAD"):
                return self._description(environ, start_response)
            return _reply(start_response, "405 Method Not Allowed", b"use POST or GET ?wsdl\n",
                          "text/plain", [("Allow", "GET, POST")])
        if path == "/healthz" and method in ("GET", "HEAD"):
            return self._healthz(start_response)
        if path == BASELINE_PATH and self.bench_baseline and method == "POST":
            _read_body(environ, self.max_bytes)
            return _reply(start_response, "200 OK", self._baseline_body, _XML)
        return _reply(start_response, "404 Not Found", b"not found\n", "text/plain")

    # -- SOAP -----------------------------------------------------------------------------------

    def _soap(self, environ: dict, start_response: StartResponse) -> Iterable[bytes]:
        started = time.perf_counter()
        operation: str | None = None
        call: Call | None = None
        declaration_id: str | None = None
        fault_code: str | None = None
        try:
            envelope = read_envelope(_read_body(environ, self.max_bytes),
                                     max_bytes=self.max_bytes, understood_headers=_UNDERSTOOD)
            declaration_id = _peek_id(envelope.payload)
            caller = self.verifier.verify(envelope.header) if self.verifier else None
            operation = _operation(envelope.payload, self.operations.handlers)
            _check_action(environ, operation)
            precheck(operation, envelope.payload)
            validate(envelope.payload)
            call = Call(envelope.payload, f"soap:{caller.user}" if caller else "soap")
            with bound_contextvars(operation=operation):
                body = rendering.envelope(self.operations.handlers[operation](call))
            status = "200 OK"
        except ConnectorError as exc:
            fault_code, message = exc.fault_code, exc.message
        except Exception:  # the service keeps running; the caller gets a Server fault
            log.exception("soap.internal_error", operation=operation,
                          declaration_id=declaration_id)
            fault_code, message = "Server.Error", "internal error: the connector's log has details"
        if call is not None and call.declaration_id:
            declaration_id = call.declaration_id
        if fault_code is not None:
            status = "500 Internal Server Error"
            body = rendering.fault(fault_code, message, declaration_id)
        duration_ms = round((time.perf_counter() - started) * 1000, 2)
        fields = dict(operation=operation, declaration_id=declaration_id,
                      status=int(status[:3]), duration_ms=duration_ms)
        if fault_code is None:
            log.info("soap.request", **fields)
        else:
            (log.error if fault_code.startswith("Server") else log.warning)(
                "soap.fault", fault_code=fault_code, fault=message, **fields)
        return _reply(start_response, status, body, _XML)

    # -- WSDL, XSD, health ------------------------------------------------------------------------

    def _description(self, environ: dict, start_response: StartResponse) -> Iterable[bytes]:
        query = environ.get("QUERY_STRING", "")
        if query.lower() == "wsdl":
            return _reply(start_response, "200 OK",
                          self.wsdl.render(self.public_url or _own_url(environ)), _XML)
        if query == f"xsd={XSD_NAME}":
            return _reply(start_response, "200 OK", xsd_bytes(), _XML)
        return _reply(start_response, "404 Not Found",
                      b"this is a SOAP endpoint: GET ?wsdl for its description\n", "text/plain")

    def _healthz(self, start_response: StartResponse) -> Iterable[bytes]:
        report = self.health.run()
        body = json.dumps({"status": "ok" if report.healthy else "unavailable",
                           "checks": report.checks}).encode()
        if not report.healthy:
            log.warning("healthz.unhealthy", checks=report.checks)
        return _reply(start_response, "200 OK" if report.healthy else "503 Service Unavailable",
                      body, "application/json")


def _reply(start_response: StartResponse, status: str, body: bytes, content_type: str,
           extra: list[tuple[str, str]] | None = None) -> list[bytes]:
    start_response(status, [("Content-Type", content_type),
                            ("Content-Length", str(len(body))), *(extra or [])])
    return [body]


def _read_body(environ: dict, max_bytes: int) -> bytes:
    """The request body, refused over ``max_bytes`` before it is read (``Client.TooLarge``)."""
    stream = environ["wsgi.input"]
    length = environ.get("CONTENT_LENGTH")
    if length:
        try:
            size = int(length)
        except ValueError:
            raise SchemaViolation(f"Content-Length {length!r} is not a number") from None
        if size > max_bytes:
            raise TooLarge(f"the request body is {size} bytes, over the limit of "
                           f"{max_bytes} bytes")
        return stream.read(size)
    data = stream.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise TooLarge(f"the request body is over the limit of {max_bytes} bytes")
    return data


def _peek_id(payload: Any) -> str | None:
    """The declaration id for logs and Faults, before the request is known to be valid."""
    value = payload.findtext(f"{{{NS}}}DeclarationId")
    return value.strip()[:64] if value else None


def _operation(payload: Any, handlers: dict) -> str:
    tag = payload.tag
    if tag.startswith(f"{{{NS}}}") and tag.endswith("Request"):
        name = tag[len(NS) + 2:-len("Request")]
        if name in handlers:
            return name
    raise SchemaViolation(f"unknown request element {tag}: expected one of "
                          + ", ".join(f"{{{NS}}}{op}Request" for op in handlers))


def _check_action(environ: dict, operation: str) -> None:
    """SOAPAction is the operation's name; a different one is logged, the body decides.

    Clients differ in how they quote or qualify the action (``"CheckDeclaration"``,
    ``urn:...#CheckDeclaration``); refusing them would break integrations for no safety gain.
    """
    action = environ.get("HTTP_SOAPACTION", "").strip().strip('"')
    if action and action.rsplit("#", 1)[-1].rsplit("/", 1)[-1] != operation:
        log.warning("soap.action_mismatch", soap_action=action, operation=operation)


def _own_url(environ: dict) -> str:
    """The URL this request was sent to, for the WSDL's soap:address."""
    scheme = environ.get("wsgi.url_scheme", "http")
    host = environ.get("HTTP_HOST", "")
    if not _HOST.match(host):
        host = f"{environ.get('SERVER_NAME', '127.0.0.1')}:{environ.get('SERVER_PORT', '80')}"
    return f"{scheme}://{host}{environ.get('SCRIPT_NAME', '')}{SOAP_PATH}"
