"""GET /dashboard and its assets: security headers, caching, compression, packaging, and no
reference to anything on another origin."""

from __future__ import annotations

import gzip
import re
import tomllib
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import httpx
import pytest

from ingest_service.app import create_app
from ingest_service.dashboard import ROOT
from ingest_service.settings import IngestSettings
from tests.ingest_service.conftest import started_client

pytestmark = pytest.mark.anyio

REPOSITORY = Path(__file__).resolve().parents[2]
ASSET = re.compile(r'(?:src|href)="(/dashboard/assets/[^"]+)"')
VENDORED = ROOT / "vendor" / "uplot"


@pytest.fixture
async def web(make_settings: Callable[..., IngestSettings]) -> AsyncIterator[httpx.AsyncClient]:
    async for started in started_client(create_app(make_settings())):
        yield started


def assert_secured(response: httpx.Response) -> None:
    policy = response.headers["content-security-policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";"))
    assert directives["default-src"] == "'self'"
    assert directives["script-src"] == "'self'" and directives["style-src"] == "'self'"
    assert directives["connect-src"] == "'self'" and directives["frame-ancestors"] == "'none'"
    assert "unsafe" not in policy
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"


async def test_the_page_is_served_with_a_strict_policy(web: httpx.AsyncClient) -> None:
    response = await web.get("/dashboard")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert response.headers["cache-control"] == "no-cache"
    assert_secured(response)
    page = response.text
    for selector in (
        'name="token"', 'name="user_code"', 'name="from"', 'name="to"', 'data-preset="7"',
        'data-preset="30"', 'data-preset="90"', 'data-chart="daily"', 'role="alert"',
        'data-breakdown="share_codes"', 'data-breakdown="page_types"',
        'data-breakdown="click_targets"', 'data-export="csv"',
    ):  # fmt: skip
        assert selector in page
    for metric in ("sessions", "page_views", "clicks", "contact_clicks", "contact_rate"):
        assert f'data-metric="{metric}"' in page
    # Nothing inline: every script and style comes from a file the policy allows.
    assert "<style" not in page and " style=" not in page
    assert re.findall(r"<script[^>]*>", page) == [
        f'<script defer src="{path}">'
        for path in ASSET.findall(page)
        if path.split("?")[0].endswith(".js")
    ]


async def test_assets_are_versioned_cacheable_and_revalidated(web: httpx.AsyncClient) -> None:
    page = await web.get("/dashboard")
    assets = ASSET.findall(page.text)
    assert len(assets) == 6  # two stylesheets, two scripts, the icon twice (tab, header)
    for path in assets:
        assert re.search(r"\?v=[0-9a-f]{16}$", path), path
        response = await web.get(path)
        assert response.status_code == 200, path
        assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert_secured(response)
        again = await web.get(path, headers={"If-None-Match": response.headers["etag"]})
        assert again.status_code == 304 and again.content == b""
    script = await web.get("/dashboard/assets/dashboard.js")
    assert script.headers["content-type"] == "text/javascript; charset=utf-8"
    assert script.headers["cache-control"] == "public, max-age=300"  # no version named
    stale = await web.get("/dashboard", headers={"If-None-Match": page.headers["etag"]})
    assert stale.status_code == 304


async def test_files_go_out_gzipped_to_browsers_that_accept_it(web: httpx.AsyncClient) -> None:
    raw = await web.get("/dashboard/assets/vendor/uplot/uPlot.iife.min.js")
    assert "Accept-Encoding" in raw.headers["vary"]
    # httpx asks for gzip and decodes it; the wire carried the compressed bytes.
    assert raw.headers["content-encoding"] == "gzip"
    plain = await web.get(
        "/dashboard/assets/vendor/uplot/uPlot.iife.min.js", headers={"Accept-Encoding": "identity"}
    )
    assert "content-encoding" not in plain.headers
    assert plain.content == raw.content == (VENDORED / "uPlot.iife.min.js").read_bytes()
    assert len(gzip.compress(plain.content)) < len(plain.content) / 2


@pytest.mark.parametrize(
    "path",
    [
        "/dashboard/assets/index.html",
        "/dashboard/assets/../dashboard.py",
        "/dashboard/assets/%2e%2e/%2e%2e/app.py",
        "/dashboard/assets/vendor",
        "/dashboard/assets/nothing.js",
        "/dashboard/assets/.hidden",
    ],
)
async def test_only_files_of_the_dashboard_folder_are_served(
    web: httpx.AsyncClient, path: str
) -> None:
    response = await web.get(path)
    assert response.status_code == 404
    # ("../" never reaches the route: the client or the router resolves it to another path.)
    assert response.json()["error"] in ("no such dashboard file", "Not Found")


def test_nothing_refers_to_another_origin() -> None:
    """No URL with a scheme or a protocol-relative one in what the page loads (the library's
    one-line banner comment and SVG's XML namespace name are not requests)."""
    for path in ROOT.rglob("*"):
        if path.suffix not in (".html", ".js", ".css", ".svg"):
            continue
        text = path.read_text()
        text = text.replace("/*! https://github.com/leeoniya/uPlot (v1.6.32) */", "")
        text = text.replace('xmlns="http://www.w3.org/2000/svg"', "")
        assert not re.search(r"https?://|(?<![:\w])//[a-z0-9.-]+\.[a-z]{2,}/", text), path


def test_the_chart_library_is_vendored_with_its_licence() -> None:
    assert (VENDORED / "LICENSE").read_text().startswith("The MIT License (MIT)")
    assert "Leon Sorokin" in (VENDORED / "LICENSE").read_text()
    version = (VENDORED / "VERSION").read_text()
    assert version.startswith("uplot 1.6.32 from npm (sha512-")
    assert "(v1.6.32)" in (VENDORED / "uPlot.iife.min.js").read_text()[:100]
    assert (REPOSITORY / "tools" / "vendor_chart.sh").stat().st_mode & 0o111


def test_the_dashboard_files_are_packaged() -> None:
    """Every dashboard file matches a package-data pattern, so a wheel install serves it."""
    project = tomllib.loads((REPOSITORY / "pyproject.toml").read_text())
    patterns = project["tool"]["setuptools"]["package-data"]["ingest_service"]
    package = REPOSITORY / "ingest_service"
    for path in ROOT.rglob("*"):
        if path.is_file():
            relative = path.relative_to(package)
            assert any(relative.match(pattern) for pattern in patterns), relative
