"""The tracker in a real headless Chromium: test pages on one origin load /tracker.js from the
real ingest app (behind a recording proxy) on another, and the events must end up in the
database. No timing is asserted; waits poll for an outcome and fail after a generous limit."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable

from selenium.webdriver.common.by import By

from tests.tracker.servers import IngestProxy

USER_CODE = "card-1"
MINUTE_MS = 60_000


def wait_until(condition: Callable[[], object], timeout_s: float = 40.0, what: str = "") -> None:
    end = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < end, f"not reached in {timeout_s} s: {what}"
        time.sleep(0.1)


def open_card(chrome, url: str) -> None:
    """Loads a card page (the deferred tracker runs before the load event)."""
    chrome.get(url)
    wait_for_tracker(chrome)


def wait_for_tracker(chrome) -> None:
    wait_until(
        lambda: chrome.execute_script(
            "return document.readyState == 'complete' && !!localStorage.getItem('clik:s:card-1')"
        ),
        what="the tracker started its session",
    )


def set_clock(chrome, offset_ms: int) -> None:
    """Moves the page clock (the test pages' Date.now shim) by offset_ms from the real one."""
    chrome.execute_script("localStorage.setItem('test:clock-offset', arguments[0])", offset_ms)


def click(chrome, element_id: str) -> None:
    chrome.find_element(By.ID, element_id).click()


def count(rows, table: str) -> int:
    return rows(f"SELECT count(*) FROM {table}")[0][0]


def sent_ids(proxy: IngestProxy, status: int | None = 200) -> list[str]:
    """Ids (session ids for session events) of the events in POSTs answered with `status`."""
    return [
        event["data"].get("id") or event["data"]["session_id"]
        for exchange in proxy.posts()
        if exchange.status == status
        for event in exchange.events()
    ]


def test_a_page_view_is_stored_with_its_session(chrome, site, proxy, rows) -> None:
    recorder, _ = proxy
    open_card(chrome, site + "/")
    # Nothing urgent on the page: the batch goes with the 10 second timer.
    wait_until(lambda: count(rows, "analytics_page_views") == 1, what="the page view")

    [(view_id, page_type, code, share, contact, session_id)] = rows(
        "SELECT id, page_type, user_code, share_code, contact_id, session_id"
        " FROM analytics_page_views"
    )
    assert (page_type, code, share, contact) == ("home", USER_CODE, "qr1", "c-42")
    assert view_id.version == 7
    [(stored_session, views, agent)] = rows(
        "SELECT session_id, page_views, user_agent FROM analytics_sessions"
    )
    assert (stored_session, views) == (session_id, 1)
    assert "Chrome" in agent
    # One simple text/plain POST: no CORS preflight was ever needed.
    [post] = recorder.posts()
    assert post.content_type.startswith("text/plain")
    assert [e["type"] for e in post.events()] == ["session", "page_view"]
    assert "OPTIONS" not in recorder.methods()


def test_a_tel_click_is_stored_when_the_page_is_left_at_once(chrome, site, proxy, rows) -> None:
    open_card(chrome, site + "/")
    click(chrome, "call-and-leave")  # its own handler navigates to a page without the tracker
    wait_until(lambda: chrome.current_url.endswith("/plain"), what="the page was left")
    wait_until(lambda: count(rows, "analytics_clicks") == 1, what="the click")
    assert rows("SELECT click_target, click_category, user_code FROM analytics_clicks") == [
        ("phone", "contact", USER_CODE)
    ]
    assert count(rows, "analytics_page_views") == 1  # the waiting page view went with it


def test_contact_links_and_marked_elements_are_classified(chrome, site, proxy, rows) -> None:
    open_card(chrome, site + "/")
    click(chrome, "save-label")  # inside the marked button: the ancestor's target counts
    click(chrome, "mail")
    click(chrome, "whatsapp")
    wait_until(lambda: count(rows, "analytics_clicks") == 3, what="three clicks")
    assert rows(
        "SELECT click_target, click_category FROM analytics_clicks ORDER BY clicked_at"
    ) == [("save_contact", "vcard"), ("email", "contact"), ("whatsapp", "contact")]


def test_25_quick_events_arrive_as_two_batches(chrome, site, proxy, rows) -> None:
    recorder, _ = proxy
    open_card(chrome, site + "/")  # a session and a page view wait
    chrome.execute_script(  # 23 clicks at once: 25 events
        "for (let i = 0; i < 23; i++) document.getElementById('save').click()"
    )
    wait_until(lambda: count(rows, "analytics_clicks") == 23, what="23 clicks")
    assert [len(post.events()) for post in recorder.posts()] == [20, 5]
    # Each batch is one transaction: its rows share one receive time.
    assert rows(
        "SELECT count(DISTINCT received_at) FROM (SELECT received_at FROM analytics_clicks"
        " UNION ALL SELECT received_at FROM analytics_page_views) AS events"
    ) == [(2,)]
    assert rows("SELECT page_views, clicks FROM analytics_sessions") == [(1, 23)]


def test_a_batch_that_meets_a_503_arrives_exactly_once(chrome, site, proxy, rows) -> None:
    recorder, _ = proxy
    open_card(chrome, site + "/")
    recorder.fail_next(1)
    click(chrome, "call")
    wait_until(lambda: count(rows, "analytics_clicks") == 1, what="the retried click")
    first, second = recorder.posts()
    assert (first.status, second.status) == (503, 200)
    # The retry carries the very same events: same ids, same timestamps.
    assert first.events() == second.events()
    assert count(rows, "analytics_page_views") == 1
    assert rows("SELECT page_views, clicks FROM analytics_sessions") == [(1, 1)]
    assert len(recorder.posts()) == 2  # nothing was sent a third time


def test_the_retry_waits_at_least_retry_after(chrome, site, proxy, rows) -> None:
    recorder, _ = proxy
    open_card(chrome, site + "/")
    recorder.fail_next(1, retry_after=60)
    click(chrome, "call")
    wait_until(lambda: chrome.execute_script("return localStorage.getItem('clik:f')"))
    wait = chrome.execute_script("return JSON.parse(localStorage.getItem('clik:f')).u - Date.now()")
    assert 40_000 < wait <= 60_000  # the backoff alone would have waited 1 to 2 seconds
    assert [post.status for post in recorder.posts()] == [503]
    # Shared by every tab: a click on another page of the site waits too.
    chrome.switch_to.new_window("tab")
    open_card(chrome, site + "/about")
    click(chrome, "call")
    waiting_clicks = chrome.execute_script(
        "return Object.keys(localStorage).filter(k => k.startsWith('clik:q:'))"
        ".flatMap(k => JSON.parse(localStorage.getItem(k)).e).filter(e => e.type == 'click')"
        ".length"
    )
    assert waiting_clicks == 2  # both tabs' clicks wait in their queues
    assert count(rows, "analytics_clicks") == 0


def test_events_queued_while_the_server_is_down_survive_a_reload(chrome, site, proxy, rows) -> None:
    recorder, _ = proxy
    open_card(chrome, site + "/")
    recorder.down = True
    click(chrome, "call")
    wait_until(lambda: recorder.posts(), what="a failed send")
    wait_until(lambda: chrome.execute_script("return localStorage.getItem('clik:f')"))
    chrome.refresh()  # the failed events are handed over to the reloaded page
    wait_for_tracker(chrome)
    recorder.down = False
    wait_until(lambda: count(rows, "analytics_page_views") == 2, what="both page views")
    wait_until(lambda: count(rows, "analytics_clicks") == 1, what="the click")
    assert rows("SELECT page_views, clicks FROM analytics_sessions") == [(2, 1)]
    delivered = sent_ids(recorder)
    assert len(delivered) == len(set(delivered)) == 4  # session, 2 page views, click: once each
    assert all(post.status is None for post in recorder.posts()[:1])


def test_a_session_continues_across_pages_and_a_new_one_starts_after_30_idle_minutes(
    chrome, site, proxy, rows
) -> None:
    chrome.get(site + "/plain")
    set_clock(chrome, -40 * MINUTE_MS)  # the first two pages are seen 40 minutes ago
    open_card(chrome, site + "/")
    click(chrome, "next")  # a link to /about
    wait_until(lambda: chrome.current_url.endswith("/about"))
    wait_for_tracker(chrome)
    set_clock(chrome, 0)  # 40 minutes later
    open_card(chrome, site + "/portfolio")
    click(chrome, "call")  # sends everything at once, the previous pages' events included
    wait_until(lambda: count(rows, "analytics_clicks") == 1, what="the click")
    wait_until(lambda: count(rows, "analytics_page_views") == 3, what="three page views")

    views = rows("SELECT page_type, session_id FROM analytics_page_views ORDER BY viewed_at")
    assert [page for page, _ in views] == ["home", "about", "portfolio"]
    first, second = {views[0][1]}, {views[2][1]}
    assert views[1][1] in first and first != second
    assert rows("SELECT session_id FROM analytics_clicks") == [(views[2][1],)]
    sessions = rows(
        "SELECT session_id, page_views, clicks, now() - first_seen > interval '35 minutes'"
        " FROM analytics_sessions ORDER BY first_seen"
    )
    assert sessions == [(views[0][1], 2, 0, True), (views[2][1], 1, 1, False)]


def test_data_endpoint_names_the_service_when_the_script_comes_from_elsewhere(
    chrome, site, proxy, rows
) -> None:
    recorder, _ = proxy
    open_card(chrome, site + "/services?own=1")  # tracker.js from the site, events to the proxy
    click(chrome, "call")
    wait_until(lambda: count(rows, "analytics_clicks") == 1, what="the click")
    # data-page-type on the script tag names the page (else the path would: "services").
    assert rows("SELECT page_type FROM analytics_page_views") == [("card",)]
    assert not any(e.path == "/tracker.js" for e in recorder.exchanges)


def test_single_page_app_navigations_are_page_views(chrome, site, proxy, rows) -> None:
    open_card(chrome, site + "/")
    chrome.execute_script("history.pushState({}, '', '/portfolio')")
    chrome.execute_script("history.replaceState({step: 2}, '', '/portfolio')")  # same page
    chrome.execute_script("history.back()")  # popstate: back on /
    wait_until(lambda: chrome.execute_script("return location.pathname") == "/")
    click(chrome, "call")
    wait_until(lambda: count(rows, "analytics_clicks") == 1, what="the click")
    wait_until(lambda: count(rows, "analytics_page_views") == 3, what="three page views")
    assert rows("SELECT page_type FROM analytics_page_views ORDER BY viewed_at") == [
        ("home",),
        ("portfolio",),
        ("home",),
    ]


def test_opted_out_browsers_send_nothing(chrome, site, proxy, rows) -> None:
    recorder, _ = proxy
    assert chrome.execute_script("return navigator.doNotTrack") == "1"  # set in the profile

    chrome.get(site + "/?dnt=1")  # data-respect-dnt="true" and Do-Not-Track on
    click(chrome, "call")
    chrome.get(site + "/plain")
    chrome.execute_script("localStorage.setItem('clik:disabled', '1')")
    chrome.get(site + "/")  # the switch in localStorage
    click(chrome, "call")
    assert (
        chrome.execute_script(
            "return Object.keys(localStorage).filter(k => k.startsWith('clik:') && k != 'clik:disabled')"
        )
        == []
    )  # the tracker stored nothing, so it has nothing to send

    # Without the switch, and with the Do-Not-Track header but no data-respect-dnt: tracked.
    chrome.execute_script("localStorage.removeItem('clik:disabled')")
    open_card(chrome, site + "/")
    click(chrome, "call")
    wait_until(lambda: count(rows, "analytics_clicks") == 1, what="the tracked click")
    assert count(rows, "analytics_page_views") == 1
    assert len(recorder.posts()) == 1


def test_a_closed_tabs_events_are_sent_once_by_another_tab(chrome, site, proxy, rows) -> None:
    recorder, _ = proxy
    open_card(chrome, site + "/")
    first_tab = chrome.current_window_handle
    recorder.down = True
    click(chrome, "call")
    wait_until(lambda: chrome.execute_script("return localStorage.getItem('clik:f')"))
    chrome.switch_to.new_window("tab")
    open_card(chrome, site + "/about")
    second_tab = chrome.current_window_handle
    chrome.switch_to.window(first_tab)
    chrome.close()  # pagehide releases the first tab's queue
    chrome.switch_to.window(second_tab)
    recorder.down = False
    chrome.switch_to.new_window("tab")
    open_card(chrome, site + "/contact")  # takes over the released queue
    wait_until(lambda: count(rows, "analytics_page_views") == 3, what="three page views")
    wait_until(lambda: count(rows, "analytics_clicks") == 1, what="the click")
    delivered = sent_ids(recorder)
    assert len(delivered) == len(set(delivered)), "an event was sent twice"
    stored = {str(row[0]) for row in rows("SELECT id FROM analytics_page_views")}
    assert stored <= set(delivered)
    assert all(uuid.UUID(i).version == 7 for i in stored)
    assert json.loads(recorder.posts()[-1].body)["sent_at"].endswith("Z")
