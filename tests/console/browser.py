"""A real headless browser on a real console and SOAP service, both over loopback HTTP.

Debian's chromium driven through chromium-driver by Selenium (scripts/services.sh
``ensure_chromium`` installs them; CI always has them). The connector is built as ``serve``
builds it: the SOAP WSGI app and the console's Flask app, each under its own waitress server
on a free port, on one SQLite ledger.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.wait import WebDriverWait

from cites_connector.app.console_serving import build_console_server
from cites_connector.app.serving import build_soap_app, build_soap_server
from cites_connector.console.web import create_console_app
from tests.console.conftest import PASSWORD, Console, make_console

CHROMIUM = os.environ.get("CONNECTOR_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("CONNECTOR_TEST_CHROMEDRIVER", "/usr/bin/chromedriver")
SOAP_USER, SOAP_PASSWORD = "customs", "browser-test-pw"


def need_chromium() -> None:
    if Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists():
        return
    if os.environ.get("CI"):
        pytest.fail("CI must install chromium and chromium-driver (scripts/services.sh)")
    pytest.skip("no chromium: apt-get install chromium chromium-driver, or run scripts/test.sh")


@dataclass
class Running:
    console: Console
    console_url: str
    soap_url: str


@contextmanager
def running(tmp_path: Path, template: Path) -> Iterator[Running]:
    # RabbitMQ is not part of these tests: the dead-letter list says it cannot be read
    made = make_console(tmp_path, template=template, amqp_url="amqp://guest:guest@127.0.0.1:1/%2F")
    settings = made.app.settings
    soap = build_soap_app(made.app, users={SOAP_USER: SOAP_PASSWORD}, auth=True)
    soap_server = build_soap_server(settings, soap, threads=2, port=0).start()
    web = create_console_app(made.backend, secret_key=b"b" * 32)
    console_server = build_console_server(settings, web, port=0).start()
    try:
        yield Running(made, console_server.url, soap_server.url)
    finally:
        console_server.stop(grace=5)
        soap_server.stop(grace=5)
        soap.health.close()
        made.app.close()


@contextmanager
def chromium(width: int = 1280, height: int = 900) -> Iterator[webdriver.Chrome]:
    options = Options()
    options.binary_location = CHROMIUM
    for argument in (
        "--headless=new",
        "--no-sandbox",  # the tests may run as root in a container
        "--disable-dev-shm-usage",
        "--disable-gpu",
        f"--window-size={width},{height}",
    ):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()


class Browser:
    """One person at the console: logs in, follows links, fills and submits forms."""

    def __init__(self, driver: webdriver.Chrome, base: str, shots: Path):
        self.driver, self.base, self.shots = driver, base, shots

    def open(self, path: str) -> None:
        self.driver.get(self.base + path)

    @property
    def text(self) -> str:
        return self.driver.find_element(By.TAG_NAME, "body").text

    @property
    def html(self) -> str:
        return self.driver.page_source

    def _navigate(self, by: str, selector: str) -> None:
        """Click, then wait until the next page has replaced this one.

        The page being left is marked with a property on its ``window``; a new document gets
        a new ``window``, so the mark is gone once the next page is there. No element of the
        old page is held: Chromium may answer "node does not belong to the document" instead
        of "stale element" for one, and a node of a page still loading may not be found yet,
        so the click is retried until it lands (and never once the page has changed).
        """
        self.driver.execute_script("window.__leaving = true")
        for attempt in range(8):
            if attempt and not self._still_on_marked_page():
                break  # a click that raised had navigated after all
            try:
                element: WebElement = self.driver.find_element(by, selector)
                element.click()
                break
            except (StaleElementReferenceException, WebDriverException):
                if attempt == 7:
                    raise
                time.sleep(0.5)
        WebDriverWait(self.driver, 60).until(lambda _: not self._still_on_marked_page())
        # the next page whole before anything on it is looked for
        WebDriverWait(self.driver, 60).until(
            lambda driver: driver.execute_script("return document.readyState") == "complete"
        )

    def _still_on_marked_page(self) -> bool:
        try:
            return bool(self.driver.execute_script("return window.__leaving === true"))
        except WebDriverException:  # the document is being replaced: ask again
            return True

    def log_in(self, name: str, password: str = PASSWORD) -> None:
        self.open("/login")
        self.fill({"username": name, "password": password})
        self._navigate(By.CSS_SELECTOR, "section.login button")

    def log_out(self) -> None:
        self._navigate(By.CSS_SELECTOR, "form.logout button")

    def fill(self, fields: dict[str, str], within: str = "") -> None:
        for name, value in fields.items():
            element = self.driver.find_element(By.CSS_SELECTOR, f"{within} [name='{name}']")
            if element.tag_name == "select":
                element.find_element(By.CSS_SELECTOR, f"option[value='{value}']").click()
                continue
            element.clear()
            element.send_keys(value)

    def submit(self, form_selector: str) -> None:
        self._navigate(By.CSS_SELECTOR, f"{form_selector} button[type=submit]")

    def click_button(self, label: str) -> None:
        self._navigate(By.XPATH, f"//button[normalize-space()='{label}']")

    def follow(self, link_text: str) -> None:
        self._navigate(By.LINK_TEXT, link_text)

    def shot(self, name: str) -> Path:
        self.shots.mkdir(parents=True, exist_ok=True)
        path = self.shots / f"{name}.png"
        self.driver.save_screenshot(str(path))
        keep = os.environ.get("CONNECTOR_SCREENSHOTS_DIR")  # docs/screenshots, by hand
        if keep:
            shutil.copy(path, Path(keep) / path.name)
        return path
