"""``config check``'s EPIX line: the certificate files readable, then one ``ServiceState``
call over mutual TLS. Any SOAP answer, a fault included, proves the hub reachable and our
certificate accepted; a refused handshake, a timeout or no answer is FAIL (exit 3)."""

from __future__ import annotations

from cites_connector.app.config_report import PROBE_TIMEOUT, Verdict
from cites_connector.app.epix_wiring import epix_client
from cites_connector.app.settings import Settings


def check_epix(settings: Settings) -> Verdict:
    from cites_connector.adapters.epix.errors import EpixFault, EpixUnavailable
    from cites_connector.domain.errors import InvalidInput

    if not settings.epix_url:
        return Verdict("epix", "skip", "epix_url not set: permits are asked of AMQP only")
    for name in ("epix_client_cert", "epix_client_key", "epix_ca_file"):
        path = getattr(settings, name)
        if path is not None and not path.is_file():
            return Verdict("epix", "BAD", f"{name} {path}: no such file")
    try:
        client = epix_client(settings, PROBE_TIMEOUT)
        assert client is not None
        answer = client.service_state(settings.home_country, timeout=PROBE_TIMEOUT)
    except InvalidInput as exc:
        return Verdict("epix", "BAD", exc.message)
    except EpixUnavailable as exc:
        return Verdict("epix", "FAIL", exc.message)
    except EpixFault as fault:
        return Verdict(
            "epix", "ok", f"{settings.epix_url}: reachable, ServiceState answered {fault.code}"
        )
    return Verdict("epix", "ok", f"{settings.epix_url}: ServiceState {answer or 'answered'}")
