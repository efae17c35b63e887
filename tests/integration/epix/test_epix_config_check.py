"""``config check`` tests EPIX in one line: the hub reached over mutual TLS (ServiceState), a
refused certificate FAIL, a missing certificate file BAD; the token is masked."""

from __future__ import annotations

from click.testing import CliRunner

from cites_connector.cli.main import cli
from tests.integration.epix.epix_kit import epix_hub, refused_handshakes


def check(tmp_path, hub, *, rogue=False, **env):
    key = tmp_path / "audit.key"
    key.write_bytes(b"k" * 32)
    pki = hub.pki
    base = {
        "CONNECTOR_HOME_COUNTRY": "NA",
        "CONNECTOR_DATA_DIR": str(tmp_path / "var"),
        "CONNECTOR_AMQP_URL": "amqp://connector:pw@127.0.0.1:1/%2F",
        "CONNECTOR_SOAP_USERS": "customs:pw",
        "CONNECTOR_AUDIT_KEY_FILE": str(key),
        "CONNECTOR_EPIX_URL": hub.url,
        "CONNECTOR_EPIX_TOKEN": "epix-secret-9",
        "CONNECTOR_EPIX_CLIENT_CERT": str(pki.rogue_cert if rogue else pki.client_cert),
        "CONNECTOR_EPIX_CLIENT_KEY": str(pki.rogue_key if rogue else pki.client_key),
        "CONNECTOR_EPIX_CA_FILE": str(pki.ca),
    }
    result = CliRunner().invoke(cli, ["config", "check"], env=base | env)
    assert "Traceback" not in result.output and "epix-secret-9" not in result.output
    [line] = [x for x in result.stdout.splitlines() if x.startswith("epix  ")]
    return line.partition("  ")[2].strip()


def test_config_check_reaches_the_hub_over_mutual_tls(tmp_path):
    with epix_hub(tmp_path) as hub:
        assert check(tmp_path, hub).startswith(f"ok    {hub.url}: ServiceState Available")
        assert hub.simulator.calls_received["ServiceState"] == 1


def test_config_check_fails_on_a_refused_client_certificate(tmp_path):
    with epix_hub(tmp_path) as hub:
        assert check(tmp_path, hub, rogue=True).startswith("FAIL  EPIX")
        assert refused_handshakes(hub, 1) == 1


def test_config_check_names_a_missing_certificate_file(tmp_path):
    with epix_hub(tmp_path) as hub:
        line = check(tmp_path, hub, CONNECTOR_EPIX_CA_FILE=str(tmp_path / "nope.pem"))
        assert line.startswith("BAD   epix_ca_file") and "no such file" in line
