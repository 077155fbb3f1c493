"""schemathesis over /openapi.json: whatever it generates, valid or not, no answer is a 5xx."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.python.asgi import shutdown_lifespans

from ingest_service.app import create_app
from ingest_service.settings import IngestSettings

EXAMPLES_PER_OPERATION_AND_MODE = 20


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_no_request_gets_a_server_error(
    make_settings: Callable[..., IngestSettings], mode: GenerationMode
) -> None:
    # (schemathesis' own pytest loader, from_fixture, fails under pytest 9: so one test drives
    # every operation of the schema itself.)
    app = create_app(make_settings())
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert any(op.path == "/api/analytics/ingest" for op in operations)
    try:
        for operation in operations:

            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(
                max_examples=EXAMPLES_PER_OPERATION_AND_MODE,
                deadline=None,
                database=None,
                suppress_health_check=list(HealthCheck),
            )
            def answers_without_server_error(case: schemathesis.Case) -> None:
                case.call_and_validate(checks=[not_a_server_error])

            try:
                answers_without_server_error()
            except Unsatisfiable:
                # Nothing invalid can be sent to an operation without parameters or body.
                assert mode is GenerationMode.NEGATIVE
                assert not operation.path_parameters and not operation.query
                assert not operation.body and not operation.headers
    finally:
        shutdown_lifespans()  # schemathesis runs the app's lifespan (its pools) until then
