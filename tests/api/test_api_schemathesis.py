"""Schemathesis against the generated OpenAPI document: every operation, in-process (WSGI).

Checks: no 500, status codes, content types, headers and bodies as the document says.
Not "positive data acceptance": the document types ``filter`` as any JSON object, while
the condition language refuses most of them with a 400 that names the problem.
Bounded: ``EXAMPLES`` generated cases per operation; SQLite and PostgreSQL both.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings

schemathesis = pytest.importorskip("schemathesis")

EXAMPLES = 15
CHECKS = [
    schemathesis.checks.not_a_server_error,
    schemathesis.checks.status_code_conformance,
    schemathesis.checks.content_type_conformance,
    schemathesis.checks.response_headers_conformance,
    schemathesis.checks.response_schema_conformance,
]


def test_every_operation_keeps_its_contract(flask_app, tessera, token):
    auth = {"Authorization": f"Bearer {token[1]}"}
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", flask_app, headers=auth)
    operations = [op.ok() for op in schema.get_all_operations()]
    assert len(operations) >= 7
    failures = []
    for operation in operations:

        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy())
        def run(case):
            case.call_and_validate(headers=auth, checks=CHECKS)

        try:
            run()
        except Exception as exc:  # noqa: BLE001 - collect every operation's failure
            failures.append(f"{operation.label}: {exc}"[:3000])
    assert not failures, "\n\n".join(failures)
