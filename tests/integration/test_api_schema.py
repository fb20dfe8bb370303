"""Property-based check of the catalog API against its own OpenAPI document (Schemathesis over WSGI)."""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, given, settings

from edge_server.settings import load_settings
from edge_server.web.app import create_app

MY_PATHS = r"^/api/v1/(health|catalog|lessons|search|openapi)"


def test_every_catalog_api_response_matches_the_openapi_document(sample_data_dir):
    app = create_app(load_settings(sample_data_dir, scheduler_enabled=False, ai_jobs_enabled=False, announce=False))
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app).include(path_regex=MY_PATHS)
    checked = []
    for result in schema.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy())
        @settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def check(case) -> None:
            case.call_and_validate()

        check()
        checked.append(operation.label)
    assert len(checked) == 7, checked
