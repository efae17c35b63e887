"""End to end in headless chromium: HS four eyes, a SOAP declaration found in the console,
a paper permit that releases it, and a broker who sees only its own declarations.

Screenshots of the main pages are saved under the test's temporary ``artefacts`` directory
(and copied to ``$CONNECTOR_SCREENSHOTS_DIR`` when set: how docs/screenshots/ was made).
"""

from __future__ import annotations

import pytest

from cites_connector.adapters.soap.clearance_client import ClearanceClient
from tests.console.browser import (
    SOAP_PASSWORD,
    SOAP_USER,
    Browser,
    chromium,
    need_chromium,
    running,
)
from tests.console.conftest import PAPER_PERMIT, SAD


@pytest.fixture
def world(tmp_path, console_template):
    need_chromium()
    with running(tmp_path, console_template) as started:
        yield started


def _set_date(browser: Browser, name: str, iso: str) -> None:
    """A date input set as a browser user would leave it (the value, not the typed form)."""
    element = browser.driver.find_element("css selector", f"[name='{name}']")
    browser.driver.execute_script("arguments[0].value = arguments[1]", element, iso)


def test_the_console_end_to_end_in_a_real_browser(world, tmp_path):
    shots = tmp_path / "artefacts"
    with chromium() as driver:
        web = Browser(driver, world.console_url, shots)

        # -- unauthenticated: the login page only
        web.open("/declarations/")
        assert "/login" in driver.current_url
        web.shot("login")

        # -- HS tables: edit a draft with one invalid row, fix it, propose (rita)
        web.log_in("rita")
        web.open("/hs/")
        web.submit("form[action='/hs/edit/new']")
        assert driver.current_url.endswith("/hs/table/D1")
        web.fill({"hs_prefix": "010690", "taxon": "Pythonus fantasticus"}, within="#new-row")
        web.submit("#new-row form")
        problem = driver.find_element("css selector", "#new-row .problem").text
        assert "Pythonus fantasticus" in problem
        driver.execute_script("document.getElementById('new-row').scrollIntoView()")
        web.shot("hs-draft-invalid-row")
        web.fill({"taxon": "Python regius", "terms": "LIV"}, within="#new-row")
        web.submit("#new-row form")
        assert "saved in D1" in web.text
        web.click_button("Propose for approval")
        assert "PROPOSED" in web.text
        # four eyes: the proposer's own approval is refused
        web.click_button("Approve")
        assert "403" in web.text and "four eyes" in web.text
        web.open("/")
        web.log_out()

        # -- approve and publish as another reviewer (rob)
        web.log_in("rob")
        web.open("/hs/table/D1")
        web.click_button("Approve")
        assert "APPROVED" in web.text
        web.click_button("Publish")
        assert driver.current_url.endswith("/hs/table/HS2022/2")
        assert "published as HS2022/2" in web.text
        web.open("/hs/diff/HS2022/2?against=HS2022/1")
        assert "Python regius" in web.text
        web.shot("hs-diff")
        web.log_out()

        # -- a declaration through SOAP (real HTTP), held for a permit nobody has yet
        sad = (SAD / "export-sample.xml").read_text().replace("26NA000123", "26NA000999")
        client = ClearanceClient(
            f"{world.soap_url}/soap/clearance?wsdl", SOAP_USER, SOAP_PASSWORD, timeout=30
        )
        answer = client.check_declaration("WEB-1", 1, sad.encode())
        assert answer["Decision"] == "HELD"
        world.console.clear(
            "export-sample.xml",
            "OTHER-1",
            replace={"BRK-0917": "BRK-0001", "26NA000123": "26NA000998"},
        )

        # -- the officer finds it, with its reasons, in the list and the held queue
        web.log_in("otto")
        web.fill({"id": "WEB-1"}, within="form.search")
        web.submit("form.search")
        web.follow("WEB-1")
        assert "PERMIT_UNKNOWN" in web.text and "26NA000999" in web.text
        web.shot("declaration-held")
        web.open("/declarations/held")
        assert "WEB-1" in web.text and "PERMIT_UNKNOWN" in web.text
        web.shot("held-queue")

        # -- paper permit: otto enters it, olga confirms, the held declaration clears
        web.open("/paper/")
        web.fill(PAPER_PERMIT | {"type": "EXPORT"}, within="form[action='/paper/']")
        _set_date(web, "issued_on", "2026-11-20")
        _set_date(web, "valid_from", "2026-11-20")
        _set_date(web, "valid_until", "2027-05-19")
        web.submit("form[action='/paper/']")
        assert "a second user must confirm it" in web.text
        web.shot("paper-permit-waiting")
        web.log_out()
        web.log_in("olga")
        web.open("/paper/")
        web.click_button("Confirm against the paper")
        assert "entered by hand" in web.text and "WEB-1" in web.text
        web.shot("permit-entered-by-hand")
        web.open("/declarations/WEB-1")
        assert "CLEARED" in web.text and "entered by hand" in web.text
        web.shot("declaration")
        web.open("/declarations/")
        web.shot("declarations")
        web.open("/operations/dashboard")
        assert "Declarations per day" in web.text
        web.shot("dashboard")
        web.log_out()

        # -- administrator: operations and the audit chains
        web.log_in("ada")
        web.open("/operations/")
        assert "Outbox" in web.text
        web.shot("operations")
        web.open("/operations/audit")
        assert "Both chains verify" in web.text and "console:olga" in web.text
        web.shot("audit")

        # -- suspensions and quotas: a suspension and a quota through the page's forms
        web.open("/trade/")
        web.fill(
            {"country": "GN", "taxon": "Pterocarpus erinaceus", "sources": "W"}
            | {"notification": "CITES Notif. No. 2018/018", "reason": "RST"},
            within="#add-suspension",
        )
        _set_date(web, "starts_on", "2018-02-14")
        web.submit("#add-suspension")
        assert "Suspension 1 added" in web.text
        web.fill(
            {"taxon": "Python regius", "quantity": "1500", "term": "LIV", "reason": "2026"},
            within="#set-quota",
        )
        web.submit("#set-quota")
        assert "NA 2026 export quota for Python regius LIV: 1500 specimens set" in web.text
        web.shot("trade")
        web.log_out()

        # -- broker: only its own declarations
        web.log_in("bert")
        assert driver.current_url.endswith("/my/declarations")
        assert "WEB-1" in web.text and "OTHER-1" not in web.text
        web.follow("WEB-1")
        assert "CLEARED" in web.text
        web.shot("broker-declaration")
        web.open("/my/declarations/OTHER-1")
        assert "404" in web.text
        web.open("/declarations/WEB-1")
        assert "403" in web.text

    names = sorted(p.name for p in shots.iterdir())
    assert "declaration.png" in names and "dashboard.png" in names and len(names) >= 10


def test_pages_are_readable_at_tablet_width(world, tmp_path):
    world.console.clear("export-sample.xml", "D-1")
    with chromium(width=820, height=1180) as driver:
        web = Browser(driver, world.console_url, tmp_path / "artefacts")
        web.log_in("otto")
        web.open("/declarations/D-1")
        # nothing wider than the window but the tables' own scroll boxes
        overflow = driver.execute_script(
            "return document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0
        web.shot("declaration-tablet")
