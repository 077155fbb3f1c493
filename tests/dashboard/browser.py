"""Driving the dashboard in Chromium: sign in, wait for figures, read what the page shows."""

from __future__ import annotations

import base64
import struct
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

METRICS = ("sessions", "page_views", "clicks", "contact_clicks", "contact_rate")
STATS = "/api/analytics/stats/"
NO_VALUE = "\u2013"  # an en dash: what the page shows for a rate without sessions


def wait_until(condition: Callable[[], Any], timeout_s: float = 30.0, what: str = "") -> Any:
    """Polls until `condition` returns something truthy, and returns it (no timing asserted:
    the limit only turns a hang into a failure)."""
    end = time.monotonic() + timeout_s
    while not (result := condition()):
        assert time.monotonic() < end, f"not reached in {timeout_s} s: {what}"
        time.sleep(0.05)
    return result


def board_state(chrome) -> str:
    return chrome.execute_script("return document.getElementById('board').dataset.state")


def wait_for_figures(chrome, user_code: str, first: str, last: str) -> None:
    """Waits until the page shows the figures of exactly that user code and range."""
    wanted = f"#user_code={user_code}&from={first}&to={last}"
    wait_until(
        lambda: (
            board_state(chrome) == "ready"
            and chrome.execute_script("return location.hash") == wanted
            and chrome.execute_script("return !document.getElementById('board').ariaBusy")
        ),
        what=f"figures of {wanted}",
    )


def sign_in(chrome, service: str, token: str, fragment: str = "") -> None:
    chrome.get(f"{service}/dashboard{fragment}")
    field = chrome.find_element(By.CSS_SELECTOR, 'input[name="token"]')
    field.send_keys(token)
    field.send_keys(Keys.ENTER)


def shown_metrics(chrome) -> dict[str, str]:
    return {
        metric: chrome.find_element(By.CSS_SELECTOR, f'[data-metric="{metric}"]').text
        for metric in METRICS
    }


def shown_changes(chrome) -> dict[str, str]:
    return {
        metric: chrome.find_element(By.CSS_SELECTOR, f'[data-change="{metric}"]').text
        for metric in METRICS
    }


def table_rows(chrome, selector: str) -> list[list[str]]:
    """A table's body as text cells (textContent: the days table sits in closed <details>)."""
    return chrome.execute_script(
        "return Array.from(document.querySelectorAll(arguments[0] + ' tbody tr'), row =>"
        " Array.from(row.cells, cell => cell.textContent.trim()))",
        selector,
    )


def api(service: str, token: str, path: str, **params: str) -> dict:
    response = httpx.get(
        service + STATS + path, params=params, headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 200, response.text
    return response.json()


def number(value: int) -> str:
    return f"{value:,}"


def rate(value: float | None) -> str:
    """The contact rate as the page writes it: one decimal, no unit."""
    return NO_VALUE if value is None else f"{value:,.1f}"


def expected_metrics(totals: dict) -> dict[str, str]:
    return {
        "sessions": number(totals["sessions"]),
        "page_views": number(totals["page_views"]),
        "clicks": number(totals["clicks"]),
        "contact_clicks": number(totals["contact_clicks"]),
        "contact_rate": rate(totals["contact_rate"]),
    }


def use_width(chrome, width: int, height: int, mobile: bool) -> None:
    """Emulates a viewport (a phone: 390 px wide, touch-sized, as Chromium's device mode)."""
    chrome.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile},
    )


def full_page_screenshot(chrome, path: Path) -> tuple[int, int]:
    """Writes a PNG of the whole page (beyond the viewport) and returns its size in pixels."""
    shot = chrome.execute_cdp_cmd(
        "Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True}
    )
    data = base64.b64decode(shot["data"])
    path.write_bytes(data)
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    return width, height
