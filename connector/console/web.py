"""Building the console's Flask application: sessions, CSRF, security headers, the pages.

- Sessions are Flask's signed cookies (HttpOnly, SameSite=Strict, Secure behind TLS) holding
  only the user name, the account's session epoch and the login time; each request reloads
  the account, so a disabled account or a changed password ends its sessions at once, and a
  session idle longer than ``console_session_minutes`` is refused by the signature's age.
- CSRF: Flask-WTF on every POST (a form without its token gets 400 and changes nothing).
- Headers: a CSP that allows no script at all and no framing, nosniff, no referrer leaks,
  and ``no-store`` so a shared tablet's back button shows no one's pages after logout.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from flask import Flask, Response, g, render_template, request
from flask_wtf.csrf import CSRFError, CSRFProtect
from werkzeug.exceptions import HTTPException

from cites_connector import templates as _templates_package
from cites_connector.app.console_backend import ConsoleBackend
from cites_connector.console import (
    auth,
    broker,
    declarations,
    hs_edit,
    hs_tables,
    languages,
    operations,
    paper,
    permits,
    trade,
    trade_edit,
)
from cites_connector.console.formatting import register_filters

TEMPLATES = Path(_templates_package.__file__).resolve().parent / "console"

CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)


def _security_headers(response: Response) -> Response:
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["Cross-Origin-Opener-Policy"] = "same-origin"
    if request.endpoint != "static":
        response.headers["Cache-Control"] = "no-store"
    return response


def create_console_app(
    backend: ConsoleBackend,
    *,
    secret_key: bytes,
    secure_cookies: bool = False,
    session_minutes: float = 480.0,
) -> Flask:
    """Behind a TLS proxy, waitress (``console_trusted_proxy``) sets the request's scheme and
    client address from the proxy's X-Forwarded-* headers; nothing here trusts them itself."""
    app = Flask(
        "cites_connector.console",
        template_folder=str(TEMPLATES),
        static_folder=str(TEMPLATES / "static"),
        static_url_path="/static",
    )
    app.config.update(
        SECRET_KEY=secret_key,
        SESSION_COOKIE_NAME="cites_console",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        SESSION_COOKIE_SECURE=secure_cookies,
        PERMANENT_SESSION_LIFETIME=timedelta(minutes=session_minutes),
        SESSION_REFRESH_EACH_REQUEST=True,
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the session
        MAX_CONTENT_LENGTH=5 * 1024 * 1024,
        TEMPLATES_AUTO_RELOAD=False,
    )
    app.extensions["console_backend"] = backend
    CSRFProtect(app)
    register_filters(app)
    app.before_request(auth.load_user)
    app.after_request(_security_headers)
    for module in (
        auth,
        declarations,
        broker,
        permits,
        paper,
        hs_tables,
        hs_edit,
        operations,
        languages,
        trade,
        trade_edit,
    ):
        app.register_blueprint(module.bp)

    @app.errorhandler(CSRFError)
    def csrf_refused(exc: CSRFError) -> tuple[str, int]:
        return render_template(
            "error.html",
            code=400,
            message=f"Form refused: {exc.description} Reload the page and try again.",
        ), 400

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> tuple[str, int]:
        code = exc.code or 500
        return render_template("error.html", code=code, message=exc.description), code

    @app.context_processor
    def globals_() -> dict[str, Any]:
        return {"user": g.get("user"), "roles": g.get("roles", frozenset())}

    return app
