"""The clearance service as a WSGI application (contract sections 1 and 9).

Routes: ``POST /soap/clearance`` (the four operations), ``GET /soap/clearance?wsdl`` and
``?xsd=clearance.xsd``, ``GET /healthz``, with a ``Monitoring`` (``serve``) ``GET /metrics``,
``/livez`` and ``/readyz`` (``adapters/metrics/endpoints.py``), and, only when built with
``bench_baseline=True`` (``cites-connector serve --bench-baseline``), ``POST /bench/baseline``,
which reads the body and returns a fixed response so that the benchmark can set the full
operation beside the cost of HTTP alone on the same server.

Order of checks on a POST: media type and Content-Encoding (``http_input``), size, hardened
parse (with the HTTP charset when the XML names none), SOAP version and header blocks
(``headers``), WS-Security (``wssecurity``), operation, the user's role (``users``), XSD, then
the operation, which checks the user's offices. Every request is logged once with its
operation, declaration id, client address, HTTP status, fault code and duration; Faults go out
with HTTP 500 (SOAP 1.1 section 6.2), ``Client.UnsupportedMedia`` with 415.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any
from wsgiref.types import WSGIEnvironment

import structlog
from lxml import etree
from structlog.contextvars import bound_contextvars

from cites_connector.adapters.metrics.endpoints import PATHS, Monitoring, connector_version
from cites_connector.adapters.soap import rendering
from cites_connector.adapters.soap.envelope import read_envelope
from cites_connector.adapters.soap.headers import RequestHeaders, reply_header
from cites_connector.adapters.soap.health import HealthCheck
from cites_connector.adapters.soap.http_input import check_action, check_media, own_url, read_body
from cites_connector.adapters.soap.operations import Call, Operations, precheck
from cites_connector.adapters.soap.schema import (
    NS,
    XSD_NAME,
    SchemaViolation,
    WsdlDocument,
    validate,
    xsd_bytes,
)
from cites_connector.adapters.soap.users import SoapUser, as_users
from cites_connector.adapters.soap.wss_time import Freshness
from cites_connector.adapters.soap.wssecurity import RememberNonce, UsernameTokenVerifier
from cites_connector.domain.errors import ConnectorError

log = structlog.get_logger("cites_connector.adapters.soap")

SOAP_PATH = "/soap/clearance"
BASELINE_PATH = "/bench/baseline"
_XML = "text/xml; charset=utf-8"
#: a Server fault's faultstring never shows what the exception said (SQL, hosts, schema
#: details: contract section 1, v2); the log has it, with the request's declaration id
_SERVER_MESSAGES = {
    "Server.Unavailable": "the connector's database or message broker is not reachable or "
    "did not answer in time: nothing was written; retry later",
    "Server.Error": "internal error: the connector's log has details",
}

StartResponse = Callable[..., Any]


class ClearanceWsgiApp:
    def __init__(
        self,
        operations: Operations,
        *,
        health: HealthCheck,
        remember_nonce: RememberNonce,
        freshness: Freshness,
        max_bytes: int,
        users: Mapping[str, SoapUser | str] | None = None,
        auth: bool = True,
        public_url: str | None = None,
        bench_baseline: bool = False,
        monitoring: Monitoring | None = None,
    ):
        """``users``: ``users.parse_users`` of CONNECTOR_SOAP_USERS, or {user: password}
        (every role, every office). ``remember_nonce`` keeps digest nonces for replay
        detection (the SQL nonce store when built by ``cites_connector.app``)."""
        self.users = as_users(users)
        if auth and not self.users:
            raise ValueError(
                "SOAP authentication is on but no users are configured "
                "(CONNECTOR_SOAP_USERS, or CONNECTOR_SOAP_AUTH=off for demos)"
            )
        self.max_bytes = max_bytes
        self.verifier = (
            UsernameTokenVerifier(
                {name: user.password for name, user in self.users.items()},
                remember_nonce,
                freshness=freshness,
            )
            if auth
            else None
        )
        self.public_url = public_url
        self.health = health
        self.monitoring = monitoring
        self.version = monitoring.version if monitoring else connector_version()
        self.operations = operations
        self.wsdl = WsdlDocument()
        self.bench_baseline = bench_baseline
        self._baseline_body = rendering.envelope(
            rendering.decision_result(
                "CheckDeclarationResponse",
                {
                    "declaration_id": "BASELINE",
                    "version": 1,
                    "decision": "NOT_CONCERNED",
                    "items": [],
                    "reasons": [],
                },
            )
        )

    # -- routing --------------------------------------------------------------------------------

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        method = environ.get("REQUEST_METHOD", "GET")
        if path == SOAP_PATH:
            if method == "POST":
                return self._soap(environ, start_response)
            if method in ("GET", "HEAD"):
                return self._description(environ, start_response)
            return _reply(
                start_response,
                "405 Method Not Allowed",
                b"use POST or GET ?wsdl\n",
                "text/plain",
                [("Allow", "GET, POST")],
            )
        if path == "/healthz" and method in ("GET", "HEAD"):
            return self._healthz(start_response)
        if path in PATHS and self.monitoring is not None:
            return self.monitoring(environ, start_response)
        if path == BASELINE_PATH and self.bench_baseline and method == "POST":
            read_body(environ, self.max_bytes)
            return _reply(start_response, "200 OK", self._baseline_body, _XML)
        return _reply(start_response, "404 Not Found", b"not found\n", "text/plain")

    # -- SOAP -----------------------------------------------------------------------------------

    def _soap(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        started = time.perf_counter()
        operation: str | None = None
        call: Call | None = None
        declaration_id: str | None = None
        fault: ConnectorError | None = None
        headers = RequestHeaders()
        try:
            charset = check_media(environ)
            envelope = read_envelope(
                read_body(environ, self.max_bytes), max_bytes=self.max_bytes, encoding=charset
            )
            headers = envelope.headers
            declaration_id = _peek_id(envelope.payload)
            user = self._authenticate(headers)
            operation = _operation(envelope.payload, self.operations.handlers)
            check_action(environ, operation)
            if user is not None:
                user.require_role(operation)
            precheck(operation, envelope.payload)
            validate(envelope.payload)
            call = Call(envelope.payload, f"soap:{user.name}" if user else "soap", user=user)
            with bound_contextvars(operation=operation):
                payload = self.operations.handlers[operation](call)
        except ConnectorError as exc:
            fault = exc
        except Exception as exc:  # the service keeps running; the caller gets a Server fault
            log.exception("soap.internal_error", operation=operation, declaration_id=declaration_id)
            fault = ConnectorError(f"{type(exc).__name__}")
        if call is not None and call.declaration_id:
            declaration_id = call.declaration_id
        if self.monitoring is not None:
            self.monitoring.metrics.soap_request(
                operation or "other", _outcome(fault), time.perf_counter() - started
            )
        header = reply_header(headers, operation, time.time(), fault=fault is not None)
        fields = dict(
            operation=operation, declaration_id=declaration_id, client=environ.get("REMOTE_ADDR")
        )
        if fault is None:
            status, body = "200 OK", rendering.envelope(payload, header)
            log.info("soap.request", status=200, duration_ms=_since(started), **fields)
        else:
            code = fault.fault_code
            status = getattr(fault, "http_status", "500 Internal Server Error")
            body = rendering.fault(
                code, _SERVER_MESSAGES.get(code, fault.message), declaration_id, header
            )
            (log.error if code.startswith("Server") else log.warning)(
                "soap.fault",
                fault_code=code,
                fault=fault.message,
                status=int(status[:3]),
                duration_ms=_since(started),
                **fields,
            )
        return _reply(start_response, status, body, _XML)

    def _authenticate(self, headers: RequestHeaders) -> SoapUser | None:
        if self.verifier is None:
            return None
        return self.users[self.verifier.verify(headers.security).user]

    # -- WSDL, XSD, health ------------------------------------------------------------------------

    def _description(
        self, environ: WSGIEnvironment, start_response: StartResponse
    ) -> Iterable[bytes]:
        query = environ.get("QUERY_STRING", "")
        if query.lower() == "wsdl":
            return _reply(
                start_response,
                "200 OK",
                self.wsdl.render(self.public_url or own_url(environ, SOAP_PATH)),
                _XML,
            )
        if query == f"xsd={XSD_NAME}":
            return _reply(start_response, "200 OK", xsd_bytes(), _XML)
        return _reply(
            start_response,
            "404 Not Found",
            b"this is a SOAP endpoint: GET ?wsdl for its description\n",
            "text/plain",
        )

    def _healthz(self, start_response: StartResponse) -> Iterable[bytes]:
        report = self.health.run()
        body = json.dumps(
            {
                "status": "ok" if report.healthy else "unavailable",
                "version": self.version,
                "checks": report.checks,
            }
        ).encode()
        if not report.healthy:
            log.warning("healthz.unhealthy", checks=report.checks, reasons=report.reasons)
        return _reply(
            start_response,
            "200 OK" if report.healthy else "503 Service Unavailable",
            body,
            "application/json",
        )


def _reply(
    start_response: StartResponse,
    status: str,
    body: bytes,
    content_type: str,
    extra: list[tuple[str, str]] | None = None,
) -> list[bytes]:
    start_response(
        status, [("Content-Type", content_type), ("Content-Length", str(len(body))), *(extra or [])]
    )
    return [body]


def _outcome(fault: ConnectorError | None) -> str:
    """ok, client_fault or server_fault: what cites_connector_soap_request_seconds counts."""
    if fault is None:
        return "ok"
    return "server_fault" if fault.fault_code.startswith("Server") else "client_fault"


def _since(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 2)


def _peek_id(payload: etree._Element) -> str | None:
    """The declaration id for logs and Faults, before the request is known to be valid."""
    value = payload.findtext(f"{{{NS}}}DeclarationId")
    return value.strip()[:64] if value else None


def _operation(payload: etree._Element, handlers: Mapping[str, object]) -> str:
    tag = payload.tag
    if tag.startswith(f"{{{NS}}}") and tag.endswith("Request"):
        name = tag[len(NS) + 2 : -len("Request")]
        if name in handlers:
            return name
    raise SchemaViolation(
        f"unknown request element {tag}: expected one of "
        + ", ".join(f"{{{NS}}}{op}Request" for op in handlers)
    )
