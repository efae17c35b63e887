"""The declarant languages on the ledger's database: the service for the CLI and the console,
and the relay's ``amqp`` deliverer, which writes each notification in its declarant's language.

The languages that may be chosen are those with a notification catalog under
``templates/notifications/locale/`` (docs/notification-languages.md).
"""

from __future__ import annotations

from cites_connector.adapters.amqp.publisher import AmqpDeliverer
from cites_connector.adapters.notifications.catalogs import available_languages, language_name
from cites_connector.adapters.notifications.renderer import NotificationRenderer
from cites_connector.adapters.sql.declarant_languages import SqlDeclarantLanguages
from cites_connector.app.application import Application
from cites_connector.services.declarant_languages import DeclarantLanguages


def build_declarant_languages(app: Application) -> DeclarantLanguages:
    return DeclarantLanguages(
        SqlDeclarantLanguages(app.engine),
        available=available_languages(),
        default_language=app.settings.notification_default_language,
        clock=app.clock,
    )


def language_names() -> dict[str, str]:
    """Each language with a catalog and its name in itself: ``{"fr": "français"}``."""
    return {language: language_name(language) for language in available_languages()}


def notifying_deliverer(
    app: Application, renderer: NotificationRenderer | None = None
) -> AmqpDeliverer:
    """The ``amqp`` deliverer: the templates compiled and tried here, at start-up, in every
    language with a catalog; each notification in the language chosen for its declarant."""
    settings = app.settings
    return AmqpDeliverer(
        settings.amqp_url,
        renderer=renderer
        or NotificationRenderer.from_directory(
            default_language=settings.notification_default_language
        ),
        language_of=SqlDeclarantLanguages(app.engine).language_of,
    )
