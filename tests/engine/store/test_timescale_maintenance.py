"""TimescaleDB-only behaviour: retention drops old raw chunks while roll-ups keep the history."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import psycopg

from shems_optimizer.adapters.store import TimescaleConfig, TimescaleRepository
from shems_optimizer.app.records.models import Device, DeviceType, Granularity, Home, Reading
from shems_optimizer.app.records.repository import ConsumptionQuery


def test_retention_drops_old_raw_rows_but_keeps_daily_rollups(timescale_dsn: str) -> None:
    now = datetime(2026, 6, 1, tzinfo=UTC)
    repo = TimescaleRepository.open(TimescaleConfig(timescale_dsn, raw_retention=timedelta(days=30)))
    try:
        repo.upsert_home(Home("h", "h"))
        repo.upsert_device(Device("d", "h", DeviceType.LOAD, "d"))
        old_day = now - timedelta(days=60)
        recent_day = now - timedelta(days=2)
        for day in (old_day, recent_day):
            repo.write_readings([Reading("d", day + timedelta(minutes=m), 500.0) for m in range(0, 60, 5)])
        repo.run_maintenance(now)
        assert repo.count_readings("d") == 12  # the old day's raw rows are gone
        days = repo.consumption(ConsumptionQuery(old_day, now, Granularity.DAY, ("d",)))
        assert [(b.start, round(b.import_kwh, 6)) for b in days] == [(old_day, 0.5), (recent_day, 0.5)]
        with psycopg.connect(timescale_dsn) as conn:
            assert conn.execute("SELECT count(*) FROM rollup_invalidations").fetchone() == (0,)
    finally:
        repo.close()
