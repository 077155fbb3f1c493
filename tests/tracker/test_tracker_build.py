"""The served tracker.js is the build of tracker.src.js, and stays small."""

from __future__ import annotations

from tests.tracker.build import OUTPUT, build, gzipped_size

SIZE_BUDGET = 2048  # bytes gzipped


def test_tracker_js_is_the_build_of_its_source() -> None:
    assert OUTPUT.read_text() == build(), "run: python tests/tracker/build.py"


def test_tracker_js_stays_under_2_kb_gzipped() -> None:
    assert gzipped_size(OUTPUT.read_text()) < SIZE_BUDGET


def test_the_tracker_reads_its_settings_from_the_documented_attributes() -> None:
    script = OUTPUT.read_text()
    for attribute in ("userCode", "shareCode", "contactId", "endpoint", "pageType",
                      "respectDnt", "clikClick", "clikCategory"):  # fmt: skip
        assert f".{attribute}" in script  # dataset names of data-user-code, ...
    for name in ("clik:disabled", "/api/analytics/ingest", "sendBeacon", "keepalive"):
        assert name in script
