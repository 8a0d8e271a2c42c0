"""schemathesis against the service's own OpenAPI document: no request it generates gets a 5xx."""

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from geo_service.app import create_app
from tests.conftest import BUNDLED_LAYERS

app = create_app({"layers_dir": BUNDLED_LAYERS})
schema = schemathesis.openapi.from_wsgi("/ogc/api", app)


@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_server_errors(case):
    case.call_and_validate(checks=[not_a_server_error])
