"""The application ring: the composition root that builds the connector from ``Settings``.

- ``application.py``: the core on its database (ledger, rulebook, services), for every verb;
- ``serving.py``: what ``cites-connector serve`` runs on top of it (workers, SOAP), built
  from what;
- ``running.py``: starting and stopping it on a signal;
- ``settings.py`` and ``log_setup.py``: configuration and structured logs.

The CLI (``cites_connector.cli``) and the tests build from here, with their own settings.
"""

from cites_connector.app.application import (
    Application,
    Services,
    build_application,
    build_hs_admin,
    build_services,
    load_taxonomy,
)

__all__ = [
    "Application",
    "Services",
    "build_application",
    "build_hs_admin",
    "build_services",
    "load_taxonomy",
]
