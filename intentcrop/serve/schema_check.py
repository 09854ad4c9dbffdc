"""What the schemathesis runs of tests/serve/test_schema_fuzz.py check (short by default, longer with
INTENTCROP_SCHEMA_EXAMPLES)."""

from __future__ import annotations

import tempfile
from pathlib import Path


def image_root_for_fuzzing() -> Path:
    """A temporary image folder holding the packaged sample, so the GET forms have something to find."""
    root = Path(tempfile.mkdtemp(prefix="intentcrop-fuzz-"))
    (root / "a.jpg").write_bytes((Path(__file__).resolve().parents[1] / "data" / "sample.jpg").read_bytes())
    return root


def _checks() -> tuple[list, list]:
    from schemathesis.checks import not_a_server_error
    from schemathesis.specs.openapi.checks import (content_type_conformance, positive_data_acceptance,
                                                   response_schema_conformance, status_code_conformance)

    # Not checked: that every schema-valid request is accepted -- the service refuses with a 400 what the schema
    # cannot say (an unknown ratio word, a subject of three numbers, bytes that are not an image).
    return ([not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance],
            [positive_data_acceptance])


try:
    CHECKS, EXCLUDED = _checks()
except ImportError:  # schemathesis absent (the check is only imported where it is installed)
    CHECKS, EXCLUDED = [], []
