"""The EPIX client: zeep builds each request from the shipped WSDL, requests carries it over
mutual TLS, and the answer is read here, without zeep.

Why not let zeep read the answer: EPIX hands back the national system's response as it came,
a CITES ePermit inside the response element (``xs:any``), in whatever namespace that system
uses. The permit mapping (mappings/epermit_xml.py) reads exactly that envelope (contract 3.1),
so the bytes go there; this module only tells a fault and a "no certificate" apart from a
document, with the hardened parser (no DTD, no entities, a size limit).

Transport rules, as for the customs callback: an explicit (connect, read) timeout on every
call; a redirect is never followed (it would carry the token elsewhere); ``https`` unless
``allow_http`` (tests of the mapping only). EPIX authenticates the caller by its client
certificate (``client_cert``/``client_key``), and the hub's certificate is checked against
``ca_file`` (or the system's trust store).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import urlsplit

import requests
import structlog
import zeep
from lxml import etree
from zeep.proxy import ServiceProxy
from zeep.transports import Transport

from cites_connector.adapters.epix import wsdl_files as names
from cites_connector.adapters.epix.errors import EpixFault, EpixUnavailable, EpixUnreachable
from cites_connector.domain.errors import InvalidInput
from cites_connector.mappings.safe_xml import DEFAULT_MAX_BYTES, parse_xml

log = structlog.get_logger(__name__)
SOAP_NAMESPACES = (
    "http://schemas.xmlsoap.org/soap/envelope/",
    "http://www.w3.org/2003/05/soap-envelope",
)
EPERMIT_ROOTS = ("CITESEPermit", "CBFShip")


def check_endpoint(url: str, *, allow_http: bool = False) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInput(f"CONNECTOR_EPIX_URL {url!r} is not an https URL of an EPIX hub")
    if parts.scheme == "http" and not allow_http:
        raise InvalidInput(
            f"CONNECTOR_EPIX_URL {url} is plain http: EPIX authenticates callers by TLS "
            "client certificate, which needs https"
        )
    return url


def tls_session(
    client_cert: Path | None, client_key: Path | None, ca_file: Path | None
) -> requests.Session:
    """A session presenting the client certificate and trusting ``ca_file`` (or the system
    store); files are read when a connection is made, not here."""
    session = requests.Session()
    session.trust_env = False  # no proxy or CA bundle from the environment: the settings say
    if client_cert is not None:
        session.cert = (str(client_cert), str(client_key)) if client_key else str(client_cert)
    session.verify = str(ca_file) if ca_file is not None else True
    return session


class EpixClient:
    def __init__(
        self,
        url: str,
        *,
        token: str = "",
        session: requests.Session | None = None,
        timeout: tuple[float, float] = (5.0, 30.0),
        allow_http: bool = False,
        max_bytes: int = DEFAULT_MAX_BYTES,
        wsdl: Path = names.WSDL_PATH,
    ):
        self.url = check_endpoint(url, allow_http=allow_http)
        self.timeout = timeout
        self.max_bytes = max_bytes
        self._token = token
        self._session = session or requests.Session()
        self._wsdl = wsdl
        self._lock = threading.Lock()
        self._zeep: tuple[zeep.Client, ServiceProxy] | None = None

    def _builder(self) -> tuple[zeep.Client, ServiceProxy]:
        """Built on first use from the local WSDL: constructing the client reads nothing."""
        with self._lock:
            if self._zeep is None:
                client = zeep.Client(
                    str(self._wsdl), transport=Transport(session=requests.Session())
                )
                self._zeep = (client, client.create_service(names.BINDING, self.url))
            return self._zeep

    def _call(
        self,
        operation: str,
        timeout: tuple[float, float] | None = None,
        headers: dict[str, str] | None = None,
        **arguments: object,
    ) -> etree._Element:
        client, service = self._builder()
        envelope = client.create_message(
            service, operation, **arguments, **({"_soapheaders": headers} if headers else {})
        )
        try:
            response = self._session.post(
                self.url,
                data=etree.tostring(envelope, xml_declaration=True, encoding="utf-8"),
                headers={
                    "Content-Type": "text/xml; charset=utf-8",
                    "SOAPAction": f'"urn:{operation}"',
                },
                timeout=timeout or self.timeout,
                allow_redirects=False,
                stream=True,  # read up to max_bytes only: a hub may not fill our memory
            )
            with response:
                content = response.raw.read(self.max_bytes + 1, decode_content=True)
        except (requests.RequestException, OSError) as exc:
            raise EpixUnreachable(
                f"EPIX {self.url} not reachable ({operation}): {type(exc).__name__}: {exc}"
            ) from exc
        if len(content) > self.max_bytes:
            raise EpixUnavailable(
                f"EPIX answered {operation} with more than {self.max_bytes} bytes: not read"
            )
        return self._read(operation, response, content)

    def _read(self, operation: str, response: requests.Response, content: bytes) -> etree._Element:
        status = response.status_code
        if 300 <= status < 400:
            raise EpixFault(
                "Redirect",
                f"redirect to {response.headers.get('Location') or 'nowhere'} not followed",
                status,
            )
        try:
            root = parse_xml(content, max_bytes=self.max_bytes)
        except InvalidInput as exc:
            if 400 <= status < 500:
                raise EpixFault("", f"HTTP {status} {response.reason}", status) from exc
            raise EpixUnavailable(
                f"EPIX answered {operation} with HTTP {status}, not SOAP: {exc}"
            ) from exc
        body = _body(root)
        fault = None if body is None else next(body.iterchildren("{*}Fault"), None)
        if fault is not None:
            code = str(fault.xpath("string(*[local-name()='faultcode'])")).strip()
            text = " ".join(str(fault.xpath("string(*[local-name()='faultstring'])")).split())
            raise EpixFault(code.rsplit(":", 1)[-1], text or "no faultstring", status)
        if status >= 500 or body is None:
            raise EpixUnavailable(f"EPIX answered {operation} with HTTP {status}, no SOAP Body")
        if status >= 400:
            raise EpixFault("", f"HTTP {status} {response.reason}", status)
        return root

    def certificate(
        self, number: str, country: str, *, final: bool = True, timeout: float | None = None
    ) -> bytes | None:
        """The hub's answer to Get[Non]FinalCitesCertificate as bytes (a SOAP envelope with
        the ePermit), or None when it holds no certificate of that number. Raises
        EpixUnavailable, or EpixFault for a fault that does not mean "not found"."""
        operation = names.GET_FINAL if final else names.GET_NON_FINAL
        wait = None if timeout is None else (min(self.timeout[0], timeout), timeout)
        try:
            root = self._call(
                operation,
                wait,
                CertificateNumber=number,
                TokenId=self._token,
                IsoCountryCode=country,
            )
        except EpixFault as fault:
            if fault.not_found:
                return None
            raise
        body = _body(root)
        assert body is not None  # _read refused a missing Body
        if next(body.iter(*(f"{{*}}{r}" for r in EPERMIT_ROOTS)), None) is None:
            return None  # an empty response element: nothing of that number
        return etree.tostring(root)

    def confirm_quantities(
        self,
        number: str,
        country: str,
        positions: Sequence[tuple[str, str]],
        confirmation_id: str,
    ) -> str:
        """ConfirmQuantities: ``positions`` are (permit line, quantity as a decimal string).
        Returns the hub's result text."""
        root = self._call(
            names.CONFIRM,
            None,
            {"ConfirmationId": confirmation_id},
            CertificateNumber=number,
            TokenId=self._token,
            IsoCountryCode=country,
            ConfirmedQuantities={
                "CitesPosition": [{"ID": i, "InspectedUnitQuantity": q} for i, q in positions]
            },
        )
        return _result(root)

    def service_state(self, country: str, timeout: float | None = None) -> str:
        """ServiceState of ``country``'s system through the hub (``config check``)."""
        wait = None if timeout is None else (min(self.timeout[0], timeout), timeout)
        return _result(self._call(names.SERVICE_STATE, wait, IsoCountryCode=country))


def _body(root: etree._Element) -> etree._Element | None:
    qname = etree.QName(root)
    if qname.localname != "Envelope" or qname.namespace not in SOAP_NAMESPACES:
        return None
    return next(root.iterchildren(f"{{{qname.namespace}}}Body"), None)


def _result(root: etree._Element) -> str:
    body = _body(root)
    return "" if body is None else " ".join(str(body.xpath("string(.)")).split())
