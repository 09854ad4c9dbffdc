"""The service against its own OpenAPI schema, with schemathesis: generated requests to every operation; each
answer must be no 5xx but the service's documented 503/504, and must match the schema (status, content type,
body). A short run here (a few seconds); INTENTCROP_SCHEMA_EXAMPLES=300 runs a longer one (examples per
operation)."""

import os

import pytest

pytest.importorskip("fastapi", reason="the serve extra (fastapi) is not installed")
schemathesis = pytest.importorskip("schemathesis", reason="schemathesis is not installed (the dev extra)")
from hypothesis import HealthCheck, settings  # noqa: E402

from intentcrop.serve import create_app  # noqa: E402
from intentcrop.serve.schema_check import CHECKS, EXCLUDED, image_root_for_fuzzing  # noqa: E402

EXAMPLES = int(os.environ.get("INTENTCROP_SCHEMA_EXAMPLES", "6"))
schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(image_root=image_root_for_fuzzing()))


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_every_operation_answers_within_its_schema(case):
    case.call_and_validate(checks=CHECKS, excluded_checks=EXCLUDED)
