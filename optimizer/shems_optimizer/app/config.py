"""The service's configuration as typed, frozen dataclasses (built from add-on options or CLI flags)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from shems_optimizer.core.planner.options import check_solver_name

INGRESS_PEER = "172.30.32.2"  # the Supervisor's ingress proxy, the one peer trusted without a token

StorageKind = Literal["embedded", "timescaledb"]


@dataclass(frozen=True)
class StorageConfig:
    kind: StorageKind = "embedded"
    dsn: str | None = None  # TimescaleDB only; never logged

    def __post_init__(self) -> None:
        if self.kind not in ("embedded", "timescaledb"):
            raise ValueError(f"storage: unknown kind {self.kind!r} (embedded or timescaledb)")
        if self.kind == "timescaledb" and not self.dsn:
            raise ValueError("storage: timescaledb needs a DSN (postgresql://user:password@host:5432/db)")

    def __repr__(self) -> str:  # keep the DSN (with its password) out of logs and tracebacks
        return f"StorageConfig(kind={self.kind!r}, dsn={'***' if self.dsn else None})"


@dataclass(frozen=True)
class MqttConfig:
    host: str
    port: int = 1883
    username: str | None = None
    password: str | None = None
    topic_prefix: str = "shems"
    client_id: str = "shems-addon"

    def __repr__(self) -> str:
        return (
            f"MqttConfig(host={self.host!r}, port={self.port}, username={self.username!r}, "
            f"password={'***' if self.password else None}, topic_prefix={self.topic_prefix!r})"
        )


@dataclass(frozen=True)
class HomeAssistantConfig:
    """Home Assistant's REST/WebSocket API (inside the add-on: the Supervisor's proxy)."""

    url: str  # e.g. http://supervisor/core
    token: str

    def __repr__(self) -> str:
        return f"HomeAssistantConfig(url={self.url!r}, token=***)"

    @property
    def websocket_url(self) -> str:
        """HA's WebSocket API: the Supervisor proxies it at ``/core/websocket``; HA itself serves it at
        ``/api/websocket``."""
        base = self.url.rstrip("/")
        if base.startswith("https://"):
            base = "wss://" + base[len("https://") :]
        elif base.startswith("http://"):
            base = "ws://" + base[len("http://") :]
        return base + ("/websocket" if base.endswith("/core") else "/api/websocket")


@dataclass(frozen=True)
class CommandSettings:
    """Device commands: wait this long for an ack before each retry; give up after the last."""

    retry_delays_s: tuple[float, ...] = (1.0, 2.0, 4.0)
    final_wait_s: float = 4.0
    default_ttl_s: float = 300.0


@dataclass(frozen=True)
class ServiceConfig:
    data_dir: Path
    host: str = "0.0.0.0"
    port: int = 8099
    storage: StorageConfig = field(default_factory=StorageConfig)
    mqtt: MqttConfig | None = None
    homeassistant: HomeAssistantConfig | None = None
    optimization_interval_min: int = 15
    rate_limit_per_min: int = 1000  # per token / ingress user
    # Per address, for requests without a valid token; None: a tenth of rate_limit_per_min (at least
    # 10, at most rate_limit_per_min).
    anonymous_rate_limit_per_min: int | None = None
    trusted_peers: tuple[str, ...] = (INGRESS_PEER,)
    # A stream subscriber whose oldest undelivered event is older than this is closed (too slow).
    stream_max_lag_s: float = 5.0
    log_level: str = "info"
    # The planner's solver: "highs" (HiGHS through highspy) or "pulp:<name>" (see planner.options).
    solver: str = "highs"
    commands: CommandSettings = field(default_factory=CommandSettings)
    fixed_token: str | None = None  # tests only: use this token instead of the stored one
    announce_discovery: bool = False  # tell Home Assistant where the API is (inside the add-on)
    ha_sample_interval_s: float = 10.0  # how often the held Home Assistant sensor values are stored
    watchdog_interval_s: float = 5.0  # store ping and dead-thread checks (see service/watchdog.py)
    dead_letter_alarm_per_min: float = (
        30.0  # refused telemetry per minute (5-min mean) that means "not ready"
    )

    @property
    def anonymous_limit_per_min(self) -> int:
        if self.anonymous_rate_limit_per_min is not None:
            return self.anonymous_rate_limit_per_min
        return min(self.rate_limit_per_min, max(10, self.rate_limit_per_min // 10))

    def __post_init__(self) -> None:
        if not 1 <= self.optimization_interval_min <= 1440:
            raise ValueError(
                f"optimization_interval_min must be 1-1440 minutes, got {self.optimization_interval_min}"
            )
        if self.rate_limit_per_min < 1:
            raise ValueError(f"rate_limit_per_min must be at least 1, got {self.rate_limit_per_min}")
        if self.anonymous_rate_limit_per_min is not None and self.anonymous_rate_limit_per_min < 1:
            raise ValueError(
                f"anonymous_rate_limit_per_min must be at least 1, got {self.anonymous_rate_limit_per_min}"
            )
        if not 0.1 <= self.ha_sample_interval_s <= 3600:
            raise ValueError(
                f"ha_sample_interval_s must be 0.1-3600 seconds, got {self.ha_sample_interval_s}"
            )
        check_solver_name(self.solver)
        if not 0 <= self.port <= 65535:
            raise ValueError(f"port must be 0-65535, got {self.port}")
