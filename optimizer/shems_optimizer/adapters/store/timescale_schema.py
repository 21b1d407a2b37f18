"""TimescaleDB schema, as versioned migrations (see :mod:`shems_optimizer.adapters.store.migrations`).

``energy_consumption`` is a hypertable (1-day chunks) with a unique (time, device_id) index — the key
that makes writes idempotent.

Aggregates: the schema uses only features of TimescaleDB's Apache-2 edition (the one Debian and most
distributions ship), where native continuous aggregates, compression and policies do not exist. SHEMS
therefore maintains its own roll-up tables — ``energy_15min`` (from the hypertable), ``energy_hourly``
(from 15 min) and ``energy_daily`` (from hours), UTC buckets — incrementally: every telemetry write also
records the time range it touched in ``rollup_invalidations`` (same transaction), and
:mod:`shems_optimizer.adapters.store.rollups` recomputes exactly the buckets of those ranges (before every
consumption query and on :meth:`~shems_optimizer.app.records.repository.Repository.run_maintenance`).
Retention uses ``drop_chunks`` (Apache) from ``run_maintenance``; the roll-ups keep their history.
"""

from __future__ import annotations

from shems_optimizer.adapters.store.migrations import SHARED, Migration

_ROLLUP_COLUMNS = """
    bucket timestamptz NOT NULL,
    device_id text NOT NULL,
    samples bigint NOT NULL,
    power_samples bigint NOT NULL,
    sum_power_w double precision,
    import_kwh double precision NOT NULL,
    export_kwh double precision NOT NULL,
    max_power_w double precision,
    min_power_w double precision,
    min_kwh double precision,
    max_kwh double precision,
    PRIMARY KEY (device_id, bucket)
"""

ROLLUP_TABLES: tuple[str, ...] = ("energy_15min", "energy_hourly", "energy_daily")

# Released: never edit (see shems_optimizer.adapters.store.migrations).
RELEASED: tuple[Migration, ...] = (
    Migration(
        1,
        "homes, devices, telemetry hypertable, roll-up tables",
        (
            """CREATE TABLE homes (
                id text PRIMARY KEY,
                name text NOT NULL,
                timezone text NOT NULL DEFAULT 'UTC',
                created_at timestamptz NOT NULL DEFAULT now()
            )""",
            """CREATE TABLE devices (
                id text PRIMARY KEY,
                home_id text NOT NULL REFERENCES homes(id) ON DELETE CASCADE,
                type text NOT NULL,
                name text NOT NULL,
                mqtt_topics text[] NOT NULL DEFAULT '{}',
                firmware text,
                last_seen timestamptz,
                attributes jsonb NOT NULL DEFAULT '{}',
                created_at timestamptz NOT NULL DEFAULT now()
            )""",
            "CREATE INDEX devices_home_idx ON devices (home_id)",
            """CREATE TABLE energy_consumption (
                time timestamptz NOT NULL,
                device_id text NOT NULL,
                power_w double precision,
                energy_kwh double precision,
                voltage_v double precision,
                current_a double precision
            )""",
            "SELECT create_hypertable('energy_consumption', by_range('time', INTERVAL '1 day'), "
            "create_default_indexes => false)",
            # One index only, time first: rows arrive roughly in time order, so inserts append at the
            # index's right edge (measured ~2x cheaper per row than (device_id, time)); it also serves the
            # roll-up refreshes, which select by time range.
            "CREATE UNIQUE INDEX energy_consumption_time_device_idx ON energy_consumption (time, device_id)",
            *(f"CREATE TABLE {name} ({_ROLLUP_COLUMNS})" for name in ROLLUP_TABLES),
            *(f"CREATE INDEX {name}_bucket_idx ON {name} (bucket)" for name in ROLLUP_TABLES),
            """CREATE TABLE rollup_invalidations (
                id bigserial PRIMARY KEY,
                lo timestamptz NOT NULL,
                hi timestamptz NOT NULL
            )""",
        ),
    ),
    Migration(
        2,
        "device commands, command errors, forecasts, plans, schedules",
        (
            """CREATE TABLE device_commands (
                id text PRIMARY KEY,
                device_id text NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
                type text NOT NULL,
                payload jsonb NOT NULL,
                status text NOT NULL
                    CHECK (status IN ('pending', 'sent', 'acked', 'failed', 'expired')),
                correlation_id text,
                created_at timestamptz NOT NULL,
                sent_at timestamptz,
                acked_at timestamptz,
                finished_at timestamptz,
                attempts integer NOT NULL DEFAULT 0
            )""",
            "CREATE INDEX device_commands_device_idx ON device_commands (device_id, created_at DESC)",
            "CREATE INDEX device_commands_status_idx ON device_commands (status) WHERE status IN "
            "('pending', 'sent')",
            """CREATE TABLE command_errors (
                id bigserial PRIMARY KEY,
                command_id text NOT NULL REFERENCES device_commands(id) ON DELETE CASCADE,
                time timestamptz NOT NULL,
                attempt integer NOT NULL,
                message text NOT NULL
            )""",
            "CREATE INDEX command_errors_command_idx ON command_errors (command_id, time)",
            """CREATE TABLE forecasts (
                id text PRIMARY KEY,
                home_id text NOT NULL REFERENCES homes(id) ON DELETE CASCADE,
                kind text NOT NULL,
                device_id text,
                issued_at timestamptz NOT NULL,
                unit text NOT NULL,
                source text NOT NULL DEFAULT ''
            )""",
            "CREATE INDEX forecasts_lookup_idx ON forecasts (home_id, kind, issued_at DESC)",
            """CREATE TABLE forecast_points (
                forecast_id text NOT NULL REFERENCES forecasts(id) ON DELETE CASCADE,
                time timestamptz NOT NULL,
                p50 double precision NOT NULL,
                p10 double precision,
                p90 double precision,
                PRIMARY KEY (forecast_id, time)
            )""",
            """CREATE TABLE plans (
                id text PRIMARY KEY,
                home_id text NOT NULL REFERENCES homes(id) ON DELETE CASCADE,
                created_at timestamptz NOT NULL,
                horizon_start timestamptz NOT NULL,
                horizon_end timestamptz NOT NULL,
                status text NOT NULL,
                objective double precision,
                document jsonb NOT NULL
            )""",
            "CREATE INDEX plans_home_idx ON plans (home_id, created_at DESC)",
            """CREATE TABLE schedules (
                id text PRIMARY KEY,
                home_id text NOT NULL REFERENCES homes(id) ON DELETE CASCADE,
                device_id text REFERENCES devices(id) ON DELETE CASCADE,
                name text NOT NULL,
                created_at timestamptz NOT NULL,
                earliest_start timestamptz,
                deadline timestamptz,
                status text NOT NULL CHECK (status IN ('active', 'done', 'cancelled')),
                payload jsonb NOT NULL DEFAULT '{}'
            )""",
            "CREATE INDEX schedules_home_idx ON schedules (home_id, created_at)",
        ),
    ),
    # Keeps the numbering in step with the embedded store, whose roll-up came with its migration 3;
    # TimescaleDB has had its own (energy_15min and coarser) from the start.
    Migration(3, "15-minute consumption roll-up (embedded store only)", ()),
    Migration(
        4,
        "command expiry and failure reason, kept across restarts",
        (
            "ALTER TABLE device_commands ADD COLUMN expires_at timestamptz",
            "ALTER TABLE device_commands ADD COLUMN error text",
        ),
    ),
)

MIGRATIONS: tuple[Migration, ...] = (*RELEASED, *SHARED)
