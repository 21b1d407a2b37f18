"""Small JSON files in the data directory, written atomically so a crash never leaves half a file."""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path
from typing import Any

from shems_optimizer.runtime.jsonio import dumps


def write_json_atomic(path: Path, value: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:6]}.tmp")
    tmp.write_text(dumps(value), encoding="utf-8")
    tmp.replace(path)


def read_json(path: Path) -> Any:
    """The file's JSON, or ``None`` when it does not exist. A corrupt file raises ``ValueError``."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    try:
        return json.loads(text)
    except ValueError as err:
        raise ValueError(f"{path} is not valid JSON ({err}); move it away to start afresh") from err


def instance_id(data_dir: Path) -> str:
    """This installation's id, made once and kept in ``data_dir/instance_id``."""
    path = data_dir / "instance_id"
    if path.exists():
        value = path.read_text(encoding="utf-8").strip()
        if value:
            return value
    value = uuid.uuid4().hex
    data_dir.mkdir(parents=True, exist_ok=True)
    path.write_text(value + "\n", encoding="utf-8")
    return value
