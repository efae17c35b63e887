"""The words an operator reads when the broker cannot be reached."""

import ssl

import pika.exceptions

from cites_connector.adapters.amqp.connection import why_unreachable

TLS = "amqps://connector@mq.example:5671/%2F?ssl_options={'ca_certs':'/tls/ca.crt'}"
MUTUAL = (
    "amqps://connector@mq.example:5671/%2F?ssl_options="
    "{'ca_certs':'/tls/ca.crt','certfile':'/tls/c.crt','keyfile':'/tls/c.key'}"
)
EOF_LOST = pika.exceptions.StreamLostError(
    "Stream connection lost: SSLEOFError(8, 'EOF occurred in violation of protocol')"
)


def test_a_tls_failure_without_a_client_certificate_names_the_fix():
    said = why_unreachable(TLS, EOF_LOST)
    assert said.startswith("StreamLostError Stream connection lost")
    assert "certificate required" in said
    assert "certfile and keyfile" in said


def test_the_hint_is_not_given_when_the_url_has_a_client_certificate():
    said = why_unreachable(MUTUAL, EOF_LOST)
    assert "certfile" not in said


def test_the_hint_is_not_given_for_plain_amqp_or_a_refused_port():
    refused = ConnectionRefusedError(111, "Connection refused")
    assert (
        why_unreachable("amqp://u@h/%2F", refused)
        == "ConnectionRefusedError [Errno 111] Connection refused"
    )
    assert "certfile" not in why_unreachable(TLS, refused)


def test_a_bad_server_certificate_is_named_too():
    bad = ssl.SSLCertVerificationError(1, "certificate verify failed: unable to get local issuer")
    assert "certificate verify failed" in why_unreachable(MUTUAL, bad)
