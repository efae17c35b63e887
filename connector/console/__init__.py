"""The web console (issue 12): HS tables, declarations, permits, operations, brokers.

A Flask application served by ``cites-connector serve`` on its own port (``web.py`` builds
it). Server-rendered HTML from ``templates/console/``, no JavaScript at all: every task is a
link or a form. It works through ``cites_connector.app.console_backend.ConsoleBackend`` — the
services the CLI uses — never through the adapters directly. docs/console.md describes the
pages, the roles and the choices made.
"""
