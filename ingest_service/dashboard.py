"""GET /dashboard: the owner dashboard, static files from static/dashboard/ (no build step).

The page reads everything from the owner API with the owner's token, so row-level security
decides what it can show; this module only serves files. Every answer carries a strict
Content-Security-Policy (nothing inline, nothing from another origin). The page names its
assets with a content hash (`?v=...`), so browsers keep those for a year and fetch a new
version as soon as the page names one; the page itself is revalidated on every load (ETag).
Files are gzipped once when read, for browsers that accept it.
"""

from __future__ import annotations

import gzip
import hashlib
import re
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

from fastapi import APIRouter, Request
from starlette.responses import Response

from ingest_service.responses import error_response

router = APIRouter(tags=["dashboard"], include_in_schema=False)

ROOT = Path(str(files("ingest_service").joinpath("static", "dashboard")))
PAGE = "index.html"
MEDIA_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    "": "text/plain; charset=utf-8",  # LICENSE, VERSION
}
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
}
PAGE_CACHE = "no-cache"  # revalidated every time: it names the asset versions
VERSIONED_ASSET_CACHE = "public, max-age=31536000, immutable"
UNVERSIONED_ASSET_CACHE = "public, max-age=300"
# An asset named in the page (src="/dashboard/assets/..." or href=...): group 1 is its name.
ASSET_REFERENCE = re.compile(r'(?:(?<=src=")|(?<=href="))/dashboard/assets/([^"?#]+)')


@dataclass(frozen=True)
class _File:
    stamp: object  # what it was made from: reread or rebuilt when that changes
    body: bytes
    gzipped: bytes
    etag: str
    media_type: str

    @classmethod
    def of(cls, stamp: object, body: bytes, media_type: str) -> _File:
        digest = hashlib.sha256(body).hexdigest()[:32]
        gzipped = gzip.compress(body, compresslevel=9, mtime=0)
        return cls(stamp, body, gzipped, f'"{digest}"', media_type)

    @property
    def version(self) -> str:
        return self.etag.strip('"')[:16]


_cache: dict[Path, _File] = {}


def _load(path: Path) -> _File | None:
    try:
        stat = path.stat()
    except (FileNotFoundError, NotADirectoryError):
        return None
    stamp = (stat.st_mtime_ns, stat.st_size)
    cached = _cache.get(path)
    if cached is None or cached.stamp != stamp:
        media_type = MEDIA_TYPES.get(path.suffix, "application/octet-stream")
        cached = _cache[path] = _File.of(stamp, path.read_bytes(), media_type)
    return cached


def _asset_path(name: str) -> Path | None:
    """The file under static/dashboard/ that `name` names; None for the page itself, hidden
    files and anything outside the folder."""
    parts = name.split("/")
    if any(part in ("", ".", "..") or part.startswith(".") for part in parts):
        return None
    path = ROOT.joinpath(*parts)
    return None if name == PAGE or not path.is_file() else path


def _asset(name: str) -> _File | None:
    path = _asset_path(name)
    return _load(path) if path else None


_page: _File | None = None


def _versioned_page() -> _File | None:
    """The page with each asset reference carrying its content hash (`?v=...`); its ETag
    changes whenever one of those assets changes."""
    global _page
    page = _load(ROOT / PAGE)
    if page is None:
        return None
    text = page.body.decode()
    assets = {name: _asset(name) for name in ASSET_REFERENCE.findall(text)}
    stamp = (page.etag, tuple((name, a.etag if a else None) for name, a in assets.items()))
    if _page is None or _page.stamp != stamp:

        def versioned(match: re.Match[str]) -> str:
            asset = assets[match[1]]
            return f"{match[0]}?v={asset.version}" if asset else match[0]

        body = ASSET_REFERENCE.sub(versioned, text).encode()
        _page = _File.of(stamp, body, page.media_type)
    return _page


def _answer(request: Request, file: _File, cache_control: str) -> Response:
    headers = SECURITY_HEADERS | {
        "Cache-Control": cache_control,
        "ETag": file.etag,
        "Vary": "Accept-Encoding",
    }
    if_none_match = request.headers.get("if-none-match", "")
    held = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
    if file.etag in held:
        return Response(status_code=304, headers=headers)
    content = file.body
    if "gzip" in request.headers.get("accept-encoding", "") and len(file.gzipped) < len(content):
        headers["Content-Encoding"] = "gzip"
        content = file.gzipped
    return Response(content, headers=headers, media_type=file.media_type)


@router.get("/dashboard")
async def dashboard_page(request: Request) -> Response:
    page = _versioned_page()
    if page is None:
        return error_response(404, "the dashboard is not installed", SECURITY_HEADERS)
    return _answer(request, page, PAGE_CACHE)


@router.get("/dashboard/assets/{name:path}")
async def dashboard_asset(request: Request, name: str) -> Response:
    asset = _asset(name)
    if asset is None:
        return error_response(404, "no such dashboard file", SECURITY_HEADERS)
    versioned = request.query_params.get("v") == asset.version
    return _answer(request, asset, VERSIONED_ASSET_CACHE if versioned else UNVERSIONED_ASSET_CACHE)
