"""Issue 9, item 6: a permit arrives while customs amends and cancels the declarations held for it.

Two ``cites-connector serve`` processes share one PostgreSQL ledger and one RabbitMQ; 800
declarations are held for a permit not received yet. The permit system publishes the permit,
and while the connector releases the held declarations, customs amends 400 of them (version 2)
and cancels the other 400 over SOAP, to both processes at once. Before the fix the release
trusted the list of held declarations it read at the start: it wrote off both versions of an
amended declaration (4 of 400 in a measured race) and cleared declarations customs had just
cancelled (57 of 400: ``CancelDeclaration`` answered, then a CLEARED callback). Now every
amended declaration ends with the usages of version 2 only, every cancelled one with none,
and no CLEARED callback is written after a cancellation.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from pathlib import Path

import pika
import pytest
import requests
from lxml import etree
from sqlalchemy import func, select

from cites_connector.adapters.amqp import topology
from cites_connector.adapters.sql import tables as t
from cites_connector.adapters.sql.migrate import upgrade
from cites_connector.app import build_application
from cites_connector.app.settings import load_settings
from tests.hostile.clearance_kit import warm_up
from tests.integration.soap.conftest import check_request, envelope, wsse_text
from tests.integration.soap.test_soap_serve import command, free_port, wait_healthy
from tests.samples import SAMPLE_PERMITS, sad_dated

pytestmark = [pytest.mark.postgres, pytest.mark.rabbitmq]

PER_KIND = 400
PERMIT = "26NA900001"
CLIENT_THREADS = 12


def publish_permit(url: str, body: dict) -> None:
    """The permit system publishes ``permit.issued`` (contract 3.1), with publisher confirms,
    as its own RabbitMQ user with ``user_id`` set: the connector trusts nobody else (v2)."""
    connection = pika.BlockingConnection(pika.URLParameters(url))
    try:
        channel = connection.channel()
        channel.confirm_delivery()
        channel.basic_publish(
            topology.PERMITS_EXCHANGE,
            "permit.issued",
            json.dumps(body).encode(),
            pika.BasicProperties(
                content_type="application/json",
                delivery_mode=2,
                message_id=str(uuid.uuid4()),
                user_id="permit-system",
            ),
            mandatory=True,
        )
    finally:
        connection.close()


def the_permit() -> dict:
    """A MULTIPLE permit for far more pythons than the 800 declarations ask for."""
    permit = json.loads(SAMPLE_PERMITS.read_text())[0]
    today = date.today()
    return permit | {
        "permit_number": PERMIT,
        "consignment_policy": "MULTIPLE",
        "issued_on": (today - timedelta(days=5)).isoformat(),
        "valid_from": (today - timedelta(days=5)).isoformat(),
        "valid_until": (today + timedelta(days=100)).isoformat(),
        "lines": [permit["lines"][0] | {"quantity": "100000"}],
    }


def sad(specimens: int) -> bytes:
    """The sample SAD, dated today, its pythons citing the permit, the skins item removed."""
    root = etree.fromstring(sad_dated())
    root.remove(root.findall("Item")[1])
    pythons = root.find("Item")
    pythons.find("Attached_documents[2]/Attached_document_reference").text = PERMIT
    pythons.find("Tarification/Supplementary_unit/Suppplementary_unit_quantity").text = str(
        specimens
    )
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def cancel_request(declaration_id: str) -> str:
    return (
        f"<c:CancelDeclarationRequest><c:DeclarationId>{declaration_id}</c:DeclarationId>"
        "<c:Reason>goods withdrawn</c:Reason></c:CancelDeclarationRequest>"
    )


@pytest.fixture
def environment(tmp_path, postgres_url, amqp_url, permit_system_url):
    settings = load_settings(
        home_country="NA", data_dir=tmp_path / "setup", database_url=postgres_url, amqp_url=amqp_url
    )
    app = build_application(settings)
    upgrade(app.engine)  # keys the copy of the (unkeyed) template with the setup's audit key
    held_v1 = app.map_sad(sad(1))
    amended = [f"RACE-A-{n:03d}" for n in range(PER_KIND)]
    cancelled = [f"RACE-C-{n:03d}" for n in range(PER_KIND)]
    for declaration_id in amended + cancelled:
        assert not app.clearance.clear(declaration_id, 1, held_v1).decision.cleared
    env = {
        **os.environ,
        "CONNECTOR_HOME_COUNTRY": "NA",
        "CONNECTOR_DATABASE_URL": postgres_url,
        "CONNECTOR_AMQP_URL": amqp_url,
        "CONNECTOR_SOAP_USERS": "customs:pw",
        "PERMIT_SYSTEM_URL": permit_system_url,
        "CONNECTOR_AUDIT_KEY_FILE": str(settings.effective_audit_key_file),
        "CONNECTOR_SOAP_AUTH": "on",
        "CONNECTOR_LOGGING__LEVEL": "WARNING",
    }
    yield app, env, amended, cancelled
    app.close()


def serve(env: dict, directory: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    directory.mkdir()
    with open(directory / "serve.log", "wb") as log:  # the child keeps its own descriptor
        process = subprocess.Popen(
            [*command(), "serve", "--threads", "6"],
            stdout=log,
            stderr=log,
            env=env | {"CONNECTOR_SOAP_PORT": str(port), "CONNECTOR_DATA_DIR": str(directory)},
        )
    return process, f"http://127.0.0.1:{port}"


def test_a_release_racing_amendments_and_cancellations_over_two_processes(environment, tmp_path):
    app, env, amended, cancelled = environment
    servers = [serve(env, tmp_path / f"serve-{n}") for n in (1, 2)]
    try:
        for process, url in servers:
            wait_healthy(url, process, timeout=60)
            warm_up(f"{url}/soap/clearance", wsse_text("customs", "pw"))
        answers = race(
            app, [url for _, url in servers], amended, cancelled, env["PERMIT_SYSTEM_URL"]
        )
        held = (
            select(func.count()).select_from(t.declarations).where(t.declarations.c.state == "HELD")
        )
        deadline = time.monotonic() + 60
        while count(app, held) and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        for process, _ in servers:
            process.send_signal(signal.SIGTERM)
        for process, _ in servers:
            assert process.wait(60) == 0

    with app.engine.connect() as connection:
        usages = connection.execute(
            select(t.usages.c.declaration_id, t.usages.c.declaration_version).where(
                t.usages.c.reversed_at.is_(None)
            )
        ).all()
        states = dict(
            connection.execute(
                select(t.declarations.c.declaration_id, t.declarations.c.state)
            ).all()
        )
        cancelled_at = dict(
            connection.execute(
                select(t.audit_log.c.subject, t.audit_log.c.at).where(
                    t.audit_log.c.action == "declaration.cancelled"
                )
            ).all()
        )
        callbacks = connection.execute(
            select(t.outbox.c.ordering_key, t.outbox.c.body, t.outbox.c.created_at).where(
                t.outbox.c.channel == "customs-callback"
            )
        ).all()
    versions: dict[str, set[int]] = {}
    for declaration_id, version in usages:
        versions.setdefault(declaration_id, set()).add(version)
    found = {
        "calls not answered 200": [a for a in answers if a != 200],
        "declarations still held": count(app, held),
        "usages of two versions": [d for d, v in versions.items() if len(v) > 1],
        "amended, not cleared on version 2": [
            d for d in amended if states[d] != "CLEARED" or versions.get(d) != {2}
        ],
        "cancelled, yet cleared or written off": [
            d for d in cancelled if states[d] != "CANCELLED" or d in versions
        ],
        "CLEARED callbacks after the cancellation": [
            key
            for key, body, created in callbacks
            if key in cancelled_at
            and body["decision"] == "CLEARED"
            and created >= cancelled_at[key]
        ],
    }
    counts = {what: len(v) if isinstance(v, list) else v for what, v in found.items()}
    assert counts == dict.fromkeys(found, 0), {
        w: v[:10] if isinstance(v, list) else v for w, v in found.items()
    }
    # the race did happen: some cancelled declarations had been released before
    assert any(body["decision"] == "CLEARED" for _, body, _ in callbacks)


def race(
    app, urls: list[str], amended: list[str], cancelled: list[str], publisher_url: str
) -> list[int]:
    """Amend and cancel over SOAP from many threads while the permit is published."""
    header = wsse_text("customs", "pw")
    amendment = sad(2)
    calls = [
        ("CheckDeclaration", envelope(check_request(d, amendment, version=2), header))
        for d in amended
    ] + [("CancelDeclaration", envelope(cancel_request(d), header)) for d in cancelled]
    random.Random(9).shuffle(calls)
    sessions = threading.local()
    started = threading.Event()

    def call(indexed) -> int:
        index, (action, body) = indexed
        if index == 40:
            started.set()  # the permit goes out while the calls flow
        session = getattr(sessions, "session", None) or requests.Session()
        sessions.session = session
        response = session.post(
            f"{urls[index % len(urls)]}/soap/clearance",
            data=body,
            timeout=60,
            headers={"Content-Type": "text/xml; charset=utf-8", "SOAPAction": action},
        )
        return response.status_code

    publisher = threading.Thread(
        target=lambda: (started.wait(60), publish_permit(publisher_url, the_permit()))
    )
    publisher.start()
    with ThreadPoolExecutor(CLIENT_THREADS) as pool:
        answers = list(pool.map(call, enumerate(calls)))
    publisher.join(60)
    return answers


def count(app, query) -> int:
    with app.engine.connect() as connection:
        return connection.execute(query).scalar_one()
