"""``config check`` when everything is usable: a migrated ledger, the real broker with the
connector's user, a customs endpoint answering HTTP. Exit 0, every verdict ``ok`` (EPIX, not
configured, ``skip``)."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from click.testing import CliRunner

from cites_connector.cli.main import cli


class _Customs(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(405)  # a SOAP endpoint refusing GET still answers
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def test_all_dependencies_usable_is_exit_0(tmp_path, amqp_url):
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Customs)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    env = {
        "CONNECTOR_HOME_COUNTRY": "NA",
        "CONNECTOR_DATA_DIR": str(tmp_path / "var"),
        "CONNECTOR_AMQP_URL": amqp_url,
        "CONNECTOR_CUSTOMS_URL": f"http://127.0.0.1:{server.server_address[1]}/customs",
        "CONNECTOR_CUSTOMS_ALLOW_HTTP": "true",
        "CONNECTOR_SOAP_USERS": "customs:pw:clearance",
    }
    try:
        assert CliRunner().invoke(cli, ["migrate"], env=env).exit_code == 0
        result = CliRunner().invoke(cli, ["config", "check"], env=env)
    finally:
        server.shutdown()
    assert result.exit_code == 0, result.output
    verdicts = [line.rsplit("  ", 1)[0] for line in result.stdout.splitlines()[-6:]]
    assert [v.split() for v in verdicts] == [
        ["soap", "ok"],
        ["audit", "key", "ok"],
        ["database", "ok"],
        ["broker", "ok"],
        ["customs", "ok"],
        ["epix", "skip"],
    ], result.stdout
    assert "answers (HTTP 405 to GET)" in result.stdout
