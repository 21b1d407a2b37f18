#!/bin/sh
# Entrypoint of the SHEMS container. Inside Home Assistant the options come from /data/options.json
# and the MQTT broker from the Supervisor. As a plain container (SHEMS_PLAIN=1, or no Supervisor
# token and no options file) the SHEMS_* variables configure it instead (see DOCS.md, "Plain
# container"). Secrets (SHEMS_DSN, SHEMS_MQTT_PASSWORD, SHEMS_HA_TOKEN) stay in the environment and
# never become arguments. Invalid options end with one log line and exit code 2.
set -eu
DATA_DIR=${SHEMS_DATA_DIR:-/data}
if [ "${SHEMS_PLAIN:-0}" = "1" ] || { [ -z "${SUPERVISOR_TOKEN:-}" ] && [ ! -f "$DATA_DIR/options.json" ]; }; then
  set -- serve --data-dir "$DATA_DIR" --port "${SHEMS_PORT:-8099}" \
    --storage "${SHEMS_STORAGE:-embedded}" --interval "${SHEMS_INTERVAL_MIN:-15}" \
    --rate-limit "${SHEMS_RATE_LIMIT_PER_MIN:-1000}" --log-level "${SHEMS_LOG_LEVEL:-info}" \
    --solver "${SHEMS_SOLVER:-highs}"
  if [ -n "${SHEMS_MQTT_HOST:-}" ]; then
    set -- "$@" --mqtt-host "$SHEMS_MQTT_HOST" --mqtt-port "${SHEMS_MQTT_PORT:-1883}" \
      --mqtt-topic-prefix "${SHEMS_MQTT_TOPIC_PREFIX:-shems}"
    if [ -n "${SHEMS_MQTT_USERNAME:-}" ]; then set -- "$@" --mqtt-username "$SHEMS_MQTT_USERNAME"; fi
  fi
  if [ -n "${SHEMS_HA_URL:-}" ]; then set -- "$@" --ha-url "$SHEMS_HA_URL"; fi
  exec shems-optimizer "$@"
fi
exec shems-optimizer serve --addon --data-dir "$DATA_DIR" ${SHEMS_PORT:+--port "$SHEMS_PORT"}
