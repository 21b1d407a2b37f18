"""Fuzz the API from its own OpenAPI document (schemathesis, every check): no 5xx on any input.

The service runs in its own thread and event loop (schemathesis calls it synchronously), once with
the embedded store and once with TimescaleDB, each with a real site, plan, device and schedule so
that generated requests reach the handlers' deeper paths, not only the validation layer. Three
passes, on both stores:

* every operation, at least 100 generated examples, every schemathesis check (the ``--checks all``
  of the command line: server errors, status codes, content types, response schemas, headers,
  negative data refused, positive data accepted, ignored auth, ...);
* the stateful pass follows the document's links (a new device -> its commands -> one command;
  a new schedule -> its removal), 50 scenarios of up to 8 steps;
* edge values schemathesis does not make by itself: JSON nested 100,000 deep, numbers beyond a
  float (``1e999``, 401 digits), NaN and Infinity, dates in year 1 and 9999, 100 kB strings, put
  into every leaf of a valid document and every query parameter of every operation.

The counts (operations, requests, 5xx, examples per operation and store) are printed for the README.

What an example costs is the test data, not the service (which idles most of the time): date-times
are generated inside the document's year range (see ``_DATE_TIMES``) instead of being drawn from all
years and filtered, and every request goes over one kept-alive connection.
"""

from __future__ import annotations

import asyncio
import copy
import json
import os
import threading
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from schemathesis.config import SchemathesisConfig

from shems_optimizer.app.config import ServiceConfig, StorageConfig
from shems_optimizer.wiring.testing import RunningService

TOKEN = "fuzz-token-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
# Generated examples per operation and store (the floor is 100); SHEMS_FUZZ_EXAMPLES sets
# another count for a longer or a quick run.
EXAMPLES = int(os.environ.get("SHEMS_FUZZ_EXAMPLES", "100"))
STORES = ("embedded", "timescaledb")
SEEN: dict[str, Counter[int]] = {}  # "<store> <operation>" -> HTTP statuses answered during fuzzing
CASES: Counter[str] = Counter()  # "<store> <operation>" -> generated examples of the parametrized pass
EDGE_SEEN: Counter[int] = Counter()
HTTP = requests.Session()  # one kept-alive connection for every generated request
HTTP.trust_env = False  # no proxy or .netrc look-up per request: the service is on loopback

# The document bounds every instant to the years 1970 .. 2199 (a ``pattern`` beside
# ``format: date-time``). A format value schemathesis draws falls in those years about 2 % of the
# time, and a value drawn from the pattern is almost never a date-time, so most draws were thrown
# away: 45-85 ms per consumption example against 3-7 ms with this generator, whose every value is an
# RFC 3339 date-time in the document's years (any offset, with or without fractions, Z or ±hh:mm).
# Out-of-range years still come from the negative cases and the edge values below.
_OFFSETS = st.integers(-(23 * 60 + 59), 23 * 60 + 59).map(lambda m: timezone(timedelta(minutes=m)))
_DATE_TIMES = st.builds(
    lambda local, offset, zulu: (
        local.replace(tzinfo=UTC).isoformat().replace("+00:00", "Z")
        if zulu
        else local.replace(tzinfo=offset).isoformat()
    ),
    st.datetimes(min_value=datetime(1970, 1, 1), max_value=datetime(2199, 12, 31, 23, 59, 59)),
    _OFFSETS,
    st.booleans(),
)
schemathesis.openapi.format("date-time", _DATE_TIMES)

SITE: dict[str, Any] = {
    "timezone": "Europe/Berlin",
    "price": {"kind": "fixed", "import_per_kwh": 0.3, "export_per_kwh": 0.08},
    "grid": {"max_import_w": 11000, "max_export_w": 7000},
    "location": {"latitude": 52.5, "longitude": 13.4},
    "batteries": [
        {"id": "bat", "name": "Battery", "capacity_kwh": 5, "max_charge_w": 2500, "max_discharge_w": 2500}
    ],
    "evs": [{"id": "car", "name": "Car", "battery_kwh": 60, "max_charge_w": 11000, "departure": "07:30"}],
    "appliances": [{"id": "dw", "name": "Dishwasher", "power_w": 2000, "duration_min": 60}],
    "thermal_loads": [{"id": "wh", "name": "Boiler", "kind": "water_heater", "power_w": 3000}],
}
DEVICE = {"device_id": "meter1", "name": "Meter", "type": "grid", "ha_entity_id": "switch.meter"}
VALID_BODIES: dict[tuple[str, str], dict[str, Any]] = {
    ("PUT", "/api/v1/site"): SITE,
    ("POST", "/api/v1/devices"): {**DEVICE, "device_id": "edge1"},
    ("POST", "/api/v1/schedules"): {
        "appliance_id": "dw",
        "finish_by": "2030-01-01T07:00:00+01:00",
        "earliest_start": "2029-12-31T22:00:00+01:00",
    },
    ("POST", "/api/v1/devices/meter1/commands"): {
        "command": "set_power",
        "payload": {"w": 1000},
        "ttl_s": 30,
    },
}
# Raw JSON texts: what Python's json module would misread (1e999 -> inf) or choke on (nesting).
EDGE_NUMBERS = ["1e999", "-1e999", "1" + "0" * 400, "9" * 5000, "NaN", "Infinity", "-Infinity", "1e308"]
EDGE_VALUES: list[str] = [
    *EDGE_NUMBERS,
    json.dumps("0001-01-01T00:00:00+01:00"),
    json.dumps("9999-12-31T23:59:59-01:00"),
    json.dumps("x" * 100_000),
    "[" * 100 + "]" * 100,
    '{"a":' * 100 + "1" + "}" * 100,
    "null",
    "true",
    "[]",
    "{}",
]
EDGE_QUERY = [
    "0001-01-01T00:00:00+01:00",
    "9999-12-31T23:30:00-01:00",
    "1" + "0" * 400,
    "1e999",
    "NaN",
    "-Infinity",
    "x" * 4_000,  # (a request line over 8 kB is refused by the HTTP parser itself)
    "",
]
DEEP_BODIES = [b"[" * 100_000 + b"]" * 100_000, b'{"a":' * 20_000 + b"1" + b"}" * 20_000, b"\xff\xfe", b""]


class ThreadedService:
    """The real service on its own event loop in a background thread."""

    def __init__(self, data_dir: Path, storage: StorageConfig | None = None) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="fuzz-service", daemon=True)
        config = ServiceConfig(
            data_dir=data_dir,
            storage=storage or StorageConfig(),
            host="127.0.0.1",
            port=0,
            fixed_token=TOKEN,
            rate_limit_per_min=10**9,
            anonymous_rate_limit_per_min=10**9,
        )
        self.running = RunningService(config, None)

    def __enter__(self) -> ThreadedService:
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self.running.start(), self.loop).result(timeout=60)
        return self

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self.running.stop(), self.loop).result(timeout=60)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=30)
        self.loop.close()


def _furnished(url: str) -> None:
    """A site, its first plan and a device, so that requests reach the handlers' deeper paths."""
    assert requests.put(f"{url}/api/v1/site", json=SITE, headers=AUTH, timeout=30).status_code == 200
    assert requests.post(f"{url}/api/v1/optimize", headers=AUTH, timeout=60).status_code == 200
    assert requests.post(f"{url}/api/v1/devices", json=DEVICE, headers=AUTH, timeout=30).status_code == 201


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with ThreadedService(tmp_path_factory.mktemp("fuzz")) as service:
        _furnished(service.running.url)
        yield service.running.url
    operations = {label.split(" ", 1)[1] for label in SEEN}
    counted = sum(sum(c.values()) for c in SEEN.values()) + sum(EDGE_SEEN.values())
    server_errors = sum(n for c in [*SEEN.values(), EDGE_SEEN] for status, n in c.items() if status >= 500)
    without = set().union(*WITHOUT_INPUTS.values())
    with_inputs = [n for label, n in CASES.items() if label not in without] or [0]
    print(  # the figures the README reports
        f"\nfuzz: {len(operations)} operations, {counted} requests "
        f"({sum(EDGE_SEEN.values())} of them edge values), both stores, {server_errors} answered 5xx; "
        f"examples per operation and store: {min(with_inputs)} .. {max(with_inputs)} "
        f"(the {len(without) // len(STORES)} operations without inputs: fewer); "
        f"{sum(CASES.values())} examples in all"
    )


@pytest.fixture(scope="module")
def live_timescale(tmp_path_factory: pytest.TempPathFactory, timescale_dsn: str) -> Iterator[str]:
    """The same service on the TimescaleDB store, for the edge values (its queries differ)."""
    storage = StorageConfig(kind="timescaledb", dsn=timescale_dsn)
    with ThreadedService(tmp_path_factory.mktemp("fuzz-ts"), storage) as service:
        _furnished(service.running.url)
        yield service.running.url


# Every check, as configured by default, with two widenings: a schema-valid request may also be
# refused with 400, because some rules are not JSON Schema (end after start, an appliance id the
# site has, min below max, the optimizer's own site model); and a run asked for with a valid site may
# fail with 422 and its reason (documented: e.g. a price entity while no Home Assistant is
# configured, so no prices to plan with). Refusals of schema-invalid requests
# (negative_data_rejection) and everything else stay as strict as schemathesis makes them.
CONFIG = SchemathesisConfig.from_dict(
    {
        # schemathesis sends the token itself, so its negative cases can leave it out
        "auth": {"openapi": {"bearerAuth": {"bearer": TOKEN}}},
        "checks": {
            "positive_data_acceptance": {
                "expected-statuses": ["2xx", "400", "401", "403", "404", "409", "422", "429"]
            }
        },
    }
)
NOT_HTTP = ("rotateToken", "stream")  # the token would change under the fuzzer; a WebSocket


@pytest.fixture(scope="module", params=STORES)
def fuzzed(request: pytest.FixtureRequest) -> tuple[str, str]:
    """(store, url) of the service the schemathesis passes run against."""
    store: str = request.param
    url: str = request.getfixturevalue("live" if store == "embedded" else "live_timescale")
    return store, url


@pytest.fixture(scope="module")
def api_schema(fuzzed: tuple[str, str]) -> Any:
    store, url = fuzzed
    schema = schemathesis.openapi.from_url(f"{url}/api/v1/openapi.json", config=CONFIG)
    STORE_OF[url] = store
    document = requests.get(f"{url}/api/v1/openapi.json", timeout=30).json()
    WITHOUT_INPUTS[store] = {
        f"{store} {method.upper()} {path}"
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
        if not operation.get("parameters")
        and "requestBody" not in operation
        and not operation.get("security", document.get("security"))
    }
    return schema


schema = schemathesis.pytest.from_fixture("api_schema")


STORE_OF: dict[str, str] = {}  # service URL -> store
WITHOUT_INPUTS: dict[str, set[str]] = {}  # store -> labels of operations with nothing to generate


def _label(case: Any) -> str:
    base = case.operation.base_url
    (store,) = (name for url, name in STORE_OF.items() if base.startswith(url))
    return f"{store} {case.operation.label}"


def _record(label: str, status: int) -> None:
    SEEN.setdefault(label, Counter())[status] += 1


@schema.exclude(operation_id=list(NOT_HTTP)).parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    phases=[Phase.explicit, Phase.generate],
    database=None,
)
def test_every_check_on_every_operation(case: Any) -> None:
    response = case.call_and_validate(session=HTTP, timeout=30)  # every check schemathesis has
    label = _label(case)
    CASES[label] += 1
    _record(label, response.status_code)


def test_stateful_links(api_schema: Any, fuzzed: tuple[str, str]) -> None:
    live = fuzzed[1]
    machine = api_schema.exclude(operation_id=list(NOT_HTTP)).as_state_machine()

    class Links(machine):  # type: ignore[misc,valid-type]
        def setup(self) -> None:
            """Every scenario starts from the same server state (one device, no schedules), so a
            replayed scenario draws the same rules."""
            devices = requests.get(f"{live}/api/v1/devices", headers=AUTH, timeout=30).json()["devices"]
            for device in devices:
                if device["device_id"] != DEVICE["device_id"] and device.get("source") != "site":
                    requests.delete(f"{live}/api/v1/devices/{device['device_id']}", headers=AUTH, timeout=30)
            schedules = requests.get(f"{live}/api/v1/schedules", headers=AUTH, timeout=30).json()
            for schedule in schedules["schedules"]:
                requests.delete(f"{live}/api/v1/schedules/{schedule['id']}", headers=AUTH, timeout=30)
            requests.post(f"{live}/api/v1/devices", json=DEVICE, headers=AUTH, timeout=30)

        def get_call_kwargs(self, case: Any) -> dict[str, Any]:
            return {"timeout": 30, "session": HTTP}

        def after_call(self, response: Any, case: Any) -> None:
            super().after_call(response, case)
            _record(_label(case), response.status_code)

    # No shrinking and no example database: replaying a scenario against a server whose state moved
    # on draws different rules (Hypothesis calls that flaky); a failure is reported as found.
    Links.run(
        settings=settings(
            max_examples=max(5, EXAMPLES // 2),
            stateful_step_count=8,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            phases=[Phase.generate],
            database=None,
        )
    )


def _leaves(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _leaves(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _leaves(item, (*path, index))
    else:
        yield path


def _with_raw(document: dict[str, Any], path: tuple[Any, ...], raw: str) -> bytes:
    """``document`` as JSON text with the leaf at ``path`` replaced by the raw JSON text ``raw``."""
    marker = "\u0000edge\u0000"
    changed = copy.deepcopy(document)
    target: Any = changed
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = marker
    return json.dumps(changed).replace(json.dumps(marker), raw).encode()


def _expect_refusal_or_success(method: str, url: str, **kw: Any) -> None:
    response = requests.request(method, url, timeout=60, **kw)
    EDGE_SEEN[response.status_code] += 1
    assert response.status_code < 500, (method, url, response.status_code, response.text[:500])
    if response.status_code >= 400:
        body = response.json()
        assert body["code"] and body["error"], body


@pytest.fixture(params=["embedded", "timescaledb"])
def any_store(request: pytest.FixtureRequest) -> str:
    url: str = request.getfixturevalue("live" if request.param == "embedded" else "live_timescale")
    return url


def test_edge_values_in_every_leaf_of_valid_bodies(any_store: str) -> None:
    live = any_store
    headers = {**AUTH, "Content-Type": "application/json"}
    for (method, path), document in VALID_BODIES.items():
        for body in DEEP_BODIES:
            _expect_refusal_or_success(method, live + path, data=body, headers=headers)
        for leaf in _leaves(document):
            for raw in EDGE_VALUES:
                _expect_refusal_or_success(
                    method, live + path, data=_with_raw(document, leaf, raw), headers=headers
                )
    # the site is still the valid one: every mutated site was refused or stored whole
    assert requests.put(f"{live}/api/v1/site", json=SITE, headers=AUTH, timeout=30).status_code == 200


def test_edge_values_in_every_query_and_path_parameter(any_store: str) -> None:
    live = any_store
    document = requests.get(f"{live}/api/v1/openapi.json", timeout=30).json()
    examples = {"device_id": "meter1", "command_id": "none", "schedule_id": "none"}
    for template, operations in document["paths"].items():
        for method, operation in operations.items():
            if operation["operationId"] in NOT_HTTP:
                continue
            parameters = operation.get("parameters", [])
            path_names = [p["name"] for p in parameters if p["in"] == "path"]
            query_names = [p["name"] for p in parameters if p["in"] == "query"]
            path = template
            for name in path_names:
                path = path.replace("{" + name + "}", examples[name])
            for name in query_names:
                for value in EDGE_QUERY:
                    _expect_refusal_or_success(method, live + path, params={name: value}, headers=AUTH)
            for name in path_names:
                for value in ("0001-01-01", "9" * 400, "x" * 300, "%00", "..%2F..%2Fetc"):
                    _expect_refusal_or_success(
                        method, live + template.replace("{" + name + "}", value), headers=AUTH
                    )


def test_fuzzing_reached_the_handlers() -> None:
    """Guard against fuzzing the wrong base URL: on each store most operations must have answered
    2xx sometimes, and every operation with inputs got its examples."""
    for store in STORES:
        seen = {label: codes for label, codes in SEEN.items() if label.startswith(f"{store} ")}
        answered = {label for label, codes in seen.items() if any(200 <= c < 300 for c in codes)}
        assert len(seen) >= 20, sorted(seen)
        assert len(answered) >= 12, {label: sorted(codes) for label, codes in seen.items()}
        cases = {label: n for label, n in CASES.items() if label.startswith(f"{store} ")}
        assert len(cases) >= 20, cases
        # an operation without parameters or body has a single request to make; every other one got
        # the full count
        few = {label: n for label, n in cases.items() if n < EXAMPLES and label not in WITHOUT_INPUTS[store]}
        assert not few, few
    assert not [label for label, codes in SEEN.items() if any(c >= 500 for c in codes)]
