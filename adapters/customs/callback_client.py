"""zeep client of the customs system's SubmitControlResult, and the outbox deliverer using it.

The WSDL comes from the repository (a path, no network at start-up) and the endpoint is
``CONNECTOR_CUSTOMS_URL``, whatever address the WSDL names. Every call has explicit connect
and read timeouts: a customs endpoint that hangs must not hold the relay.

The customs password is guarded (contract 4, v2): the endpoint must be ``https://`` unless
``CONNECTOR_CUSTOMS_ALLOW_HTTP=true`` (local demos); a redirect is never followed, since
following it would post the envelope, credentials included, to whatever address the answer
names; and the UsernameToken carries a PasswordDigest (default) or PasswordText with a
``wsu:Timestamp``, fresh for every call (wsse_token.py).

Failures are classified here, where the protocol is known: the network, timeouts, HTTP 5xx,
408 and 429 and ``Server`` faults are worth retrying; a redirect, any other HTTP 4xx,
``Client`` faults (a refused token, a request the customs schema rejects) and
``Accepted=false`` are refused for good: the outbox fails the message until an operator acts.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import requests
import structlog
import zeep
from lxml import etree
from zeep.exceptions import Fault, TransportError, ValidationError, XMLSyntaxError
from zeep.proxy import ServiceProxy

from cites_connector.adapters.customs.callback_request import submit_control_result_request
from cites_connector.adapters.customs.transport import NoRedirectTransport, RedirectRefused
from cites_connector.adapters.customs.wsdl_files import BINDING, WSDL_PATH
from cites_connector.adapters.customs.wsse_token import TimestampedUsernameToken
from cites_connector.adapters.outbox.delivery import (
    PermanentDeliveryError,
    RetryableDeliveryError,
    UnreachableError,
)
from cites_connector.adapters.outbox.store import OutboxRow
from cites_connector.domain.errors import InvalidInput

log = structlog.get_logger(__name__)

CHANNEL = "customs-callback"
#: HTTP statuses of the 4xx family that say "later", not "never" (contract 4, v2)
RETRYABLE_CLIENT_STATUSES = frozenset({408, 429})
PasswordType = Literal["digest", "text"]


@dataclass(frozen=True)
class CallbackReceipt:
    callback_id: str
    accepted: bool
    duplicate: bool
    message: str | None = None


def _fault_name(code: Any) -> str:
    """``soap-env:Client.Authentication`` or ``{ns}Client.X`` -> ``Client.Authentication``."""
    text = str(code or "")
    return text.rsplit("}", 1)[-1].rsplit(":", 1)[-1]


def check_endpoint(url: str, *, allow_http: bool) -> str:
    """The endpoint, or InvalidInput naming the setting: an http(s) URL with a host, and
    ``https`` unless plain HTTP is explicitly allowed (contract 4, v2)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInput(
            f"CONNECTOR_CUSTOMS_URL {url!r} is not an http(s) URL of the "
            f"customs system's SubmitControlResult endpoint"
        )
    if parts.scheme == "http" and not allow_http:
        raise InvalidInput(
            f"CONNECTOR_CUSTOMS_URL {url} is plain http: the customs "
            f"credentials would cross the network readable; use https, or set "
            f"CONNECTOR_CUSTOMS_ALLOW_HTTP=true for a local demo or test"
        )
    return url


class CustomsCallbackClient:
    def __init__(
        self,
        url: str,
        *,
        user: str | None = None,
        password: str | None = None,
        password_type: PasswordType = "digest",
        allow_http: bool = False,
        timeout: tuple[float, float] = (5.0, 30.0),
        session: requests.Session | None = None,
        wsdl: Path = WSDL_PATH,
    ):
        self.url = check_endpoint(url, allow_http=allow_http)
        if password_type not in ("digest", "text"):
            raise InvalidInput(
                f"CONNECTOR_CUSTOMS_PASSWORD_TYPE {password_type!r} is not 'digest' or 'text'"
            )
        self.timeout = timeout
        self._user = user
        self._password = password
        self._digest = password_type == "digest"
        self._session = session
        self._wsdl = wsdl
        self._service: ServiceProxy | None = None

    def _proxy(self) -> ServiceProxy:
        """Built on first use, so constructing the client reads nothing and connects nowhere."""
        if self._service is None:
            transport = NoRedirectTransport(
                session=self._session or requests.Session(),
                timeout=self.timeout[1],
                operation_timeout=self.timeout,
            )
            wsse = (
                TimestampedUsernameToken(self._user, self._password or "", digest=self._digest)
                if self._user
                else None
            )
            client = zeep.Client(str(self._wsdl), transport=transport, wsse=wsse)
            self._service = client.create_service(BINDING, self.url)
        return self._service

    def submit(self, request: Mapping[str, Any]) -> CallbackReceipt:
        """Call SubmitControlResult; raises Retryable/PermanentDeliveryError on failure."""
        started = time.perf_counter()
        bound = log.bind(
            callback_id=request["CallbackId"],
            declaration_id=request["DeclarationId"],
            version=request["Version"],
        )
        try:
            result = self._proxy().SubmitControlResult(**request)
        except RedirectRefused as exc:
            raise PermanentDeliveryError(
                f"customs answered HTTP {exc.status} redirect to {exc.location or 'nowhere'}: "
                f"redirects are never followed, the call would carry the credentials there "
                f"(contract 4); correct CONNECTOR_CUSTOMS_URL"
            ) from exc
        except (requests.Timeout, requests.ConnectionError) as exc:
            raise UnreachableError(
                f"customs endpoint {self.url} not reachable: {type(exc).__name__}: {exc}"
            ) from exc
        except Fault as exc:
            name = _fault_name(exc.code)
            error = PermanentDeliveryError if name.startswith("Client") else RetryableDeliveryError
            raise error(f"customs answered fault {name}: {exc.message}") from exc
        except TransportError as exc:
            status = exc.status_code or 0
            permanent = 400 <= status < 500 and status not in RETRYABLE_CLIENT_STATUSES
            error = PermanentDeliveryError if permanent else RetryableDeliveryError
            raise error(f"customs answered HTTP {status}: {exc.message}") from exc
        except ValidationError as exc:
            raise PermanentDeliveryError(
                f"callback does not fit the customs schema: {exc}"
            ) from exc
        except (XMLSyntaxError, etree.XMLSyntaxError) as exc:
            raise RetryableDeliveryError(f"customs answered unreadable XML: {exc}") from exc
        receipt = CallbackReceipt(
            result.CallbackId, bool(result.Accepted), bool(result.Duplicate), result.Message
        )
        bound.info(
            "customs.callback_sent",
            accepted=receipt.accepted,
            duplicate=receipt.duplicate,
            duration_ms=round((time.perf_counter() - started) * 1000, 1),
        )
        if not receipt.accepted:
            raise PermanentDeliveryError(
                f"customs did not accept the control result: {receipt.message or 'no reason'}"
            )
        return receipt

    def deliver(self, row: OutboxRow) -> None:
        """Outbox deliverer: the row's message id is the CallbackId customs de-duplicates by."""
        self.submit(submit_control_result_request(row.body, row.message_id))
