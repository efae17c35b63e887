"""Login, logout, and the checks every request passes: a session, an account, a role.

No page but the login form and the stylesheet answers without a session. Role checks are
server-side on every view (``require``); a broker reaches only the ``/my/`` pages, and
everything else answers 403 — a broker's view of another broker's declaration answers 404,
so that an id cannot be probed.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import ParamSpec, TypeVar, cast

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response as WerkzeugResponse
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from cites_connector.app.console_backend import ConsoleBackend, ConsoleUser, actor_of

P = ParamSpec("P")
R = TypeVar("R")

bp = Blueprint("auth", __name__)

#: the staff roles: everyone but a broker
STAFF = ("admin", "reviewer", "officer", "viewer")
OPEN_ENDPOINTS = {"auth.login", "static"}


def backend() -> ConsoleBackend:
    return cast(ConsoleBackend, current_app.extensions["console_backend"])


def user() -> ConsoleUser:
    found: ConsoleUser | None = g.get("user")
    if found is None:  # pragma: no cover - load_user redirects first
        abort(401)
    return found


def actor() -> str:
    """The audit actor of the logged-in user (``console:NAME``)."""
    return actor_of(user().name)


def has(*roles: str) -> bool:
    return bool(set(roles) & g.get("roles", frozenset()))


def require(*roles: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """The view answers 403 unless the user has one of ``roles`` (admin always may)."""

    def decorate(view: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(view)
        def checked(*args: P.args, **kwargs: P.kwargs) -> R:
            if not has("admin", *roles):
                abort(403, "Your role does not allow this page or action.")
            return view(*args, **kwargs)

        return checked

    return decorate


def load_user() -> WerkzeugResponse | None:
    """Before every request: the session's account, still enabled, with the session's epoch;
    otherwise the session is dropped and the login page asked for."""
    g.user, g.roles = None, frozenset()
    name = session.get("user")
    if isinstance(name, str):
        account = backend().accounts.get(name)
        if (
            account is not None
            and not account.disabled
            and session.get("epoch") == account.session_epoch
        ):
            g.user, g.roles = account, account.roles
        else:
            session.clear()
    if g.user is None and request.endpoint not in OPEN_ENDPOINTS:
        if request.method != "GET":
            abort(401, "Log in first.")
        return redirect(url_for("auth.login", next=request.full_path))
    return None


class LoginForm(FlaskForm):
    username = StringField("User name", validators=[DataRequired(), Length(max=64)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=1024)])


def _safe_next(target: str | None) -> str | None:
    """Only a path of this site (no scheme, no host, no //host): no open redirect."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    return target


def home_for(account: ConsoleUser) -> str:
    if "broker" in account.roles:
        return url_for("broker.my_declarations")
    return url_for("declarations.index")


@bp.route("/login", methods=["GET", "POST"])
def login() -> str | WerkzeugResponse | tuple[str, int]:
    form = LoginForm()
    if form.validate_on_submit():
        result = backend().accounts.log_in(form.username.data or "", form.password.data or "")
        if result.user is not None:
            session.clear()  # no session fixation: a fresh cookie for the new identity
            session.permanent = True
            session["user"] = result.user.name
            session["epoch"] = result.user.session_epoch
            session["at"] = int(time.time())
            return redirect(_safe_next(request.args.get("next")) or home_for(result.user))
        if result.refused == "locked":
            flash(
                "Too many wrong passwords: this account is locked for a while. "
                "Ask an administrator if you need it sooner.",
                "error",
            )
        else:
            flash("Wrong user name or password, or the account is disabled.", "error")
        return render_template("login.html", form=form), 401
    return render_template("login.html", form=form)


@bp.route("/logout", methods=["POST"])
def logout() -> WerkzeugResponse:
    """Ends this session; the signed cookie is also made useless by raising the epoch (a
    copy of the cookie kept elsewhere no longer logs in)."""
    name = user().name
    backend().accounts.end_sessions(name)
    session.clear()
    flash("Logged out.", "info")
    return redirect(url_for("auth.login"))


@bp.route("/")
def root() -> WerkzeugResponse:
    return redirect(home_for(user()))


def staff_only(view: Callable[P, R]) -> Callable[P, R]:
    """Any staff role: a broker gets 403."""
    return require(*STAFF)(view)
