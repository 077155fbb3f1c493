"""Browser tests of the tracker: Debian's headless Chromium driven through its chromedriver
(never a browser or driver downloaded by a test tool), test pages on one origin, the real
ingest app behind a recording proxy on another, and a real test database."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest

from tests.tracker.servers import IngestProxy, card_site, running_ingest

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
VISITOR_AGENT = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/156.0.0.0 Safari/537.36"
)


@pytest.fixture
def chrome(tmp_path: Path) -> Iterator:
    """A fresh headless Chromium (its own profile: empty localStorage)."""
    if not (os.access(CHROMIUM, os.X_OK) and os.access(CHROMEDRIVER, os.X_OK)):
        pytest.fail(  # not a skip: these tests must run wherever the suite runs
            f"{CHROMIUM} and {CHROMEDRIVER} are needed: "
            "apt-get install chromium chromium-driver (.ci/run does it)"
        )
    os.environ["SE_OFFLINE"] = "true"  # Selenium Manager must never fetch anything
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in (
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run",
        "--disable-dev-shm-usage", "--window-size=1000,800",
        f"--user-data-dir={tmp_path / 'chromium-profile'}",
        # Headless Chromium says "HeadlessChrome", which the service rightly counts as a bot.
        f"--user-agent={VISITOR_AGENT}",
    ):  # fmt: skip
        options.add_argument(argument)
    options.add_experimental_option("prefs", {"enable_do_not_track": True})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture
def proxy(database_url: str, tmp_path: Path) -> Iterator[tuple[IngestProxy, str]]:
    """The ingest app behind a recording proxy; yields the proxy and its URL."""
    with running_ingest(database_url, tmp_path / "clik-home") as ingest_url:
        recorder = IngestProxy(ingest_url)
        with recorder.running() as url:
            yield recorder, url


@pytest.fixture
def site(proxy: tuple[IngestProxy, str]) -> Iterator[str]:
    """The test pages' origin; their snippet loads /tracker.js through the proxy."""
    with card_site(proxy[1]) as url:
        yield url


@pytest.fixture
def rows(database_url: str) -> Callable[[str], list[tuple]]:
    """Runs a query on the test database and returns its rows."""

    def query(sql: str) -> list[tuple]:
        with psycopg.connect(database_url) as conn:
            return conn.execute(sql).fetchall()

    return query
