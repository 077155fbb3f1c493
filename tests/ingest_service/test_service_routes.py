"""/healthz, /readyz, /tracker.js, /docs and /openapi.json."""

from __future__ import annotations

import shutil

import pytest

from ingest_service import tracker
from ingest_service.app import create_app
from tests.ingest_service.conftest import running

pytestmark = pytest.mark.anyio


async def test_health_and_readiness(client) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    assert (await client.get("/readyz")).json() == {"status": "ready"}


async def test_readyz_is_503_when_the_database_does_not_answer(make_settings) -> None:
    # A server that is not there: nothing listens on this socket directory.
    settings = make_settings(
        database_url="postgresql://postgres@/clik?host=/nonexistent-clik-socket",
        db_pool_timeout_s=0.5,
    )
    async with running(create_app(settings)) as client:
        assert (await client.get("/healthz")).status_code == 200
        response = await client.get("/readyz")
        assert response.status_code == 503
        assert int(response.headers["retry-after"]) > 0
        assert "error" in response.json()


async def test_tracker_js_is_served_with_caching_headers(
    client, tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    script = tmp_path / "tracker.js"
    if tracker.TRACKER.exists():
        shutil.copy(tracker.TRACKER, script)
    else:  # the tracker is another part's file; the test does not depend on its content
        script.write_text("/* clik tracker */\n")
    monkeypatch.setattr(tracker, "TRACKER", script)

    first = await client.get("/tracker.js")
    assert first.status_code == 200
    assert first.headers["content-type"].startswith("application/javascript")
    assert first.content == script.read_bytes()
    assert "max-age" in first.headers["cache-control"]
    etag = first.headers["etag"]

    revalidated = await client.get("/tracker.js", headers={"If-None-Match": etag})
    assert revalidated.status_code == 304
    assert revalidated.content == b""

    script.write_text("/* a new version */\n")
    changed = await client.get("/tracker.js", headers={"If-None-Match": etag})
    assert changed.status_code == 200
    assert changed.headers["etag"] != etag


async def test_openapi_documents_the_api_with_examples(client) -> None:
    schema = (await client.get("/openapi.json")).json()
    ingest = schema["paths"]["/api/analytics/ingest"]["post"]
    body = ingest["requestBody"]["content"]
    assert body["application/json"]["example"]["events"][0]["type"] == "session"
    assert "text/plain" in body
    assert {"200", "400", "413", "415", "503"} <= set(ingest["responses"])
    assert schema["components"]["schemas"]["IngestResult"]["examples"]
    assert {"/healthz", "/readyz", "/tracker.js"} <= set(schema["paths"])
    assert (await client.get("/docs")).status_code == 200


async def test_unknown_routes_answer_the_error_shape(client) -> None:
    response = await client.get("/nowhere")
    assert response.status_code == 404
    assert "error" in response.json()
