"""JSON at the edges: encoding (timezone-aware datetimes as ISO 8601, dataclasses as objects) and a
guarded parser for what comes in (the API's bodies, device acks)."""

from __future__ import annotations

import dataclasses
import json
import math
import re
from datetime import date, datetime
from enum import Enum
from pathlib import Path
from typing import Any


def _default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    item = getattr(value, "item", None)  # numpy scalars
    if callable(item):
        return item()
    tolist = getattr(value, "tolist", None)  # numpy arrays
    if callable(tolist):
        return tolist()
    raise TypeError(f"cannot encode {type(value).__name__} as JSON")


def _clean(value: Any) -> Any:
    """JSON has no NaN: a missing number is ``null``, never an invalid token."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is None or isinstance(value, str | int | float):
        return value
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_clean(v) for v in value]
    return _clean(_default(value))


def dumps(value: Any) -> str:
    try:
        return json.dumps(value, default=_default, allow_nan=False, separators=(",", ":"))
    except ValueError:
        return json.dumps(_clean(value), default=_default, allow_nan=False, separators=(",", ":"))


class EncodedJson(dict[str, Any]):
    """A JSON object that also carries its encoding (text and UTF-8 bytes), for answers served many
    times unchanged: serving it again costs no serialisation at all."""

    def __init__(self, value: dict[str, Any]) -> None:
        super().__init__(value)
        self.text = dumps(value)
        self.body = self.text.encode()


MAX_JSON_DEPTH = 32  # no document the API takes nests deeper than a handful of levels


# Integers beyond this magnitude are no measurement, price or setting (and do not fit a float).
MAX_JSON_INTEGER = 10**15


class JsonRefused(ValueError):
    """A JSON text that parses but is refused: non-finite or huge numbers, too deep nesting, or a
    NUL character in a text."""

    def __init__(self, message: str, field: str = "(body)") -> None:
        super().__init__(message)
        self.field = field


def parse_json(raw: bytes | str, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """Parse JSON that holds only finite numbers of sane size and texts without NUL, nested at most
    ``max_depth`` deep.

    Raises :class:`JsonRefused` (a ``ValueError``) naming the problem and where it is; Python's own
    parser would turn ``1e999`` into infinity, accept ``NaN``, and overflow the stack on ``[[[[…``;
    PostgreSQL cannot store U+0000 in a text.
    """
    if _nesting_exceeds(raw, max_depth):
        raise JsonRefused(f"nested deeper than {max_depth} levels")
    try:
        value = json.loads(raw, parse_constant=_reject_constant)
    except RecursionError as err:  # pragma: no cover - the nesting check comes first
        raise JsonRefused(f"nested deeper than {max_depth} levels") from err
    _check_values(value)
    return value


_TOKENS = re.compile(rb'[\[{]|"(?:[^"\\]|\\.)*"|[\]}]')


def _nesting_exceeds(raw: bytes | str, max_depth: int) -> bool:
    """Whether brackets outside strings nest deeper than ``max_depth`` (one regex pass, no parse)."""
    data = raw.encode() if isinstance(raw, str) else raw
    if data.count(b"[") + data.count(b"{") <= max_depth:
        return False
    depth = 0
    for match in _TOKENS.finditer(data):
        token = match.group()
        if token in (b"[", b"{"):
            depth += 1
            if depth > max_depth:
                return True
        elif token in (b"]", b"}"):
            depth -= 1
    return False


def _reject_constant(name: str) -> Any:
    raise JsonRefused(f"{name} is not a number JSON allows")


def _check_values(value: Any) -> None:
    """Refuse infinities (``1e999`` parses as one), integers too large for any quantity, and NUL
    characters in texts and keys."""
    stack: list[tuple[Any, str]] = [(value, "")]
    while stack:
        item, where = stack.pop()
        if isinstance(item, dict):
            if any("\x00" in key for key in item):
                raise JsonRefused("a key contains NUL (U+0000)", field=where or "(body)")
            stack.extend((v, f"{where}.{k}" if where else str(k)) for k, v in item.items())
        elif isinstance(item, list):
            stack.extend((v, f"{where}[{i}]") for i, v in enumerate(item))
        elif isinstance(item, float) and not math.isfinite(item):
            raise JsonRefused("number beyond the range of a float", field=where or "(body)")
        elif isinstance(item, int) and not isinstance(item, bool) and abs(item) > MAX_JSON_INTEGER:
            raise JsonRefused(f"integer beyond ±{MAX_JSON_INTEGER:.0e}", field=where or "(body)")
        elif isinstance(item, str) and "\x00" in item:
            raise JsonRefused("text contains NUL (U+0000)", field=where or "(body)")
