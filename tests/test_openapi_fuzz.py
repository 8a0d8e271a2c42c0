"""schemathesis (its command line, as an analyst would run it) against the service's own OpenAPI document,
over HTTP, with examples derived deterministically: no server error, documented status codes, content types
and headers, responses valid against their schemas, schema-violating requests refused, a missing token
answered 401.

Left out: the check that every schema-valid request is accepted. A bbox's valid range depends on
bbox-crs, a datetime interval's ends on each other, a filter on CQL2's grammar and the queryables — none of
which JSON Schema can say; test_ogc_core.py and test_cql.py cover those. ``filter`` itself is dropped from
the generated requests (tests/schemathesis_hooks.py)."""

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import BUNDLED_LAYERS
from tests.live_server import live_server


def test_the_api_conforms_to_its_openapi_document(tmp_path):
    settings = {"layers_dir": BUNDLED_LAYERS, "token": "fuzz-token-" + "x" * 16}
    with live_server(settings, tmp_path) as (url, _):
        run = subprocess.run(
            [str(Path(sys.executable).parent / "schemathesis"), "run", f"{url}/ogc/api", "--checks", "all",
             "--exclude-checks", "positive_data_acceptance", "--max-examples", "20", "--generation-deterministic",
             "--suppress-health-check", "all", "--no-color"],
            capture_output=True, text=True, timeout=900, check=False,
            env={**os.environ, "SCHEMATHESIS_HOOKS": "tests.schemathesis_hooks", "PYTHONPATH": str(Path.cwd())})
    assert run.returncode == 0, run.stdout[-6000:]
