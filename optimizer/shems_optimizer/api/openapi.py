"""The OpenAPI 3.1 document, generated from the same route specifications the router is built from."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from .errors import ERROR_SCHEMA
from .schema_doc import query_parameters, to_json_schema
from .spec import API_PREFIX, RouteSpec

_PATH_PARAM = re.compile(r"\{([^}:]+)(?::[^}]*)?\}")

_STANDARD_ERRORS: dict[int, str] = {
    400: "invalid input; the body names the field and the problem",
    401: "missing or invalid bearer token",
    413: "request body over 1 MB",
    429: "rate limit exceeded; retry after the Retry-After header",
    503: "the database or a component this operation needs is not available; retry later",
}


def build_document(specs: Iterable[RouteSpec], version: str) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for spec in specs:
        path = _PATH_PARAM.sub(r"{\1}", spec.full_path)
        paths.setdefault(path, {})[spec.method.lower()] = _operation(spec)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "SHEMS add-on API",
            "version": version,
            "description": (
                "Plans, devices, commands, consumption and forecasts of a SHEMS installation. "
                "Requests through Home Assistant's ingress proxy are trusted; all others need "
                "`Authorization: Bearer <token>` (the token is shown in the add-on log and UI)."
            ),
        },
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}},
            "schemas": {"Error": ERROR_SCHEMA},
        },
        "security": [{"bearerAuth": []}],
    }


def _operation(spec: RouteSpec) -> dict[str, Any]:
    op: dict[str, Any] = {"operationId": spec.operation_id, "summary": spec.summary, "tags": [spec.tag]}
    if spec.description:
        op["description"] = spec.description
    params: list[dict[str, Any]] = []
    for name in _PATH_PARAM.findall(spec.path):
        params.append(
            {
                "name": name,
                "in": "path",
                "required": True,
                "schema": {
                    "type": "string",
                    "minLength": 1,
                    "maxLength": 64,
                    "pattern": r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$",
                },
                "description": spec.path_params.get(name, ""),
            }
        )
    if spec.query is not None:
        params.extend(query_parameters(spec.query))
    if params:
        op["parameters"] = params
    body_schema = (
        spec.body_doc
        if spec.body_doc is not None
        else (to_json_schema(spec.body) if spec.body is not None else None)
    )
    if body_schema is not None:
        op["requestBody"] = {"required": True, "content": {"application/json": {"schema": dict(body_schema)}}}
    responses: dict[str, Any] = {}
    for status, response in sorted(spec.responses.items()):
        entry: dict[str, Any] = {"description": response.description}
        if response.schema is not None:
            entry["content"] = {response.media_type: {"schema": dict(response.schema)}}
        if response.links:
            entry["links"] = {name: dict(target) for name, target in response.links.items()}
        responses[str(status)] = entry
    errors = dict(_STANDARD_ERRORS)
    if spec.public:
        errors.pop(401)
        op["security"] = []
    has_body = spec.body is not None or spec.body_doc is not None
    if not has_body:
        errors.pop(413)
        if spec.query is None and not params:
            errors.pop(400)
    for status, text in errors.items():
        responses.setdefault(
            str(status),
            {
                "description": text,
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
            },
        )
    op["responses"] = responses
    return op


def document_paths(document: dict[str, Any]) -> set[tuple[str, str]]:
    """(METHOD, path) pairs of a document, for comparing it with the router."""
    return {(method.upper(), path) for path, ops in document["paths"].items() for method in ops}


__all__ = ["API_PREFIX", "build_document", "document_paths"]
