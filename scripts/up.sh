#!/usr/bin/env bash
# `make up`: airflow standalone with the project's DAGs, plugins and templates, and beside it the unit portal
# (bhxh.portal on 127.0.0.1:${BHXH_PORTAL_PORT:-8090}). Ctrl-C stops them and every process they started
# (LocalExecutor workers included).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
source "$ROOT/scripts/airflow_env.sh"
export AIRFLOW__CORE__EXECUTOR=LocalExecutor
export AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION=True
PORT="${AIRFLOW_PORT:-8080}"
export AIRFLOW__API__PORT="$PORT"
export AIRFLOW__CORE__EXECUTION_API_SERVER_URL="http://127.0.0.1:$PORT/execution/"
python -c "from bhxh.store.engine import init_store; print('Kho báo cáo / store:', init_store())"
airflow db migrate >/dev/null
echo "Giao diện Airflow / UI: http://127.0.0.1:$PORT"
echo "Đăng nhập / login: user 'admin', mật khẩu trong $AIRFLOW_HOME/simple_auth_manager_passwords.json.generated"
setsid airflow standalone &
PID=$!
PORTAL_PORT="${BHXH_PORTAL_PORT:-8090}"
python -m bhxh.portal serve --port "$PORTAL_PORT" &
PORTAL=$!
echo "Cổng nộp báo cáo / unit portal: http://127.0.0.1:$PORTAL_PORT  (a unit's link: make portal-link UNIT=<id>)"
cleanup() {
  kill -TERM "$PORTAL" 2>/dev/null || true
  kill -TERM -- "-$PID" 2>/dev/null || true
  sleep 3
  kill -KILL -- "-$PID" 2>/dev/null || true
  pkill -f "$AIRFLOW_HOME" 2>/dev/null || true
}
trap cleanup EXIT INT TERM
wait "$PID"
