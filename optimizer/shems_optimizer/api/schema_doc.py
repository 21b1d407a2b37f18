"""Describe voluptuous schemas as JSON Schema, so the OpenAPI document is made from what is enforced.

Covers what the API's schemas use: dict schemas with Required/Optional keys, plain types, lists,
``In``, ``Range``, ``Length``, ``Match``, ``All``, ``Any``, ``Coerce`` and validators that carry a
``json_schema`` attribute (see :func:`shems_optimizer.api.validation.described`).
"""

from __future__ import annotations

from typing import Any

import voluptuous as vol

_TYPES: dict[Any, dict[str, Any]] = {
    str: {"type": "string"},
    int: {"type": "integer"},
    float: {"type": "number"},
    bool: {"type": "boolean"},
    dict: {"type": "object"},
    list: {"type": "array"},
    type(None): {"type": "null"},
}


def to_json_schema(schema: Any) -> dict[str, Any]:
    if isinstance(schema, vol.Schema):
        out = to_json_schema(schema.schema)
        if isinstance(schema.schema, dict) and schema.extra == vol.PREVENT_EXTRA:
            out["additionalProperties"] = False
        return out
    if isinstance(schema, dict):
        return _object(schema)
    if isinstance(schema, list):
        if not schema:
            return {"type": "array"}
        items = [to_json_schema(s) for s in schema]
        return {"type": "array", "items": items[0] if len(items) == 1 else {"anyOf": items}}
    if schema in _TYPES:
        return dict(_TYPES[schema])
    described = getattr(schema, "json_schema", None)
    if isinstance(described, dict):
        return dict(described)
    if isinstance(schema, vol.In):
        return {"enum": list(schema.container)}  # type: ignore[call-overload]
    if isinstance(schema, vol.Range):
        out = {}
        if schema.min is not None:
            out["minimum" if schema.min_included else "exclusiveMinimum"] = schema.min
        if schema.max is not None:
            out["maximum" if schema.max_included else "exclusiveMaximum"] = schema.max
        return out
    if isinstance(schema, vol.Length):
        return {k: v for k, v in (("minLength", schema.min), ("maxLength", schema.max)) if v is not None}
    if isinstance(schema, vol.Match):
        return {"type": "string", "pattern": schema.pattern.pattern}
    if isinstance(schema, vol.Coerce):
        return dict(_TYPES.get(schema.type, {}))
    if isinstance(schema, vol.All):
        merged: dict[str, Any] = {}
        for part in schema.validators:
            merged.update(to_json_schema(part))
        # Length bounds on arrays are minItems/maxItems.
        # Length bounds on arrays and objects have their own names in JSON Schema.
        kind = merged.get("type")
        if kind in ("array", "object"):
            unit = "Items" if kind == "array" else "Properties"
            for bound in ("min", "max"):
                if f"{bound}Length" in merged:
                    merged[f"{bound}{unit}"] = merged.pop(f"{bound}Length")
        return merged
    if isinstance(schema, vol.Any):
        return {"anyOf": [to_json_schema(v) for v in schema.validators]}
    if isinstance(schema, str | int | float | bool):
        return {"enum": [schema]}
    return {}


def _object(schema: dict[Any, Any]) -> dict[str, Any]:
    properties: dict[str, Any] = {}
    required: list[str] = []
    extra: dict[str, Any] | None = None
    for key, value in schema.items():
        if isinstance(key, vol.Marker):
            name = key.schema
            prop = to_json_schema(value)
            if key.description:
                prop["description"] = key.description
            default = getattr(key, "default", vol.UNDEFINED)
            if default is not vol.UNDEFINED:
                prop["default"] = default() if callable(default) else default
            if isinstance(key, vol.Required):
                required.append(str(name))
        elif isinstance(key, str):
            name, prop = key, to_json_schema(value)
            required.append(name)
        else:  # e.g. {str: float}: free-form keys
            extra = to_json_schema(value)
            continue
        properties[str(name)] = prop
    out: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        out["required"] = required
    if extra is not None:
        out["additionalProperties"] = extra
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
