"""A repeated consumption query reuses its validated form; refused queries are refused every time."""

from __future__ import annotations

import urllib.parse
from typing import Any

import aiohttp
import pytest

from shems_optimizer.wiring.testing import RunningService

from .conftest import auth


async def _get(http: aiohttp.ClientSession, svc: RunningService, query: dict[str, str]) -> tuple[int, Any]:
    url = f"{svc.url}/api/v1/consumption?{urllib.parse.urlencode(query)}"
    async with http.get(url, headers=auth()) as resp:
        return resp.status, await resp.json()


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"start": "2026-03-10T00:00:00", "end": "2026-03-11T00:00:00+00:00"}, "start"),  # no offset
        ({"start": "2026-03-10T00:00:00+00:00", "end": "2026-03-09T00:00:00+00:00"}, "end"),  # backwards
        (
            {"start": "2026-03-10T00:00:00+00:00", "end": "2026-03-11T00:00:00+00:00", "granularity": "x"},
            "granularity",
        ),
    ],
)
async def test_refused_query_is_refused_again(
    svc: RunningService, http: aiohttp.ClientSession, query: dict[str, str], field: str
) -> None:
    for _ in range(3):
        status, body = await _get(http, svc, query)
        assert status == 400, body
        assert body["field"] == field


async def test_repeated_query_gets_the_same_answer(svc: RunningService, http: aiohttp.ClientSession) -> None:
    query = {"start": "2026-03-10T00:00:00+01:00", "end": "2026-03-11T00:00:00+01:00", "granularity": "day"}
    answers = [await _get(http, svc, query) for _ in range(3)]
    assert all(status == 200 for status, _ in answers)
    assert answers[0][1] == answers[1][1] == answers[2][1]
    assert answers[0][1]["granularity"] == "day" and answers[0][1]["start"].startswith("2026-03-10T00:00")
    other = await _get(http, svc, {**query, "granularity": "hour"})  # a new string: checked on its own
    assert other[0] == 200 and other[1]["granularity"] == "hour"
