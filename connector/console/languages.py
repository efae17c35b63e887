"""Declarant languages (administrators): the language each declarant's broker notifications
are written in, chosen or set back to the default (docs/notification-languages.md).

The acts of ``cites-connector declarants language set|unset``, recorded in the audit chain
under the logged-in user.
"""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response as WerkzeugResponse

from cites_connector.console.auth import actor, backend, require
from cites_connector.domain.errors import ConnectorError

bp = Blueprint("languages", __name__, url_prefix="/operations/languages")


@bp.route("/")
@require("admin")
def index() -> str:
    b = backend()
    service = b.declarant_languages()
    return render_template(
        "languages.html",
        declarants=service.listing(),
        names=b.language_names(),
        default_language=service.default_language,
    )


@bp.route("/set", methods=["POST"])
@require("admin")
def set_language() -> WerkzeugResponse:
    code = request.form.get("code", "")[:100].strip()
    language = request.form.get("language", "")[:40].strip()
    try:
        before = backend().declarant_languages().set(actor(), code, language)
    except ConnectorError as exc:
        flash(f"Not changed: {exc.message}", "error")
    else:
        was = f" (was {before})" if before and before != language else ""
        flash(f"Notifications to declarant {code} are written in {language}{was}.", "ok")
    return redirect(url_for("languages.index"))


@bp.route("/unset", methods=["POST"])
@require("admin")
def unset_language() -> WerkzeugResponse:
    code = request.form.get("code", "")[:100].strip()
    service = backend().declarant_languages()
    try:
        removed = service.unset(actor(), code)
    except ConnectorError as exc:
        flash(f"Not changed: {exc.message}", "error")
    else:
        flash(
            f"Declarant {code} no longer has a language ({removed} removed): its notifications "
            f"are written in the default language, {service.default_language}.",
            "ok",
        )
    return redirect(url_for("languages.index"))
