"""Operations pages (outbox retry, dead letters, audit verification) and the dashboard."""

from __future__ import annotations

from sqlalchemy import select

from cites_connector.adapters.sql.hs_schema import admin_audit
from tests.console.conftest import make_console, post

UNREACHABLE_AMQP = "amqp://guest:guest@127.0.0.1:1/%2F"


def _actions(console) -> list[tuple[str, str]]:
    with console.app.engine.connect() as c:
        return [(r.actor, r.action) for r in c.execute(select(admin_audit))]


def test_a_failed_delivery_is_retried_from_the_page_and_the_act_audited(tmp_path, console_template):
    console = make_console(tmp_path, template=console_template, amqp_url=UNREACHABLE_AMQP)
    console.clear("export-sample.xml", "D-1")
    status = console.backend.outbox_status()
    row_id = 1
    console.backend.outbox.mark_failed(row_id, "refused: 403 Forbidden", console.clock())
    page = console.client("ada").get("/operations/").get_data(as_text=True)
    assert "refused: 403 Forbidden" in page and "RabbitMQ could not be read" in page
    assert status.channels
    response = post(
        console.client("ada"), "/operations/outbox/retry", {"id": str(row_id)}, page="/operations/"
    )
    assert response.status_code == 302
    assert not any(
        f.id == row_id and f.state == "failed" for f in console.backend.outbox_status().failures
    )
    assert ("console:ada", "outbox.retry") in _actions(console)
    console.app.close()


def test_replay_without_the_publisher_url_is_refused_with_the_reason(tmp_path, console_template):
    console = make_console(tmp_path, template=console_template, amqp_url=UNREACHABLE_AMQP)
    response = post(
        console.client("ada"), "/operations/dlq/replay", {"all": "1"}, page="/operations/"
    )
    assert response.status_code == 302
    page = console.client("ada").get("/operations/").get_data(as_text=True)
    assert "CONNECTOR_DLQ_REPLAY_URL" in page
    console.app.close()


def test_operations_are_for_administrators_only(console):
    for who in ("rita", "otto", "vic"):
        assert console.client(who).get("/operations/").status_code == 403
        assert console.client(who).get("/operations/audit").status_code == 403
        refused = post(
            console.client(who), "/operations/outbox/retry", {"all": "1"}, page="/declarations/"
        )
        assert refused.status_code == 403


def test_the_audit_page_verifies_both_chains_and_shows_console_actors(console):
    post(console.client("rita"), "/hs/edit/new", {"edition": "HS2022"}, page="/hs/")
    html = console.client("ada").get("/operations/audit").get_data(as_text=True)
    assert "Both chains verify" in html
    assert "console:rita" in html and "hs.draft.created" in html


def test_dashboard_charts_declarations_per_day_and_hold_reasons(console):
    console.clear("export-sample.xml", "D-1")  # writes 12 of 50 KIL off the MULTIPLE permit
    console.clear("export-sample.xml", "D-2", replace={"26NA000123": "26NA000999"})
    html = console.client("vic").get("/operations/dashboard").get_data(as_text=True)
    assert "<svg" in html and "<script" not in html
    assert "2026-11-28: 1 CLEARED" in html and "2026-11-28: 1 HELD" in html
    assert "PERMIT_UNKNOWN" in html
    assert "1 held now" in html.replace("(", "").replace(")", "")


def test_the_operations_page_shows_epix_reachability_and_the_declarations_waiting_for_it(
    tmp_path, console_template
):
    from tests.integration.epix.epix_kit import parrots

    console = make_console(
        tmp_path, template=console_template, epix_url="https://epix.example.test/epix"
    )
    app = console.app
    declaration = app.map_sad(parrots(24))  # cites 26ZA004431, which only EPIX holds
    held = app.clearance.clear("WDHA-I-EPIX-9", 1, declaration).decision
    assert held.decision.value == "HELD"
    page = console.client("ada").get("/operations/").get_data(as_text=True)
    assert "EPIX hub" in page and "unknown" in page  # configured, not asked yet
    assert "waiting for a permit from EPIX: <strong>1</strong>" in page

    app.service_state.record("epix", False, "ConnectTimeout")  # as the EPIX port reports
    page = console.client("ada").get("/operations/").get_data(as_text=True)
    assert "unreachable" in page and "ConnectTimeout" in page
    assert "EPIX does not answer" in page and "Home permits still clear" in page

    app.service_state.record("epix", True)
    app.clearance.cancel("WDHA-I-EPIX-9")  # no longer held: no longer waiting
    page = console.client("ada").get("/operations/").get_data(as_text=True)
    assert "reachable" in page and "EPIX does not answer" not in page
    assert "waiting for a permit from EPIX: <strong>0</strong>" in page
    assert console.client("vic").get("/operations/").status_code == 403
    console.app.close()


def test_without_epix_the_operations_page_says_it_is_not_configured(console):
    page = console.client("ada").get("/operations/").get_data(as_text=True)
    assert "not configured" in page and "waiting for a permit from EPIX" not in page
