#!/bin/sh
# Entrypoint of the SHEMS container. Inside Home Assistant the options come from /data/options.json
# and the MQTT broker from the Supervisor; SHEMS_PLAIN=1 runs as a plain container configured by
# SHEMS_* variables instead (see DOCS.md). Invalid options end with one log line and exit code 2.
set -eu
DATA_DIR=${SHEMS_DATA_DIR:-/data}
if [ "${SHEMS_PLAIN:-0}" = "1" ]; then
  set -- serve --data-dir "$DATA_DIR" --port "${SHEMS_PORT:-8099}" \
    --storage "${SHEMS_STORAGE:-embedded}" --interval "${SHEMS_INTERVAL_MIN:-15}" \
    --log-level "${SHEMS_LOG_LEVEL:-info}"
  if [ -n "${SHEMS_MQTT_HOST:-}" ]; then
    set -- "$@" --mqtt-host "$SHEMS_MQTT_HOST" --mqtt-port "${SHEMS_MQTT_PORT:-1883}"
    if [ -n "${SHEMS_MQTT_USERNAME:-}" ]; then set -- "$@" --mqtt-username "$SHEMS_MQTT_USERNAME"; fi
  fi
  exec shems-optimizer "$@"
fi
exec shems-optimizer serve --addon --data-dir "$DATA_DIR" ${SHEMS_PORT:+--port "$SHEMS_PORT"}
