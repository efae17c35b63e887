"""A zeep client of our own clearance service: the customs side, as tests, the customs
simulator's "send" mode and the README quick start play it.

It loads the WSDL the service serves (``http://host:port/soap/clearance?wsdl``) or the one in
the repository (a path), signs every call with a WS-Security UsernameToken (PasswordText, or
PasswordDigest with a fresh nonce and Created time per call) and returns plain dicts keyed by
the contract's element names, wrapper elements flattened to lists::

    {"DeclarationId": "...", "Version": 1, "Decision": "CLEARED",
     "Items": [{"ItemNumber": 1, "HsCode": "...", "Status": "MATCHED", ...,
                "Reasons": [{"Code": ..., "Message": ...}], "RiskFlags": [...]}],
     "Reasons": [...]}

A SOAP Fault is raised as ``ClearanceFault`` whose ``code`` is the contract's code without
the ``soap:`` prefix (``Client.StaleVersion``); a network failure as ``ClearanceUnreachable``.
"""

from __future__ import annotations

from typing import Any

import requests
from zeep import Client, Settings
from zeep.exceptions import Fault, TransportError
from zeep.helpers import serialize_object
from zeep.transports import Transport
from zeep.wsse.username import UsernameToken

from cites_connector.mappings.safe_xml import parse_xml

_LISTS = {
    "Items": "Item",
    "Reasons": "Reason",
    "RiskFlags": "Flag",
    "Restored": "Usage",
    "Lines": "Line",
}


class ClearanceClientError(Exception):
    pass


class ClearanceFault(ClearanceClientError):
    def __init__(self, code: str, message: str, faultcode: str | None = None):
        super().__init__(f"{code}: {message}")
        #: the contract's code, e.g. "Client.UnknownDeclaration"
        self.code = code
        self.message = message
        #: faultcode exactly as sent (a QName: "soap:Client.UnknownDeclaration")
        self.faultcode = faultcode or code


class ClearanceUnreachable(ClearanceClientError):
    pass


def _plain(value: Any) -> Any:
    """zeep objects -> dicts and lists; ``Items: {Item: [...]}`` -> ``Items: [...]``."""
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if key in _LISTS and item is None:
                item = []  # zeep reads an empty wrapper (<Reasons/>) as None
            elif key in _LISTS and isinstance(item, dict) and set(item) == {_LISTS[key]}:
                item = item[_LISTS[key]] or []
            out[key] = _plain(item)
        return out
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


class ClearanceClient:
    def __init__(
        self,
        wsdl_url: str,
        username: str | None = None,
        password: str | None = None,
        digest: bool = False,
        timeout: float = 10,
    ):
        session = requests.Session()
        transport = Transport(session=session, timeout=timeout, operation_timeout=timeout)
        wsse = (
            UsernameToken(username, password, use_digest=digest) if username is not None else None
        )
        try:
            self.client = Client(
                wsdl_url,
                transport=transport,
                wsse=wsse,
                settings=Settings(strict=True, xml_huge_tree=False),
            )
        except (requests.RequestException, TransportError) as exc:
            raise ClearanceUnreachable(f"cannot load the WSDL {wsdl_url}: {exc}") from exc
        self.service = self.client.service

    def _call(self, operation: str, **arguments: Any) -> dict[str, Any]:
        try:
            result = getattr(self.service, operation)(**arguments)
        except Fault as fault:
            raw = fault.code or ""
            raise ClearanceFault(raw.split(":", 1)[-1], fault.message, raw) from None
        except (requests.RequestException, TransportError) as exc:
            raise ClearanceUnreachable(f"{operation}: {exc}") from exc
        plain: dict[str, Any] = _plain(serialize_object(result, dict))
        return plain

    def check_declaration(
        self, declaration_id: str, version: int | None, sad_xml: bytes
    ) -> dict[str, Any]:
        """Send an ASYCUDA SAD document (bytes, parsed here with the hardened parser)."""
        sad = parse_xml(sad_xml)
        return self._call(
            "CheckDeclaration",
            DeclarationId=declaration_id,
            Version=version,
            Declaration={"_value_1": sad},
        )

    def cancel_declaration(self, declaration_id: str, reason: str | None = None) -> dict[str, Any]:
        return self._call("CancelDeclaration", DeclarationId=declaration_id, Reason=reason)

    def get_decision(self, declaration_id: str) -> dict[str, Any]:
        return self._call("GetDecision", DeclarationId=declaration_id)

    def get_permit_balance(self, number: str, country: str | None = None) -> dict[str, Any]:
        return self._call("GetPermitBalance", PermitNumber=number, IssuingCountry=country)
