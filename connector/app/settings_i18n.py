"""Notification language settings (docs/notification-languages.md).

Broker notifications are written in the language an administrator chose for the declarant
(``cites-connector declarants language set``); a declarant nobody chose a language for gets
``notification_default_language``. It must be a language with a catalog under
``templates/notifications/locale/``, or the connector does not start.
"""

from __future__ import annotations

from pydantic import BaseModel, field_validator

from cites_connector.adapters.notifications.catalogs import SOURCE_LANGUAGE, available_languages


class I18nSettings(BaseModel):
    #: the language of a notification to a declarant without a chosen language
    notification_default_language: str = SOURCE_LANGUAGE

    @field_validator("notification_default_language")
    @classmethod
    def _has_catalog(cls, value: str) -> str:
        language = value.strip()
        available = available_languages()
        if language not in available:
            raise ValueError(
                f"no notification catalog for {language[:20]!r} (available: {', '.join(available)})"
            )
        return language
