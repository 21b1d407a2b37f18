"""The real TimescaleDB works: extension, hypertable insert, time_bucket query round trip."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import psycopg


def test_hypertable_time_bucket_round_trip(timescale_dsn: str) -> None:
    start = datetime(2025, 3, 30, 0, 0, tzinfo=UTC)
    rows = [(start + timedelta(minutes=15 * i), "meter-1", float(100 + i)) for i in range(96)]
    with psycopg.connect(timescale_dsn) as conn:
        version = conn.execute("SELECT extversion FROM pg_extension WHERE extname = 'timescaledb'").fetchone()
        assert version is not None and version[0].startswith("2.")
        conn.execute(
            "CREATE TABLE readings (time timestamptz NOT NULL, device text, power_w double precision)"
        )
        conn.execute("SELECT create_hypertable('readings', by_range('time', INTERVAL '1 day'))")
        with conn.cursor() as cur, cur.copy("COPY readings (time, device, power_w) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        buckets = conn.execute(
            "SELECT time_bucket('1 hour', time) AS hour, avg(power_w), count(*) "
            "FROM readings GROUP BY hour ORDER BY hour"
        ).fetchall()
    assert len(buckets) == 24
    assert buckets[0][0] == start
    # Hour 0 holds readings 100, 101, 102, 103.
    assert buckets[0][1] == 101.5
    assert all(count == 4 for _, _, count in buckets)
    assert buckets[-1][1] == sum(100 + i for i in range(92, 96)) / 4
