"""deploy/nginx/cites-connector.conf with Debian's nginx, on loopback: `nginx -t`, then nginx
in front of a real `cites-connector serve` (started as the systemd unit starts it, with
deploy/config/production.toml and deploy/env.example), fetched over TLS.

Only listen addresses, upstream ports and file paths of the site are changed for the test, each
replacement checked to match. nginx reaches the connector from 127.0.0.2 (``proxy_bind``) and
the test's client speaks from 127.0.0.3, so that the connector's log shows whether it believed
the proxy's X-Forwarded-For (CONNECTOR_SOAP_TRUSTED_PROXY) and ignored a forged one."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.deploy.serving import env_file_values, log_events, serving
from tests.deploy.tools import DEPLOY, connector_command, connector_env, debian_tool, free_port, run

SITE = DEPLOY / "nginx" / "cites-connector.conf"
PRODUCTION = DEPLOY / "config" / "production.toml"
SOAP_HOST = "customs-gw.example.na"
CONSOLE_HOST = "console.customs-gw.example.na"
PROXY_ADDRESS = "127.0.0.2"
CLIENT_ADDRESS = "127.0.0.3"


def render_site(tls_dir: Path, logs: Path, https: int, http: int, soap: int, console: int) -> str:
    text = SITE.read_text()
    replacements = [
        ("    listen 443 ssl;\n", f"    listen 127.0.0.1:{https} ssl;\n", 2),
        ("    listen [::]:443 ssl;\n", "", 2),
        ("    listen 80;\n", f"    listen 127.0.0.1:{http};\n", 1),
        ("    listen [::]:80;\n", "", 1),
        ("server 127.0.0.1:8088;", f"server 127.0.0.1:{soap};", 1),
        ("server 127.0.0.1:8089;", f"server 127.0.0.1:{console};", 1),
        ("/etc/cites-connector/tls/gateway.crt", str(tls_dir / "server.crt"), 2),
        ("/etc/cites-connector/tls/gateway.key", str(tls_dir / "server.key"), 2),
        ("/etc/cites-connector/tls/client-ca.crt", str(tls_dir / "ca.crt"), 2),
        ("/var/log/nginx/", f"{logs}/", 4),
    ]
    for old, new, count in replacements:
        assert text.count(old) == count, f"{SITE.name}: expected {count} x {old!r}"
        text = text.replace(old, new)
    return text


def main_config(prefix: Path, site: Path) -> str:
    user = "user root root;\n" if os.geteuid() == 0 else ""
    temp = "\n".join(
        f"    {kind}_temp_path {prefix}/{kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    return (
        f"{user}daemon off;\nworker_processes 1;\npid {prefix}/nginx.pid;\n"
        f"error_log {prefix}/error.log warn;\nevents {{ worker_connections 64; }}\n"
        f"http {{\n    access_log off;\n{temp}\n"
        f"    proxy_bind {PROXY_ADDRESS};   # test only: nginx's own source address\n"
        f"    include {site};\n}}\n"
    )


class _Echo(BaseHTTPRequestHandler):
    """Stands where the console will listen, to show what nginx forwards to it."""

    def do_GET(self):
        body = json.dumps({k.lower(): v for k, v in self.headers.items()}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def nginx():
    return debian_tool("nginx", "nginx", search=("/usr/sbin/nginx",))


@pytest.fixture(scope="module")
def curl():
    return debian_tool("curl", "curl")


@pytest.fixture(scope="module")
def gateway(nginx, pki, tmp_path_factory, rabbitmq_connector_url):
    """nginx with the kit's site in front of serve (production.toml, env.example)."""
    prefix = Path(tempfile.mkdtemp(prefix="cites-deploy-nginx-"))
    for sub in ("logs", "tls", "client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (prefix / sub).mkdir()
    for name in ("ca.crt", "server.crt", "server.key"):
        shutil.copy(pki.directory / name, prefix / "tls" / name)
    https, http, soap = free_port(), free_port(), free_port()
    console = ThreadingHTTPServer(("127.0.0.1", 0), _Echo)
    threading.Thread(target=console.serve_forever, daemon=True).start()
    site = prefix / "site.conf"
    site.write_text(
        render_site(prefix / "tls", prefix / "logs", https, http, soap, console.server_address[1])
    )
    conf = prefix / "nginx.conf"
    conf.write_text(main_config(prefix, site))
    checked = run([nginx, "-t", "-p", str(prefix), "-c", str(conf)])
    assert checked.returncode == 0, checked.stderr

    data = tmp_path_factory.mktemp("serve")
    public_url = f"https://{SOAP_HOST}:{https}/cites/soap/clearance"
    env = connector_env(**env_file_values(DEPLOY / "env.example"))
    env.update(
        CONNECTOR_CONFIG=str(PRODUCTION),
        CONNECTOR_DATA_DIR=str(data),
        CONNECTOR_AUDIT_KEY_FILE=str(data / "audit.key"),
        CONNECTOR_DATABASE_URL=f"sqlite:///{data / 'connector.sqlite3'}",
        CONNECTOR_AMQP_URL=rabbitmq_connector_url,
        CONNECTOR_SOAP_PORT=str(soap),
        CONNECTOR_SOAP_TRUSTED_PROXY=PROXY_ADDRESS,
        CONNECTOR_SOAP_PUBLIC_URL=public_url,
    )
    assert env["CONNECTOR_SOAP_USERS"].startswith("asycuda:")  # env.example's form parses
    migrated = run([connector_command(), "migrate"], env)
    assert migrated.returncode == 0, migrated.stderr
    log = data / "serve.log"
    server = subprocess.Popen([nginx, "-p", str(prefix), "-c", str(conf)], stderr=subprocess.PIPE)
    try:
        with serving(env, log, soap):
            _await_port(https, server)
            yield {
                "https": https,
                "http": http,
                "public_url": public_url,
                "log": log,
                "prefix": prefix,
            }
    finally:
        server.terminate()
        server.wait(timeout=30)
        console.shutdown()
        shutil.rmtree(prefix, ignore_errors=True)


def _await_port(port: int, server: subprocess.Popen) -> None:
    import socket

    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"nginx exited: {server.stderr.read().decode()}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    pytest.fail("nginx did not listen")


def fetch(
    curl: str,
    gateway: dict,
    pki,
    path: str,
    *,
    host: str = SOAP_HOST,
    source: str = CLIENT_ADDRESS,
    cert: tuple[Path, Path] | None = None,
    data: Path | None = None,
    headers: tuple[str, ...] = (),
    scheme: str = "https",
) -> tuple[int, dict[str, str], str]:
    """(status, response headers, body) of one request through nginx, by name, over TLS
    checked against the test CA."""
    port = gateway["https"] if scheme == "https" else gateway["http"]
    argv = [
        curl,
        "-sS",
        "--max-time",
        "20",
        "--interface",
        source,
        "--resolve",
        f"{host}:{port}:127.0.0.1",
        "--cacert",
        str(pki.ca_cert),
        "-D",
        "-",
        f"{scheme}://{host}:{port}{path}",
    ]
    if cert:
        argv += ["--cert", str(cert[0]), "--key", str(cert[1])]
    if data:
        argv += [
            "--data-binary",
            f"@{data}",
            "-H",
            "Content-Type: text/xml; charset=utf-8",
            "-H",
            'SOAPAction: ""',
        ]
    for header in headers:
        argv += ["-H", header]
    done = run(argv)
    assert done.returncode == 0, done.stderr
    head, _, body = done.stdout.partition("\n\n")  # text mode: \r\n arrives as \n
    while head.startswith("HTTP/1.1 100"):  # curl's Expect: 100-continue, before the answer
        head, _, body = body.partition("\n\n")
    lines = head.split("\n")
    status = int(lines[0].split()[1])
    fields = {
        k.strip().lower(): v.strip()
        for k, v in (line.split(":", 1) for line in lines[1:] if ":" in line)
    }
    return status, fields, body


def test_nginx_accepts_the_site_with_client_certificates_and_hsts(gateway):
    site = (gateway["prefix"] / "site.conf").read_text()
    assert "ssl_verify_client optional;" in site
    assert "ssl_protocols TLSv1.2 TLSv1.3;" in site
    assert re.search(r"client_max_body_size 6m;", site)


def test_the_wsdl_through_tls_names_the_public_https_address(gateway, curl, pki):
    status, headers, body = fetch(curl, gateway, pki, "/cites/soap/clearance?wsdl")
    assert status == 200
    assert headers["strict-transport-security"].startswith("max-age=63072000")
    assert f'location="{gateway["public_url"]}"' in body


def test_readiness_is_served_to_the_monitoring_network_only(gateway, curl, pki):
    status, _, body = fetch(curl, gateway, pki, "/cites/healthz", source="127.0.0.1")
    assert status == 200 and json.loads(body)["status"] == "ok"
    assert fetch(curl, gateway, pki, "/cites/healthz", source=CLIENT_ADDRESS)[0] == 403
    assert fetch(curl, gateway, pki, "/cites/readyz", source=CLIENT_ADDRESS)[0] == 403
    assert fetch(curl, gateway, pki, "/cites/metrics", source=CLIENT_ADDRESS)[0] == 403
    # from the monitoring address the request reaches the connector (200 once /metrics is
    # served, 404 from the connector before), never nginx's refusal
    assert fetch(curl, gateway, pki, "/cites/metrics", source="127.0.0.1")[0] in (200, 404)


def test_nothing_else_of_the_connector_port_is_exposed(gateway, curl, pki):
    assert fetch(curl, gateway, pki, "/healthz")[0] == 404
    assert fetch(curl, gateway, pki, "/soap/clearance?wsdl")[0] == 404


def test_plain_http_only_redirects_to_https(gateway, curl, pki):
    status, headers, _ = fetch(curl, gateway, pki, "/cites/soap/clearance?wsdl", scheme="http")
    assert status == 301
    assert headers["location"].startswith(f"https://{SOAP_HOST}")


def test_the_connector_logs_the_real_client_not_a_forged_forwarded_for(
    gateway, curl, pki, tmp_path
):
    envelope = tmp_path / "check.xml"
    envelope.write_text(
        '<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>'
        '<GetDecisionRequest xmlns="urn:cites-connector:clearance:1"><DeclarationId>NGINX-1'
        "</DeclarationId></GetDecisionRequest></soap:Body></soap:Envelope>"
    )
    status, _, body = fetch(
        curl,
        gateway,
        pki,
        "/cites/soap/clearance",
        data=envelope,
        headers=("X-Forwarded-For: 203.0.113.9",),
    )
    assert status == 500 and "Client.Authentication" in body  # no UsernameToken: a Fault
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        faults = [
            e
            for e in log_events(gateway["log"])
            if e.get("event") == "soap.fault" and e.get("declaration_id") == "NGINX-1"
        ]
        if faults:
            break
        time.sleep(0.1)
    assert faults and faults[-1]["client"] == CLIENT_ADDRESS


def test_a_request_over_the_connectors_limit_is_refused_by_nginx(gateway, curl, pki, tmp_path):
    big = tmp_path / "big.xml"
    big.write_bytes(b"<x>" + b"a" * (7 * 1024 * 1024) + b"</x>")
    assert fetch(curl, gateway, pki, "/cites/soap/clearance", data=big)[0] == 413


def test_a_request_between_the_limits_gets_the_connectors_too_large_fault(
    gateway, curl, pki, tmp_path
):
    big = tmp_path / "big.xml"
    big.write_bytes(b"<x>" + b"a" * (5 * 1024 * 1024 + 200 * 1024) + b"</x>")
    status, _, body = fetch(curl, gateway, pki, "/cites/soap/clearance", data=big)
    assert status == 500 and "Client.TooLarge" in body


def test_the_console_requires_a_client_certificate_and_learns_who_presented_it(gateway, curl, pki):
    assert fetch(curl, gateway, pki, "/", host=CONSOLE_HOST)[0] == 403
    status, _, body = fetch(
        curl, gateway, pki, "/", host=CONSOLE_HOST, cert=(pki.client_cert, pki.client_key)
    )
    assert status == 200
    forwarded = json.loads(body)
    assert forwarded["x-client-verify"] == "SUCCESS"
    assert f"CN={pki.client_cn}" in forwarded["x-client-dn"]
    assert forwarded["x-forwarded-proto"] == "https"
    assert forwarded["x-forwarded-for"] == CLIENT_ADDRESS


def test_a_certificate_from_another_ca_is_refused(gateway, curl, pki):
    status, _, _ = fetch(
        curl, gateway, pki, "/", host=CONSOLE_HOST, cert=(pki.rogue_cert, pki.rogue_key)
    )
    assert status == 400  # nginx: "The SSL certificate error"
