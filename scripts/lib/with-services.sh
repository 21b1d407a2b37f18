#!/usr/bin/env bash
# Runs inside the dev rootfs: start PostgreSQL 17 + TimescaleDB and Mosquitto on free loopback ports,
# export where they are, run the given command, stop both. Everything lives under /tmp (a tmpfs private
# to this run), so nothing is left in the work tree or in the cached rootfs.
set -euo pipefail
# PostgreSQL runs as its own user and must traverse these directories whatever umask the caller has.
umask 022

RUN=/tmp/shems-services
mkdir -p "$RUN" /tmp/shems-bin
# The console script, run from the bind-mounted source tree (nothing is installed into the work tree).
printf '#!/bin/sh\nexec python3 -m shems_optimizer "$@"\n' >/tmp/shems-bin/shems-optimizer
chmod +x /tmp/shems-bin/shems-optimizer
free_port() { python3.13 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
PG_PORT=$(free_port)
MQTT_PORT=$(free_port)
while [ "$MQTT_PORT" = "$PG_PORT" ]; do MQTT_PORT=$(free_port); done
PGDATA=$RUN/pgdata
PGBIN=/usr/lib/postgresql/17/bin

die() { printf 'with-services: FAILED at step "%s": %s\n' "$1" "$2" >&2; exit 1; }

mkdir -p "$PGDATA" "$RUN/pgsock" "$RUN/pglog"
chown -R postgres:postgres "$RUN/pgdata" "$RUN/pgsock" "$RUN/pglog"
runuser -u postgres -- "$PGBIN/initdb" -D "$PGDATA" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 \
  >"$RUN/initdb.log" 2>&1 || die "initdb" "$(tail -n 3 "$RUN/initdb.log")"
cat >>"$PGDATA/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$RUN/pgsock'
shared_preload_libraries = 'timescaledb'
timescaledb.telemetry_level = off
max_connections = 300
shared_buffers = 1GB
work_mem = 64MB
maintenance_work_mem = 512MB
max_wal_size = 4GB
fsync = off
synchronous_commit = off
full_page_writes = off
max_worker_processes = 24
timescaledb.max_background_workers = 8
max_parallel_workers_per_gather = 2
log_min_messages = warning
CONF

cat >"$RUN/mosquitto.conf" <<CONF
listener $MQTT_PORT 127.0.0.1
allow_anonymous true
persistence true
persistence_location $RUN/mosquitto/
max_inflight_messages 0
max_queued_messages 0
max_queued_bytes 0
message_size_limit 0
# Send small packets (PUBACKs, command acks) at once instead of waiting on delayed TCP ACKs (~40 ms).
set_tcp_nodelay true
log_dest file $RUN/mosquitto.log
# Runs as root inside the private test namespace, so it can write its log and persistence under /tmp.
user root
CONF
mkdir -p "$RUN/mosquitto"

# A control script the reliability tests use to stop and start the real services mid-run.
cat >"$RUN/ctl" <<CTL
#!/usr/bin/env bash
set -euo pipefail
# PostgreSQL runs as its own user and must traverse these directories whatever umask the caller has.
umask 022
case "\${1:-}" in
  pg-stop) runuser -u postgres -- $PGBIN/pg_ctl -D $PGDATA -m fast -w stop >/dev/null ;;
  pg-start) runuser -u postgres -- $PGBIN/pg_ctl -D $PGDATA -l $RUN/pglog/pg.log -w -t 60 start >/dev/null ;;
  # A crash: every server process quits at once, without a shutdown checkpoint (crash recovery at start).
  pg-crash) runuser -u postgres -- $PGBIN/pg_ctl -D $PGDATA -m immediate -w stop >/dev/null ;;
  mqtt-stop) if [ -f $RUN/mosquitto.pid ]; then kill \$(cat $RUN/mosquitto.pid) 2>/dev/null || true;
             for _ in \$(seq 100); do kill -0 \$(cat $RUN/mosquitto.pid) 2>/dev/null || break; sleep 0.05; done;
             rm -f $RUN/mosquitto.pid; fi ;;
  mqtt-start) mosquitto -c $RUN/mosquitto.conf >>$RUN/mosquitto.out 2>&1 & echo \$! > $RUN/mosquitto.pid
              for _ in \$(seq 200); do python3.13 -c 'import socket,sys; socket.create_connection(("127.0.0.1",$MQTT_PORT),0.2)' 2>/dev/null && exit 0; sleep 0.05; done
              echo "mosquitto did not start; see $RUN/mosquitto.log" >&2; exit 1 ;;
  *) echo "usage: ctl {pg-stop|pg-start|pg-crash|mqtt-stop|mqtt-start}" >&2; exit 2 ;;
esac
CTL
chmod +x "$RUN/ctl"

stop_all() {
  "$RUN/ctl" mqtt-stop 2>/dev/null || true
  runuser -u postgres -- "$PGBIN/pg_ctl" -D "$PGDATA" -m immediate -w stop >/dev/null 2>&1 || true
}
trap stop_all EXIT
trap 'exit 130' INT TERM

"$RUN/ctl" pg-start || die "start PostgreSQL" "$(tail -n 5 "$RUN/pglog/pg.log" 2>/dev/null)"
"$RUN/ctl" mqtt-start || die "start Mosquitto" "$(tail -n 5 "$RUN/mosquitto.log" 2>/dev/null)"

export SHEMS_TEST_PG_DSN="postgresql://postgres@127.0.0.1:$PG_PORT/postgres"
export SHEMS_TEST_MQTT_HOST=127.0.0.1
export SHEMS_TEST_MQTT_PORT=$MQTT_PORT
export SHEMS_TEST_SERVICES_CTL=$RUN/ctl
cd /src
set +e
"$@"
rc=$?
set -e
exit $rc
