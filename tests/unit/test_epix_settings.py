"""EPIX settings: the token is a secret that may come from a file, and is never shown."""

from __future__ import annotations

from cites_connector.app.config_report import effective_lines
from cites_connector.app.settings import load_settings


def test_the_epix_token_may_come_from_a_file_and_is_masked(tmp_path, monkeypatch):
    token = tmp_path / "epix-token"
    token.write_text("s3cret-token\n")
    monkeypatch.setenv("CONNECTOR_EPIX_TOKEN_FILE", str(token))
    settings = load_settings(home_country="NA", epix_url="https://epix.example/soap")
    assert settings.epix_token is not None
    assert settings.epix_token.get_secret_value().strip() == "s3cret-token"
    shown = "\n".join(effective_lines(settings))
    assert "s3cret-token" not in shown and 'epix_token = "***"' in shown
