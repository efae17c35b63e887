"""deploy/rabbitmq/rabbitmq.conf on a real, throwaway RabbitMQ node: amqps only, client
certificates required, the connector's definitions loaded at boot (``load_definitions``); and
the connector reaching it with the amqps:// URL form of deploy/config/production.toml."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from tests.deploy.serving import serving
from tests.deploy.tools import (
    DEPLOY,
    ROOT,
    connector_command,
    connector_env,
    debian_tool,
    free_port,
    run,
)

CONF = DEPLOY / "rabbitmq" / "rabbitmq.conf"
DEFINITIONS = ROOT / "config" / "rabbitmq-definitions.json"
PRODUCTION = DEPLOY / "config" / "production.toml"
#: the demo password of the shipped definitions (config/rabbitmq-definitions.json): a
#: throwaway node only
CONNECTOR_DEMO_PASSWORD = "connector-demo-only"


def _as_rabbitmq(argv: list[str]) -> list[str]:
    return ["runuser", "-u", "rabbitmq", "--", *argv] if os.geteuid() == 0 else argv


@pytest.fixture(scope="module")
def tls_broker(pki):
    """A RabbitMQ node started with the kit's rabbitmq.conf; only ports and file paths are
    changed (each replacement must match, so the test follows the file). Its directory is
    directly under /tmp: the node runs as the rabbitmq user, who cannot enter pytest's."""
    server = debian_tool("rabbitmq-server", "rabbitmq-server")
    rabbitmqctl = str(Path(server).with_name("rabbitmqctl"))
    home = Path(tempfile.mkdtemp(prefix="cites-deploy-rmq-"))
    for sub in ("mnesia", "log", "tls"):
        (home / sub).mkdir()
    for name in ("ca.crt", "server.crt", "server.key"):
        shutil.copy(pki.directory / name, home / "tls" / name)
    shutil.copy(DEFINITIONS, home / "definitions.json")
    (home / "enabled_plugins").write_text("[].\n")
    port, dist = free_port(), free_port()
    text = CONF.read_text()
    for old, new in [
        ("listeners.ssl.default = 5671", f"listeners.ssl.default = 127.0.0.1:{port}"),
        (
            "ssl_options.cacertfile = /etc/rabbitmq/tls/ca.crt",
            f"ssl_options.cacertfile = {home}/tls/ca.crt",
        ),
        (
            "ssl_options.certfile   = /etc/rabbitmq/tls/mq.crt",
            f"ssl_options.certfile   = {home}/tls/server.crt",
        ),
        (
            "ssl_options.keyfile    = /etc/rabbitmq/tls/mq.key",
            f"ssl_options.keyfile    = {home}/tls/server.key",
        ),
        (
            "load_definitions = /etc/rabbitmq/definitions.json",
            f"load_definitions = {home}/definitions.json",
        ),
    ]:
        assert text.count(old) == 1, f"deploy/rabbitmq/rabbitmq.conf no longer has {old!r}"
        text = text.replace(old, new)
    (home / "rabbitmq.conf").write_text(text)
    if os.geteuid() == 0:
        subprocess.run(["chown", "-R", "rabbitmq:rabbitmq", str(home)], check=True)
    node = f"citesdeploy{os.getpid()}@localhost"
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("RABBITMQ_")}
    env = dict(
        inherited,
        RABBITMQ_NODENAME=node,
        RABBITMQ_DIST_PORT=str(dist),
        RABBITMQ_MNESIA_BASE=str(home / "mnesia"),
        RABBITMQ_LOG_BASE=str(home / "log"),
        RABBITMQ_ENABLED_PLUGINS_FILE=str(home / "enabled_plugins"),
        RABBITMQ_CONFIG_FILE=str(home / "rabbitmq.conf"),
    )
    with (home / "server.out").open("wb") as out:
        process = subprocess.Popen(
            _as_rabbitmq([server]), env=env, stdout=out, stderr=subprocess.STDOUT
        )
    ctl = [rabbitmqctl, "-n", node]
    try:
        deadline = time.monotonic() + 90
        while True:
            if run([*ctl, "await_startup"], env, timeout=30).returncode == 0:
                queues = run([*ctl, "list_queues", "-q", "name"], env).stdout.split()
                if "cites-connector.permits" in queues:
                    break
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(
                    "the RabbitMQ node with deploy/rabbitmq/rabbitmq.conf did not "
                    f"start:\n{(home / 'server.out').read_text()[-3000:]}"
                )
            time.sleep(1)
        yield {"port": port, "ctl": ctl, "env": env}
    finally:
        run([*ctl, "shutdown"], env, timeout=60)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
        shutil.rmtree(home, ignore_errors=True)


def production_amqp_url(pki, port: int, *, client_cert: bool = True) -> str:
    """production.toml's amqp_url with the test's host, port, password and certificate files:
    the same query form (ssl_options with ca_certs, certfile, keyfile, server_hostname)."""
    text = PRODUCTION.read_text()
    url = re.search(r'^amqp_url = "([^"]+)"', text, re.M).group(1)
    assert url.startswith("amqps://connector@mq.customs.example.na:5671/%2F?ssl_options={")
    url = url.replace(
        "amqps://connector@mq.customs.example.na:5671/",
        f"amqps://connector:{CONNECTOR_DEMO_PASSWORD}@127.0.0.1:{port}/",
    )
    for name, path in [
        ("mq-ca.crt", pki.ca_cert),
        ("connector-mq.crt", pki.client_cert),
        ("connector-mq.key", pki.client_key),
    ]:
        assert f"/etc/cites-connector/tls/{name}" in url
        url = url.replace(f"/etc/cites-connector/tls/{name}", str(path))
    url = url.replace("'server_hostname':'mq.customs.example.na'", "'server_hostname':'localhost'")
    if not client_cert:
        url = re.sub(r",'certfile':'[^']*','keyfile':'[^']*'", "", url)
    return url


def test_definitions_loaded_at_boot_make_the_users_and_quorum_queues(tls_broker):
    ctl, env = tls_broker["ctl"], tls_broker["env"]
    users = run([*ctl, "list_users", "-q"], env).stdout
    assert {line.split()[0] for line in users.splitlines() if line.strip()} >= {
        "connector",
        "permit-system",
    }
    queues = dict(
        line.split()
        for line in run([*ctl, "list_queues", "-q", "name", "type"], env).stdout.splitlines()
        if line.strip()
    )
    assert queues["cites-connector.permits"] == "quorum"
    assert queues["cites-connector.dead-letters"] == "quorum"
    listeners = run([*ctl, "status"], env).stdout
    assert "protocol: amqp/ssl" in listeners, listeners
    assert not re.search(r"protocol: amqp,", listeners), "a plain AMQP listener is open"


def test_the_connector_reaches_the_broker_over_amqps_with_its_client_certificate(tls_broker, pki):
    url = production_amqp_url(pki, tls_broker["port"])
    listed = run(
        [connector_command(), "dlq", "list", "--json"],
        connector_env(CONNECTOR_HOME_COUNTRY="NA", CONNECTOR_AMQP_URL=url),
    )
    assert listed.returncode == 0, listed.stderr
    assert '"total": 0' in listed.stdout


def test_without_a_client_certificate_the_broker_refuses_and_the_cli_says_unreachable(
    tls_broker, pki
):
    url = production_amqp_url(pki, tls_broker["port"], client_cert=False)
    listed = run(
        [connector_command(), "dlq", "list"],
        connector_env(CONNECTOR_HOME_COUNTRY="NA", CONNECTOR_AMQP_URL=url),
    )
    assert listed.returncode == 3
    # TLS 1.3: the broker's refusal may arrive as its alert or as a bare end of stream; the
    # connector names the likely cause and the fix either way
    assert "certificate required" in listed.stderr.lower()
    assert "certfile and keyfile" in listed.stderr
    assert CONNECTOR_DEMO_PASSWORD not in listed.stderr  # the URL is logged without it


def test_plain_amqp_is_not_served(tls_broker):
    url = f"amqp://connector:{CONNECTOR_DEMO_PASSWORD}@127.0.0.1:{tls_broker['port']}/%2F"
    listed = run(
        [connector_command(), "dlq", "list"],
        connector_env(CONNECTOR_HOME_COUNTRY="NA", CONNECTOR_AMQP_URL=url),
    )
    assert listed.returncode == 3


def test_serve_with_the_production_config_is_healthy_over_amqps(tls_broker, pki, tmp_path):
    port = free_port()
    env = connector_env(
        CONNECTOR_CONFIG=str(PRODUCTION),
        CONNECTOR_DATA_DIR=str(tmp_path),
        CONNECTOR_AUDIT_KEY_FILE=str(tmp_path / "audit.key"),
        CONNECTOR_DATABASE_URL=f"sqlite:///{tmp_path / 'connector.sqlite3'}",
        CONNECTOR_AMQP_URL=production_amqp_url(pki, tls_broker["port"]),
        CONNECTOR_SOAP_PORT=str(port),
        CONNECTOR_SOAP_USERS="asycuda:test-only-password",
    )
    migrated = run([connector_command(), "migrate"], env)
    assert migrated.returncode == 0, migrated.stderr
    with serving(env, tmp_path / "serve.log", port):
        connections = run(
            [*tls_broker["ctl"], "list_connections", "-q", "user", "ssl", "peer_cert_subject"],
            tls_broker["env"],
        ).stdout
        mine = [line for line in connections.splitlines() if line.startswith("connector")]
        assert mine and all("true" in line for line in mine), connections
        assert all(pki.client_cn in line for line in mine), connections
