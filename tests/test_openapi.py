"""The committed OpenAPI document is the one the code generates, and it is client-friendly."""

import json
import re
from pathlib import Path
from typing import Any

import pytest

from app.openapi import generate

SPEC_PATH = Path(__file__).resolve().parents[1] / "openapi" / "openapi.json"
UNAUTHENTICATED = {
    "/healthz",
    "/readyz",
    "/metrics",
    "/v1/webhooks/stripe",
    "/v1/portal/config",
}


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    return generate()


def operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, operation)
        for path, methods in spec["paths"].items()
        for method, operation in methods.items()
    ]


def resolve(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    name = schema["$ref"].rsplit("/", 1)[1]
    return dict(spec["components"]["schemas"][name])


class TestOpenApi:
    def test_committed_document_is_current(self, spec):
        committed = json.loads(SPEC_PATH.read_text())
        assert committed == spec, "openapi/openapi.json is stale: run `make openapi`"

    def test_every_operation_has_a_unique_id_a_tag_and_a_summary(self, spec):
        ids = [operation["operationId"] for _, _, operation in operations(spec)]
        assert len(ids) == len(set(ids))
        for path, method, operation in operations(spec):
            assert operation.get("tags"), (method, path)
            assert operation.get("summary"), (method, path)
            assert re.fullmatch(r"[a-z][a-z0-9_]*", operation["operationId"]), (method, path)

    def test_errors_are_documented_as_problem_json(self, spec):
        for path, method, operation in operations(spec):
            errors = {code: r for code, r in operation["responses"].items() if code[0] in "45"}
            if path not in UNAUTHENTICATED:
                assert "401" in errors, (method, path)
            for code, response in errors.items():
                content = response["content"]
                assert list(content) == ["application/problem+json"], (method, path, code)
                # Problem, or a problem with extension members (AuthenticationProblem).
                assert content["application/problem+json"]["schema"]["$ref"].endswith("Problem")
                assert content["application/problem+json"]["example"]["status"] == int(code)

    def test_request_bodies_carry_examples(self, spec):
        for path, method, operation in operations(spec):
            body = operation.get("requestBody")
            if body is None or "$ref" not in body["content"].get("application/json", {}).get(
                "schema", {}
            ):
                continue  # no body, or a raw one (the Stripe webhook's signed payload)
            schema = resolve(spec, body["content"]["application/json"]["schema"])
            has_examples = any("examples" in prop for prop in schema["properties"].values())
            assert has_examples or "examples" in schema, (method, path)

    def test_bearer_auth_is_declared(self, spec):
        schemes = spec["components"]["securitySchemes"]
        assert any(scheme.get("scheme") == "bearer" for scheme in schemes.values())
