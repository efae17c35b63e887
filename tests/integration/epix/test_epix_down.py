"""EPIX down, then back (docs/epix.md, "EPIX down"), over HTTPS with mutual TLS: a declaration
citing a permit only EPIX holds is held with PERMIT_UNKNOWN while the hub is away, /healthz
says so without going 503, nothing is written; when the hub answers again the re-ask worker
finds the permit and the declaration is released by itself: cleared, written off once,
usage.recorded, the customs callback and ConfirmQuantities queued once each."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from sqlalchemy import func, select

from cites_connector.adapters.sql import tables as t
from cites_connector.adapters.sql.migrate import upgrade
from cites_connector.app import build_application
from cites_connector.app.reask_worker import build_reask_worker
from cites_connector.app.serving import build_serve
from cites_connector.mappings.epix_messages import EPIX_CONFIRM
from tests.integration.epix.epix_kit import (
    connector,
    epix_hub,
    epix_settings,
    parrots,
    restart,
)

GET = "GetFinalCitesCertificate"


def counts(app) -> dict[str, int]:
    o = t.outbox.c
    with app.engine.connect() as c:
        return {
            "usages": c.scalar(select(func.count()).select_from(t.usages)),
            "permits": c.scalar(select(func.count()).select_from(t.permits)),
            "usage.recorded": c.scalar(
                select(func.count()).where(o.routing_key == "usage.recorded")
            ),
            "callbacks": c.scalar(select(func.count()).where(o.channel == "customs-callback")),
            "confirms": c.scalar(select(func.count()).where(o.channel == EPIX_CONFIRM)),
        }


def wait_for(condition: Callable[[], bool], seconds: float = 30.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return condition()


@pytest.fixture(params=["sqlite", "postgres"])
def ledger_url(request) -> str:
    """Both ledgers: the waiting declarations are found by one SQL query
    (Declarations.held_awaiting_permits)."""
    return str(request.getfixturevalue(f"{request.param}_url"))


def test_held_while_epix_is_down_then_released_by_itself_when_it_answers(tmp_path, ledger_url):
    with (
        epix_hub(tmp_path) as hub,
        connector(
            tmp_path,
            hub,
            database_url=ledger_url,
            epix_reask_interval=1.0,
            epix_reask_max_interval=2.0,
        ) as running,
    ):
        status, body = running.healthz()
        assert (status, body["checks"]["epix"]) == (200, "unknown")
        hub.server.stop()  # the hub is away: connections refused

        result = running.check("WDHA-I-EPIX-DOWN", parrots(24))

        assert result["Decision"] == "HELD", result
        assert "PERMIT_UNKNOWN" in str(result)
        status, body = running.healthz()
        assert (status, body["status"], body["checks"]["epix"]) == (200, "ok", "unreachable")
        assert "127.0.0.1" not in str(body)
        state = running.app.service_state.get("epix")
        assert state is not None and state.last_error  # a class name, no host
        assert "127.0.0.1" not in state.last_error
        before = counts(running.app)
        assert before == {
            "usages": 0,
            "permits": 0,
            "usage.recorded": 0,
            "callbacks": 0,
            "confirms": 0,
        }

        worker = build_reask_worker(running.app)
        assert worker is not None
        worker.start()
        try:
            time.sleep(3.5)  # re-asked while the hub is still away: nothing changes
            assert counts(running.app) == before
            assert running.app.foreign_waits is not None
            assert len(running.app.foreign_waits.waiting()) == 1
            assert running.app.service_state.word("epix") == "unreachable"

            restart(hub)

            assert wait_for(
                lambda: running.app.clearance.stored("WDHA-I-EPIX-DOWN").state.value == "CLEARED"
            )
            after = counts(running.app)
            assert after == {
                "usages": 1,
                "permits": 1,
                "usage.recorded": 1,
                "callbacks": 1,
                "confirms": 1,
            }
            stored = running.permit()
            assert stored is not None and stored.lines[0].remaining == 6
            assert running.app.foreign_waits.waiting() == []
            status, body = running.healthz()
            assert (status, body["checks"]["epix"]) == (200, "reachable")
            decision = running.check("WDHA-I-EPIX-DOWN", parrots(24))  # a repeat: as stored
            assert decision["Decision"] == "CLEARED"

            asked = hub.simulator.calls_received[GET]
            time.sleep(3.0)  # released: not asked again
            assert hub.simulator.calls_received[GET] == asked == 1
            assert counts(running.app) == after
        finally:
            worker.stop(timeout=5)


def test_serve_builds_the_re_ask_and_the_epix_health_note(tmp_path):
    with epix_hub(tmp_path) as hub:
        settings = epix_settings(tmp_path, hub, amqp_url="amqp://guest:guest@127.0.0.1:1/%2F")
        first = build_application(settings)
        upgrade(first.engine)  # serve refuses an unmigrated ledger
        first.close()
        migrated = build_serve(settings, users={}, auth=False, threads=2)
        try:
            assert migrated.workers.reask is not None
            assert migrated.workers.reask in migrated.workers.in_start_order
            report = migrated.wsgi.health.run()
            assert report.checks["epix"] == "unknown"
        finally:
            migrated.wsgi.health.close()
            migrated.app.close()
        off = build_application(
            epix_settings(tmp_path, hub, epix_reask_interval=0), ask_permit_system=True
        )
        try:
            assert build_reask_worker(off) is None  # 0: never re-asked
        finally:
            off.close()
