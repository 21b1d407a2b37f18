"""The site's ``location``: validated field by field, and documented in the OpenAPI document exactly as
it is enforced."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aiohttp
import pytest

from shems_optimizer.app.site.site_document import validate_site_document
from shems_optimizer.runtime.errors import InputRejected
from shems_optimizer.wiring.testing import running_service

ACCEPTED = [
    ({"latitude": 48.14, "longitude": 11.58}, {"latitude": 48.14, "longitude": 11.58}),
    ({"latitude": -90, "longitude": 180}, {"latitude": -90.0, "longitude": 180.0}),
    (None, None),
]
REFUSED = [
    ({"latitude": 90.5, "longitude": 0}, "location.latitude", "outside -90..90"),
    ({"latitude": 0, "longitude": -180.01}, "location.longitude", "outside -180..180"),
    ({"latitude": 45}, "location.longitude", "required"),
    ({"latitude": "48.1", "longitude": 11}, "location.latitude", "expected decimal degrees"),
    ({"latitude": float("nan"), "longitude": 11}, "location.latitude", "expected decimal degrees"),
    ({"latitude": True, "longitude": 11}, "location.latitude", "expected decimal degrees"),
    ({"latitude": 1, "longitude": 2, "elevation": 500}, "location.elevation", "unknown key 'elevation'"),
    ([48.1, 11.5], "location", "expected an object {latitude, longitude}"),
]


@pytest.mark.parametrize(("location", "stored"), ACCEPTED)
def test_accepted(location: Any, stored: Any) -> None:
    assert validate_site_document({"location": location})["location"] == stored


def test_absent_location_stays_absent() -> None:
    assert "location" not in validate_site_document({})


@pytest.mark.parametrize(("location", "field", "message"), REFUSED)
def test_refused_with_the_field_named(location: Any, field: str, message: str) -> None:
    with pytest.raises(InputRejected) as caught:
        validate_site_document({"location": location})
    assert caught.value.field == field
    assert message in caught.value.message


async def test_openapi_documents_what_is_enforced(tmp_path: Path) -> None:
    async with (
        running_service(tmp_path, token="t") as svc,
        aiohttp.ClientSession(headers={"Authorization": "Bearer t"}) as http,
    ):
        async with http.get(f"{svc.url}/api/v1/openapi.json") as resp:
            document = await resp.json()
        put = document["paths"]["/api/v1/site"]["put"]
        documented_location = put["requestBody"]["content"]["application/json"]["schema"]["properties"][
            "location"
        ]
        # {latitude, longitude}, or null (no location: the PV forecast says it needs one)
        (schema,) = [s for s in documented_location["anyOf"] if s.get("type") == "object"]
        assert {"type": "null"} in documented_location["anyOf"]
        async with http.put(
            f"{svc.url}/api/v1/site", json={"location": {"latitude": 91, "longitude": 0}}
        ) as resp:
            assert resp.status == 400
            assert (await resp.json())["field"] == "location.latitude"
    assert schema["required"] == ["latitude", "longitude"] and schema["additionalProperties"] is False
    for name, bound in (("latitude", 90), ("longitude", 180)):
        documented = schema["properties"][name]
        assert (documented["minimum"], documented["maximum"]) == (-bound, bound)
        for value, ok in ((bound, True), (-bound, True), (bound + 0.001, False), (-bound - 0.001, False)):
            location = {"latitude": 0, "longitude": 0, name: value}
            try:
                validate_site_document({"location": location})
                accepted = True
            except InputRejected:
                accepted = False
            assert accepted is ok, (name, value)
