"""Describe voluptuous schemas as JSON Schema, so the OpenAPI document is made from what is enforced.

The conversion is voluptuous-openapi's (the library Home Assistant keeps for the same purpose), for
OpenAPI 3.1. Three things are added on top, so the document says what the API enforces:

* validators that carry a ``json_schema`` attribute (see
  :func:`shems_optimizer.api.validation.described` and :func:`shems_optimizer.core.model.loading.doc`)
  describe themselves, and may nest voluptuous schemas;
* objects are closed (``additionalProperties: false``) where the schema forbids extra keys, as
  voluptuous does by default;
* length bounds on arrays and objects get their JSON Schema names (``minItems``/``maxProperties``,
  not ``minLength``), ``All(dict, Length(...))`` stays an object, an empty ``required`` is left out
  and an ``enum`` is a list of its own.
"""

from __future__ import annotations

from typing import Any

import voluptuous as vol
import voluptuous_openapi  # type: ignore[import-untyped]  # no py.typed in 0.2.0

_LENGTH = ("minLength", "maxLength")


def to_json_schema(schema: Any) -> dict[str, Any]:
    converted: dict[str, Any] = voluptuous_openapi.convert(
        schema, custom_serializer=_self_described, openapi_version=voluptuous_openapi.OpenApiVersion.V3_1
    )
    closed = not (isinstance(schema, vol.Schema) and schema.extra != vol.PREVENT_EXTRA)
    return _tidy(converted, closed)


def _self_described(schema: Any) -> Any:
    described = getattr(schema, "json_schema", None)
    if isinstance(described, dict):
        return _nested(described)
    if isinstance(schema, vol.All) and dict in schema.validators:
        # voluptuous-openapi skips ``dict`` inside an All ("any object") and then guesses a string.
        out: dict[str, Any] = {"type": "object"}
        for part in schema.validators:
            if isinstance(part, vol.Length):
                out |= {k: v for k, v in (("minLength", part.min), ("maxLength", part.max)) if v is not None}
        return out
    return voluptuous_openapi.UNSUPPORTED


def _nested(node: Any) -> Any:
    """A self-description may hold voluptuous schemas (e.g. the items of a list validated later)."""
    if isinstance(node, vol.Schema):
        return to_json_schema(node)
    if isinstance(node, dict):
        return {key: _nested(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_nested(value) for value in node]
    return node


def _tidy(node: dict[str, Any], closed: bool) -> dict[str, Any]:
    out = dict(node)
    for key in ("items", "additionalProperties", "not"):
        if isinstance(out.get(key), dict):
            out[key] = _tidy(out[key], closed)
    for key in ("items", "anyOf", "allOf", "oneOf"):
        if isinstance(out.get(key), list):
            out[key] = [_tidy(part, closed) if isinstance(part, dict) else part for part in out[key]]
    if isinstance(out.get("properties"), dict):
        out["properties"] = {name: _tidy(prop, closed) for name, prop in out["properties"].items()}
        if closed:
            out.setdefault("additionalProperties", False)
        if out.get("required") == []:
            del out["required"]
    if "enum" in out:
        out["enum"] = list(out["enum"])  # a copy: the library hands out the validator's own container
    kind = out.get("type")
    if kind in ("array", "object"):
        unit = "Items" if kind == "array" else "Properties"
        for key in _LENGTH:
            if key in out:
                out[key.replace("Length", unit)] = out.pop(key)
    return out


def query_parameters(schema: vol.Schema) -> list[dict[str, Any]]:
    """OpenAPI ``parameters`` (in: query) for a dict schema of query-string fields."""
    params = []
    for key, value in schema.schema.items():
        param: dict[str, Any] = {
            "name": str(key.schema),
            "in": "query",
            "required": isinstance(key, vol.Required),
            "schema": to_json_schema(value),
        }
        if key.description:
            param["description"] = key.description
        params.append(param)
    return params
