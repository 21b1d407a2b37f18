"""Bearer tokens, the trusted ingress peer, token rotation and per-client rate limiting."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import pytest

from shems_optimizer.api.auth import PeerPolicy, TokenStore
from shems_optimizer.api.ratelimit import RateLimiter
from shems_optimizer.wiring.testing import RunningService, running_service

from .conftest import TOKEN, auth


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({}, 401),
        ({"Authorization": "Bearer wrong"}, 401),
        ({"Authorization": f"Basic {TOKEN}"}, 401),
        ({"Authorization": "Bearer "}, 401),
        (auth(), 200),
    ],
)
async def test_token_required_for_api(
    svc: RunningService, http: aiohttp.ClientSession, headers: dict[str, str], status: int
) -> None:
    async with http.get(f"{svc.url}/api/v1/status", headers=headers) as resp:
        assert resp.status == status
        body = await resp.json()
        if status == 401:
            assert body["code"] == "unauthorized"
            assert resp.headers["WWW-Authenticate"] == "Bearer"
            assert body["correlation_id"] == resp.headers["X-Correlation-ID"]


async def test_health_and_openapi_are_public(svc: RunningService, http: aiohttp.ClientSession) -> None:
    async with http.get(f"{svc.url}/api/v1/health") as resp:
        assert resp.status == 200
        body = await resp.json()
        assert body["instance_id"] == svc.instance_id
        assert body["version"]
    async with http.get(f"{svc.url}/api/v1/openapi.json") as resp:
        assert resp.status == 200
        assert (await resp.json())["openapi"].startswith("3.")


async def test_ingress_peer_is_trusted_without_token(tmp_path: Path, http: aiohttp.ClientSession) -> None:
    # Loopback plays the Supervisor's ingress proxy here; everyone else still needs the token.
    async with running_service(tmp_path, token=TOKEN, trusted_peers=("127.0.0.1",)) as svc:
        async with http.get(f"{svc.url}/api/v1/status") as resp:
            assert resp.status == 200
        async with http.get(f"{svc.url}/api/v1/auth/token") as resp:
            assert resp.status == 200
            assert (await resp.json())["token"] == TOKEN


async def test_token_shown_only_through_ingress(svc: RunningService, http: aiohttp.ClientSession) -> None:
    async with http.get(f"{svc.url}/api/v1/auth/token", headers=auth()) as resp:
        assert resp.status == 403


async def test_rotation_invalidates_old_token_and_survives_restart(
    svc: RunningService, http: aiohttp.ClientSession
) -> None:
    async with http.post(f"{svc.url}/api/v1/auth/token/rotate", headers=auth()) as resp:
        assert resp.status == 200
        new = (await resp.json())["token"]
    assert new != TOKEN and len(new) >= 32
    async with http.get(f"{svc.url}/api/v1/status", headers=auth()) as resp:
        assert resp.status == 401
    async with http.get(f"{svc.url}/api/v1/status", headers=auth(new)) as resp:
        assert resp.status == 200
    assert svc.service is not None
    data_dir = svc.service.config.data_dir
    assert TokenStore(data_dir).token == new
    assert (data_dir / "api_token").stat().st_mode & 0o777 == 0o600


def test_token_created_on_first_start_and_kept(tmp_path: Path) -> None:
    first = TokenStore(tmp_path)
    assert first.created and len(first.token) >= 32
    again = TokenStore(tmp_path)
    assert not again.created and again.token == first.token
    assert again.matches(first.token) and not again.matches(first.token + "x")


@pytest.mark.parametrize(
    ("remote", "trusted"),
    [
        ("172.30.32.2", True),
        ("::ffff:172.30.32.2", True),
        ("172.30.32.3", False),
        ("127.0.0.1", False),
        ("not-an-ip", False),
        (None, False),
    ],
)
def test_peer_policy(remote: str | None, trusted: bool) -> None:
    assert PeerPolicy().is_trusted(remote) is trusted


def test_rate_limiter_per_client_with_refill() -> None:
    now = [0.0]
    limiter = RateLimiter(per_minute=3, clock=lambda: now[0])
    assert [limiter.check("a") for _ in range(3)] == [None, None, None]
    wait = limiter.check("a")
    assert wait == pytest.approx(20.0)  # 3 per minute: one token every 20 s
    assert limiter.check("b") is None  # another client has its own bucket
    now[0] = 20.0
    assert limiter.check("a") is None
    assert limiter.check("a") == pytest.approx(20.0)


async def test_rate_limit_answers_429(tmp_path: Path, http: aiohttp.ClientSession) -> None:
    async with running_service(tmp_path, token=TOKEN, rate_limit_per_min=5) as svc:
        statuses = []
        for _ in range(7):
            async with http.get(f"{svc.url}/api/v1/health") as resp:
                statuses.append(resp.status)
                if resp.status == 429:
                    assert int(resp.headers["Retry-After"]) >= 1
                    assert (await resp.json())["code"] == "rate_limited"
        assert statuses == [200] * 5 + [429, 429]
