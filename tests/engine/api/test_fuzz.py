"""Fuzz the API from its own OpenAPI document (schemathesis): no 5xx and no hang on any input.

The service runs in its own thread and event loop (schemathesis calls it synchronously), with the
embedded store and a real site, plan, device and schedule so that generated requests reach the
handlers' deeper paths, not only the validation layer.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from shems_optimizer.service.config import ServiceConfig
from shems_optimizer.service.testing import RunningService

TOKEN = "fuzz-token-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
SEEN: dict[str, set[int]] = {}  # operation -> HTTP statuses answered during fuzzing


class ThreadedService:
    """The real service on its own event loop in a background thread."""

    def __init__(self, data_dir: Path) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="fuzz-service", daemon=True)
        config = ServiceConfig(
            data_dir=data_dir, host="127.0.0.1", port=0, fixed_token=TOKEN, rate_limit_per_min=10**9
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


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with ThreadedService(tmp_path_factory.mktemp("fuzz")) as service:
        url = service.running.url
        site: dict[str, Any] = {
            "timezone": "Europe/Berlin",
            "price": {"kind": "fixed", "import_per_kwh": 0.3, "export_per_kwh": 0.08},
            "batteries": [
                {
                    "id": "bat",
                    "name": "Battery",
                    "capacity_kwh": 5,
                    "max_charge_w": 2500,
                    "max_discharge_w": 2500,
                }
            ],
            "appliances": [{"id": "dw", "name": "Dishwasher", "power_w": 2000, "duration_min": 60}],
        }
        assert requests.put(f"{url}/api/v1/site", json=site, headers=AUTH, timeout=30).status_code == 200
        assert requests.post(f"{url}/api/v1/optimize", headers=AUTH, timeout=60).status_code == 200
        device = {"device_id": "meter1", "name": "Meter", "type": "grid"}
        assert (
            requests.post(f"{url}/api/v1/devices", json=device, headers=AUTH, timeout=30).status_code == 201
        )
        yield url


@pytest.fixture(scope="module")
def api_schema(live: str) -> Any:
    return schemathesis.openapi.from_url(f"{live}/api/v1/openapi.json")


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.exclude(operation_id="rotateToken").parametrize()
@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_server_error_for_any_input(case: Any) -> None:
    response = case.call(headers=AUTH, timeout=30)
    SEEN.setdefault(case.operation.label, set()).add(response.status_code)
    case.validate_response(response, checks=[not_a_server_error])


def test_fuzzing_reached_the_handlers() -> None:
    """Guard against fuzzing the wrong base URL: most operations must have answered 2xx sometimes."""
    answered = {label for label, codes in SEEN.items() if any(200 <= c < 300 for c in codes)}
    assert len(SEEN) >= 20, sorted(SEEN)
    assert len(answered) >= 12, {label: sorted(codes) for label, codes in SEEN.items()}
